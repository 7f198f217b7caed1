/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stddef.h>

/* os-release and extension-release files: shell-like KEY=VALUE lines (os-release(5)). */

/* The places an image's os-release is looked for, in order, relative to the image root. */
extern const char *const os_release_paths[];

/* Parses data into a NULL-terminated list of alternating keys and values, in file order; a later
 * assignment of the same key replaces the earlier one. Lines that are not assignments are
 * ignored, as are keys that are not valid shell variable names. Quoting and backslash escapes are
 * honoured. Returns -EBADMSG on an unterminated quote, -E2BIG for more than 1024 keys. */
int os_release_parse(const char *data, size_t size, char ***ret_pairs);

/* Looks key up in a pair list. Returns NULL if absent. */
const char *os_release_pairs_get(char * const *pairs, const char *key);

/* The key of the first value that is not valid UTF-8 (which D-Bus cannot carry), or NULL. */
const char *os_release_pairs_find_invalid_utf8(char * const *pairs);
