/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "siphash.h"

/* One step of a transaction (see transaction.h), shared by the code that executes a plan and the
 * code that recovers one from its journal. Every hidden file a step makes lives next to its path
 * and is named ".#portabled-<transaction id>-<n>". */

typedef enum StepKind {
        STEP_MKDIR,  /* create the directory path */
        STEP_CREATE, /* put a new file or symlink at path (via temp), moving an old one to backup */
        STEP_REMOVE, /* move path to backup */
        STEP_RMDIR,  /* remove the directory path at commit, if empty */
        STEP_REMOVE_TREE, /* move the directory path to backup, removed with all it holds at commit */
        _STEP_KIND_MAX,
        _STEP_KIND_INVALID = -EINVAL,
} StepKind;

/* How far a step got. Undo needs to know exactly, so that it never removes a file it did not
 * put there; a step read back from a journal is UNKNOWN and undone by looking at the disk. */
typedef enum StepProgress {
        STEP_NOT_STARTED,
        STEP_TEMP_WRITTEN,  /* CREATE: temp exists */
        STEP_MOVED_ASIDE,   /* CREATE with backup: the old file is the backup now */
        STEP_DONE,
        STEP_PROGRESS_UNKNOWN,
} StepProgress;

typedef struct TransactionStep {
        StepKind kind;
        char *path;
        char *temp;       /* CREATE */
        char *backup;     /* CREATE that replaces something; REMOVE, REMOVE_TREE */
        char *target;     /* CREATE of a symlink; NULL for a regular file */
        bool mark;        /* CREATE of a symlink: carries TRANSACTION_LINK_MARK (see transaction.h) */
        char *data;       /* CREATE of a regular file */
        size_t size;
        uint64_t digest;  /* CREATE of a regular file: siphash24() of data, keyed by the transaction */
        bool digest_known; /* false for a step from a journal that recorded none */
        mode_t mode;
        StepProgress progress;
        bool left_alone;  /* undone after a crash: the file at path was not the one it made */
} TransactionStep;

void transaction_step_done(TransactionStep *s);

const char *step_kind_to_string(StepKind k);
StepKind step_kind_from_string(const char *s);

/* Carries the step out. A file that changed since planning (a backup source gone, a path taken)
 * is -ESTALE or -EEXIST: the plan no longer describes the disk. */
int transaction_step_apply(TransactionStep *s);

/* Undoes whatever part of the step happened, and is idempotent. predecessor is the latest earlier
 * step of the same transaction on the same path, or NULL: when the progress is unknown, a new file
 * is only removed if the path was free for it, i.e. if no earlier step still had to move the old
 * file away, and if it is the file the step made (its symlink target, or its contents' digest
 * under key; key may be NULL when the progress is known). A negative errno if a file could not be
 * put back or removed (the step then keeps its progress); a directory it made that cannot be
 * removed is left, and not reported. */
int transaction_step_undo(TransactionStep *s, const TransactionStep *predecessor, const uint8_t *key);

/* After the commit point: deletes the step's backup (a REMOVE_TREE's with everything below it,
 * but nothing on another mount: -EXDEV) and temporary file, removes an RMDIR step's directory if
 * it is empty. Returns 1 if an RMDIR step removed its directory, 0 otherwise, or a
 * negative errno if a hidden file could not be deleted. Idempotent. */
int transaction_step_cleanup(TransactionStep *s);

/* The directories whose entries a step changes: path's parent, and path itself for MKDIR and
 * RMDIR. Added to *dirs unless already there. */
int transaction_step_dirs(const TransactionStep *s, char ***dirs);

/* The regular file a CREATE step put in place, whose contents must be durable along with the
 * directory entries: added to *files. Nothing for other steps, symlinks, or a step not done. */
int transaction_step_files(const TransactionStep *s, char ***files);
