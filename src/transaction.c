/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "escape.h"
#include "fd-util.h"
#include "fileio.h"
#include "fsync-util.h"
#include "mount-below.h"
#include "path-util.h"
#include "portable-error.h"
#include "strv.h"
#include "transaction-journal.h"
#include "transaction-step.h"
#include "transaction.h"

static int random_id(char **ret) {
        uint8_t bytes[8];

        if (getrandom(bytes, sizeof(bytes), 0) != sizeof(bytes))
                return -errno ?: -EIO;
        *ret = hexmem(bytes, sizeof(bytes));
        return *ret ? 0 : -ENOMEM;
}

int transaction_init(Transaction *t, const char *journal_dir, const char *description) {
        *t = (Transaction) {};

        if (journal_dir) {
                t->journal_dir = strdup(journal_dir);
                if (!t->journal_dir)
                        return -ENOMEM;
        }
        t->description = strdup(strempty(description));
        if (!t->description)
                return -ENOMEM;
        if (getrandom(t->key, sizeof(t->key), 0) != sizeof(t->key))
                return -errno ?: -EIO;
        return random_id(&t->id);
}

static void steps_free(TransactionStep *steps, size_t n) {
        for (size_t i = 0; i < n; i++)
                transaction_step_done(&steps[i]);
        free(steps);
}

void transaction_done(Transaction *t) {
        steps_free(t->steps, t->n_steps);
        t->steps = NULL;
        t->n_steps = 0;
        portable_changes_done(&t->changes);
        t->journal_dir = mfree(t->journal_dir);
        t->id = mfree(t->id);
        t->description = mfree(t->description);
        t->existing_dirs = strv_free(t->existing_dirs);
}

/* ---------------------------------------------------------------------------------- planning */

/* The latest planned step that decides what is at path (RMDIR only acts at commit). */
static const TransactionStep *planned_step(const Transaction *t, const char *path) {
        for (size_t i = t->n_steps; i > 0; i--) {
                const TransactionStep *s = &t->steps[i - 1];

                if (s->kind != STEP_RMDIR && streq(s->path, path))
                        return s;
        }
        return NULL;
}

int transaction_lstat(Transaction *t, const char *path, struct stat *ret) {
        const TransactionStep *s = planned_step(t, path);

        if (!s)
                return RET_NERRNO(lstat(path, ret));

        *ret = (struct stat) {};
        switch (s->kind) {
        case STEP_MKDIR:
                ret->st_mode = S_IFDIR | s->mode;
                return 0;
        case STEP_CREATE:
                ret->st_mode = (s->target ? S_IFLNK : S_IFREG) | s->mode;
                return 0;
        default:
                return -ENOENT;
        }
}

static char *hidden_path(Transaction *t, const char *path) {
        _cleanup_free_ char *dir = path_dirname(path);
        char *p;

        if (!dir)
                return NULL;
        /* The name need not say what it stands for (the journal does), and must fit in NAME_MAX
         * whatever the original's length. */
        if (asprintf(&p, "%s/" TRANSACTION_HIDDEN_PREFIX "%s-%u", streq(dir, "/") ? "" : dir, t->id,
                     t->counter++) < 0)
                return NULL;
        return p;
}

/* Takes ownership of the step's allocations, on failure too. */
static int add_step(Transaction *t, TransactionStep *s) {
        TransactionStep *grown;

        if (!s->path) {
                transaction_step_done(s);
                return -ENOMEM;
        }
        grown = realloc(t->steps, sizeof(TransactionStep) * (t->n_steps + 1));
        if (!grown) {
                transaction_step_done(s);
                return -ENOMEM;
        }
        t->steps = grown;
        t->steps[t->n_steps++] = *s;
        *s = (TransactionStep) {};
        return 0;
}

