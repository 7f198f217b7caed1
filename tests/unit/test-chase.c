/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <criterion/criterion.h>
#include <criterion/new/assert.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "chase.h"
#include "fd-util.h"
#include "fileio.h"
#include "unit-helpers.h"

/* Layout, built fresh for every test:
 *
 *   <tmp>/outside/secret            "host secret" (must never be reachable from the root)
 *   <tmp>/root/etc/os-release       "inside"
 *   <tmp>/root/etc/abs -> /etc/os-release                    absolute: resolved in the root
 *   <tmp>/root/etc/dotdot -> ../../../../../../etc/os-release  ".." cannot climb out
 *   <tmp>/root/escape -> <tmp>/outside/secret                absolute path of a host file
 *   <tmp>/root/up -> ../outside/secret                        relative, one level up
 *   <tmp>/root/dirlink -> /etc                                directory link in the middle
 *   <tmp>/root/loop1 -> loop2, loop2 -> loop1
 */
static char *tmp, *root;
static int root_fd = -EBADF;

static void setup(void) {
        _cleanup_free_ char *secret = NULL, *p = NULL;

        tmp = unit_mkdtemp("chase");
        root = unit_strf("%s/root", tmp);
        secret = unit_strf("%s/outside/secret", tmp);
        unit_write(secret, "host secret");

        p = unit_strf("%s/etc/os-release", root);
        unit_write(p, "inside");
#define LINK(target, name)                                              \
        do {                                                            \
                _cleanup_free_ char *_l_ = unit_strf("%s/%s", root, name); \
                unit_symlink(target, _l_);                              \
        } while (0)
        LINK("/etc/os-release", "etc/abs");
        LINK("../../../../../../etc/os-release", "etc/dotdot");
        LINK(secret, "escape");
        LINK("../outside/secret", "up");
        LINK("/etc", "dirlink");
        LINK("loop2", "loop1");
        LINK("loop1", "loop2");
#undef LINK

        root_fd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
        cr_assert(root_fd >= 0);
}

static void teardown(void) {
        root_fd = safe_close(root_fd);
        unit_rm_rf(tmp);
        free(root);
        free(tmp);
}

TestSuite(chase, .init = setup, .fini = teardown);

static char *read_fd(int fd) {
        char *data = NULL;

        cr_assert(fd >= 0, "open failed: %s", strerror(-fd));
        cr_assert(eq(int, read_full_fd(fd, 4096, &data, NULL), 0));
        close(fd);
        return data;
}

Test(chase, plain_paths) {
        _cleanup_free_ char *a = NULL, *b = NULL;

        a = read_fd(chase_open_in_root(root_fd, "/etc/os-release", O_RDONLY));
        assert_str(a, "inside");
        /* Relative and absolute mean the same. */
        b = read_fd(chase_open_in_root(root_fd, "etc/os-release", O_RDONLY));
        assert_str(b, "inside");
}

Test(chase, absolute_symlink_resolves_inside) {
        _cleanup_free_ char *a = read_fd(chase_open_in_root(root_fd, "/etc/abs", O_RDONLY));

        assert_str(a, "inside");
}

Test(chase, dotdot_symlink_stays_inside) {
        _cleanup_free_ char *a = read_fd(chase_open_in_root(root_fd, "/etc/dotdot", O_RDONLY));

        assert_str(a, "inside");
}

Test(chase, dotdot_in_path_stays_inside) {
        _cleanup_free_ char *a = read_fd(chase_open_in_root(root_fd, "/../../../../etc/os-release", O_RDONLY));
        _cleanup_free_ char *b = read_fd(chase_open_in_root(root_fd, "etc/../../etc/./os-release", O_RDONLY));

        assert_str(a, "inside");
        assert_str(b, "inside");
        /* "../outside/secret" from the root is "/outside/secret" in the root, which is not there. */
        cr_assert(eq(int, chase_open_in_root(root_fd, "../outside/secret", O_RDONLY), -ENOENT));
}

