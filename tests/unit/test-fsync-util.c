/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <criterion/criterion.h>
#include <criterion/new/assert.h>
#include <linux/magic.h>
#include <stdarg.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include "fsync-util.h"
#include "macro.h"
#include "strv.h"
#include "unit-helpers.h"

#define STRV_MAKE(...) ((char *[]) { __VA_ARGS__, NULL })

static char *tmp;
static bool tmp_is_volatile;

static void setup(void) {
        struct statfs sfs;

        tmp = unit_mkdtemp_durable("fsync");
        cr_assert(eq(int, statfs(tmp, &sfs), 0));
        tmp_is_volatile = sfs.f_type == TMPFS_MAGIC || sfs.f_type == RAMFS_MAGIC;
}

static void teardown(void) {
        _cleanup_free_ char *mnt = unit_strf("%s/volatile", tmp);

        (void) umount2(mnt, MNT_DETACH);
        unit_rm_rf(tmp);
        free(tmp);
}

/* A path list of paths relative to tmp ("" is tmp itself), NULL-terminated. */
static char **paths(const char *first, ...) {
        char **l = NULL;
        va_list ap;

        va_start(ap, first);
        for (const char *p = first; p; p = va_arg(ap, const char *))
                cr_assert(eq(int, strv_consume(&l, *p ? unit_strf("%s/%s", tmp, p) : strdup(tmp)), 0));
        va_end(ap);
        return l;
}

TestSuite(fsync_util, .init = setup, .fini = teardown);

/* What fsync_paths() is expected to count for n paths on the test's file system. */
static int expected(int n) {
        return tmp_is_volatile ? 0 : n;
}

Test(fsync_util, nothing_to_do) {
        cr_assert(eq(int, fsync_paths(NULL, NULL), 0));
        cr_assert(eq(int, fsync_paths((char *[]) { NULL }, (char *[]) { NULL }), 0));
}

Test(fsync_util, files_and_directories) {
        _cleanup_strv_free_ char **files = paths("d/a", "d/b", NULL), **dirs = paths("d", "", NULL);

        unit_write(files[0], "a");
        unit_write(files[1], "b");
        cr_assert(eq(int, fsync_paths(files, dirs), expected(4)));
        cr_assert(eq(int, fsync_paths(files, NULL), expected(2)));
        cr_assert(eq(int, fsync_paths(NULL, dirs), expected(2)));
}

/* One thread per path up to a limit, the rest shared: every path is synced once. */
Test(fsync_util, many_paths) {
        _cleanup_strv_free_ char **files = NULL;

        for (int i = 0; i < 100; i++) {
                char *p = unit_strf("%s/f%d", tmp, i);

                unit_write(p, "x");
                cr_assert(eq(int, strv_consume(&files, p), 0));
        }
        cr_assert(eq(int, fsync_paths(files, STRV_MAKE(tmp)), expected(101)));
}

/* Gone paths and symlinks given as files are not errors: their directories hold what matters. */
Test(fsync_util, skips_what_is_not_there) {
        _cleanup_strv_free_ char **files = paths("gone", "link", "gone/deeper", NULL),
                                 **dirs = paths("gone-dir", "", NULL);

        unit_symlink("/etc/os-release", files[1]);
        cr_assert(eq(int, fsync_paths(files, dirs), expected(1)));
}

/* A directory reached through a symlink is synced (it is what the caller names). */
Test(fsync_util, directory_through_symlink) {
        _cleanup_free_ char *dir = unit_strf("%s/real", tmp), *link = unit_strf("%s/alias", tmp);

        unit_mkdir_p(dir, 0755);
        unit_symlink(dir, link);
        cr_assert(eq(int, fsync_paths(NULL, STRV_MAKE(link)), expected(1)));
}

/* A failing fsync() is reported, after the others were made. */
Test(fsync_util, error_is_reported) {
        _cleanup_free_ char *fifo = unit_strf("%s/fifo", tmp), *file = unit_strf("%s/file", tmp);

        if (tmp_is_volatile)
                cr_skip_test("the test directory is on a volatile file system, where nothing is synced");
        unit_write(file, "x");
        cr_assert(eq(int, mkfifo(fifo, 0600), 0));
        cr_assert(eq(int, fsync_paths(STRV_MAKE(file, fifo), STRV_MAKE(tmp)), -EINVAL));
}

/* Nothing on tmpfs is synced: fsync() there keeps nothing across a reboot anyway. */
Test(fsync_util, volatile_file_system_is_skipped) {
        _cleanup_free_ char *mnt = unit_strf("%s/volatile", tmp), *file = unit_strf("%s/volatile/f", tmp);

        if (geteuid() != 0)
                cr_skip_test("needs root to mount a tmpfs");
        unit_mkdir_p(mnt, 0755);
        cr_assert(eq(int, mount("fsync-test", mnt, "tmpfs", 0, "mode=0755"), 0));
        unit_write(file, "x");
        cr_assert(eq(int, fsync_paths(STRV_MAKE(file), STRV_MAKE(mnt)), 0));
        /* On the same call, a path elsewhere is still synced. */
        cr_assert(eq(int, fsync_paths(STRV_MAKE(file), STRV_MAKE(mnt, tmp)), expected(1)));
}
