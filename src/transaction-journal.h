/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "transaction-step.h"

/* The on-disk journal of a transaction: <dir>/<id>.journal, a small JSON document
 *
 *   {"version": 1, "id": "...", "description": "attach /var/lib/portables/foo.raw",
 *    "state": "applying" | "committing", "key": "<32 hex digits>",
 *    "steps": [{"kind": "create", "path": "...", "temp": "...", "backup": "...",
 *               "size": 123, "digest": "<16 hex digits>"  or  "target": "..."}, ...]}
 *
 * It names every path the transaction touches and every hidden file it makes, which is what
 * recovery needs: it never re-applies a step, it only undoes (before the commit point) or cleans
 * up (after it), so file contents are not recorded. What a create step puts in place is
 * identified, so that recovery does not remove a file that took the path after a crash: a
 * symlink by its target, a file by its size and the SipHash-2-4 digest of its contents under the
 * transaction's random key (journals are root's alone). Journals written before these fields
 * existed are read without them. Saving is atomic and durable (temporary file, fsync, rename,
 * fsync of the directory).
 *
 * The commit point is the rename of <id>.journal to <id>.committed, made durable by an fsync of
 * the directory: one flush, where rewriting the document would take two. A journal under the
 * second name is "committing" whatever its state says; journals of earlier versions, which
 * rewrote the state instead, are read as they are. */

#define TRANSACTION_JOURNAL_SUFFIX ".journal"
#define TRANSACTION_JOURNAL_COMMITTED_SUFFIX ".committed"
#define TRANSACTION_HIDDEN_PREFIX ".#portabled-"

int transaction_journal_save(const char *dir, const char *id, const uint8_t key[static SIPHASH_KEY_SIZE],
                             const char *description, bool committing, const TransactionStep *steps,
                             size_t n_steps);

/* The commit point: <id>.journal becomes <id>.committed, durably. If the rename cannot be made
 * durable, it is undone (as far as possible) and the error returned: the caller then rolls back. */
int transaction_journal_commit(const char *dir, const char *id);

/* Removes the journal, under either name; durable if sync is set. */
int transaction_journal_remove(const char *dir, const char *id, bool sync);

/* Whether a directory entry is a journal (not hidden, either suffix): its id (the name without
 * the suffix) in *ret_id if that is not NULL, and whether it is committed. 0 if it is one,
 * -EINVAL if not. */
int transaction_journal_parse_name(const char *name, char **ret_id, bool *ret_committed);

typedef struct TransactionJournal {
        char *id;
        char *description;
        bool committing;
        uint8_t key[SIPHASH_KEY_SIZE];
        bool has_key;
        TransactionStep *steps; /* progress is STEP_PROGRESS_UNKNOWN */
        size_t n_steps;
} TransactionJournal;

void transaction_journal_done(TransactionJournal *j);

/* Reads and validates <dir>/<filename>. Paths must be absolute and normalised, and every hidden
 * file must sit next to its path and carry this transaction's name: a damaged or foreign journal
 * is -EBADMSG and makes recovery touch nothing. */
int transaction_journal_load(const char *dir, const char *filename, TransactionJournal *ret);
