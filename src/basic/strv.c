/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdlib.h>
#include <string.h>

#include "strv.h"

char **strv_free(char **l) {
        STRV_FOREACH(s, l)
                free(*s);
        free(l);
        return NULL;
}

size_t strv_length(char * const *l) {
        size_t n = 0;

        for (; l && *l; l++)
                n++;
        return n;
}

bool strv_contains(char * const *l, const char *s) {
        for (; l && *l; l++)
                if (streq(*l, s))
                        return true;
        return false;
}

char **strv_copy(char * const *l) {
        _cleanup_strv_free_ char **copy = NULL;
        size_t n = strv_length(l);

        copy = calloc(n + 1, sizeof(char *));
        if (!copy)
                return NULL;

        for (size_t i = 0; i < n; i++) {
                copy[i] = strdup(l[i]);
                if (!copy[i])
                        return NULL;
        }

        return TAKE_PTR(copy);
}

int strv_consume(char ***l, char *value) {
        size_t n = strv_length(*l);
        char **grown;

        if (!value)
                return -ENOMEM;

        grown = realloc(*l, sizeof(char *) * (n + 2));
        if (!grown) {
                free(value);
                return -ENOMEM;
        }

        grown[n] = value;
        grown[n + 1] = NULL;
        *l = grown;
        return 0;
}

int strv_extend(char ***l, const char *value) {
        return strv_consume(l, strdup(value));
}

int strv_extend_unique(char ***l, const char *value) {
        int r;

        if (strv_contains(*l, value))
                return 0;

        r = strv_extend(l, value);
        return r < 0 ? r : 1;
}

int strv_split(const char *s, const char *separators, char ***ret) {
        _cleanup_strv_free_ char **l = NULL;

        for (const char *p = s; *p;) {
                size_t n;
                int r;

                p += strspn(p, separators);
                n = strcspn(p, separators);
                if (n == 0)
                        break;

                r = strv_consume(&l, strndup(p, n));
                if (r < 0)
                        return r;
                p += n;
        }

        if (strv_ensure(&l) < 0)
                return -ENOMEM;

        *ret = TAKE_PTR(l);
        return 0;
}

char *strv_join(char * const *l, const char *separator) {
        size_t n = 0, k = strlen(separator);
        char *joined, *p;

        for (char * const *s = l; s && *s; s++)
                n += strlen(*s) + k;

        joined = malloc(n + 1);
        if (!joined)
                return NULL;

        p = joined;
        for (char * const *s = l; s && *s; s++) {
                if (s != l)
                        p = stpcpy(p, separator);
                p = stpcpy(p, *s);
        }
        *p = '\0';
        return joined;
}

static int compare_strings(const void *a, const void *b) {
        return strcmp(*(char * const *) a, *(char * const *) b);
}

void strv_sort(char **l) {
        size_t n = strv_length(l);

        if (n > 1)
                qsort(l, n, sizeof(char *), compare_strings);
}

int strv_ensure(char ***l) {
        if (*l)
                return 0;
        *l = calloc(1, sizeof(char *));
        return *l ? 0 : -ENOMEM;
}

bool strv_contains_sorted(char * const *l, const char *s) {
        return l && bsearch(&s, l, strv_length(l), sizeof(char *), compare_strings);
}

void strv_uniq_sorted(char **l) {
        size_t w = 0;

        for (size_t i = 0; l && l[i]; i++) {
                if (w > 0 && streq(l[w - 1], l[i])) {
                        free(l[i]);
                        continue;
                }
                l[w++] = l[i];
        }
        if (l)
                l[w] = NULL;
}

int strv_extend_strv(char ***l, char * const *other) {
        STRV_FOREACH(s, (char **) other) {
                int r = strv_extend(l, *s);
                if (r < 0)
                        return r;
        }
        return 0;
}
