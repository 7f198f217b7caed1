/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <fcntl.h>

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
