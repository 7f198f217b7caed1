/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <dirent.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fd-util.h"
#include "image-ops.h"
#include "path-util.h"
#include "rm-rf.h"

static bool is_vendor(const Image *image) {
        return startswith(image->path, "/usr/");
}

static void remove_sidecars(const Image *image) {
        static const char *const suffixes[] = { ".roothash", ".roothash.p7s", ".usrhash", ".usrhash.p7s", ".verity", ".nspawn" };
        size_t n = strlen(image->path);

        if (!endswith(image->path, ".raw"))
                return;
        for (size_t i = 0; i < ELEMENTSOF(suffixes); i++) {
                _cleanup_free_ char *p = NULL;

                if (asprintf(&p, "%.*s%s", (int) (n - 4), image->path, suffixes[i]) >= 0)
                        (void) unlink(p);
        }
}

int image_remove(const Image *image) {
        struct stat st;

        if (is_vendor(image))
                return -EROFS;

        if (lstat(image->path, &st) < 0)
                return -errno;

        if (S_ISLNK(st.st_mode) || S_ISREG(st.st_mode) || S_ISBLK(st.st_mode)) {
                if (unlink(image->path) < 0)
                        return -errno;
                if (!S_ISLNK(st.st_mode))
                        remove_sidecars(image);
                return 0;
        }

        if (S_ISDIR(st.st_mode)) {
                _cleanup_close_ int fd = open(image->path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                int r;

                if (fd < 0)
                        return -errno;
                r = rm_rf_children_beneath(fd);
                if (r < 0)
                        return r;
                return rmdir(image->path) < 0 ? -errno : 0;
        }

        return -EMEDIUMTYPE;
}

int image_mark_read_only(const Image *image, bool read_only) {
        _cleanup_close_ int fd = -EBADF;
        struct stat st;

        if (is_vendor(image))
                return -EROFS;

        fd = open(image->path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
        if (fd < 0)
                return -errno;
        if (fstat(fd, &st) < 0)
                return -errno;

        if (S_ISREG(st.st_mode)) {
                mode_t mode = st.st_mode & 07777;

                /* Keep the read bits, toggle the write bits. */
                mode = read_only ? (mode & ~0222) : (mode | 0200);
                return fchmod(fd, mode) < 0 ? -errno : 0;
        }

        if (S_ISDIR(st.st_mode)) {
                unsigned attrs = 0;

                if (ioctl(fd, FS_IOC_GETFLAGS, &attrs) < 0)
                        return -errno;
                SET_FLAG(attrs, FS_IMMUTABLE_FL, read_only);
                return ioctl(fd, FS_IOC_SETFLAGS, &attrs) < 0 ? -errno : 0;
        }

        if (S_ISBLK(st.st_mode)) {
                int ro = read_only;
                return ioctl(fd, BLKROSET, &ro) < 0 ? -errno : 0;
        }

        return -EMEDIUMTYPE;
}
