/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <criterion/criterion.h>
#include <criterion/new/assert.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "macro.h"
#include "portable-fixture.h"
#include "portable.h"
#include "unit-helpers.h"

PortableFixture fx;

static int fake_unit_is_active(void *userdata, const char *unit) {
        PortableFixture *f = userdata;

        f->active_calls++;
        if (f->active_error)
                return f->active_error;
        for (size_t i = 0; i < ELEMENTSOF(f->active) && f->active[i]; i++)
                if (streq(f->active[i], unit))
                        return 1;
        return 0;
}

void fixture_setup(const char *tag) {
        fx = (PortableFixture) {};
        unit_skip_reader_tests_under_valgrind();
        fx.tmp = unit_mkdtemp(tag);
        fx.root = unit_strf("%s/root", fx.tmp);
        fx.images = unit_strf("%s/images", fx.tmp);
        fx.profiles = unit_profiles_dir();
        unit_mkdir_p(fx.root, 0755);
        unit_mkdir_p(fx.images, 0755);
        /* unit_ops NULL: no service manager, nothing is active. */
        fx.host = (Host) { .root = fx.root, .vendor_profile_dir = (char *) fx.profiles };
        umask(022);
}

void fixture_use_fake_manager(void) {
        fx.host.unit_ops = (HostUnitOps) { .unit_is_active = fake_unit_is_active, .userdata = &fx };
}

void fixture_teardown(void) {
        unit_rm_rf(fx.tmp);
        free(fx.images);
        free(fx.root);
        free(fx.tmp);
        fx = (PortableFixture) {};
}

char *fixture_copy_image(const char *name, const char *dest, bool in_pool) {
        _cleanup_free_ char *src = unit_strf("%s/images/%s", unit_test_data(), name), *pool = NULL;
        char *path;

        if (in_pool) {
                pool = unit_strf("%s/var/lib/portables", fx.root);
                unit_mkdir_p(pool, 0755);
                path = unit_strf("%s/%s", pool, dest);
        } else
                path = unit_strf("%s/%s", fx.images, dest);
        unit_copy_tree(src, path);
        return path;
}

char *fixture_raw_image(const char *name, const char *dest) {
        _cleanup_free_ char *src = unit_strf("%s/images/%s", unit_test_data(), name);
        char *path = unit_strf("%s/%s", fx.images, dest);

        if (geteuid() != 0)
                cr_skip_test("raw images need root");
        unit_make_fs_image("squashfs", src, path);
        return path;
}

Image *fixture_image(const char *path) {
        Image *image = NULL;

        cr_assert(eq(int, image_from_path(path, &image), 0), "image_from_path(%s)", path);
        return image;
}

char *fixture_path(const char *rel) {
        return unit_strf("%s%s", fx.root, rel);
}

bool fixture_exists(const char *rel) {
        _cleanup_free_ char *p = fixture_path(rel);
        struct stat st;

        return lstat(p, &st) >= 0;
}

char *fixture_read(const char *rel) {
        _cleanup_free_ char *p = fixture_path(rel);

        return unit_read(p);
}

void fixture_write(const char *rel, const char *content) {
        _cleanup_free_ char *p = fixture_path(rel);

        unit_write(p, content);
}

static char *placeholders(const char *s) {
        _cleanup_free_ char *a = unit_replace(s, fx.images, "@IMAGES@");
        _cleanup_free_ char *b = unit_replace(a, fx.root, "@ROOT@");

        return unit_replace(b, fx.profiles, "@PROFILES@");
}

char *fixture_changes(const PortableChanges *c) {
        _cleanup_free_ char *s = unit_strf("%s", "");

        for (size_t i = 0; i < c->n; i++) {
                char *n = unit_strf("%s%s %s%s%s\n", s, portable_change_type_to_string(c->items[i].type),
                                    c->items[i].path, c->items[i].source ? " " : "", strempty(c->items[i].source));
                free(s);
                s = n;
        }
        return placeholders(s);
}

char *fixture_golden(const char *name) {
        _cleanup_free_ char *g = unit_golden(name), *a = unit_replace(g, "@IMAGES@", fx.images),
                            *b = unit_replace(a, "@ROOT@", fx.root);

        return unit_replace(b, "@PROFILES@", fx.profiles);
}

char *fixture_snapshot(void) {
        return unit_snapshot(fx.root);
}

int fixture_attach(const Image *image, char * const *matches, const char *profile, PortableFlags flags,
                   PortableChanges *ret, sd_bus_error *error) {
        PortableChanges changes = {};
        int r;

        r = portable_attach(&fx.host, image, /* metadata= */ NULL, matches, profile, flags, &changes, error);
        if (r < 0) {
                cr_assert(eq(sz, changes.n, 0), "changes returned on failure");
                cr_assert(sd_bus_error_is_set(error), "failure %d without a bus error", r);
        } else
                cr_assert(not(sd_bus_error_is_set(error)));
        if (ret)
                *ret = changes;
        else
                portable_changes_done(&changes);
        return r;
}
