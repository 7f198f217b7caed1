/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <dirent.h>
#include <stdbool.h>
#include <stddef.h>

#include "host.h"
#include "image.h"
#include "portable-types.h"

/* What is attached, read once: every unit in the persistent and the runtime attached directory
 * whose drop-in carries a marker, with the images the marker names and whether the unit is
 * enabled. One pass over each directory, so that the state of a thousand images costs one scan
 * and not a thousand.
 *
 * Which attachment an image argument names (the version bookkeeping users rely on):
 *   - an absolute path names exactly the attachment whose marker records that path, or a path
 *     that resolves to the same file (images are often reached through /etc/portables links);
 *     the path of a versioned directory (vpick.h) names the attachment of any version in it;
 *   - an image name ("foo_1.2") names the attachments whose image, with ".raw" and the directory
 *     cut off, is exactly that name; so after "reattach foo_1 -> foo_2", foo_1 is detached and
 *     foo_2 attached, and two images "foo" in different directories are told apart by path;
 *   - a name without a version ("foo") also names every version of foo ("foo_2.raw").
 * Reattach alone replaces by version-insensitive key (foo_1 by foo_2): that is what it is for. */

typedef struct AttachedLayerIdentity AttachedLayerIdentity;

typedef struct AttachedUnit {
        char *name;
        bool runtime;
        bool has_unit_file; /* false: only its drop-in directory is left */
        bool enabled;
        char **images;    /* as the marker records them: base image first, then extensions */
        AttachedLayerIdentity *identity; /* what each of images is, found when first needed:
                                          * a recorded path is resolved (symlinks) only when
                                          * compared with a path of the very same file */
} AttachedUnit;

typedef struct AttachedIndex {
        AttachedUnit *units;
        size_t n_units;
} AttachedIndex;

int attached_index_load(const Host *host, AttachedIndex *ret);

/* The unit names in one attached directory, whether ours or not (markers are not read): those
 * with a unit file (or symlink), and those of which only the drop-in directory is left (a disabled
 * symlink: attached, but only partly). Both sorted, no name in both. */
int attached_dir_list_units(DIR *d, char ***ret_with_file, char ***ret_dropin_only);

/* The same without looking for enablement links (every unit's enabled is false): for callers
 * that only need to know which units are attached, and from which images. The links can be
 * anywhere in /etc/systemd/system and /run/systemd/system, which on a real host is many
 * directories to list. */
int attached_index_load_units(const Host *host, AttachedIndex *ret);
void attached_index_done(AttachedIndex *idx);

/* Whether query (an absolute path or an image name) names the image recorded as marker_path,
 * by the rules above. */
bool attached_image_matches(const char *marker_path, const char *query);

/* Whether the unit belongs to the image named by query with exactly these extensions (in order;
 * NULL for none). */
bool attached_unit_matches(const AttachedUnit *u, const char *query, char * const *extensions);

/* The same with the query's resolved form given (NULL: not resolved), for callers that match one
 * query against many units: realpath() once, not once per unit. */
bool attached_unit_matches_canonical(const AttachedUnit *u, const char *query, const char *query_canonical,
                                     char * const *extensions);

/* The names of the units attached from the image named by query (and extensions), in the
 * runtime or the persistent directory (runtime < 0: both), sorted. */
int attached_index_units(const AttachedIndex *idx, const char *query, char * const *extensions, int runtime,
                         char ***ret);

/* Every attached unit name, sorted: what to ask the service manager about for a listing. */
int attached_index_all_units(const AttachedIndex *idx, char ***ret);

/* The state of the image named by query: attached, enabled or running (a unit of it is active,
 * as host's unit_ops say), persistent before runtime; detached if nothing matches. Without
 * extensions, an attachment counts if query names any of its layers. */
int attached_index_state(const AttachedIndex *idx, const Host *host, const char *query, char * const *extensions,
                         PortableState *ret);

/* The same for an image just probed (a listing): what its path led to then stands for the
 * path, which is not looked at again. */
int attached_index_image_state(const AttachedIndex *idx, const Host *host, const Image *image, PortableState *ret);
