/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <linux/filter.h>
#include <linux/nsfs.h>
#include <linux/seccomp.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <linux/securebits.h>
#include <sched.h>
#include <signal.h>
#include <spawn.h>
#include <seccomp.h>
#include <stdio.h>
#include <sys/mman.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fd-util.h"
#include "fileio.h"
#include "portable-limits.h"
#include "reader-sandbox.h"

#if HAVE_VALGRIND_VALGRIND_H
#include <valgrind/valgrind.h>
#endif

#if defined(__SANITIZE_ADDRESS__)
#define HAVE_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define HAVE_ASAN 1
#endif
#endif
#ifndef HAVE_ASAN
#define HAVE_ASAN 0
#endif

DEFINE_TRIVIAL_CLEANUP_FUNC(scmp_filter_ctx, seccomp_release);

/* The namespace of the given type we are in now (the process's main thread, where the daemon
 * makes these), or -errno. */
static int open_own_namespace(const char *name) {
        char path[32];
        int fd;

        (void) snprintf(path, sizeof(path), "/proc/self/ns/%s", name);
        fd = open(path, O_RDONLY | O_CLOEXEC);
        return fd < 0 ? -errno : fd;
}

/* One fork only: the namespace is made for our next child, which becomes its pid 1, and our own is
 * given back for the children after it. */
int reader_sandbox_fork(pid_t *ret) {
        _cleanup_close_ int own = open_own_namespace("pid");
        pid_t pid;
        int k = 0;

        if (own < 0)
                return own;
        if (unshare(CLONE_NEWPID) < 0)
                return -errno;

        pid = fork();
        if (pid == 0) {
                *ret = 0;
                return 0;
        }
        if (pid < 0)
                k = -errno;

        if (setns(own, CLONE_NEWPID) < 0) {
                /* Every later child would land in the reader's namespace (and fail once it is
                 * gone): the reader is not worth that. */
                k = -errno;
                if (pid > 0) {
                        (void) kill(pid, SIGKILL);
                        (void) waitpid(pid, NULL, 0);
                }
                return k;
        }
        if (k < 0)
                return k;
        *ret = pid;
        return 0;
}

int reader_sandbox_spawn(const char *path, int fd, const ReaderSandbox *s, pid_t *ret) {
        _cleanup_close_ int own = open_own_namespace("pid");
        _cleanup_close_ int sock_moved = -EBADF, netns_moved = -EBADF, ipcns_moved = -EBADF;
        /* Given to the child in this order, as 3, 4 and 5. */
        int given[] = { fd, s ? s->netns_fd : -EBADF, s ? s->ipcns_fd : -EBADF };
        int *moved[ELEMENTSOF(given)] = { &sock_moved, &netns_moved, &ipcns_moved };
        char *argv[] = { (char *) path, NULL };
        posix_spawn_file_actions_t actions;
        posix_spawnattr_t attr;
        sigset_t none, all;
        pid_t pid;
        int k;

        if (own < 0)
                return own;
        /* Above 5 first: one dup2() must not overwrite the source of the next, and a dup2() onto
         * itself would keep close-on-exec set. */
        for (size_t i = 0; i < ELEMENTSOF(given); i++)
                if (given[i] >= 0) {
                        *moved[i] = fcntl(given[i], F_DUPFD_CLOEXEC, 6);
                        if (*moved[i] < 0)
                                return -errno;
                }
        (void) sigemptyset(&none);
        (void) sigfillset(&all);

        k = -posix_spawn_file_actions_init(&actions);
        if (k < 0)
                return k;
        k = -posix_spawnattr_init(&attr);
        if (k < 0) {
                (void) posix_spawn_file_actions_destroy(&actions);
                return k;
        }
        k = 0;
        for (size_t i = 0; i < ELEMENTSOF(moved) && k == 0; i++)
                if (*moved[i] >= 0)
                        k = -posix_spawn_file_actions_adddup2(&actions, *moved[i], 3 + (int) i);
        if (k == 0)
                k = -posix_spawnattr_setsigmask(&attr, &none);
        if (k == 0)
                k = -posix_spawnattr_setsigdefault(&attr, &all);
        if (k == 0)
                k = -posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);

        if (k == 0) {
                if (unshare(CLONE_NEWPID) < 0)
                        k = -errno;
                else {
                        k = -posix_spawn(&pid, path, &actions, &attr, argv, environ);
                        /* As in reader_sandbox_fork(): our later children belong in our namespace. */
                        if (setns(own, CLONE_NEWPID) < 0) {
                                int e = -errno;

                                if (k == 0) {
                                        (void) kill(pid, SIGKILL);
                                        (void) waitpid(pid, NULL, 0);
                                }
                                k = e;
                        }
                }
        }
        (void) posix_spawnattr_destroy(&attr);
        (void) posix_spawn_file_actions_destroy(&actions);
        if (k < 0)
                return k;
        *ret = pid;
        return 0;
}

