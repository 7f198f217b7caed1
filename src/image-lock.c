/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <fcntl.h>
#include <stdio.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "fd-util.h"
#include "fileio.h"
#include "image-lock.h"
#include "path-util.h"
#include "portable-error.h"

#define NSPAWN_LOCK_DIR "/run/systemd/nspawn/locks"

/* The directory of the global locks is made by the first lock after a boot: the mkdir()s of
 * every component only then. */
static int mkdir_parents_of(const char *path) {
        _cleanup_free_ char *dir = path_dirname(path);

        if (!dir)
                return -ENOMEM;
        if (access(dir, F_OK) >= 0)
                return 0;
        return mkdir_p(dir, 0755, 0755);
}

/* Opens and locks path; 0 and -EBADF in *ret if it cannot exist here (read-only or foreign
 * file system, a symlink planted in its place) and the lock is only shared. */
static int lock_file(const char *path, bool exclusive, int *ret) {
        _cleanup_close_ int fd = -EBADF;

        *ret = -EBADF;
        fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOCTTY | O_NOFOLLOW, 0600);
        if (fd < 0) {
                if (!exclusive && (errno == EROFS || errno == EACCES || errno == EPERM || errno == ELOOP ||
                                   errno == ENOENT))
                        return 0;
                return -errno;
        }
        if (flock(fd, (exclusive ? LOCK_EX : LOCK_SH) | LOCK_NB) < 0)
                return errno == EWOULDBLOCK ? -EBUSY : -errno;

        *ret = TAKE_FD(fd);
        return 0;
}

int image_lock_acquire(const Host *host, const char *path, bool exclusive, int ret_fds[IMAGE_LOCKS],
                       sd_bus_error *reterr) {
        _cleanup_free_ char *local = NULL, *dir = NULL, *global = NULL, *global_rel = NULL;
        int fds[IMAGE_LOCKS] = { -EBADF, -EBADF };
        struct stat st;
        int r = 0;

        dir = path_dirname(path);
        if (!dir || asprintf(&local, "%s/.#%s.lck", streq(dir, "/") ? "" : dir, path_last_component(path)) < 0)
                return -ENOMEM;

        if (stat(path, &st) >= 0) {
                if (S_ISBLK(st.st_mode))
                        r = asprintf(&global_rel, NSPAWN_LOCK_DIR "/block-%u:%u", major(st.st_rdev), minor(st.st_rdev));
                else
                        r = asprintf(&global_rel, NSPAWN_LOCK_DIR "/inode-%lu:%lu", (unsigned long) st.st_dev,
                                     (unsigned long) st.st_ino);
                if (r < 0)
                        return -ENOMEM;
                global = host_path(host, global_rel);
                if (!global)
                        return -ENOMEM;
        }

        /* Block devices have no directory of their own to put a lock file in. */
        if (!startswith(path, "/dev/"))
                r = lock_file(local, exclusive, &fds[0]);
        if (r >= 0 && global) {
                r = mkdir_parents_of(global);
                if (r >= 0 || !exclusive)
                        r = lock_file(global, exclusive, &fds[1]);
        }
        if (r < 0) {
                for (size_t i = 0; i < IMAGE_LOCKS; i++)
                        fds[i] = image_lock_release(fds[i]);
                if (r == -EBUSY)
                        return portable_error(reterr, r, NULL,
                                              "Image '%s' is in use: another program holds a lock on it, try again later.",
                                              path);
                return portable_error(reterr, r, NULL, "Image '%s': cannot take the image lock: %m", path);
        }

        for (size_t i = 0; i < IMAGE_LOCKS; i++)
                ret_fds[i] = fds[i];
        return 0;
}

int image_lock_release(int fd) {
        _cleanup_free_ char *path = NULL;

        if (fd < 0)
                return -EBADF;
        /* The last holder removes the file: if nobody else holds it now, nobody will. */
        if (flock(fd, LOCK_EX | LOCK_NB) >= 0 && fd_get_path(fd, &path) >= 0 && !endswith(path, " (deleted)"))
                (void) unlink(path);
        return safe_close(fd);
}
