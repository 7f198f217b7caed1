/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <criterion/criterion.h>
#include <criterion/new/assert.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dropin.h"
#include "portable-bus.h"
#include "portable-fixture.h"
#include "portable.h"
#include "unit-helpers.h"

static void setup(void) {
        fixture_setup("detach");
}

static void teardown(void) {
        fixture_teardown();
}

TestSuite(detach, .init = setup, .fini = teardown, .timeout = 60);

#define ATTACHED "/etc/systemd/system.attached"

static char *const foo_matches[] = { (char *) "foo", NULL };

/* Attaches tests/data/images/<name> copied to <images>/<dest>; returns the image. */
static Image *attach(const char *name, const char *dest, char * const *matches, const char *profile, PortableFlags flags) {
        _cleanup_free_ char *path = fixture_copy_image(name, dest, false);
        Image *image = fixture_image(path);
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;

        cr_assert(eq(int, fixture_attach(image, matches, profile, flags, NULL, &error), 0), "%s", strna(error.message));
        return image;
}

static int detach(const char *name_or_path, PortableFlags flags, char **ret_changes, sd_bus_error *error) {
        PortableChanges c = {};
        int r;

        r = portable_detach(&fx.host, name_or_path, flags, &c, error);
        if (r < 0) {
                cr_assert(eq(sz, c.n, 0));
                cr_assert(sd_bus_error_is_set(error), "failure %d without a bus error", r);
        }
        if (ret_changes)
                *ret_changes = fixture_changes(&c);
        portable_changes_done(&c);
        return r;
}

static void detach_ok(const char *name_or_path, PortableFlags flags, char **ret_changes) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;

        cr_assert(eq(int, detach(name_or_path, flags, ret_changes, &error), 0), "detach '%s': %s", name_or_path,
                  strna(error.message));
}

/* A detach that must fail with r and error_name, leaving the host exactly as it was. */
static void detach_must_fail(const char *name_or_path, PortableFlags flags, int r, const char *error_name) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_free_ char *before = fixture_snapshot(), *after = NULL;

        cr_assert(eq(int, detach(name_or_path, flags, NULL, &error), r), "detach '%s': %s", name_or_path,
                  strna(error.message));
        if (error_name)
                assert_str(error.name, error_name);
        after = fixture_snapshot();
        assert_str(after, before);
}

/* The root holds nothing but empty directories that attach created above the attached dir, and
 * the (then empty) image link directory, which is part of the search path and so stays. */
static void assert_clean(void) {
        _cleanup_free_ char *snap = fixture_snapshot();

        cr_assert(zero(ptr, strstr(snap, "system.attached")), "%s", snap);
        cr_assert(zero(ptr, strstr(snap, "/portables/")), "%s", snap);
        cr_assert(zero(ptr, strstr(snap, " f ")), "files left behind:\n%s", snap);
        cr_assert(zero(ptr, strstr(snap, " l ")), "links left behind:\n%s", snap);
}

Test(detach, by_name_removes_everything) {
        _cleanup_(image_freep) Image *image = attach("foo", "foo", foo_matches, "default", 0);
        _cleanup_free_ char *changes = NULL, *golden = NULL;

        detach_ok("foo", 0, &changes);
        golden = unit_golden("detach-foo.changes");
        assert_str(changes, golden);
        assert_clean();
}

/* The copy --copy=mixed made is removed by the transaction itself: moved aside in one step, so a
 * crash never leaves half a copy under the image's name. */
Test(detach, mixed_copy_goes_with_the_transaction) {
        _cleanup_(image_freep) Image *image = attach("foo", "foo", foo_matches, "default", PORTABLE_MIXED_COPY);
        _cleanup_free_ char *changes = NULL, *copy = fixture_path("/etc/portables/foo"), *expected = NULL, *snap = NULL;
        struct stat st;

        cr_assert(eq(int, lstat(copy, &st), 0));
        cr_assert(eq(u32, st.st_mode & S_IFMT, S_IFDIR), "the image entry is a copy");
        detach_ok("foo", 0, &changes);
        expected = unit_strf("%s", "unlink @ROOT@/etc/portables/foo\n");
        cr_assert(not(zero(ptr, strstr(changes, expected))), "%s", changes);
        assert_clean();
        snap = fixture_snapshot();
        cr_assert(zero(ptr, strstr(snap, ".#portabled")), "hidden files left behind:\n%s", snap);
}

