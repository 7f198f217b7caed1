/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stddef.h>
#include <stdint.h>

#define SIPHASH_KEY_SIZE 16

/* SipHash-2-4 (Aumasson and Bernstein, 2012): a 64-bit hash keyed with 16 bytes, for which nobody
 * who does not know the key can produce two inputs with the same value. */
uint64_t siphash24(const void *data, size_t size, const uint8_t key[static SIPHASH_KEY_SIZE]);
