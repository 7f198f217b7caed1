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
 * The copy can be large, so it is not part of the transaction (whose steps carry their data):
 * attach plans the link as always, and once the transaction is committed the link is replaced by
 * the copy, atomically (a hidden temporary copy renamed over it). If copying fails, the link stays,
 * and the change list says "symlink" instead of "copy": the entry is a convenience, as upstream
 * treats it. A copy carries the
 * extended attribute IMAGE_COPY_MARK with the path of the image it copies, so that detach removes
 * only copies made for that image (a file inside the transaction; a directory tree once it is
 * committed). */

#define IMAGE_COPY_MARK "trusted.portabled.copy"

/* Copies the image at image_path (a regular file, or a directory tree: files, directories,
 * symlinks and device nodes with their modes, owners and times) to a hidden temporary name next to
 * dest, marks it, and renames it over dest, which must be the symlink to image_path that attach
 * made (anything else there is left alone: 0). Returns 1 when dest is the copy now. Nothing is
 * left behind on failure. Anything mounted inside the image is not the image's: -EXDEV, and the
 * link stays. */
int image_copy_replace_link(const char *image_path, const char *dest);

/* Whether path is a copy of image_path made by image_copy_replace_link(). */
bool image_copy_is_ours(const char *path, const char *image_path);

/* Removes path recursively if it is a directory copy of image_path, never below a mount point
 * inside it (-EXDEV). 1 if removed, 0 if it is not ours (or gone), < 0 on error. */
int image_copy_remove_tree(const char *path, const char *image_path);

/* After an attach or reattach in mixed mode was committed: replaces the links it made (its
 * "symlink" changes into link_dir to an image of images) by copies, and turns those changes into
 * "copy" changes; a link that could not be replaced stays one. dry_run: only the changes. */
void image_copy_after_attach(const char *link_dir, char * const *images, bool dry_run, PortableChanges *changes);

/* After a detach was committed: removes the directory copies it planned to remove (its "unlink"
 * changes of a directory that is still there and is a copy, by its mark). */
void image_copy_after_detach(PortableChanges *changes);
