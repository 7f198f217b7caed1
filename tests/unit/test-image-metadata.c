/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <criterion/criterion.h>
#include <criterion/new/assert.h>
#include <sched.h>
#include <string.h>
#include <sys/mount.h>
#include <unistd.h>

#include "image-metadata.h"
#include "os-release.h"
#include "strv.h"
#include "unit-helpers.h"

static char *tmp;

static void setup(void) {
        unit_skip_reader_tests_under_valgrind();
        tmp = unit_mkdtemp("image-metadata");
}

static void teardown(void) {
        unit_rm_rf(tmp);
        free(tmp);
}

TestSuite(image_metadata, .init = setup, .fini = teardown);

static Image *image_at(const char *path) {
        Image *image = NULL;

        cr_assert(eq(int, image_from_path(path, &image), 0), "image_from_path(%s)", path);
        return image;
}

Test(image_metadata, directory) {
        _cleanup_free_ char *dir = unit_strf("%s/images/foo", unit_test_data()), *src = NULL;
        _cleanup_(image_freep) Image *image = image_at(dir);
        _cleanup_(portable_metadata_freep) PortableMetadata *m = NULL;
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        char *matches[] = { (char *) "foo", NULL };

        cr_assert(eq(int, image_read_metadata(image, matches, &m, &error), 0), "%s", strna(error.message));
        cr_assert(eq(sz, m->n_units, 8));
        assert_str(os_release_pairs_get(m->os_release_pairs, "ID"), "portabletest");
        /* Directory images record where regular unit files are (for --copy=symlink). */
        src = unit_strf("%s/usr/lib/systemd/system/foo.service", dir);
        assert_str(portable_metadata_find_unit(m, "foo.service")->source, src);
}

/* The daemon links to a unit file only where a reader read it: a file system mounted over part of
 * the image (which the reader's copy of the tree does not have) is neither linked to nor walked. */
Test(image_metadata, directory_source_under_a_mount_is_not_linked) {
        _cleanup_free_ char *fixture = unit_strf("%s/images/foo", unit_test_data()), *dir = unit_strf("%s/foo", tmp),
                            *units = unit_strf("%s/usr/lib/systemd/system", dir), *over = NULL;
        _cleanup_(portable_metadata_freep) PortableMetadata *m = NULL;
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        char *matches[] = { (char *) "foo", NULL };
        const PortableFile *f;

        unit_private_mount_namespace();
        cr_assert(eq(int, unit_run("cp -a '%s' '%s'", fixture, dir), 0));
        cr_assert(eq(int, mount("tmpfs", units, "tmpfs", 0, "mode=0755"), 0));
        over = unit_strf("%s/foo.service", units);
        unit_write(over, "[Service]\nExecStart=/bin/mounted-over\n");

        _cleanup_(image_freep) Image *image = image_at(dir);
        cr_assert(eq(int, image_read_metadata(image, matches, &m, &error), 0), "%s", strna(error.message));
        f = portable_metadata_find_unit(m, "foo.service");
        cr_assert(f != NULL);
        cr_assert(zero(ptr, strstr(f->data, "mounted-over")), "the reader read the image, not the mount");
        cr_assert(zero(ptr, f->source), "linked across a mount: %s", f->source);
}

Test(image_metadata, raw) {
        _cleanup_free_ char *tree = unit_strf("%s/images/pfx", unit_test_data()), *img = unit_strf("%s/pfx_1.raw", tmp);
        _cleanup_(portable_metadata_freep) PortableMetadata *m = NULL;
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        char *matches[] = { (char *) "pfx-b", NULL };

        if (geteuid() != 0)
                cr_skip_test("mounting images needs root");
        unit_make_fs_image("squashfs", tree, img);
        _cleanup_(image_freep) Image *image = image_at(img);

        cr_assert(eq(int, image_read_metadata(image, matches, &m, &error), 0), "%s", strna(error.message));
        cr_assert(eq(sz, m->n_units, 1));
        assert_str(m->units[0].name, "pfx-b.service");
        cr_assert(zero(ptr, m->units[0].source));
        assert_str(os_release_pairs_get(m->os_release_pairs, "PORTABLE_PREFIXES"), "pfx-a pfx-b");
        cr_assert(unit_wait_no_loop(img, 3000));
}

Test(image_metadata, directory_gone) {
        _cleanup_free_ char *dir = unit_strf("%s/gone", tmp), *osrel = unit_strf("%s/usr/lib/os-release", dir);
        _cleanup_(portable_metadata_freep) PortableMetadata *m = NULL;
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;

        unit_write(osrel, "ID=x\n");
        _cleanup_(image_freep) Image *image = image_at(dir);
        cr_assert(eq(int, unit_run("rm -rf '%s'", dir), 0));

        cr_assert(eq(int, image_read_metadata(image, NULL, &m, &error), -ENOENT));
        cr_assert(zero(ptr, m));
        cr_assert(error.message != NULL);
        cr_assert(not(zero(ptr, strstr(error.message, dir))), "the message names the image: %s", error.message);
}

Test(image_metadata, unknown_type) {
        Image image = { .type = _IMAGE_TYPE_INVALID, .name = (char *) "x", .path = (char *) "/x" };
        PortableMetadata *m = NULL;
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;

        cr_assert(eq(int, image_read_metadata(&image, NULL, &m, &error), -EMEDIUMTYPE));
        cr_assert(zero(ptr, m));
        cr_assert(error.message != NULL);
}