int transaction_mkdir(Transaction *t, const char *path, mode_t mode) {
        _cleanup_free_ char *copy = strdup(path);
        bool created = false;
        int r;

        if (!copy)
                return -ENOMEM;
        if (t->executed)
                return -EBUSY;

        /* Component by component, so that only what did not exist is created, and undone. */
        for (char *p = copy + 1;; p++) {
                bool last = *p == '\0';
                struct stat st;

                if (*p != '/' && !last)
                        continue;
                *p = '\0';

                /* Each prefix is looked at once per plan: the drop-in directories of every unit
                 * share all of theirs. */
                if (strv_contains(t->existing_dirs, copy)) {
                        created = false;
                        if (last)
                                break;
                        *p = '/';
                        continue;
                }

                r = transaction_lstat(t, copy, &st);
                if (r == -ENOENT) {
                        TransactionStep s = { .kind = STEP_MKDIR, .path = strdup(copy), .mode = mode };

                        r = add_step(t, &s);
                        if (r < 0)
                                return r;
                        created = true;
                } else if (r < 0)
                        return r;
                else if (!S_ISDIR(st.st_mode))
                        return -ENOTDIR;
                else {
                        created = false;
                        if (!planned_step(t, copy)) {
                                r = strv_extend(&t->existing_dirs, copy);
                                if (r < 0)
                                        return r;
                        }
                }

                if (last)
                        break;
                *p = '/';
        }

        return created ? portable_changes_add(&t->changes, PORTABLE_MKDIR, path, NULL) : 0;
}

/* Checks that a file may go to path and plans the backup of what is there, if anything. */
static int plan_target(Transaction *t, const char *path, bool replace, char **ret_backup) {
        _cleanup_free_ char *parent = path_dirname(path);
        struct stat st;
        int r;

        *ret_backup = NULL;
        if (!parent)
                return -ENOMEM;

        r = transaction_lstat(t, parent, &st);
        if (r < 0)
                return r;
        if (!S_ISDIR(st.st_mode))
                return -ENOTDIR;

        r = transaction_lstat(t, path, &st);
        if (r == -ENOENT)
                return 0;
        if (r < 0)
                return r;
        if (S_ISDIR(st.st_mode))
                return -EISDIR;
        if (!replace)
                return -EEXIST;

        /* Whatever is there then, on disk now or put there by an earlier step, moves aside. */
        *ret_backup = hidden_path(t, path);
        return *ret_backup ? 0 : -ENOMEM;
}

static int plan_create(Transaction *t, const char *path, const char *target, const void *data, size_t size,
                       mode_t mode, bool replace) {
        TransactionStep s = { .kind = STEP_CREATE, .mode = mode, .size = size };
        int r;

        if (t->executed)
                return -EBUSY;

        r = plan_target(t, path, replace, &s.backup);
        if (r < 0)
                return r;

        s.path = strdup(path);
        s.temp = hidden_path(t, path);
        if (target)
                s.target = strdup(target);
        else {
                s.data = malloc(size ?: 1);
                if (s.data)
                        memcpy(s.data, data, size);
                s.digest = siphash24(data, size, t->key);
                s.digest_known = true;
        }
        if (!s.temp || (target ? !s.target : !s.data)) {
                transaction_step_done(&s);
                return -ENOMEM;
        }
        return add_step(t, &s);
}

int transaction_write_file(Transaction *t, const char *path, const void *data, size_t size, mode_t mode,
                           bool replace, PortableChangeType type, const char *source) {
        int r;

        r = plan_create(t, path, NULL, data, size, mode, replace);
        if (r < 0)
                return r;
        return portable_changes_add(&t->changes, type, path, source);
}

int transaction_symlink(Transaction *t, const char *path, const char *target, bool replace) {
        int r;

        r = plan_create(t, path, target, NULL, 0, 0777, replace);
        if (r < 0)
                return r;
        return portable_changes_add(&t->changes, PORTABLE_SYMLINK, path, target);
}

int transaction_symlink_marked(Transaction *t, const char *path, const char *target) {
        int r;

        r = plan_create(t, path, target, NULL, 0, 0777, /* replace= */ false);
        if (r < 0)
                return r;
        t->steps[t->n_steps - 1].mark = true;
        return portable_changes_add(&t->changes, PORTABLE_SYMLINK, path, target);
}

bool symlink_is_marked(const char *path) {
        char value[8];

        return lgetxattr(path, TRANSACTION_LINK_MARK, value, sizeof(value)) == 1 && value[0] == '1';
}

