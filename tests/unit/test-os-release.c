/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <criterion/criterion.h>
#include <criterion/new/assert.h>
#include <criterion/parameterized.h>
#include <stdio.h>
#include <string.h>

#include "os-release.h"
#include "strv.h"
#include "unit-helpers.h"

static char **parse_ok(const char *data) {
        char **pairs = NULL;

        cr_assert(eq(int, os_release_parse(data, strlen(data), &pairs), 0), "parsing:\n%s", data);
        cr_assert(not(zero(ptr, pairs)));
        cr_assert(eq(sz, strv_length(pairs) % 2, 0));
        return pairs;
}

Test(os_release, search_paths) {
        assert_str(os_release_paths[0], "/etc/os-release");
        assert_str(os_release_paths[1], "/usr/lib/os-release");
        cr_assert(zero(ptr, (void *) os_release_paths[2]));
}

Test(os_release, empty_input) {
        _cleanup_strv_free_ char **a = parse_ok(""), **b = parse_ok("\n\n# only a comment\n   \n");

        cr_assert(eq(sz, strv_length(a), 0));
        cr_assert(eq(sz, strv_length(b), 0));
        cr_assert(zero(ptr, (void *) os_release_pairs_get(a, "ID")));
}

Test(os_release, fixture_file_order) {
        _cleanup_strv_free_ char **p = parse_ok("ID=portabletest\n"
                                                "VERSION_ID=1\n"
                                                "PRETTY_NAME=\"Portable Test OS 1\"\n"
                                                "PORTABLE_PRETTY_NAME=\"Foo test service\"\n");
        _cleanup_free_ char *joined = strv_join(p, "|");

        assert_str(joined, "ID|portabletest|VERSION_ID|1|PRETTY_NAME|Portable Test OS 1|"
                           "PORTABLE_PRETTY_NAME|Foo test service");
        assert_str(os_release_pairs_get(p, "PRETTY_NAME"), "Portable Test OS 1");
        cr_assert(zero(ptr, (void *) os_release_pairs_get(p, "NAME")));
        cr_assert(zero(ptr, (void *) os_release_pairs_get(p, "portabletest")), "values are not keys");
}

Test(os_release, later_assignment_wins_in_place) {
        _cleanup_strv_free_ char **p = parse_ok("A=1\nB=2\nA=3\n");
        _cleanup_free_ char *joined = strv_join(p, "|");

        assert_str(joined, "A|3|B|2");
}

Test(os_release, no_trailing_newline) {
        _cleanup_strv_free_ char **p = parse_ok("ID=x\nVERSION_ID=2");

        assert_str(os_release_pairs_get(p, "VERSION_ID"), "2");
}

Test(os_release, size_bounds_the_input) {
        static const char data[] = "ID=abc\nVERSION_ID=9\n";
        _cleanup_strv_free_ char **p = NULL;

        /* Only the first 6 bytes: "ID=abc". Nothing beyond size may be looked at. */
        cr_assert(eq(int, os_release_parse(data, 6, &p), 0));
        assert_str(os_release_pairs_get(p, "ID"), "abc");
        cr_assert(zero(ptr, (void *) os_release_pairs_get(p, "VERSION_ID")));
}

Test(os_release, size_bounds_whitespace_skipping) {
        static const char data[] = "ID=abc\nK=  \tX=1\n";
        _cleanup_strv_free_ char **p = NULL;

        /* Only "ID=abc\nK=": the blanks after the '=' lie beyond size. (Found by fuzz-os-release:
         * skipping them ran past the end, and the value was then parsed from beyond it.) */
        cr_assert(eq(int, os_release_parse(data, 9, &p), 0));
        assert_str(os_release_pairs_get(p, "K"), "");
        cr_assert(zero(ptr, (void *) os_release_pairs_get(p, "X")));
        p = strv_free(p);

        /* Only "ID=abc\n": the blank line after it lies beyond size. */
        cr_assert(eq(int, os_release_parse("ID=abc\n  \n\nX=1", 7, &p), 0));
        cr_assert(zero(ptr, (void *) os_release_pairs_get(p, "X")));
}

struct value_case {
        const char *line;
        const char *value; /* NULL: the key must be absent */
};

/* One assignment to the key K per case, checked as a shell would read it. */
static const struct value_case value_cases[] = {
        { "K=plain", "plain" },
        { "K=", "" },
        { "K=\"\"", "" },
        { "K=''", "" },
        { "K=\"double quoted\"", "double quoted" },
        { "K='single quoted'", "single quoted" },
        { "K=\"a\\\"b\"", "a\"b" },
        { "K=\"a\\\\b\"", "a\\b" },
        { "K=\"a\\$b\"", "a$b" },
        { "K=\"a\\`b\"", "a`b" },
        { "K=\"a\\nb\"", "a\\nb" },       /* \n is not special inside double quotes */
        { "K='a\\b'", "a\\b" },          /* nothing is special inside single quotes */
        { "K='it'\"'\"'s'", "it's" },
        { "K=a\\ b", "a b" },
        { "K=con\\\ntinued", "continued" }, /* backslash-newline continues the line */
        { "K=\"a\"b'c'", "abc" },        /* concatenation */
        { "K=value   ", "value" },        /* trailing unquoted blanks go */
        { "K=value\t\r", "value" },
        { "K=   value", "value" },        /* so do leading ones */
        { "K = value", "value" },         /* blanks around '=' */
        { "  K=indented", "indented" },
        { "K=a#b", "a#b" },               /* '#' inside a word is not a comment */
        { "K=a #comment", "a" },
        { "K=\"a #b\"", "a #b" },
        { "K=\"multi\nline\"", "multi\nline" },
        { "K=\"caf\xc3\xa9\"", "caf\xc3\xa9" },
        /* Blanks inside quotes are part of the value, also at its end (shell semantics, and
         * what systemd's parser does for PRETTY_NAME="Foo "). */
        { "K=\"trailing \"", "trailing " },
        { "K='tab\t'", "tab\t" },
        { "K=\" \"", " " },
        /* Not assignments, or not valid shell variable names: ignored. */
        { "# K=commented", NULL },
        { "; K=commented", NULL },
        { "K", NULL },
        { "1K=x", NULL },
        { "K-X=x", NULL },
        { "export K=x", NULL },
};

