/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <criterion/criterion.h>
#include <criterion/new/assert.h>
#include <sched.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "image-copy.h"
#include "strv.h"
#include "unit-helpers.h"

static char *tmp;

static void setup(void) {
        tmp = unit_mkdtemp("image-copy");
}

static void teardown(void) {
        unit_rm_rf(tmp);
        free(tmp);
}

TestSuite(image_copy, .init = setup, .fini = teardown);

static char *at(const char *rel) {
        return unit_strf("%s/%s", tmp, rel);
}

static bool is_symlink(const char *p) {
        struct stat st;
        return lstat(p, &st) >= 0 && S_ISLNK(st.st_mode);
}

Test(image_copy, raw_file_replaces_the_link) {
        _cleanup_free_ char *image = at("images/app_1.raw"), *link = at("portables/app_1.raw"), *data = NULL;
        struct stat st;

        unit_write_data(image, "squashfs bytes", 14, 0640);
        unit_symlink(image, link);

        cr_assert(eq(int, image_copy_replace_link(image, link), 1));
        cr_assert(eq(int, lstat(link, &st), 0));
        cr_assert(eq(int, S_ISREG(st.st_mode), 1));
        cr_assert(eq(int, (int) (st.st_mode & 07777), 0640));
        data = unit_read(link);
        assert_str(data, "squashfs bytes");
        cr_assert(image_copy_is_ours(link, image));
        cr_assert(eq(int, image_copy_is_ours(link, "/other/image.raw"), 0));
        cr_assert(eq(int, image_copy_is_ours(image, image), 0), "the original carries no mark");
        /* No temporary copy left. */
        _cleanup_free_ char *temp = at("portables/.#portabled-copy-app_1.raw");
        cr_assert(eq(int, access(temp, F_OK), -1));
}

Test(image_copy, directory_tree) {
        _cleanup_free_ char *image = at("images/app_2"), *link = at("portables/app_2"),
                            *unit = at("images/app_2/usr/lib/systemd/system/app.service"),
                            *rel = at("images/app_2/etc/os-release"), *copied_rel = at("portables/app_2/etc/os-release"),
                            *copied_unit = at("portables/app_2/usr/lib/systemd/system/app.service"), *data = NULL;
        char target[256] = {};
        struct stat st;

        unit_write_data(unit, "[Service]\n", 10, 0644);
        unit_symlink("../usr/lib/os-release", rel);
        _cleanup_free_ char *os = at("images/app_2/usr/lib/os-release"), *image_proc = at("images/app_2/proc");
        unit_write(os, "ID=x\n");
        unit_mkdir_p(image_proc, 0555);
        unit_symlink(image, link);

        cr_assert(eq(int, image_copy_replace_link(image, link), 1));
        cr_assert(eq(int, lstat(link, &st), 0));
        cr_assert(eq(int, S_ISDIR(st.st_mode), 1));
        data = unit_read(copied_unit);
        assert_str(data, "[Service]\n");
        cr_assert(readlink(copied_rel, target, sizeof(target) - 1) > 0);
        assert_str(target, "../usr/lib/os-release");
        _cleanup_free_ char *proc = at("portables/app_2/proc");
        cr_assert(eq(int, lstat(proc, &st), 0));
        cr_assert(eq(int, (int) (st.st_mode & 07777), 0555));

        /* Marked with the image it copies. */
        cr_assert(image_copy_is_ours(link, image));
        cr_assert(image_copy_is_ours(link, NULL));
        cr_assert(not(image_copy_is_ours(link, "/somewhere/else")));
        _cleanup_free_ char *source = image_copy_source(link);
        assert_str(source, image);
        cr_assert(eq(int, access(unit, F_OK), 0), "the original stays");
}

/* Something mounted inside a directory image (here a host directory on the same file system) is not
 * the image's: the copy fails and the link stays. */
Test(image_copy, never_across_a_mount) {
        _cleanup_free_ char *image = at("images/app_3"), *link = at("portables/app_3"), *os = at("images/app_3/usr/lib/os-release"),
                            *host = at("host-data"), *precious = at("host-data/precious"), *inside = at("images/app_3/host"),
                            *temp = at("portables/.#portabled-copy-app_3"), *data = NULL;

        unit_private_mount_namespace();
        unit_write(os, "ID=x\n");
        unit_write(precious, "the host's\n");
        unit_mkdir_p(inside, 0755);
        cr_assert(eq(int, mount(host, inside, "none", MS_BIND, NULL), 0));
        unit_symlink(image, link);

        cr_assert(eq(int, image_copy_replace_link(image, link), -EXDEV));
        cr_assert(is_symlink(link), "the link stays");
        cr_assert(eq(int, access(temp, F_OK), -1), "no half copy left");
        data = unit_read(precious);
        assert_str(data, "the host's\n");
}

