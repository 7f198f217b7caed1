/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <signal.h>
#include <stdbool.h>
#include <sys/types.h>

/* Children are watched and reaped through pidfds: a pidfd names one process for good, while a
 * pid may be reused once the child is reaped elsewhere. */

/* A pidfd for a child just forked. On failure the child is killed and reaped, so that the caller
 * has nothing left to clean up; returns -errno then. */
int pidfd_open_child(pid_t pid);

/* SIGKILL through the pidfd (never hits a reused pid). */
int pidfd_kill(int pidfd);

/* Reaps the child: 1 once reaped, with its exit in ret (may be NULL); 0 while it still runs
 * (only without wait); -errno if it cannot be reaped, -ECHILD if somebody else did. */
int pidfd_reap(int pidfd, bool wait, siginfo_t *ret);
