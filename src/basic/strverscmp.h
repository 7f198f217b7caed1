/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Compares two version strings by the UAPI Version Format Specification (systemd's
 * strverscmp_improved()): negative if a is older than b, 0 if they are equivalent, positive if a is
 * newer. NULL is the empty string.
 *
 * Versions are split into numeric and alphabetic segments. Numeric segments compare by value
 * ("10" > "9", "007" == "7") and are newer than alphabetic ones; alphabetic segments compare like
 * strcmp(), a longer one being newer. A segment may be prefixed with '~' (pre-release: older than
 * anything else, even the end of the string), '-' (release), '^' (patch) or '.' (point release); at
 * the same position a segment without prefix is newest, then '.', then '^', then '-'. Any other
 * character only separates segments. So 122.1 < 123~rc1-1 < 123 < 123-a < 123-1 < 123^post1
 * < 123.1-1 < 123a-1 < 124-1. */
int strverscmp_improved(const char *a, const char *b);