/* Something mounted inside the copy is not the copy's: refused before anything changes. */
Test(detach, mixed_copy_with_a_mount_inside_is_refused) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_free_ char *host_dir = NULL, *inside = fixture_path("/etc/portables/foo/host"), *before = NULL,
                            *after = NULL, *precious = NULL, *c = NULL;

        unit_private_mount_namespace();
        _cleanup_(image_freep) Image *image = attach("foo", "foo", foo_matches, "default", PORTABLE_MIXED_COPY);
        host_dir = unit_strf("%s/host-data", fx.tmp);
        precious = unit_strf("%s/precious", host_dir);
        unit_write(precious, "the host's");
        unit_mkdir_p(inside, 0755);
        cr_assert(eq(int, mount(host_dir, inside, "none", MS_BIND, NULL), 0));

        before = fixture_snapshot();
        cr_assert(eq(int, detach("foo", 0, NULL, &error), -EBUSY));
        cr_assert(not(zero(ptr, strstr(strempty(error.message), "has a file system mounted inside it"))), "%s",
                  strna(error.message));
        after = fixture_snapshot();
        assert_str(after, before);

        cr_assert(eq(int, umount2(inside, MNT_DETACH), 0));
        detach_ok("foo", 0, NULL);
        assert_clean();
        c = unit_read(precious);
        assert_str(c, "the host's");
}

Test(detach, by_path) {
        _cleanup_(image_freep) Image *image = attach("foo", "foo", foo_matches, "default", 0);

        detach_ok(image->path, 0, NULL);
        assert_clean();
}

Test(detach, other_versions_are_other_images) {
        _cleanup_(image_freep) Image *image = attach("foo", "foo_1", foo_matches, "", 0);
        _cleanup_free_ char *other = unit_strf("%s/foo_2.raw", fx.images);

        /* Only the image attached is detached: another version of it is not attached. */
        detach_must_fail(other, 0, -ENOENT, SYSTEMD_ERROR_NO_SUCH_UNIT);
        detach_must_fail("foo_2", 0, -ENOENT, SYSTEMD_ERROR_NO_SUCH_UNIT);
        cr_assert(fixture_exists(ATTACHED "/foo.service"));
        detach_ok("foo_1", 0, NULL);
        assert_clean();
}

Test(detach, by_name_without_version) {
        _cleanup_(image_freep) Image *image = attach("foo", "foo_1", foo_matches, "", PORTABLE_RUNTIME);

        /* A name without a version names whichever version is attached. */
        detach_ok("foo", PORTABLE_RUNTIME, NULL);
        assert_clean();
}

Test(detach, versioned_name_of_an_unversioned_image) {
        _cleanup_(image_freep) Image *image = attach("foo", "foo", foo_matches, "", PORTABLE_RUNTIME);

        detach_must_fail("foo_7.2", PORTABLE_RUNTIME, -ENOENT, SYSTEMD_ERROR_NO_SUCH_UNIT);
        detach_ok("foo", PORTABLE_RUNTIME, NULL);
        assert_clean();
}

