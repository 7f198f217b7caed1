/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

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

int fd_mount_id(int dir_fd, const char *name, uint64_t *ret_mount_id, mode_t *ret_mode) {
        struct statx sx;
        int flags = AT_SYMLINK_NOFOLLOW | AT_STATX_DONT_SYNC | (name[0] == '\0' ? AT_EMPTY_PATH : 0);

        if (statx(dir_fd, name, flags, STATX_TYPE | STATX_MNT_ID, &sx) < 0)
                return -errno;
        if (!(sx.stx_mask & STATX_MNT_ID))
                return -EOPNOTSUPP; /* before Linux 5.8 */
        *ret_mount_id = sx.stx_mnt_id;
        if (ret_mode)
                *ret_mode = sx.stx_mode;
        return 0;
}
