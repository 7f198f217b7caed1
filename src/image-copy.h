/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>

#include "change.h"
#include "portable-types.h"

/* --copy=mixed, as newest upstream has it: unit files are copied, profiles linked, and the image
 * entry in /etc/portables (or /run/portables) is a copy of the image instead of a link to it, so
 * that the image stays findable by name even if the original goes away. The drop-ins still name
 * the original, as upstream's do.
 *
 * The copy can be large, so making it is not part of the transaction (whose steps carry their
 * data): attach plans the link as always, and once the transaction is committed the link is
 * replaced by the copy, atomically (a hidden temporary copy renamed over it). If copying fails, or
 * the daemon dies while it copies, the link stays and the change list says "symlink" instead of
 * "copy": the entry is a convenience, as upstream treats it. A copy carries the extended attribute
 * IMAGE_COPY_MARK with the path of the image it copies, so that detach removes only copies made
 * for that image; removing one is part of detach's transaction (transaction_remove_tree()). */

#define IMAGE_COPY_MARK "trusted.portabled.copy"

/* A copy is made under the hidden name IMAGE_COPY_TEMP_PREFIX<name> next to its place: what a
 * crash leaves is only ever under that name, never a half copy under the image's. */
#define IMAGE_COPY_TEMP_PREFIX ".#portabled-copy-"

/* Copies the image at image_path (a regular file, or a directory tree: files, directories,
 * symlinks and device nodes with their modes, owners and times) to a hidden temporary name next to
 * dest, marks it, and renames it over dest, which must be the symlink to image_path that attach
 * made (anything else there is left alone: 0). Returns 1 when dest is the copy now. Nothing is
 * left behind on failure. Anything mounted inside the image is not the image's: -EXDEV, and the
 * link stays. */
int image_copy_replace_link(const char *image_path, const char *dest);

/* The path of the image that path is a copy of, or NULL if it is not a copy (or on OOM). */
char *image_copy_source(const char *path);

/* Whether path is a copy of image_path made by image_copy_replace_link(). */
bool image_copy_is_ours(const char *path, const char *image_path);

/* Removes what a copy cut short by a crash left in link_dir (anything under
 * IMAGE_COPY_TEMP_PREFIX: no copy under that name is ever in use), with an "unlink" change for each;
 * dry_run: only the changes. Goes on past an error, returns the first. */
int image_copy_remove_leftovers(const char *link_dir, bool dry_run, PortableChanges *changes);

typedef enum ImageCopyMode {
        IMAGE_COPY_MAKE,    /* make the copies */
        IMAGE_COPY_PLAN,    /* a dry run: only say what would be copied */
        IMAGE_COPY_COLLECT, /* another process made them and has ended: say which are copies now,
                             * and remove what it left of the others */
} ImageCopyMode;

/* After an attach or reattach in mixed mode was committed: replaces the links it made (its
 * "symlink" changes into link_dir to an image of images) by copies, and turns those changes into
 * "copy" changes; a link that could not be replaced stays one. */
void image_copy_after_attach(const char *link_dir, char * const *images, ImageCopyMode mode, PortableChanges *changes);
