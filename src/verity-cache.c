/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <string.h>
#include <sys/stat.h>

#include "macro.h"
#include "verity-cache.h"

#define VERITY_CACHE_DEFAULT_MAX 256U

typedef struct Entry {
        VerityIdentity id;
        uint64_t covered;
        uint64_t last_used;
} Entry;

struct VerityCache {
        Entry *entries;
        size_t n, max;
        uint64_t clock; /* logical time, for least-recently-used eviction */
};

VerityCache *verity_cache_new(size_t max_entries) {
        VerityCache *c = calloc(1, sizeof(VerityCache));

        if (!c)
                return NULL;
        c->max = max_entries ?: VERITY_CACHE_DEFAULT_MAX;
        c->entries = calloc(c->max, sizeof(Entry));
        if (!c->entries)
                return mfree(c);
        return c;
}

VerityCache *verity_cache_free(VerityCache *c) {
        if (!c)
                return NULL;
        free(c->entries);
        return mfree(c);
}

int verity_identity_from_fd(int image_fd, uint64_t data_offset, const uint8_t *root_hash, size_t root_hash_size,
                            VerityIdentity *ret) {
        struct stat st;

        if (!root_hash || root_hash_size == 0 || root_hash_size > VERITY_CACHE_HASH_MAX)
                return -EINVAL;
        if (fstat(image_fd, &st) < 0)
                return -errno;
        if (!S_ISREG(st.st_mode))
                return -EBADFD;

        memset(ret, 0, sizeof(*ret));
        ret->dev = st.st_dev;
        ret->ino = st.st_ino;
        ret->size = (uint64_t) st.st_size;
        ret->mtime = st.st_mtim;
        ret->ctime = st.st_ctim;
        ret->data_offset = data_offset;
        memcpy(ret->root_hash, root_hash, root_hash_size);
        ret->root_hash_size = root_hash_size;
        return 0;
}

static bool same_file(const VerityIdentity *a, const VerityIdentity *b) {
        return a->dev == b->dev && a->ino == b->ino && a->size == b->size &&
                a->mtime.tv_sec == b->mtime.tv_sec && a->mtime.tv_nsec == b->mtime.tv_nsec &&
                a->ctime.tv_sec == b->ctime.tv_sec && a->ctime.tv_nsec == b->ctime.tv_nsec;
}

static bool identity_equal(const VerityIdentity *a, const VerityIdentity *b) {
        return same_file(a, b) && a->data_offset == b->data_offset && a->root_hash_size == b->root_hash_size &&
                a->root_hash_size <= VERITY_CACHE_HASH_MAX && memcmp(a->root_hash, b->root_hash, a->root_hash_size) == 0;
}

static Entry *find(VerityCache *c, const VerityIdentity *id) {
        for (size_t i = 0; i < c->n; i++)
                if (identity_equal(&c->entries[i].id, id))
                        return c->entries + i;
        return NULL;
}

int verity_cache_lookup(VerityCache *c, const VerityIdentity *id, uint64_t *ret_covered) {
        Entry *e;

        if (!c || !id)
                return 0;
        e = find(c, id);
        if (!e)
                return 0;
        e->last_used = ++c->clock;
        if (ret_covered)
                *ret_covered = e->covered;
        return 1;
}

size_t verity_cache_lookup_file(VerityCache *c, const VerityIdentity *file, VerityIdentity *ret_ids,
                                uint64_t *ret_covered, size_t max) {
        size_t n = 0;

        if (!c || !file)
                return 0;
        for (size_t i = 0; i < c->n && n < max; i++)
                if (same_file(&c->entries[i].id, file)) {
                        ret_ids[n] = c->entries[i].id;
                        ret_covered[n] = c->entries[i].covered;
                        n++;
                }
        return n;
}

int verity_cache_add(VerityCache *c, const VerityIdentity *id, uint64_t covered) {
        Entry *e;

        if (!c || !id)
                return -EINVAL;
        e = find(c, id);
        if (!e && c->n < c->max)
                e = c->entries + c->n++;
        else if (!e) {
                /* Full: the least recently used entry makes room. */
                e = c->entries;
                for (size_t i = 1; i < c->n; i++)
                        if (c->entries[i].last_used < e->last_used)
                                e = c->entries + i;
        }
        *e = (Entry) {
                .id = *id,
                .covered = covered,
                .last_used = ++c->clock,
        };
        return 0;
}

void verity_cache_forget(VerityCache *c, dev_t dev, ino_t ino) {
        if (!c)
                return;
        for (size_t i = 0; i < c->n;)
                if (c->entries[i].id.dev == dev && c->entries[i].id.ino == ino)
                        c->entries[i] = c->entries[--c->n];
                else
                        i++;
}

size_t verity_cache_size(const VerityCache *c) {
        return c ? c->n : 0;
}
