/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fd-util.h"
#include "macro.h"
#include "rm-rf.h"

#define RM_RF_MAX_DEPTH 256U

static int remove_entry(int dir_fd, const char *name, uint64_t mount_id, unsigned depth);

static int remove_children(int dir_fd, uint64_t mount_id, unsigned depth) {
        _cleanup_closedir_ DIR *d = fd_opendir_dup(dir_fd);
        struct dirent *de;
        int r = 0;

        if (!d)
                return -errno;
        while ((errno = 0, de = readdir(d))) {
                int k;

                if (streq(de->d_name, ".") || streq(de->d_name, ".."))
                        continue;
                k = remove_entry(dir_fd, de->d_name, mount_id, depth);
                if (k < 0 && r == 0)
                        r = k;
        }
        if (errno > 0 && r == 0)
                r = -errno;
        return r;
}

/* mount_id: the mount the removal started on. The check comes before anything below the entry is
 * looked at; a directory that becomes a mount point after it is opened shows up as children on
 * another mount, which are left alone the same way. */
static int remove_entry(int dir_fd, const char *name, uint64_t mount_id, unsigned depth) {
        _cleanup_close_ int fd = -EBADF;
        uint64_t entry_mount_id;
        mode_t mode;
        int r;

        r = fd_mount_id(dir_fd, name, &entry_mount_id, &mode);
        if (r < 0)
                return r == -ENOENT ? 0 : r;
        if (entry_mount_id != mount_id)
                return -EXDEV;
        if (!S_ISDIR(mode))
                return unlinkat(dir_fd, name, 0) < 0 && errno != ENOENT ? -errno : 0;

        if (depth >= RM_RF_MAX_DEPTH)
                return -ELOOP;
        fd = openat(dir_fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0)
                return errno == ENOENT ? 0 : -errno;
        r = remove_children(fd, mount_id, depth + 1);
        /* After a failure below, the directory is not empty: the first error is the one to tell. */
        if (unlinkat(dir_fd, name, AT_REMOVEDIR) < 0 && errno != ENOENT && r == 0)
                r = -errno;
        return r;
}

int rm_rf_children_beneath(int dir_fd) {
        uint64_t mount_id;
        int r;

        r = fd_mount_id(dir_fd, "", &mount_id, NULL);
        if (r < 0)
                return r;
        return remove_children(dir_fd, mount_id, 0);
}

int rm_rf_beneath(int dir_fd, const char *name) {
        uint64_t mount_id;
        int r;

        r = fd_mount_id(dir_fd, "", &mount_id, NULL);
        if (r < 0)
                return r;
        return remove_entry(dir_fd, name, mount_id, 0);
}
