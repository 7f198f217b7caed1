/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdint.h>
#include <sys/types.h>

/* Escapes every byte in bad, every backslash, and every byte outside printable ASCII as \xNN.
 * This is the escaping of image paths in the 20-portable.conf marker line (':' is the path
 * separator there). Returns NULL on OOM. */
char *xescape(const char *s, const char *bad);

/* Undoes xescape() (and the C escapes \\ \n \t \" \'). Returns -EINVAL on a malformed escape or
 * one that would produce a NUL byte. */
int cunescape(const char *s, size_t length, char **ret);

/* The value of one hex digit (either case), or -EINVAL. */
int unhexchar(char c);

/* The n bytes at p as 2n lowercase hex digits, NUL-terminated; NULL on OOM. */
char *hexmem(const void *p, size_t n);

/* Exactly 2n hex digits (either case), and nothing else, into ret[0..n); -EINVAL otherwise. */
int unhexmem_exact(const char *s, uint8_t *ret, size_t n);
