/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <ctype.h>
#include <string.h>
#include <strings.h>

#include "macro.h"
#include "parse-util.h"

int parse_boolean(const char *s) {
        static const char *const yes[] = { "1", "yes", "y", "true", "t", "on" };
        static const char *const no[] = { "0", "no", "n", "false", "f", "off" };

        for (size_t i = 0; i < ELEMENTSOF(yes); i++)
                if (strcasecmp(s, yes[i]) == 0)
                        return 1;
        for (size_t i = 0; i < ELEMENTSOF(no); i++)
                if (strcasecmp(s, no[i]) == 0)
                        return 0;
        return -EINVAL;
}

static int suffix_shift(const char *s, unsigned *ret) {
        static const struct {
                const char *suffix;
                unsigned shift;
        } table[] = {
                { "", 0 }, { "B", 0 }, { "K", 10 }, { "M", 20 }, { "G", 30 }, { "T", 40 }, { "P", 50 }, { "E", 60 },
        };

        for (size_t i = 0; i < ELEMENTSOF(table); i++)
                if (streq(s, table[i].suffix)) {
                        *ret = table[i].shift;
                        return 0;
                }
        return -EINVAL;
}

int parse_size_limit(const char *s, uint64_t *ret) {
        uint64_t whole = 0, frac_num = 0, frac_den = 1, result;
        unsigned shift;
        const char *p = s;
        int r;

        if (streq(s, "-") || streq(s, "none") || streq(s, "infinity")) {
                *ret = UINT64_MAX;
                return 0;
        }

        if (!isdigit((unsigned char) *p))
                return -EINVAL;
        for (; isdigit((unsigned char) *p); p++) {
                uint64_t digit = (uint64_t) (*p - '0');

                if (whole > (UINT64_MAX - digit) / 10)
                        return -ERANGE;
                whole = whole * 10 + digit;
        }

        if (*p == '.') {
                p++;
                if (!isdigit((unsigned char) *p))
                        return -EINVAL;
                /* Digits beyond the 9th cannot change the result by a whole byte below 2^60. */
                for (; isdigit((unsigned char) *p); p++)
                        if (frac_den < UINT64_C(1000000000)) {
                                frac_num = frac_num * 10 + (uint64_t) (*p - '0');
                                frac_den *= 10;
                        }
        }

        r = suffix_shift(p, &shift);
        if (r < 0)
                return r;

        if (shift > 0 && whole > (UINT64_MAX >> shift))
                return -ERANGE;
        result = whole << shift;
        /* frac_num < frac_den <= 10^9 < 2^30 and shift <= 60: split the shift so nothing overflows. */
        if (frac_num > 0) {
                uint64_t extra = shift >= 30 ? (frac_num << 30) / frac_den << (shift - 30)
                                             : (frac_num << shift) / frac_den;

                if (result > UINT64_MAX - extra)
                        return -ERANGE;
                result += extra;
        }

        *ret = result;
        return 0;
}
