/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "transaction-step.h"

/* The on-disk journal of a transaction: <dir>/<id>.journal, a small JSON document
 *
 *   {"version": 1, "id": "...", "description": "attach /var/lib/portables/foo.raw",
 *    "state": "applying" | "committing",
 *    "steps": [{"kind": "create", "path": "...", "temp": "...", "backup": "..."}, ...]}
 *
 * It names every path the transaction touches and every hidden file it makes, which is what
 * recovery needs: it never re-applies a step, it only undoes (before the commit point) or cleans
 * up (after it), so file contents are not recorded. Saving is atomic and durable (temporary
 * file, fsync, rename, fsync of the directory). */

#define TRANSACTION_JOURNAL_SUFFIX ".journal"
#define TRANSACTION_HIDDEN_PREFIX ".#portabled-"

int transaction_journal_save(const char *dir, const char *id, const char *description, bool committing,
                             const TransactionStep *steps, size_t n_steps);

/* Removes the journal; durable if sync is set. */
int transaction_journal_remove(const char *dir, const char *id, bool sync);

typedef struct TransactionJournal {
        char *id;
        char *description;
        bool committing;
        TransactionStep *steps; /* progress is STEP_PROGRESS_UNKNOWN */
        size_t n_steps;
} TransactionJournal;

void transaction_journal_done(TransactionJournal *j);

/* Reads and validates <dir>/<filename>. Paths must be absolute and normalised, and every hidden
 * file must sit next to its path and carry this transaction's name: a damaged or foreign journal
 * is -EBADMSG and makes recovery touch nothing. */
int transaction_journal_load(const char *dir, const char *filename, TransactionJournal *ret);
