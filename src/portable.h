/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stddef.h>
#include <systemd/sd-bus.h>

#include "change.h"
#include "host.h"
#include "image-copy.h"
#include "image.h"
#include "portable-metadata.h"
#include "portable-types.h"
#include "transaction.h"

/* The operations on the host. Each plans and checks everything first, then applies its changes
 * in one transaction: either all happen, or the host is left exactly as it was. */

/* An image stacked with extension images (bottom to top, in the order given), and what the image
 * reader found in each layer: layers[0] the image's os-release and units, layers[i] the i-th
 * extension's extension-release and units, 1 + n_extensions of them (image_read_stack_metadata()
 * reads them so). layers NULL: the operation reads them itself, synchronously. */
typedef struct PortableStack {
        const Image *image;
        const Image * const *extensions;
        size_t n_extensions;
        const PortableMetadata * const *layers;
} PortableStack;

/* Each layer of a stack once, the image not among its extensions: the same image twice would be
 * mounted over itself. -EINVAL with a message otherwise. Checked by attach; callers may check
 * before reading the layers. */
int portable_stack_check_distinct(const PortableStack *stack, sd_bus_error *reterr);

/* Attaches the units of image matching matches. profile may be empty for "no profile drop-in";
 * an unknown profile name is an error. flags: RUNTIME, FORCE_ATTACH, PREFER_COPY,
 * PREFER_SYMLINK. metadata is what the image reader found, read with the check paths
 * portable_attach_prepare() gives; NULL reads the image now, synchronously. */
int portable_attach(const Host *host, const Image *image, const PortableMetadata *metadata, char * const *matches,
                    const char *profile, PortableFlags flags, PortableChanges *ret_changes, sd_bus_error *reterr);

/* The same for an image stacked with extensions. Each extension's release file must be
 * compatible with the image's os-release (extension-compat.h; -ESTALE otherwise, with a message
 * naming the field and both sides); units are looked up in every layer, the topmost layer that
 * has a unit wins (extension-merge.h); the valid prefixes are those of all layers together. Every
 * service gets the whole stack in its drop-in (dropin_portable_content_stack()), and extensions
 * outside the search path get an /etc|/run/portables link like the image. flags may also have
 * FORCE_EXTENSION, which relaxes how release files are found (and is written into the drop-in). */
int portable_attach_stack(const Host *host, const PortableStack *stack, char * const *matches, const char *profile,
                          PortableFlags flags, PortableChanges *ret_changes, sd_bus_error *reterr);

/* Checks the profile, and returns the paths inside the image its service drop-in binds or mounts
 * over: the image reader reports which of them the image lacks. ret_requirements (may be NULL):
 * the same as (path, setting) pairs (profile-requirements.h). */
int portable_attach_prepare(const Host *host, const char *profile, char ***ret_requirements, char ***ret_check_paths,
                            sd_bus_error *reterr);

/* Removes every unit whose marker names name_or_path (see attached-index.h for which image an
 * argument names), their drop-ins, and the /etc|/run/portables link attach made. The image
 * itself need not exist any more. */
int portable_detach(const Host *host, const char *name_or_path, PortableFlags flags, PortableChanges *ret_changes,
                    sd_bus_error *reterr);

/* The same for an image attached with extensions: only units whose marker names the image and
 * exactly these extensions, in this order, are removed (each compared as attached-index.h says;
 * when reattaching, each by its version-insensitive key). A detach that names an attached image
 * with the wrong extensions, or none, touches nothing and says which extensions it has. The
 * /etc|/run/portables links of every image of the stack go too, unless another attachment still
 * uses them. */
int portable_detach_with_extensions(const Host *host, const char *name_or_path, char * const *extensions,
                                    PortableFlags flags, PortableChanges *ret_changes, sd_bus_error *reterr);

/* Replaces the attached version of an image by image, atomically: if attaching the new version
 * fails, the old one stays attached. ret_removed holds what disappeared for good (units the new
 * version no longer has), ret_updated what was written. metadata as for portable_attach(). */
