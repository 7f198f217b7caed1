/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <criterion/criterion.h>
#include <criterion/new/assert.h>
#include <inttypes.h>

#include "call-budget.h"
#include "portable-limits.h"

/* portabled/call-budget.c: each user's callers may take a share of the daemon's time after a
 * burst, all unprivileged callers together a larger share; root is never counted. Times are µs on
 * a clock the tests move by hand. */

#define SECOND UINT64_C(1000000)
#define T0 (1000 * SECOND)

static CallBudget *b;

static void setup(void) {
        b = call_budget_new();
        cr_assert(not(zero(ptr, b)));
}

static void teardown(void) {
        b = call_budget_free(b);
}

TestSuite(call_budget, .init = setup, .fini = teardown);

Test(call_budget, a_burst_then_refusal) {
        uint64_t wait = 0;

        cr_assert(eq(int, call_budget_admit(b, 1000, T0, NULL), CALL_BUDGET_ADMIT));
        /* Almost all of the burst: still admitted. */
        call_budget_charge(b, 1000, PORTABLE_CALL_TIME_PER_USER_BURST_USEC - 1, T0);
        cr_assert(eq(int, call_budget_admit(b, 1000, T0, NULL), CALL_BUDGET_ADMIT));
        call_budget_charge(b, 1000, 1, T0);
        cr_assert(eq(int, call_budget_admit(b, 1000, T0, &wait), CALL_BUDGET_USER_SPENT));
        cr_assert(le(u64, wait, 4), "an empty bucket holds something again after a few µs");
        cr_assert(eq(int, call_budget_admit(b, 1000, T0 + wait - 1, NULL), CALL_BUDGET_USER_SPENT));
        cr_assert(eq(int, call_budget_admit(b, 1000, T0 + wait, NULL), CALL_BUDGET_ADMIT));
}

Test(call_budget, the_bucket_refills_at_the_users_share) {
        uint64_t wait = 0, owed = SECOND / 2;

        call_budget_charge(b, 1000, PORTABLE_CALL_TIME_PER_USER_BURST_USEC + owed, T0);
        cr_assert(eq(int, call_budget_admit(b, 1000, T0, &wait), CALL_BUDGET_USER_SPENT));
        /* Half a second owed, at a quarter of the time: two seconds; asking in between changes
         * nothing. */
        cr_assert(ge(u64, wait, 2 * SECOND));
        cr_assert(le(u64, wait, 2 * SECOND + 4));
        for (uint64_t t = T0; t < T0 + wait; t += 7919)
                cr_assert(eq(int, call_budget_admit(b, 1000, t, NULL), CALL_BUDGET_USER_SPENT), "at %" PRIu64, t - T0);
        cr_assert(eq(int, call_budget_admit(b, 1000, T0 + wait - 1, NULL), CALL_BUDGET_USER_SPENT));
        cr_assert(eq(int, call_budget_admit(b, 1000, T0 + wait, NULL), CALL_BUDGET_ADMIT));
}

Test(call_budget, users_are_counted_apart) {
        call_budget_charge(b, 1000, PORTABLE_CALL_TIME_PER_USER_BURST_USEC + SECOND / 10, T0);
        cr_assert(eq(int, call_budget_admit(b, 1000, T0, NULL), CALL_BUDGET_USER_SPENT));
        cr_assert(eq(int, call_budget_admit(b, 1001, T0, NULL), CALL_BUDGET_ADMIT));
}

Test(call_budget, all_users_together_have_a_budget_of_their_own) {
        uint64_t wait = 0;
        uid_t uid = 1000;

        /* Many users, each within its own burst, spend the burst of all. */
        for (uint64_t spent = 0; spent < PORTABLE_CALL_TIME_UNPRIVILEGED_BURST_USEC; uid++) {
                cr_assert(eq(int, call_budget_admit(b, uid, T0, NULL), CALL_BUDGET_ADMIT), "user %u", uid);
                call_budget_charge(b, uid, PORTABLE_CALL_TIME_PER_USER_BURST_USEC / 2, T0);
                spent += PORTABLE_CALL_TIME_PER_USER_BURST_USEC / 2;
        }
        cr_assert(eq(int, call_budget_admit(b, uid, T0, &wait), CALL_BUDGET_ALL_SPENT), "a new user");
        cr_assert(eq(u64, wait, 1));
        cr_assert(eq(int, call_budget_admit(b, 0, T0, NULL), CALL_BUDGET_ADMIT), "root");
        /* Half of the time refills all's bucket: a millisecond later, 500 µs are there. */
        cr_assert(eq(int, call_budget_admit(b, uid, T0 + 1000, NULL), CALL_BUDGET_ADMIT));
}

Test(call_budget, root_is_never_counted) {
        call_budget_charge(b, 0, 100 * SECOND, T0);
        cr_assert(eq(int, call_budget_admit(b, 0, T0, NULL), CALL_BUDGET_ADMIT));
        cr_assert(eq(int, call_budget_admit(b, 1000, T0, NULL), CALL_BUDGET_ADMIT), "nor charged to all");
}

Test(call_budget, a_full_bucket_stays_full) {
        /* Idle for a long time: no more than the burst, and no overflow. */
        call_budget_charge(b, 1000, SECOND / 2, T0);
        call_budget_charge(b, 1000, PORTABLE_CALL_TIME_PER_USER_BURST_USEC - 1, T0 + 1000000 * SECOND);
        cr_assert(eq(int, call_budget_admit(b, 1000, T0 + 1000000 * SECOND, NULL), CALL_BUDGET_ADMIT));
        call_budget_charge(b, 1000, 1, T0 + 1000000 * SECOND);
        cr_assert(eq(int, call_budget_admit(b, 1000, T0 + 1000000 * SECOND, NULL), CALL_BUDGET_USER_SPENT));
}

/* Many users come and go (those whose buckets are full again are forgotten): one that owes is
 * still refused until it has waited its time. */
Test(call_budget, many_users) {
        call_budget_charge(b, 5000, 3 * PORTABLE_CALL_TIME_PER_USER_BURST_USEC, T0);
        for (uid_t uid = 1; uid <= 1000; uid++)
                call_budget_charge(b, uid, 100, T0 + uid * 100);
        cr_assert(eq(int, call_budget_admit(b, 5000, T0 + 2 * SECOND, NULL), CALL_BUDGET_USER_SPENT));
        /* It owed two seconds of the daemon's time, at a quarter: eight seconds. */
        cr_assert(eq(int, call_budget_admit(b, 5000, T0 + 7 * SECOND, NULL), CALL_BUDGET_USER_SPENT));
        cr_assert(eq(int, call_budget_admit(b, 5000, T0 + 9 * SECOND, NULL), CALL_BUDGET_ADMIT));
}
