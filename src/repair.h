/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <systemd/sd-bus.h>

#include "change.h"
#include "host.h"

/* Finds what interrupted operations (of this daemon before it kept a journal, of systemd's
 * portabled, of a crashed administrator's script) left behind, and removes it: only what is
 * provably ours, never anything an administrator made.
 *   - hidden files with our names (".#portabled-<id>-<n>", and the temporary files of older
 *     versions, ".#portable<12 hex digits>") in the attached directories, their drop-in
 *     directories and /etc|/run/portables, unless a transaction journal still claims them;
 *   - drop-in directories in the attached directories whose unit file is gone and that hold only
 *     our drop-ins (20-portable.conf with its marker, and 10-profile.conf);
 *   - links in /etc|/run/portables that carry our mark (transaction.h), and copies there that
 *     carry ours (image-copy.h), that no attachment refers to any more;
 *   - what a copy cut short left in /etc|/run/portables (under IMAGE_COPY_TEMP_PREFIX).
 * Interrupted transactions are recovered from their journals first. With dry_run nothing is
 * changed and ret_changes says what would be; otherwise the removal is one transaction, followed
 * by the removal of what copies cut short left (which no transaction knows of: image-copy.h). */
int portable_repair(const Host *host, bool dry_run, PortableChanges *ret_changes, sd_bus_error *reterr);

/* The part of it the daemon also does at every start: what copies of --copy=mixed cut short left
 * in /etc|/run/portables (image_copy_remove_leftovers()), with an "unlink" change for each. */
int portable_remove_copy_leftovers(const Host *host, bool dry_run, PortableChanges *changes);

/* Refuses (-EBUSY, reterr naming the journal) while a journal other than those of live_ids (the
 * transactions the caller has in flight) is on disk: an operation that could not be finished or
 * undone in full, whose recovery would undo what is changed meanwhile. Nothing may change the
 * attachments until a repair (or the next start) has recovered it. */
int portable_refuse_if_unrecovered(const Host *host, char * const *live_ids, sd_bus_error *reterr);
