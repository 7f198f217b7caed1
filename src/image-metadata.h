/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <systemd/sd-bus.h>

#include "image-reader.h"
#include "image.h"
#include "portable-metadata.h"

/* Reads os-release and the unit files matching matches from any kind of image, synchronously,
 * through the confined reader of image-reader.h (the daemon drives that asynchronously itself).
 * Records in (*ret)->missing which of check_paths the image lacks. */
int image_read_metadata_full(const Image *image, char * const *matches, char * const *check_paths,
                             PortableMetadata **ret, sd_bus_error *reterr);

/* The same with every part of a request (image policies, the verity cache, ...). */
int image_read_metadata_request(const Image *image, const ImageReadRequest *request, PortableMetadata **ret,
                                sd_bus_error *reterr);

static inline int image_read_metadata(const Image *image, char * const *matches, PortableMetadata **ret,
                                      sd_bus_error *reterr) {
        return image_read_metadata_full(image, matches, NULL, ret, reterr);
}
