/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <criterion/criterion.h>
#include <criterion/new/assert.h>
#include <string.h>

#include "change.h"
#include "macro.h"
#include "unit-helpers.h"

Test(change, add_in_order) {
        _cleanup_(portable_changes_done) PortableChanges c = {};

        cr_assert(eq(int, portable_changes_add(&c, PORTABLE_MKDIR, "/etc/systemd/system.attached", NULL), 0));
        cr_assert(eq(int, portable_changes_add(&c, PORTABLE_COPY, "/etc/systemd/system.attached/foo.service",
                                               "/img/usr/lib/systemd/system/foo.service"), 0));
        cr_assert(eq(int, portable_changes_add(&c, PORTABLE_SYMLINK, "/etc/portables/img", "/img"), 0));
        cr_assert(eq(sz, c.n, 3));

        cr_assert(eq(int, c.items[0].type, PORTABLE_MKDIR));
        assert_str(c.items[0].path, "/etc/systemd/system.attached");
        cr_assert(zero(ptr, c.items[0].source));
        cr_assert(eq(int, c.items[1].type, PORTABLE_COPY));
        assert_str(c.items[1].source, "/img/usr/lib/systemd/system/foo.service");
        cr_assert(eq(int, c.items[2].type, PORTABLE_SYMLINK));
        assert_str(c.items[2].source, "/img");
}

Test(change, empty_source_is_null) {
        _cleanup_(portable_changes_done) PortableChanges c = {};

        /* "" and NULL both mean "not applicable" (sent as "" on the bus). */
        cr_assert(eq(int, portable_changes_add(&c, PORTABLE_UNLINK, "/x", ""), 0));
        cr_assert(zero(ptr, c.items[0].source));
}

Test(change, add_copies_strings) {
        _cleanup_(portable_changes_done) PortableChanges c = {};
        char path[] = "/a", source[] = "/b";

        cr_assert(eq(int, portable_changes_add(&c, PORTABLE_WRITE, path, source), 0));
        path[1] = source[1] = 'z';
        assert_str(c.items[0].path, "/a");
        assert_str(c.items[0].source, "/b");
}

Test(change, done_resets) {
        PortableChanges c = {};

        portable_changes_done(&c);
        for (int i = 0; i < 100; i++)
                cr_assert(eq(int, portable_changes_add(&c, PORTABLE_UNLINK, "/x", "/y"), 0));
        cr_assert(eq(sz, c.n, 100));
        portable_changes_done(&c);
        cr_assert(eq(sz, c.n, 0));
        cr_assert(zero(ptr, c.items));
        portable_changes_done(&c);
}
