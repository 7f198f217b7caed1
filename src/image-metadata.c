/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <fcntl.h>

#include "fd-util.h"
#include "image-metadata.h"
#include "image-mount.h"
#include "image-read.h"
#include "portable-error.h"

int image_read_metadata_full(const Image *image, char * const *matches, char * const *check_paths,
                             PortableMetadata **ret, sd_bus_error *reterr) {
        _cleanup_close_ int root_fd = -EBADF;
        int r;

        switch (image->type) {
        case IMAGE_DIRECTORY:
        case IMAGE_SUBVOLUME:
                root_fd = open(image->path, O_PATH | O_DIRECTORY | O_CLOEXEC);
                if (root_fd < 0)
                        return portable_error(reterr, errno, NULL, "Image '%s': cannot open directory: %m", image->path);
                r = image_read_tree(root_fd, image->path, image->path, matches, ret, reterr);
                if (r < 0)
                        return r;
                r = image_tree_find_missing(root_fd, check_paths, *ret);
                if (r < 0) {
                        *ret = portable_metadata_free(*ret);
                        return portable_error(reterr, r, NULL, "Image '%s': cannot check paths: %m", image->path);
                }
                return 0;

        case IMAGE_RAW:
        case IMAGE_BLOCK:
                return image_mount_and_read_full(image, matches, check_paths, ret, reterr);

        default:
                return portable_error(reterr, EMEDIUMTYPE, NULL, "Image '%s': unknown image type.", image->path);
        }
}
