/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <criterion/criterion.h>
#include <criterion/new/assert.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fd-util.h"
#include "image-ops.h"
#include "image.h"
#include "unit-helpers.h"

static char *tmp, *root, *mounted, *loop_backing;
static Host host;

static void setup(void) {
        tmp = unit_mkdtemp("image-ops");
        root = unit_strf("%s/root", tmp);
        unit_mkdir_p(root, 0755);
        host = (Host) { .root = root };
}

static void teardown(void) {
        if (mounted)
                (void) umount2(mounted, MNT_DETACH);
        if (loop_backing)
                (void) unit_run("losetup -j '%s' -O NAME -n | xargs -r -n1 losetup -d", loop_backing);
        unit_rm_rf(tmp);
        free(loop_backing);
        free(mounted);
        free(root);
        free(tmp);
}

TestSuite(image_ops, .init = setup, .fini = teardown);

static char *at(const char *rel) {
        return unit_strf("%s%s", tmp, rel);
}

static bool exists(const char *rel) {
        _cleanup_free_ char *p = at(rel);
        struct stat st;

        return lstat(p, &st) >= 0;
}

static void put(const char *rel, const char *content) {
        _cleanup_free_ char *p = at(rel);
        unit_write(p, content);
}

static Image *image_at(const char *rel) {
        _cleanup_free_ char *p = at(rel);
        Image *image = NULL;

        cr_assert(eq(int, image_from_path(p, &image), 0), "image_from_path(%s)", p);
        return image;
}

/* ---------------------------------------------------------------------------------- remove */

Test(image_ops, remove_directory_tree) {
        _cleanup_free_ char *fifo = at("/img/run/fifo"), *run = at("/img/run"), *link1 = at("/img/etc/host-secret"),
                            *link2 = at("/img/etc/host-dir"), *outside = at("/outside"), *secret = at("/outside/secret"),
                            *c = NULL;

        put("/img/usr/lib/os-release", "ID=x\n");
        put("/img/usr/lib/systemd/system/x.service", "[Service]\n");
        put("/img/deep/a/b/c/d/e/f", "deep\n");
        put("/outside/secret", "host data\n");
        unit_mkdir_p(run, 0755);
        cr_assert(eq(int, mkfifo(fifo, 0644), 0));
        /* Links out of the image: removed as links, never followed. */
        unit_symlink(secret, link1);
        unit_symlink(outside, link2);
        {
                _cleanup_free_ char *ro = at("/img/readonly");
                unit_mkdir_p(ro, 0755);
                put("/img/readonly/f", "x");
                cr_assert(eq(int, chmod(ro, 0555), 0));
        }

        _cleanup_(image_freep) Image *image = image_at("/img");
        cr_assert(eq(int, image_remove(image), 0));
        cr_assert(not(exists("/img")));
        c = unit_read(secret);
        assert_str(c, "host data\n");
        cr_assert(exists("/outside"));
}

Test(image_ops, remove_raw_with_sidecars) {
        static const char *const sidecars[] = { ".roothash", ".roothash.p7s", ".usrhash", ".usrhash.p7s", ".verity", ".nspawn" };
        static const char *const unrelated[] = { "/pool/foo.raw.bak", "/pool/foo.conf", "/pool/foo_2.raw", "/pool/foo.raw.roothash" };

        put("/pool/foo.raw", "raw");
        for (size_t i = 0; i < ELEMENTSOF(sidecars); i++) {
                _cleanup_free_ char *p = unit_strf("/pool/foo%s", sidecars[i]);
                put(p, "sidecar");
        }
        for (size_t i = 0; i < ELEMENTSOF(unrelated); i++)
                put(unrelated[i], "keep");

        _cleanup_(image_freep) Image *image = image_at("/pool/foo.raw");
        cr_assert(eq(int, image_remove(image), 0));
        cr_assert(not(exists("/pool/foo.raw")));
        for (size_t i = 0; i < ELEMENTSOF(sidecars); i++) {
                _cleanup_free_ char *p = unit_strf("/pool/foo%s", sidecars[i]);
                cr_assert(not(exists(p)), "%s left behind", p);
        }
        for (size_t i = 0; i < ELEMENTSOF(unrelated); i++)
                cr_assert(exists(unrelated[i]), "%s removed", unrelated[i]);
}

