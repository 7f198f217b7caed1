/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <criterion/criterion.h>
#include <criterion/new/assert.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <sched.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
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

/* Every case runs twice: through the public entry points (openat2() where the kernel has it) and
 * through the userspace walk used without openat2(), which must have the same semantics. */
TestSuite(chase, .init = setup, .fini = teardown);
TestSuite(chase_userspace, .init = setup, .fini = teardown);

static bool userspace;

static int chase(int fd, const char *path, int flags) {
        return userspace ? chase_open_in_root_userspace(fd, path, flags) : chase_open_in_root(fd, path, flags);
}

static int chase_nofollow(int fd, const char *path, int flags) {
        return userspace ? chase_open_in_root_userspace(fd, path, flags | O_NOFOLLOW)
                         : chase_open_in_root(fd, path, flags | O_NOFOLLOW);
}

/* A test body run twice: in kernel_suite through the public entry point, in userspace_suite
 * through the userspace walk. */
#define TEST_BOTH_WAYS(kernel_suite, userspace_suite, name)     \
        static void name(void);                                 \
        Test(kernel_suite, name) {                              \
                userspace = false;                              \
                name();                                         \
        }                                                       \
        Test(userspace_suite, name) {                           \
                userspace = true;                               \
                name();                                         \
        }                                                       \
        static void name(void)

#define CHASE_TEST(name) TEST_BOTH_WAYS(chase, chase_userspace, name)

static char *read_fd(int fd) {
        char *data = NULL;

        cr_assert(fd >= 0, "open failed: %s", strerror(-fd));
        cr_assert(eq(int, read_full_fd(fd, 4096, &data, NULL), 0));
        close(fd);
        return data;
}

CHASE_TEST(plain_paths) {
        _cleanup_free_ char *a = NULL, *b = NULL;

        a = read_fd(chase(root_fd, "/etc/os-release", O_RDONLY));
        assert_str(a, "inside");
        /* Relative and absolute mean the same. */
        b = read_fd(chase(root_fd, "etc/os-release", O_RDONLY));
        assert_str(b, "inside");
}

CHASE_TEST(absolute_symlink_resolves_inside) {
        _cleanup_free_ char *a = read_fd(chase(root_fd, "/etc/abs", O_RDONLY));

        assert_str(a, "inside");
}

CHASE_TEST(dotdot_symlink_stays_inside) {
        _cleanup_free_ char *a = read_fd(chase(root_fd, "/etc/dotdot", O_RDONLY));

        assert_str(a, "inside");
}

CHASE_TEST(dotdot_in_path_stays_inside) {
        _cleanup_free_ char *a = read_fd(chase(root_fd, "/../../../../etc/os-release", O_RDONLY));
        _cleanup_free_ char *b = read_fd(chase(root_fd, "etc/../../etc/./os-release", O_RDONLY));

        assert_str(a, "inside");
        assert_str(b, "inside");
        /* "../outside/secret" from the root is "/outside/secret" in the root, which is not there. */
        cr_assert(eq(int, chase(root_fd, "../outside/secret", O_RDONLY), -ENOENT));
}

CHASE_TEST(host_paths_do_not_leak) {
        /* The absolute host path of a host file is looked up inside the root. */
        cr_assert(eq(int, chase(root_fd, "/escape", O_RDONLY), -ENOENT));
        cr_assert(eq(int, chase(root_fd, "/up", O_RDONLY), -ENOENT));
        _cleanup_free_ char *host_path = unit_strf("%s/outside/secret", tmp);
        cr_assert(eq(int, chase(root_fd, host_path, O_RDONLY), -ENOENT));
}

CHASE_TEST(directory_symlink_in_the_middle) {
        _cleanup_free_ char *a = read_fd(chase(root_fd, "/dirlink/os-release", O_RDONLY));

        assert_str(a, "inside");
}

CHASE_TEST(root_itself) {
        _cleanup_close_ int a = chase(root_fd, "", O_RDONLY | O_DIRECTORY);
        _cleanup_close_ int b = chase(root_fd, "/", O_RDONLY | O_DIRECTORY);
        _cleanup_close_ int c = chase(root_fd, "///", O_RDONLY | O_DIRECTORY);
        struct stat sa, sr;

        cr_assert(a >= 0 && b >= 0 && c >= 0);
        cr_assert(eq(int, fstat(a, &sa), 0));
        cr_assert(eq(int, stat(root, &sr), 0));
        cr_assert(eq(u64, (uint64_t) sa.st_ino, (uint64_t) sr.st_ino));
}

CHASE_TEST(missing_and_loops) {
        cr_assert(eq(int, chase(root_fd, "/nope", O_RDONLY), -ENOENT));
        cr_assert(eq(int, chase(root_fd, "/etc/os-release/x", O_RDONLY), -ENOTDIR));
        cr_assert(eq(int, chase(root_fd, "/loop1", O_RDONLY), -ELOOP));
}

