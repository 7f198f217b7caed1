/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fd-util.h"
#include "log.h"
#include "polkit-agent.h"
#include "portablectl.h"

#define PKTTYAGENT_PATH "/usr/bin/pkttyagent"

static pid_t agent_pid = 0;

/* In the child: becomes pkttyagent, registered for its parent (us), closing notify_fd when ready. */
static _noreturn_ void exec_agent(pid_t parent, int notify_fd) {
        char fd_arg[16];

        /* Dies with us, and not after us if we died already. */
        if (prctl(PR_SET_PDEATHSIG, SIGTERM) < 0 || getppid() != parent)
                _exit(EXIT_FAILURE);
        /* The one fd it is to inherit. */
        if (fcntl(notify_fd, F_SETFD, 0) < 0)
                _exit(EXIT_FAILURE);
        (void) snprintf(fd_arg, sizeof(fd_arg), "%d", notify_fd);
        execl(PKTTYAGENT_PATH, PKTTYAGENT_PATH, "--notify-fd", fd_arg, "--fallback", (char *) NULL);
        _exit(EXIT_FAILURE);
}

int polkit_agent_open_if_enabled(void) {
        int pipe_fd[2];
        pid_t parent = getpid(), pid;
        char c;

        if (!arg_ask_password || arg_transport_remote || agent_pid > 0 || geteuid() == 0 || !isatty(STDIN_FILENO) ||
            access(PKTTYAGENT_PATH, X_OK) < 0)
                return 0;

        if (pipe2(pipe_fd, O_CLOEXEC) < 0) {
                log_debug_errno(errno, "Failed to create a pipe for the polkit agent, not starting it: %m");
                return 0;
        }

        pid = fork();
        if (pid < 0) {
                log_debug_errno(errno, "Failed to start the polkit agent: %m");
                safe_close(pipe_fd[0]);
                safe_close(pipe_fd[1]);
                return 0;
        }
        if (pid == 0) {
                safe_close(pipe_fd[0]);
                exec_agent(parent, pipe_fd[1]);
        }

        agent_pid = pid;
        safe_close(pipe_fd[1]);
        /* The agent closes its end once it has registered with polkit, or dies trying. */
        while (read(pipe_fd[0], &c, 1) < 0 && errno == EINTR)
                ;
        safe_close(pipe_fd[0]);
        return 0;
}

void polkit_agent_close(void) {
        if (agent_pid <= 0)
                return;

        (void) kill(agent_pid, SIGTERM);
        (void) kill(agent_pid, SIGCONT);
        while (waitpid(agent_pid, NULL, 0) < 0 && errno == EINTR)
                ;
        agent_pid = 0;
}