Test(image_ops, remove_symlink_not_target) {
        _cleanup_free_ char *target = at("/store/app"), *link = unit_strf("%s/etc/portables/app", root);
        _cleanup_(image_freep) Image *image = NULL;

        put("/store/app/usr/lib/os-release", "ID=x\n");
        unit_symlink(target, link);
        cr_assert(eq(int, image_find(&host, "app", &image), 0));
        assert_str(image->path, link);

        cr_assert(eq(int, image_remove(image), 0));
        cr_assert(ne(int, access(link, F_OK), 0));
        cr_assert(exists("/store/app/usr/lib/os-release"));
}

Test(image_ops, remove_raw_symlink_keeps_target_sidecars) {
        _cleanup_free_ char *target = at("/store/foo.raw"), *link = unit_strf("%s/etc/portables/foo.raw", root);
        _cleanup_(image_freep) Image *image = NULL;

        put("/store/foo.raw", "raw");
        put("/store/foo.roothash", "hash");
        unit_symlink(target, link);
        cr_assert(eq(int, image_find(&host, "foo", &image), 0));
        cr_assert(eq(int, image_remove(image), 0));
        cr_assert(exists("/store/foo.raw"));
        cr_assert(exists("/store/foo.roothash"));
}

Test(image_ops, remove_vendor_refused) {
        Image image = { .type = IMAGE_DIRECTORY, .name = (char *) "x", .path = (char *) "/usr/lib/portables/x" };
        Image raw = { .type = IMAGE_RAW, .name = (char *) "y", .path = (char *) "/usr/share/y.raw" };

        cr_assert(eq(int, image_remove(&image), -EROFS));
        cr_assert(eq(int, image_remove(&raw), -EROFS));
}

Test(image_ops, remove_missing) {
        _cleanup_free_ char *p = at("/nope");
        Image image = { .type = IMAGE_DIRECTORY, .name = (char *) "nope", .path = p };

        cr_assert(eq(int, image_remove(&image), -ENOENT));
}

Test(image_ops, remove_other_file_types_refused) {
        _cleanup_free_ char *p = at("/fifo.raw");
        Image image = { .type = IMAGE_RAW, .name = (char *) "fifo", .path = p };

        cr_assert(eq(int, mkfifo(p, 0644), 0));
        cr_assert(eq(int, image_remove(&image), -EMEDIUMTYPE));
        cr_assert(exists("/fifo.raw"));
}

Test(image_ops, remove_never_crosses_mounts) {
        _cleanup_free_ char *mnt = at("/img/mnt"), *inside = NULL, *c = NULL;

        unit_private_mount_namespace();

        put("/img/usr/lib/os-release", "ID=x\n");
        unit_mkdir_p(mnt, 0755);
        cr_assert(eq(int, mount("tmpfs", mnt, "tmpfs", 0, "mode=0755"), 0));
        mounted = strdup(mnt);
        inside = unit_strf("%s/precious", mnt);
        unit_write(inside, "on another file system\n");

        _cleanup_(image_freep) Image *image = image_at("/img");
        cr_assert(eq(int, image_remove(image), -EXDEV));
        c = unit_read(inside);
        assert_str(c, "on another file system\n");
}

/* A bind mount of a directory on the image's own file system has the same st_dev as the image:
 * only the mount ID tells that it is not part of the image. */
Test(image_ops, remove_never_crosses_a_bind_mount_of_the_same_file_system) {
        _cleanup_free_ char *host_dir = at("/host-data"), *mnt = at("/img/host"), *c = NULL,
                            *precious = at("/host-data/precious");

        unit_private_mount_namespace();

        put("/img/usr/lib/os-release", "ID=x\n");
        put("/host-data/precious", "the host's\n");
        unit_mkdir_p(mnt, 0755);
        cr_assert(eq(int, mount(host_dir, mnt, "none", MS_BIND, NULL), 0));
        mounted = strdup(mnt);

        _cleanup_(image_freep) Image *image = image_at("/img");
        cr_assert(eq(int, image_remove(image), -EXDEV));
        c = unit_read(precious);
        assert_str(c, "the host's\n");
}

/* ------------------------------------------------------------------------------- read-only */

Test(image_ops, mark_raw) {
        _cleanup_free_ char *p = at("/foo.raw");
        struct stat st;

        unit_write_data(p, "raw", 3, 0664);
        _cleanup_(image_freep) Image *image = image_at("/foo.raw");
        cr_assert(not(image->read_only));

        cr_assert(eq(int, image_mark_read_only(image, true), 0));
        cr_assert(eq(int, stat(p, &st), 0));
        cr_assert(eq(uint, st.st_mode & 07777, 0444), "read bits kept, every write bit gone");
        _cleanup_(image_freep) Image *again = image_at("/foo.raw");
        cr_assert(again->read_only);

        cr_assert(eq(int, image_mark_read_only(image, false), 0));
        cr_assert(eq(int, stat(p, &st), 0));
        cr_assert(eq(uint, st.st_mode & 0200, 0200), "owner write bit back");
        cr_assert(eq(uint, st.st_mode & 0444, 0444));
        _cleanup_(image_freep) Image *rw = image_at("/foo.raw");
        cr_assert(not(rw->read_only));
}

