/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <signal.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "process-util.h"

int child_tie_to_parent(pid_t parent, const char *comm) {
        if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0)
                return -errno;
        /* The parent may have died between fork() and the prctl(): the signal is then never sent. */
        if (getppid() != parent)
                return -ESRCH;
        if (comm)
                (void) prctl(PR_SET_NAME, comm);
        return 0;
}
