/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "attached-index.h"
#include "dropin.h"
#include "fd-util.h"
#include "image-copy.h"
#include "path-util.h"
#include "portable-error.h"
#include "portable.h"
#include "repair.h"
#include "strv.h"
#include "transaction-journal.h"
#include "unit-match.h"

#define OLD_TEMP_PREFIX ".#portable"
#define OLD_TEMP_HEX 12

static bool is_our_hidden_name(const char *name, char * const *busy_ids) {
        const char *p;

        if ((p = startswith(name, TRANSACTION_HIDDEN_PREFIX) ? name + strlen(TRANSACTION_HIDDEN_PREFIX) : NULL)) {
                /* A transaction whose journal is still there (one recovery could not read) owns
                 * its files: leave them to whoever looks at that journal. */
                STRV_FOREACH(id, (char **) busy_ids)
                        if (strncmp(p, *id, strlen(*id)) == 0 && p[strlen(*id)] == '-')
                                return false;
                return true;
        }

        if (!startswith(name, OLD_TEMP_PREFIX) || strlen(name) != strlen(OLD_TEMP_PREFIX) + OLD_TEMP_HEX)
                return false;
        for (p = name + strlen(OLD_TEMP_PREFIX); *p; p++)
                if (!strchr("0123456789abcdef", *p))
                        return false;
        return true;
}

/* The journals left in the host's persistent and runtime journal directories (normally none,
 * after recovery): their ids, and their paths if paths is not NULL. */
static int host_journals(const Host *host, char ***ids, char ***paths) {
        for (int runtime = 0; runtime <= 1; runtime++) {
                _cleanup_free_ char *dir = host_journal_dir(host, runtime);
                _cleanup_closedir_ DIR *d = NULL;
                struct dirent *de;
                int r;

                if (!dir)
                        return -ENOMEM;
                d = opendir(dir);
                if (!d) {
                        if (errno == ENOENT)
                                continue;
                        return -errno;
                }
                while ((de = readdir(d))) {
                        char *id = NULL;

                        if (transaction_journal_parse_name(de->d_name, &id, NULL) < 0)
                                continue;
                        r = strv_consume(ids, id);
                        if (r >= 0 && paths)
                                r = strv_consume(paths, path_join(dir, de->d_name));
                        if (r < 0)
                                return r;
                }
        }
        return 0;
}

int portable_refuse_if_unrecovered(const Host *host, char * const *live_ids, sd_bus_error *reterr) {
        _cleanup_strv_free_ char **ids = NULL, **paths = NULL;
        int r;

        r = host_journals(host, &ids, &paths);
        if (r < 0)
                return portable_error(reterr, r, NULL, "Failed to look for unfinished operations: %m");
        for (size_t i = 0; ids && ids[i]; i++)
                if (!strv_contains(live_ids, ids[i]))
                        return portable_error(reterr, EBUSY, NULL,
                                              "An earlier operation was neither finished nor undone in full (journal %s); nothing is changed until 'portablectl repair' has recovered it.",
                                              paths[i]);
        return 0;
}

