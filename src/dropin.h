/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>

#include "image.h"

/* The drop-ins attach writes next to each unit, and the marker line that tells, later, which
 * image a unit came from. The layout follows systemd 252 so that either implementation can
 * detach what the other attached. */

#define DROPIN_PORTABLE_NAME "20-portable.conf"
#define DROPIN_PROFILE_NAME "10-profile.conf"

#define DROPIN_MARKER_SIZE_MAX (256U * 1024U)
#define DROPIN_MARKER_PREFIX "# Drop-in created for image '"
#define DROPIN_MARKER_SUFFIX "', do not edit."

/* Builds the whole 20-portable.conf for unit attached from image. For non-service units it is
 * the marker line alone. host_os_release is the host path bound to /run/host/os-release.
 * -EINVAL if the image path cannot be written into a unit file safely. */
int dropin_portable_content(const Image *image, const char *unit, const char *host_os_release, char **ret);

/* Splits the marker line (first line of a 20-portable.conf) into the image paths it names,
 * unescaped. -EBADMSG if the line is not a marker. */
int dropin_marker_parse(const char *line, char ***ret_paths);

typedef enum MarkerMatchMode {
        MARKER_MATCH_ALL, /* every component must match (detach) */
        MARKER_MATCH_ANY, /* one matching component is enough (state queries) */
} MarkerMatchMode;

/* Whether a marker's image paths refer to the image named by name_or_path (and the given
 * extensions, in order). Comparison is version-insensitive: "foo_1.raw", "foo_2.raw", "foo"
 * and "/x/foo" all name the image "foo", while "foobar" does not. */
bool dropin_marker_matches(char * const *marker_paths, const char *name_or_path, char * const *extensions,
                           MarkerMatchMode mode);

/* Reads the marker of dir/<unit>.d/20-portable.conf. Returns 1 and the paths, 0 if there is no
 * such file or it carries no marker. */
int dropin_read_marker(int attached_dir_fd, const char *unit, char ***ret_paths);