UNIT_TABLE_TEST(os_release, values, value_cases) {
        const struct value_case *c = &value_cases[*i];
        _cleanup_free_ char *data = unit_strf("BEFORE=1\n%s\nAFTER=2\n", c->line);
        _cleanup_strv_free_ char **p = parse_ok(data);

        /* The neighbours are never disturbed. */
        assert_str(os_release_pairs_get(p, "BEFORE"), "1");
        assert_str(os_release_pairs_get(p, "AFTER"), "2");

        if (!c->value) {
                cr_assert(zero(ptr, (void *) os_release_pairs_get(p, "K")), "case %zu", *i);
                return;
        }
        /* Regression: blanks at the end of a quoted value used to be trimmed as if unquoted
         * (K="trailing " gave "trailing"). */
        cr_assert(not(zero(ptr, (void *) os_release_pairs_get(p, "K"))), "case %zu: K missing", *i);
        assert_str(os_release_pairs_get(p, "K"), c->value);
}

static const char *const unterminated_cases[] = {
        "ID=\"unterminated",
        "ID='unterminated",
        "ID=ok\nPRETTY_NAME=\"Foo\nVERSION_ID=1\n",
        "ID=\"a\\\"",                  /* the escaped quote does not close */
        "BAD-KEY=\"unterminated",      /* even for a key that would be ignored */
};

UNIT_TABLE_TEST(os_release, unterminated_quote, unterminated_cases) {
        const char *data = unterminated_cases[*i];
        char **p = (char **) 0x1;

        cr_assert(eq(int, os_release_parse(data, strlen(data), &p), -EBADMSG), "case %zu", *i);
        cr_assert(eq(ptr, p, (char **) 0x1), "output must not be touched on failure");
}

Test(os_release, crlf_line_endings) {
        _cleanup_strv_free_ char **p = parse_ok("ID=x\r\nVERSION_ID=\"1\"\r\n");

        assert_str(os_release_pairs_get(p, "ID"), "x");
        assert_str(os_release_pairs_get(p, "VERSION_ID"), "1");
}

Test(os_release, embedded_nul_does_not_crash) {
        static const char data[] = "ID=a\0b\nVERSION_ID=2\n";
        _cleanup_strv_free_ char **p = NULL;

        cr_assert(eq(int, os_release_parse(data, sizeof(data) - 1, &p), 0));
        assert_str(os_release_pairs_get(p, "VERSION_ID"), "2");
}

Test(os_release, many_keys) {
        _cleanup_free_ char *data = NULL;
        _cleanup_strv_free_ char **p = NULL, **q = NULL;
        size_t n = 0;

        data = malloc(1025 * 24);
        cr_assert(not(zero(ptr, data)));
        for (int i = 0; i < 1024; i++)
                n += (size_t) sprintf(data + n, "KEY_%04d=\"value %d\"\n", i, i);
        cr_assert(eq(int, os_release_parse(data, n, &p), 0));
        cr_assert(eq(sz, strv_length(p), 2048));
        assert_str(os_release_pairs_get(p, "KEY_1023"), "value 1023");

        /* One more distinct key is too many: the later-wins rule must stay cheap. */
        n += (size_t) sprintf(data + n, "KEY_1024=x\n");
        cr_assert(eq(int, os_release_parse(data, n, &q), -E2BIG));
}

Test(os_release, repeated_keys_do_not_count_twice) {
        _cleanup_strv_free_ char **p = NULL;
        _cleanup_free_ char *data = malloc(3000 * 8);
        size_t n = 0;

        cr_assert(not(zero(ptr, data)));
        for (int i = 0; i < 3000; i++)
                n += (size_t) sprintf(data + n, "ID=%d\n", i % 10);
        cr_assert(eq(int, os_release_parse(data, n, &p), 0));
        assert_str(os_release_pairs_get(p, "ID"), "9");
}

Test(os_release, invalid_utf8_is_found) {
        _cleanup_strv_free_ char **p = NULL;
        static const char data[] = "ID=ok\nNAME=\"bad \xc3\x28 value\"\nOTHER=\xe2\x82\xac\n";

        cr_assert(eq(int, os_release_parse(data, sizeof(data) - 1, &p), 0));
        assert_str(os_release_pairs_find_invalid_utf8(p), "NAME");
        cr_assert(zero(ptr, (void *) os_release_pairs_find_invalid_utf8(NULL)));
}

Test(os_release, pairs_get_tolerates_null) {
        cr_assert(zero(ptr, (void *) os_release_pairs_get(NULL, "ID")));
}
