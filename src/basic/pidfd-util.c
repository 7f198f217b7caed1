/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "pidfd-util.h"

#ifndef P_PIDFD
#define P_PIDFD 3
#endif

int pidfd_open_child(pid_t pid) {
        int fd = (int) syscall(SYS_pidfd_open, pid, 0), r;

        if (fd >= 0)
                return fd;
        r = -errno;
        (void) kill(pid, SIGKILL);
        (void) waitpid(pid, NULL, 0);
        return r;
}

int pidfd_kill(int pidfd) {
        return syscall(SYS_pidfd_send_signal, pidfd, SIGKILL, NULL, 0) < 0 ? -errno : 0;
}

int pidfd_reap(int pidfd, bool wait, siginfo_t *ret) {
        siginfo_t si = {};

        while (waitid(P_PIDFD, (id_t) pidfd, &si, WEXITED | (wait ? 0 : WNOHANG)) < 0)
                if (errno != EINTR)
                        return -errno;
        if (si.si_pid == 0)
                return 0;
        if (ret)
                *ret = si;
        return 1;
}
