/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdio.h>
#include <string.h>

#include "log.h"
#include "os-release-parse.h"
#include "strv.h"

/* A growing string buffer for one value. */
typedef struct Buffer {
        char *data;
        size_t n;
        size_t allocated;
} Buffer;

static int buffer_push(Buffer *b, char c) {
        if (b->n + 2 > b->allocated) {
                size_t a = b->allocated ? b->allocated * 2 : 64;
                char *grown = realloc(b->data, a);

                if (!grown)
                        return -ENOMEM;
                b->data = grown;
                b->allocated = a;
        }
        b->data[b->n++] = c;
        b->data[b->n] = '\0';
        return 0;
}

static bool key_char_ok(char c) {
        return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
}

/* Takes ownership of value, which must not be NULL. */
static int pairs_set(char ***pairs, const char *key, size_t key_len, char *value) {
        _cleanup_free_ char *k = strndup(key, key_len);
        size_t n = strv_length(*pairs);
        int r;

        if (!k) {
                free(value);
                return -ENOMEM;
        }

        for (size_t i = 0; i + 1 < n; i += 2)
                if (streq((*pairs)[i], k))
                        return free_and_replace((*pairs)[i + 1], value);

        r = strv_consume(pairs, TAKE_PTR(k));
        if (r < 0) {
                free(value);
                return r;
        }
        return strv_consume(pairs, value);
}

/* Reads the value starting at *p up to the end of its logical line, undoing quoting the way a
 * POSIX shell would for the constructs os-release(5) allows. Trailing unquoted blanks are
 * dropped. */
static int parse_value(const char **p, const char *end, Buffer *b) {
        size_t last_quoted = 0; /* b->n after the last quoted or escaped char: not trimmed */
        char quote = 0;
        int r;

        while (*p < end) {
                char c = **p;

                if (!quote && c == '\n')
                        break;
                (*p)++;

                if (quote == '\'') {
                        if (c == '\'')
                                quote = 0;
                        else if ((r = buffer_push(b, c)) < 0)
                                return r;
                        last_quoted = b->n;
                        continue;
                }

                if (c == '\\' && *p < end) {
                        char next = **p;

                        (*p)++;
                        if (next == '\n') /* line continuation */
                                continue;
                        if (quote == '"' && !strchr("\"\\`$", next) && (r = buffer_push(b, '\\')) < 0)
                                return r;
                        if ((r = buffer_push(b, next)) < 0)
                                return r;
                        last_quoted = b->n;
                        continue;
                }

                if (quote == '"') {
                        if (c == '"')
                                quote = 0;
                        else if ((r = buffer_push(b, c)) < 0)
                                return r;
                        last_quoted = b->n;
                        continue;
                }

                if (c == '"' || c == '\'') {
                        quote = c;
                        last_quoted = b->n;
                        continue;
                }

                if ((r = buffer_push(b, c)) < 0)
                        return r;
        }

        while (b->n > last_quoted && strchr(" \t\r", b->data[b->n - 1]))
                b->data[--b->n] = '\0';
        return 0;
}

int os_release_parse(const char *data, size_t size, char ***ret_pairs) {
        _cleanup_strv_free_ char **pairs = NULL;
        _cleanup_free_ char *copy = NULL;
        const char *p, *end;
        int r;

        /* The bytes come straight from the bus: give the string functions a terminator. */
        copy = malloc(size + 1);
        if (!copy)
                return log_oom();
        if (size > 0)
                memcpy(copy, data, size);
        copy[size] = '\0';
        p = copy;
        end = copy + size;

        while (p < end) {
                const char *key, *line_end;
                size_t key_len;

                p += strspn(p, " \t\r\n");
                if (p >= end)
                        break;

                line_end = memchr(p, '\n', (size_t) (end - p)) ?: end;
                if (*p == '#' || *p == ';') {
                        p = line_end;
                        continue;
                }

                key = p;
                while (p < line_end && key_char_ok(*p))
                        p++;
                key_len = (size_t) (p - key);
                p += strspn(p, " \t");
                if (key_len == 0 || p >= line_end || *p != '=') {
                        /* Not an assignment: skip the line. */
                        p = line_end;
                        continue;
                }
                p++;
                p += strspn(p, " \t");

                Buffer b = {};
                r = parse_value(&p, end, &b);
                if (r < 0) {
                        free(b.data);
                        return log_oom();
                }
                if (!b.data) {
                        b.data = strdup("");
                        if (!b.data)
                                return log_oom();
                }

                r = pairs_set(&pairs, key, key_len, b.data);
                if (r < 0)
                        return log_oom();
        }

        *ret_pairs = TAKE_PTR(pairs);
        return 0;
}

const char *os_release_get(char *const *pairs, const char *key) {
        size_t n = strv_length(pairs);

        for (size_t i = 0; i + 1 < n; i += 2)
                if (streq(pairs[i], key))
                        return pairs[i + 1];
        return NULL;
}
