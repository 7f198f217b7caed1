/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <linux/filter.h>
#include <stddef.h>
#include <sys/types.h>

#include "macro.h"

/* The confinement of the image reader child, in the order the child takes its steps. The child
 * is forked from the daemon (root, every capability) into a new PID namespace, and reads a file
 * system that may be hostile: a bug in a file-system driver or in our reading code must not give
 * an image anything of the daemon or the host.
 *
 * 1. reader_sandbox_keep_fds(): before anything else, every file descriptor but the ones it is
 *    given (the image, checked and opened by the daemon, the result socket and the namespaces of
 *    step 2) is closed, and stdin/stdout/stderr point to /dev/null: no bus connection, no journal
 *    stream, nothing that could reopen a swapped image path.
 * 2. reader_sandbox_unshare(): its own mount and UTS namespaces, mounts that do not propagate
 *    back to the host, and network and IPC namespaces that are empty and not the host's. Making
 *    the last two is the slowest part of a reader's start (a network namespace alone takes about
 *    0.4 ms to make and more to tear down, in the kernel's workers): the daemon makes one of each
 *    once (reader_sandbox_prepare_namespaces()) and every reader joins them. Sharing them opens
 *    no channel between readers: the seccomp filter of step 4 lets none make a socket or touch
 *    System V IPC or POSIX message queues, and before that filter only our own code runs.
 * 3. (the caller mounts the image at <new_root>/image)
 *    reader_sandbox_pivot(): a read-only tmpfs root holding just the image and a read-only
 *    procfs of the child's own PID namespace (for /proc/self/fd, nothing else), then pivot_root()
 *    with the old root detached: no host path can be reached any more.
 * 4. reader_sandbox_lock_down(): resource limits (address space, CPU time, open files, file
 *    size), no capabilities left in any set (bounding and ambient included) with securebits
 *    locked so that uid 0 regains none, no_new_privs, and a seccomp allow-list of exactly what
 *    reading needs; anything else kills the child (openat2 fails with ENOSYS instead, so that
 *    path resolution uses the walk whose opens the filter can check: read-only opens only). */

/* What readers take that can be made before they are needed, made by the daemon while it is idle and
 * owned by it (its manager object): the seccomp filter of step 4, compiled once so that a forked
 * reader loads it with one system call instead of building it (and probing the kernel) itself, and
 * the namespaces of step 2 that every reader joins. */
typedef struct ReaderSandbox {
        struct sock_fprog filter; /* .filter NULL: not compiled (yet) */
        int netns_fd;             /* the readers' network namespace; -EBADF: not made (yet) */
        int ipcns_fd;             /* the readers' IPC namespace; -EBADF: not made (yet) */
} ReaderSandbox;

#define READER_SANDBOX_NULL ((ReaderSandbox) { .netns_fd = -EBADF, .ipcns_fd = -EBADF })

void reader_sandbox_done(ReaderSandbox *s);

/* Compiles the filter into s, unless it is there. Optional: without it, lock_down() builds the
 * filter in the child. */
int reader_sandbox_prepare(ReaderSandbox *s);

/* fork() straight into a new PID namespace, whose pid 1 the child is: the daemon sees the reader's
 * fate on the pid it started, and no other process is ever in the namespace. As fork(): *ret is 0
 * in the child, the child's pid in the parent. */
int reader_sandbox_fork(pid_t *ret);

/* The same for another program: path is started with posix_spawn() as pid 1 of a new PID
 * namespace, with fd as its fd 3, the readers' network and IPC namespaces of s (if made) as its
 * fds 4 and 5, and everything else of ours closed (close-on-exec), no signal blocked or ignored.
 * The daemon's pages are not copied: the child shares them until it runs
 * path, and the daemon waits that long (vfork()), so a spare costs the daemon no copy-on-write
 * faults afterwards. The child inherits our environment. */
int reader_sandbox_spawn(const char *path, int fd, const ReaderSandbox *s, pid_t *ret);

/* The fds a program started by reader_sandbox_spawn() finds its namespaces on. */
#define READER_SANDBOX_NETNS_FD 4
#define READER_SANDBOX_IPCNS_FD 5

/* In such a program: its fds 4 and 5 into s, each if it is a namespace of the right type (the
 * daemon may have had none to give). */
void reader_sandbox_adopt_namespaces(ReaderSandbox *s);

/* Keeps fds (moved to 3, 4, ... in order; fds[] is updated), closes everything else. */
int reader_sandbox_keep_fds(int *fds, size_t n_fds);

/* netns_fd, ipcns_fd: the namespaces to join (reader_sandbox_prepare_namespaces()), borrowed;
 * -EBADF to make a new one instead. */
int reader_sandbox_unshare(int netns_fd, int ipcns_fd);

/* Makes the readers' network and IPC namespaces into s, unless they are made: the calling process
 * enters new ones, keeps a file descriptor of each and goes back to its own. Returns 1 if they
 * were made, 0 if they were there already. */
int reader_sandbox_prepare_namespaces(ReaderSandbox *s);

/* The directory where the caller mounts the image before pivoting; "image" below it. */
#define READER_SANDBOX_STAGING "/tmp"
#define READER_SANDBOX_NEW_ROOT READER_SANDBOX_STAGING "/root"
#define READER_SANDBOX_IMAGE_DIR "/image"

/* Mounts a private tmpfs on READER_SANDBOX_STAGING, with READER_SANDBOX_NEW_ROOT inside it and
 * the empty mount point for the image. */
int reader_sandbox_prepare_root(void);

int reader_sandbox_pivot(void);

/* The part of step 4 that takes no capability the reader still needs, and may come before the
 * image is mounted: securebits locked so that uid 0 regains nothing, and the bounding and ambient
 * sets emptied (they only matter at exec and set*id, which the reader never makes). */
int reader_sandbox_restrict_privileges(void);

/* s: loads its compiled filter if it has one (NULL or none: builds the filter here). Takes the
 * steps of reader_sandbox_restrict_privileges() too, unless they were taken. */
int reader_sandbox_lock_down(const ReaderSandbox *s);

/* Ends a locked-down process by the system call itself: _exit() may be wrapped (the sanitizer
 * runtimes check for leaks there, with calls the seccomp filter rightly refuses), and nothing of
 * the daemon's process image has anything left to do after the reading. */
_noreturn_ void reader_sandbox_exit(int status);
