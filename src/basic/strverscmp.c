/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <string.h>

#include "macro.h"
#include "strverscmp.h"

static bool is_digit(char c) {
        return c >= '0' && c <= '9';
}

static bool is_alpha(char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool is_version_char(char c) {
        return is_digit(c) || is_alpha(c) || strchr("~-^.", c);
}

static int sign(long v) {
        return (v > 0) - (v < 0);
}

/* At a prefix character p: if exactly one side carries it, that side is older. Both sides are
 * advanced past it when both carry it. Returns the verdict, 0 if undecided. */
static int compare_prefix(const char **a, const char **b, char p) {
        bool pa = **a == p, pb = **b == p;

        if (pa != pb)
                return pa ? -1 : 1;
        if (pa) {
                (*a)++;
                (*b)++;
        }
        return 0;
}

int strverscmp_improved(const char *a, const char *b) {
        a = strempty(a);
        b = strempty(b);

        for (;;) {
                const char *ea, *eb;
                int r;

                while (*a && !is_version_char(*a))
                        a++;
                while (*b && !is_version_char(*b))
                        b++;

                /* A pre-release is older than anything, even than the end of the other string. */
                r = compare_prefix(&a, &b, '~');
                if (r != 0)
                        return r;

                /* Otherwise the one with more segments left is newer. */
                if (*a == '\0' || *b == '\0')
                        return sign((long) (unsigned char) *a - (long) (unsigned char) *b);

                r = compare_prefix(&a, &b, '-');
                if (r == 0)
                        r = compare_prefix(&a, &b, '^');
                if (r == 0)
                        r = compare_prefix(&a, &b, '.');
                if (r != 0)
                        return r;

                if (is_digit(*a) || is_digit(*b)) {
                        for (ea = a; is_digit(*ea); ea++)
                                ;
                        for (eb = b; is_digit(*eb); eb++)
                                ;
                        /* A number is newer than letters (or nothing) at the same place. */
                        if ((ea == a) != (eb == b))
                                return ea == a ? -1 : 1;

                        while (*a == '0')
                                a++;
                        while (*b == '0')
                                b++;
                        /* Without leading zeros, the longer number is the larger one; equally
                         * long ones compare digit by digit. */
                        r = sign((long) (ea - a) - (long) (eb - b));
                        if (r == 0)
                                r = sign(strncmp(a, b, (size_t) (ea - a)));
                } else {
                        for (ea = a; is_alpha(*ea); ea++)
                                ;
                        for (eb = b; is_alpha(*eb); eb++)
                                ;
                        r = sign(strncmp(a, b, (size_t) (ea - a < eb - b ? ea - a : eb - b)));
                        if (r == 0)
                                r = sign((long) (ea - a) - (long) (eb - b));
                }
                if (r != 0)
                        return r;

                a = ea;
                b = eb;
        }
}
