/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <criterion/criterion.h>
#include <criterion/new/assert.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "profile.h"
#include "strv.h"
#include "unit-helpers.h"

static char *tmp, *root, *vendor;
static Host host;

/* The vendor directory is a private copy of $PROFILES_DIR (so that tests may add to it), outside
 * the root (it is never relocated). */
static void setup(void) {
        tmp = unit_mkdtemp("profile");
        root = unit_strf("%s/root", tmp);
        vendor = unit_strf("%s/vendor", tmp);
        unit_mkdir_p(root, 0755);
        unit_copy_tree(unit_profiles_dir(), vendor);
        host = (Host) { .root = root, .vendor_profile_dir = vendor };
}

static void teardown(void) {
        unit_rm_rf(tmp);
        free(vendor);
        free(root);
        free(tmp);
}

TestSuite(profile, .init = setup, .fini = teardown);

static char *in_root(const char *rel) {
        return unit_strf("%s%s", root, rel);
}

static void put(const char *rel, const char *content) {
        _cleanup_free_ char *p = in_root(rel);
        unit_write(p, content);
}

static char *find(const char *name, const char *unit, int expected) {
        char *path = NULL;
        int r = profile_find_dropin(&host, name, unit, &path);

        cr_assert(eq(int, r, expected), "profile '%s' for '%s'", name, unit);
        if (r <= 0)
                cr_assert(zero(ptr, path));
        return path;
}

Test(profile, shipped_profiles_for_services) {
        static const char *const names[] = { "default", "nonetwork", "strict", "trusted" };

        for (size_t i = 0; i < ELEMENTSOF(names); i++) {
                _cleanup_free_ char *p = find(names[i], "foo.service", 1),
                                    *expected = unit_strf("%s/%s/service.conf", vendor, names[i]);
                assert_str(p, expected);
        }
}

Test(profile, other_unit_types_get_nothing) {
        static const char *const units[] = { "foo.timer", "foo.path", "foo.target" };

        for (size_t i = 0; i < ELEMENTSOF(units); i++)
                find("default", units[i], 0);
        /* "trusted" restricts nothing, sockets included. */
        find("trusted", "foo.socket", 0);
}

Test(profile, shipped_profiles_for_sockets) {
        static const char *const names[] = { "default", "nonetwork", "strict" };

        for (size_t i = 0; i < ELEMENTSOF(names); i++) {
                _cleanup_free_ char *p = find(names[i], "foo@.socket", 1),
                                    *expected = unit_strf("%s/%s/socket.conf", vendor, names[i]);
                assert_str(p, expected);
        }
}

Test(profile, template_and_instance_use_the_type) {
        _cleanup_free_ char *a = find("strict", "foo@.service", 1), *b = find("strict", "foo@bar.service", 1);

        assert_str(a, b);
}

Test(profile, unknown_profile) {
        find("defualt", "foo.service", -ENOENT);
        find("Default", "foo.service", -ENOENT);
        find("default.conf", "foo.service", -ENOENT);
}

Test(profile, invalid_names) {
        static const char *const names[] = { "", ".", "..", "a/b", "../default", "default/", "/a/../default",
                                             "de\nfault", "\xff" };

        for (size_t i = 0; i < ELEMENTSOF(names); i++)
                find(names[i], "foo.service", -EINVAL);
        /* An absolute path is a profile by path, never a name in the profile directories. */
        find("/default", "foo.service", -ENOENT);
}

Test(profile, unit_without_type) {
        find("default", "foo", -EINVAL);
}

Test(profile, a_file_is_not_a_profile) {
        put("/etc/systemd/portable/profile/plainfile", "not a directory\n");
        find("plainfile", "foo.service", -ENOENT);
}

Test(profile, precedence) {
        _cleanup_free_ char *p1 = NULL, *p2 = NULL, *p3 = NULL, *p4 = NULL;
        _cleanup_free_ char *etc = in_root("/etc/systemd/portable/profile/default/service.conf"),
                            *run = in_root("/run/systemd/portable/profile/default/service.conf");

        /* systemd's vendor directories come after ours. */
        put("/usr/lib/systemd/portable/profile/default/service.conf", "# usr\n");
        put("/usr/local/lib/systemd/portable/profile/default/service.conf", "# usr/local\n");
        p1 = find("default", "foo.service", 1);
        cr_assert(not(zero(ptr, strstr(p1, vendor))), "%s", p1);

        /* /run and /etc come before ours, /etc first. */
        put("/run/systemd/portable/profile/default/service.conf", "# run\n");
        p2 = find("default", "foo.service", 1);
        assert_str(p2, run);

        put("/etc/systemd/portable/profile/default/service.conf", "# etc\n");
        p3 = find("default", "foo.service", 1);
        assert_str(p3, etc);
}

