/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <criterion/criterion.h>
#include <criterion/new/assert.h>
#include <criterion/parameterized.h>
#include <string.h>

#include "escape.h"
#include "macro.h"
#include "unit-helpers.h"

struct xescape_case {
        const char *input;
        const char *bad;
        const char *expected;
};

static const struct xescape_case xescape_cases[] = {
        { "", ":", "" },
        { "/var/lib/portables/foo.raw", ":", "/var/lib/portables/foo.raw" },
        { "/tmp/a:b", ":", "/tmp/a\\x3ab" },
        { "a::b", ":", "a\\x3a\\x3ab" },
        { "a:b", "", "a:b" },                /* ':' is only special when asked for */
        { "back\\slash", ":", "back\\x5cslash" },
        { "tab\there", ":", "tab\\x09here" },
        { "nl\n", ":", "nl\\x0a" },
        { "del\x7f", ":", "del\\x7f" },
        { "\xc3\xbc", ":", "\\xc3\\xbc" },   /* non-ASCII: every byte */
        { "\xff", ":", "\\xff" },
        { "quote'\"", ":", "quote'\"" },   /* printable ASCII stays */
        { "%s", ":", "%s" },
        { "ab", "ab", "\\x61\\x62" },
};

UNIT_TABLE_PARAMETERS(escape, xescape, xescape_cases);

ParameterizedTest(size_t *i, escape, xescape) {
        const struct xescape_case *c = &xescape_cases[*i];
        _cleanup_free_ char *e = xescape(c->input, c->bad);

        assert_str(e, c->expected);
}

struct unescape_case {
        const char *input;
        const char *expected; /* NULL: -EINVAL */
};

static const struct unescape_case unescape_cases[] = {
        { "", "" },
        { "plain", "plain" },
        { "a\\x3ab", "a:b" },
        { "a\\x3Ab", "a:b" },            /* upper-case hex digits too */
        { "\\xc3\\xbc", "\xc3\xbc" },
        { "\\\\", "\\" },
        { "\\n\\t", "\n\t" },
        { "\\\"\\'", "\"'" },
        { "\\x", NULL },
        { "\\x3", NULL },
        { "\\x3g", NULL },
        { "\\xg3", NULL },
        { "\\x00", NULL },                /* would produce a NUL byte */
        { "trailing\\", NULL },
        { "\\q", NULL },
        { "\\0", NULL },
        { "\\u00fc", NULL },
};

UNIT_TABLE_PARAMETERS(escape, cunescape, unescape_cases);

ParameterizedTest(size_t *i, escape, cunescape) {
        const struct unescape_case *c = &unescape_cases[*i];
        char *out = (char *) 0x1;
        int r;

        r = cunescape(c->input, strlen(c->input), &out);
        if (!c->expected) {
                cr_assert(eq(int, r, -EINVAL), "case %zu: '%s'", *i, c->input);
                cr_assert(eq(ptr, out, (char *) 0x1), "output must not be touched on failure");
                return;
        }
        cr_assert(eq(int, r, 0), "case %zu: '%s'", *i, c->input);
        assert_str(out, c->expected);
        free(out);
}

Test(escape, cunescape_honours_length) {
        _cleanup_free_ char *a = NULL, *b = NULL;
        char *c = NULL;

        /* Only the first length bytes count: the input need not be NUL-terminated there. */
        cr_assert(eq(int, cunescape("abc:def", 3, &a), 0));
        assert_str(a, "abc");
        cr_assert(eq(int, cunescape("\\x3a\\x3a", 4, &b), 0));
        assert_str(b, ":");
        /* An escape cut by the length is malformed, even if the bytes after it would fit. */
        cr_assert(eq(int, cunescape("\\x3a", 3, &c), -EINVAL));
        cr_assert(zero(ptr, c));
}

/* Every byte except NUL survives xescape() + cunescape(), including ':' and non-ASCII: this is
 * what keeps image paths intact through the drop-in marker. */
Test(escape, round_trip_all_bytes) {
        char in[256];
        _cleanup_free_ char *e = NULL, *back = NULL;

        for (int b = 1; b < 256; b++)
                in[b - 1] = (char) b;
        in[255] = '\0';

        e = xescape(in, ":");
        cr_assert(not(zero(ptr, e)));
        /* Nothing unsafe left in the escaped form. */
        cr_assert(zero(ptr, strchr(e, ':')));
        for (const char *p = e; *p; p++)
                cr_assert(holds((unsigned char) *p >= 0x20 && (unsigned char) *p < 0x7f), "byte 0x%02x left unescaped",
                          (unsigned char) *p);

        cr_assert(eq(int, cunescape(e, strlen(e), &back), 0));
        cr_assert(eq(sz, strlen(back), 255));
        cr_assert(zero(int, memcmp(back, in, 256)));
}

Test(escape, round_trip_paths) {
        static const char *const paths[] = {
                "/var/lib/portables/foo_1.raw",
                "/tmp/with:colon/and:more.raw",
                "/tmp/\xc3\xbcml\xc3\xa4ut/\xe2\x82\xac.raw",
                "/tmp/back\\slash/x",
                "/tmp/\\x3a-literally",
        };

        for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
                _cleanup_free_ char *e = xescape(paths[i], ":"), *back = NULL;

                cr_assert(not(zero(ptr, e)));
                cr_assert(eq(int, cunescape(e, strlen(e), &back), 0));
                assert_str(back, paths[i]);
        }
}
