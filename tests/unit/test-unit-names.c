/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <criterion/criterion.h>
#include <criterion/new/assert.h>
#include <string.h>

#include "macro.h"
#include "unit-helpers.h"
#include "unit-names.h"

static char *const image_units[] = {
        (char *) "foo.service", (char *) "foo@.service", (char *) "foo-bar.socket", (char *) "web.timer", NULL,
};

static UnitNames names_of(const char *unit) {
        UnitNames n;

        cr_assert(eq(int, unit_names_init(&n, unit, image_units), 0));
        return n;
}

Test(unit_names, stem) {
        const char *const cases[][2] = {
                { "foo.service", "foo" }, { "foo@.service", "foo" }, { "foo@bar.baz.socket", "foo" },
                { "foo.bar.timer", "foo.bar" }, { "foo", "foo" },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                _cleanup_free_ char *s = unit_names_stem(cases[i][0]);
                assert_str(s, cases[i][1]);
        }
}

Test(unit_names, fields_of_plain_template_and_instance_units) {
        UnitNames a = names_of("foo-bar.socket"), b = names_of("foo@.service"), c = names_of("foo@x.y.service");

        assert_str(a.unit, "foo-bar.socket");
        assert_str(a.name, "foo-bar");
        assert_str(a.prefix, "foo-bar");
        assert_str(a.instance, "");
        /* A template stands for the instances that will be started. */
        assert_str(b.unit, "foo@\x01.service");
        assert_str(b.name, "foo@\x01");
        assert_str(b.prefix, "foo");
        assert_str(b.instance, "\x01");
        assert_str(c.unit, "foo@x.y.service");
        assert_str(c.instance, "x.y");
        unit_names_done(&a);
        unit_names_done(&b);
        unit_names_done(&c);
        cr_assert(zero(ptr, a.stems));
}

Test(unit_names, expand) {
        static const char *const cases[][3] = {
                /* unit, input, output */
                { "foo-bar.socket", "%n %N %p %i %j %%", "foo-bar.socket foo-bar foo-bar  bar %" },
                { "foo.service", "%t/%p.sock", "/run/foo.sock" },
                { "foo.service", "%S %C %L %E %T %V %h", "/var/lib /var/cache /var/log /etc /tmp /var/tmp /root" },
                { "foo@.service", "%p-%i %n", "foo-\x01 foo@\x01.service" },
                { "foo@a.service", "%i/%j", "a/foo" },
                { "foo.service", "no specifiers", "no specifiers" },
                { "foo.service", "", "" },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                UnitNames n = names_of(cases[i][0]);
                _cleanup_free_ char *out = NULL;
                char bad = 0;

                cr_assert(eq(int, unit_names_expand(&n, cases[i][1], &out, &bad), 0), "%s", cases[i][1]);
                assert_str(out, cases[i][2]);
                unit_names_done(&n);
        }
}

Test(unit_names, expand_refuses_what_it_cannot_know) {
        static const char *const cases[][2] = {
                { "%H.sock", "H" }, { "/run/%I", "I" }, { "%u", "u" }, { "%y", "y" }, { "x%", "%" },
                { "a\x01" "b", "\x01" },
        };
        UnitNames n = names_of("foo.service");

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                char *out = NULL, bad = 0;

                cr_assert(eq(int, unit_names_expand(&n, cases[i][0], &out, &bad), -EBADR), "%s", cases[i][0]);
                cr_assert(eq(chr, bad, cases[i][1][0]), "%s", cases[i][0]);
                cr_assert(zero(ptr, out));
        }
        unit_names_done(&n);
}

Test(unit_names, owns) {
        UnitNames n = names_of("foo.service");

        cr_assert(unit_names_owns(&n, "foo"));
        cr_assert(unit_names_owns(&n, "foo-x"));
        cr_assert(unit_names_owns(&n, "foo.sock"));
        cr_assert(unit_names_owns(&n, "foo@1"));
        cr_assert(unit_names_owns(&n, "foo-bar"));
        cr_assert(unit_names_owns(&n, "web"));
        cr_assert(unit_names_owns(&n, "foo-\x01"));
        cr_assert(not(unit_names_owns(&n, "foobar")));
        cr_assert(not(unit_names_owns(&n, "fo")));
        cr_assert(not(unit_names_owns(&n, "foo_x")));
        cr_assert(not(unit_names_owns(&n, "systemd")));
        cr_assert(not(unit_names_owns(&n, "")));
        cr_assert(not(unit_names_owns(&n, "\x01")));
        cr_assert(not(unit_names_owns(&n, "\x01-foo")));
        unit_names_done(&n);
}