/* A name too long is only a problem for a directory that is looked in: after a file, the
 * kernel answers ENOTDIR before any file system sees the name (found by fuzz-chase). A whole
 * path of PATH_MAX bytes or more is too long whatever it names. */
CHASE_TEST(long_names) {
        char name[NAME_MAX + 2], path[PATH_MAX + 1];
        _cleanup_free_ char *after_file = NULL, *in_dir = NULL;
        _cleanup_close_ int fd = -EBADF;
        struct stat sf, sr;

        memset(name, 'x', sizeof(name) - 1);
        name[sizeof(name) - 1] = '\0';
        after_file = unit_strf("etc/os-release/%s", name);
        in_dir = unit_strf("etc/%s", name);
        cr_assert(eq(int, chase(root_fd, after_file, O_RDONLY), -ENOTDIR));
        cr_assert(eq(int, chase(root_fd, in_dir, O_RDONLY), -ENAMETOOLONG));

        for (size_t i = 0; i < PATH_MAX; i += 2)
                memcpy(path + i, "./", 2);
        path[PATH_MAX] = '\0';
        cr_assert(eq(int, chase(root_fd, path, O_RDONLY), -ENAMETOOLONG));
        /* One byte shorter fits, and names the root. */
        path[PATH_MAX - 1] = '\0';
        fd = chase(root_fd, path, O_RDONLY | O_DIRECTORY);
        cr_assert(fd >= 0, "%s", strerror(-fd));
        cr_assert(eq(int, fstat(fd, &sf), 0));
        cr_assert(eq(int, stat(root, &sr), 0));
        cr_assert(eq(u64, (uint64_t) sf.st_ino, (uint64_t) sr.st_ino));
}

CHASE_TEST(nofollow_refuses_final_symlink_only) {
        _cleanup_free_ char *a = NULL;

        cr_assert(eq(int, chase_nofollow(root_fd, "/etc/abs", O_RDONLY), -ELOOP));
        cr_assert(eq(int, chase_nofollow(root_fd, "/escape", O_RDONLY), -ELOOP));
        /* A symlink earlier in the path is still followed (inside the root). */
        a = read_fd(chase_nofollow(root_fd, "/dirlink/os-release", O_RDONLY));
        assert_str(a, "inside");
}

CHASE_TEST(nofollow_with_trailing_slash_follows) {
        _cleanup_close_ int fd = chase_nofollow(root_fd, "/dirlink/", O_RDONLY | O_DIRECTORY);
        _cleanup_close_ int etc = chase(root_fd, "/etc", O_RDONLY | O_DIRECTORY);
        struct stat a, b;

        /* As with open(2), "link/" is the directory the link points to. (Found by fuzz-chase: the
         * userspace walk refused it with ELOOP where the kernel opened it.) */
        cr_assert(fd >= 0, "%s", strerror(-fd));
        cr_assert(etc >= 0);
        cr_assert(eq(int, fstat(fd, &a), 0));
        cr_assert(eq(int, fstat(etc, &b), 0));
        cr_assert(eq(u64, (uint64_t) a.st_ino, (uint64_t) b.st_ino));
}

CHASE_TEST(cloexec_always) {
        _cleanup_close_ int fd = chase(root_fd, "/etc/os-release", O_RDONLY);

        cr_assert(fd >= 0);
        cr_assert(holds(fcntl(fd, F_GETFD) & FD_CLOEXEC));
}

CHASE_TEST(magic_links_refused) {
        _cleanup_close_ int proc_fd = open("/proc/self", O_PATH | O_DIRECTORY | O_CLOEXEC);
        _cleanup_close_ int secret_fd = -EBADF;
        _cleanup_free_ char *secret = unit_strf("%s/outside/secret", tmp), *fdpath = NULL;

        cr_assert(proc_fd >= 0);
        secret_fd = open(secret, O_RDONLY | O_CLOEXEC);
        cr_assert(secret_fd >= 0);

        /* With /proc/self as the root, "fd/N" is a magic link to the host file: refused by the
         * kernel (ELOOP, which then has the userspace walk check the path, see chase.c); the
         * userspace walk reads it as an ordinary link, resolved in the root, where the host path
         * does not exist. Either way the host file is never opened. */
        fdpath = unit_strf("fd/%i", secret_fd);
        cr_assert(eq(int, chase(proc_fd, fdpath, O_RDONLY), -ENOENT));
}

