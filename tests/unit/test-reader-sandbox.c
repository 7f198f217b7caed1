/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <criterion/criterion.h>
#include <criterion/new/assert.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <linux/reboot.h>
#include <linux/securebits.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "fd-util.h"
#include "fileio.h"
#include "reader-sandbox.h"
#include "unit-helpers.h"

#if HAVE_VALGRIND_VALGRIND_H
#include <valgrind/valgrind.h>
#endif

static void setup(void) {
        unit_skip_reader_tests_under_valgrind();
        if (geteuid() != 0)
                cr_skip_test("dropping capabilities is only meaningful as root");
}

TestSuite(reader_sandbox, .init = setup, .timeout = 30);

static void skip_under_valgrind(void) {
#if HAVE_VALGRIND_VALGRIND_H
        if (RUNNING_ON_VALGRIND)
                cr_skip_test("the seccomp filter is not installed under valgrind");
#endif
}

/* What the children below lock themselves down with: nothing compiled ahead, or (once
 * prepared_filter_is_the_same has prepared it) the filter a daemon would have compiled. */
static ReaderSandbox sandbox = { .netns_fd = -EBADF, .ipcns_fd = -EBADF };

/* Runs check() in a child that locked itself down (the filter is per process and permanent, so
 * the test process itself must stay outside), and returns its wait status. */
static int in_sandbox(int (*check)(void)) {
        int status;
        pid_t pid = fork();

        cr_assert(ge(int, pid, 0));
        if (pid == 0) {
                if (reader_sandbox_lock_down(&sandbox) < 0)
                        _exit(100);
                reader_sandbox_exit(check());
        }
        cr_assert(eq(int, waitpid(pid, &status, 0), pid));
        return status;
}

static void assert_exits_zero(int (*check)(void)) {
        int status = in_sandbox(check);

        cr_assert(holds(WIFEXITED(status)), "child died by signal %d", WIFSIGNALED(status) ? WTERMSIG(status) : 0);
        cr_assert(eq(int, WEXITSTATUS(status), 0));
}

static void assert_killed(int (*check)(void)) {
        int status;

        skip_under_valgrind();
        status = in_sandbox(check);
        cr_assert(holds(WIFSIGNALED(status)), "child was not killed (exit status %d)",
                  WIFEXITED(status) ? WEXITSTATUS(status) : -1);
        cr_assert(eq(int, WTERMSIG(status), SIGSYS));
}

/* ----------------------------------------------------------------------- what still works */

static int check_reading_works(void) {
        _cleanup_close_ int fd = open("/proc/self/status", O_RDONLY | O_CLOEXEC);
        _cleanup_free_ char *data = NULL;

        if (fd < 0)
                return 1;
        return read_full_fd(fd, 1 << 20, &data, NULL) < 0 ? 2 : 0;
}

Test(reader_sandbox, reading_files_still_works) {
        assert_exits_zero(check_reading_works);
}

static int check_memfd_works(void) {
        _cleanup_close_ int fd = memfd_create("x", MFD_CLOEXEC | MFD_ALLOW_SEALING);

        if (fd < 0 || write(fd, "abc", 3) != 3)
                return 1;
        return fcntl(fd, F_ADD_SEALS, F_SEAL_WRITE) < 0 ? 2 : 0;
}

Test(reader_sandbox, memfds_still_work) {
        assert_exits_zero(check_memfd_works);
}

static int compare_ints(const void *a, const void *b) {
        return *(const int *) a - *(const int *) b;
}

/* glibc's qsort() of more than 1 KiB asks the kernel how much memory there is (sysinfo()). */
static int check_sorting_works(void) {
        static int v[4096];

        for (size_t i = 0; i < ELEMENTSOF(v); i++)
                v[i] = (int) (ELEMENTSOF(v) - i);
        qsort(v, ELEMENTSOF(v), sizeof(int), compare_ints);
        return v[0] == 1 && v[ELEMENTSOF(v) - 1] == (int) ELEMENTSOF(v) ? 0 : 1;
}

Test(reader_sandbox, sorting_still_works) {
        assert_exits_zero(check_sorting_works);
}

/* The reader waits for the daemon to take the files in flight (reader-protocol.c). */
static int check_sleeping_works(void) {
        return nanosleep(&(struct timespec) { .tv_nsec = 1000 * 1000 }, NULL) == 0 ? 0 : 1;
}

