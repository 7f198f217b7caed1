/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <criterion/criterion.h>
#include <criterion/new/assert.h>

#include "attached-index.h"
#include "unit-helpers.h"

/* Which recorded image an argument names (the rules of attached-index.h). */

TestSuite(attached_index);

Test(attached_index, image_matches) {
        static const struct {
                const char *marker, *query;
                bool match;
        } table[] = {
                { "/srv/foo_1.raw", "/srv/foo_1.raw", true },
                { "/srv/foo_1.raw", "/srv/foo_2.raw", false },
                { "/srv/foo_1.raw", "foo_1", true },
                { "/srv/foo_1.raw", "foo", true },      /* a name without version: every version */
                { "/srv/foo_1.raw", "foo_2", false },
                { "/srv/foobar.raw", "foo", false },
                /* A versioned directory names whichever of its versions is attached. */
                { "/srv/foo.raw.v/foo_1.raw", "/srv/foo.raw.v", true },
                { "/srv/foo.v/foo_2", "/srv/foo.v", true },
                { "/srv/foo.raw.v/bar_1.raw", "/srv/foo.raw.v", false },
                { "/srv/foo.raw.v/foo_1", "/srv/foo.raw.v", false },   /* no directories in a .raw.v */
                { "/srv/foo.raw.v/x/foo_1.raw", "/srv/foo.raw.v", false },
                { "/srv/foo.raw.vv/foo_1.raw", "/srv/foo.raw.v", false },
                { "/srv/foo.raw.v/foo_1.raw", "/srv/other.raw.v", false },
                { "/srv/foo.raw.v/foo_1.raw", "foo", true },
        };

        for (size_t i = 0; i < ELEMENTSOF(table); i++)
                cr_assert(eq(int, attached_image_matches(table[i].marker, table[i].query), table[i].match),
                          "'%s' for '%s'", table[i].query, table[i].marker);
}
