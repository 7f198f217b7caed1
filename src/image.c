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
#include <sys/sysmacros.h>
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

static bool path_is_vendor(const char *path) {
        return startswith(path, "/usr/") || streq(path, "/usr");
}

static uint64_t statx_timestamp_to_usec(const struct statx_timestamp *ts) {
        return (uint64_t) ts->tv_sec * UINT64_C(1000000) + (uint64_t) ts->tv_nsec / 1000;
}

/* What a directory or a block device says of itself needs it open. */
static int image_fill_from_fd(Image *image, int fd) {
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
        } else if (S_ISBLK(st.st_mode)) {
                uint64_t size = 0;
                int ro = 0;

                image->type = IMAGE_BLOCK;
                image->read_only = path_is_vendor(image->path) ||
                        (ioctl(fd, BLKROGET, &ro) >= 0 && ro) || (st.st_mode & 0222) == 0;
                image->usage = ioctl(fd, BLKGETSIZE64, &size) >= 0 ? size : UINT64_MAX;
                image->limit = image->usage;
        } else
                return -EMEDIUMTYPE; /* replaced since it was looked at */
        return 0;
}

static int image_new(const char *name, const char *path, bool discoverable, Image **ret) {
        _cleanup_(image_freep) Image *image = NULL;
        _cleanup_close_ int fd = -EBADF;
        struct statx sx;
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
        if (statx(AT_FDCWD, path, 0, STATX_TYPE | STATX_MODE | STATX_MTIME | STATX_SIZE | STATX_BLOCKS | STATX_BTIME,
                  &sx) < 0)
                return -errno;
        if (sx.stx_mask & STATX_BTIME)
                image->crtime = statx_timestamp_to_usec(&sx.stx_btime);
        image->mtime = statx_timestamp_to_usec(&sx.stx_mtime);
        image->dev = makedev(sx.stx_dev_major, sx.stx_dev_minor);
        image->ino = sx.stx_ino;

        if (S_ISREG(sx.stx_mode)) {
                /* All a raw image says of itself is in its inode: no need to open it (a listing
                 * of thousands of images makes one system call each). */
                if (!endswith(image->path, ".raw"))
                        return -EMEDIUMTYPE;
                image->type = IMAGE_RAW;
                image->read_only = path_is_vendor(image->path) || (sx.stx_mode & 0222) == 0;
                image->usage = sx.stx_blocks * 512U;
                image->limit = sx.stx_size;
                *ret = TAKE_PTR(image);
                return 0;
        }
        if (!S_ISDIR(sx.stx_mode) && !S_ISBLK(sx.stx_mode))
                return -EMEDIUMTYPE;

        /* O_PATH would not let us ask for flags or block sizes; O_NONBLOCK still guards against a
         * FIFO swapped in after the statx(). */
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

/* An entry of a search directory that names an image, before the image is made. */
typedef struct ImageCandidate {
        char *name;
        char *path;
        size_t order; /* search directory first, then directory order: the first one wins */
} ImageCandidate;

typedef struct ImageCandidates {
        ImageCandidate *items;
        size_t n, allocated;
} ImageCandidates;

static void image_candidates_done(ImageCandidates *c) {
        for (size_t i = 0; i < c->n; i++) {
                free(c->items[i].name);
                free(c->items[i].path);
        }
        free(c->items);
        *c = (ImageCandidates) {};
}

static int image_candidates_add(ImageCandidates *c, char *name, char *path) {
        if (c->n == c->allocated) {
                size_t allocated = c->allocated ? c->allocated * 2 : 64;
                ImageCandidate *grown = reallocarray(c->items, allocated, sizeof(ImageCandidate));

                if (!grown)
                        return -ENOMEM;
                c->items = grown;
                c->allocated = allocated;
        }
        c->items[c->n] = (ImageCandidate) { .name = name, .path = path, .order = c->n };
        c->n++;
        return 0;
}

static int image_candidate_compare(const void *a, const void *b) {
        const ImageCandidate *x = a, *y = b;
        int r = strcmp(x->name, y->name);

        if (r != 0)
                return r;
        return x->order < y->order ? -1 : x->order > y->order;
}

/* The entries of one search directory that name images, in directory order. */
static int image_candidates_scan(const char *dir, ImageCandidates *c) {
        _cleanup_closedir_ DIR *dh = NULL;
        struct dirent *de;
        int r;

        dh = opendir(dir);
        if (!dh)
                return 0;

        while ((de = readdir(dh))) {
                _cleanup_free_ char *name = NULL, *p = NULL;
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

                r = image_candidates_add(c, name, p);
                if (r < 0)
                        return r;
                TAKE_PTR(name);
                TAKE_PTR(p);
        }
        return 0;
}

int image_discover(const Host *host, ImageList *ret) {
        _cleanup_(image_candidates_done) ImageCandidates candidates = {};
        _cleanup_(image_list_done) ImageList list = {};
        const char *listed = NULL;
        int r;

        for (const char *const *d = host_image_search_dirs; *d; d++) {
                _cleanup_free_ char *dir = NULL;

                r = resolve_search_dir(host, *d, &dir);
                if (r == -ENOENT || r == -ENOTDIR)
                        continue;
                if (r < 0)
                        return r;
                r = image_candidates_scan(dir, &candidates);
                if (r < 0)
                        return r;
        }

        /* Sorted by name, and for one name in search order: the first that makes an image is it,
         * the others are shadowed (one sort, where looking each name up among those found before
         * took time quadratic in the number of images). */
        if (candidates.n > 1)
                qsort(candidates.items, candidates.n, sizeof(ImageCandidate), image_candidate_compare);

        list.images = calloc(candidates.n ?: 1, sizeof(Image *));
        if (!list.images)
                return -ENOMEM;
        for (size_t i = 0; i < candidates.n; i++) {
                const ImageCandidate *c = &candidates.items[i];
                _cleanup_(image_freep) Image *image = NULL;

                if (listed && streq(listed, c->name))
                        continue; /* shadowed by an earlier one */
                if (image_new(c->name, c->path, /* discoverable= */ true, &image) < 0)
                        continue;
                listed = image->name;
                list.images[list.n_images++] = TAKE_PTR(image);
        }

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
