/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <criterion/criterion.h>
#include <criterion/new/assert.h>
#include <criterion/parameterized.h>
#include <stdio.h>
#include <string.h>

#include "macro.h"
#include "unit-helpers.h"
#include "unit-match.h"

Test(unit_match, search_dirs_in_priority_order) {
        /* Reference §3.5, verbatim. */
        static const char *const expected[] = {
                "/etc/systemd/system.control", "/run/systemd/system.control", "/run/systemd/transient",
                "/run/systemd/generator.early", "/etc/systemd/system", "/etc/systemd/system.attached",
                "/run/systemd/system", "/run/systemd/system.attached", "/run/systemd/generator",
                "/usr/local/lib/systemd/system", "/usr/lib/systemd/system", "/lib/systemd/system",
                "/run/systemd/generator.late",
        };

        for (size_t i = 0; i < ELEMENTSOF(expected); i++)
                assert_str(unit_search_dirs[i], expected[i]);
        cr_assert(zero(ptr, (void *) unit_search_dirs[ELEMENTSOF(expected)]));
}

struct valid_case {
        const char *name;
        UnitNameKind kind; /* 0: invalid */
};

static const struct valid_case valid_cases[] = {
        { "foo.service", UNIT_NAME_PLAIN },
        { "foo-bar.socket", UNIT_NAME_PLAIN },
        { "foo.bar.timer", UNIT_NAME_PLAIN },
        { "foo.path", UNIT_NAME_PLAIN },
        { "foo.target", UNIT_NAME_PLAIN },
        { "foo.mount", UNIT_NAME_PLAIN },
        { "foo.slice", UNIT_NAME_PLAIN },
        { "foo.scope", UNIT_NAME_PLAIN },
        { "foo.swap", UNIT_NAME_PLAIN },
        { "foo.device", UNIT_NAME_PLAIN },
        { "foo.automount", UNIT_NAME_PLAIN },
        { "foo_x.service", UNIT_NAME_PLAIN },
        { "foo:bar.service", UNIT_NAME_PLAIN },
        { "foo\\x2dbar.service", UNIT_NAME_PLAIN },
        { "foo.service.service", UNIT_NAME_PLAIN },
        { "foo@.service", UNIT_NAME_TEMPLATE },
        { "foo@bar.service", UNIT_NAME_INSTANCE },
        { "foo@bar.baz.service", UNIT_NAME_INSTANCE },
        { "foo@bar@baz.service", UNIT_NAME_INSTANCE },
        { "foo.bar@baz.service", UNIT_NAME_INSTANCE },
        { "", 0 },
        { ".service", 0 },
        { "foo", 0 },
        { "foo.", 0 },
        { "foo.bogus", 0 },
        { "foo.Service", 0 },
        { "foo.conf", 0 },
        { "foo.service.d", 0 },
        { "foo.service.wants", 0 },
        { "@foo.service", 0 },
        { "@.service", 0 },
        { "foo bar.service", 0 },
        { "foo/bar.service", 0 },
        { "../foo.service", 0 },
        { "foo\n.service", 0 },
        { "f\xc3\xbc.service", 0 },
        { "foo@b r.service", 0 },
        { "foo@b/r.service", 0 },
        { "20-portable.conf", 0 },
        { ".#foo.service", 0 },
};

Test(unit_match, name_is_valid) {
        static const UnitNameKind kinds[] = { UNIT_NAME_PLAIN, UNIT_NAME_TEMPLATE, UNIT_NAME_INSTANCE };
        _cleanup_free_ char *failed = NULL;

        for (size_t i = 0; i < ELEMENTSOF(valid_cases); i++) {
                const struct valid_case *c = &valid_cases[i];

                if (unit_name_is_valid(c->name, UNIT_NAME_ANY) != (c->kind != 0))
                        unit_note(&failed, "case %zu '%s': any", i, c->name);
                /* Exactly the one kind it is. */
                for (size_t k = 0; k < ELEMENTSOF(kinds); k++)
                        if (unit_name_is_valid(c->name, kinds[k]) != (c->kind == kinds[k]))
                                unit_note(&failed, "case %zu '%s': kind %d", i, c->name, (int) kinds[k]);
        }
        cr_assert(zero(ptr, failed), "%s", failed);
}

