/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>

/* Name rules for images, shared by the daemon and the client. */

/* A valid image name: a valid file name that does not start with ".#". */
bool image_name_is_valid(const char *name);

/* The unit prefix implied by an image argument when the user gave none: the last path component,
 * without a trailing ".v" (a versioned directory), cut at the first '_', else with a trailing ".raw"
 * removed ("foo_1.2.raw" -> "foo", "/tmp/minimal_0" -> "minimal", "app.raw" -> "app",
 * "/srv/app.raw.v" -> "app"). The result must consist of [0-9A-Za-z.-]
 * only, else -EINVAL. */
int image_name_default_prefix(const char *image, char **ret);

/* The version-insensitive key used to match drop-in markers against images: last component;
 * a versioned directory's ".v" is stripped; unless the path ended in '/' (and was no versioned
 * directory), ".sysext.raw", ".confext.raw" or ".raw" is stripped; then cut at the first '_' or
 * '+'. "/var/lib/portables/foo_1.2.raw" -> "foo". -EINVAL if nothing valid
 * remains. */
int image_name_marker_key(const char *name_or_path, char **ret);
