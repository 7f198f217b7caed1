/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <systemd/sd-bus.h>

#include "image.h"
#include "portable-metadata.h"

/* Reads a raw or block image without mounting anything in our own mount namespace: a forked
 * child enters a private mount namespace, identifies the file system with libblkid, mounts it
 * read-only through a loop device with libmount, reads the tree with image_read_tree() and sends
 * every file back as a sealed memfd over a socketpair. The parent re-validates all it receives.
 * The loop device is set up with autoclear, so it goes away with the child's mount. */
int image_mount_and_read_full(const Image *image, char * const *matches, char * const *check_paths,
                              PortableMetadata **ret, sd_bus_error *reterr);

static inline int image_mount_and_read(const Image *image, char * const *matches, PortableMetadata **ret,
                                       sd_bus_error *reterr) {
        return image_mount_and_read_full(image, matches, NULL, ret, reterr);
}
