/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <criterion/criterion.h>
#include <criterion/new/assert.h>
#include <fcntl.h>
#include <sched.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fd-util.h"
#include "unit-helpers.h"

static char *tmp;

static void setup(void) {
        _cleanup_free_ char *a = NULL, *b = NULL;

        tmp = unit_mkdtemp("fd-util");
        a = unit_strf("%s/a", tmp);
        b = unit_strf("%s/b", tmp);
        unit_write(a, "");
        unit_write(b, "");
}

static void teardown(void) {
        unit_rm_rf(tmp);
        free(tmp);
}

TestSuite(fd_util, .init = setup, .fini = teardown);

static size_t count_entries(DIR *d) {
        struct dirent *de;
        size_t n = 0;

        while ((de = readdir(d)))
                if (!streq(de->d_name, ".") && !streq(de->d_name, ".."))
                        n++;
        return n;
}

Test(fd_util, opendir_dup_leaves_the_fd_to_the_caller) {
        _cleanup_close_ int fd = open(tmp, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        DIR *d;

        cr_assert(fd >= 0);
        d = fd_opendir_dup(fd);
        cr_assert(d != NULL);
        cr_assert(ne(int, dirfd(d), fd));
        cr_assert(holds(fcntl(dirfd(d), F_GETFD) & FD_CLOEXEC));
        cr_assert(eq(sz, count_entries(d), 2));
        closedir(d);

        /* The caller's fd still works, and can be listed again from the start. */
        cr_assert(ge(int, fcntl(fd, F_GETFD), 0));
        d = fd_opendir_dup(fd);
        cr_assert(d != NULL);
        cr_assert(eq(sz, count_entries(d), 2));
        closedir(d);
}

Test(fd_util, opendir_dup_of_o_path_fd) {
        _cleanup_close_ int fd = open(tmp, O_PATH | O_DIRECTORY | O_CLOEXEC);
        _cleanup_closedir_ DIR *d = NULL;

        cr_assert(fd >= 0);
        d = fd_opendir_dup(fd);
        cr_assert(d != NULL);
        cr_assert(eq(sz, count_entries(d), 2));
}

Test(fd_util, opendir_dup_failures) {
        _cleanup_free_ char *a = unit_strf("%s/a", tmp);
        _cleanup_close_ int file = open(a, O_RDONLY | O_CLOEXEC);

        cr_assert(zero(ptr, fd_opendir_dup(-EBADF)));
        cr_assert(zero(ptr, fd_opendir_dup(file)));
        cr_assert(eq(int, errno, ENOTDIR));
}

Test(fd_util, safe_close) {
        int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);

        cr_assert(fd >= 0);
        errno = 1234;
        cr_assert(eq(int, safe_close(fd), -EBADF));
        cr_assert(eq(int, errno, 1234), "errno is preserved");
        cr_assert(lt(int, fcntl(fd, F_GETFD), 0));
        cr_assert(eq(int, safe_close(-EBADF), -EBADF));
        cr_assert(eq(int, safe_close(-1), -EBADF));
}

Test(fd_util, mount_id_tells_mounts_apart_and_follows_no_symlink) {
        _cleanup_free_ char *link = unit_strf("%s/link", tmp), *mnt = unit_strf("%s/mnt", tmp);
        _cleanup_close_ int dir_fd = open(tmp, O_PATH | O_DIRECTORY | O_CLOEXEC);
        uint64_t own, file, linked, mounted;
        mode_t mode;

        cr_assert(dir_fd >= 0);
        unit_symlink("/", link);
        cr_assert(eq(int, fd_mount_id(dir_fd, "", &own, &mode), 0));
        cr_assert(eq(u32, mode & S_IFMT, S_IFDIR));
        cr_assert(eq(int, fd_mount_id(dir_fd, "a", &file, &mode), 0));
        cr_assert(eq(u32, mode & S_IFMT, S_IFREG));
        cr_assert(eq(u64, file, own));
        cr_assert(eq(int, fd_mount_id(dir_fd, "link", &linked, &mode), 0));
        cr_assert(eq(u32, mode & S_IFMT, S_IFLNK), "the link itself, not what it points to");
        cr_assert(eq(int, fd_mount_id(dir_fd, "missing", &linked, NULL), -ENOENT));

        unit_private_mount_namespace();
        unit_mkdir_p(mnt, 0755);
        cr_assert(eq(int, mount("tmpfs", mnt, "tmpfs", 0, "mode=0755"), 0));
        safe_close(dir_fd);
        dir_fd = open(tmp, O_PATH | O_DIRECTORY | O_CLOEXEC); /* one that sees the new mount */
        cr_assert(dir_fd >= 0);
        cr_assert(eq(int, fd_mount_id(dir_fd, "mnt", &mounted, &mode), 0));
        cr_assert(eq(u32, mode & S_IFMT, S_IFDIR));
        cr_assert(ne(u64, mounted, own));
}