int reader_sandbox_keep_fds(int *fds, size_t n_fds) {
        int null_fd;

        /* First out of the way of 3, 4, ..., then into place. */
        for (size_t i = 0; i < n_fds; i++) {
                int fd = fcntl(fds[i], F_DUPFD_CLOEXEC, 100);

                if (fd < 0)
                        return -errno;
                fds[i] = fd;
        }
        for (size_t i = 0; i < n_fds; i++) {
                if (dup3(fds[i], 3 + (int) i, O_CLOEXEC) < 0)
                        return -errno;
                fds[i] = 3 + (int) i;
        }
        if (close_range(3 + (unsigned) n_fds, ~0U, 0) < 0)
                return -errno;

        null_fd = open("/dev/null", O_RDWR | O_CLOEXEC | O_NOCTTY);
        if (null_fd < 0)
                return -errno;
        for (int i = 0; i <= 2; i++)
                if (dup2(null_fd, i) < 0) {
                        safe_close(null_fd);
                        return -errno;
                }
        safe_close(null_fd);
        return 0;
}

int reader_sandbox_prepare_namespaces(ReaderSandbox *s) {
        _cleanup_close_ int own_net = -EBADF, own_ipc = -EBADF, net = -EBADF, ipc = -EBADF;
        int k = 0;

        if (s->netns_fd >= 0 && s->ipcns_fd >= 0)
                return 0;

        own_net = open_own_namespace("net");
        if (own_net < 0)
                return own_net;
        own_ipc = open_own_namespace("ipc");
        if (own_ipc < 0)
                return own_ipc;
        if (unshare(CLONE_NEWNET | CLONE_NEWIPC) < 0)
                return -errno;
        net = open_own_namespace("net");
        ipc = open_own_namespace("ipc");
        /* Back home before anything else, whatever happened: nothing of ours may live there. */
        if (setns(own_net, CLONE_NEWNET) < 0 || setns(own_ipc, CLONE_NEWIPC) < 0)
                k = -errno;
        if (k < 0)
                return k;
        if (net < 0)
                return net;
        if (ipc < 0)
                return ipc;
        safe_close(s->netns_fd);
        safe_close(s->ipcns_fd);
        s->netns_fd = TAKE_FD(net);
        s->ipcns_fd = TAKE_FD(ipc);
        return 1;
}

/* fd, if it is a namespace of the given type; else closed, and -EBADF. */
static int namespace_or_none(int fd, int type) {
        if (ioctl(fd, NS_GET_NSTYPE) == type)
                return fd;
        if (fcntl(fd, F_GETFD) >= 0)
                safe_close(fd);
        return -EBADF;
}

void reader_sandbox_adopt_namespaces(ReaderSandbox *s) {
        s->netns_fd = namespace_or_none(READER_SANDBOX_NETNS_FD, CLONE_NEWNET);
        s->ipcns_fd = namespace_or_none(READER_SANDBOX_IPCNS_FD, CLONE_NEWIPC);
}

int reader_sandbox_unshare(int netns_fd, int ipcns_fd) {
        int flags = CLONE_NEWNS | CLONE_NEWUTS;

        if (netns_fd >= 0) {
                if (setns(netns_fd, CLONE_NEWNET) < 0)
                        return -errno;
        } else
                flags |= CLONE_NEWNET;
        if (ipcns_fd >= 0) {
                if (setns(ipcns_fd, CLONE_NEWIPC) < 0)
                        return -errno;
        } else
                flags |= CLONE_NEWIPC;
        if (unshare(flags) < 0)
                return -errno;
        /* Nothing we mount may propagate back to the host. */
        if (mount(NULL, "/", NULL, MS_SLAVE | MS_REC, NULL) < 0)
                return -errno;
        return 0;
}

int reader_sandbox_prepare_root(void) {
        if (mount("portabled-reader", READER_SANDBOX_STAGING, "tmpfs", MS_NOSUID | MS_NOEXEC, "mode=0700") < 0)
                return -errno;
        if (mkdir(READER_SANDBOX_NEW_ROOT, 0755) < 0)
                return -errno;
        if (mount("portabled-root", READER_SANDBOX_NEW_ROOT, "tmpfs", MS_NOSUID | MS_NOEXEC | MS_NODEV, "mode=0755") < 0)
                return -errno;
        if (mkdir(READER_SANDBOX_NEW_ROOT READER_SANDBOX_IMAGE_DIR, 0755) < 0 ||
            mkdir(READER_SANDBOX_NEW_ROOT "/proc", 0555) < 0 ||
            mkdir(READER_SANDBOX_NEW_ROOT "/oldroot", 0700) < 0)
                return -errno;
        return 0;
}

