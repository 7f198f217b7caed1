/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <criterion/criterion.h>
#include <criterion/new/assert.h>
#include <string.h>
#include <unistd.h>

#include "attached-index.h"
#include "portable-fixture.h"
#include "portable.h"
#include "strv.h"
#include "unit-helpers.h"

static void setup(void) {
        fixture_setup("state");
}

static void teardown(void) {
        fixture_teardown();
}

TestSuite(state, .init = setup, .fini = teardown, .timeout = 60);

#define ATTACHED "/etc/systemd/system.attached"
#define ATTACHED_RUNTIME "/run/systemd/system.attached"

static char *const foo_matches[] = { (char *) "foo", NULL };

static Image *attach(const char *dest, PortableFlags flags) {
        _cleanup_free_ char *path = fixture_copy_image("foo", dest, false);
        Image *image = fixture_image(path);
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;

        cr_assert(eq(int, fixture_attach(image, foo_matches, "default", flags, NULL, &error), 0), "%s", strna(error.message));
        return image;
}

static const char *state(const char *name_or_path) {
        PortableState s = _PORTABLE_STATE_INVALID;

        cr_assert(eq(int, portable_get_state(&fx.host, name_or_path, &s), 0), "state of '%s'", name_or_path);
        cr_assert(not(zero(ptr, (void *) portable_state_to_string(s))));
        return portable_state_to_string(s);
}

Test(state, detached_on_an_empty_host) {
        assert_str(state("foo"), "detached");
        assert_str(state("/srv/foo.raw"), "detached");
}

Test(state, attached) {
        _cleanup_(image_freep) Image *image = attach("foo_1", 0);
        _cleanup_free_ char *other = unit_strf("%s/foo_9.raw", fx.images);

        assert_str(state("foo"), "attached");   /* a name without a version: any version */
        assert_str(state("foo_1"), "attached");
        assert_str(state(image->path), "attached");
        assert_str(state(other), "detached");   /* another version is another image */
        assert_str(state("foo_9"), "detached");
        assert_str(state("foobar"), "detached");
        assert_str(state("fo"), "detached");
}

/* What users of systemd's implementation trip over (upstream issues 33294, 39058). */
Test(state, versions_are_told_apart) {
        _cleanup_(image_freep) Image *v1 = attach("foo_1", 0);
        _cleanup_free_ char *v2_path = NULL;
        _cleanup_(image_freep) Image *v2 = NULL;

        v2_path = fixture_copy_image("foo", "foo_2", false);
        v2 = fixture_image(v2_path);
        {
                _cleanup_(portable_changes_done) PortableChanges removed = {}, updated = {};
                _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;

                cr_assert(eq(int, portable_reattach(&fx.host, v2, NULL, foo_matches, "default", 0, &removed, &updated, &error), 0),
                          "%s", strna(error.message));
        }
        assert_str(state(v1->path), "detached");
        assert_str(state("foo_1"), "detached");
        assert_str(state(v2->path), "attached");
        assert_str(state("foo_2"), "attached");
        assert_str(state("foo_3"), "detached");  /* exists nowhere, attached nowhere */
        assert_str(state("/nowhere/foo_2.raw"), "detached");
}

Test(state, same_name_in_different_directories) {
        _cleanup_free_ char *a = unit_strf("%s/a", fx.images), *b = unit_strf("%s/b", fx.images);
        _cleanup_free_ char *pa = NULL, *pb = NULL;
        _cleanup_(image_freep) Image *ia = NULL;

        unit_mkdir_p(a, 0755);
        unit_mkdir_p(b, 0755);
        pa = fixture_copy_image("foo", "a/foo", false);
        pb = unit_strf("%s/b/foo", fx.images);
        ia = fixture_image(pa);
        {
                _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;

                cr_assert(eq(int, fixture_attach(ia, foo_matches, "default", 0, NULL, &error), 0), "%s", strna(error.message));
        }
        assert_str(state(pa), "attached");
        assert_str(state(pb), "detached");
}

