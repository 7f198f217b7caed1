/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <fcntl.h>

#include "fd-util.h"
#include "image-metadata.h"
#include "image-mount.h"
#include "image-read.h"
#include "portable-error.h"

int image_read_metadata(const Image *image, char * const *matches, PortableMetadata **ret, sd_bus_error *reterr) {
        _cleanup_close_ int root_fd = -EBADF;

        switch (image->type) {
        case IMAGE_DIRECTORY:
        case IMAGE_SUBVOLUME:
                root_fd = open(image->path, O_PATH | O_DIRECTORY | O_CLOEXEC);
                if (root_fd < 0)
                        return portable_error(reterr, errno, NULL, "Image '%s': cannot open directory: %m", image->path);
                return image_read_tree(root_fd, image->path, image->path, matches, ret, reterr);

        case IMAGE_RAW:
        case IMAGE_BLOCK:
                return image_mount_and_read(image, matches, ret, reterr);

        default:
                return portable_error(reterr, EMEDIUMTYPE, NULL, "Image '%s': unknown image type.", image->path);
        }
}
