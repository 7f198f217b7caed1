/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <systemd/sd-bus.h>

#include "change.h"
#include "manager.h"
#include "portable-metadata.h"
#include "transaction.h"

/* A reattach whose new version has been applied but not yet kept: the client restarts the units
 * and watches them come up, then says FinishReattach(image, keep). Until then:
 *   - the transaction is not committed: the previous version's files wait as hidden backups, and
 *     a crash of the daemon rolls back (the journal says "applying");
 *   - no other operation may change the units of the same image (they are refused as busy);
 *   - if the client goes away, or does not answer within PENDING_UPGRADE_TIMEOUT_USEC, the
 *     previous version is put back on our own, PID 1 is reloaded and the units that run are
 *     restarted. */

#define PENDING_UPGRADE_TIMEOUT_USEC (UINT64_C(15) * 60 * 1000000)

typedef struct PendingUpgrade PendingUpgrade;

/* Takes the applied transaction t (moved from; rolled back on failure) for the image at
 * image_path, asked for by the sender of msg; units are the units of the previous version, for a
 * rollback on our own, and are taken only on success. */
int pending_upgrade_add(Manager *m, sd_bus_message *msg, const char *image_path, Transaction *t, char **units);

/* Whether an operation on name_or_path must wait for an upgrade being verified. */
bool pending_upgrade_blocks(Manager *m, const char *name_or_path);

/* The ids of the transactions of the waiting upgrades: their journals are live, not left over. */
int pending_upgrade_transaction_ids(Manager *m, char ***ret);

/* The image path of a waiting upgrade that changed one of the units of metadata (its rollback
 * would put the previous version's files back over what an attach of them wrote), or NULL. */
const char *pending_upgrade_holding_units(Manager *m, const PortableMetadata *metadata);

/* Keeps or abandons the new version of image_path, or (as_named, may be NULL: what the client
 * called the image) of the one image of that name with an upgrade waiting for sender. -ENOENT if
 * nothing is pending for it, -EPERM if sender (a unique bus name) is not the client that asked
 * for it. Keeping returns the commit's changes; abandoning returns what it undid: "unlink" for
 * files of the new version that went, "write" for files of the previous one that came back. */
int pending_upgrade_finish(Manager *m, const char *image_path, const char *as_named, const char *sender,
                           bool keep, PortableChanges *ret_changes, sd_bus_error *reterr);

/* Shutdown: every pending upgrade is rolled back. */
void pending_upgrades_abort_all(Manager *m);
