/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <criterion/criterion.h>
#include <criterion/new/assert.h>
#include <dirent.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "portable-limits.h"
#include "fd-util.h"
#include "fileio.h"
#include "unit-helpers.h"

static char *tmp;
static int dir_fd = -EBADF;

static void setup(void) {
        tmp = unit_mkdtemp("fileio");
        dir_fd = open(tmp, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        cr_assert(dir_fd >= 0);
}

static void teardown(void) {
        dir_fd = safe_close(dir_fd);
        unit_rm_rf(tmp);
        free(tmp);
}

TestSuite(fileio, .init = setup, .fini = teardown);

static int open_file(const char *name) {
        _cleanup_free_ char *p = unit_strf("%s/%s", tmp, name);
        int fd = open(p, O_RDONLY | O_CLOEXEC);

        cr_assert(fd >= 0, "open(%s)", p);
        return fd;
}

/* Names in the directory other than "." and "..", to catch left-over temporary files. */
static char *dir_listing(void) {
        _cleanup_closedir_ DIR *d = opendir(tmp);
        struct dirent *de;
        char *out = unit_strf("%s", "");

        cr_assert(d != NULL);
        while ((de = readdir(d))) {
                char *n;

                if (streq(de->d_name, ".") || streq(de->d_name, ".."))
                        continue;
                n = unit_strf("%s%s%s", out, *out ? " " : "", de->d_name);
                free(out);
                out = n;
        }
        return out;
}

Test(fileio, read_full_fd_small) {
        _cleanup_close_ int fd = -EBADF;
        _cleanup_free_ char *data = NULL;
        _cleanup_free_ char *p = unit_strf("%s/a", tmp);
        size_t size = 0;

        unit_write(p, "hello\nworld\n");
        fd = open_file("a");
        cr_assert(eq(int, read_full_fd(fd, 1024, &data, &size), 0));
        cr_assert(eq(sz, size, 12));
        assert_str(data, "hello\nworld\n");
}

Test(fileio, read_full_fd_empty_is_terminated) {
        _cleanup_close_ int fd = -EBADF;
        _cleanup_free_ char *data = NULL;
        _cleanup_free_ char *p = unit_strf("%s/empty", tmp);
        size_t size = 42;

        unit_write(p, "");
        fd = open_file("empty");
        cr_assert(eq(int, read_full_fd(fd, 1024, &data, &size), 0));
        cr_assert(eq(sz, size, 0));
        cr_assert(not(zero(ptr, data)));
        cr_assert(eq(chr, data[0], '\0'));
}

Test(fileio, read_full_fd_size_optional_and_from_offset) {
        _cleanup_close_ int fd = -EBADF;
        _cleanup_free_ char *data = NULL, *p = unit_strf("%s/a", tmp);

        unit_write(p, "0123456789");
        fd = open_file("a");
        cr_assert(eq(long, (long) lseek(fd, 4, SEEK_SET), 4));
        cr_assert(eq(int, read_full_fd(fd, 1024, &data, /* ret_size= */ NULL), 0));
        assert_str(data, "456789");
}

Test(fileio, read_full_fd_limit_is_inclusive) {
        _cleanup_close_ int fd = -EBADF, fd2 = -EBADF;
        _cleanup_free_ char *big = malloc(100001), *data = NULL, *data2 = NULL;
        _cleanup_free_ char *exact = unit_strf("%s/exact", tmp), *over = unit_strf("%s/over", tmp);
        size_t size;

        cr_assert(not(zero(ptr, big)));
        memset(big, 'x', 100001);
        unit_write_data(exact, big, 100000, 0644);
        unit_write_data(over, big, 100001, 0644);

        fd = open_file("exact");
        cr_assert(eq(int, read_full_fd(fd, 100000, &data, &size), 0));
        cr_assert(eq(sz, size, 100000));
        cr_assert(eq(sz, strlen(data), 100000));

        fd2 = open_file("over");
        data2 = (char *) 0x1;
        cr_assert(eq(int, read_full_fd(fd2, 100000, &data2, &size), -EFBIG));
        cr_assert(eq(ptr, data2, (char *) 0x1), "output must not be touched on failure");
        data2 = NULL;
}

/* A hostile image can hold a unit file of any size: more than the 4 MiB limit must be refused
 * without reading (let alone allocating) all of it. */
Test(fileio, read_full_fd_huge_file_refused) {
        _cleanup_close_ int fd = -EBADF;
        _cleanup_free_ char *p = unit_strf("%s/huge", tmp), *data = NULL;
        size_t size;

        unit_write(p, "");
        cr_assert(eq(int, truncate(p, (off_t) PORTABLE_SIZE_MAX_UNIT_FILE + 1), 0));
        fd = open_file("huge");
        cr_assert(eq(int, read_full_fd(fd, PORTABLE_SIZE_MAX_UNIT_FILE, &data, &size), -EFBIG));
        cr_assert(zero(ptr, data));

        /* Exactly 4 MiB is still fine. */
        cr_assert(eq(int, truncate(p, (off_t) PORTABLE_SIZE_MAX_UNIT_FILE), 0));
        cr_assert(eq(long, (long) lseek(fd, 0, SEEK_SET), 0));
        cr_assert(eq(int, read_full_fd(fd, PORTABLE_SIZE_MAX_UNIT_FILE, &data, &size), 0));
        cr_assert(eq(sz, size, PORTABLE_SIZE_MAX_UNIT_FILE));
}

Test(fileio, read_full_fd_pipe) {
        _cleanup_close_pair_ int p[2] = { -EBADF, -EBADF };
        _cleanup_free_ char *data = NULL, *data2 = NULL;
        size_t size;

        /* No size known in advance: the limit must still hold. */
        cr_assert(eq(int, pipe2(p, O_CLOEXEC), 0));
        cr_assert(eq(long, (long) write(p[1], "abcdef", 6), 6));
        p[1] = safe_close(p[1]);
        cr_assert(eq(int, read_full_fd(p[0], 5, &data, &size), -EFBIG));

        p[0] = safe_close(p[0]);
        cr_assert(eq(int, pipe2(p, O_CLOEXEC), 0));
        cr_assert(eq(long, (long) write(p[1], "abcde", 5), 5));
        p[1] = safe_close(p[1]);
        cr_assert(eq(int, read_full_fd(p[0], 5, &data2, &size), 0));
        assert_str(data2, "abcde");
}

Test(fileio, read_full_fd_bad_fd) {
        _cleanup_free_ char *data = NULL;
        _cleanup_close_ int fd = open(tmp, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

        cr_assert(eq(int, read_full_fd(-EBADF, 10, &data, NULL), -EBADF));
        cr_assert(eq(int, read_full_fd(fd, 10, &data, NULL), -EISDIR));
}

Test(fileio, write_atomic_creates_with_mode) {
        _cleanup_free_ char *p = unit_strf("%s/new.conf", tmp), *content = NULL, *ls = NULL;
        struct stat st;

        umask(0077);
        cr_assert(eq(int, write_file_atomic_at(dir_fd, "new.conf", "abc\n", 4, 0644, false), 0));
        content = unit_read(p);
        assert_str(content, "abc\n");
        cr_assert(eq(int, stat(p, &st), 0));
        cr_assert(eq(uint, st.st_mode & 07777, 0644), "the mode is exact, whatever the umask");
        ls = dir_listing();
        assert_str(ls, "new.conf");
}

Test(fileio, write_atomic_no_replace) {
        _cleanup_free_ char *p = unit_strf("%s/f", tmp), *content = NULL, *ls = NULL;

        unit_write(p, "old");
        cr_assert(eq(int, write_file_atomic_at(dir_fd, "f", "new", 3, 0644, false), -EEXIST));
        content = unit_read(p);
        assert_str(content, "old");
        ls = dir_listing();
        assert_str(ls, "f"); /* no temporary file left behind */
}

Test(fileio, write_atomic_no_replace_dangling_symlink) {
        _cleanup_free_ char *p = unit_strf("%s/link", tmp), *outside = unit_strf("%s/target", tmp), *ls = NULL;

        /* Not even a dangling symlink is overwritten, nor is its target created. */
        unit_symlink(outside, p);
        cr_assert(eq(int, write_file_atomic_at(dir_fd, "link", "x", 1, 0644, false), -EEXIST));
        cr_assert(ne(int, access(outside, F_OK), 0));
        ls = dir_listing();
        assert_str(ls, "link");
}

Test(fileio, write_atomic_replace) {
        _cleanup_free_ char *p = unit_strf("%s/f", tmp), *content = NULL, *ls = NULL;
        struct stat st;

        unit_write(p, "old contents that are longer");
        cr_assert(eq(int, write_file_atomic_at(dir_fd, "f", "new", 3, 0600, true), 0));
        content = unit_read(p);
        assert_str(content, "new");
        cr_assert(eq(int, stat(p, &st), 0));
        cr_assert(eq(uint, st.st_mode & 07777, 0600));
        ls = dir_listing();
        assert_str(ls, "f");
}

Test(fileio, write_atomic_replace_symlink_replaces_link_not_target) {
        _cleanup_free_ char *p = unit_strf("%s/link", tmp), *target = unit_strf("%s/target", tmp),
                            *content = NULL;
        struct stat st;

        unit_write(target, "precious");
        unit_symlink(target, p);
        cr_assert(eq(int, write_file_atomic_at(dir_fd, "link", "new", 3, 0644, true), 0));
        cr_assert(eq(int, lstat(p, &st), 0));
        cr_assert(holds(S_ISREG(st.st_mode)));
        content = unit_read(target);
        assert_str(content, "precious");
}

Test(fileio, write_atomic_empty_and_binary) {
        static const char bin[] = { 'a', '\0', 'b', '\xff' };
        _cleanup_free_ char *p = unit_strf("%s/bin", tmp);
        struct stat st;

        cr_assert(eq(int, write_file_atomic_at(dir_fd, "empty", "", 0, 0644, false), 0));
        cr_assert(eq(int, write_file_atomic_at(dir_fd, "bin", bin, sizeof(bin), 0644, false), 0));
        cr_assert(eq(int, stat(p, &st), 0));
        cr_assert(eq(long, (long) st.st_size, (long) sizeof(bin)));
}

Test(fileio, write_atomic_onto_directory_fails_cleanly) {
        _cleanup_free_ char *d = unit_strf("%s/dir", tmp), *ls = NULL;

        unit_mkdir_p(d, 0755);
        cr_assert(lt(int, write_file_atomic_at(dir_fd, "dir", "x", 1, 0644, true), 0));
        cr_assert(lt(int, write_file_atomic_at(dir_fd, "dir", "x", 1, 0644, false), 0));
        ls = dir_listing();
        assert_str(ls, "dir");
}

Test(fileio, write_atomic_into_missing_directory) {
        _cleanup_close_ int fd = -EBADF;
        _cleanup_free_ char *d = unit_strf("%s/gone", tmp);

        unit_mkdir_p(d, 0755);
        fd = open(d, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        cr_assert(fd >= 0);
        cr_assert(eq(int, rmdir(d), 0));
        cr_assert(eq(int, write_file_atomic_at(fd, "f", "x", 1, 0644, false), -ENOENT));
}

Test(fileio, mkdir_p_creates_the_missing_parents_with_their_own_mode) {
        _cleanup_free_ char *top = unit_strf("%s/a", tmp), *path = unit_strf("%s/a/b/c", tmp);
        struct stat st;

        (void) umask(0); /* each test runs in its own process */
        cr_assert(eq(int, mkdir_p(path, 0751, 0700), 0));
        cr_assert(eq(int, stat(top, &st), 0));
        cr_assert(eq(u32, (uint32_t) (st.st_mode & 07777), 0751u));
        cr_assert(eq(int, stat(path, &st), 0));
        cr_assert(eq(int, !!S_ISDIR(st.st_mode), 1));
        cr_assert(eq(u32, (uint32_t) (st.st_mode & 07777), 0700u));

        /* Again: nothing to do, and what exists keeps its mode. */
        cr_assert(eq(int, chmod(top, 0755), 0));
        cr_assert(eq(int, mkdir_p(path, 0700, 0700), 0));
        cr_assert(eq(int, stat(top, &st), 0));
        cr_assert(eq(u32, (uint32_t) (st.st_mode & 07777), 0755u));
}

Test(fileio, mkdir_p_refuses_relative_paths_and_reports_a_file_in_the_way) {
        _cleanup_free_ char *file = unit_strf("%s/file", tmp), *below = unit_strf("%s/file/dir", tmp);

        cr_assert(eq(int, mkdir_p("relative/dir", 0755, 0755), -EINVAL));
        unit_write(file, "");
        cr_assert(eq(int, mkdir_p(below, 0755, 0755), -ENOTDIR));
}