Test(chase, host_paths_do_not_leak) {
        /* The absolute host path of a host file is looked up inside the root. */
        cr_assert(eq(int, chase_open_in_root(root_fd, "/escape", O_RDONLY), -ENOENT));
        cr_assert(eq(int, chase_open_in_root(root_fd, "/up", O_RDONLY), -ENOENT));
        _cleanup_free_ char *host_path = unit_strf("%s/outside/secret", tmp);
        cr_assert(eq(int, chase_open_in_root(root_fd, host_path, O_RDONLY), -ENOENT));
}

Test(chase, directory_symlink_in_the_middle) {
        _cleanup_free_ char *a = read_fd(chase_open_in_root(root_fd, "/dirlink/os-release", O_RDONLY));

        assert_str(a, "inside");
}

Test(chase, root_itself) {
        _cleanup_close_ int a = chase_open_in_root(root_fd, "", O_RDONLY | O_DIRECTORY);
        _cleanup_close_ int b = chase_open_in_root(root_fd, "/", O_RDONLY | O_DIRECTORY);
        _cleanup_close_ int c = chase_open_in_root(root_fd, "///", O_RDONLY | O_DIRECTORY);
        struct stat sa, sr;

        cr_assert(a >= 0 && b >= 0 && c >= 0);
        cr_assert(eq(int, fstat(a, &sa), 0));
        cr_assert(eq(int, stat(root, &sr), 0));
        cr_assert(eq(u64, (uint64_t) sa.st_ino, (uint64_t) sr.st_ino));
}

Test(chase, missing_and_loops) {
        cr_assert(eq(int, chase_open_in_root(root_fd, "/nope", O_RDONLY), -ENOENT));
        cr_assert(eq(int, chase_open_in_root(root_fd, "/etc/os-release/x", O_RDONLY), -ENOTDIR));
        cr_assert(eq(int, chase_open_in_root(root_fd, "/loop1", O_RDONLY), -ELOOP));
}

Test(chase, nofollow_refuses_final_symlink_only) {
        _cleanup_free_ char *a = NULL;

        cr_assert(eq(int, chase_open_in_root_nofollow(root_fd, "/etc/abs", O_RDONLY), -ELOOP));
        cr_assert(eq(int, chase_open_in_root_nofollow(root_fd, "/escape", O_RDONLY), -ELOOP));
        /* A symlink earlier in the path is still followed (inside the root). */
        a = read_fd(chase_open_in_root_nofollow(root_fd, "/dirlink/os-release", O_RDONLY));
        assert_str(a, "inside");
}

Test(chase, cloexec_always) {
        _cleanup_close_ int fd = chase_open_in_root(root_fd, "/etc/os-release", O_RDONLY);

        cr_assert(fd >= 0);
        cr_assert(holds(fcntl(fd, F_GETFD) & FD_CLOEXEC));
}

Test(chase, magic_links_refused) {
        _cleanup_close_ int proc_fd = open("/proc/self", O_PATH | O_DIRECTORY | O_CLOEXEC);
        _cleanup_close_ int secret_fd = -EBADF;
        _cleanup_free_ char *secret = unit_strf("%s/outside/secret", tmp), *fdpath = NULL;

        cr_assert(proc_fd >= 0);
        secret_fd = open(secret, O_RDONLY | O_CLOEXEC);
        cr_assert(secret_fd >= 0);

        /* With /proc/self as the root, "fd/N" is a magic link to the host file: refused. */
        fdpath = unit_strf("fd/%i", secret_fd);
        cr_assert(eq(int, chase_open_in_root(proc_fd, fdpath, O_RDONLY), -ELOOP));
}

Test(chase, special_files_open_without_blocking) {
        _cleanup_free_ char *fifo = unit_strf("%s/fifo", root);
        _cleanup_close_ int fd = -EBADF;
        struct stat st;

        cr_assert(eq(int, mkfifo(fifo, 0644), 0));
        /* The caller's flags are passed through: O_NONBLOCK keeps a FIFO from hanging us. */
        fd = chase_open_in_root(root_fd, "/fifo", O_RDONLY | O_NONBLOCK);
        cr_assert(fd >= 0);
        cr_assert(eq(int, fstat(fd, &st), 0));
        cr_assert(holds(S_ISFIFO(st.st_mode)));
}

Test(chase, bad_root_fd) {
        cr_assert(eq(int, chase_open_in_root(-EBADF, "/etc/os-release", O_RDONLY), -EBADF));
}
