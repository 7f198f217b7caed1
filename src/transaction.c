/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fileio.h"
#include "macro.h"
#include "path-util.h"
#include "transaction.h"

typedef enum UndoKind {
        UNDO_UNLINK,        /* we created path: remove it */
        UNDO_RMDIR,         /* we created the directory path */
        UNDO_RESTORE,       /* we moved path to backup: move it back */
        UNDO_RMDIR_PENDING, /* not an undo: a directory to remove at commit */
} UndoKind;

struct UndoStep {
        UndoKind kind;
        char *path;
        char *backup;
};

void transaction_done(Transaction *t) {
        for (size_t i = 0; i < t->n_undo; i++) {
                free(t->undo[i].path);
                free(t->undo[i].backup);
        }
        t->undo = mfree(t->undo);
        t->n_undo = 0;
        portable_changes_done(&t->changes);
}

static int undo_push(Transaction *t, UndoKind kind, const char *path, const char *backup) {
        _cleanup_free_ char *p = strdup(path), *b = backup ? strdup(backup) : NULL;
        UndoStep *grown;

        if (!p || (backup && !b))
                return -ENOMEM;

        grown = realloc(t->undo, sizeof(UndoStep) * (t->n_undo + 1));
        if (!grown)
                return -ENOMEM;
        t->undo = grown;
        t->undo[t->n_undo++] = (UndoStep) { .kind = kind, .path = TAKE_PTR(p), .backup = TAKE_PTR(b) };
        return 0;
}

static char *dirname_of(const char *path) {
        const char *last = path_last_component(path);
        size_t n = (size_t) (last - path);

        while (n > 1 && path[n - 1] == '/')
                n--;
        return strndup(path, n ?: 1);
}

static char *backup_path(Transaction *t, const char *path) {
        _cleanup_free_ char *dir = dirname_of(path);
        char *p;

        if (!dir)
                return NULL;
        /* The backup's name need not say what it was (the undo step remembers), and must fit in
         * NAME_MAX whatever the original's length. */
        if (asprintf(&p, "%s/.#portabled-%x-%x", dir, (unsigned) getpid(), t->counter++) < 0)
                return NULL;
        return p;
}

/* Moves an existing file out of the way, to be deleted at commit or restored on rollback. */
static int move_aside(Transaction *t, const char *path) {
        _cleanup_free_ char *backup = backup_path(t, path);

        if (!backup)
                return -ENOMEM;
        if (renameat2(AT_FDCWD, path, AT_FDCWD, backup, RENAME_NOREPLACE) < 0)
                return -errno;
        return undo_push(t, UNDO_RESTORE, path, backup);
}

int transaction_mkdir(Transaction *t, const char *path, mode_t mode) {
        _cleanup_free_ char *copy = strdup(path);
        bool created = false;
        int r;

        if (!copy)
                return -ENOMEM;

        /* Component by component, so that rollback removes every directory we made and nothing
         * that was there before. */
        for (char *p = copy + 1;; p++) {
                bool last = *p == '\0';

                if (*p != '/' && !last)
                        continue;
                *p = '\0';

                if (mkdir(copy, mode) >= 0) {
                        r = undo_push(t, UNDO_RMDIR, copy, NULL);
                        if (r < 0) {
                                (void) rmdir(copy);
                                return r;
                        }
                        created = true;
                } else if (errno == EEXIST)
                        created = false;
                else
                        return -errno;

                if (last)
                        break;
                *p = '/';
        }

        return created ? portable_changes_add(&t->changes, PORTABLE_MKDIR, path, NULL) : 0;
}

static int prepare_target(Transaction *t, const char *path, bool replace) {
        struct stat st;

        if (lstat(path, &st) < 0)
                return errno == ENOENT ? 0 : -errno;
        if (!replace)
                return -EEXIST;
        if (S_ISDIR(st.st_mode))
                return -EISDIR;
        return move_aside(t, path);
}

int transaction_write_file(Transaction *t, const char *path, const void *data, size_t size, mode_t mode,
                           bool replace, PortableChangeType type, const char *source) {
        _cleanup_free_ char *dir = dirname_of(path);
        int dir_fd, r;

        if (!dir)
                return -ENOMEM;

        r = prepare_target(t, path, replace);
        if (r < 0)
                return r;

        dir_fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dir_fd < 0)
                return -errno;
        r = write_file_atomic_at(dir_fd, path_last_component(path), data, size, mode, /* replace= */ false);
        (void) close(dir_fd);
        if (r < 0)
                return r;

        r = undo_push(t, UNDO_UNLINK, path, NULL);
        if (r < 0) {
                (void) unlink(path);
                return r;
        }
        return portable_changes_add(&t->changes, type, path, source);
}

int transaction_symlink(Transaction *t, const char *path, const char *target, bool replace) {
        int r;

        r = prepare_target(t, path, replace);
        if (r < 0)
                return r;

        if (symlink(target, path) < 0)
                return -errno;

        r = undo_push(t, UNDO_UNLINK, path, NULL);
        if (r < 0) {
                (void) unlink(path);
                return r;
        }
        return portable_changes_add(&t->changes, PORTABLE_SYMLINK, path, target);
}

int transaction_remove(Transaction *t, const char *path) {
        struct stat st;
        int r;

        if (lstat(path, &st) < 0)
                return -errno;
        if (S_ISDIR(st.st_mode))
                return -EISDIR;

        r = move_aside(t, path);
        if (r < 0)
                return r;
        return portable_changes_add(&t->changes, PORTABLE_UNLINK, path, NULL);
}

int transaction_remove_dir_if_empty(Transaction *t, const char *path) {
        return undo_push(t, UNDO_RMDIR_PENDING, path, NULL);
}

int transaction_commit(Transaction *t) {
        int r = 0;

        for (size_t i = 0; i < t->n_undo; i++) {
                UndoStep *s = &t->undo[i];

                if (s->kind == UNDO_RESTORE && unlink(s->backup) < 0 && errno != ENOENT && r == 0)
                        r = -errno;
        }

        /* Directories last, deepest first (they were queued parents after children). */
        for (size_t i = 0; i < t->n_undo; i++) {
                UndoStep *s = &t->undo[i];
                int k;

                if (s->kind != UNDO_RMDIR_PENDING)
                        continue;
                if (rmdir(s->path) >= 0) {
                        k = portable_changes_add(&t->changes, PORTABLE_UNLINK, s->path, NULL);
                        if (k < 0 && r == 0)
                                r = k;
                }
                /* Not empty (an admin's own drop-in, an enablement link): it stays, silently. */
        }

        for (size_t i = 0; i < t->n_undo; i++) {
                free(t->undo[i].path);
                free(t->undo[i].backup);
        }
        t->undo = mfree(t->undo);
        t->n_undo = 0;
        return r;
}

void transaction_rollback(Transaction *t) {
        for (size_t i = t->n_undo; i > 0; i--) {
                UndoStep *s = &t->undo[i - 1];

                switch (s->kind) {
                case UNDO_UNLINK:
                        (void) unlink(s->path);
                        break;
                case UNDO_RMDIR:
                        (void) rmdir(s->path);
                        break;
                case UNDO_RESTORE:
                        (void) rename(s->backup, s->path);
                        break;
                case UNDO_RMDIR_PENDING:
                        break;
                }
        }

        transaction_done(t);
}

int transaction_finish(Transaction *t, int r, PortableChanges *ret_changes) {
        if (r >= 0)
                r = transaction_commit(t);
        if (r < 0) {
                transaction_rollback(t);
                return r;
        }

        *ret_changes = t->changes;
        t->changes = (PortableChanges) {};
        return 0;
}