Test(detach, bare_name_of_two_images_is_ambiguous) {
        _cleanup_free_ char *a = unit_strf("%s/a", fx.images), *b = unit_strf("%s/b", fx.images);
        _cleanup_free_ char *pa = NULL, *pb = NULL;
        _cleanup_(image_freep) Image *ia = NULL, *ib = NULL;
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        char *a_matches[] = { (char *) "foo-bar", NULL }, *b_matches[] = { (char *) "foo-shadow", NULL };

        unit_mkdir_p(a, 0755);
        unit_mkdir_p(b, 0755);
        pa = fixture_copy_image("foo", "a/foo_1", false);
        pb = fixture_copy_image("foo", "b/foo_1", false);
        ia = fixture_image(pa);
        ib = fixture_image(pb);
        cr_assert(eq(int, fixture_attach(ia, a_matches, "", 0, NULL, &error), 0), "%s", strna(error.message));
        cr_assert(eq(int, fixture_attach(ib, b_matches, "", 0, NULL, &error), 0), "%s", strna(error.message));

        detach_must_fail("foo", 0, -ENOTUNIQ, SD_BUS_ERROR_INVALID_ARGS);
        cr_assert(fixture_exists(ATTACHED "/foo-bar.socket"));
        cr_assert(fixture_exists(ATTACHED "/foo-shadow.service"));

        /* By path, each alone. */
        detach_ok(pa, 0, NULL);
        cr_assert(not(fixture_exists(ATTACHED "/foo-bar.socket")));
        cr_assert(fixture_exists(ATTACHED "/foo-shadow.service"));
        detach_ok(pb, 0, NULL);
        assert_clean();
}

Test(detach, similar_names_do_not_match) {
        _cleanup_(image_freep) Image *image = attach("foo", "foo_1", foo_matches, "default", 0);

        detach_must_fail("foobar", 0, -ENOENT, SYSTEMD_ERROR_NO_SUCH_UNIT);
        detach_must_fail("fo", 0, -ENOENT, SYSTEMD_ERROR_NO_SUCH_UNIT);
        detach_must_fail("/srv/foobar_1.raw", 0, -ENOENT, SYSTEMD_ERROR_NO_SUCH_UNIT);
        detach_must_fail("foo-bar", 0, -ENOENT, SYSTEMD_ERROR_NO_SUCH_UNIT);
}

Test(detach, nothing_attached) {
        detach_must_fail("foo", 0, -ENOENT, SYSTEMD_ERROR_NO_SUCH_UNIT);
        detach_must_fail("foo", PORTABLE_RUNTIME, -ENOENT, SYSTEMD_ERROR_NO_SUCH_UNIT);
}

Test(detach, runtime_and_persistent_are_separate) {
        _cleanup_(image_freep) Image *image = attach("foo", "foo", foo_matches, "", PORTABLE_RUNTIME);

        detach_must_fail("foo", 0, -ENOENT, SYSTEMD_ERROR_NO_SUCH_UNIT);
        detach_ok("foo", PORTABLE_RUNTIME, NULL);
        assert_clean();
}

Test(detach, only_this_images_units) {
        _cleanup_(image_freep) Image *a = attach("foo", "foo", foo_matches, "default", 0);
        _cleanup_(image_freep) Image *b = attach("pfx", "pfx", NULL, "default", 0);
        _cleanup_free_ char *snap = NULL;

        detach_ok("foo", 0, NULL);
        cr_assert(not(fixture_exists(ATTACHED "/foo.service")));
        cr_assert(fixture_exists(ATTACHED "/pfx-a.service"));
        cr_assert(fixture_exists(ATTACHED "/pfx-c.service.d/20-portable.conf"));
        cr_assert(fixture_exists("/etc/portables/pfx"));
        cr_assert(not(fixture_exists("/etc/portables/foo")));
        /* The attached dir stays: it is not empty. */
        snap = fixture_snapshot();
        cr_assert(zero(ptr, strstr(snap, "/.#")), "%s", snap);
}

Test(detach, host_units_untouched) {
        _cleanup_(image_freep) Image *image = attach("foo", "foo", foo_matches, "", 0);
        _cleanup_free_ char *c = NULL;

        /* A unit in the attached dir without our marker is not ours. */
        fixture_write(ATTACHED "/foo-admin.service", "[Service]\n");
        fixture_write(ATTACHED "/foo-other.service", "[Service]\n");
        fixture_write(ATTACHED "/foo-other.service.d/20-portable.conf", "# not a marker\n");
        detach_ok("foo", 0, NULL);
        c = fixture_read(ATTACHED "/foo-admin.service");
        assert_str(c, "[Service]\n");
        cr_assert(fixture_exists(ATTACHED "/foo-other.service.d/20-portable.conf"));
        cr_assert(not(fixture_exists(ATTACHED "/foo.service")));
}

