/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <criterion/criterion.h>
#include <criterion/new/assert.h>
#include <criterion/parameterized.h>
#include <string.h>

#include "macro.h"
#include "path-util.h"
#include "unit-helpers.h"

struct bool_case {
        const char *input;
        bool expected;
};

static const struct bool_case filename_cases[] = {
        { "foo", true },
        { "foo_1.2.raw", true },
        { "foo bar", true },
        { ".#foo", true },         /* valid file name; image names are stricter */
        { "a:b", true },
        { "\xc3\xbc", true },      /* ü */
        { "\xf0\x9f\x98\x80", true }, /* U+1F600, 4 bytes */
        { "", false },
        { ".", false },
        { "..", false },
        { "...", true },
        { "a/b", false },
        { "/", false },
        { "foo/", false },
        { "a\nb", false },
        { "a\tb", false },
        { "a\x7f", false },
        { "\x01", false },
        { "\xff", false },         /* not UTF-8 at all */
        { "\xc3", false },         /* truncated sequence */
        { "\xc3(", false },        /* bad continuation byte */
        { "\xc0\x80", false },     /* overlong NUL */
        { "\xe0\x80\xaf", false }, /* overlong '/' */
        { "\xed\xa0\x80", false }, /* UTF-16 surrogate */
        { "\xf4\x90\x80\x80", false }, /* beyond U+10FFFF */
        { "\xf8\x88\x80\x80\x80", false }, /* 5-byte form */
};

Test(path_util, filename_is_valid) {
        _cleanup_free_ char *failed = NULL;

        for (size_t i = 0; i < ELEMENTSOF(filename_cases); i++)
                if (filename_is_valid(filename_cases[i].input) != filename_cases[i].expected)
                        unit_note(&failed, "case %zu: expected %s", i, filename_cases[i].expected ? "true" : "false");
        cr_assert(zero(ptr, failed), "%s", failed);
}

Test(path_util, filename_length_limit) {
        char name[300];

        memset(name, 'a', sizeof(name));
        name[255] = '\0';
        cr_assert(filename_is_valid(name), "255 bytes is the maximum");
        name[255] = 'a';
        name[256] = '\0';
        cr_assert(not(filename_is_valid(name)), "256 bytes is too long");
        cr_assert(not(filename_is_valid(NULL)));
}

static const struct bool_case normalized_cases[] = {
        { "/", true },
        { "/a", true },
        { "/a/b", true },
        { "/a/.b", true },
        { "/a/..b", true },
        { "/a/b..", true },
        { "/var/lib/portables/foo_1.raw", true },
        { "/tmp/a:b/\xc3\xbc", true },
        { "", false },
        { "a", false },
        { "a/b", false },
        { "./a", false },
        { "//", false },
        { "//a", false },
        { "/a//b", false },
        { "/a/", false },
        { "/.", false },
        { "/..", false },
        { "/a/.", false },
        { "/a/..", false },
        { "/a/./b", false },
        { "/a/../b", false },
        { "/../etc/passwd", false },
        { "/a\nb", false },
        { "/a\xff", false },
};

Test(path_util, path_is_normalized_absolute) {
        _cleanup_free_ char *failed = NULL;

        for (size_t i = 0; i < ELEMENTSOF(normalized_cases); i++)
                if (path_is_normalized_absolute(normalized_cases[i].input) != normalized_cases[i].expected)
                        unit_note(&failed, "case %zu: expected %s", i, normalized_cases[i].expected ? "true" : "false");
        cr_assert(zero(ptr, failed), "%s", failed);
}

Test(path_util, path_is_normalized_absolute_null) {
        cr_assert(not(path_is_normalized_absolute(NULL)));
}

struct str_case {
        const char *a;
        const char *b;
        const char *expected;
};

static const struct str_case last_component_cases[] = {
        { "/a/b", NULL, "b" },
        { "/a/b/", NULL, "b/" },
        { "/a/b//", NULL, "b//" },
        { "b", NULL, "b" },
        { "/b", NULL, "b" },
        { "a/b.raw", NULL, "b.raw" },
        { "", NULL, "" },
};

UNIT_TABLE_TEST(path_util, path_last_component, last_component_cases) {
        const struct str_case *c = &last_component_cases[*i];
        const char *r = path_last_component(c->a);

        assert_str(r, c->expected);
        /* It points into its argument. */
        cr_assert(r >= c->a && r <= c->a + strlen(c->a));
}

static const struct str_case join_cases[] = {
        { "/a", "b", "/a/b" },
        { "/a/", "b", "/a/b" },
        { "/a", "/b", "/a/b" },
        { "/a///", "///b", "/a/b" },
        { "/", "b", "/b" },
        { "/", "/b", "/b" },
        { "", "b", "/b" },
        { "a", "b/c", "a/b/c" },
        { "/a", "b/", "/a/b/" },
};

UNIT_TABLE_TEST(path_util, path_join, join_cases) {
        const struct str_case *c = &join_cases[*i];
        _cleanup_free_ char *j = path_join(c->a, c->b);

        assert_str(j, c->expected);
}

static const struct str_case prefix_root_cases[] = {
        { NULL, "/etc/portables", "/etc/portables" },
        { "", "/etc/portables", "/etc/portables" },
        { "/", "/etc/portables", "/etc/portables" },
        { "/tmp/root", "/etc/portables", "/tmp/root/etc/portables" },
        { "/tmp/root/", "/etc/portables", "/tmp/root/etc/portables" },
        { "/tmp/root", "etc", "/tmp/root/etc" },
};

UNIT_TABLE_TEST(path_util, path_prefix_root, prefix_root_cases) {
        const struct str_case *c = &prefix_root_cases[*i];
        _cleanup_free_ char *j = path_prefix_root(c->a, c->b);

        assert_str(j, c->expected);
}

Test(path_util, startswith_endswith) {
        cr_assert(startswith("foo.service", "foo"));
        cr_assert(startswith("foo", "foo"));
        cr_assert(startswith("foo", ""));
        cr_assert(not(startswith("fo", "foo")));
        cr_assert(not(startswith("bar", "foo")));

        cr_assert(endswith("foo.raw", ".raw"));
        cr_assert(endswith(".raw", ".raw"));
        cr_assert(endswith("foo", ""));
        cr_assert(not(endswith("raw", ".raw")));
        cr_assert(not(endswith("foo.raw.v", ".raw")));
        cr_assert(not(endswith("", "x")));
}

static const struct bool_case clean_utf8_cases[] = {
        { "", true },
        { "plain ASCII with spaces", true },
        { "caf\xc3\xa9", true },
        { "\xe2\x82\xac", true },   /* € */
        { "tab\there", false },
        { "nl\n", false },
        { "del\x7f", false },
        { "\xe2\x82", false },      /* truncated € */
        { "\x80", false },          /* lone continuation byte */
};

Test(path_util, string_is_clean_utf8) {
        _cleanup_free_ char *failed = NULL;

        for (size_t i = 0; i < ELEMENTSOF(clean_utf8_cases); i++)
                if (string_is_clean_utf8(clean_utf8_cases[i].input) != clean_utf8_cases[i].expected)
                        unit_note(&failed, "case %zu: expected %s", i, clean_utf8_cases[i].expected ? "true" : "false");
        cr_assert(zero(ptr, failed), "%s", failed);
}
