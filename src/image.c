/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <dirent.h>
#include <stdio.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/fs.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fd-util.h"
#include "image-name.h"
#include "image.h"
#include "path-util.h"
#include "vpick.h"

Image *image_free(Image *image) {
        if (!image)
                return NULL;
        free(image->name);
        free(image->path);
        return mfree(image);
}

int image_copy(const Image *image, Image **ret) {
        Image *copy = malloc(sizeof(Image));

        if (!copy)
                return -ENOMEM;
        *copy = *image;
        copy->name = strdup(image->name);
        copy->path = strdup(image->path);
        if (!copy->name || !copy->path) {
                image_free(copy);
                return -ENOMEM;
        }
        *ret = copy;
        return 0;
}

void image_list_done(ImageList *list) {
        for (size_t i = 0; i < list->n_images; i++)
                image_free(list->images[i]);
        list->images = mfree(list->images);
        list->n_images = 0;
}

static uint64_t timespec_to_usec(const struct timespec *ts) {
        return (uint64_t) ts->tv_sec * UINT64_C(1000000) + (uint64_t) ts->tv_nsec / 1000;
}

static bool path_is_vendor(const char *path) {
        return startswith(path, "/usr/") || streq(path, "/usr");
}

static int image_fill_from_fd(Image *image, int fd) {
        struct statx sx;
        struct stat st;

        if (fstat(fd, &st) < 0)
                return -errno;

        if (S_ISDIR(st.st_mode)) {
                unsigned attrs = 0;

                image->type = IMAGE_DIRECTORY;
                image->read_only = path_is_vendor(image->path) ||
                        faccessat(fd, ".", W_OK, AT_EACCESS) < 0 ||
                        (ioctl(fd, FS_IOC_GETFLAGS, &attrs) >= 0 && (attrs & FS_IMMUTABLE_FL));
                image->usage = UINT64_MAX;
                image->limit = UINT64_MAX;
        } else if (S_ISREG(st.st_mode)) {
                if (!endswith(image->path, ".raw"))
                        return -EMEDIUMTYPE;
                image->type = IMAGE_RAW;
                image->read_only = path_is_vendor(image->path) || (st.st_mode & 0222) == 0;
                image->usage = (uint64_t) st.st_blocks * 512U;
                image->limit = (uint64_t) st.st_size;
        } else if (S_ISBLK(st.st_mode)) {
                uint64_t size = 0;
                int ro = 0;

                image->type = IMAGE_BLOCK;
                image->read_only = path_is_vendor(image->path) ||
                        (ioctl(fd, BLKROGET, &ro) >= 0 && ro) || (st.st_mode & 0222) == 0;
                image->usage = ioctl(fd, BLKGETSIZE64, &size) >= 0 ? size : UINT64_MAX;
                image->limit = image->usage;
        } else
                return -EMEDIUMTYPE;

        image->mtime = timespec_to_usec(&st.st_mtim);
        if (statx(fd, "", AT_EMPTY_PATH, STATX_BTIME, &sx) >= 0 && (sx.stx_mask & STATX_BTIME))
                image->crtime = (uint64_t) sx.stx_btime.tv_sec * UINT64_C(1000000) +
                        (uint64_t) sx.stx_btime.tv_nsec / 1000;
        return 0;
}

static int image_new(const char *name, const char *path, bool discoverable, Image **ret) {
        _cleanup_(image_freep) Image *image = NULL;
        _cleanup_close_ int fd = -EBADF;
        int r;

        image = calloc(1, sizeof(Image));
        if (!image)
                return -ENOMEM;
        image->name = strdup(name);
        image->path = strdup(path);
        if (!image->name || !image->path)
                return -ENOMEM;
        image->discoverable = discoverable;

        /* Sockets, FIFOs and character devices are not images; find out before open() does
         * something type-specific with them. */
        struct stat st;
        if (stat(path, &st) < 0)
                return -errno;
        if (!S_ISDIR(st.st_mode) && !S_ISREG(st.st_mode) && !S_ISBLK(st.st_mode))
                return -EMEDIUMTYPE;

        /* O_PATH would not let us ask for flags or block sizes; O_NONBLOCK still guards against a
         * FIFO swapped in after the stat(). */
        fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
        if (fd < 0)
                return -errno;

        r = image_fill_from_fd(image, fd);
        if (r < 0)
                return r;

        *ret = TAKE_PTR(image);
        return 0;
}