Test(detach, planted_marker_symlink_is_not_ours) {
        _cleanup_(image_freep) Image *image = attach("foo", "foo", foo_matches, "", 0);
        _cleanup_free_ char *ours = fixture_path(ATTACHED "/foo.service.d/20-portable.conf"),
                            *planted = fixture_path(ATTACHED "/victim.service.d/20-portable.conf");

        /* Someone else's unit with a drop-in that links to our marker. */
        fixture_write(ATTACHED "/victim.service", "[Service]\n");
        unit_symlink(ours, planted);
        detach_ok("foo", 0, NULL);
        cr_assert(fixture_exists(ATTACHED "/victim.service"));
}

Test(detach, admin_dropin_keeps_the_directory) {
        _cleanup_(image_freep) Image *image = attach("foo", "foo", foo_matches, "default", 0);
        _cleanup_free_ char *c = NULL;

        fixture_write(ATTACHED "/foo.service.d/50-admin.conf", "[Service]\nEnvironment=X=1\n");
        detach_ok("foo", 0, NULL);
        c = fixture_read(ATTACHED "/foo.service.d/50-admin.conf");
        assert_str(c, "[Service]\nEnvironment=X=1\n");
        cr_assert(not(fixture_exists(ATTACHED "/foo.service")));
        cr_assert(not(fixture_exists(ATTACHED "/foo.service.d/20-portable.conf")));
        cr_assert(not(fixture_exists(ATTACHED "/foo.service.d/10-profile.conf")));
        cr_assert(not(fixture_exists(ATTACHED "/foo-bar.socket")));
}

Test(detach, enablement_links_are_left) {
        _cleanup_(image_freep) Image *image = attach("foo", "foo", foo_matches, "", 0);
        _cleanup_free_ char *link = fixture_path(ATTACHED "/multi-user.target.wants/foo.service");

        unit_symlink("../foo.service", link);
        detach_ok("foo", 0, NULL);
        cr_assert(fixture_exists(ATTACHED "/multi-user.target.wants/foo.service"));
        cr_assert(not(fixture_exists(ATTACHED "/foo.service")));
}

Test(detach, orphaned_dropins_are_cleaned) {
        _cleanup_(image_freep) Image *image = attach("foo", "foo", foo_matches, "default", 0);
        _cleanup_free_ char *unit = fixture_path(ATTACHED "/foo.service");

        /* The unit file is gone (systemctl disable of a linked unit), its drop-ins remain. */
        cr_assert(eq(int, unlink(unit), 0));
        detach_ok("foo", 0, NULL);
        cr_assert(not(fixture_exists(ATTACHED "/foo.service.d")));
        assert_clean();
}

Test(detach, image_gone) {
        _cleanup_(image_freep) Image *image = attach("foo", "foo", foo_matches, "default", 0);

        cr_assert(eq(int, unit_run("rm -rf '%s'", image->path), 0));
        detach_ok(image->path, 0, NULL);
        assert_clean();
}

Test(detach, foreign_link_in_etc_portables_kept) {
        _cleanup_free_ char *path = fixture_copy_image("foo", "foo", true), *elsewhere = unit_strf("%s/elsewhere", fx.tmp),
                            *link = fixture_path("/etc/portables/foo");
        _cleanup_(image_freep) Image *image = NULL;
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        char buf[4096];
        ssize_t n;

        /* An image in the pool gets no link; an admin's link of the same name stays. */
        cr_assert(eq(int, image_find(&fx.host, "foo", &image), 0));
        cr_assert(eq(int, fixture_attach(image, foo_matches, "", 0, NULL, &error), 0), "%s", strna(error.message));
        unit_symlink(elsewhere, link);
        detach_ok("foo", 0, NULL);
        n = readlink(link, buf, sizeof(buf) - 1);
        cr_assert(gt(long, (long) n, 0L));
        buf[n] = '\0';
        assert_str(buf, elsewhere);
}

