/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "macro.h"
#include "path-util.h"

bool endswith(const char *s, const char *suffix) {
        size_t a = strlen(s), b = strlen(suffix);

        return a >= b && memcmp(s + a - b, suffix, b) == 0;
}

bool startswith(const char *s, const char *prefix) {
        return strncmp(s, prefix, strlen(prefix)) == 0;
}

static size_t utf8_sequence_length(const unsigned char *p) {
        unsigned char c = p[0];
        size_t n;
        uint32_t cp;

        if (c < 0x80)
                return 1;
        if ((c & 0xE0) == 0xC0) {
                n = 2;
                cp = c & 0x1F;
        } else if ((c & 0xF0) == 0xE0) {
                n = 3;
                cp = c & 0x0F;
        } else if ((c & 0xF8) == 0xF0) {
                n = 4;
                cp = c & 0x07;
        } else
                return 0;

        for (size_t i = 1; i < n; i++) {
                if ((p[i] & 0xC0) != 0x80)
                        return 0;
                cp = (cp << 6) | (p[i] & 0x3F);
        }

        /* Overlong encodings, surrogates and values beyond Unicode are all invalid. */
        if ((n == 2 && cp < 0x80) || (n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) ||
            (cp >= 0xD800 && cp <= 0xDFFF) || cp > 0x10FFFF)
                return 0;

        return n;
}

bool utf8_is_valid(const char *s) {
        for (const unsigned char *p = (const unsigned char *) s; *p;) {
                size_t n = utf8_sequence_length(p);

                if (n == 0)
                        return false;
                p += n;
        }
        return true;
}

bool string_is_clean_utf8(const char *s) {
        const unsigned char *p = (const unsigned char *) s;

        while (*p) {
                size_t n;

                if (*p < 0x20 || *p == 0x7F)
                        return false;

                n = utf8_sequence_length(p);
                if (n == 0)
                        return false;
                p += n;
        }
        return true;
}

bool filename_is_valid(const char *s) {
        if (isempty(s))
                return false;
        if (strlen(s) > 255)
                return false;
        if (strchr(s, '/'))
                return false;
        if (streq(s, ".") || streq(s, ".."))
                return false;
        return string_is_clean_utf8(s);
}

bool path_is_normalized_absolute(const char *p) {
        if (!p || p[0] != '/')
                return false;
        if (streq(p, "/"))
                return true;
        if (endswith(p, "/"))
                return false;
        if (strstr(p, "//"))
                return false;
        if (strstr(p, "/./") || endswith(p, "/."))
                return false;
        if (strstr(p, "/../") || endswith(p, "/.."))
                return false;
        return string_is_clean_utf8(p);
}

const char *path_last_component(const char *p) {
        size_t n = strlen(p);

        /* Skip trailing slashes, then walk back to the previous one. */
        while (n > 1 && p[n - 1] == '/')
                n--;
        while (n > 0 && p[n - 1] != '/')
                n--;
        return p + n;
}

char *path_dirname(const char *p) {
        const char *last = path_last_component(p);
        size_t n = (size_t) (last - p);

        while (n > 1 && p[n - 1] == '/')
                n--;
        return strndup(p, n ?: 1);
}

char *path_join(const char *a, const char *b) {
        char *joined;
        size_t la = strlen(a);

        while (la > 0 && a[la - 1] == '/')
                la--;
        while (*b == '/')
                b++;

        if (asprintf(&joined, "%.*s/%s", (int) la, a, b) < 0)
                return NULL;
        return joined;
}

char *path_prefix_root(const char *root, const char *path) {
        if (isempty(root) || streq(root, "/"))
                return strdup(path);
        return path_join(root, path);
}
