/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <criterion/criterion.h>
#include <criterion/new/assert.h>
#include <setjmp.h>

#include "macro.h"
#include "unit-helpers.h"

/* The helpers the other tests stand on: a table test that skipped rows, or named the wrong row
 * when one fails, would make every table of the suite say less than it seems to. */

static size_t visited[8], n_visited;

static void record_row(size_t *i) {
        cr_assert(n_visited < ELEMENTSOF(visited));
        visited[n_visited++] = *i;
        /* The body gets a copy of the index: what it does with it cannot skip rows. */
        (*i)++;
}

Test(unit_table, runs_every_row_once_in_order) {
        size_t row;

        unit_table_run("rows", 5, record_row);
        cr_assert(eq(sz, n_visited, 5));
        for (size_t k = 0; k < n_visited; k++)
                cr_assert(eq(sz, visited[k], k));
        cr_assert(eq(ptr, (void *) unit_table_unfinished(&row), NULL));
}

Test(unit_table, an_empty_table_runs_nothing) {
        size_t row;

        unit_table_run("empty", 0, record_row);
        cr_assert(eq(sz, n_visited, 0));
        cr_assert(eq(ptr, (void *) unit_table_unfinished(&row), NULL));
}

/* A failed assertion leaves the row by a long jump (Criterion's way of ending a test), after
 * which .fini asks which row was left unfinished. */
static jmp_buf failure;

static void fail_in_row_3(size_t *i) {
        if (*i == 3)
                longjmp(failure, 1);
}

Test(unit_table, names_the_row_a_failure_left) {
        size_t row = 0;

        if (setjmp(failure) == 0) {
                unit_table_run("failing_rows", 6, fail_in_row_3);
                cr_fail("row 3 did not end the run");
        }
        assert_str(unit_table_unfinished(&row), "failing_rows");
        cr_assert(eq(sz, row, 3));
}

static const unsigned squares[] = { 0, 1, 4, 9, 16, 25 };

UNIT_TABLE_TEST(unit_table, macro_hands_each_row_its_index, squares) {
        cr_assert(eq(u32, squares[*i], (unsigned) (*i * *i)));
}
