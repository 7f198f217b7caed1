/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <criterion/criterion.h>
#include <criterion/new/assert.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fd-util.h"
#include "macro.h"
#include "process-util.h"

/* Runs child in a process forked from here and returns its exit status. */
static int run_in_child(int (*child)(pid_t parent)) {
        pid_t parent = getpid(), pid = fork();
        int status;

        cr_assert(ge(int, pid, 0));
        if (pid == 0)
                _exit(child(parent));
        cr_assert(eq(int, waitpid(pid, &status, 0), pid));
        cr_assert(eq(int, WIFEXITED(status), 1));
        return WEXITSTATUS(status);
}

static int tie_and_check_name(pid_t parent) {
        char comm[32] = {};
        int fd;

        if (child_tie_to_parent(parent, "pd-test-worker") < 0)
                return 10;
        fd = open("/proc/self/comm", O_RDONLY | O_CLOEXEC);
        if (fd < 0 || read(fd, comm, sizeof(comm) - 1) <= 0)
                return 11;
        close(fd);
        return streq(comm, "pd-test-worker\n") ? 0 : 12;
}

Test(process_util, a_child_of_a_live_parent_is_tied_and_named) {
        cr_assert(eq(int, run_in_child(tie_and_check_name), 0));
}

/* The grandchild ties itself to the middle process, sends its pid through the pipe and waits for
 * ever; once it is tied, the middle process exits. The grandchild must die with it: its end of
 * the pipe closes, and the read here sees the end of the file. */
Test(process_util, the_child_dies_with_its_parent) {
        _cleanup_close_pair_ int p[2] = { -EBADF, -EBADF }, tied[2] = { -EBADF, -EBADF };
        pid_t middle, grandchild = 0;
        int status, n;

        cr_assert(eq(int, pipe2(p, O_CLOEXEC), 0));
        cr_assert(eq(int, pipe2(tied, O_CLOEXEC), 0));
        middle = fork();
        cr_assert(ge(int, middle, 0));
        if (middle == 0) {
                pid_t me = getpid(), pid;
                char c;

                if (fork() == 0) {
                        pid = getpid();
                        if (child_tie_to_parent(me, NULL) < 0 || write(p[1], &pid, sizeof(pid)) != sizeof(pid) ||
                            write(tied[1], "t", 1) != 1)
                                _exit(1);
                        for (;;)
                                pause();
                }
                /* Only once the grandchild is tied (if it fails, the read sees the end). */
                tied[1] = safe_close(tied[1]);
                _exit(read(tied[0], &c, 1) == 1 ? 0 : 1);
        }
        p[1] = safe_close(p[1]);
        tied[1] = safe_close(tied[1]);
        cr_assert(eq(int, waitpid(middle, &status, 0), middle));
        cr_assert(eq(int, status, 0));
        cr_assert(eq(sz, read(p[0], &grandchild, sizeof(grandchild)), sizeof(grandchild)));

        struct pollfd pfd = { .fd = p[0], .events = POLLIN };
        n = poll(&pfd, 1, 10 * 1000);
        if (n == 0)
                (void) kill(grandchild, SIGKILL); /* not to leave it behind */
        cr_assert(eq(int, n, 1), "the grandchild outlived its parent");
        cr_assert(eq(sz, read(p[0], &grandchild, sizeof(grandchild)), 0));
}

/* A parent that died before the child could tie itself: the child learns it, instead of running
 * on with nobody to stop it. */
Test(process_util, a_child_whose_parent_is_gone_is_told) {
        _cleanup_close_pair_ int go[2] = { -EBADF, -EBADF }, result[2] = { -EBADF, -EBADF };
        pid_t middle;
        int status, r = 0;

        cr_assert(eq(int, pipe2(go, O_CLOEXEC), 0));
        cr_assert(eq(int, pipe2(result, O_CLOEXEC), 0));
        middle = fork();
        cr_assert(ge(int, middle, 0));
        if (middle == 0) {
                pid_t me = getpid();
                char c;

                if (fork() == 0) {
                        go[1] = safe_close(go[1]);
                        /* Until the middle process is gone: its end of the pipe closes, and
                         * (valgrind closes it a moment before the end) it is no longer the parent. */
                        if (read(go[0], &c, 1) != 0)
                                _exit(1);
                        for (int i = 0; getppid() == me; i++) {
                                if (i == 1000)
                                        _exit(1);
                                usleep(10 * 1000);
                        }
                        r = child_tie_to_parent(me, NULL);
                        _exit(write(result[1], &r, sizeof(r)) == sizeof(r) ? 0 : 1);
                }
                _exit(0);
        }
        go[1] = safe_close(go[1]);
        result[1] = safe_close(result[1]);
        cr_assert(eq(int, waitpid(middle, &status, 0), middle));
        go[0] = safe_close(go[0]);
        cr_assert(eq(sz, read(result[0], &r, sizeof(r)), sizeof(r)));
        cr_assert(eq(int, r, -ESRCH));
}