int portable_reattach(const Host *host, const Image *image, const PortableMetadata *metadata, char * const *matches,
                      const char *profile, PortableFlags flags, PortableChanges *ret_removed,
                      PortableChanges *ret_updated, sd_bus_error *reterr);

/* The same as portable_reattach() for an image stacked with extensions: the units attached from
 * the image with the same extensions (by key, so versions may differ) are replaced by those of
 * the new stack, all in one transaction. */
int portable_reattach_stack(const Host *host, const PortableStack *stack, char * const *matches, const char *profile,
                            PortableFlags flags, PortableChanges *ret_removed, PortableChanges *ret_updated,
                            sd_bus_error *reterr);

/* The same, but the new version is only applied, not kept: t (initialised here) is left for
 * the caller to transaction_commit() once the new version proved to work, or to
 * transaction_abort(), which puts the previous version back exactly. Until then a crash rolls
 * back. On failure t is done with. */
int portable_reattach_stack_uncommitted(Transaction *t, const Host *host, const PortableStack *stack,
                                        char * const *matches, const char *profile, PortableFlags flags,
                                        PortableChanges *ret_removed, PortableChanges *ret_updated,
                                        sd_bus_error *reterr);

int portable_get_state(const Host *host, const char *name_or_path, PortableState *ret);

/* With extensions (NULL: none), only attachments of exactly that stack count. */
int portable_get_state_with_extensions(const Host *host, const char *name_or_path, char * const *extensions,
                                       PortableState *ret);

/* Prepares a transaction for an operation on the persistent or (PORTABLE_RUNTIME) runtime
 * directories of host, journalled where a crash cannot lose the journal before the changes. */
int portable_transaction_init(Transaction *t, const Host *host, PortableFlags flags, const char *verb,
                              const char *image);

/* Ends an operation's transaction: as transaction_finish(), except that with PORTABLE_DRY_RUN in
 * flags (and r >= 0) nothing is applied and ret_changes gets the plan. Every operation takes
 * PORTABLE_DRY_RUN: it then checks and plans exactly as it would, and conflicts that would refuse
 * it (a unit file that exists on the host, a unit that is active) are listed, all of them, as
 * PORTABLE_CONFLICT changes (path: the unit, source: "exists" or "active") instead of failing on
 * the first; nothing else is planned then. */
int portable_transaction_finish(Transaction *t, int r, PortableFlags flags, PortableChanges *ret_changes,
                                sd_bus_error *reterr);

/* For a plan that is not executed: adds the "unlink" changes executing would report for the
 * directories it removes at commit because they end up empty. */
int portable_transaction_plan_rmdirs(Transaction *t);

/* --copy=mixed, once the transaction is committed (or planned, for a dry run): replaces the
 * links made to the images of stack by copies of them (image-copy.h), and says so in changes.
 * With PORTABLE_DRY_RUN in flags, mode is IMAGE_COPY_PLAN whatever is asked.
 * The attach and reattach functions call it themselves when flags has PORTABLE_MIXED_COPY; the
 * daemon instead clears it and has a worker make the copies, then collects them. */
int portable_copy_images(const Host *host, const PortableStack *stack, PortableFlags flags, ImageCopyMode mode,
                         PortableChanges *changes);

/* The steps, usable inside a caller's transaction. */
int portable_attach_in(Transaction *t, const Host *host, const Image *image, const PortableMetadata *metadata,
                       char * const *matches, const char *profile, PortableFlags flags, sd_bus_error *reterr);
int portable_attach_stack_in(Transaction *t, const Host *host, const PortableStack *stack, char * const *matches,
                             const char *profile, PortableFlags flags, sd_bus_error *reterr);
int portable_detach_in(Transaction *t, const Host *host, const char *name_or_path, PortableFlags flags,
                       sd_bus_error *reterr);
int portable_detach_with_extensions_in(Transaction *t, const Host *host, const char *name_or_path,
                                       char * const *extensions, PortableFlags flags, sd_bus_error *reterr);
