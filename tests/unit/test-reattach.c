/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <criterion/criterion.h>
#include <criterion/new/assert.h>
#include <string.h>
#include <unistd.h>

#include "portable-bus.h"
#include "portable-error.h"
#include "portable-fixture.h"
#include "portable.h"
#include "unit-helpers.h"

static void setup(void) {
        fixture_setup("reattach");
}

static void teardown(void) {
        fixture_teardown();
}

TestSuite(reattach, .init = setup, .fini = teardown, .timeout = 60);

#define ATTACHED "/etc/systemd/system.attached"

static char *const foo_matches[] = { (char *) "foo", NULL };

static Image *attach(const char *name, const char *dest, const char *profile, PortableFlags flags) {
        _cleanup_free_ char *path = fixture_copy_image(name, dest, false);
        Image *image = fixture_image(path);
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;

        cr_assert(eq(int, fixture_attach(image, foo_matches, profile, flags, NULL, &error), 0), "%s", strna(error.message));
        return image;
}

struct reattach_result {
        int r;
        char *removed;
        char *updated;
        sd_bus_error error;
};

static void reattach_result_done(struct reattach_result *res) {
        free(res->removed);
        free(res->updated);
        sd_bus_error_free(&res->error);
}

static struct reattach_result reattach(const Image *image, const char *profile, PortableFlags flags) {
        struct reattach_result res = { .error = SD_BUS_ERROR_NULL };
        PortableChanges removed = {}, updated = {};

        res.r = portable_reattach(&fx.host, image, NULL, foo_matches, profile, flags, &removed, &updated, &res.error);
        if (res.r < 0) {
                cr_assert(eq(sz, removed.n + updated.n, 0));
                cr_assert(sd_bus_error_is_set(&res.error));
        }
        res.removed = fixture_changes(&removed);
        res.updated = fixture_changes(&updated);
        portable_changes_done(&removed);
        portable_changes_done(&updated);
        return res;
}

static void reattach_must_fail(const Image *image, const char *profile, PortableFlags flags, int r, const char *name) {
        _cleanup_free_ char *before = fixture_snapshot(), *after = NULL;
        _cleanup_(reattach_result_done) struct reattach_result res = reattach(image, profile, flags);

        cr_assert(eq(int, res.r, r), "%s", strna(res.error.message));
        if (name)
                assert_str(res.error.name, name);
        after = fixture_snapshot();
        assert_str(after, before);
}

Test(reattach, to_new_version) {
        _cleanup_(image_freep) Image *v1 = attach("foo", "foo_1", "default", 0);
        _cleanup_free_ char *p2 = fixture_copy_image("foo_2", "foo_2", false), *golden_removed = NULL,
                            *golden_updated = NULL, *svc = NULL, *expected_svc = NULL, *dropin = NULL, *snap = NULL;
        _cleanup_(image_freep) Image *v2 = fixture_image(p2);
        _cleanup_(reattach_result_done) struct reattach_result res = reattach(v2, "default", 0);

        cr_assert(eq(int, res.r, 0), "%s", strna(res.error.message));
        golden_removed = unit_golden("reattach-foo.removed");
        golden_updated = unit_golden("reattach-foo.updated");
        assert_str(res.removed, golden_removed);
        assert_str(res.updated, golden_updated);

        /* The host now has exactly version 2. */
        svc = fixture_read(ATTACHED "/foo.service");
        expected_svc = unit_strf("%s/usr/lib/systemd/system/foo.service", p2);
        _cleanup_free_ char *e = unit_read(expected_svc);
        assert_str(svc, e);
        dropin = fixture_read(ATTACHED "/foo.service.d/20-portable.conf");
        cr_assert(not(zero(ptr, strstr(dropin, p2))), "%s", dropin);
        cr_assert(fixture_exists(ATTACHED "/foo-new.service"));
        cr_assert(fixture_exists(ATTACHED "/foo.target"));
        cr_assert(not(fixture_exists(ATTACHED "/foo-bar.socket")));
        cr_assert(not(fixture_exists(ATTACHED "/foo-bar.socket.d")));
        cr_assert(not(fixture_exists(ATTACHED "/foo@.service.d")));
        cr_assert(not(fixture_exists("/etc/portables/foo_1")));
        cr_assert(fixture_exists("/etc/portables/foo_2"));
        snap = fixture_snapshot();
        cr_assert(zero(ptr, strstr(snap, "/.#")), "%s", snap);
}