static int plan_removal(Transaction *t, const char *path, bool tree) {
        TransactionStep s = { .kind = tree ? STEP_REMOVE_TREE : STEP_REMOVE };
        struct stat st;
        int r;

        if (t->executed)
                return -EBUSY;

        r = transaction_lstat(t, path, &st);
        if (r < 0)
                return r;
        if (!tree && S_ISDIR(st.st_mode))
                return -EISDIR;
        if (tree) {
                _cleanup_free_ char *mounted = NULL;

                /* A tree planned in this transaction would go at once with what was planned
                 * into it. */
                if (!S_ISDIR(st.st_mode) || planned_step(t, path))
                        return -ENOTDIR;
                /* What is mounted inside is not the tree's, and the removal would stop there
                 * after the commit point: refused while nothing has changed. */
                r = find_mount_below(path, &mounted);
                if (r != 0)
                        return r < 0 ? r : -EBUSY;
        }

        s.path = strdup(path);
        s.backup = hidden_path(t, path);
        if (!s.backup) {
                transaction_step_done(&s);
                return -ENOMEM;
        }
        r = add_step(t, &s);
        if (r < 0)
                return r;
        return portable_changes_add(&t->changes, PORTABLE_UNLINK, path, NULL);
}

int transaction_remove(Transaction *t, const char *path) {
        return plan_removal(t, path, /* tree= */ false);
}

int transaction_remove_tree(Transaction *t, const char *path) {
        return plan_removal(t, path, /* tree= */ true);
}

int transaction_remove_dir_if_empty(Transaction *t, const char *path) {
        TransactionStep s = { .kind = STEP_RMDIR, .path = strdup(path) };

        if (t->executed) {
                transaction_step_done(&s);
                return -EBUSY;
        }
        return add_step(t, &s);
}

/* --------------------------------------------------------------------------------- execution */

static const TransactionStep *predecessor_of(const TransactionStep *steps, size_t i) {
        for (size_t j = i; j > 0; j--)
                if (steps[j - 1].kind != STEP_RMDIR && streq(steps[j - 1].path, steps[i].path))
                        return &steps[j - 1];
        return NULL;
}

/* Every step is tried; the first error is returned. */
static int undo_steps(TransactionStep *steps, size_t n, const uint8_t *key) {
        int r = 0;

        for (size_t i = n; i > 0; i--) {
                int k = transaction_step_undo(&steps[i - 1], predecessor_of(steps, i - 1), key);

                if (k < 0 && r == 0)
                        r = k;
        }
        return r;
}

/* Deletes the hidden files; the RMDIR steps that removed their directory are reported through
 * changes (may be NULL). Returns the first error, after trying every step. */
static int cleanup_steps(TransactionStep *steps, size_t n, PortableChanges *changes) {
        int r = 0;

        for (size_t i = 0; i < n; i++) {
                int k = transaction_step_cleanup(&steps[i]);

                if (k > 0 && changes)
                        k = portable_changes_add(changes, PORTABLE_UNLINK, steps[i].path, NULL);
                if (k < 0 && r == 0)
                        r = k;
        }
        return r;
}

static int steps_dirs(const TransactionStep *steps, size_t n, char ***ret) {
        _cleanup_strv_free_ char **dirs = NULL;
        int r;

        for (size_t i = 0; i < n; i++) {
                r = transaction_step_dirs(&steps[i], &dirs);
                if (r < 0)
                        return r;
        }
        *ret = TAKE_PTR(dirs);
        return 0;
}

/* Makes the applied steps durable: the contents of every file they wrote and the entries of every
 * directory they changed, and nothing else of the file systems involved. */
static int sync_steps(const TransactionStep *steps, size_t n, char * const *dirs) {
        _cleanup_strv_free_ char **files = NULL;
        int r;

        for (size_t i = 0; i < n; i++) {
                r = transaction_step_files(&steps[i], &files);
                if (r < 0)
                        return r;
        }
        r = fsync_paths(files, dirs);
        return r < 0 ? r : 0;
}

/* After an undo or a cleanup: only directory entries changed (renames back, unlinks). */
static int sync_dirs(char * const *dirs) {
        int r = fsync_paths(/* files= */ NULL, dirs);
        return r < 0 ? r : 0;
}