/* Without image units, only the unit's own name; an empty stem never matches everything. */
Test(unit_names, owns_without_image_units) {
        UnitNames n;

        cr_assert(eq(int, unit_names_init(&n, "bar.service", NULL), 0));
        cr_assert(unit_names_owns(&n, "bar"));
        cr_assert(not(unit_names_owns(&n, "foo")));
        unit_names_done(&n);
        cr_assert(eq(int, unit_names_init(&n, ".service", NULL), 0));
        cr_assert(not(unit_names_owns(&n, "foo")));
        unit_names_done(&n);
}

Test(unit_names, is_image_unit) {
        UnitNames n = names_of("other.service");

        cr_assert(unit_names_is_image_unit(&n, "foo.service"));
        cr_assert(unit_names_is_image_unit(&n, "foo@.service"));
        cr_assert(unit_names_is_image_unit(&n, "foo@x.service"));
        cr_assert(unit_names_is_image_unit(&n, "foo@\x01.service"));
        cr_assert(unit_names_is_image_unit(&n, "other.service"));
        cr_assert(not(unit_names_is_image_unit(&n, "foo-bar@x.socket")));
        cr_assert(not(unit_names_is_image_unit(&n, "foo.socket")));
        cr_assert(not(unit_names_is_image_unit(&n, "f\x01@x.service")));
        cr_assert(not(unit_names_is_image_unit(&n, "sshd.service")));
        unit_names_done(&n);
}

Test(unit_names, owns_relative_path) {
        UnitNames n = names_of("foo.service");

        cr_assert(unit_names_owns_relative_path(&n, "foo", 0));
        cr_assert(unit_names_owns_relative_path(&n, "foo/a/b/c", 0));
        cr_assert(unit_names_owns_relative_path(&n, "foo.d/x", 2));
        cr_assert(unit_names_owns_relative_path(&n, "foo/\x01", 2));
        cr_assert(not(unit_names_owns_relative_path(&n, "foo/a/b", 2)));
        cr_assert(not(unit_names_owns_relative_path(&n, "mysql", 0)));
        cr_assert(not(unit_names_owns_relative_path(&n, "foo/../mysql", 0)));
        cr_assert(not(unit_names_owns_relative_path(&n, "foo/./x", 0)));
        cr_assert(not(unit_names_owns_relative_path(&n, "foo//x", 0)));
        cr_assert(not(unit_names_owns_relative_path(&n, "foo/", 0)));
        cr_assert(not(unit_names_owns_relative_path(&n, "/foo", 0)));
        cr_assert(not(unit_names_owns_relative_path(&n, "", 0)));
        cr_assert(not(unit_names_owns_relative_path(&n, "..", 0)));
        unit_names_done(&n);
}

Test(unit_names, owns_runtime_path) {
        UnitNames n = names_of("foo.service");

        cr_assert(unit_names_owns_runtime_path(&n, "/run/foo"));
        cr_assert(unit_names_owns_runtime_path(&n, "/run/foo.sock"));
        cr_assert(unit_names_owns_runtime_path(&n, "/run/foo/foo.sock"));
        cr_assert(unit_names_owns_runtime_path(&n, "/var/run/foo.pid"));
        cr_assert(not(unit_names_owns_runtime_path(&n, "/run/foo/a/b.sock")));
        cr_assert(not(unit_names_owns_runtime_path(&n, "/run/foo/")));
        cr_assert(not(unit_names_owns_runtime_path(&n, "/run/foo/..")));
        cr_assert(not(unit_names_owns_runtime_path(&n, "/run/systemd/private")));
        cr_assert(not(unit_names_owns_runtime_path(&n, "/run")));
        cr_assert(not(unit_names_owns_runtime_path(&n, "/run/")));
        cr_assert(not(unit_names_owns_runtime_path(&n, "/runx/foo")));
        cr_assert(not(unit_names_owns_runtime_path(&n, "/tmp/foo")));
        cr_assert(not(unit_names_owns_runtime_path(&n, "run/foo")));
        unit_names_done(&n);
}