CHASE_TEST(special_files_open_without_blocking) {
        _cleanup_free_ char *fifo = unit_strf("%s/fifo", root);
        _cleanup_close_ int fd = -EBADF;
        struct stat st;

        cr_assert(eq(int, mkfifo(fifo, 0644), 0));
        /* The caller's flags are passed through: O_NONBLOCK keeps a FIFO from hanging us. */
        fd = chase(root_fd, "/fifo", O_RDONLY | O_NONBLOCK);
        cr_assert(fd >= 0);
        cr_assert(eq(int, fstat(fd, &st), 0));
        cr_assert(holds(S_ISFIFO(st.st_mode)));
}

CHASE_TEST(bad_root_fd) {
        cr_assert(eq(int, chase(-EBADF, "/etc/os-release", O_RDONLY), -EBADF));
}

CHASE_TEST(relative_symlink_in_subdirectory) {
        _cleanup_free_ char *l = unit_strf("%s/a/b/link", root), *target = unit_strf("%s/a/c", root), *data = NULL;

        unit_write(target, "a/c");
        unit_symlink("../c", l);
        data = read_fd(chase(root_fd, "/a/b/link", O_RDONLY));
        assert_str(data, "a/c");
}

CHASE_TEST(dot_and_dotdot_components) {
        _cleanup_close_ int a = chase(root_fd, "etc/..", O_RDONLY | O_DIRECTORY);
        _cleanup_close_ int b = chase(root_fd, "etc/.", O_RDONLY | O_DIRECTORY);
        _cleanup_free_ char *c = read_fd(chase(root_fd, "dirlink/../etc/os-release", O_RDONLY));
        struct stat sa, sr;

        cr_assert(a >= 0 && b >= 0);
        cr_assert(eq(int, fstat(a, &sa), 0));
        cr_assert(eq(int, stat(root, &sr), 0));
        cr_assert(eq(u64, (uint64_t) sa.st_ino, (uint64_t) sr.st_ino));
        assert_str(c, "inside");
}

CHASE_TEST(trailing_slash_needs_a_directory) {
        _cleanup_close_ int d = chase(root_fd, "/etc/", O_RDONLY);

        /* As with open(2): "file/" is not a file. (Regression: the userspace walk used to drop
         * trailing slashes and open the regular file.) */
        cr_assert(d >= 0);
        cr_assert(eq(int, chase(root_fd, "/etc/os-release/", O_RDONLY), -ENOTDIR));
}

CHASE_TEST(symlink_chain_within_limit) {
        _cleanup_free_ char *data = NULL;

        /* Twenty links in a row are fine (the kernel allows 40). */
        for (int i = 0; i < 20; i++) {
                _cleanup_free_ char *name = unit_strf("%s/chain%d", root, i),
                                    *target = i == 19 ? strdup("/etc/os-release") : unit_strf("chain%d", i + 1);
                unit_symlink(target, name);
        }
        data = read_fd(chase(root_fd, "/chain0", O_RDONLY));
        assert_str(data, "inside");
}

static uint64_t now_ms(void) {
        struct timespec ts;

        cr_assert(eq(int, clock_gettime(CLOCK_MONOTONIC, &ts), 0));
        return (uint64_t) ts.tv_sec * 1000 + (uint64_t) ts.tv_nsec / 1000000;
}

Test(chase, long_symlink_chain_answers_the_same_every_time) {
        struct open_how how = { .flags = O_RDONLY | O_CLOEXEC, .resolve = RESOLVE_IN_ROOT };
        unsigned eloop = 0, other = 0;

        /* Thirty links in a row, then a component below the file they lead to: ENOTDIR. The
         * kernel now and then says ELOOP instead (it counts the links twice when the lookup
         * falls out of RCU mode). Found by fuzz-chase, as a disagreement with the userspace walk;
         * here about 4 in 10000 lookups, in bursts, so the test runs for two seconds rather than
         * a number of times. Without openat2() (valgrind) there is nothing to check. */
        if (syscall(SYS_openat2, root_fd, "", &how, sizeof(how)) < 0 && errno == ENOSYS)
                cr_skip_test("no openat2()");

        for (int i = 0; i < 30; i++) {
                _cleanup_free_ char *name = unit_strf("%s/chain%d", root, i),
                                    *target = i == 29 ? strdup("/etc/os-release") : unit_strf("chain%d", i + 1);
                unit_symlink(target, name);
        }
        for (uint64_t end = now_ms() + 2000; now_ms() < end;) {
                int r = chase_open_in_root(root_fd, "/chain0/x", O_RDONLY);

                if (r == -ELOOP)
                        eloop++;
                else if (r != -ENOTDIR)
                        other++;
                safe_close(r);
        }
        cr_assert(eq(u32, eloop, 0));
        cr_assert(eq(u32, other, 0));
}

/* ------------------------------------------------------------ beneath, on the same mount */

TestSuite(chase_beneath, .init = setup, .fini = teardown);
TestSuite(chase_beneath_userspace, .init = setup, .fini = teardown);