Test(reattach, same_version_removes_nothing) {
        _cleanup_(image_freep) Image *image = attach("foo", "foo", "default", 0);
        _cleanup_free_ char *before = fixture_snapshot(), *after = NULL;
        _cleanup_(reattach_result_done) struct reattach_result res = reattach(image, "default", 0);

        cr_assert(eq(int, res.r, 0), "%s", strna(res.error.message));
        assert_str(res.removed, "");
        cr_assert(not(zero(ptr, strstr(res.updated, "copy @ROOT@" ATTACHED "/foo.service "))), "%s", res.updated);
        /* Same files, same contents. */
        after = fixture_snapshot();
        assert_str(after, before);
}

Test(reattach, changes_profile_and_copy_mode) {
        _cleanup_(image_freep) Image *image = attach("foo", "foo", "default", 0);
        _cleanup_(reattach_result_done) struct reattach_result res = reattach(image, "strict", PORTABLE_PREFER_COPY);
        _cleanup_free_ char *copy = NULL, *src = unit_strf("%s/strict/service.conf", fx.profiles), *orig = unit_read(src);

        cr_assert(eq(int, res.r, 0), "%s", strna(res.error.message));
        copy = fixture_read(ATTACHED "/foo.service.d/10-profile.conf");
        assert_str(copy, orig);
}

Test(reattach, not_attached) {
        _cleanup_free_ char *path = fixture_copy_image("foo_2", "foo_2", false);
        _cleanup_(image_freep) Image *image = fixture_image(path);

        reattach_must_fail(image, "default", 0, -ENOENT, SYSTEMD_ERROR_NO_SUCH_UNIT);
}

Test(reattach, other_image_is_not_replaced) {
        _cleanup_(image_freep) Image *image = attach("foo", "foo", "default", 0);
        _cleanup_free_ char *path = fixture_copy_image("foo_2", "foobar_2", false);
        _cleanup_(image_freep) Image *other = fixture_image(path);

        /* "foobar" is not a version of "foo". */
        reattach_must_fail(other, "default", 0, -ENOENT, SYSTEMD_ERROR_NO_SUCH_UNIT);
}

Test(reattach, failing_attach_keeps_the_old_version) {
        _cleanup_(image_freep) Image *v1 = attach("foo", "foo_1", "default", 0);
        _cleanup_free_ char *p2 = fixture_copy_image("foo_2", "foo_2", false), *d = NULL;
        _cleanup_(image_freep) Image *v2 = fixture_image(p2);

        /* The new version's unit foo-new.service cannot be installed: a directory is where its
         * drop-in goes. Everything of version 1 must be back, byte for byte. */
        d = fixture_path(ATTACHED "/foo-new.service.d/20-portable.conf/x");
        unit_mkdir_p(d, 0755);
        reattach_must_fail(v2, "default", 0, -EISDIR, NULL);
}

Test(reattach, unknown_profile_keeps_the_old_version) {
        _cleanup_(image_freep) Image *v1 = attach("foo", "foo_1", "default", 0);
        _cleanup_free_ char *p2 = fixture_copy_image("foo_2", "foo_2", false);
        _cleanup_(image_freep) Image *v2 = fixture_image(p2);

        reattach_must_fail(v2, "no-such-profile", 0, -ENOENT, NULL);
}

Test(reattach, broken_new_version_keeps_the_old_one) {
        _cleanup_(image_freep) Image *v1 = attach("foo", "foo_1", "default", 0);
        _cleanup_free_ char *p2 = fixture_copy_image("noid", "foo_2", false);
        _cleanup_(image_freep) Image *v2 = fixture_image(p2);

        /* Version 2 has no ID= in its os-release. */
        reattach_must_fail(v2, "default", 0, -ESTALE, NULL);
}

Test(reattach, new_version_without_matching_units) {
        _cleanup_(image_freep) Image *v1 = attach("foo", "foo_1", "default", 0);
        _cleanup_free_ char *p2 = fixture_copy_image("nounits", "foo_2", false);
        _cleanup_(image_freep) Image *v2 = fixture_image(p2);

        reattach_must_fail(v2, "default", 0, -ENOENT, SD_BUS_ERROR_INVALID_ARGS);
}

