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
 *    given (the image, checked and opened by the daemon, and the result socket) is closed, and
 *    stdin/stdout/stderr point to /dev/null: no bus connection, no journal stream, nothing that
 *    could reopen a swapped image path.
 * 2. reader_sandbox_unshare(): its own mount, network, IPC and UTS namespaces; mounts do not
 *    propagate back to the host. Creating a network namespace is by far the slowest of them
 *    (about 0.4 ms): the daemon makes one ahead of time, while it is idle
 *    (reader_sandbox_prepare_network()), and hands it to the next reader, which joins it
 *    instead; each such namespace is new, empty and given to exactly one reader. A spare reader
 *    (reader-spare.h) makes its own: it is set up before anyone waits for it.
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
 * the network namespace of step 2 for the next reader started on demand. */
typedef struct ReaderSandbox {
        struct sock_fprog filter; /* .filter NULL: not compiled (yet) */
        int netns_fd;             /* -EBADF: none ready */
} ReaderSandbox;

#define READER_SANDBOX_NULL ((ReaderSandbox) { .netns_fd = -EBADF })

void reader_sandbox_done(ReaderSandbox *s);

/* Compiles the filter into s, unless it is there. Optional: without it, lock_down() builds the
 * filter in the child. */
int reader_sandbox_prepare(ReaderSandbox *s);

/* fork() straight into a new PID namespace, whose pid 1 the child is: the daemon sees the reader's
 * fate on the pid it started, and no other process is ever in the namespace. As fork(): *ret is 0
 * in the child, the child's pid in the parent. */
int reader_sandbox_fork(pid_t *ret);

/* The same for another program: path is started with posix_spawn() as pid 1 of a new PID
 * namespace, with fd as its fd 3 and everything else of ours closed (close-on-exec), no signal
 * blocked or ignored. The daemon's pages are not copied: the child shares them until it runs
 * path, and the daemon waits that long (vfork()), so a spare costs the daemon no copy-on-write
 * faults afterwards. The child inherits our environment. */
int reader_sandbox_spawn(const char *path, int fd, pid_t *ret);

/* Keeps fds (moved to 3, 4, ... in order; fds[] is updated), closes everything else. */
int reader_sandbox_keep_fds(int *fds, size_t n_fds);

/* netns_fd: a network namespace made for this reader by reader_sandbox_take_network() (taken,
 * closed once joined), or -EBADF to make one here. */
int reader_sandbox_unshare(int netns_fd);

/* Makes a new network namespace for the next reader into s, unless one is ready: the calling
 * process enters a new one, keeps a file descriptor of it and goes back to its own. For a daemon
 * that is idle (a few hundred microseconds). Returns 1 if one was made, 0 if one was ready already. */
int reader_sandbox_prepare_network(ReaderSandbox *s);

/* The network namespace made ahead of time (the caller owns it, and must give it to one reader
 * only), or -EBADF if there is none. */
int reader_sandbox_take_network(ReaderSandbox *s);

/* The directory where the caller mounts the image before pivoting; "image" below it. */
#define READER_SANDBOX_STAGING "/tmp"
#define READER_SANDBOX_NEW_ROOT READER_SANDBOX_STAGING "/root"
#define READER_SANDBOX_IMAGE_DIR "/image"

/* Mounts a private tmpfs on READER_SANDBOX_STAGING, with READER_SANDBOX_NEW_ROOT inside it and
 * the empty mount point for the image. */
int reader_sandbox_prepare_root(void);

int reader_sandbox_pivot(void);

/* s: loads its compiled filter if it has one (NULL or none: builds the filter here). */
int reader_sandbox_lock_down(const ReaderSandbox *s);

/* Ends a locked-down process by the system call itself: _exit() may be wrapped (the sanitizer
 * runtimes check for leaks there, with calls the seccomp filter rightly refuses), and nothing of
 * the daemon's process image has anything left to do after the reading. */
_noreturn_ void reader_sandbox_exit(int status);