Test(state, attached_runtime) {
        _cleanup_(image_freep) Image *image = attach("foo", PORTABLE_RUNTIME);

        assert_str(state("foo"), "attached-runtime");
}

Test(state, detached_after_detach) {
        _cleanup_(image_freep) Image *image = attach("foo", 0);
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_(portable_changes_done) PortableChanges c = {};

        cr_assert(eq(int, portable_detach(&fx.host, "foo", 0, &c, &error), 0));
        assert_str(state("foo"), "detached");
}

Test(state, enabled_through_attached_dir) {
        _cleanup_(image_freep) Image *image = attach("foo", 0);
        _cleanup_free_ char *link = fixture_path(ATTACHED "/multi-user.target.wants/foo.service");

        unit_symlink("../foo.service", link);
        assert_str(state("foo"), "enabled");
}

Test(state, enabled_template_instance) {
        _cleanup_(image_freep) Image *image = attach("foo", 0);
        _cleanup_free_ char *link = fixture_path(ATTACHED "/multi-user.target.wants/foo@one.service");

        unit_symlink("../foo@.service", link);
        assert_str(state("foo"), "enabled");
}

Test(state, enabled_through_etc) {
        _cleanup_(image_freep) Image *image = attach("foo", 0);
        _cleanup_free_ char *link = fixture_path("/etc/systemd/system/timers.target.wants/foo.bar.timer");

        unit_symlink(ATTACHED "/foo.bar.timer", link);
        assert_str(state("foo"), "enabled");
}

Test(state, enabled_runtime) {
        _cleanup_(image_freep) Image *image = attach("foo", PORTABLE_RUNTIME);
        _cleanup_free_ char *link = fixture_path(ATTACHED_RUNTIME "/sockets.target.wants/foo-bar.socket");

        unit_symlink("../foo-bar.socket", link);
        assert_str(state("foo"), "enabled-runtime");
}

Test(state, other_units_enablement_does_not_count) {
        _cleanup_(image_freep) Image *image = attach("foo", 0);
        _cleanup_free_ char *link = fixture_path(ATTACHED "/multi-user.target.wants/foo_x.service");

        unit_symlink("/elsewhere/foo_x.service", link);
        assert_str(state("foo"), "attached");
}

Test(state, running) {
        _cleanup_(image_freep) Image *image = attach("foo", 0);

        fixture_use_fake_manager();
        fx.active[0] = "foo.path";
        assert_str(state("foo"), "running");
        cr_assert(gt(uint, fx.active_calls, 0));
}

Test(state, running_beats_enabled) {
        _cleanup_(image_freep) Image *image = attach("foo", 0);
        _cleanup_free_ char *link = fixture_path(ATTACHED "/multi-user.target.wants/foo.service");

        unit_symlink("../foo.service", link);
        fixture_use_fake_manager();
        fx.active[0] = "foo.service";
        assert_str(state("foo"), "running");
}

Test(state, running_runtime) {
        _cleanup_(image_freep) Image *image = attach("foo", PORTABLE_RUNTIME);

        fixture_use_fake_manager();
        fx.active[0] = "foo@.service";
        assert_str(state("foo"), "running-runtime");
}

Test(state, unrelated_running_unit) {
        _cleanup_(image_freep) Image *image = attach("foo", 0);

        fixture_use_fake_manager();
        fx.active[0] = "foo_x.service";
        fx.active[1] = "foo.mount";
        assert_str(state("foo"), "attached");
}

Test(state, persistent_before_runtime) {
        _cleanup_(image_freep) Image *image = attach("foo", 0);

        /* Another version, runtime and running: the persistent attachment is what counts. */
        fixture_write(ATTACHED_RUNTIME "/foo-rt.service", "[Service]\n");
        _cleanup_free_ char *marker = unit_strf("# Drop-in created for image '%s/foo_2', do not edit.\n", fx.images);
        fixture_write(ATTACHED_RUNTIME "/foo-rt.service.d/20-portable.conf", marker);
        fixture_use_fake_manager();
        fx.active[0] = "foo-rt.service";
        assert_str(state("foo"), "attached");
}

