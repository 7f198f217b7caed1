/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdint.h>

/* Identifies what is in a raw image file or block device with libblkid, without mounting it. */
typedef struct ImageProbe {
        char *fstype;    /* squashfs, erofs, ext4, ... */
        uint64_t offset; /* where the file system starts, for partitioned disks */
        uint64_t size;   /* its size, 0 for "to the end" */
} ImageProbe;

void image_probe_done(ImageProbe *p);

/* -EMEDIUMTYPE if no supported file system is found. A partitioned disk is accepted when it has
 * exactly one partition that is a root or generic Linux partition. */
int image_probe(int fd, ImageProbe *ret);

/* The file systems we are willing to mount from an image. */
int image_fstype_is_supported(const char *fstype);
