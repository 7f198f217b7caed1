/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "escape.h"
#include "macro.h"

char *xescape(const char *s, const char *bad) {
        char *out, *p;

        out = malloc(strlen(s) * 4 + 1);
        if (!out)
                return NULL;

        p = out;
        for (const unsigned char *c = (const unsigned char *) s; *c; c++) {
                if (*c == '\\' || *c < 0x20 || *c >= 0x7F || strchr(bad, *c)) {
                        static const char hex[] = "0123456789abcdef";
                        *p++ = '\\';
                        *p++ = 'x';
                        *p++ = hex[*c >> 4];
                        *p++ = hex[*c & 0xF];
                } else
                        *p++ = (char) *c;
        }
        *p = '\0';
        return out;
}

int unhexchar(char c) {
        if (c >= '0' && c <= '9')
                return c - '0';
        if (c >= 'a' && c <= 'f')
                return c - 'a' + 10;
        if (c >= 'A' && c <= 'F')
                return c - 'A' + 10;
        return -EINVAL;
}

char *hexmem(const void *p, size_t n) {
        static const char digits[] = "0123456789abcdef";
        const uint8_t *bytes = p;
        char *s = malloc(n * 2 + 1);

        if (!s)
                return NULL;
        for (size_t i = 0; i < n; i++) {
                s[2 * i] = digits[bytes[i] >> 4];
                s[2 * i + 1] = digits[bytes[i] & 15];
        }
        s[2 * n] = '\0';
        return s;
}

int unhexmem_exact(const char *s, uint8_t *ret, size_t n) {
        if (!s || strlen(s) != 2 * n)
                return -EINVAL;
        for (size_t i = 0; i < n; i++) {
                int hi = unhexchar(s[2 * i]), lo = unhexchar(s[2 * i + 1]);

                if (hi < 0 || lo < 0)
                        return -EINVAL;
                ret[i] = (uint8_t) (hi << 4 | lo);
        }
        return 0;
}

int cunescape(const char *s, size_t length, char **ret) {
        _cleanup_free_ char *out = malloc(length + 1);
        char *p;

        if (!out)
                return -ENOMEM;

        p = out;
        for (size_t i = 0; i < length; i++) {
                if (s[i] != '\\') {
                        *p++ = s[i];
                        continue;
                }

                if (++i >= length)
                        return -EINVAL;

                switch (s[i]) {
                case '\\': *p++ = '\\'; break;
                case 'n':  *p++ = '\n'; break;
                case 't':  *p++ = '\t'; break;
                case '"':  *p++ = '"';  break;
                case '\'': *p++ = '\''; break;
                case 'x': {
                        int a, b;

                        if (length - i < 3)
                                return -EINVAL;
                        a = unhexchar(s[i + 1]);
                        b = unhexchar(s[i + 2]);
                        if (a < 0 || b < 0 || (a == 0 && b == 0))
                                return -EINVAL;
                        *p++ = (char) ((a << 4) | b);
                        i += 2;
                        break;
                }
                default:
                        return -EINVAL;
                }
        }
        *p = '\0';

        *ret = TAKE_PTR(out);
        return 0;
}
