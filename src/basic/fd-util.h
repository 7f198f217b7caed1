/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>
#include <unistd.h>

#include "macro.h"

static inline int safe_close(int fd) {
        if (fd >= 0) {
                int saved = errno;
                (void) close(fd);
                errno = saved;
        }
        return -EBADF;
}

static inline void closep(int *fd) {
        safe_close(*fd);
}
#define _cleanup_close_ _cleanup_(closep)

static inline void close_pairp(int (*p)[2]) {
        safe_close((*p)[0]);
        safe_close((*p)[1]);
}
#define _cleanup_close_pair_ _cleanup_(close_pairp)

static inline void fclosep(FILE **f) {
        if (*f)
                (void) fclose(*f);
}
#define _cleanup_fclose_ _cleanup_(fclosep)

static inline void closedirp(DIR **d) {
        if (*d)
                (void) closedir(*d);
}
#define _cleanup_closedir_ _cleanup_(closedirp)

/* Opens a directory stream on a duplicate of fd, so the caller keeps its own fd. */
DIR *fd_opendir_dup(int fd);

/* Opens the file fd refers to anew, with flags (O_CLOEXEC added): the way to read a file found
 * with O_PATH after checking what it is, without looking its name up again. Needs /proc. */
int fd_reopen(int fd, int flags);

/* The path the kernel reports for fd (from /proc/self/fd). */
int fd_get_path(int fd, char **ret);

/* The mount ID and file type of name below dir_fd ("": dir_fd itself), a final symlink not
 * followed. A FUSE server is not asked (AT_STATX_DONT_SYNC: what it said before is enough): for
 * walks that must not step into a file system mounted below where they started, nor wait on one. */
int fd_mount_id(int dir_fd, const char *name, uint64_t *ret_mount_id, mode_t *ret_mode);
