/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <criterion/criterion.h>
#include <criterion/new/assert.h>

#include "macro.h"
#include "strverscmp.h"
#include "unit-helpers.h"

static int sgn(int v) {
        return (v > 0) - (v < 0);
}

/* Strictly increasing, each one newer than all before it (the ordering of the UAPI Version
 * Format Specification, plus cases of our own). */
static const char *const ordered[] = {
        "~1",
        "",
        "abc",
        "abcde",
        "b",
        "0~",
        "0",
        "1~rc1",
        "1",
        "1-1",
        "1.0",
        "1.2",
        "1.9",
        "1.10",
        "1.10a",
        "2",
        "122.1",
        "123~rc1-1",
        "123",
        "123-a",
        "123-a.1",
        "123-1",
        "123-1.1",
        "123^post1",
        "123.a-1",
        "123.1-1",
        "123a-1",
        "124-1",
};

Test(strverscmp, strict_total_order_of_the_specification) {
        _cleanup_free_ char *failures = NULL;

        for (size_t i = 0; i < ELEMENTSOF(ordered); i++)
                for (size_t j = 0; j < ELEMENTSOF(ordered); j++) {
                        int want = i < j ? -1 : i > j ? 1 : 0;
                        int got = sgn(strverscmp_improved(ordered[i], ordered[j]));

                        if (got != want)
                                unit_note(&failures, "'%s' vs '%s': %d, want %d", ordered[i], ordered[j], got, want);
                }
        cr_assert(zero(ptr, failures), "%s", failures);
}

Test(strverscmp, equivalent_spellings) {
        static const char *const same[][2] = {
                { "1.007", "1.7" },
                { "0001", "1" },
                { "123_a", "123a" }, /* '_' only separates, like any character outside the set */
                { "1.a,", "1.a" },
                { NULL, "" },
                { "x86-64", "x86-64" },
        };

        for (size_t i = 0; i < ELEMENTSOF(same); i++)
                cr_assert(eq(int, strverscmp_improved(same[i][0], same[i][1]), 0), "%s vs %s",
                          same[i][0] ?: "NULL", same[i][1]);
}

Test(strverscmp, numbers_by_value_not_text) {
        cr_assert(gt(int, strverscmp_improved("10", "9"), 0));
        cr_assert(gt(int, strverscmp_improved("1.10", "1.9"), 0));
        cr_assert(gt(int, strverscmp_improved("100000000000000000000000000001", "99999999999999999999999999999"), 0));
        cr_assert(lt(int, strverscmp_improved("root-1.9", "root-1.10"), 0));
        /* A number is newer than letters at the same place. */
        cr_assert(gt(int, strverscmp_improved("1.1", "1.a"), 0));
}

Test(strverscmp, runs_of_separators_terminate) {
        /* Hostile labels: every pair must compare (and the call return) without looping. */
        static const char *const odd[] = { "..", "-.-", "~~", "^^^", "1..2", ".-^~", "~", "-", "^", "." };

        for (size_t i = 0; i < ELEMENTSOF(odd); i++)
                for (size_t j = 0; j < ELEMENTSOF(odd); j++) {
                        int a = sgn(strverscmp_improved(odd[i], odd[j])), b = sgn(strverscmp_improved(odd[j], odd[i]));

                        cr_assert(eq(int, a, -b), "'%s' vs '%s' is not antisymmetric", odd[i], odd[j]);
                }
}