/* The journal's directory, made if missing. A directory made here is made durable too, with
 * every directory above it (only ever the first time): else a power loss could take the journal
 * away with its directory, after the changes it describes reached the disk. */
static int prepare_journal_dir(const char *dir) {
        _cleanup_strv_free_ char **ancestors = NULL;
        struct stat st;
        int r;

        if (stat(dir, &st) >= 0)
                return S_ISDIR(st.st_mode) ? 0 : -ENOTDIR;
        if (errno != ENOENT)
                return -errno;

        r = mkdir_p(dir, 0755, 0700);
        if (r < 0)
                return r;
        for (const char *p = dir; !streq(p, "/"); p = ancestors[strv_length(ancestors) - 1]) {
                r = strv_consume(&ancestors, path_dirname(p));
                if (r < 0)
                        return r;
        }
        r = fsync_paths(/* files= */ NULL, ancestors);
        return r < 0 ? r : 0;
}

/* Undoes what was applied and drops the journal. The journal goes only once the old state is
 * back and on disk: otherwise it stays, so that the next recovery (the daemon's next start, a
 * repair) tries again, and the hidden backups it names are not taken for orphans. */
static int abort_applied(Transaction *t, char * const *dirs) {
        int r;

        r = undo_steps(t->steps, t->n_applied, t->key);
        t->n_applied = 0;
        if (!t->journal_dir)
                return r;
        if (r >= 0)
                r = sync_dirs(dirs);
        if (r >= 0)
                r = transaction_journal_remove(t->journal_dir, t->id, /* sync= */ true);
        return r;
}

/* What the caller is told when undoing failed too (r): what went wrong first (cause, may be
 * NULL), and where the journal that will finish the undo is. */
#define JOURNAL_KEPT \
        "what is not undone stays, and so does the journal %s/%s" TRANSACTION_JOURNAL_SUFFIX \
        ", from which 'portablectl repair' or the next start of the daemon undoes the rest."

static int undo_failed(const Transaction *t, int r, const char *cause, sd_bus_error *reterr) {
        if (cause)
                return portable_error(reterr, r, NULL, "%s; undoing the changes made so far failed too (%m): " JOURNAL_KEPT,
                                      cause, strna(t->journal_dir), strna(t->id));
        return portable_error(reterr, r, NULL, "Undoing the changes made so far failed (%m): " JOURNAL_KEPT,
                              strna(t->journal_dir), strna(t->id));
}

/* Undoes what was applied after error r, whose description is in reterr: if that fails too,
 * reterr says so instead. Returns r. */
static int abort_after(Transaction *t, char * const *dirs, int r, sd_bus_error *reterr) {
        _cleanup_free_ char *cause = NULL;
        int k;

        k = abort_applied(t, dirs);
        if (k >= 0)
                return r;
        if (reterr && sd_bus_error_is_set(reterr)) {
                cause = strdup(reterr->message ?: reterr->name);
                sd_bus_error_free(reterr);
        }
        (void) undo_failed(t, k, cause, reterr);
        return r;
}

/* For "Failed to %s '%s'". */
static const char *step_verb(StepKind kind) {
        switch (kind) {
        case STEP_MKDIR:
                return "create directory";
        case STEP_REMOVE:
        case STEP_REMOVE_TREE:
                return "remove";
        default:
                return "write";
        }
}

int transaction_apply(Transaction *t, sd_bus_error *reterr) {
        _cleanup_strv_free_ char **dirs = NULL;
        int r;

        if (t->executed)
                return -EBUSY;
        t->executed = true;
        if (t->n_steps == 0)
                return 0;

        r = steps_dirs(t->steps, t->n_steps, &dirs);
        if (r < 0)
                return r;

        /* Barrier 1: the journal is on disk before anything it describes. */
        if (t->journal_dir) {
                r = prepare_journal_dir(t->journal_dir);
                if (r >= 0)
                        r = transaction_journal_save(t->journal_dir, t->id, t->key, t->description,
                                                     /* committing= */ false, t->steps, t->n_steps);
                if (r < 0)
                        return portable_error(reterr, r, NULL, "Failed to record the plan in %s: %m", t->journal_dir);
        }

        for (; t->n_applied < t->n_steps; t->n_applied++) {
                r = transaction_step_apply(&t->steps[t->n_applied]);
                if (r < 0) {
                        const TransactionStep *s = &t->steps[t->n_applied];

                        if (r == -ESTALE || r == -EEXIST)
                                (void) portable_error(reterr, r, NULL,
                                                      "'%s' changed while the operation was being prepared, nothing was changed; try again.",
                                                      s->path);
                        else
                                (void) portable_error(reterr, r, NULL, "Failed to %s '%s': %m", step_verb(s->kind),
                                                      s->path);
                        t->n_applied++; /* the failed step may have half happened */
                        return abort_after(t, dirs, r, reterr);
                }
        }

        /* Barrier 2: every effect is on disk before the commit point can be. */
        r = sync_steps(t->steps, t->n_steps, dirs);
        if (r < 0) {
                (void) portable_error(reterr, r, NULL, "Failed to make the changes durable: %m");
                return abort_after(t, dirs, r, reterr);
        }
        return 0;
}

