/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <criterion/criterion.h>
#include <criterion/new/assert.h>
#include <criterion/parameterized.h>
#include <stdio.h>

#include "strv.h"
#include "unit-helpers.h"

Test(strv, null_is_the_empty_list) {
        cr_assert(eq(sz, strv_length(NULL), 0));
        cr_assert(not(strv_contains(NULL, "a")));
        cr_assert(zero(ptr, strv_free(NULL)));

        _cleanup_strv_free_ char **copy = strv_copy(NULL);
        cr_assert(not(zero(ptr, copy)));
        cr_assert(zero(ptr, copy[0]));

        _cleanup_free_ char *joined = strv_join(NULL, ", ");
        assert_str(joined, "");
}

Test(strv, extend_copies_and_consume_takes_ownership) {
        _cleanup_strv_free_ char **l = NULL;
        char buf[] = "mutable";

        cr_assert(eq(int, strv_extend(&l, buf), 0));
        buf[0] = 'X';
        assert_str(l[0], "mutable");

        cr_assert(eq(int, strv_consume(&l, strdup("owned")), 0));
        cr_assert(eq(sz, strv_length(l), 2));
        assert_str(l[1], "owned");
        cr_assert(zero(ptr, l[2]));

        /* A failed allocation handed to consume is reported, not stored. */
        cr_assert(eq(int, strv_consume(&l, NULL), -ENOMEM));
        cr_assert(eq(sz, strv_length(l), 2));
}

Test(strv, extend_unique) {
        _cleanup_strv_free_ char **l = NULL;

        cr_assert(eq(int, strv_extend_unique(&l, "a"), 1));
        cr_assert(eq(int, strv_extend_unique(&l, "b"), 1));
        cr_assert(eq(int, strv_extend_unique(&l, "a"), 0));
        cr_assert(eq(sz, strv_length(l), 2));
        cr_assert(strv_contains(l, "a"));
        cr_assert(strv_contains(l, "b"));
        cr_assert(not(strv_contains(l, "c")));
        cr_assert(not(strv_contains(l, "")));
}

Test(strv, copy_is_deep) {
        _cleanup_strv_free_ char **l = NULL, **c = NULL;

        cr_assert(eq(int, strv_extend(&l, "one"), 0));
        cr_assert(eq(int, strv_extend(&l, "two"), 0));
        c = strv_copy(l);
        cr_assert(not(zero(ptr, c)));
        cr_assert(eq(sz, strv_length(c), 2));
        cr_assert(ne(ptr, c[0], l[0]));
        assert_str(c[0], "one");
        assert_str(c[1], "two");
}

struct split_case {
        const char *input;
        const char *separators;
        const char *joined; /* expected fields joined with "|" */
        size_t n;
};

static const struct split_case split_cases[] = {
        { "", " ", "", 0 },
        { "   ", " ", "", 0 },
        { "a", " ", "a", 1 },
        { "a b", " ", "a|b", 2 },
        { "  a  b  ", " ", "a|b", 2 },
        { "a\tb\nc", " \t\n", "a|b|c", 3 },
        { "a,,b", ",", "a|b", 2 },
        { "a:b c", ":", "a|b c", 2 },
        { "pfx-a pfx-b", " \t\n", "pfx-a|pfx-b", 2 },
};

UNIT_TABLE_TEST(strv, split, split_cases) {
        const struct split_case *c = &split_cases[*i];
        _cleanup_strv_free_ char **l = NULL;
        _cleanup_free_ char *joined = NULL;

        cr_assert(eq(int, strv_split(c->input, c->separators, &l), 0));
        cr_assert(not(zero(ptr, l)), "split must return an empty list, not NULL");
        cr_assert(eq(sz, strv_length(l), c->n), "'%s'", c->input);
        joined = strv_join(l, "|");
        assert_str(joined, c->joined);
}

Test(strv, join) {
        _cleanup_strv_free_ char **l = NULL;
        _cleanup_free_ char *a = NULL, *b = NULL, *c = NULL;

        cr_assert(eq(int, strv_extend(&l, "x"), 0));
        a = strv_join(l, ", ");
        assert_str(a, "x");

        cr_assert(eq(int, strv_extend(&l, ""), 0));
        cr_assert(eq(int, strv_extend(&l, "z"), 0));
        b = strv_join(l, ", ");
        assert_str(b, "x, , z");
        c = strv_join(l, "");
        assert_str(c, "xz");
}

Test(strv, sort) {
        _cleanup_strv_free_ char **l = NULL;
        _cleanup_free_ char *joined = NULL;
        const char *in[] = { "foo@.service", "foo.service", "foo-bar.socket", "b", "a", "foo.target", "A" };

        strv_sort(NULL); /* must not crash */
        for (size_t i = 0; i < ELEMENTSOF(in); i++)
                cr_assert(eq(int, strv_extend(&l, in[i]), 0));
        strv_sort(l);
        joined = strv_join(l, " ");
        /* Plain byte order, as strcmp() sees it. */
        assert_str(joined, "A a b foo-bar.socket foo.service foo.target foo@.service");
}

Test(strv, many_items) {
        _cleanup_strv_free_ char **l = NULL;

        for (int i = 0; i < 1000; i++) {
                char buf[16];
                snprintf(buf, sizeof(buf), "item%04d", i);
                cr_assert(eq(int, strv_extend_unique(&l, buf), 1));
        }
        cr_assert(eq(sz, strv_length(l), 1000));
        assert_str(l[999], "item0999");
        cr_assert(zero(ptr, l[1000]));
}

Test(strv, ensure) {
        _cleanup_strv_free_ char **l = NULL;
        char **before;

        cr_assert(eq(int, strv_ensure(&l), 0));
        cr_assert(not(zero(ptr, l)));
        cr_assert(zero(ptr, l[0]));

        /* A list that exists is left alone. */
        cr_assert(eq(int, strv_extend(&l, "x"), 0));
        before = l;
        cr_assert(eq(int, strv_ensure(&l), 0));
        cr_assert(eq(ptr, l, before));
        assert_str(l[0], "x");
}
