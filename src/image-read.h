/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <systemd/sd-bus.h>

#include "portable-metadata.h"

/* Reads the os-release and the unit files matching matches from an image tree opened as root_fd.
 * Every path is resolved inside the tree: symlinks, "..", and absolute links never leave it, and
 * nothing but regular files is ever opened. image_label names the image in error messages. With
 * want_sources, a unit file that is a regular file in its unit directory records its canonical
 * path relative to the tree, so that --copy=symlink can link to it.
 *
 * Units are read in name order, within the limits of portable-limits.h. A missing os-release is
 * an error; unit files that cannot be used (empty, masked, dangling, not a regular file) are
 * skipped with a warning. Finding no unit is not an error here: callers decide. */
/* Pass as matches to read the os-release alone: no unit name has an empty prefix. */
extern char * const image_read_no_units[];

int image_read_tree(int root_fd, const char *image_label, bool want_sources, char * const *matches,
                    PortableMetadata **ret, sd_bus_error *reterr);

/* The same for an extension layer: instead of the os-release, its extension-release file, found
 * by extension_release_read() for the extension's image name (relaxed with force), goes into
 * (*ret)->os_release, and (*ret)->extension, extension_class and extension_match say how it was
 * found. An extension that carries /usr/lib/os-release is refused. */
int image_read_extension_tree(int root_fd, const char *image_name, const char *image_label, bool force,
                              bool want_sources, char * const *matches, PortableMetadata **ret,
                              sd_bus_error *reterr);

/* Adds to m->missing every path of paths that does not resolve to anything inside the tree. */
int image_tree_find_missing(int root_fd, char * const *paths, PortableMetadata *m);