Test(reader_sandbox, sleeping_still_works) {
        assert_exits_zero(check_sleeping_works);
}

static int check_openat2_reports_enosys(void) {
        struct open_how how = { .flags = O_RDONLY | O_CLOEXEC };

        /* Path resolution must fall back to the walk the filter can check. */
        return syscall(SYS_openat2, AT_FDCWD, "/", &how, sizeof(how)) < 0 && errno == ENOSYS ? 0 : 1;
}

Test(reader_sandbox, openat2_is_reported_missing) {
        skip_under_valgrind();
        assert_exits_zero(check_openat2_reports_enosys);
}

/* Every capability set is empty, no_new_privs is on, the limits are in place: as the kernel
 * reports them in /proc (getrlimit() itself is not allowed). */
static int check_privileges_gone(void) {
        _cleanup_close_ int fd = open("/proc/self/status", O_RDONLY | O_CLOEXEC);
        _cleanup_close_ int lfd = open("/proc/self/limits", O_RDONLY | O_CLOEXEC);
        _cleanup_free_ char *status = NULL, *limits = NULL;
        static const char *const expected[] = {
                "CapInh:\t0000000000000000", "CapPrm:\t0000000000000000", "CapEff:\t0000000000000000",
                "CapBnd:\t0000000000000000", "CapAmb:\t0000000000000000", "NoNewPrivs:\t1",
        };

        if (fd < 0 || lfd < 0 || read_full_fd(fd, 1 << 20, &status, NULL) < 0 ||
            read_full_fd(lfd, 1 << 20, &limits, NULL) < 0)
                return 1;
        for (size_t i = 0; i < ELEMENTSOF(expected); i++)
                if (!strstr(status, expected[i]))
                        return 10 + (int) i;
        if (!strstr(limits, "Max open files            64"))
                return 20;
        if (!strstr(limits, "Max cpu time              30"))
                return 21;
        if (!strstr(limits, "Max processes             0"))
                return 22;
        return 0;
}

Test(reader_sandbox, no_privileges_left) {
        assert_exits_zero(check_privileges_gone);
}

/* A spare restricts its privileges ahead of its request: exec and set*id give nothing back any
 * more, but it can still mount the image it is given. */
Test(reader_sandbox, privileges_restricted_ahead_still_allow_mounting) {
        int status;
        pid_t pid = fork();

        cr_assert(ge(int, pid, 0));
        if (pid == 0) {
                _cleanup_close_ int fd = -EBADF;
                _cleanup_free_ char *status_text = NULL;
                int bits;

                if (reader_sandbox_restrict_privileges() < 0)
                        _exit(1);
                fd = open("/proc/self/status", O_RDONLY | O_CLOEXEC);
                if (fd < 0 || read_full_fd(fd, 1 << 20, &status_text, NULL) < 0)
                        _exit(2);
                if (!strstr(status_text, "CapBnd:\t0000000000000000") || !strstr(status_text, "CapAmb:\t0000000000000000"))
                        _exit(3);
                if (strstr(status_text, "CapEff:\t0000000000000000"))
                        _exit(4); /* too much: the mount below needs CAP_SYS_ADMIN */
                bits = prctl(PR_GET_SECUREBITS);
                if (bits < 0 || !(bits & SECBIT_NOROOT_LOCKED) || !(bits & SECBIT_NO_SETUID_FIXUP_LOCKED))
                        _exit(5);
                if (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_SLAVE | MS_REC, NULL) < 0 ||
                    mount("none", "/mnt", "tmpfs", 0, NULL) < 0)
                        _exit(6);
                _exit(0);
        }
        cr_assert(eq(int, waitpid(pid, &status, 0), pid));
        cr_assert(eq(int, status, 0), "child status %d", status);
}

/* ... and the lock-down that follows leaves nothing either. */
Test(reader_sandbox, no_privileges_left_after_restricting_ahead) {
        int status;
        pid_t pid = fork();

        cr_assert(ge(int, pid, 0));
        if (pid == 0) {
                if (reader_sandbox_restrict_privileges() < 0)
                        _exit(100);
                if (reader_sandbox_lock_down(&sandbox) < 0)
                        _exit(101);
                reader_sandbox_exit(check_privileges_gone());
        }
        cr_assert(eq(int, waitpid(pid, &status, 0), pid));
        cr_assert(eq(int, status, 0), "child status %d", status);
}