Test(state, extension_markers_match_any_component) {
        fixture_write(ATTACHED "/app.service", "[Service]\n");
        fixture_write(ATTACHED "/app.service.d/20-portable.conf",
                      "# Drop-in created for image '/srv/base_1.raw:/srv/app_2.raw', do not edit.\n");
        assert_str(state("base"), "attached");
        assert_str(state("app"), "attached");
        assert_str(state("/srv/app_2.raw"), "attached");
        assert_str(state("/x/app_3.raw"), "detached");
        assert_str(state("other"), "detached");
}

Test(state, ignores_what_is_not_a_marked_unit) {
        /* A drop-in directory without its unit, an admin's unit, a malformed marker, a marker
         * behind a symlink, hidden files: none of them is an attachment. */
        _cleanup_free_ char *elsewhere = unit_strf("%s/marker.conf", fx.tmp),
                            *planted = fixture_path(ATTACHED "/planted.service.d/20-portable.conf");

        fixture_write(ATTACHED "/orphan.service.d/20-portable.conf", "# Drop-in created for image '/srv/foo', do not edit.\n");
        fixture_write(ATTACHED "/admin.service", "[Service]\n");
        fixture_write(ATTACHED "/bad.service", "[Service]\n");
        fixture_write(ATTACHED "/bad.service.d/20-portable.conf", "# Drop-in created for image '/srv/foo\\x', do not edit.\n");
        fixture_write(ATTACHED "/planted.service", "[Service]\n");
        unit_write(elsewhere, "# Drop-in created for image '/srv/foo', do not edit.\n");
        unit_symlink(elsewhere, planted);
        fixture_write(ATTACHED "/.#foo.service", "[Service]\n");
        assert_str(state("foo"), "detached");
}

Test(state, service_manager_error_is_reported) {
        _cleanup_(image_freep) Image *image = attach("foo", 0);
        PortableState s = PORTABLE_DETACHED;

        fixture_use_fake_manager();
        fx.active_error = -ETIMEDOUT;
        cr_assert(eq(int, portable_get_state(&fx.host, "foo", &s), -ETIMEDOUT));
}

Test(state, path_with_colon_and_non_ascii) {
        _cleanup_(image_freep) Image *image = attach("a:b-\xc3\xbc", 0);

        assert_str(state(image->path), "attached");
        assert_str(state("a:b-\xc3\xbc"), "attached");
        assert_str(state("a:b-\xc3\xbc_5"), "detached");
        assert_str(state("a"), "detached");
}

Test(state, attached_dir_unreadable_is_an_error) {
        PortableState s = PORTABLE_DETACHED;

        /* A file where the attached directory should be. */
        fixture_write(ATTACHED, "not a directory\n");
        cr_assert(lt(int, portable_get_state(&fx.host, "foo", &s), 0));
}

Test(state, symlinked_units_are_not_enabled) {
        _cleanup_free_ char *path = fixture_copy_image("foo", "foo", false);
        _cleanup_(image_freep) Image *image = fixture_image(path);
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;

        /* With --copy=symlink the attached dir is full of symlinks named after units: they are
         * the units themselves, not aliases or enablement. */
        cr_assert(eq(int, fixture_attach(image, foo_matches, "default", PORTABLE_PREFER_SYMLINK, NULL, &error), 0), "%s",
                  strna(error.message));
        assert_str(state("foo"), "attached");
}

/* The index without enablement (attached_index_load_units()) finds the same units from the same
 * images, all of them "not enabled"; the full one sees the links. */
