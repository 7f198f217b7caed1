/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "change.h"

/* Applies a planned set of file-system changes so that they either all happen or none do.
 * Nothing is deleted before commit: removed and replaced files are renamed to hidden backups
 * (".#..." names, which the service manager ignores) in their own directory, and rollback puts
 * them back. Every step records the user-visible change and how to undo it. */

typedef struct UndoStep UndoStep;

typedef struct Transaction {
        PortableChanges changes;
        UndoStep *undo;
        size_t n_undo;
        unsigned counter;
} Transaction;

void transaction_done(Transaction *t);

/* mkdir -p; records a "mkdir" change for the last component only if it was created. */
int transaction_mkdir(Transaction *t, const char *path, mode_t mode);

/* Writes a file atomically. An existing file is an error (-EEXIST) unless replace is set, in
 * which case it is moved aside first. type is PORTABLE_WRITE or PORTABLE_COPY. */
int transaction_write_file(Transaction *t, const char *path, const void *data, size_t size, mode_t mode,
                           bool replace, PortableChangeType type, const char *source);

/* Creates a symlink path -> target, with the same replace semantics. */
int transaction_symlink(Transaction *t, const char *path, const char *target, bool replace);

/* Removes a file or symlink (records "unlink"). -ENOENT if it is not there. */
int transaction_remove(Transaction *t, const char *path);

/* Removes a directory at commit time if it is empty by then (records "unlink" when it is). */
int transaction_remove_dir_if_empty(Transaction *t, const char *path);

/* Makes it all permanent: deletes the backups and the emptied directories. */
int transaction_commit(Transaction *t);

/* Ends a transaction the way every operation does: commit if r >= 0 and commit works, else roll
 * back. On success the change list is handed to ret_changes. Returns r or the commit error. */
int transaction_finish(Transaction *t, int r, PortableChanges *ret_changes);

/* Undoes every step in reverse order. Best effort: it cannot fail half-way in any way we could
 * do better about, and returns nothing. */
void transaction_rollback(Transaction *t);