/* ------------------------------------------------------------------- what kills the child */

static int try_socket(void) {
        (void) socket(AF_UNIX, SOCK_STREAM, 0);
        return 0;
}

static int try_exec(void) {
        char *argv[] = { (char *) "/bin/true", NULL }, *envp[] = { NULL };

        execve("/bin/true", argv, envp);
        return 0;
}

static int try_unshare(void) {
        (void) unshare(CLONE_NEWNS);
        return 0;
}

static int try_mount(void) {
        (void) mount("none", "/tmp", "tmpfs", 0, NULL);
        return 0;
}

static int try_reboot(void) {
        /* A harmless command: were the call allowed, without capabilities it would fail. */
        (void) syscall(SYS_reboot, LINUX_REBOOT_MAGIC1, LINUX_REBOOT_MAGIC2, LINUX_REBOOT_CMD_CAD_ON, NULL);
        return 0;
}

static int try_kill_other(void) {
        (void) kill(getppid(), 0);
        return 0;
}

static int try_open_by_handle(void) {
        struct {
                unsigned int handle_bytes;
                int handle_type;
                unsigned char f_handle[8];
        } handle = { .handle_bytes = 8 };

        (void) syscall(SYS_open_by_handle_at, AT_FDCWD, &handle, O_RDONLY);
        return 0;
}