static int plan_hidden_files(Transaction *t, const char *dir, char * const *busy_ids) {
        _cleanup_closedir_ DIR *d = opendir(dir);
        struct dirent *de;
        int r;

        if (!d)
                return errno == ENOENT || errno == ENOTDIR ? 0 : -errno;
        while ((de = readdir(d))) {
                _cleanup_free_ char *path = NULL;
                struct stat st;

                if (!is_our_hidden_name(de->d_name, busy_ids) || startswith(de->d_name, IMAGE_COPY_TEMP_PREFIX))
                        continue; /* the latter: image_copy_remove_leftovers() */
                if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
                        continue;
                path = path_join(dir, de->d_name);
                if (!path)
                        return -ENOMEM;
                /* A directory: the backup of a tree a transaction removed (transaction.h). */
                r = S_ISDIR(st.st_mode) ? transaction_remove_tree(t, path) : transaction_remove(t, path);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* A drop-in directory without its unit, holding nothing but what attach puts there. Returns 1 if
 * its removal was planned. */
static int plan_orphaned_dropins(Transaction *t, const char *attached_dir, const char *name, char * const *busy_ids) {
        _cleanup_free_ char *dir = path_join(attached_dir, name), *unit = strndup(name, strlen(name) - 2);
        _cleanup_strv_free_ char **marker = NULL, **files = NULL;
        _cleanup_close_ int attached_fd = -EBADF;
        _cleanup_closedir_ DIR *d = NULL;
        struct dirent *de;
        struct stat st;
        int r;

        if (!dir || !unit)
                return -ENOMEM;
        if (!unit_name_is_valid(unit, UNIT_NAME_ANY))
                return 0;

        attached_fd = open(attached_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (attached_fd < 0)
                return -errno;
        if (fstatat(attached_fd, unit, &st, AT_SYMLINK_NOFOLLOW) >= 0 || errno != ENOENT)
                return 0; /* the unit is there: an attachment, not an orphan */
        r = dropin_read_marker(attached_fd, unit, &marker);
        if (r <= 0)
                return r; /* without our marker it is not provably ours */

        d = opendir(dir);
        if (!d)
                return -errno;
        while ((de = readdir(d))) {
                if (streq(de->d_name, ".") || streq(de->d_name, ".."))
                        continue;
                if (!streq(de->d_name, DROPIN_PORTABLE_NAME) && !streq(de->d_name, DROPIN_PROFILE_NAME) &&
                    !is_our_hidden_name(de->d_name, busy_ids))
                        return 0; /* somebody else's drop-in is in there */
                r = strv_consume(&files, path_join(dir, de->d_name));
                if (r < 0)
                        return r;
        }

        STRV_FOREACH(f, files) {
                r = transaction_remove(t, *f);
                if (r < 0)
                        return r;
        }
        r = transaction_remove_dir_if_empty(t, dir);
        return r < 0 ? r : 1;
}

static int plan_attached_dir(Transaction *t, const char *dir, char * const *busy_ids) {
        _cleanup_closedir_ DIR *d = opendir(dir);
        struct dirent *de;
        int r;

        if (!d)
                return errno == ENOENT ? 0 : -errno;

        r = plan_hidden_files(t, dir, busy_ids);
        if (r < 0)
                return r;

        while ((de = readdir(d))) {
                _cleanup_free_ char *sub = NULL;
                struct stat st;

                if (de->d_name[0] == '.' || !endswith(de->d_name, ".d"))
                        continue;
                if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISDIR(st.st_mode))
                        continue;

                sub = path_join(dir, de->d_name);
                if (!sub)
                        return -ENOMEM;
                r = plan_orphaned_dropins(t, dir, de->d_name, busy_ids);
                if (r < 0)
                        return r;
                /* Hidden files inside drop-in directories that stay. */
                if (r == 0) {
                        r = plan_hidden_files(t, sub, busy_ids);
                        if (r < 0)
                                return r;
                }
        }
        return 0;
}

/* Whether an attachment that stays (the plan may already remove orphaned drop-ins) refers to
 * target. */
static bool image_is_referenced(Transaction *t, const Host *host, const AttachedIndex *idx, const char *target) {
        for (size_t i = 0; i < idx->n_units; i++) {
                const AttachedUnit *u = &idx->units[i];
                _cleanup_free_ char *dir = host_attached_dir(host, u->runtime), *marker = NULL;
                struct stat st;

                if (!strv_contains(u->images, target))
                        continue;
                if (!dir || asprintf(&marker, "%s/%s.d/" DROPIN_PORTABLE_NAME, dir, u->name) < 0)
                        return true; /* when in doubt, it is referenced */
                if (transaction_lstat(t, marker, &st) >= 0)
                        return true;
        }
        return false;
}

/* A copy --copy=mixed made of an image that no attachment refers to any more (systemd's detach of
 * an attachment of ours leaves it). A tree with something mounted inside stays: that is not ours. */
static int plan_orphaned_copy(Transaction *t, const Host *host, const AttachedIndex *idx, const char *path) {
        _cleanup_free_ char *source = image_copy_source(path);
        struct stat st;
        int r;

        if (!source || image_is_referenced(t, host, idx, source))
                return 0;
        if (lstat(path, &st) < 0)
                return 0;
        r = S_ISDIR(st.st_mode) ? transaction_remove_tree(t, path) : transaction_remove(t, path);
        return r == -EBUSY ? 0 : r;
}

static int plan_links(Transaction *t, const Host *host, const char *dir, const AttachedIndex *idx,
                      char * const *busy_ids) {
        _cleanup_closedir_ DIR *d = opendir(dir);
        struct dirent *de;
        int r;

        if (!d)
                return errno == ENOENT ? 0 : -errno;

        r = plan_hidden_files(t, dir, busy_ids);
        if (r < 0)
                return r;

        while ((de = readdir(d))) {
                _cleanup_free_ char *path = NULL;
                char target[PATH_MAX];
                ssize_t n;

                if (de->d_name[0] == '.')
                        continue;
                path = path_join(dir, de->d_name);
                if (!path)
                        return -ENOMEM;
                if (!symlink_is_marked(path)) {
                        /* Else not provably ours: an administrator's way to name an image. */
                        r = plan_orphaned_copy(t, host, idx, path);
                        if (r < 0)
                                return r;
                        continue;
                }
                n = readlink(path, target, sizeof(target) - 1);
                if (n <= 0)
                        continue;
                target[n] = '\0';
                if (image_is_referenced(t, host, idx, target))
                        continue;
                r = transaction_remove(t, path);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* What recovery would do, for a dry run: each journal it would process. */
static int list_journals(const Host *host, PortableChanges *changes) {
        _cleanup_strv_free_ char **ids = NULL, **paths = NULL;
        int r;

        r = host_journals(host, &ids, &paths);
        if (r < 0)
                return r;
        STRV_FOREACH(path, paths) {
                r = portable_changes_add(changes, PORTABLE_UNLINK, *path, NULL);
                if (r < 0)
                        return r;
        }
        return 0;
}

int portable_remove_copy_leftovers(const Host *host, bool dry_run, PortableChanges *changes) {
        int r = 0;

        for (int runtime = 0; runtime <= 1; runtime++) {
                _cleanup_free_ char *links = host_image_link_dir(host, runtime);
                int k;

                if (!links)
                        return -ENOMEM;
                k = image_copy_remove_leftovers(links, dry_run, changes);
                if (k < 0 && r == 0)
                        r = k;
        }
        return r;
}

int portable_repair(const Host *host, bool dry_run, PortableChanges *ret_changes, sd_bus_error *reterr) {
        _cleanup_(transaction_done) Transaction t = {};
        _cleanup_(attached_index_done) AttachedIndex idx = {};
        _cleanup_(portable_changes_done) PortableChanges recovered = {};
        _cleanup_strv_free_ char **busy_ids = NULL;
        int r;

        if (dry_run) {
                r = list_journals(host, &recovered);
                if (r < 0)
                        return portable_error(reterr, r, NULL, "Failed to look for interrupted operations: %m");
        } else
                for (int runtime = 0; runtime <= 1; runtime++) {
                        _cleanup_free_ char *dir = host_journal_dir(host, runtime);

                        if (!dir)
                                return -ENOMEM;
                        /* What cannot be recovered stays, with its files (busy_ids below). */
                        (void) transaction_recover(dir, NULL);
                }
        r = host_journals(host, &busy_ids, /* paths= */ NULL);
        if (r < 0)
                return portable_error(reterr, r, NULL, "Failed to look for interrupted operations: %m");

        r = attached_index_load(host, &idx);
        if (r < 0)
                return portable_error(reterr, r, NULL, "Failed to read the attached units: %m");

        r = portable_transaction_init(&t, host, 0, "repair", "(all)");
        if (r < 0)
                return r;

        /* Drop-ins first: a link only attachments being removed refer to goes too. */
        for (int runtime = 0; runtime <= 1; runtime++) {
                _cleanup_free_ char *attached = host_attached_dir(host, runtime);

                if (!attached)
                        return -ENOMEM;
                r = plan_attached_dir(&t, attached, busy_ids);
                if (r < 0)
                        return portable_error(reterr, r, NULL, "Failed to look for leftovers in %s: %m", attached);
        }
        for (int runtime = 0; runtime <= 1; runtime++) {
                _cleanup_free_ char *links = host_image_link_dir(host, runtime);

                if (!links)
                        return -ENOMEM;
                r = plan_links(&t, host, links, &idx, busy_ids);
                if (r < 0)
                        return portable_error(reterr, r, NULL, "Failed to look for leftovers in %s: %m", links);
        }

        if (dry_run) {
                for (size_t i = 0; i < t.changes.n; i++) {
                        r = portable_changes_add(&recovered, t.changes.items[i].type, t.changes.items[i].path, NULL);
                        if (r < 0)
                                return r;
                }
                r = portable_remove_copy_leftovers(host, /* dry_run= */ true, &recovered);
                if (r < 0)
                        return portable_error(reterr, r, NULL, "Failed to look for leftovers of image copies: %m");
                *ret_changes = recovered;
                recovered = (PortableChanges) {};
                return 0;
        }
        r = transaction_finish(&t, 0, ret_changes, reterr);
        if (r < 0)
                return r;
        r = portable_remove_copy_leftovers(host, /* dry_run= */ false, ret_changes);
        if (r < 0)
                return portable_error(reterr, r, NULL, "Failed to remove leftovers of image copies: %m");
        return 0;
}
