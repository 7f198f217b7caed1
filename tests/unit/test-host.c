/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <criterion/criterion.h>
#include <criterion/new/assert.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "host.h"
#include "macro.h"
#include "unit-helpers.h"
#include "unit-match.h"

static char *root;
static Host host;

static void setup(void) {
        root = unit_mkdtemp("host");
        host = (Host) { .root = root };
}

static void teardown(void) {
        unit_rm_rf(root);
        free(root);
}

TestSuite(host, .init = setup, .fini = teardown);

/* Creates root/<rel> as a file with some content. */
static void touch(const char *rel) {
        _cleanup_free_ char *p = unit_strf("%s%s", root, rel);
        unit_write(p, "[Unit]\n");
}

static void link_in_root(const char *target, const char *rel) {
        _cleanup_free_ char *p = unit_strf("%s%s", root, rel);
        unit_symlink(target, p);
}

Test(host, search_dirs) {
        static const char *const expected[] = {
                "/etc/portables", "/run/portables", "/var/lib/portables", "/usr/local/lib/portables",
                "/usr/lib/portables",
        };

        for (size_t i = 0; i < ELEMENTSOF(expected); i++)
                assert_str(host_image_search_dirs[i], expected[i]);
        cr_assert(zero(ptr, (void *) host_image_search_dirs[ELEMENTSOF(expected)]));
        assert_str(HOST_POOL_DIR, "/var/lib/portables");
}

Test(host, profile_dirs) {
        static const char *const expected[] = {
                "/etc/systemd/portable/profile", "/run/systemd/portable/profile",
                "/usr/local/lib/systemd/portable/profile", "/usr/lib/systemd/portable/profile",
                "/lib/systemd/portable/profile",
        };

        for (size_t i = 0; i < ELEMENTSOF(expected); i++)
                assert_str(host_profile_dirs[i], expected[i]);
        cr_assert(zero(ptr, (void *) host_profile_dirs[ELEMENTSOF(expected)]));
}

Test(host, paths_under_root) {
        _cleanup_free_ char *p = host_path(&host, "/etc/x"), *a = host_attached_dir(&host, false),
                            *ar = host_attached_dir(&host, true), *l = host_image_link_dir(&host, false),
                            *lr = host_image_link_dir(&host, true);
        _cleanup_free_ char *ep = unit_strf("%s/etc/x", root), *ea = unit_strf("%s/etc/systemd/system.attached", root),
                            *ear = unit_strf("%s/run/systemd/system.attached", root),
                            *el = unit_strf("%s/etc/portables", root), *elr = unit_strf("%s/run/portables", root);

        assert_str(p, ep);
        assert_str(a, ea);
        assert_str(ar, ear);
        assert_str(l, el);
        assert_str(lr, elr);
}

Test(host, paths_real_root) {
        Host real = {};
        _cleanup_free_ char *a = host_attached_dir(&real, false), *b = host_attached_dir(NULL, true),
                            *c = host_path(NULL, "/etc/os-release"), *d = NULL;
        Host slash = { .root = (char *) "/" };

        d = host_image_link_dir(&slash, false);
        assert_str(a, "/etc/systemd/system.attached");
        assert_str(b, "/run/systemd/system.attached");
        assert_str(c, "/etc/os-release");
        assert_str(d, "/etc/portables");
}

Test(host, unit_is_active_without_service_manager) {
        cr_assert(eq(int, host_unit_is_active(&host, "foo.service"), 0));
        cr_assert(eq(int, host_unit_is_active(NULL, "foo.service"), 0));
}

struct fake_ops {
        const char *active;
        int error;
        unsigned calls;
        char last[64];
};

static int fake_is_active(void *userdata, const char *unit) {
        struct fake_ops *f = userdata;

        f->calls++;
        snprintf(f->last, sizeof(f->last), "%s", unit);
        if (f->error)
                return f->error;
        return streq_ptr(f->active, unit);
}

Test(host, unit_is_active_asks_the_ops) {
        struct fake_ops f = { .active = "foo.service" };

        host.unit_ops = (HostUnitOps) { .unit_is_active = fake_is_active, .userdata = &f };
        cr_assert(gt(int, host_unit_is_active(&host, "foo.service"), 0));
        cr_assert(eq(int, host_unit_is_active(&host, "bar.service"), 0));
        cr_assert(eq(uint, f.calls, 2));
        assert_str(f.last, "bar.service");

        /* Errors are passed on, not mistaken for "inactive". */
        f.error = -EIO;
        cr_assert(eq(int, host_unit_is_active(&host, "foo.service"), -EIO));
}

Test(host, unit_file_exists_everywhere_in_the_search_path) {
        for (size_t i = 0; unit_search_dirs[i]; i++) {
                _cleanup_free_ char *unit = unit_strf("u%zu.service", i), *rel = unit_strf("%s/%s", unit_search_dirs[i], unit);

                cr_assert(eq(int, host_unit_file_exists(&host, unit), 0), "%s", unit);
                touch(rel);
                cr_assert(eq(int, host_unit_file_exists(&host, unit), 1), "%s in %s", unit, unit_search_dirs[i]);
        }
}

Test(host, unit_file_exists_counts_dangling_and_masked) {
        link_in_root("/nonexistent", "/etc/systemd/system/dangling.service");
        link_in_root("/dev/null", "/etc/systemd/system/masked.service");
        cr_assert(eq(int, host_unit_file_exists(&host, "dangling.service"), 1));
        cr_assert(eq(int, host_unit_file_exists(&host, "masked.service"), 1));
        cr_assert(eq(int, host_unit_file_exists(&host, "other.service"), 0));
}