Test(unit_match, name_length_limit) {
        char name[300];

        memset(name, 'a', sizeof(name));
        strcpy(name + 255 - strlen(".service"), ".service");
        cr_assert(eq(sz, strlen(name), 255));
        cr_assert(unit_name_is_valid(name, UNIT_NAME_ANY));

        memset(name, 'a', sizeof(name));
        strcpy(name + 256 - strlen(".service"), ".service");
        cr_assert(not(unit_name_is_valid(name, UNIT_NAME_ANY)));
        cr_assert(not(unit_name_is_valid(NULL, UNIT_NAME_ANY)));
}

Test(unit_match, portable_types) {
        static const char *const yes[] = { "a.service", "a.socket", "a.target", "a.timer", "a.path", "a@.service",
                                           "a.mount.service" };
        static const char *const no[] = { "a.mount", "a.automount", "a.slice", "a.scope", "a.swap", "a.device",
                                          "a", "a.service.d", "a.conf", "a.service.mount" };

        for (size_t i = 0; i < ELEMENTSOF(yes); i++)
                cr_assert(unit_name_is_portable_type(yes[i]), "%s", yes[i]);
        for (size_t i = 0; i < ELEMENTSOF(no); i++)
                cr_assert(not(unit_name_is_portable_type(no[i])), "%s", no[i]);
}

struct prefix_case {
        const char *name;
        const char *matches; /* space-separated; NULL: no list at all */
        bool expected;
};

/* Reference §3.5, step 3. */
static const struct prefix_case prefix_cases[] = {
        { "foo.service", "foo", true },
        { "foo-bar.service", "foo", true },
        { "foo-bar.socket", "foo", true },
        { "foo@.service", "foo", true },
        { "foo@x.service", "foo", true },
        { "foo.bar.service", "foo", true },
        { "foo.bar.timer", "foo", true },
        { "foo_x.service", "foo", false },
        { "foobar.service", "foo", false },
        { "fo.service", "foo", false },
        { "bar-foo.service", "foo", false },
        { "foo.service", "foo.service", true },  /* a full unit name matches exactly that unit */
        { "foo.socket", "foo.service", false },
        { "foo-bar.service", "foo-bar", true },
        { "foo-bar.service", "foo-", false },
        { "pfx-a.service", "pfx-b pfx-a", true },
        { "pfx-c.service", "pfx-b pfx-a", false },
        { "anything.service", NULL, true },        /* no matches accept everything */
        { "anything.service", "", true },          /* so does an empty list */
};

Test(unit_match, prefixes) {
        _cleanup_free_ char *failed = NULL;

        for (size_t i = 0; i < ELEMENTSOF(prefix_cases); i++) {
                const struct prefix_case *c = &prefix_cases[i];
                char *matches[8] = {}, buf[256];
                size_t n = 0;

                if (c->matches) {
                        snprintf(buf, sizeof(buf), "%s", c->matches);
                        for (char *save = NULL, *w = strtok_r(buf, " ", &save); w; w = strtok_r(NULL, " ", &save))
                                matches[n++] = w;
                }
                if (unit_name_matches_prefixes(c->name, c->matches ? matches : NULL) != c->expected)
                        unit_note(&failed, "case %zu: '%s' vs '%s'", i, c->name, strna(c->matches));
        }
        cr_assert(zero(ptr, failed), "%s", failed);
}

Test(unit_match, empty_prefix_matches_nothing) {
        /* image_read_no_units relies on this: a list holding only "" selects no unit. */
        char *only_empty[] = { (char *) "", NULL };

        cr_assert(not(unit_name_matches_prefixes("foo.service", only_empty)));
        cr_assert(not(unit_name_matches_prefixes("-.service", only_empty)));
}

Test(unit_match, type) {
        assert_str(unit_name_type("foo.service"), "service");
        assert_str(unit_name_type("foo.bar.timer"), "timer");
        assert_str(unit_name_type("foo@x.y.socket"), "socket");
        cr_assert(zero(ptr, (void *) unit_name_type("foo")));

        /* It points into its argument. */
        const char *name = "foo.path";
        cr_assert(eq(ptr, (void *) unit_name_type(name), (void *) (name + 4)));
}