Test(state, index_without_enablement) {
        _cleanup_(image_freep) Image *image = attach("foo", 0);
        _cleanup_free_ char *link = fixture_path("/etc/systemd/system/timers.target.wants/foo.bar.timer"),
                            *link2 = fixture_path(ATTACHED "/multi-user.target.wants/foo.service");
        _cleanup_(attached_index_done) AttachedIndex full = {}, units = {};
        _cleanup_strv_free_ char **names_full = NULL, **names_units = NULL;
        size_t n_enabled = 0;

        unit_symlink(ATTACHED "/foo.bar.timer", link);
        unit_symlink("../foo.service", link2);
        cr_assert(eq(int, attached_index_load(&fx.host, &full), 0));
        cr_assert(eq(int, attached_index_load_units(&fx.host, &units), 0));

        cr_assert(eq(sz, units.n_units, full.n_units));
        cr_assert(gt(sz, units.n_units, 0));
        for (size_t i = 0; i < full.n_units; i++) {
                n_enabled += full.units[i].enabled;
                cr_assert(not(units.units[i].enabled), "%s", units.units[i].name);
                assert_str(units.units[i].name, full.units[i].name);
                assert_str(units.units[i].images[0], full.units[i].images[0]);
        }
        cr_assert(eq(sz, n_enabled, 2));
        cr_assert(eq(int, attached_index_units(&units, "foo", NULL, -1, &names_units), 0));
        cr_assert(eq(int, attached_index_units(&full, "foo", NULL, -1, &names_full), 0));
        cr_assert(eq(sz, strv_length(names_units), strv_length(names_full)));
}

/* A listing asks with the images it just probed (attached_index_image_state()): the answer must
 * be the one their paths give. */
static const char *probed_state(const AttachedIndex *idx, const char *path) {
        _cleanup_(image_freep) Image *image = fixture_image(path);
        PortableState s = _PORTABLE_STATE_INVALID;

        cr_assert(image->ino != 0, "%s", path);
        cr_assert(eq(int, attached_index_image_state(idx, &fx.host, image, &s), 0), "state of '%s'", path);
        return portable_state_to_string(s);
}

/* An image attached under one path counts under every path that resolves to the same file
 * (a symlink to it, or the path it links to)... */
Test(state, same_file_through_a_symlink) {
        _cleanup_free_ char *real_dir = unit_strf("%s/real", fx.images), *other_dir = unit_strf("%s/other", fx.images),
                            *real = NULL, *other = NULL, *dir_link = unit_strf("%s/linked", fx.images),
                            *via_link = unit_strf("%s/linked/foo", fx.images);
        _cleanup_(image_freep) Image *image = NULL;
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_(attached_index_done) AttachedIndex idx = {};

        unit_mkdir_p(real_dir, 0755);
        unit_mkdir_p(other_dir, 0755);
        real = fixture_copy_image("foo", "real/foo", false);
        other = fixture_copy_image("foo", "other/foo", false);
        unit_symlink("real", dir_link);
        image = fixture_image(via_link);
        cr_assert(eq(int, fixture_attach(image, foo_matches, "default", 0, NULL, &error), 0), "%s", strna(error.message));

        assert_str(state(via_link), "attached");
        assert_str(state(real), "attached");
        assert_str(state(other), "detached");

        cr_assert(eq(int, attached_index_load(&fx.host, &idx), 0));
        assert_str(probed_state(&idx, via_link), "attached");
        assert_str(probed_state(&idx, real), "attached");
        assert_str(probed_state(&idx, other), "detached");
}

/* ... but a hard link is another image, although it is the same inode. */
Test(state, hard_link_is_another_image) {
        _cleanup_free_ char *raw = fixture_raw_image("foo", "foo_1.raw"), *copy = unit_strf("%s/foo_copy.raw", fx.images);
        _cleanup_(image_freep) Image *image = fixture_image(raw);
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_(attached_index_done) AttachedIndex idx = {};

        cr_assert(eq(int, fixture_attach(image, foo_matches, "default", PORTABLE_FORCE_ATTACH, NULL, &error), 0), "%s",
                  strna(error.message));
        cr_assert(eq(int, link(raw, copy), 0));
        assert_str(state(raw), "attached");
        assert_str(state(copy), "detached");

        cr_assert(eq(int, attached_index_load(&fx.host, &idx), 0));
        assert_str(probed_state(&idx, raw), "attached");
        assert_str(probed_state(&idx, copy), "detached");
}
