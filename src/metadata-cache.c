/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "metadata-cache.h"

#define DEFAULT_MAX_ENTRIES 32U
#define DEFAULT_MAX_BYTES (1024U * 1024U)

typedef struct Entry {
        dev_t dev;
        ino_t ino;
        void *key;
        size_t key_size;
        PortableMetadata *metadata;
        size_t bytes;
        uint64_t last_use;
} Entry;

struct MetadataCache {
        Entry *entries;
        size_t n_entries, max_entries;
        size_t bytes, max_bytes;
        uint64_t clock;
};

MetadataCache *metadata_cache_new(size_t max_entries, size_t max_bytes) {
        MetadataCache *c = calloc(1, sizeof(MetadataCache));

        if (!c)
                return NULL;
        c->max_entries = max_entries ?: DEFAULT_MAX_ENTRIES;
        c->max_bytes = max_bytes ?: DEFAULT_MAX_BYTES;
        c->entries = calloc(c->max_entries, sizeof(Entry));
        if (!c->entries)
                return mfree(c);
        return c;
}

static void entry_drop(MetadataCache *c, size_t i) {
        Entry *e = &c->entries[i];

        free(e->key);
        portable_metadata_free(e->metadata);
        c->bytes -= e->bytes;
        c->entries[i] = c->entries[--c->n_entries];
        c->entries[c->n_entries] = (Entry) {}; /* no stale pointers past the end */
}

MetadataCache *metadata_cache_free(MetadataCache *c) {
        if (!c)
                return NULL;
        while (c->n_entries > 0)
                entry_drop(c, c->n_entries - 1);
        free(c->entries);
        return mfree(c);
}

static Entry *find(MetadataCache *c, const void *key, size_t key_size) {
        for (size_t i = 0; i < c->n_entries; i++)
                if (c->entries[i].key_size == key_size && memcmp(c->entries[i].key, key, key_size) == 0)
                        return &c->entries[i];
        return NULL;
}

int metadata_cache_lookup(MetadataCache *c, const void *key, size_t key_size, PortableMetadata **ret) {
        Entry *e;
        int r;

        if (!c || !(e = find(c, key, key_size)))
                return 0;
        r = portable_metadata_copy(e->metadata, ret);
        if (r < 0)
                return r;
        e->last_use = ++c->clock;
        return 1;
}

static void drop_least_recently_used(MetadataCache *c) {
        size_t oldest = 0;

        for (size_t i = 1; i < c->n_entries; i++)
                if (c->entries[i].last_use < c->entries[oldest].last_use)
                        oldest = i;
        entry_drop(c, oldest);
}

int metadata_cache_add(MetadataCache *c, dev_t dev, ino_t ino, const void *key, size_t key_size,
                       const PortableMetadata *m) {
        size_t bytes = portable_metadata_size(m) + key_size;
        PortableMetadata *copy = NULL;
        void *key_copy;
        Entry *e;
        int r;

        if (!c || bytes > c->max_bytes / 4)
                return 0;

        e = find(c, key, key_size);
        if (e)
                entry_drop(c, (size_t) (e - c->entries));

        r = portable_metadata_copy(m, &copy);
        if (r < 0)
                return r;
        key_copy = malloc(key_size ?: 1);
        if (!key_copy) {
                portable_metadata_free(copy);
                return -ENOMEM;
        }
        memcpy(key_copy, key, key_size);

        while (c->n_entries > 0 && (c->n_entries >= c->max_entries || c->bytes + bytes > c->max_bytes))
                drop_least_recently_used(c);

        c->entries[c->n_entries++] = (Entry) {
                .dev = dev,
                .ino = ino,
                .key = key_copy,
                .key_size = key_size,
                .metadata = copy,
                .bytes = bytes,
                .last_use = ++c->clock,
        };
        c->bytes += bytes;
        return 1;
}

void metadata_cache_forget(MetadataCache *c, dev_t dev, ino_t ino) {
        if (!c)
                return;
        for (size_t i = c->n_entries; i > 0; i--)
                if (c->entries[i - 1].dev == dev && c->entries[i - 1].ino == ino)
                        entry_drop(c, i - 1);
}

size_t metadata_cache_size(const MetadataCache *c) {
        return c ? c->n_entries : 0;
}
