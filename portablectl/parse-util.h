/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdint.h>

/* Argument parsers of the command line. Both return a negative errno (-EINVAL, -ERANGE) on
 * failure and write *ret only on success. */

/* 1/yes/y/true/t/on and 0/no/n/false/f/off, case-insensitive. Returns 1 or 0. */
int parse_boolean(const char *s);

/* A byte size: an integer or decimal number with an optional 1024-based suffix B, K, M, G, T, P
 * or E ("10G", "1.5M", "4096"). "-", "none" and "infinity" mean no limit (UINT64_MAX). */
int parse_size_limit(const char *s, uint64_t *ret);
