/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <linux/fs.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "fd-util.h"
#include "image-copy.h"
#include "log.h"
#include "path-util.h"
#include "rm-rf.h"
#include "strv.h"

/* Copies the data of one regular file. */
static int copy_data(int from, int to) {
        for (;;) {
                ssize_t n = copy_file_range(from, NULL, to, NULL, 1U << 30, 0);

                if (n == 0)
                        return 0;
                if (n > 0)
                        continue;
                if (errno != EXDEV && errno != ENOSYS && errno != EOPNOTSUPP && errno != EINVAL)
                        return -errno;

                /* A plain copy where the kernel cannot do it for us. */
                char buf[64 * 1024];
                for (;;) {
                        ssize_t k = read(from, buf, sizeof(buf));

                        if (k < 0)
                                return -errno;
                        if (k == 0)
                                return 0;
                        for (ssize_t off = 0; off < k;) {
                                ssize_t w = write(to, buf + off, (size_t) (k - off));

                                if (w < 0)
                                        return -errno;
                                off += w;
                        }
                }
        }
}

static void copy_attributes(int fd, const struct stat *st) {
        const struct timespec times[2] = { st->st_atim, st->st_mtim };

        (void) fchown(fd, st->st_uid, st->st_gid);
        (void) fchmod(fd, st->st_mode & 07777);
        (void) futimens(fd, times);
}

static int copy_at(int from_dir, const char *from_name, int to_dir, const char *to_name, uint64_t mount_id,
                   unsigned depth);

static int copy_tree_contents(int from, int to, uint64_t mount_id, unsigned depth) {
        _cleanup_closedir_ DIR *d = fd_opendir_dup(from);
        struct dirent *de;
        int r;

        if (!d)
                return -errno;
        while ((errno = 0, de = readdir(d))) {
                if (streq(de->d_name, ".") || streq(de->d_name, ".."))
                        continue;
                r = copy_at(from, de->d_name, to, de->d_name, mount_id, depth + 1);
                if (r < 0)
                        return r;
        }
        return errno > 0 ? -errno : 0;
}

/* mount_id: the mount the image is on. What is mounted inside the image is not the image's: the
 * copy fails (-EXDEV) rather than copy it, before anything below the mount point is looked at. */