Test(image_ops, mark_directory_immutable) {
        _cleanup_free_ char *dir = at("/img"), *f = at("/img/new");
        _cleanup_close_ int fd = -EBADF;
        unsigned attrs = 0;

        put("/img/usr/lib/os-release", "ID=x\n");
        fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        cr_assert(fd >= 0);
        if (ioctl(fd, FS_IOC_GETFLAGS, &attrs) < 0)
                cr_skip_test("file attributes are not supported here");

        _cleanup_(image_freep) Image *image = image_at("/img");
        cr_assert(eq(int, image_mark_read_only(image, true), 0));
        cr_assert(eq(int, ioctl(fd, FS_IOC_GETFLAGS, &attrs), 0));
        cr_assert(holds(attrs & FS_IMMUTABLE_FL));
        _cleanup_(image_freep) Image *ro = image_at("/img");
        cr_assert(ro->read_only);
        cr_assert(lt(int, open(f, O_WRONLY | O_CREAT | O_CLOEXEC, 0644), 0));

        cr_assert(eq(int, image_mark_read_only(image, false), 0));
        cr_assert(eq(int, ioctl(fd, FS_IOC_GETFLAGS, &attrs), 0));
        cr_assert(not(holds(attrs & FS_IMMUTABLE_FL)));
        _cleanup_(image_freep) Image *rw = image_at("/img");
        cr_assert(not(rw->read_only));
}

Test(image_ops, mark_block_device) {
        _cleanup_free_ char *backing = at("/disk.img"), *dev = NULL;
        _cleanup_close_ int fd = -EBADF;
        FILE *f;
        char buf[64] = {};
        int ro = -1;

        if (geteuid() != 0 || !unit_have_program("losetup"))
                cr_skip_test("loop devices need root and losetup");
        unit_write(backing, "");
        cr_assert(eq(int, truncate(backing, 1024 * 1024), 0));
        loop_backing = strdup(backing);

        dev = unit_strf("losetup -f --show '%s' 2>/dev/null", backing);
        f = popen(dev, "re");
        cr_assert(f != NULL);
        if (!fgets(buf, sizeof(buf), f))
                buf[0] = '\0';
        pclose(f);
        buf[strcspn(buf, "\n")] = '\0';
        if (buf[0] != '/')
                cr_skip_test("no free loop device");

        Image *image = NULL;
        cr_assert(eq(int, image_from_path(buf, &image), 0), "%s", buf);
        cr_assert(eq(int, image->type, IMAGE_BLOCK));
        cr_assert(eq(u64, image->usage, 1024 * 1024));
        cr_assert(not(image->read_only));

        cr_assert(eq(int, image_mark_read_only(image, true), 0));
        fd = open(buf, O_RDONLY | O_CLOEXEC);
        cr_assert(fd >= 0);
        cr_assert(eq(int, ioctl(fd, BLKROGET, &ro), 0));
        cr_assert(eq(int, ro, 1));
        cr_assert(eq(int, image_mark_read_only(image, false), 0));
        cr_assert(eq(int, ioctl(fd, BLKROGET, &ro), 0));
        cr_assert(eq(int, ro, 0));
        image_free(image);
}

Test(image_ops, mark_vendor_refused) {
        Image image = { .type = IMAGE_RAW, .name = (char *) "x", .path = (char *) "/usr/lib/portables/x.raw" };

        cr_assert(eq(int, image_mark_read_only(&image, true), -EROFS));
        cr_assert(eq(int, image_mark_read_only(&image, false), -EROFS));
}

Test(image_ops, mark_missing_and_wrong_type) {
        _cleanup_free_ char *missing = at("/missing.raw"), *fifo = at("/fifo.raw");
        Image a = { .type = IMAGE_RAW, .name = (char *) "missing", .path = missing };
        Image b = { .type = IMAGE_RAW, .name = (char *) "fifo", .path = fifo };

        cr_assert(eq(int, mkfifo(fifo, 0644), 0));
        cr_assert(eq(int, image_mark_read_only(&a, true), -ENOENT));
        cr_assert(eq(int, image_mark_read_only(&b, true), -EMEDIUMTYPE));
}
