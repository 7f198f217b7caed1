/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>

/* A file name as the image and unit name rules understand it: 1..255 bytes, no '/', not "." or
 * "..", no control characters, valid UTF-8. */
bool filename_is_valid(const char *s);

/* Absolute, no "." or ".." components, no "//", no trailing slash (except "/" itself). */
bool path_is_normalized_absolute(const char *p);

/* Returns a pointer to the last component of p (inside p). "/a/b/" yields "b/". */
const char *path_last_component(const char *p);

/* The directory part of p: "/a/b" yields "/a", "/a" yields "/". NULL on OOM. */
char *path_dirname(const char *p);

/* Concatenates a and b with exactly one '/' between them. NULL on OOM. */
char *path_join(const char *a, const char *b);

/* Like path_join(), but a NULL or "/" root leaves path as it is. */
char *path_prefix_root(const char *root, const char *path);

bool endswith(const char *s, const char *suffix);
bool startswith(const char *s, const char *prefix);

/* True if s is valid UTF-8 (what D-Bus requires of every string). */
bool utf8_is_valid(const char *s);

/* True if s is valid UTF-8 with no control characters. */
bool string_is_clean_utf8(const char *s);