Test(detach, link_dir_with_other_links_kept) {
        _cleanup_(image_freep) Image *image = attach("foo", "foo", foo_matches, "", 0);
        _cleanup_free_ char *other = fixture_path("/etc/portables/other");

        unit_symlink("/srv/other", other);
        detach_ok("foo", 0, NULL);
        cr_assert(fixture_exists("/etc/portables/other"));
        cr_assert(not(fixture_exists("/etc/portables/foo")));
}

Test(detach, active_unit_refused) {
        _cleanup_(image_freep) Image *image = attach("foo", "foo", foo_matches, "default", 0);

        fixture_use_fake_manager();
        fx.active[0] = "foo.target";
        /* One active unit stops the whole detach before anything is removed. */
        detach_must_fail("foo", 0, -EBUSY, SYSTEMD_ERROR_UNIT_EXISTS);
        cr_assert(gt(uint, fx.active_calls, 0));
}

Test(detach, active_unit_forced) {
        _cleanup_(image_freep) Image *image = attach("foo", "foo", foo_matches, "default", 0);

        fixture_use_fake_manager();
        fx.active[0] = "foo.service";
        detach_ok("foo", PORTABLE_FORCE_ATTACH, NULL);
        assert_clean();
}

Test(detach, unrelated_active_unit_does_not_matter) {
        _cleanup_(image_freep) Image *image = attach("foo", "foo", foo_matches, "", 0);

        fixture_use_fake_manager();
        fx.active[0] = "foo_x.service";
        fx.active[1] = "sshd.service";
        detach_ok("foo", 0, NULL);
}

Test(detach, service_manager_error) {
        _cleanup_(image_freep) Image *image = attach("foo", "foo", foo_matches, "", 0);

        fixture_use_fake_manager();
        fx.active_error = -ECONNREFUSED;
        detach_must_fail("foo", 0, -ECONNREFUSED, NULL);
}

/* Part-way through, a directory where a drop-in should be: nothing may be removed. */
Test(detach, failure_rolls_back_exactly) {
        _cleanup_(image_freep) Image *image = attach("foo", "foo", foo_matches, "default", 0);
        _cleanup_free_ char *p = fixture_path(ATTACHED "/foo@.service.d/10-profile.conf"), *d = NULL;

        /* foo@.service is the last unit in order: all the others are moved aside first. */
        cr_assert(eq(int, unlink(p), 0));
        d = unit_strf("%s/inner", p);
        unit_mkdir_p(d, 0755);
        detach_must_fail("foo", 0, -EISDIR, NULL);
}

Test(detach, path_with_colon_and_non_ascii) {
        _cleanup_(image_freep) Image *image = attach("foo", "a:b-\xc3\xbc_1", foo_matches, "default", 0);
        _cleanup_free_ char *other = unit_strf("%s/a:b-\xc3\xbc_2.raw", fx.images);
        _cleanup_free_ char *link = fixture_path("/etc/portables/a:b-\xc3\xbc_1");

        /* The marker holds the path escaped; it must be found again by the unescaped one, and
         * the /etc/portables link (named after the real path) removed. */
        cr_assert(fixture_exists("/etc/portables/a:b-\xc3\xbc_1"));
        detach_must_fail("a:b", 0, -ENOENT, SYSTEMD_ERROR_NO_SUCH_UNIT);
        detach_must_fail(other, 0, -ENOENT, SYSTEMD_ERROR_NO_SUCH_UNIT);
        detach_ok(image->path, 0, NULL);
        cr_assert(not(fixture_exists("/etc/portables/a:b-\xc3\xbc_1")));
        assert_clean();
}

Test(detach, extensions_marker_needs_all_components) {
        _cleanup_(image_freep) Image *image = attach("foo", "foo", foo_matches, "", 0);

        /* A unit attached with an extension (marker of two paths) is not detached by the base
         * image alone. */
        fixture_write(ATTACHED "/app.service", "[Service]\n");
        fixture_write(ATTACHED "/app.service.d/20-portable.conf",
                      "# Drop-in created for image '/srv/foo_1.raw:/srv/app.raw', do not edit.\n");
        detach_ok("foo", 0, NULL);
        cr_assert(fixture_exists(ATTACHED "/app.service"));
        cr_assert(fixture_exists(ATTACHED "/app.service.d/20-portable.conf"));
}

