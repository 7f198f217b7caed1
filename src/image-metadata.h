/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stddef.h>
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
/* The same for an image stacked with extension images: every layer is read by its own reader, all
 * at the same time. (*ret_layers)[0] is what the image holds, (*ret_layers)[i] what the i-th
 * extension holds (its extension-release in place of the os-release, PortableMetadata.extension
 * set); n_extensions + 1 of them, freed with portable_metadata_free_many(). force_extension
 * relaxes how the extension-release files are found. If several layers fail, the error is the
 * one of the lowest layer. */
int image_read_stack_metadata(const Image *image, const Image * const *extensions, size_t n_extensions,
                              char * const *matches, char * const *check_paths, bool force_extension,
                              PortableMetadata ***ret_layers, sd_bus_error *reterr);

static inline int image_read_metadata(const Image *image, char * const *matches, PortableMetadata **ret,
                                      sd_bus_error *reterr) {
        return image_read_metadata_full(image, matches, NULL, ret, reterr);
}
