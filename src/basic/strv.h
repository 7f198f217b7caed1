/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "macro.h"

/* NULL-terminated string arrays, as used throughout: NULL is a valid empty list. */

char **strv_free(char **l);
static inline void strv_freep(char ***l) {
        strv_free(*l);
}
#define _cleanup_strv_free_ _cleanup_(strv_freep)

size_t strv_length(char * const *l);
bool strv_contains(char * const *l, const char *s);
char **strv_copy(char * const *l);

/* Appends a copy of value (or takes ownership with _consume). Returns 0 or -ENOMEM. */
int strv_extend(char ***l, const char *value);
int strv_consume(char ***l, char *value);

static inline bool strv_isempty(char * const *l) {
        return !l || !*l;
}

/* Appends copies of every string of other. */
int strv_extend_strv(char ***l, char * const *other);

/* Appends value unless already present. Returns 1 if added, 0 if present. */
int strv_extend_unique(char ***l, const char *value);

/* Splits at any of the separator characters; empty fields are dropped. */
int strv_split(const char *s, const char *separators, char ***ret);

char *strv_join(char * const *l, const char *separator);

void strv_sort(char **l);

/* On a sorted list: binary search, and removal of duplicates. */
bool strv_contains_sorted(char * const *l, const char *s);
void strv_uniq_sorted(char **l);

/* Turns a NULL list into an empty one, for results that promise a list. */
int strv_ensure(char ***l);
