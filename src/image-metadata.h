/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <systemd/sd-bus.h>

#include "image.h"
#include "portable-metadata.h"

/* Reads os-release and the unit files matching matches from any kind of image: directories
 * in-process, raw and block images through image_mount_and_read(). */
int image_read_metadata(const Image *image, char * const *matches, PortableMetadata **ret, sd_bus_error *reterr);