static int copy_at(int from_dir, const char *from_name, int to_dir, const char *to_name, uint64_t mount_id,
                   unsigned depth) {
        struct stat st;
        uint64_t entry_mount_id;
        int r;

        if (depth > 256)
                return -ELOOP;
        r = fd_mount_id(from_dir, from_name, &entry_mount_id, NULL);
        if (r < 0)
                return r;
        if (entry_mount_id != mount_id)
                return -EXDEV;
        if (fstatat(from_dir, from_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
                return -errno;

        if (S_ISREG(st.st_mode)) {
                _cleanup_close_ int from = openat(from_dir, from_name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY);
                _cleanup_close_ int to = -EBADF;

                if (from < 0)
                        return -errno;
                to = openat(to_dir, to_name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
                if (to < 0)
                        return -errno;
                r = copy_data(from, to);
                if (r < 0)
                        return r;
                copy_attributes(to, &st);
                return 0;
        }
        if (S_ISDIR(st.st_mode)) {
                _cleanup_close_ int from = openat(from_dir, from_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                _cleanup_close_ int to = -EBADF;

                if (from < 0)
                        return -errno;
                if (mkdirat(to_dir, to_name, 0700) < 0)
                        return -errno;
                to = openat(to_dir, to_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                if (to < 0)
                        return -errno;
                r = copy_tree_contents(from, to, mount_id, depth);
                if (r < 0)
                        return r;
                copy_attributes(to, &st);
                return 0;
        }
        if (S_ISLNK(st.st_mode)) {
                char target[PATH_MAX];
                ssize_t n = readlinkat(from_dir, from_name, target, sizeof(target) - 1);

                if (n < 0)
                        return -errno;
                target[n] = '\0';
                if (symlinkat(target, to_dir, to_name) < 0)
                        return -errno;
                (void) fchownat(to_dir, to_name, st.st_uid, st.st_gid, AT_SYMLINK_NOFOLLOW);
                return 0;
        }
        /* Device nodes, FIFOs, sockets: the node itself. */
        if (mknodat(to_dir, to_name, st.st_mode, st.st_rdev) < 0)
                return -errno;
        (void) fchownat(to_dir, to_name, st.st_uid, st.st_gid, AT_SYMLINK_NOFOLLOW);
        return 0;
}

char *image_copy_source(const char *path) {
        char value[PATH_MAX];
        struct stat st;
        ssize_t n;

        if (lstat(path, &st) < 0 || !(S_ISREG(st.st_mode) || S_ISDIR(st.st_mode)))
                return NULL;
        n = lgetxattr(path, IMAGE_COPY_MARK, value, sizeof(value) - 1);
        if (n <= 0)
                return NULL;
        return strndup(value, (size_t) n);
}

bool image_copy_is_ours(const char *path, const char *image_path) {
        _cleanup_free_ char *source = image_copy_source(path);

        return source && (!image_path || streq(source, image_path));
}

static char *temp_name(const char *dest) {
        char *temp;

        return asprintf(&temp, IMAGE_COPY_TEMP_PREFIX "%s", path_last_component(dest)) < 0 ? NULL : temp;
}

/* What a copy to dest that ended without its result left (a worker that was killed). */
static void remove_temp_copy(const char *dest) {
        _cleanup_free_ char *dir = path_dirname(dest), *temp = temp_name(dest);
        _cleanup_close_ int dir_fd = -EBADF;

        if (!dir || !temp)
                return;
        dir_fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dir_fd >= 0)
                (void) rm_rf_beneath(dir_fd, temp);
}

int image_copy_remove_leftovers(const char *link_dir, bool dry_run, PortableChanges *changes) {
        _cleanup_closedir_ DIR *d = opendir(link_dir);
        struct dirent *de;
        int r = 0;

        if (!d)
                return errno == ENOENT ? 0 : -errno;
        while ((errno = 0, de = readdir(d))) {
                _cleanup_free_ char *path = NULL;
                int k;

                if (!startswith(de->d_name, IMAGE_COPY_TEMP_PREFIX))
                        continue;
                path = path_join(link_dir, de->d_name);
                if (!path)
                        return -ENOMEM;
                k = dry_run ? 0 : rm_rf_beneath(dirfd(d), de->d_name);
                if (k >= 0)
                        k = portable_changes_add(changes, PORTABLE_UNLINK, path, NULL);
                if (k < 0 && r == 0)
                        r = k;
        }
        return errno > 0 && r == 0 ? -errno : r;
}

int image_copy_replace_link(const char *image_path, const char *dest) {
        _cleanup_free_ char *dir = NULL, *temp = NULL;
        _cleanup_close_ int dir_fd = -EBADF;
        uint64_t image_mount_id;
        char target[PATH_MAX];
        ssize_t n;
        int r;

        /* Only the link attach made, to this image. */
        n = readlink(dest, target, sizeof(target) - 1);
        if (n < 0)
                return 0;
        target[n] = '\0';
        if (!streq(target, image_path))
                return 0;

        dir = path_dirname(dest);
        temp = temp_name(dest);
        if (!dir || !temp)
                return -ENOMEM;
        dir_fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dir_fd < 0)
                return -errno;
        r = fd_mount_id(AT_FDCWD, image_path, &image_mount_id, NULL);
        if (r < 0)
                return r;

        /* A temporary copy an earlier attempt left. */
        (void) rm_rf_beneath(dir_fd, temp);

        r = copy_at(AT_FDCWD, image_path, dir_fd, temp, image_mount_id, 0);
        if (r >= 0) {
                _cleanup_free_ char *temp_path = path_join(dir, temp);

                r = temp_path ? 0 : -ENOMEM;
                if (r >= 0 && lsetxattr(temp_path, IMAGE_COPY_MARK, image_path, strlen(image_path), 0) < 0)
                        r = -errno;
        }
        if (r >= 0 && fsync(dir_fd) < 0)
                r = -errno;
        /* A directory cannot be renamed over a symlink: the two are exchanged, and the link,
         * under the hidden name now, goes. */
        if (r >= 0 && renameat2(dir_fd, temp, dir_fd, path_last_component(dest), RENAME_EXCHANGE) < 0)
                r = -errno;
        if (r < 0) {
                (void) rm_rf_beneath(dir_fd, temp);
                return r;
        }
        (void) unlinkat(dir_fd, temp, 0);
        return 1;
}

void image_copy_after_attach(const char *link_dir, char * const *images, ImageCopyMode mode, PortableChanges *changes) {
        for (size_t i = 0; i < changes->n; i++) {
                PortableChange *c = &changes->items[i];
                _cleanup_free_ char *dir = NULL;
                int r;

                if (c->type != PORTABLE_SYMLINK || !c->source || !strv_contains(images, c->source))
                        continue;
                dir = path_dirname(c->path);
                if (!dir || !streq(dir, link_dir))
                        continue;

                switch (mode) {
                case IMAGE_COPY_PLAN: /* what would be done, if the copy works */
                        r = 1;
                        break;
                case IMAGE_COPY_COLLECT:
                        r = image_copy_is_ours(c->path, c->source);
                        if (r == 0)
                                remove_temp_copy(c->path);
                        break;
                default:
                        r = image_copy_replace_link(c->source, c->path);
                }
                /* The change list can only say "symlink": the reason goes to the log, and the
                 * client points there. */
                if (r == -EXDEV)
                        log_warning("Image '%s' has a file system mounted inside it, which is not the image's to copy: "
                                    "linked it at %s instead of copying it.", c->source, c->path);
                else if (r < 0)
                        (void) log_warning_errno(r, "Image '%s' could not be copied to %s, linked it there instead: %m",
                                                 c->source, c->path);
                if (r > 0)
                        c->type = PORTABLE_COPY;
        }
}