Test(profile, systemd_vendor_dirs_in_order) {
        _cleanup_free_ char *p1 = NULL, *p2 = NULL, *p3 = NULL;
        _cleanup_free_ char *lib = in_root("/lib/systemd/portable/profile/custom/service.conf"),
                            *usr = in_root("/usr/lib/systemd/portable/profile/custom/service.conf"),
                            *local = in_root("/usr/local/lib/systemd/portable/profile/custom/service.conf");

        put("/lib/systemd/portable/profile/custom/service.conf", "# lib\n");
        p1 = find("custom", "foo.service", 1);
        assert_str(p1, lib);
        put("/usr/lib/systemd/portable/profile/custom/service.conf", "# usr\n");
        p2 = find("custom", "foo.service", 1);
        assert_str(p2, usr);
        put("/usr/local/lib/systemd/portable/profile/custom/service.conf", "# local\n");
        p3 = find("custom", "foo.service", 1);
        assert_str(p3, local);
}

Test(profile, profile_directory_without_the_type_falls_through) {
        _cleanup_free_ char *p = NULL, *expected = unit_strf("%s/default/service.conf", vendor);

        /* An admin's /etc/.../default/ holding only socket.conf: services still get ours. */
        put("/etc/systemd/portable/profile/default/socket.conf", "# sockets\n");
        p = find("default", "foo.service", 1);
        assert_str(p, expected);
        _cleanup_free_ char *s = find("default", "foo.socket", 1), *es = in_root("/etc/systemd/portable/profile/default/socket.conf");
        assert_str(s, es);
}

Test(profile, admin_only_profile_without_service) {
        /* The profile exists, but has nothing for services. */
        put("/etc/systemd/portable/profile/sockets-only/socket.conf", "# sockets\n");
        find("sockets-only", "foo.service", 0);
}

Test(profile, masked_by_dev_null) {
        _cleanup_free_ char *link = in_root("/etc/systemd/portable/profile/default/service.conf");

        unit_symlink("/dev/null", link);
        find("default", "foo.service", 0);
}

Test(profile, masked_profile_hides_lower_ones) {
        _cleanup_free_ char *mask = in_root("/etc/systemd/portable/profile/default");
        _cleanup_strv_free_ char **l = NULL;
        _cleanup_free_ char *joined = NULL;

        /* The whole profile directory linked to /dev/null: ours in the vendor dir is gone. */
        unit_symlink("/dev/null", mask);
        find("default", "foo.service", -ENOENT);
        cr_assert(eq(int, profile_list(&host, &l), 0));
        joined = strv_join(l, " ");
        assert_str(joined, "nonetwork strict trusted");
}

Test(profile, masked_profile_below_a_real_one_does_not_matter) {
        _cleanup_free_ char *mask = in_root("/usr/lib/systemd/portable/profile/default"), *p = NULL,
                            *e = unit_strf("%s/default/service.conf", vendor);

        unit_symlink("/dev/null", mask);
        p = find("default", "foo.service", 1);
        assert_str(p, e);
}

Test(profile, masked_profile_above_an_admin_one) {
        _cleanup_free_ char *mask = in_root("/etc/systemd/portable/profile/custom");

        /* /etc masks, /run has it: /etc wins. */
        put("/run/systemd/portable/profile/custom/service.conf", "# run\n");
        unit_symlink("/dev/null", mask);
        find("custom", "foo.service", -ENOENT);
}

Test(profile, symlinked_profile_file) {
        _cleanup_free_ char *link = in_root("/etc/systemd/portable/profile/linked/service.conf"),
                            *target = in_root("/srv/profile.conf"), *p = NULL;

        put("/srv/profile.conf", "[Service]\nPrivateTmp=yes\n");
        unit_symlink(target, link);
        p = find("linked", "foo.service", 1);
        assert_str(p, link);
}

Test(profile, without_vendor_dir) {
        host.vendor_profile_dir = NULL;
        find("default", "foo.service", -ENOENT);
        put("/usr/lib/systemd/portable/profile/default/service.conf", "# usr\n");
        _cleanup_free_ char *p = find("default", "foo.service", 1),
                            *e = in_root("/usr/lib/systemd/portable/profile/default/service.conf");
        assert_str(p, e);
}

Test(profile, vendor_dir_not_relocated) {
        _cleanup_free_ char *p = find("trusted", "foo.service", 1), *e = unit_strf("%s/trusted/service.conf", vendor);

        /* vendor_profile_dir is used as given, not below the root. */
        assert_str(p, e);
}

Test(profile, list) {
        _cleanup_strv_free_ char **l = NULL;
        _cleanup_free_ char *joined = NULL, *masked = in_root("/etc/systemd/portable/profile/masked");

        put("/etc/systemd/portable/profile/custom/service.conf", "# custom\n");
        put("/run/systemd/portable/profile/default/service.conf", "# dup\n");
        put("/usr/lib/systemd/portable/profile/zzz/service.conf", "# zzz\n");
        put("/etc/systemd/portable/profile/.hidden/service.conf", "# hidden\n");
        put("/etc/systemd/portable/profile/afile", "# not a profile\n");
        unit_symlink("/dev/null", masked);

        cr_assert(eq(int, profile_list(&host, &l), 0));
        joined = strv_join(l, " ");
        assert_str(joined, "custom default nonetwork strict trusted zzz");
}

