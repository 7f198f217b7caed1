/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <criterion/criterion.h>
#include <criterion/new/assert.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fd-util.h"
#include "pidfd-util.h"
#include "unit-helpers.h"

/* valgrind 3.19 does not know pidfd_open(). */
TestSuite(pidfd_util, .init = unit_skip_reader_tests_under_valgrind);

static pid_t fork_child(int exit_status, bool wait_for_kill) {
        pid_t pid = fork();

        cr_assert(ge(int, pid, 0));
        if (pid == 0) {
                if (wait_for_kill)
                        for (;;)
                                pause();
                _exit(exit_status);
        }
        return pid;
}

Test(pidfd_util, reaps_an_exited_child_with_its_status) {
        _cleanup_close_ int fd = pidfd_open_child(fork_child(7, false));
        siginfo_t si = {};

        cr_assert(ge(int, fd, 0));
        cr_assert(eq(int, pidfd_reap(fd, /* wait= */ true, &si), 1));
        cr_assert(eq(int, si.si_code, CLD_EXITED));
        cr_assert(eq(int, si.si_status, 7));
        /* Gone for good: a second reap cannot find it. */
        cr_assert(eq(int, pidfd_reap(fd, /* wait= */ true, NULL), -ECHILD));
}

Test(pidfd_util, a_running_child_is_not_reaped_without_wait) {
        _cleanup_close_ int fd = pidfd_open_child(fork_child(0, true));
        siginfo_t si = { .si_code = -1 };

        cr_assert(ge(int, fd, 0));
        cr_assert(eq(int, pidfd_reap(fd, /* wait= */ false, &si), 0));
        cr_assert(eq(int, si.si_code, -1), "nothing is reported of a child that still runs");

        cr_assert(eq(int, pidfd_kill(fd), 0));
        cr_assert(eq(int, pidfd_reap(fd, /* wait= */ true, &si), 1));
        cr_assert(eq(int, si.si_code, CLD_KILLED));
        cr_assert(eq(int, si.si_status, SIGKILL));
}

Test(pidfd_util, a_pid_that_cannot_be_watched_is_an_error) {
        /* No such process: nothing to open, nothing left behind. */
        cr_assert(eq(int, pidfd_open_child(0x3fffffff), -ESRCH));
}