int reader_sandbox_pivot(void) {
        /* Only our own processes (there is one), only their pid directories: no /proc/sys and
         * friends, which uid 0 could write to even without capabilities. */
        if (mount("proc", READER_SANDBOX_NEW_ROOT "/proc", "proc", MS_NOSUID | MS_NOEXEC | MS_NODEV | MS_RDONLY,
                  "subset=pid,hidepid=invisible") < 0)
                return -errno;

        if (chdir(READER_SANDBOX_NEW_ROOT) < 0)
                return -errno;
        if (syscall(SYS_pivot_root, ".", "oldroot") < 0)
                return -errno;
        if (umount2("/oldroot", MNT_DETACH) < 0)
                return -errno;
        if (rmdir("/oldroot") < 0)
                return -errno;
        if (chdir("/") < 0)
                return -errno;

        /* The root itself is only there to hold the mount points. */
        if (mount(NULL, "/", NULL, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NOEXEC | MS_NODEV, NULL) < 0)
                return -errno;
        return 0;
}

static int set_limits(void) {
        const struct {
                int resource;
                rlim_t value;
        } limits[] = {
                { RLIMIT_CPU, 30 },
                { RLIMIT_NOFILE, 64 },
                /* memfds count as files: a unit file and a bit. */
                { RLIMIT_FSIZE, 2 * PORTABLE_SIZE_MAX_UNIT_FILE },
                { RLIMIT_CORE, 0 },
                { RLIMIT_NPROC, 0 },
#if !HAVE_ASAN
                /* AddressSanitizer reserves terabytes of address space up front. */
                { RLIMIT_AS, 1024ULL * 1024 * 1024 },
#endif
        };

        for (size_t i = 0; i < ELEMENTSOF(limits); i++) {
                struct rlimit rl = { limits[i].value, limits[i].value };

                if (setrlimit(limits[i].resource, &rl) < 0)
                        return -errno;
        }
        return 0;
}

#define READER_SECUREBITS                                                                           \
        (SECBIT_NOROOT | SECBIT_NOROOT_LOCKED | SECBIT_NO_SETUID_FIXUP | SECBIT_NO_SETUID_FIXUP_LOCKED | \
         SECBIT_KEEP_CAPS_LOCKED | SECBIT_NO_CAP_AMBIENT_RAISE | SECBIT_NO_CAP_AMBIENT_RAISE_LOCKED)

int reader_sandbox_restrict_privileges(void) {
        /* uid 0 must not get capabilities back through any door: exec (no_new_privs and the
         * filter forbid it anyway), set*id, ambient raise. */
        if (prctl(PR_SET_SECUREBITS, READER_SECUREBITS) < 0)
                return -errno;

        /* One call, and one new set of credentials, per capability: the slowest step of the
         * lock-down, which a spare takes before its request comes. */
        for (unsigned long cap = 0;; cap++)
                if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0) {
                        if (errno == EINVAL)
                                break; /* past the last capability this kernel knows */
                        return -errno;
                }

        if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0)
                return -errno;
        return 0;
}

static bool privileges_restricted(void) {
        int bits = prctl(PR_GET_SECUREBITS);

        /* Locked: nobody could have changed them since, and the bounding set went with them. */
        return bits >= 0 && (bits & READER_SECUREBITS) == READER_SECUREBITS && prctl(PR_CAPBSET_READ, 0) == 0;
}

static int drop_capabilities(void) {
        struct __user_cap_header_struct header = { .version = _LINUX_CAPABILITY_VERSION_3 };
        struct __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3] = {};
        int r;

        if (!privileges_restricted()) {
                r = reader_sandbox_restrict_privileges();
                if (r < 0)
                        return r;
        }
        if (syscall(SYS_capset, &header, data) < 0)
                return -errno;
        return 0;
}

