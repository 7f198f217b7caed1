/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <dirent.h>
#include <stdio.h>
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