Test(reattach, running_units_are_replaced) {
        _cleanup_(image_freep) Image *v1 = attach("foo", "foo_1", "default", 0);
        _cleanup_free_ char *p2 = fixture_copy_image("foo_2", "foo_2", false);
        _cleanup_(image_freep) Image *v2 = fixture_image(p2);

        /* No "active" refusal: the client restarts the units afterwards. */
        fixture_use_fake_manager();
        fx.active[0] = "foo.service";
        fx.active[1] = "foo-bar.socket";
        _cleanup_(reattach_result_done) struct reattach_result res = reattach(v2, "default", 0);
        cr_assert(eq(int, res.r, 0), "%s", strna(res.error.message));
}

Test(reattach, runtime) {
        _cleanup_(image_freep) Image *v1 = attach("foo", "foo_1", "", PORTABLE_RUNTIME);
        _cleanup_free_ char *p2 = fixture_copy_image("foo_2", "foo_2", false);
        _cleanup_(image_freep) Image *v2 = fixture_image(p2);

        /* A persistent reattach does not see the runtime attachment. */
        reattach_must_fail(v2, "", 0, -ENOENT, SYSTEMD_ERROR_NO_SUCH_UNIT);

        _cleanup_(reattach_result_done) struct reattach_result res = reattach(v2, "", PORTABLE_RUNTIME);
        cr_assert(eq(int, res.r, 0), "%s", strna(res.error.message));
        cr_assert(fixture_exists("/run/systemd/system.attached/foo-new.service"));
        cr_assert(not(fixture_exists("/run/systemd/system.attached/foo-bar.socket")));
        cr_assert(fixture_exists("/run/portables/foo_2"));
}

Test(reattach, admin_files_survive) {
        _cleanup_(image_freep) Image *v1 = attach("foo", "foo_1", "default", 0);
        _cleanup_free_ char *p2 = fixture_copy_image("foo_2", "foo_2", false), *a = NULL, *link = NULL;
        _cleanup_(image_freep) Image *v2 = fixture_image(p2);

        fixture_write(ATTACHED "/foo.service.d/50-admin.conf", "# admin\n");
        fixture_write(ATTACHED "/foo-bar.socket.d/50-admin.conf", "# admin\n");
        link = fixture_path(ATTACHED "/sockets.target.wants/foo-bar.socket");
        unit_symlink("../foo-bar.socket", link);

        _cleanup_(reattach_result_done) struct reattach_result res = reattach(v2, "default", 0);
        cr_assert(eq(int, res.r, 0), "%s", strna(res.error.message));
        a = fixture_read(ATTACHED "/foo.service.d/50-admin.conf");
        assert_str(a, "# admin\n");
        cr_assert(fixture_exists(ATTACHED "/foo-bar.socket.d/50-admin.conf"));
        cr_assert(fixture_exists(ATTACHED "/sockets.target.wants/foo-bar.socket"));
}

/* A new version whose unit would act on the host is refused like on attach, --force or not: the
 * old version stays attached as it was. */
Test(reattach, unconfined_new_version_leaves_the_old_one) {
        _cleanup_(image_freep) Image *v1 = attach("foo", "foo_1", "default", 0);
        _cleanup_free_ char *p2 = fixture_copy_image("foo_2", "foo_2", false),
                            *unit = unit_strf("%s/usr/lib/systemd/system/foo.service", p2);

        unit_write(unit, "[Service]\nExecStart=/bin/true\nExecStartPost=+/bin/sh -c id\n");
        _cleanup_(image_freep) Image *v2 = fixture_image(p2);

        reattach_must_fail(v2, "default", 0, -EPERM, PORTABLE_ERROR_UNIT_NOT_CONFINED);
        reattach_must_fail(v2, "strict", PORTABLE_FORCE_ATTACH, -EPERM, PORTABLE_ERROR_UNIT_NOT_CONFINED);
}

Test(reattach, dry_run_plans_exactly_what_reattach_does) {
        _cleanup_(image_freep) Image *v1 = attach("foo", "foo_1", "default", 0);
        _cleanup_free_ char *p2 = fixture_copy_image("foo_2", "foo_2", false), *before = fixture_snapshot(),
                            *after = NULL;
        _cleanup_(image_freep) Image *v2 = fixture_image(p2);
        _cleanup_(reattach_result_done) struct reattach_result planned = reattach(v2, "default", PORTABLE_DRY_RUN);

        cr_assert(eq(int, planned.r, 0), "%s", strna(planned.error.message));
        after = fixture_snapshot();
        assert_str(after, before);

        _cleanup_(reattach_result_done) struct reattach_result done = reattach(v2, "default", 0);
        cr_assert(eq(int, done.r, 0), "%s", strna(done.error.message));
        assert_str(planned.removed, done.removed);
        assert_str(planned.updated, done.updated);
}
