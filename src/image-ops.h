/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>

#include "image.h"

/* Operations on the image itself (not on what it attached). */

/* Deletes the image: the file, or the directory tree (never following symlinks out of it), plus
 * its verity side-car files. A symlink in the search path is removed, not what it points to.
 * Images under /usr are refused with -EROFS. */
int image_remove(const Image *image);

/* Raw images: owner write bit; directories: the immutable attribute of the top directory. */
int image_mark_read_only(const Image *image, bool read_only);
