/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdint.h>

#include "image-dissect.h"

/* The single file system of a raw image file or block device, found with image_dissect(): the
 * root partition, else the /usr partition. Kept for the image reader until it mounts root and
 * /usr together from a DissectedImage itself. */
typedef struct ImageProbe {
        char *fstype;    /* squashfs, erofs, ext4, ... */
        uint64_t offset; /* where the file system starts, for partitioned disks */
        uint64_t size;   /* its size, 0 for "to the end" (a naked file system) */
} ImageProbe;

void image_probe_done(ImageProbe *p);

/* -EMEDIUMTYPE if no supported file system is found (also when a partition table has no root or
 * /usr partition), -ENOTUNIQ if the choice is ambiguous, -EPROTONOSUPPORT for a file system we do
 * not mount, or another error of image_dissect(). */
int image_probe(int fd, ImageProbe *ret);