static int try_write_file(void) {
        (void) open("/tmp/portabled-sandbox-test", O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
        return 0;
}

/* An existing file, without O_CREAT: the access mode alone must be enough to be refused. */
static int try_open_write_only(void) {
        (void) open("/dev/null", O_WRONLY | O_CLOEXEC);
        return 0;
}

static int try_open_read_write(void) {
        (void) open("/dev/null", O_RDWR | O_CLOEXEC);
        return 0;
}

static int try_exec_memory(void) {
        (void) mmap(NULL, 4096, PROT_READ | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        return 0;
}

static int try_ptrace(void) {
        (void) syscall(SYS_ptrace, 16 /* PTRACE_ATTACH */, getppid(), NULL, NULL);
        return 0;
}

Test(reader_sandbox, socket_kills) {
        assert_killed(try_socket);
}

Test(reader_sandbox, exec_kills) {
        assert_killed(try_exec);
}

Test(reader_sandbox, namespace_change_kills) {
        assert_killed(try_unshare);
}

Test(reader_sandbox, mount_kills) {
        assert_killed(try_mount);
}

Test(reader_sandbox, reboot_kills) {
        assert_killed(try_reboot);
}

Test(reader_sandbox, kill_of_another_process_kills) {
        assert_killed(try_kill_other);
}

Test(reader_sandbox, open_by_handle_kills) {
        assert_killed(try_open_by_handle);
}

Test(reader_sandbox, opening_for_writing_kills) {
        struct stat st;

        assert_killed(try_write_file);
        cr_assert(lt(int, lstat("/tmp/portabled-sandbox-test", &st), 0), "the file must not have been created");
}

Test(reader_sandbox, opening_an_existing_file_for_writing_kills) {
        assert_killed(try_open_write_only);
        assert_killed(try_open_read_write);
}

Test(reader_sandbox, executable_memory_kills) {
        assert_killed(try_exec_memory);
}

Test(reader_sandbox, ptrace_kills) {
        assert_killed(try_ptrace);
}

/* The filter compiled once before the fork, as the daemon does (reader_sandbox_prepare()), is
 * the same filter: everything above again, with it. */
Test(reader_sandbox, prepared_filter_is_the_same) {
        int (*const allowed[])(void) = { check_reading_works, check_memfd_works, check_privileges_gone };
        int (*const killing[])(void) = { try_socket, try_exec, try_unshare, try_mount, try_reboot, try_kill_other,
                                         try_open_by_handle, try_write_file, try_exec_memory, try_ptrace };

        cr_assert(zero(ptr, sandbox.filter.filter));
        cr_assert(eq(int, reader_sandbox_prepare(&sandbox), 0));
        cr_assert(not(zero(ptr, sandbox.filter.filter)));
        const struct sock_filter *first = sandbox.filter.filter;
        cr_assert(eq(int, reader_sandbox_prepare(&sandbox), 0), "once is enough, twice is harmless");
        cr_assert(sandbox.filter.filter == first, "not compiled again");
        for (size_t i = 0; i < ELEMENTSOF(allowed); i++)
                assert_exits_zero(allowed[i]);
        skip_under_valgrind();
        assert_exits_zero(check_openat2_reports_enosys);
        for (size_t i = 0; i < ELEMENTSOF(killing); i++)
                assert_killed(killing[i]);
}

/* ------------------------------------------------------------------------ file descriptors */

Test(reader_sandbox, keep_fds_closes_everything_else) {
        int status;
        pid_t pid;

        pid = fork();
        cr_assert(ge(int, pid, 0));
        if (pid == 0) {
                int a = open("/dev/null", O_RDONLY), b = open("/dev/null", O_RDONLY), c = open("/dev/null", O_RDONLY);
                int keep[] = { c, a };

                /* Some higher numbers too, as a daemon would have. */
                (void) dup2(b, 40);
                (void) dup2(b, 1000);
                if (reader_sandbox_keep_fds(keep, 2) < 0)
                        _exit(1);
                if (keep[0] != 3 || keep[1] != 4)
                        _exit(2);
                if (fcntl(3, F_GETFD) < 0 || fcntl(4, F_GETFD) < 0)
                        _exit(3);
                for (int fd = 5; fd < 1100; fd++)
                        if (fcntl(fd, F_GETFD) >= 0)
                                _exit(4);
                /* stdio is /dev/null, not whatever the daemon had there. */
                if (write(1, "x", 1) != 1 || write(2, "x", 1) != 1)
                        _exit(5);
                _exit(0);
        }
        cr_assert(eq(int, waitpid(pid, &status, 0), pid));
        cr_assert(holds(WIFEXITED(status)));
        cr_assert(eq(int, WEXITSTATUS(status), 0));
}

/* ------------------------------------------------------------------- network namespaces */

/* In a child: joins (or makes) the namespaces as a reader would, and says which network and IPC
 * namespaces it is in ("net:[...] ipc:[...]"). */
static char *child_namespaces(int netns_fd, int ipcns_fd) {
        int pipe_fds[2], status;
        char buf[128] = {};
        pid_t pid;

        cr_assert(eq(int, pipe2(pipe_fds, O_CLOEXEC), 0));
        pid = fork();
        cr_assert(ge(int, pid, 0));
        if (pid == 0) {
                _cleanup_free_ char *net = NULL, *ipc = NULL;
                char line[128];

                if (reader_sandbox_unshare(netns_fd, ipcns_fd) < 0)
                        _exit(1);
                net = unit_readlink("/proc/self/ns/net");
                ipc = unit_readlink("/proc/self/ns/ipc");
                (void) snprintf(line, sizeof(line), "%s %s", net, ipc);
                _exit(write(pipe_fds[1], line, strlen(line)) > 0 ? 0 : 2);
        }
        safe_close(pipe_fds[1]);
        cr_assert(gt(int, (int) read(pipe_fds[0], buf, sizeof(buf) - 1), 0));
        safe_close(pipe_fds[0]);
        cr_assert(eq(int, waitpid(pid, &status, 0), pid));
        cr_assert(eq(int, status, 0));
        return strdup(buf);
}

static char *ns_of_fd(int fd) {
        _cleanup_free_ char *path = unit_strf("/proc/self/fd/%d", fd);

        return unit_readlink(path);
}

/* The readers' namespaces are made once, new and not ours; the caller stays in its own; every
 * reader given them is in them, the same ones; a reader given none makes its own. */
Test(reader_sandbox, namespaces_made_once_and_joined_by_every_reader) {
        _cleanup_free_ char *own_net = unit_readlink("/proc/self/ns/net"), *own_ipc = unit_readlink("/proc/self/ns/ipc"),
                            *net = NULL, *ipc = NULL, *want = NULL, *first = NULL, *second = NULL, *own_made = NULL,
                            *net_after = NULL, *ipc_after = NULL, *own = NULL;
        _cleanup_(reader_sandbox_done) ReaderSandbox s = READER_SANDBOX_NULL;
        int netns_fd, ipcns_fd;

        cr_assert(eq(int, reader_sandbox_prepare_namespaces(&s), 1));
        netns_fd = s.netns_fd;
        ipcns_fd = s.ipcns_fd;
        cr_assert(ge(int, netns_fd, 0));
        cr_assert(ge(int, ipcns_fd, 0));
        cr_assert(eq(int, reader_sandbox_prepare_namespaces(&s), 0), "they are there already");
        cr_assert(eq(int, s.netns_fd, netns_fd), "made again");
        cr_assert(eq(int, s.ipcns_fd, ipcns_fd), "made again");

        net_after = unit_readlink("/proc/self/ns/net");
        ipc_after = unit_readlink("/proc/self/ns/ipc");
        assert_str(net_after, own_net);
        assert_str(ipc_after, own_ipc);

        net = ns_of_fd(s.netns_fd);
        ipc = ns_of_fd(s.ipcns_fd);
        cr_assert(ne(str, net, own_net));
        cr_assert(ne(str, ipc, own_ipc));
        want = unit_strf("%s %s", net, ipc);

        first = child_namespaces(s.netns_fd, s.ipcns_fd);
        second = child_namespaces(s.netns_fd, s.ipcns_fd);
        assert_str(first, want);
        assert_str(second, want);

        /* Without them, the reader makes its own of both. */
        own_made = child_namespaces(-EBADF, -EBADF);
        own = unit_strf("%s %s", own_net, own_ipc);
        cr_assert(ne(str, own_made, want));
        cr_assert(ne(str, own_made, own));
        cr_assert(not(strstr(own_made, net) || strstr(own_made, ipc) || strstr(own_made, own_net) ||
                      strstr(own_made, own_ipc)), "%s shares a namespace", own_made);
}

/* A program started by reader_sandbox_spawn() takes fds 4 and 5 only if they are the namespaces
 * they should be: the IPC namespace where the network one belongs, or a plain file, is none. */
Test(reader_sandbox, adopts_only_namespaces_of_the_right_type) {
        _cleanup_(reader_sandbox_done) ReaderSandbox s = READER_SANDBOX_NULL;
        int status;
        pid_t pid;

        cr_assert(eq(int, reader_sandbox_prepare_namespaces(&s), 1));
        pid = fork();
        cr_assert(ge(int, pid, 0));
        if (pid == 0) {
                ReaderSandbox adopted = READER_SANDBOX_NULL;
                /* Out of the way of 4 and 5 first. */
                int net = fcntl(s.netns_fd, F_DUPFD_CLOEXEC, 100), ipc = fcntl(s.ipcns_fd, F_DUPFD_CLOEXEC, 100);

                /* Swapped: the IPC namespace on 4, the network namespace on 5. */
                if (net < 0 || ipc < 0 || dup2(ipc, READER_SANDBOX_NETNS_FD) < 0 || dup2(net, READER_SANDBOX_IPCNS_FD) < 0)
                        _exit(10);
                reader_sandbox_adopt_namespaces(&adopted);
                if (adopted.netns_fd != -EBADF || adopted.ipcns_fd != -EBADF)
                        _exit(11);
                if (fcntl(READER_SANDBOX_NETNS_FD, F_GETFD) >= 0 || fcntl(READER_SANDBOX_IPCNS_FD, F_GETFD) >= 0)
                        _exit(12); /* rejected, but left open */

                if (open("/dev/null", O_RDONLY) != READER_SANDBOX_NETNS_FD)
                        _exit(13);
                reader_sandbox_adopt_namespaces(&adopted);
                if (adopted.netns_fd != -EBADF)
                        _exit(14);

                if (dup2(net, READER_SANDBOX_NETNS_FD) < 0 || dup2(ipc, READER_SANDBOX_IPCNS_FD) < 0)
                        _exit(15);
                reader_sandbox_adopt_namespaces(&adopted);
                _exit(adopted.netns_fd == READER_SANDBOX_NETNS_FD && adopted.ipcns_fd == READER_SANDBOX_IPCNS_FD ? 0 : 16);
        }
        cr_assert(eq(int, waitpid(pid, &status, 0), pid));
        cr_assert(eq(int, status, 0), "child status %d", status);
}
