/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <criterion/criterion.h>
#include <criterion/new/assert.h>
#include <errno.h>
#include <string.h>

#include "strv.h"
#include "unit-activity.h"

/* portabled/unit-activity.c: what a snapshot of PID 1's units answers. A unit is known if it was
 * asked about by name or is covered by a name prefix that was asked about; anything else is
 * -EAGAIN and recorded, so that the operation asks again instead of taking it for inactive. */

TestSuite(unit_activity);

static UnitActivity snapshot(char **queried, char **prefixes, char **active) {
        UnitActivity a = {
                .queried = strv_copy(queried),
                .prefixes = strv_copy(prefixes),
                .active = strv_copy(active),
        };

        cr_assert(queried == NULL || a.queried != NULL);
        cr_assert(prefixes == NULL || a.prefixes != NULL);
        cr_assert(active == NULL || a.active != NULL);
        strv_sort(a.queried);
        strv_sort(a.active);
        return a;
}

Test(unit_activity, units_asked_by_name) {
        char *queried[] = { (char *) "a.service", (char *) "b.socket", (char *) "t@.service", NULL };
        char *active[] = { (char *) "b.socket", (char *) "t@x.service", NULL };
        UnitActivity a = snapshot(queried, NULL, active);

        cr_assert(eq(int, unit_activity_is_active(&a, "a.service"), 0));
        cr_assert(eq(int, unit_activity_is_active(&a, "b.socket"), 1));
        cr_assert(eq(int, unit_activity_is_active(&a, "t@.service"), 1), "an instance of the template runs");
        cr_assert(eq(int, unit_activity_is_active(&a, "c.service"), -EAGAIN));
        cr_assert(eq(int, strv_length(a.missing), 1u));
        cr_assert(eq(int, strcmp(a.missing[0], "c.service"), 0));
        unit_activity_done(&a);
}

Test(unit_activity, units_covered_by_a_prefix) {
        char *prefixes[] = { (char *) "foo", NULL };
        char *active[] = { (char *) "foo-bar.socket", (char *) "foo@web.service", (char *) "foobar.service", NULL };
        UnitActivity a = snapshot(NULL, prefixes, active);

        cr_assert(eq(int, unit_activity_is_active(&a, "foo.service"), 0));
        cr_assert(eq(int, unit_activity_is_active(&a, "foo.bar.timer"), 0));
        cr_assert(eq(int, unit_activity_is_active(&a, "foo-bar.socket"), 1));
        cr_assert(eq(int, unit_activity_is_active(&a, "foo@.service"), 1), "an instance of the template runs");
        cr_assert(zero(ptr, a.missing));

        /* Not what "foo" stands for: the answer does not cover it, whatever it listed. */
        cr_assert(eq(int, unit_activity_is_active(&a, "foobar.service"), -EAGAIN));
        cr_assert(eq(int, unit_activity_is_active(&a, "foo_x.service"), -EAGAIN));
        cr_assert(eq(int, strv_length(a.missing), 2u));
        unit_activity_done(&a);
}

Test(unit_activity, no_service_manager_means_nothing_runs) {
        UnitActivity a = { .no_manager = true };

        cr_assert(eq(int, unit_activity_is_active(&a, "anything.service"), 0));
        unit_activity_done(&a);
}

Test(unit_activity, no_snapshot_is_no_answer) {
        cr_assert(eq(int, unit_activity_is_active(NULL, "a.service"), -EAGAIN));
}
