/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <systemd/sd-bus.h>

#include "change.h"
#include "host.h"
#include "image.h"
#include "portable-metadata.h"
#include "portable-types.h"
#include "transaction.h"

/* The operations on the host. Each plans and checks everything first, then applies its changes
 * in one transaction: either all happen, or the host is left exactly as it was. */

/* Attaches the units of image matching matches. profile may be empty for "no profile drop-in";
 * an unknown profile name is an error. flags: RUNTIME, FORCE_ATTACH, PREFER_COPY,
 * PREFER_SYMLINK. metadata is what the image reader found, read with the check paths
 * portable_attach_prepare() gives; NULL reads the image now, synchronously. */
int portable_attach(const Host *host, const Image *image, const PortableMetadata *metadata, char * const *matches,
                    const char *profile, PortableFlags flags, PortableChanges *ret_changes, sd_bus_error *reterr);

/* Checks the profile, and returns the paths inside the image its service drop-in binds or mounts
 * over: the image reader reports which of them the image lacks. */
int portable_attach_prepare(const Host *host, const char *profile, char ***ret_check_paths, sd_bus_error *reterr);

/* Removes every unit whose marker names name_or_path (see attached-index.h for which image an
 * argument names), their drop-ins, and the /etc|/run/portables link attach made. The image
 * itself need not exist any more. */
int portable_detach(const Host *host, const char *name_or_path, PortableFlags flags, PortableChanges *ret_changes,
                    sd_bus_error *reterr);

/* Replaces the attached version of an image by image, atomically: if attaching the new version
 * fails, the old one stays attached. ret_removed holds what disappeared for good (units the new
 * version no longer has), ret_updated what was written. metadata as for portable_attach(). */
int portable_reattach(const Host *host, const Image *image, const PortableMetadata *metadata, char * const *matches,
                      const char *profile, PortableFlags flags, PortableChanges *ret_removed,
                      PortableChanges *ret_updated, sd_bus_error *reterr);

/* The same, but the new version is only applied, not kept: t (initialised here) is left for
 * the caller to transaction_commit() once the new version proved to work, or to
 * transaction_abort(), which puts the previous version back exactly. Until then a crash rolls
 * back. On failure t is done with. */
int portable_reattach_uncommitted(Transaction *t, const Host *host, const Image *image,
                                  const PortableMetadata *metadata, char * const *matches, const char *profile,
                                  PortableFlags flags, PortableChanges *ret_removed, PortableChanges *ret_updated,
                                  sd_bus_error *reterr);

int portable_get_state(const Host *host, const char *name_or_path, PortableState *ret);

/* Prepares a transaction for an operation on the persistent or (PORTABLE_RUNTIME) runtime
 * directories of host, journalled where a crash cannot lose the journal before the changes. */
int portable_transaction_init(Transaction *t, const Host *host, PortableFlags flags, const char *verb,
                              const char *image);

/* The steps, usable inside a caller's transaction. */
int portable_attach_in(Transaction *t, const Host *host, const Image *image, const PortableMetadata *metadata,
                       char * const *matches, const char *profile, PortableFlags flags, sd_bus_error *reterr);
int portable_detach_in(Transaction *t, const Host *host, const char *name_or_path, PortableFlags flags,
                       sd_bus_error *reterr);
