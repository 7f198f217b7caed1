/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fd-util.h"
#include "pidfd-util.h"
#include "reader-child.h"
#include "reader-request.h"
#include "reader-sandbox.h"
#include "reader-spare.h"

struct ReaderSpare {
        pid_t pid;
        int pidfd;
        int sock;
};

int reader_spare_start(const char *helper, const ReaderSandbox *sandbox, ReaderSpare **ret) {
        _cleanup_close_pair_ int pair[2] = { -EBADF, -EBADF };
        _cleanup_(reader_spare_freep) ReaderSpare *s = NULL;
        pid_t pid;
        int r;

        if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, pair) < 0)
                return -errno;

        if (helper) {
                r = reader_sandbox_spawn(helper, pair[1], sandbox, &pid);
                if (r < 0)
                        return r;
        } else {
                r = reader_sandbox_fork(&pid);
                if (r < 0)
                        return r;
                if (pid == 0)
                        reader_child_spare_main(pair[1], sandbox);
        }

        s = calloc(1, sizeof(ReaderSpare));
        if (!s) {
                (void) kill(pid, SIGKILL);
                (void) waitpid(pid, NULL, 0);
                return -ENOMEM;
        }
        s->pid = pid;
        s->sock = TAKE_FD(pair[0]);
        s->pidfd = pidfd_open_child(pid);
        if (s->pidfd < 0) {
                s->pid = 0;
                return s->pidfd;
        }
        *ret = TAKE_PTR(s);
        return 0;
}

ReaderSpare *reader_spare_free(ReaderSpare *s) {
        if (!s)
                return NULL;
        if (s->pidfd >= 0) {
                (void) pidfd_kill(s->pidfd);
                (void) pidfd_reap(s->pidfd, /* wait= */ true, NULL);
        }
        safe_close(s->pidfd);
        safe_close(s->sock);
        return mfree(s);
}

pid_t reader_spare_pid(const ReaderSpare *s) {
        return s ? s->pid : 0;
}

int reader_spare_hand_over(ReaderSpare **slot, const char *image_path, const char *image_name, bool extension,
                           bool force_extension, char * const *matches, char * const *check_paths, int tree_fd,
                           pid_t *ret_pid, int *ret_pidfd, int *ret_sock) {
        ReaderSpare *s = *slot;
        int r;

        if (!s)
                return 0;

        r = reader_request_send(s->sock, image_path, image_name, extension, force_extension, matches, check_paths,
                                tree_fd);
        if (r == -E2BIG)
                return 0;
        /* Used or broken: either way it serves nobody else. */
        *slot = NULL;
        if (r < 0) {
                reader_spare_free(s);
                return 0;
        }

        *ret_pid = s->pid;
        *ret_pidfd = TAKE_FD(s->pidfd);
        *ret_sock = TAKE_FD(s->sock);
        free(s);
        return 1;
}