Test(profile, list_empty) {
        _cleanup_strv_free_ char **l = NULL;

        host.vendor_profile_dir = NULL;
        cr_assert(eq(int, profile_list(&host, &l), 0));
        cr_assert(not(zero(ptr, l)));
        cr_assert(eq(sz, strv_length(l), 0));
}

/* ------------------------------------------------------------------ profiles given by path */

static char *profile_file(const char *name, const char *content, mode_t mode) {
        char *p = unit_strf("%s/%s", tmp, name);

        unit_write(p, content);
        cr_assert(eq(int, chmod(p, mode), 0));
        return p;
}

Test(profile, path_to_a_file_is_the_service_dropin) {
        _cleanup_free_ char *p = profile_file("tight.conf", "[Service]\nPrivateNetwork=yes\n", 0644);
        _cleanup_free_ char *found = find(p, "foo.service", 1);

        assert_str(found, p);
        /* Like the shipped profiles: nothing for other unit types. */
        cr_assert(zero(ptr, find(p, "foo.socket", 0)));
        cr_assert(profile_is_path(p));
        cr_assert(not(profile_is_path("default")));
}

Test(profile, path_to_a_directory_has_a_file_per_type) {
        _cleanup_free_ char *dir = unit_strf("%s/mine", tmp), *svc = NULL, *found = NULL;

        unit_mkdir_p(dir, 0755);
        cr_assert(eq(int, chmod(dir, 0755), 0));
        svc = profile_file("mine/service.conf", "[Service]\nPrivateTmp=yes\n", 0644);
        found = find(dir, "foo.service", 1);
        assert_str(found, svc);
        cr_assert(zero(ptr, find(dir, "foo.timer", 0)));
}

Test(profile, path_to_a_directory_without_service_conf_is_no_profile) {
        _cleanup_free_ char *dir = unit_strf("%s/notaprofile", tmp), *sock = NULL;
        _cleanup_(sd_bus_error_free) sd_bus_error e = SD_BUS_ERROR_NULL;

        /* Or any directory of root's would attach services without a profile. */
        unit_mkdir_p(dir, 0755);
        cr_assert(eq(int, chmod(dir, 0755), 0));
        sock = profile_file("notaprofile/socket.conf", "[Socket]\n", 0644);
        cr_assert(zero(ptr, find(dir, "foo.service", -ENOENT)));
        cr_assert(zero(ptr, find(dir, "foo.socket", -ENOENT)));
        cr_assert(eq(int, profile_path_check(dir, &e), -ENOENT));
        cr_assert(not(zero(ptr, strstr(e.message, "has no service.conf"))), "%s", e.message);
}

Test(profile, path_rules) {
        _cleanup_free_ char *writable = profile_file("w.conf", "[Service]\n", 0664),
                            *secret = profile_file("s.conf", "[Service]\n", 0640),
                            *theirs = profile_file("u.conf", "[Service]\n", 0644),
                            *link = unit_strf("%s/l.conf", tmp), *missing = unit_strf("%s/none.conf", tmp);
        _cleanup_(sd_bus_error_free) sd_bus_error e = SD_BUS_ERROR_NULL;

        cr_assert(eq(int, chown(theirs, 1000, 1000), 0));
        unit_symlink(theirs, link);

        cr_assert(zero(ptr, find(writable, "foo.service", -EPERM)));
        cr_assert(zero(ptr, find(secret, "foo.service", -EPERM)));
        cr_assert(zero(ptr, find(theirs, "foo.service", -EPERM)));
        cr_assert(zero(ptr, find(link, "foo.service", -EPERM)));
        cr_assert(zero(ptr, find(missing, "foo.service", -ENOENT)));
        cr_assert(zero(ptr, find("relative/p.conf", "foo.service", -EINVAL)));

        cr_assert(eq(int, profile_path_check(secret, &e), -EPERM));
        cr_assert(not(zero(ptr, strstr(e.message, "readable by everyone"))), "%s", e.message);
        cr_assert(not(zero(ptr, strstr(e.message, "mode 0640"))), "%s", e.message);
        sd_bus_error_free(&e);
        cr_assert(eq(int, profile_path_check(theirs, &e), -EPERM));
        cr_assert(not(zero(ptr, strstr(e.message, "uid 1000"))), "%s", e.message);
        sd_bus_error_free(&e);
        cr_assert(eq(int, profile_path_check(link, &e), -EPERM));
        cr_assert(not(zero(ptr, strstr(e.message, "not a regular file"))), "%s", e.message);
}