Test(image_metadata, missing_paths_directory) {
        _cleanup_free_ char *dir = unit_strf("%s/images/foo", unit_test_data()), *joined = NULL;
        _cleanup_(image_freep) Image *image = image_at(dir);
        _cleanup_(portable_metadata_freep) PortableMetadata *m = NULL;
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        char *check[] = { (char *) "/opt/foo", (char *) "/tmp", (char *) "/etc/systemd/system/foo-shadow.service", NULL };

        cr_assert(eq(int, image_read_metadata_full(image, NULL, check, &m, &error), 0), "%s", strna(error.message));
        joined = strv_join(m->missing, " ");
        assert_str(joined, "/tmp");
}

Test(image_metadata, no_check_paths_no_missing) {
        _cleanup_free_ char *dir = unit_strf("%s/images/foo", unit_test_data());
        _cleanup_(image_freep) Image *image = image_at(dir);
        _cleanup_(portable_metadata_freep) PortableMetadata *m = NULL;

        cr_assert(eq(int, image_read_metadata(image, NULL, &m, NULL), 0));
        cr_assert(zero(ptr, m->missing));
}

/* --- stacks ------------------------------------------------------------------------------------ */

static void layers_free(PortableMetadata **l, size_t n) {
        portable_metadata_free_many(l, n);
}

Test(image_metadata, stack_of_directory_and_raw_extensions) {
        _cleanup_free_ char *root = unit_strf("%s/images/foo", unit_test_data());
        _cleanup_free_ char *app0 = unit_strf("%s/images/app0", unit_test_data());
        _cleanup_free_ char *app1_tree = unit_strf("%s/images/app1", unit_test_data());
        _cleanup_free_ char *app1 = unit_strf("%s/app1_2.raw", tmp);
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        char *matches[] = { (char *) "foo", (char *) "app0", (char *) "app1", NULL };
        PortableMetadata **layers = NULL;

        if (geteuid() != 0)
                cr_skip_test("mounting images needs root");
        unit_make_fs_image("squashfs", app1_tree, app1);

        _cleanup_(image_freep) Image *image = image_at(root);
        _cleanup_(image_freep) Image *e0 = image_at(app0);
        _cleanup_(image_freep) Image *e1 = image_at(app1);
        const Image *extensions[] = { e0, e1 };

        cr_assert(eq(int, image_read_stack_metadata(image, extensions, 2, matches, NULL, false, &layers, &error), 0),
                  "%s", strna(error.message));
        cr_assert(not(layers[0]->extension));
        assert_str(os_release_pairs_get(layers[0]->os_release_pairs, "ID"), "portabletest");
        cr_assert(eq(sz, layers[0]->n_units, 8));

        cr_assert(layers[1]->extension);
        cr_assert(eq(int, layers[1]->extension_match, EXTENSION_RELEASE_EXACT));
        cr_assert(eq(sz, layers[1]->n_units, 2));
        /* Directory extensions know where their units are, for --copy=symlink. */
        _cleanup_free_ char *src = unit_strf("%s/usr/lib/systemd/system/app0.service", app0);
        assert_str(layers[1]->units[0].source, src);

        cr_assert(layers[2]->extension);
        cr_assert(eq(int, layers[2]->extension_match, EXTENSION_RELEASE_STRIPPED));
        assert_str(layers[2]->os_release.name, "/usr/lib/extension-release.d/extension-release.app1");
        cr_assert(eq(sz, layers[2]->n_units, 2));
        cr_assert(zero(ptr, layers[2]->units[0].source));

        layers_free(layers, 3);
        cr_assert(unit_wait_no_loop(app1, 3000));
}

Test(image_metadata, stack_error_is_the_lowest_layers) {
        _cleanup_free_ char *root = unit_strf("%s/images/foo", unit_test_data());
        _cleanup_free_ char *noosrel = unit_strf("%s/images/noosrel", unit_test_data());
        _cleanup_free_ char *evil = unit_strf("%s/images/evil-rel", unit_test_data());
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_(image_freep) Image *image = image_at(root);
        _cleanup_(image_freep) Image *e0 = image_at(noosrel);
        _cleanup_(image_freep) Image *e1 = image_at(evil);
        const Image *extensions[] = { e0, e1 };
        PortableMetadata **layers = NULL;

        /* Both extensions lack a release file: the first one is reported, however fast each was. */
        cr_assert(eq(int, image_read_stack_metadata(image, extensions, 2, NULL, NULL, true, &layers, &error), -ENOENT));
        cr_assert(zero(ptr, layers));
        cr_assert(strstr(error.message, noosrel) != NULL, "%s", error.message);
}

Test(image_metadata, stack_root_is_read_as_a_root) {
        _cleanup_free_ char *app0 = unit_strf("%s/images/app0", unit_test_data());
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_(image_freep) Image *image = image_at(app0);
        PortableMetadata **layers = NULL;

        /* An extension given as the root has no os-release. */
        cr_assert(eq(int, image_read_stack_metadata(image, NULL, 0, NULL, NULL, false, &layers, &error), -ENOENT));
        cr_assert(strstr(error.message, "no os-release") != NULL, "%s", error.message);
}
