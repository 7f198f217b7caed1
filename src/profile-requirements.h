/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stddef.h>

/* What a profile needs to find inside an image: the mount points of the API file systems and of
 * every bind mount it sets up. On a read-only image a missing one makes the service fail at start
 * with status=226/NAMESPACE and no hint why; we check before attaching instead. */

/* Parses a profile drop-in (systemd unit file syntax, [Service] section) into a list of
 * alternating (path inside the image, setting that needs it) pairs, e.g. "/etc/machine-id",
 * "BindReadOnlyPaths=/etc/machine-id". Destinations that the service manager creates itself on
 * a tmpfs (below /dev, /run, /proc, /sys with MountAPIVFS=, below /tmp with PrivateTmp=) are left
 * out. */
int profile_requirements_parse(const char *data, size_t size, char ***ret_pairs);