static int image_name_from_filename(const char *filename, char **ret) {
        _cleanup_free_ char *name = strdup(filename);

        if (!name)
                return -ENOMEM;
        if (endswith(name, ".raw"))
                name[strlen(name) - 4] = '\0';
        if (!image_name_is_valid(name))
                return -EINVAL;
        *ret = TAKE_PTR(name);
        return 0;
}

/* The entry a versioned directory (vpick.h) stands for: its path, below the directory. 0 and NULL
 * if nothing in it qualifies, -ENOTDIR if it is not a directory. */
static int pick_versioned(const char *dir_path, char **ret) {
        _cleanup_(vpick_result_done) VPickResult picked = VPICK_RESULT_NULL;
        _cleanup_free_ char *basename = NULL;
        _cleanup_close_ int fd = -EBADF;
        VPickKind kinds;
        int r;

        r = vpick_parse_dir_name(path_last_component(dir_path), &basename, &kinds);
        if (r < 0)
                return r;
        fd = open(dir_path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        r = vpick_pick(fd, basename, kinds, &picked);
        if (r <= 0) {
                *ret = NULL;
                return r;
        }
        *ret = path_join(dir_path, picked.name);
        return *ret ? 1 : -ENOMEM;
}

int image_from_path(const char *path, Image **ret) {
        _cleanup_free_ char *name = NULL, *picked = NULL;
        struct stat st;
        int r;

        if (!path_is_normalized_absolute(path))
                return -EINVAL;

        /* A versioned directory stands for its best entry: that is the image. */
        if (vpick_path_is_versioned(path) && stat(path, &st) >= 0 && S_ISDIR(st.st_mode)) {
                r = pick_versioned(path, &picked);
                if (r < 0)
                        return r;
                if (r == 0)
                        return -ENOENT;
                path = picked;
        }

        r = image_name_from_filename(path_last_component(path), &name);
        if (r < 0)
                return r;

        return image_new(name, path, /* discoverable= */ false, ret);
}

/* A search directory itself may be a symlink (e.g. /var/lib/portables on another disk): image
 * paths are reported below its resolved location. */
static int resolve_search_dir(const Host *host, const char *dir, char **ret) {
        _cleanup_free_ char *p = host_path(host, dir);
        char *resolved;

        if (!p)
                return -ENOMEM;
        resolved = realpath(p, NULL);
        if (!resolved)
                return -errno;
        *ret = resolved;
        return 0;
}

int image_find(const Host *host, const char *name, Image **ret) {
        int r;

        if (!image_name_is_valid(name))
                return -EINVAL;

        for (const char *const *d = host_image_search_dirs; *d; d++) {
                _cleanup_free_ char *dir = NULL, *p = NULL, *raw = NULL;
                struct stat st;

                r = resolve_search_dir(host, *d, &dir);
                if (r == -ENOENT || r == -ENOTDIR)
                        continue;
                if (r < 0)
                        return r;

                p = path_join(dir, name);
                if (!p)
                        return -ENOMEM;
                if (!vpick_path_is_versioned(p) && stat(p, &st) >= 0 && (S_ISDIR(st.st_mode) || S_ISBLK(st.st_mode)))
                        return image_new(name, p, /* discoverable= */ true, ret);

                if (asprintf(&raw, "%s.raw", p) < 0)
                        return -ENOMEM;
                if (stat(raw, &st) >= 0 && S_ISREG(st.st_mode))
                        return image_new(name, raw, /* discoverable= */ true, ret);

                /* Then the versioned directories: NAME.v/ (directories or raw images), NAME.raw.v/. */
                for (size_t i = 0; i < 2; i++) {
                        _cleanup_free_ char *v = NULL, *picked = NULL;

                        if (asprintf(&v, "%s%s", p, i == 0 ? ".v" : ".raw.v") < 0)
                                return -ENOMEM;
                        if (stat(v, &st) < 0 || !S_ISDIR(st.st_mode))
                                continue;
                        r = pick_versioned(v, &picked);
                        if (r < 0)
                                return r;
                        if (r > 0)
                                return image_new(name, picked, /* discoverable= */ true, ret);
                }
        }

        return -ENOENT;
}

static int image_compare(const void *a, const void *b) {
        return strcmp((*(Image * const *) a)->name, (*(Image * const *) b)->name);
}

static bool image_list_has(const ImageList *list, const char *name) {
        for (size_t i = 0; i < list->n_images; i++)
                if (streq(list->images[i]->name, name))
                        return true;
        return false;
}

static int image_list_add(ImageList *list, Image *image) {
        Image **grown = realloc(list->images, sizeof(Image *) * (list->n_images + 1));

        if (!grown)
                return -ENOMEM;
        list->images = grown;
        list->images[list->n_images++] = image;
        return 0;
}

int image_discover(const Host *host, ImageList *ret) {
        _cleanup_(image_list_done) ImageList list = {};
        int r;

        for (const char *const *d = host_image_search_dirs; *d; d++) {
                _cleanup_free_ char *dir = NULL;
                _cleanup_closedir_ DIR *dh = NULL;
                struct dirent *de;

                r = resolve_search_dir(host, *d, &dir);
                if (r == -ENOENT || r == -ENOTDIR)
                        continue;
                if (r < 0)
                        return r;

                dh = opendir(dir);
                if (!dh)
                        continue;

                while ((de = readdir(dh))) {
                        _cleanup_free_ char *name = NULL, *p = NULL;
                        _cleanup_(image_freep) Image *image = NULL;
                        struct stat st;

                        if (de->d_name[0] == '.')
                                continue;
                        if (fstatat(dirfd(dh), de->d_name, &st, 0) < 0)
                                continue;

                        if (S_ISREG(st.st_mode)) {
                                if (!endswith(de->d_name, ".raw"))
                                        continue;
                        } else if (!S_ISDIR(st.st_mode) && !S_ISBLK(st.st_mode))
                                continue;

                        p = path_join(dir, de->d_name);
                        if (!p)
                                return -ENOMEM;

                        if (S_ISDIR(st.st_mode) && vpick_path_is_versioned(de->d_name)) {
                                /* One image, named without version and suffix: its best entry. */
                                _cleanup_free_ char *picked = NULL;
                                VPickKind kinds;

                                if (vpick_parse_dir_name(de->d_name, &name, &kinds) < 0 || !image_name_is_valid(name))
                                        continue;
                                if (pick_versioned(p, &picked) <= 0)
                                        continue;
                                free_and_replace(p, picked);
                        } else {
                                if (image_name_from_filename(de->d_name, &name) < 0)
                                        continue;
                                if (S_ISDIR(st.st_mode) && endswith(de->d_name, ".raw"))
                                        continue;
                        }
                        if (image_list_has(&list, name))
                                continue; /* shadowed by an earlier directory */

                        if (image_new(name, p, /* discoverable= */ true, &image) < 0)
                                continue;

                        r = image_list_add(&list, image);
                        if (r < 0)
                                return r;
                        TAKE_PTR(image);
                }
        }

        if (list.n_images > 1)
                qsort(list.images, list.n_images, sizeof(Image *), image_compare);

        *ret = list;
        list = (ImageList) {};
        return 0;
}

int image_is_in_search_path(const Host *host, const Image *image) {
        _cleanup_free_ char *parent = strdup(image->path);
        int r;

        if (!parent)
                return -ENOMEM;
        *(char *) path_last_component(parent) = '\0';
        if (strlen(parent) > 1)
                parent[strlen(parent) - 1] = '\0';
        /* The best entry of a versioned directory in the search path is found by name too. */
        if (vpick_path_is_versioned(parent)) {
                *(char *) path_last_component(parent) = '\0';
                if (strlen(parent) > 1)
                        parent[strlen(parent) - 1] = '\0';
        }

        for (const char *const *d = host_image_search_dirs; *d; d++) {
                _cleanup_free_ char *dir = NULL;

                r = resolve_search_dir(host, *d, &dir);
                if (r == -ENOENT || r == -ENOTDIR)
                        continue;
                if (r < 0)
                        return r;
                if (streq(dir, parent))
                        return 1;
        }
        return 0;
}

int image_acquire(const Host *host, const char *name_or_path, Image **ret) {
        if (image_name_is_valid(name_or_path))
                return image_find(host, name_or_path, ret);
        if (!path_is_normalized_absolute(name_or_path))
                return -EINVAL;
        return image_from_path(name_or_path, ret);
}
