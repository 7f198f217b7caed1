/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <ctype.h>
#include <string.h>

#include "os-release.h"
#include "path-util.h"
#include "strv.h"

/* Real files have a few dozen; the cap keeps "later assignments win" linear in practice. */
#define OS_RELEASE_KEYS_MAX 1024

const char *const os_release_paths[] = {
        "/etc/os-release",
        "/usr/lib/os-release",
        NULL,
};

static bool env_key_is_valid(const char *k, size_t n) {
        if (n == 0 || isdigit((unsigned char) k[0]))
                return false;
        for (size_t i = 0; i < n; i++)
                if (!isalnum((unsigned char) k[i]) && k[i] != '_')
                        return false;
        return true;
}

/* strspn() within [p, end): the data need not be NUL-terminated. */
static const char *skip_chars(const char *p, const char *end, const char *chars) {
        while (p < end && *p != '\0' && strchr(chars, *p))
                p++;
        return p;
}

/* Parses one value starting at *p up to the end of the line, handling quotes and escapes the way
 * a POSIX shell would for the subset os-release(5) allows. */
static int parse_value(const char **p, const char *end, char **ret) {
        _cleanup_free_ char *v = malloc((size_t) (end - *p) + 1);
        const char *s = *p;
        size_t n = 0, kept = 0; /* kept: quoted text is never trimmed */
        char quote = 0;

        if (!v)
                return -ENOMEM;

        for (; s < end; s++) {
                char c = *s;

                if (quote == '\'') {
                        if (c == '\'')
                                quote = 0, kept = n;
                        else
                                v[n++] = c;
                } else if (quote == '"') {
                        if (c == '"')
                                quote = 0, kept = n;
                        else if (c == '\\' && s + 1 < end && strchr("\"\\`$\n", s[1]))
                                v[n++] = *++s;
                        else
                                v[n++] = c;
                } else {
                        if (c == '\n')
                                break;
                        if (c == '\'' || c == '"')
                                quote = c;
                        else if (c == '\\' && s + 1 < end) {
                                if (s[1] == '\n')
                                        s++;
                                else
                                        v[n++] = *++s;
                        } else if (c == '#' && (n == 0 || isspace((unsigned char) v[n - 1])))
                                /* A comment starts only at a word boundary. */
                                break;
                        else
                                v[n++] = c;
                }
        }

        if (quote)
                return -EBADMSG;

        /* Trailing unquoted whitespace is not part of the value. */
        while (n > kept && (v[n - 1] == ' ' || v[n - 1] == '\t' || v[n - 1] == '\r'))
                n--;
        v[n] = '\0';

        while (s < end && *s != '\n')
                s++;
        *p = s;
        *ret = TAKE_PTR(v);
        return 0;
}

int os_release_parse(const char *data, size_t size, char ***ret_pairs) {
        _cleanup_strv_free_ char **pairs = NULL;
        const char *p = data, *end = data + size;
        size_t n_keys = 0;
        int r;

        while (p < end) {
                const char *key, *eq;
                _cleanup_free_ char *k = NULL, *v = NULL;

                p = skip_chars(p, end, " \t\r\n");
                if (p >= end)
                        break;

                if (*p == '#' || *p == ';') {
                        p = memchr(p, '\n', (size_t) (end - p)) ?: end;
                        continue;
                }

                key = p;
                eq = memchr(p, '=', (size_t) (end - p));
                const char *nl = memchr(p, '\n', (size_t) (end - p)) ?: end;
                if (!eq || eq > nl) {
                        p = nl;
                        continue;
                }

                size_t klen = (size_t) (eq - key);
                while (klen > 0 && (key[klen - 1] == ' ' || key[klen - 1] == '\t'))
                        klen--;

                p = eq + 1;
                p = skip_chars(p, end, " \t");
                r = parse_value(&p, end, &v);
                if (r < 0)
                        return r;

                if (!env_key_is_valid(key, klen))
                        continue;

                k = strndup(key, klen);
                if (!k)
                        return -ENOMEM;

                /* Later assignments win, as when the file is sourced by a shell. */
                bool replaced = false;
                for (size_t i = 0; pairs && pairs[i]; i += 2)
                        if (streq(pairs[i], k)) {
                                free_and_replace(pairs[i + 1], v);
                                replaced = true;
                                break;
                        }
                if (replaced)
                        continue;

                if (++n_keys > OS_RELEASE_KEYS_MAX)
                        return -E2BIG;
                r = strv_consume(&pairs, TAKE_PTR(k));
                if (r < 0)
                        return r;
                r = strv_consume(&pairs, TAKE_PTR(v));
                if (r < 0)
                        return r;
        }

        r = strv_ensure(&pairs);
        if (r < 0)
                return r;

        *ret_pairs = TAKE_PTR(pairs);
        return 0;
}

const char *os_release_pairs_get(char * const *pairs, const char *key) {
        for (size_t i = 0; pairs && pairs[i] && pairs[i + 1]; i += 2)
                if (streq(pairs[i], key))
                        return pairs[i + 1];
        return NULL;
}

const char *os_release_pairs_find_invalid_utf8(char * const *pairs) {
        for (size_t i = 0; pairs && pairs[i] && pairs[i + 1]; i += 2)
                if (!utf8_is_valid(pairs[i + 1]))
                        return pairs[i];
        return NULL;
}
