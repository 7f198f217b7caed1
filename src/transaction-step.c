/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "fd-util.h"
#include "fileio.h"
#include "path-util.h"
#include "rm-rf.h"
#include "strv.h"
#include "transaction-step.h"
#include "transaction.h"

static const char *const step_kind_table[_STEP_KIND_MAX] = {
        [STEP_MKDIR] = "mkdir",
        [STEP_CREATE] = "create",
        [STEP_REMOVE] = "remove",
        [STEP_RMDIR] = "rmdir",
        [STEP_REMOVE_TREE] = "remove-tree",
};

const char *step_kind_to_string(StepKind k) {
        return k >= 0 && k < _STEP_KIND_MAX ? step_kind_table[k] : NULL;
}

StepKind step_kind_from_string(const char *s) {
        for (StepKind k = 0; k < _STEP_KIND_MAX; k++)
                if (streq_ptr(s, step_kind_table[k]))
                        return k;
        return _STEP_KIND_INVALID;
}

void transaction_step_done(TransactionStep *s) {
        free(s->path);
        free(s->temp);
        free(s->backup);
        free(s->target);
        free(s->data);
        *s = (TransactionStep) {};
}

static int write_temp_file(const TransactionStep *s) {
        _cleanup_close_ int fd = -EBADF;
        const char *p = s->data;
        size_t left = s->size;

        fd = open(s->temp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY, s->mode);
        if (fd < 0)
                return -errno;

        while (left > 0) {
                ssize_t n = write(fd, p, left);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                p += n;
                left -= (size_t) n;
        }

        /* The umask must not decide the mode of what we install. */
        if (fchmod(fd, s->mode) < 0)
                return -errno;
        return 0;
}

static int apply_create(TransactionStep *s) {
        int r;

        r = s->target ? RET_NERRNO(symlink(s->target, s->temp)) : write_temp_file(s);
        /* The mark is best effort: a file system without trusted xattrs gets an unmarked link,
         * which repair then leaves alone. */
        if (r >= 0 && s->mark)
                (void) lsetxattr(s->temp, TRANSACTION_LINK_MARK, "1", 1, 0);
        if (r < 0) {
                (void) unlink(s->temp);
                return r;
        }
        s->progress = STEP_TEMP_WRITTEN;

        if (s->backup) {
                if (renameat2(AT_FDCWD, s->path, AT_FDCWD, s->backup, RENAME_NOREPLACE) < 0)
                        /* The file we planned to replace is gone: the plan is out of date. */
                        return errno == ENOENT ? -ESTALE : -errno;
                s->progress = STEP_MOVED_ASIDE;
        }

        /* Never over something that appeared since planning. */
        if (renameat2(AT_FDCWD, s->temp, AT_FDCWD, s->path, RENAME_NOREPLACE) < 0)
                return -errno;
        s->progress = STEP_DONE;
        return 0;
}

int transaction_step_apply(TransactionStep *s) {
        switch (s->kind) {
        case STEP_MKDIR:
                if (mkdir(s->path, s->mode) < 0) {
                        struct stat st;

                        /* Someone else made it meanwhile: fine, but then it is not ours to undo. */
                        if (errno == EEXIST && stat(s->path, &st) >= 0 && S_ISDIR(st.st_mode))
                                return 0;
                        return -errno;
                }
                s->progress = STEP_DONE;
                return 0;

        case STEP_CREATE:
                return apply_create(s);

        case STEP_REMOVE:
        case STEP_REMOVE_TREE:
                if (renameat2(AT_FDCWD, s->path, AT_FDCWD, s->backup, RENAME_NOREPLACE) < 0)
                        return errno == ENOENT ? -ESTALE : -errno;
                s->progress = STEP_DONE;
                return 0;

        case STEP_RMDIR:
                /* Happens at commit, in transaction_step_cleanup(). */
                s->progress = STEP_DONE;
                return 0;

        default:
                return -EINVAL;
        }
}

static bool exists(const char *path) {
        struct stat st;
        return lstat(path, &st) >= 0;
}

static bool reached(const TransactionStep *s, StepProgress p) {
        return s->progress == STEP_PROGRESS_UNKNOWN || s->progress >= p;
}

/* Whether the file at s->path can be one s created: not if an earlier step that frees the path
 * (by moving the old file to its backup) has visibly not happened yet. */
static bool path_was_freed(const TransactionStep *predecessor) {
        if (!predecessor || !predecessor->backup)
                return true;
        return exists(predecessor->backup);
}

/* After a crash: whether the file at s->path is the one s made, rather than one that took the free
 * path since (an administrator's, a package's), which is not ours to remove. A temporary file
 * still there was never renamed into place. Journals that recorded no contents are taken at their
 * word, as they always were. */
