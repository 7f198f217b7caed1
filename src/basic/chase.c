/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "chase.h"
#include "macro.h"

static int openat2_in_root(int root_fd, const char *path, int open_flags, unsigned long long extra) {
        struct open_how how = {
                .flags = (unsigned long long) (open_flags | O_CLOEXEC),
                .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS | extra,
        };
        long fd;

        /* RESOLVE_IN_ROOT treats a leading "/" as the root itself; strip it anyway so a relative
         * path and an absolute one mean the same thing. */
        while (*path == '/')
                path++;
        if (*path == '\0')
                path = ".";

        fd = syscall(SYS_openat2, root_fd, path, &how, sizeof(how));
        if (fd < 0)
                return -errno;
        return (int) fd;
}

int chase_open_in_root(int root_fd, const char *path, int open_flags) {
        return openat2_in_root(root_fd, path, open_flags, 0);
}

int chase_open_in_root_nofollow(int root_fd, const char *path, int open_flags) {
        return openat2_in_root(root_fd, path, open_flags | O_NOFOLLOW, 0);
}
