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

Test(escape, xescape) {
        _cleanup_free_ char *failed = NULL;

        for (size_t i = 0; i < ELEMENTSOF(xescape_cases); i++) {
                _cleanup_free_ char *e = xescape(xescape_cases[i].input, xescape_cases[i].bad);

                cr_assert(e != NULL);
                if (!streq(e, xescape_cases[i].expected))
                        unit_note(&failed, "case %zu: got '%s', expected '%s'", i, e, xescape_cases[i].expected);
        }
        cr_assert(zero(ptr, failed), "%s", failed);
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

Test(escape, cunescape) {
        _cleanup_free_ char *failed = NULL;

        for (size_t i = 0; i < ELEMENTSOF(unescape_cases); i++) {
                const struct unescape_case *c = &unescape_cases[i];
                char *out = (char *) 0x1;
                int r = cunescape(c->input, strlen(c->input), &out);

                if (!c->expected) {
                        if (r != -EINVAL)
                                unit_note(&failed, "case %zu '%s': %d instead of -EINVAL", i, c->input, r);
                        else if (out != (char *) 0x1)
                                unit_note(&failed, "case %zu: output touched on failure", i);
                        continue;
                }
                if (r != 0)
                        unit_note(&failed, "case %zu '%s': %d", i, c->input, r);
                else {
                        if (!streq(out, c->expected))
                                unit_note(&failed, "case %zu '%s': wrong result", i, c->input);
                        free(out);
                }
        }
        cr_assert(zero(ptr, failed), "%s", failed);
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

Test(escape, unhexchar) {
        cr_assert(eq(int, unhexchar('0'), 0));
        cr_assert(eq(int, unhexchar('9'), 9));
        cr_assert(eq(int, unhexchar('a'), 10));
        cr_assert(eq(int, unhexchar('F'), 15));
        cr_assert(eq(int, unhexchar('g'), -EINVAL));
        cr_assert(eq(int, unhexchar('/'), -EINVAL));
        cr_assert(eq(int, unhexchar('\0'), -EINVAL));
}

Test(escape, hexmem_round_trip) {
        static const uint8_t bytes[] = { 0x00, 0x01, 0x7f, 0x80, 0xab, 0xff };
        _cleanup_free_ char *hex = hexmem(bytes, sizeof(bytes));
        uint8_t back[sizeof(bytes)];

        assert_str(hex, "00017f80abff");
        cr_assert(eq(int, unhexmem_exact(hex, back, sizeof(back)), 0));
        cr_assert(eq(int, memcmp(back, bytes, sizeof(bytes)), 0));
        cr_assert(eq(int, unhexmem_exact("00017F80ABFF", back, sizeof(back)), 0), "either case");
        cr_assert(eq(int, memcmp(back, bytes, sizeof(bytes)), 0));
        cr_assert(eq(int, unhexmem_exact("00017f80abf", back, sizeof(back)), -EINVAL), "too short");
        cr_assert(eq(int, unhexmem_exact("00017f80abff00", back, sizeof(back)), -EINVAL), "too long");
        cr_assert(eq(int, unhexmem_exact("00017f80abfg", back, sizeof(back)), -EINVAL), "not a digit");
        cr_assert(eq(int, unhexmem_exact(NULL, back, sizeof(back)), -EINVAL));
}
