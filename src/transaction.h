/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <systemd/sd-bus.h>

#include "change.h"
#include "siphash.h"

/* A set of file-system changes that happen all together or not at all, even across a crash.
 *
 * First the caller plans: transaction_mkdir(), _write_file(), _symlink(), _remove() and
 * _remove_dir_if_empty() check their preconditions against the disk as the steps planned so far
 * would leave it, and record a step. Nothing on disk changes while planning, so a refusal (a file
 * in the way, a missing directory) leaves the host untouched by construction.
 *
 * Then transaction_execute() applies the plan:
 *   1. the plan is written to a journal file in journal_dir and made durable;
 *   2. the steps run: new files appear by rename from a hidden temporary file, replaced and
 *      removed files are renamed to hidden backups (".#portabled-<id>-<n>", which the service
 *      manager ignores) in their own directory;
 *   3. the effects are made durable, the journal is renamed to mark it "committed" (the commit
 *      point) and that is made durable;
 *   4. backups and emptied directories are deleted, and the journal is removed.
 * If a step fails, the applied steps are undone in reverse order; if undoing fails too (a backup
 * that cannot be renamed back), the journal stays, and recovery undoes the rest later. If the
 * process dies at any
 * point, transaction_recover() finishes the job from the journal at the next start: before the
 * commit point it rolls back, after it it completes the cleanup. Either way the host ends up
 * exactly in the old or exactly in the new state, and no hidden file is left behind.
 *
 * Durability costs three barriers: the journal (its file, then its directory), the effects (an
 * fsync of exactly the files written and the directories changed, all issued at once so that the
 * file system commits them together: fsync-util.h), the commit point (the journal's directory).
 * Step 4 needs none: until the removal of the journal is on disk, recovery completes the cleanup
 * anyway (see transaction_commit()). */

typedef struct TransactionStep TransactionStep;

typedef struct Transaction {
        PortableChanges changes; /* what the plan does, in order; after execute(), what it did */
        TransactionStep *steps;
        size_t n_steps;
        char *journal_dir;       /* NULL: no journal (only for tests of the planning logic) */
        char *id;                /* random, names the journal and every hidden file */
        uint8_t key[SIPHASH_KEY_SIZE]; /* random, keys the digests of the files it writes */
        char *description;       /* what the journal says the operation was, for the logs */
        unsigned counter;
        char **existing_dirs;    /* found to be directories (not symlinks) while planning */
        size_t n_applied;
        bool executed;
        bool committed;
} Transaction;

/* journal_dir is where the journal of this transaction goes: it must be on a file system that
 * outlives the changes (the state directory for persistent changes, /run for runtime ones). */
int transaction_init(Transaction *t, const char *journal_dir, const char *description);
void transaction_done(Transaction *t);

/* mkdir -p; plans (and records a "mkdir" change for) only the components that do not exist. */
int transaction_mkdir(Transaction *t, const char *path, mode_t mode);

/* Plans writing a file. An existing file is an error (-EEXIST) unless replace is set, in which
 * case it is replaced atomically; a directory in the way is -EISDIR; a missing parent -ENOENT.
 * type is PORTABLE_WRITE or PORTABLE_COPY. data is copied. */
int transaction_write_file(Transaction *t, const char *path, const void *data, size_t size, mode_t mode,
                           bool replace, PortableChangeType type, const char *source);

/* Plans a symlink path -> target, with the same replace semantics. */
int transaction_symlink(Transaction *t, const char *path, const char *target, bool replace);

/* The same, for a link that says it is ours: it carries the extended attribute
 * TRANSACTION_LINK_MARK, so that detach and repair can tell it from a link of the same name an
 * administrator made (symlinks cannot carry user.* attributes; trusted.* ones need privileges,
 * which is the point). Never replaces. */
#define TRANSACTION_LINK_MARK "trusted.portabled.link"
int transaction_symlink_marked(Transaction *t, const char *path, const char *target);

/* Whether path is a symlink carrying TRANSACTION_LINK_MARK. */
bool symlink_is_marked(const char *path);

/* Plans removing a file or symlink (records "unlink"). -ENOENT if it is not there, -EISDIR for a
 * directory. */
int transaction_remove(Transaction *t, const char *path);

/* Plans removing a directory that is there now, with everything below it (records "unlink"): it is
 * moved to a hidden backup like a file, and deleted at commit, never across a mount point below it
 * (rm-rf.h). -ENOTDIR if path is not a directory that exists before the transaction; -EBUSY if a
 * file system is mounted below it (mount-below.h). One mounted after planning stops the deletion
 * at commit, and keeps the journal for recovery to finish it once it is gone. */
int transaction_remove_tree(Transaction *t, const char *path);

/* Plans removing a directory at commit if it is empty by then (records "unlink" when it was). */
int transaction_remove_dir_if_empty(Transaction *t, const char *path);

/* What lstat() will say about path once the steps planned so far are applied: 0 and the file
 * type in ret->st_mode (S_IFREG, S_IFLNK, S_IFDIR, or whatever is on disk), or -ENOENT. */
int transaction_lstat(Transaction *t, const char *path, struct stat *ret);

/* Applies the plan as described above. On failure everything is undone, reterr says which file
 * and why (and, if undoing failed too, that the journal stays for recovery to finish it). A
 * transaction without steps does nothing, not even a journal. */
int transaction_execute(Transaction *t, sd_bus_error *reterr);

/* The same in two halves, for a caller that wants to see the new state at work before it keeps
 * it (reattach with rollback): apply() takes the steps up to, not including, the commit point
 * (the journal still says "applying": a crash meanwhile rolls back), then either commit() or
 * abort(), which undoes everything as if nothing had been applied (if that fails, it returns the
 * error, says so in reterr, which may be NULL, and the journal stays for recovery). */
int transaction_apply(Transaction *t, sd_bus_error *reterr);
int transaction_commit(Transaction *t, sd_bus_error *reterr);
int transaction_abort(Transaction *t, sd_bus_error *reterr);

/* What abort() would do to an applied transaction: "unlink" for what goes, "write" for what is
 * put back, latest first. */
int transaction_undo_changes(const Transaction *t, PortableChanges *ret);

/* Ends a transaction the way every operation does: if r >= 0, executes it and hands the change
 * list to ret_changes; otherwise drops the plan (nothing was applied). Returns r or the execute
 * error. */
int transaction_finish(Transaction *t, int r, PortableChanges *ret_changes, sd_bus_error *reterr);

/* Finds the journals of interrupted transactions in journal_dir and completes each: rollback if
 * it was interrupted before its commit point, cleanup after it. Returns the number of journals
 * handled (0 if none), and what was done as human-readable lines in ret_log (may be NULL). A
 * journal that cannot be read is left in place and reported, never half-applied; so is one whose
 * rollback or cleanup fails part of the way (the next call tries again). */
int transaction_recover(const char *journal_dir, char ***ret_log);
