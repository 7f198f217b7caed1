/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fd-util.h"
#include "fileio.h"
#include "macro.h"

int read_full_fd(int fd, size_t max_size, char **ret_data, size_t *ret_size) {
        _cleanup_free_ char *buf = NULL;
        size_t size = 0, allocated = 0;

        for (;;) {
                ssize_t n;

                if (allocated - size < 4096) {
                        size_t want = allocated == 0 ? 4096 : allocated * 2;
                        char *grown;

                        if (want > max_size + 1)
                                want = max_size + 1;
                        if (want <= size)
                                return -EFBIG;

                        grown = realloc(buf, want + 1);
                        if (!grown)
                                return -ENOMEM;
                        buf = grown;
                        allocated = want;
                }

                n = read(fd, buf + size, allocated - size);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                if (n == 0)
                        break;

                size += (size_t) n;
                if (size > max_size)
                        return -EFBIG;
        }

        if (!buf) {
                buf = malloc(1);
                if (!buf)
                        return -ENOMEM;
        }
        buf[size] = '\0';

        *ret_data = TAKE_PTR(buf);
        if (ret_size)
                *ret_size = size;
        return 0;
}

static int write_all(int fd, const void *data, size_t size) {
        const char *p = data;

        while (size > 0) {
                ssize_t n = write(fd, p, size);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                p += n;
                size -= (size_t) n;
        }
        return 0;
}

int write_file_atomic_at(int dir_fd, const char *name, const void *data, size_t size, mode_t mode,
                         bool replace) {
        _cleanup_close_ int fd = -EBADF;
        char tmp[64];
        int r;

        for (unsigned attempt = 0;; attempt++) {
                snprintf(tmp, sizeof(tmp), ".#portable%08x%04x", (unsigned) getpid(), attempt);
                fd = openat(dir_fd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, mode);
                if (fd >= 0)
                        break;
                if (errno != EEXIST || attempt > 1000)
                        return -errno;
        }

        r = write_all(fd, data, size);
        if (r >= 0 && fchmod(fd, mode) < 0)
                r = -errno;
        if (r >= 0 && fsync(fd) < 0)
                r = -errno;
        if (r >= 0) {
                if (replace)
                        r = RET_NERRNO(renameat(dir_fd, tmp, dir_fd, name));
                else
                        r = RET_NERRNO(renameat2(dir_fd, tmp, dir_fd, name, RENAME_NOREPLACE));
        }
        if (r < 0) {
                (void) unlinkat(dir_fd, tmp, 0);
                return r;
        }
        return 0;
}

int mkdir_p(const char *path, mode_t parents_mode, mode_t mode) {
        _cleanup_free_ char *copy = strdup(path);

        if (!copy)
                return -ENOMEM;
        if (copy[0] != '/')
                return -EINVAL;
        for (char *p = copy + 1;; p++) {
                bool last = *p == '\0';

                if (*p != '/' && !last)
                        continue;
                *p = '\0';
                if (mkdir(copy, last ? mode : parents_mode) < 0 && errno != EEXIST)
                        return -errno;
                if (last)
                        return 0;
                *p = '/';
        }
}