/* What reading files, and sending them as memfds over a socket, takes. */
static const char *const allowed_syscalls[] = {
        "read", "pread64", "readv", "write", "writev", "close", "lseek",
        "fstat", "newfstatat", "statx", "getdents64", "readlink", "readlinkat",
        "fgetxattr", "getxattr", "lgetxattr",
        "fcntl", "memfd_create", "sendmsg",
        "brk", "munmap", "mremap", "madvise",
        "exit", "exit_group", "rt_sigreturn", "rt_sigprocmask",
        "getpid", "gettid", "getuid", "geteuid", "getgid", "getegid",
        "clock_gettime", "gettimeofday", "futex", "getrandom",
        /* glibc's qsort() asks how much memory the machine has before it sorts more than 1 KiB
         * (the units of an image with a few dozen unit files). It only reads. */
        "sysinfo",
        /* Waiting for the daemon to take the files in flight (reader-protocol.c). */
        "nanosleep", "clock_nanosleep",
#if HAVE_ASAN
        /* AddressSanitizer asks which stack it is on before every call of a noreturn function. */
        "sigaltstack",
#endif
};

static int add_filter_rules(scmp_filter_ctx ctx) {
        int r;

        for (size_t i = 0; i < ELEMENTSOF(allowed_syscalls); i++) {
                int nr = seccomp_syscall_resolve_name(allowed_syscalls[i]);

                if (nr == __NR_SCMP_ERROR)
                        continue; /* not on this architecture */
                r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 0);
                if (r < 0)
                        return r;
        }

        /* Opening only for reading: nothing is created, truncated or written through a path. */
        r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(openat), 1,
                             SCMP_A2(SCMP_CMP_MASKED_EQ, O_ACCMODE | O_CREAT | O_TRUNC | O_APPEND, 0));
        if (r < 0)
                return r;

        /* Memory, but never executable memory. */
        r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(mmap), 1, SCMP_A2(SCMP_CMP_MASKED_EQ, PROT_EXEC, 0));
        if (r < 0)
                return r;
        r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(mprotect), 1, SCMP_A2(SCMP_CMP_MASKED_EQ, PROT_EXEC, 0));
        if (r < 0)
                return r;

        /* openat2() takes its flags through a pointer the filter cannot look at: report it
         * missing, so that path resolution walks with openat(). */
        return seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(openat2), 0);
}

static bool running_on_valgrind(void) {
#if HAVE_VALGRIND_VALGRIND_H
        return RUNNING_ON_VALGRIND;
#else
        return false;
#endif
}

static int build_filter(scmp_filter_ctx *ret) {
        _cleanup_(seccomp_releasep) scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_KILL_PROCESS);
        int r;

        if (!ctx)
                return -ENOMEM;
        r = add_filter_rules(ctx);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(ctx);
        return 0;
}

void reader_sandbox_done(ReaderSandbox *s) {
        s->filter.filter = mfree(s->filter.filter);
        s->filter.len = 0;
        s->netns_fd = safe_close(s->netns_fd);
        s->ipcns_fd = safe_close(s->ipcns_fd);
}

int reader_sandbox_prepare(ReaderSandbox *s) {
        _cleanup_(seccomp_releasep) scmp_filter_ctx ctx = NULL;
        _cleanup_close_ int fd = -EBADF;
        _cleanup_free_ char *data = NULL;
        size_t size;
        int r;

        if (s->filter.filter)
                return 0;

        r = build_filter(&ctx);
        if (r < 0)
                return r;
        fd = memfd_create("reader-filter", MFD_CLOEXEC);
        if (fd < 0)
                return -errno;
        r = seccomp_export_bpf(ctx, fd);
        if (r < 0)
                return r;
        if (lseek(fd, 0, SEEK_SET) < 0)
                return -errno;
        r = read_full_fd(fd, 1024 * 1024, &data, &size);
        if (r < 0)
                return r;
        if (size == 0 || size % sizeof(struct sock_filter) != 0 || size / sizeof(struct sock_filter) > BPF_MAXINSNS)
                return -EBADMSG;

        s->filter = (struct sock_fprog) {
                .len = (unsigned short) (size / sizeof(struct sock_filter)),
                .filter = (struct sock_filter *) TAKE_PTR(data),
        };
        return 0;
}

int reader_sandbox_lock_down(const ReaderSandbox *s) {
        _cleanup_(seccomp_releasep) scmp_filter_ctx ctx = NULL;
        int r;

        r = set_limits();
        if (r < 0)
                return r;
        r = drop_capabilities();
        if (r < 0)
                return r;
        if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
                return -errno;

        /* valgrind runs its own machinery inside the process, making calls no list of ours can
         * foresee; everything else of the sandbox still applies there. */
        if (running_on_valgrind())
                return 0;

        /* What seccomp_load() would load, with the flags it would use (none: no_new_privs is set). */
        if (s && s->filter.filter)
                return RET_NERRNO(syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &s->filter));

        r = build_filter(&ctx);
        if (r < 0)
                return r;
        return seccomp_load(ctx);
}

_noreturn_ void reader_sandbox_exit(int status) {
        for (;;)
                (void) syscall(SYS_exit_group, status);
}