Test(detach, detach_in_caller_transaction) {
        _cleanup_(image_freep) Image *image = attach("foo", "foo", foo_matches, "default", 0);
        _cleanup_free_ char *before = fixture_snapshot(), *after = NULL;
        _cleanup_(transaction_done) Transaction t = {};
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;

        cr_assert(eq(int, transaction_init(&t, NULL, "detach"), 0));
        cr_assert(eq(int, portable_detach_in(&t, &fx.host, "foo", 0, &error), 0), "%s", strna(error.message));
        after = fixture_snapshot();
        assert_str(after, before);
        cr_assert(eq(int, transaction_execute(&t, &error), 0), "%s", strna(error.message));
        cr_assert(not(fixture_exists(ATTACHED "/foo.service")));
}

Test(detach, long_unit_name) {
        _cleanup_free_ char *tree = unit_strf("%s/long", fx.images), *osrel = unit_strf("%s/usr/lib/os-release", tree),
                            *name = NULL, *unit = NULL;
        _cleanup_(image_freep) Image *image = NULL;
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        char *matches[] = { (char *) "long", NULL };

        /* A valid 240-byte unit name: its "<name>.d" drop-in directory still fits in NAME_MAX,
         * so attach works. */
        name = malloc(256);
        cr_assert(name != NULL);
        memset(name, 'x', 240);
        memcpy(name, "long-", 5);
        strcpy(name + 240 - strlen(".service"), ".service");
        unit = unit_strf("%s/usr/lib/systemd/system/%s", tree, name);
        unit_write(osrel, "ID=long\n");
        unit_write(unit, "[Service]\nExecStart=/bin/true\n");
        image = fixture_image(tree);
        cr_assert(eq(int, fixture_attach(image, matches, "", 0, NULL, &error), 0), "%s", strna(error.message));

        /* Regression: backups used to be named ".#<name>.portabled-<pid>-<n>", beyond NAME_MAX
         * for such a unit, which then attached but could not be detached (ENAMETOOLONG). */
        detach_ok("long", 0, NULL);
        assert_clean();
}

Test(detach, symlinked_units) {
        _cleanup_(image_freep) Image *image = attach("foo", "foo", foo_matches, "default", PORTABLE_PREFER_SYMLINK);
        _cleanup_free_ char *target = unit_strf("%s/usr/lib/systemd/system/foo.service", image->path);

        detach_ok("foo", 0, NULL);
        assert_clean();
        /* The links went, not what they pointed to. */
        cr_assert(eq(int, access(target, F_OK), 0));
}

Test(detach, dry_run_plans_exactly_what_detach_does) {
        _cleanup_(image_freep) Image *image = attach("foo", "foo", foo_matches, "default", 0);
        _cleanup_free_ char *before = fixture_snapshot(), *after = NULL, *planned = NULL, *done = NULL;

        /* The directories emptied at commit included. */
        detach_ok("foo", PORTABLE_DRY_RUN, &planned);
        after = fixture_snapshot();
        assert_str(after, before);
        detach_ok("foo", 0, &done);
        assert_str(planned, done);
        assert_clean();
}

Test(detach, dry_run_lists_every_active_unit) {
        _cleanup_(image_freep) Image *image = attach("foo", "foo", foo_matches, "default", 0);
        _cleanup_free_ char *before = NULL, *after = NULL, *planned = NULL;

        fixture_use_fake_manager();
        fx.active[0] = "foo.service";
        fx.active[1] = "foo.bar.timer";
        before = fixture_snapshot();
        detach_ok("foo", PORTABLE_DRY_RUN, &planned);
        assert_str(planned, "conflict foo.bar.timer active\nconflict foo.service active\n");
        after = fixture_snapshot();
        assert_str(after, before);
        /* The real one still refuses. */
        detach_must_fail("foo", 0, -EBUSY, SYSTEMD_ERROR_UNIT_EXISTS);
}
