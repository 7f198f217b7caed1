/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "host.h"
#include "portable-types.h"

/* An image as found on disk: what it is and where, before anything is read from inside it. */
typedef struct Image {
        ImageType type;
        char *name;         /* "foo_1.2" for foo_1.2.raw; the directory name for directories */
        char *path;         /* absolute, as used in drop-ins and markers */
        bool read_only;
        bool discoverable;  /* found in the search path, hence has a bus object */
        uint64_t crtime;    /* µs, 0 if unknown */
        uint64_t mtime;     /* µs, 0 if unknown */
        uint64_t usage;     /* bytes, UINT64_MAX if unknown */
        uint64_t limit;     /* bytes, UINT64_MAX if unknown */
        dev_t dev;          /* the inode the path led to when it was probed; ino 0 if not probed */
        ino_t ino;
} Image;

Image *image_free(Image *image);
DEFINE_TRIVIAL_CLEANUP_FUNC(Image *, image_free);

int image_copy(const Image *image, Image **ret);

typedef struct ImageList {
        Image **images;
        size_t n_images;
} ImageList;

void image_list_done(ImageList *list);

/* Probes an absolute path: a directory, a regular file named *.raw or a block device. Anything
 * else is -EMEDIUMTYPE. Symlinks are followed. A versioned directory (foo.v/, foo.raw.v/: vpick.h)
 * is the best entry in it, named after that entry; -ENOENT if none qualifies. */
int image_from_path(const char *path, Image **ret);

/* Looks a name up in the search path (first directory wins): <dir>/<name> (directory or block
 * device), <dir>/<name>.raw (regular file), then the best entry of <dir>/<name>.v/ or
 * <dir>/<name>.raw.v/ (the image keeps the name asked for). -ENOENT if nowhere. */
int image_find(const Host *host, const char *name, Image **ret);

/* All images in the search path, shadowed names skipped, sorted by name. A versioned directory is
 * one image, named without ".v"/".raw.v", at the path of its best entry. */
int image_discover(const Host *host, ImageList *ret);

/* True if the image's directory is one of the search directories (or a versioned directory in
 * one), so that it can be found by name without a link in /etc/portables. */
int image_is_in_search_path(const Host *host, const Image *image);

/* A valid image name is looked up in the search path; anything else must be an absolute,
 * normalised path (-EINVAL otherwise: callers that need to tell the user which rule was broken
 * check path_is_normalized_absolute() themselves). */
int image_acquire(const Host *host, const char *name_or_path, Image **ret);