static int beneath(const char *path) {
        return userspace ? chase_open_beneath_same_mount_userspace(root_fd, path)
                         : chase_open_beneath_same_mount(root_fd, path);
}

#define BENEATH_TEST(name) TEST_BOTH_WAYS(chase_beneath, chase_beneath_userspace, name)

static void assert_same_inode(int fd, const char *relative) {
        _cleanup_free_ char *p = unit_strf("%s/%s", root, relative);
        struct stat a, b;

        cr_assert(fd >= 0, "%s: %s", relative, strerror(-fd));
        cr_assert(eq(int, fstat(fd, &a), 0));
        cr_assert(eq(int, lstat(p, &b), 0));
        cr_assert(a.st_dev == b.st_dev && a.st_ino == b.st_ino, "%s: another file was opened", relative);
        close(fd);
}

BENEATH_TEST(plain_paths_open) {
        assert_same_inode(beneath("etc/os-release"), "etc/os-release");
        assert_same_inode(beneath("etc//os-release"), "etc/os-release");
        assert_same_inode(beneath("./etc/./os-release"), "etc/os-release");
        assert_same_inode(beneath("etc"), "etc");
}

BENEATH_TEST(no_symlink_is_followed) {
        cr_assert(eq(int, beneath("etc/abs"), -ELOOP));
        cr_assert(eq(int, beneath("dirlink/os-release"), -ELOOP));
        cr_assert(eq(int, beneath("escape"), -ELOOP));
        cr_assert(eq(int, beneath("loop1"), -ELOOP));
}

BENEATH_TEST(never_above_nor_absolute) {
        cr_assert(eq(int, beneath("../outside/secret"), -EXDEV));
        cr_assert(eq(int, beneath("etc/../etc/os-release"), -EXDEV));
        cr_assert(eq(int, beneath("/etc/os-release"), -EXDEV));
}

/* Whatever its length: the kernel's entry point refuses ".." before the path reaches it. */
BENEATH_TEST(dotdot_in_a_path_too_long_is_still_refused_as_dotdot) {
        char path[PATH_MAX + 8];

        for (size_t i = 0; i + 1 < sizeof(path); i += 2)
                memcpy(path + i, "x/", 2);
        path[sizeof(path) - 1] = '\0';
        memcpy(path + 100, "../", 3);
        cr_assert(eq(int, beneath(path), -EXDEV));
        path[100] = 'b';
        cr_assert(eq(int, beneath(path), -ENAMETOOLONG));
}

BENEATH_TEST(missing_and_not_a_directory) {
        cr_assert(eq(int, beneath("etc/missing"), -ENOENT));
        cr_assert(eq(int, beneath("etc/os-release/x"), -ENOTDIR));
        cr_assert(eq(int, beneath("etc/os-release/"), -ENOTDIR));
        cr_assert(eq(int, beneath("etc/os-release/."), -ENOTDIR));
        cr_assert(eq(int, beneath(""), -ENOENT));
        assert_same_inode(beneath("etc/"), "etc");
}

BENEATH_TEST(long_name_after_a_file_is_not_a_directory) {
        char name[NAME_MAX + 2];
        _cleanup_free_ char *after_file = NULL, *in_dir = NULL;

        memset(name, 'x', sizeof(name) - 1);
        name[sizeof(name) - 1] = '\0';
        after_file = unit_strf("etc/os-release/%s", name);
        in_dir = unit_strf("etc/%s", name);
        cr_assert(eq(int, beneath(after_file), -ENOTDIR));
        cr_assert(eq(int, beneath(in_dir), -ENAMETOOLONG));
}

/* A file system mounted inside the tree is refused where it starts, whether it covers a
 * directory on the way or the file itself. */
BENEATH_TEST(no_step_into_another_mount) {
        _cleanup_free_ char *etc = unit_strf("%s/etc", root), *secret = unit_strf("%s/outside/secret", tmp),
                            *file = unit_strf("%s/sub/file", root), *over = unit_strf("%s/etc/os-release", root);

        unit_private_mount_namespace();
        unit_write(file, "below");
        /* The old fd still walks the mounts of the namespace it was opened in. */
        safe_close(root_fd);
        root_fd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
        cr_assert(root_fd >= 0);
        assert_same_inode(beneath("sub/file"), "sub/file");

        cr_assert(eq(int, mount(secret, file, "none", MS_BIND, NULL), 0));
        cr_assert(eq(int, beneath("sub/file"), -EXDEV));

        cr_assert(eq(int, mount("tmpfs", etc, "tmpfs", 0, "mode=0755"), 0));
        unit_write(over, "mounted over");
        cr_assert(eq(int, beneath("etc/os-release"), -EXDEV));
        cr_assert(eq(int, beneath("etc"), -EXDEV));
}
