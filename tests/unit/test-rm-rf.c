/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <criterion/criterion.h>
#include <criterion/new/assert.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fd-util.h"
#include "rm-rf.h"
#include "unit-helpers.h"

static char *tmp, *mounted;
static int tmp_fd = -EBADF;

static void setup(void) {
        tmp = unit_mkdtemp("rm-rf");
        tmp_fd = open(tmp, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        cr_assert(tmp_fd >= 0);
}

static void teardown(void) {
        if (mounted)
                (void) umount2(mounted, MNT_DETACH);
        tmp_fd = safe_close(tmp_fd);
        unit_rm_rf(tmp);
        free(mounted);
        free(tmp);
}

TestSuite(rm_rf, .init = setup, .fini = teardown);

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

/* A descriptor opened before the unshare still refers to the old namespace's mounts. */
static void private_mount_namespace(void) {
        unit_private_mount_namespace();
        (void) safe_close(tmp_fd);
        tmp_fd = open(tmp, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        cr_assert(tmp_fd >= 0);
}

static void mount_at(const char *rel, const char *source_rel) {
        _cleanup_free_ char *where = at(rel), *source = source_rel ? at(source_rel) : NULL;

        unit_mkdir_p(where, 0755);
        if (source)
                cr_assert(eq(int, mount(source, where, "none", MS_BIND, NULL), 0), "bind %s: %m", where);
        else
                cr_assert(eq(int, mount("tmpfs", where, "tmpfs", 0, "mode=0755"), 0), "tmpfs %s: %m", where);
        mounted = strdup(where);
}

/* A chain of n nested directories d/d/d/... below rel, with a file at the bottom. */
static void nest(const char *rel, unsigned n) {
        size_t size = strlen(rel) + 2 * (size_t) n + sizeof("/bottom");
        _cleanup_free_ char *p = malloc(size);
        char *e;

        cr_assert(p != NULL);
        e = stpcpy(p, rel);
        for (unsigned i = 0; i < n; i++)
                e = stpcpy(e, "/d");
        strcpy(e, "/bottom");
        put(p, "deep\n");
}

Test(rm_rf, removes_a_tree_with_every_kind_of_entry) {
        _cleanup_free_ char *fifo = at("/t/sub/fifo"), *link = at("/t/sub/link");

        put("/t/a", "a\n");
        put("/t/sub/deeper/b", "b\n");
        unit_symlink("../a", link);
        cr_assert(eq(int, mkfifo(fifo, 0600), 0));

        cr_assert(eq(int, rm_rf_beneath(tmp_fd, "t"), 0));
        cr_assert(not(exists("/t")));
}

Test(rm_rf, children_only_keeps_the_directory) {
        _cleanup_close_ int fd = -EBADF;

        put("/t/a", "a\n");
        put("/t/sub/b", "b\n");
        fd = openat(tmp_fd, "t", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        cr_assert(fd >= 0);

        cr_assert(eq(int, rm_rf_children_beneath(fd), 0));
        cr_assert(exists("/t"));
        cr_assert(not(exists("/t/a")));
        cr_assert(not(exists("/t/sub")));
}

Test(rm_rf, symlinks_are_removed_not_followed) {
        _cleanup_free_ char *to_dir = at("/t/to-dir"), *to_file = at("/t/to-file"), *keep = at("/outside/keep");

        put("/outside/keep", "kept\n");
        unit_symlink("../outside", to_dir);
        unit_symlink(keep, to_file);

        cr_assert(eq(int, rm_rf_beneath(tmp_fd, "t"), 0));
        cr_assert(not(exists("/t")));
        cr_assert(exists("/outside/keep"));
}

Test(rm_rf, a_missing_name_is_not_an_error) {
        cr_assert(eq(int, rm_rf_beneath(tmp_fd, "nothing-here"), 0));
}

/* The same file system, bind mounted: st_dev is the same, the mount is not. */
Test(rm_rf, stops_at_a_bind_mount_and_removes_the_rest) {
        _cleanup_free_ char *c = NULL, *precious = at("/host/precious");

        private_mount_namespace();
        put("/host/precious", "the host's\n");
        /* Enough siblings that some come after the mount point in readdir() order, whatever the
         * file system's hash order is. */
        for (unsigned i = 0; i < 16; i++) {
                _cleanup_free_ char *rel = unit_strf("/t/sibling-%u/file", i);
                put(rel, "x\n");
        }
        mount_at("/t/mnt", "/host");

        cr_assert(eq(int, rm_rf_beneath(tmp_fd, "t"), -EXDEV));
        c = unit_read(precious);
        assert_str(c, "the host's\n");
        cr_assert(exists("/t/mnt"));
        for (unsigned i = 0; i < 16; i++) {
                _cleanup_free_ char *rel = unit_strf("/t/sibling-%u", i);
                cr_assert(not(exists(rel)), "%s left behind", rel);
        }
}

Test(rm_rf, a_name_that_is_a_mount_point_is_refused_untouched) {
        private_mount_namespace();
        mount_at("/t", NULL);
        put("/t/inside", "on tmpfs\n");

        cr_assert(eq(int, rm_rf_beneath(tmp_fd, "t"), -EXDEV));
        cr_assert(exists("/t/inside"));
}

Test(rm_rf, children_of_another_mount_stay) {
        _cleanup_close_ int fd = -EBADF;

        private_mount_namespace();
        put("/t/keep", "k\n");
        mount_at("/t/tmp", NULL);
        put("/t/tmp/inside", "on tmpfs\n");
        fd = openat(tmp_fd, "t", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        cr_assert(fd >= 0);

        cr_assert(eq(int, rm_rf_children_beneath(fd), -EXDEV));
        cr_assert(exists("/t/tmp/inside"));
        cr_assert(not(exists("/t/keep")));
}

Test(rm_rf, depth_limit) {
        /* "t" and 255 directories below it: 256 levels, all removed. */
        nest("/t", 255);
        cr_assert(eq(int, rm_rf_beneath(tmp_fd, "t"), 0));
        cr_assert(not(exists("/t")));

        /* One more is refused, and the levels above it stay (they are not empty). */
        nest("/u", 256);
        cr_assert(eq(int, rm_rf_beneath(tmp_fd, "u"), -ELOOP));
        cr_assert(exists("/u"));
}