Test(host, unit_file_exists_only_under_root) {
        /* Without a root these would be host paths; with one, nothing outside it counts. */
        cr_assert(eq(int, host_unit_file_exists(&host, "dbus.service"), 0));
        cr_assert(eq(int, host_unit_file_exists(&host, "sysinit.target"), 0));
}

/* Several units in one pass: each answer as for that unit alone, in every directory. */
Test(host, unit_files_exist_answers_each_unit) {
        const char *units[] = { "a.service", "b.socket", "dangling.service", "none.service", "c@.service" };
        bool exists[ELEMENTSOF(units)];

        touch("/etc/systemd/system.control/a.service");
        touch("/usr/lib/systemd/system/b.socket");
        touch("/run/systemd/generator.late/c@.service");
        link_in_root("/nonexistent", "/etc/systemd/system/dangling.service");

        cr_assert(eq(int, host_unit_files_exist(&host, units, ELEMENTSOF(units), exists), 0));
        for (size_t i = 0; i < ELEMENTSOF(units); i++)
                cr_assert(eq(int, exists[i], host_unit_file_exists(&host, units[i])), "%s", units[i]);
        cr_assert(holds(exists[0] && exists[1] && exists[2] && !exists[3] && exists[4]));
        cr_assert(eq(int, host_unit_files_exist(&host, units, 0, exists), 0), "no units at all");
}

Test(host, unit_file_exists_with_a_file_in_the_way) {
        /* root/etc/systemd is a file: ENOTDIR is "not there", not an error. */
        touch("/etc/systemd");
        cr_assert(eq(int, host_unit_file_exists(&host, "foo.service"), 0));
}

Test(host, enabled_in) {
        _cleanup_free_ char *dir = unit_strf("%s/etc/systemd/system.attached", root);

        /* A missing directory is "not enabled". */
        cr_assert(eq(int, host_unit_is_enabled_in(dir, "foo.service"), 0));

        touch("/etc/systemd/system.attached/foo.service");
        cr_assert(eq(int, host_unit_is_enabled_in(dir, "foo.service"), 0), "the unit file alone is not enablement");

        link_in_root("../foo.service", "/etc/systemd/system.attached/multi-user.target.wants/foo.service");
        cr_assert(eq(int, host_unit_is_enabled_in(dir, "foo.service"), 1));
        cr_assert(eq(int, host_unit_is_enabled_in(dir, "bar.service"), 0));
}

Test(host, enabled_in_requires_and_upholds) {
        _cleanup_free_ char *dir = unit_strf("%s/etc/systemd/system", root);

        link_in_root("/x/a.service", "/etc/systemd/system/basic.target.requires/a.service");
        link_in_root("/x/b.socket", "/etc/systemd/system/sockets.target.upholds/b.socket");
        link_in_root("/x/c.service", "/etc/systemd/system/foo.service.d/c.service");
        cr_assert(eq(int, host_unit_is_enabled_in(dir, "a.service"), 1));
        cr_assert(eq(int, host_unit_is_enabled_in(dir, "b.socket"), 1));
        cr_assert(eq(int, host_unit_is_enabled_in(dir, "c.service"), 0), ".d is not an enablement directory");
}

Test(host, enabled_in_template_through_instance) {
        _cleanup_free_ char *dir = unit_strf("%s/etc/systemd/system", root);

        link_in_root("/x/foo@.service", "/etc/systemd/system/multi-user.target.wants/foo@one.service");
        cr_assert(eq(int, host_unit_is_enabled_in(dir, "foo@.service"), 1));
        cr_assert(eq(int, host_unit_is_enabled_in(dir, "foo@one.service"), 1));
        cr_assert(eq(int, host_unit_is_enabled_in(dir, "foo@two.service"), 0));
        cr_assert(eq(int, host_unit_is_enabled_in(dir, "bar@.service"), 0));
        cr_assert(eq(int, host_unit_is_enabled_in(dir, "foo@.socket"), 0));
}

Test(host, enabled_in_alias) {
        _cleanup_free_ char *dir = unit_strf("%s/etc/systemd/system", root);

        link_in_root("/etc/systemd/system.attached/foo.service", "/etc/systemd/system/alias.service");
        link_in_root("/etc/systemd/system.attached/foo.service", "/etc/systemd/system/not-a-unit-name");
        cr_assert(eq(int, host_unit_is_enabled_in(dir, "foo.service"), 1));
        cr_assert(eq(int, host_unit_is_enabled_in(dir, "alias.service"), 0));
        cr_assert(eq(int, host_unit_is_enabled_in(dir, "foobar.service"), 0));
}

Test(host, enabled_in_ignores_hidden_and_regular_files) {
        _cleanup_free_ char *dir = unit_strf("%s/etc/systemd/system", root);

        link_in_root("/x/foo.service", "/etc/systemd/system/.hidden.target.wants/foo.service");
        touch("/etc/systemd/system/copy.service");
        cr_assert(eq(int, host_unit_is_enabled_in(dir, "foo.service"), 0));
}

Test(host, os_release_path) {
        /* Neither: the fallback. */
        assert_str(host_os_release_path(&host), "/usr/lib/os-release");

        touch("/usr/lib/os-release");
        assert_str(host_os_release_path(&host), "/usr/lib/os-release");

        /* The usual relative link, resolved under the root. */
        link_in_root("../usr/lib/os-release", "/etc/os-release");
        assert_str(host_os_release_path(&host), "/etc/os-release");
}

Test(host, os_release_path_dangling_etc) {
        link_in_root("../usr/lib/os-release", "/etc/os-release");
        assert_str(host_os_release_path(&host), "/usr/lib/os-release");
}
