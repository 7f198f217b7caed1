/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stddef.h>

/* Parses the raw os-release bytes that GetImageMetadata returns ("KEY=value" lines with shell-like
 * quoting, '#' comments) into a strv of alternating keys and values, each key once, in first
 * appearance order with the last assignment winning. Lines without a valid key are skipped. */
int os_release_parse(const char *data, size_t size, char ***ret_pairs);

/* The value of key in such a list, or NULL. */
const char *os_release_get(char *const *pairs, const char *key);
