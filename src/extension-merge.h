/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stddef.h>
#include <systemd/sd-bus.h>

#include "portable-metadata.h"

/* Combines what was read from each layer of a stacked image: layers[0] is the root image (its
 * os_release is the os-release), layers[1..n_layers-1] the extensions in the order given by the
 * user (each os_release is that extension's extension-release file).
 *
 * Units: a unit found in several layers is taken from the last of them, the one on top of the
 * stack, as the service will see the tree (ExtensionImages= overlays later entries on top).
 * Note that systemd's portabled does the opposite (the first layer keeps a duplicated unit), see
 * man/portabled.8. Each unit's PortableFile.layer says where it came from.
 *
 * The result owns copies of everything: the root's os-release and pairs, the units (sorted by
 * name), every layer's warnings in layer order, and as "missing" the paths missing from every
 * layer (callers pass the same check paths to each layer). The layers are not modified. */
int extension_merge_metadata(const PortableMetadata * const *layers, size_t n_layers, PortableMetadata **ret);

/* The valid unit prefixes of the stack: the words of PORTABLE_PREFIXES= of every layer's
 * os-release or extension-release, sorted and deduplicated. An empty list means no layer
 * declared any, so that any match is allowed. */
int extension_merge_prefixes(const PortableMetadata * const *layers, size_t n_layers, char ***ret);

/* Whether a stack stays within the limits of one image (portable-limits.h), as one metadata reply
 * carries it: at most PORTABLE_UNITS_MAX units in merged, and every layer's release file and
 * merged's units together at most PORTABLE_SIZE_MAX_METADATA bytes. Each reader checks its own
 * layer; this is for the sum. -E2BIG or -EFBIG with a message naming root_label. */
int extension_merge_check_limits(const PortableMetadata * const *layers, size_t n_layers, const PortableMetadata *merged,
                                 const char *root_label, sd_bus_error *reterr);
