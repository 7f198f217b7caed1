/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

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
