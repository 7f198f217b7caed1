/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "dropin.h"
#include "macro.h"
#include "marker-cache.h"
#include "strv.h"

/* Plenty for any host: the entries of removed drop-ins are only forgotten when it is full, all at
 * once (the next listing fills it again). */
#define MARKER_CACHE_MAX 4096U

typedef struct MarkerEntry {
        dev_t dev;
        ino_t ino;
        off_t size;
        struct timespec mtime, ctime;
        char **paths; /* NULL: the file is no marker */
} MarkerEntry;

struct MarkerCache {
        MarkerEntry *entries; /* sorted by (dev, ino) */
        unsigned n, allocated;
};

MarkerCache *marker_cache_new(void) {
        return calloc(1, sizeof(MarkerCache));
}

static void forget_all(MarkerCache *c) {
        for (unsigned i = 0; i < c->n; i++)
                strv_free(c->entries[i].paths);
        c->n = 0;
}

MarkerCache *marker_cache_free(MarkerCache *c) {
        if (!c)
                return NULL;
        forget_all(c);
        free(c->entries);
        free(c);
        return NULL;
}

unsigned marker_cache_size(const MarkerCache *c) {
        return c ? c->n : 0;
}

static int compare_identity(dev_t dev, ino_t ino, const MarkerEntry *e) {
        if (dev != e->dev)
                return dev < e->dev ? -1 : 1;
        if (ino != e->ino)
                return ino < e->ino ? -1 : 1;
        return 0;
}

/* The index of the entry for (dev, ino), or where it would go (*found false). */
static unsigned find(const MarkerCache *c, dev_t dev, ino_t ino, bool *found) {
        unsigned lo = 0, hi = c->n;

        while (lo < hi) {
                unsigned mid = lo + (hi - lo) / 2;
                int k = compare_identity(dev, ino, &c->entries[mid]);

                if (k == 0) {
                        *found = true;
                        return mid;
                }
                if (k < 0)
                        hi = mid;
                else
                        lo = mid + 1;
        }
        *found = false;
        return lo;
}

static bool same_timespec(struct timespec a, struct timespec b) {
        return a.tv_sec == b.tv_sec && a.tv_nsec == b.tv_nsec;
}

static bool unchanged(const MarkerEntry *e, const struct stat *st) {
        return e->size == st->st_size && same_timespec(e->mtime, st->st_mtim) && same_timespec(e->ctime, st->st_ctim);
}

static int answer(char * const *paths, char ***ret_paths) {
        if (!paths)
                return 0;
        *ret_paths = strv_copy(paths);
        return *ret_paths ? 1 : -ENOMEM;
}

/* Remembers what the file st is (paths NULL: no marker). Out of memory, it is simply read again
 * next time. */
static void remember(MarkerCache *c, const struct stat *st, char * const *paths) {
        char **copy = NULL;
        unsigned i;
        bool found;

        if (paths) {
                copy = strv_copy(paths);
                if (!copy)
                        return;
        }

        i = find(c, st->st_dev, st->st_ino, &found);
        if (!found) {
                if (c->n >= MARKER_CACHE_MAX) {
                        forget_all(c);
                        i = 0;
                }
                if (c->n == c->allocated) {
                        unsigned want = c->allocated ? c->allocated * 2 : 64;
                        MarkerEntry *grown = realloc(c->entries, sizeof(MarkerEntry) * want);

                        if (!grown) {
                                strv_free(copy);
                                return;
                        }
                        c->entries = grown;
                        c->allocated = want;
                }
                memmove(c->entries + i + 1, c->entries + i, sizeof(MarkerEntry) * (c->n - i));
                c->n++;
        } else
                strv_free(c->entries[i].paths);

        c->entries[i] = (MarkerEntry) {
                .dev = st->st_dev,
                .ino = st->st_ino,
                .size = st->st_size,
                .mtime = st->st_mtim,
                .ctime = st->st_ctim,
                .paths = copy,
        };
}

int marker_cache_read(MarkerCache *c, int attached_dir_fd, const char *unit, char ***ret_paths) {
        _cleanup_strv_free_ char **paths = NULL;
        _cleanup_free_ char *path = NULL;
        struct stat st;
        unsigned i;
        bool found;
        int r;

        if (!c)
                return dropin_read_marker(attached_dir_fd, unit, ret_paths);

        if (asprintf(&path, "%s.d/" DROPIN_PORTABLE_NAME, unit) < 0)
                return -ENOMEM;
        if (fstatat(attached_dir_fd, path, &st, AT_SYMLINK_NOFOLLOW) < 0)
                return errno == ENOENT || errno == ENOTDIR ? 0 : -errno;
        /* What dropin_read_marker() makes of anything else is not worth remembering. */
        if (!S_ISREG(st.st_mode))
                return dropin_read_marker(attached_dir_fd, unit, ret_paths);

        i = find(c, st.st_dev, st.st_ino, &found);
        if (found && unchanged(&c->entries[i], &st))
                return answer(c->entries[i].paths, ret_paths);

        /* Read after the fstatat(): what is read is at least as new as the identity it is
         * remembered under, and a later write changes that identity. */
        r = dropin_read_marker(attached_dir_fd, unit, &paths);
        if (r < 0)
                return r;
        remember(c, &st, r > 0 ? paths : NULL);
        if (r == 0)
                return 0;
        *ret_paths = TAKE_PTR(paths);
        return 1;
}