int transaction_commit(Transaction *t, sd_bus_error *reterr) {
        _cleanup_strv_free_ char **dirs = NULL;
        int r;

        if (!t->executed || t->committed)
                return t->committed ? 0 : -EINVAL;
        if (t->n_applied < t->n_steps)
                return -EINVAL; /* the apply failed and was undone: nothing to commit */
        t->committed = true;
        if (t->n_steps == 0)
                return 0;

        r = steps_dirs(t->steps, t->n_steps, &dirs);
        if (r < 0)
                return r;

        /* Barrier 3: the commit point. */
        if (t->journal_dir) {
                r = transaction_journal_commit(t->journal_dir, t->id);
                if (r < 0) {
                        (void) portable_error(reterr, r, NULL, "Failed to commit: %m");
                        return abort_after(t, dirs, r, reterr);
                }
        }

        /* From here on the operation has happened; what is left is tidying up, which recovery
         * would finish if we died now. */
        r = cleanup_steps(t->steps, t->n_steps, &t->changes);
        if (r < 0)
                /* A backup we cannot delete: the new state is in place, but the journal stays so
                 * that the next start (or a repair) removes what is left. */
                return portable_error(reterr, r, NULL,
                                      "The operation was applied, but a hidden backup file could not be removed: %m");

        /* No barrier: the cleanup need not be durable. Until the journal is gone from the disk,
         * recovery finishes the cleanup; and were the journal's removal to reach the disk before
         * a backup's (file systems that do not keep the order of metadata changes), repair
         * removes the hidden file left behind. */
        if (t->journal_dir)
                r = transaction_journal_remove(t->journal_dir, t->id, /* sync= */ false);
        if (r < 0)
                return portable_error(reterr, r, NULL, "The operation was applied, but finishing it failed: %m");
        return 0;
}

int transaction_undo_changes(const Transaction *t, PortableChanges *ret) {
        _cleanup_(portable_changes_done) PortableChanges c = {};
        int r = 0;

        for (size_t i = t->n_applied; i > 0; i--) {
                const TransactionStep *s = &t->steps[i - 1];

                switch (s->kind) {
                case STEP_MKDIR:
                        r = portable_changes_add(&c, PORTABLE_UNLINK, s->path, NULL);
                        break;
                case STEP_CREATE:
                        r = portable_changes_add(&c, s->backup ? PORTABLE_WRITE : PORTABLE_UNLINK, s->path, NULL);
                        break;
                case STEP_REMOVE:
                case STEP_REMOVE_TREE:
                        r = portable_changes_add(&c, PORTABLE_WRITE, s->path, NULL);
                        break;
                default:
                        break;
                }
                if (r < 0)
                        return r;
        }
        *ret = c;
        c = (PortableChanges) {};
        return 0;
}

int transaction_abort(Transaction *t, sd_bus_error *reterr) {
        _cleanup_strv_free_ char **dirs = NULL;
        int r;

        if (!t->executed || t->committed)
                return 0;
        t->committed = true; /* nothing more to do with it either way */
        (void) steps_dirs(t->steps, t->n_steps, &dirs);
        r = abort_applied(t, dirs);
        return r < 0 ? undo_failed(t, r, /* cause= */ NULL, reterr) : 0;
}

