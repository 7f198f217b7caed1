/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "fd-util.h"

DIR *fd_opendir_dup(int fd) {
        _cleanup_close_ int copy = -EBADF;
        DIR *d;

        copy = openat(fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (copy < 0)
                return NULL;

        d = fdopendir(copy);
        if (!d)
                return NULL;

        TAKE_FD(copy);
        return d;
}

int fd_reopen(int fd, int flags) {
        char path[STRLEN("/proc/self/fd/") + DECIMAL_STR_MAX(int) + 1];
        int r;

        snprintf(path, sizeof(path), "/proc/self/fd/%i", fd);
        r = open(path, flags | O_CLOEXEC);
        return r < 0 ? -errno : r;
}

int fd_get_path(int fd, char **ret) {
        char path[STRLEN("/proc/self/fd/") + DECIMAL_STR_MAX(int) + 1], buf[PATH_MAX];
        ssize_t n;

        snprintf(path, sizeof(path), "/proc/self/fd/%i", fd);
        n = readlink(path, buf, sizeof(buf) - 1);
        if (n < 0)
                return -errno;
        if ((size_t) n >= sizeof(buf) - 1)
                return -ENAMETOOLONG;
        buf[n] = '\0';
        *ret = strdup(buf);
        return *ret ? 0 : -ENOMEM;
}