static bool path_holds_what_step_made(const TransactionStep *s, const uint8_t *key) {
        _cleanup_close_ int fd = -EBADF;
        _cleanup_free_ char *data = NULL;
        struct stat st;
        size_t size;

        if (exists(s->temp))
                return false;
        if (s->target) {
                char target[PATH_MAX];
                ssize_t n = readlink(s->path, target, sizeof(target));

                return n >= 0 && (size_t) n < sizeof(target) && strlen(s->target) == (size_t) n &&
                       memcmp(target, s->target, n) == 0;
        }
        if (!s->digest_known || !key)
                return true;

        fd = open(s->path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY);
        if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || (uint64_t) st.st_size != s->size)
                return false;
        if (read_full_fd(fd, s->size, &data, &size) < 0 || size != s->size)
                return false;
        return siphash24(data, size, key) == s->digest;
}

/* Whether a call that puts the old state back failed for real: what it should remove being gone
 * already is not a failure. */
static int undo_result(int r) {
        return r < 0 && errno != ENOENT ? -errno : 0;
}

int transaction_step_undo(TransactionStep *s, const TransactionStep *predecessor, const uint8_t *key) {
        bool freed = true, ours = true;
        int r = 0, k;

        switch (s->kind) {
        case STEP_MKDIR:
                /* Only removes it if nothing else was put there meanwhile; an empty directory
                 * left over is harmless, so a failure is not reported. */
                if (reached(s, STEP_DONE))
                        (void) rmdir(s->path);
                break;

        case STEP_CREATE:
                /* Looked at before the temporary file goes, which tells that the rename never
                 * happened. */
                if (s->progress == STEP_PROGRESS_UNKNOWN && !s->backup) {
                        freed = path_was_freed(predecessor);
                        ours = freed && path_holds_what_step_made(s, key);
                }
                if (reached(s, STEP_TEMP_WRITTEN))
                        r = undo_result(unlink(s->temp));
                if (s->backup) {
                        /* The backup is the old file: put it back, over the new one if that got
                         * in place. If it does not exist, the old file never moved. */
                        if (reached(s, STEP_MOVED_ASIDE) && exists(s->backup)) {
                                k = undo_result(rename(s->backup, s->path));
                                r = r < 0 ? r : k;
                        }
                } else if (!ours)
                        /* Unless it is still the old file, which a step before had to move. */
                        s->left_alone = freed && exists(s->path);
                else if (reached(s, STEP_DONE)) {
                        k = undo_result(unlink(s->path));
                        r = r < 0 ? r : k;
                }
                break;

        case STEP_REMOVE:
        case STEP_REMOVE_TREE:
                if (reached(s, STEP_DONE) && exists(s->backup))
                        r = undo_result(rename(s->backup, s->path));
                break;

        case STEP_RMDIR:
        default:
                break;
        }

        /* A step not undone in full stays as it is, for the next attempt. */
        if (r >= 0 && s->progress != STEP_PROGRESS_UNKNOWN)
                s->progress = STEP_NOT_STARTED;
        return r;
}

static int unlink_if_exists(const char *path) {
        if (!path || unlink(path) >= 0 || errno == ENOENT)
                return 0;
        return -errno;
}

static int rm_rf_if_exists(const char *path) {
        _cleanup_free_ char *dir = path_dirname(path);
        _cleanup_close_ int dir_fd = -EBADF;

        if (!dir)
                return -ENOMEM;
        dir_fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dir_fd < 0)
                return errno == ENOENT ? 0 : -errno;
        return rm_rf_beneath(dir_fd, path_last_component(path));
}

int transaction_step_cleanup(TransactionStep *s) {
        int r;

        switch (s->kind) {
        case STEP_CREATE:
                /* Renamed into place by us: no temporary file is left. (After a crash the
                 * progress is unknown, and it is looked for.) */
                if (s->progress != STEP_DONE) {
                        r = unlink_if_exists(s->temp);
                        if (r < 0)
                                return r;
                }
                return unlink_if_exists(s->backup);

        case STEP_REMOVE:
                return unlink_if_exists(s->backup);

        case STEP_REMOVE_TREE:
                return rm_rf_if_exists(s->backup);

        case STEP_RMDIR:
                if (rmdir(s->path) >= 0)
                        return 1;
                /* Not empty (an admin's own drop-in, an enablement link) or already gone: it
                 * stays, silently. */
                return 0;

        default:
                return 0;
        }
}

int transaction_step_dirs(const TransactionStep *s, char ***dirs) {
        _cleanup_free_ char *parent = path_dirname(s->path);
        int r;

        if (!parent)
                return -ENOMEM;
        r = strv_extend_unique(dirs, parent);
        if (r >= 0 && (s->kind == STEP_MKDIR || s->kind == STEP_RMDIR))
                r = strv_extend_unique(dirs, s->path);
        return r < 0 ? r : 0;
}

int transaction_step_files(const TransactionStep *s, char ***files) {
        if (s->kind != STEP_CREATE || s->target || s->progress != STEP_DONE)
                return 0;
        return strv_extend(files, s->path);
}