int transaction_execute(Transaction *t, sd_bus_error *reterr) {
        int r;

        /* Applied already (reattach applies first and commits later): what is left is the commit,
         * which is a no-op once done. */
        if (!t->executed) {
                r = transaction_apply(t, reterr);
                if (r < 0)
                        return r;
        }
        return transaction_commit(t, reterr);
}

int transaction_finish(Transaction *t, int r, PortableChanges *ret_changes, sd_bus_error *reterr) {
        if (r < 0)
                return r;

        r = transaction_execute(t, reterr);
        if (r < 0)
                return r;

        *ret_changes = t->changes;
        t->changes = (PortableChanges) {};
        return 0;
}

/* ---------------------------------------------------------------------------------- recovery */

static int recover_one(const char *dir, const char *filename, char ***log) {
        _cleanup_(transaction_journal_done) TransactionJournal j = {};
        _cleanup_strv_free_ char **dirs = NULL;
        char *line = NULL;
        int r;

        r = transaction_journal_load(dir, filename, &j);
        if (r < 0) {
                if (asprintf(&line, "Journal %s/%s cannot be read (%s); left in place, nothing touched.", dir,
                             filename, strerror(-r)) >= 0)
                        (void) strv_consume(log, line);
                return r;
        }

        r = steps_dirs(j.steps, j.n_steps, &dirs);
        if (r < 0)
                return r;

        /* Whatever fails, the journal stays for the next attempt: it names the hidden files,
         * which are not orphans while it does. */
        if (j.committing)
                r = cleanup_steps(j.steps, j.n_steps, /* changes= */ NULL);
        else
                r = undo_steps(j.steps, j.n_steps, j.has_key ? j.key : NULL);
        if (r >= 0)
                r = sync_dirs(dirs);
        if (r >= 0)
                r = transaction_journal_remove(dir, j.id, /* sync= */ true);
        if (r < 0) {
                if (asprintf(&line, "Interrupted operation '%s' (%s) could not be %s (%s); journal %s/%s left in place for the next attempt.",
                             j.description, j.id, j.committing ? "finished" : "rolled back", strerror(-r), dir,
                             filename) >= 0)
                        (void) strv_consume(log, line);
                return r;
        }

        if (asprintf(&line, "Interrupted operation '%s' (%s) %s.", j.description, j.id,
                     j.committing ? "had been applied: finished removing its backups"
                                  : "had not been applied completely: rolled back to the previous state") < 0)
                return -ENOMEM;
        r = strv_consume(log, line);
        /* The administrator may want to know why a unit file is there that the operation
         * planned to write. */
        for (size_t i = 0; r >= 0 && i < j.n_steps; i++)
                if (j.steps[i].left_alone) {
                        if (asprintf(&line, "Interrupted operation '%s' (%s): left %s in place, which it did not write.",
                                     j.description, j.id, j.steps[i].path) < 0)
                                return -ENOMEM;
                        r = strv_consume(log, line);
                }
        return r;
}

int transaction_recover(const char *journal_dir, char ***ret_log) {
        _cleanup_strv_free_ char **log = NULL, **names = NULL;
        _cleanup_closedir_ DIR *d = NULL;
        struct dirent *de;
        int r = 0, n = 0;

        d = opendir(journal_dir);
        if (!d) {
                if (ret_log)
                        *ret_log = NULL;
                return errno == ENOENT ? 0 : -errno;
        }

        while ((de = readdir(d))) {
                if (de->d_name[0] == '.' && startswith(de->d_name, ".#"))
                        /* A journal update that never got renamed into place. */
                        (void) unlinkat(dirfd(d), de->d_name, 0);
                if (transaction_journal_parse_name(de->d_name, NULL, NULL) < 0)
                        continue;
                if (strv_extend(&names, de->d_name) < 0)
                        return -ENOMEM;
        }
        /* Independent transactions touch disjoint paths; a stable order keeps logs comparable. */
        strv_sort(names);

        STRV_FOREACH(name, names) {
                int k = recover_one(journal_dir, *name, &log);

                if (k < 0 && r == 0)
                        r = k;
                n++;
        }

        if (ret_log)
                *ret_log = TAKE_PTR(log);
        return r < 0 ? r : n;
}