Test(image_copy, only_the_link_to_this_image) {
        _cleanup_free_ char *image = at("images/a.raw"), *other = at("images/b.raw"), *link = at("portables/a.raw"),
                            *plain = at("portables/plain.raw");

        unit_write(image, "a");
        unit_write(other, "b");
        unit_symlink(other, link);
        unit_write(plain, "admin's");

        cr_assert(eq(int, image_copy_replace_link(image, link), 0));
        cr_assert(is_symlink(link));
        cr_assert(eq(int, image_copy_replace_link(image, plain), 0));
        cr_assert(not(image_copy_is_ours(plain, NULL)), "an administrator's file is no copy of ours");
        cr_assert(zero(ptr, image_copy_source(plain)));
}

/* What a copy cut short leaves (only ever under the hidden name) goes; nothing else does. */
Test(image_copy, leftovers) {
        _cleanup_free_ char *dir = at("portables"), *half_tree = at("portables/.#portabled-copy-app/usr/lib/x"),
                            *half_file = at("portables/.#portabled-copy-app.raw"), *other = at("portables/app"),
                            *hidden_other = at("portables/.#admin");
        _cleanup_(portable_changes_done) PortableChanges dry = {}, real = {};

        unit_write(half_tree, "x");
        unit_write(half_file, "raw");
        unit_write(other, "admin's");
        unit_write(hidden_other, "admin's");

        cr_assert(eq(int, image_copy_remove_leftovers(dir, /* dry_run= */ true, &dry), 0));
        cr_assert(eq(sz, dry.n, 2));
        cr_assert(eq(int, access(half_file, F_OK), 0), "a dry run removes nothing");

        cr_assert(eq(int, image_copy_remove_leftovers(dir, /* dry_run= */ false, &real), 0));
        cr_assert(eq(sz, real.n, 2));
        for (size_t i = 0; i < real.n; i++) {
                cr_assert(eq(int, real.items[i].type, PORTABLE_UNLINK));
                cr_assert(not(zero(ptr, strstr(real.items[i].path, "/portables/.#portabled-copy-app"))), "%s",
                          real.items[i].path);
                cr_assert(eq(int, access(real.items[i].path, F_OK), -1), "%s is still there", real.items[i].path);
        }
        cr_assert(eq(int, access(other, F_OK), 0));
        cr_assert(eq(int, access(hidden_other, F_OK), 0));
}

Test(image_copy, after_attach) {
        _cleanup_free_ char *image = at("images/app_3"), *dir = at("portables"), *link = at("portables/app_3"),
                            *unit = at("images/app_3/x"), *elsewhere = at("attached/app.service"),
                            *half = at("portables/.#portabled-copy-app_3/x");
        _cleanup_(portable_changes_done) PortableChanges c = {};
        char *images[] = { image, NULL };

        unit_write(unit, "x");
        unit_symlink(image, link);
        cr_assert(eq(int, portable_changes_add(&c, PORTABLE_SYMLINK, link, image), 0));
        /* A link elsewhere (a unit file linked with --copy=symlink) is no image entry. */
        cr_assert(eq(int, portable_changes_add(&c, PORTABLE_SYMLINK, elsewhere, image), 0));

        image_copy_after_attach(dir, images, IMAGE_COPY_PLAN, &c);
        cr_assert(eq(int, c.items[0].type, PORTABLE_COPY));
        cr_assert(eq(int, c.items[1].type, PORTABLE_SYMLINK));
        cr_assert(is_symlink(link), "a dry run copies nothing");

        /* What another process copied is collected, and nothing else; what it left of a copy it
         * did not finish goes. */
        c.items[0].type = PORTABLE_SYMLINK;
        unit_write(half, "half");
        image_copy_after_attach(dir, images, IMAGE_COPY_COLLECT, &c);
        cr_assert(eq(int, c.items[0].type, PORTABLE_SYMLINK), "not copied yet");
        cr_assert(eq(int, access(half, F_OK), -1), "the half copy is gone");
        cr_assert(is_symlink(link));

        image_copy_after_attach(dir, images, IMAGE_COPY_MAKE, &c);
        cr_assert(eq(int, c.items[0].type, PORTABLE_COPY));
        cr_assert(eq(int, is_symlink(link), 0));
        cr_assert(image_copy_is_ours(link, image));

        c.items[0].type = PORTABLE_SYMLINK;
        image_copy_after_attach(dir, images, IMAGE_COPY_COLLECT, &c);
        cr_assert(eq(int, c.items[0].type, PORTABLE_COPY), "copied now");
        cr_assert(eq(int, c.items[1].type, PORTABLE_SYMLINK));
}
