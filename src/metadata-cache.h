/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stddef.h>
#include <sys/types.h>

#include "portable-metadata.h"

/* Remembers what the image reader found in raw image files, so that an unchanged image is not
 * read again: inspect after inspect, attach after inspect, reattach back to the previous version.
 * The daemon owns one cache for its lifetime.
 *
 * The cache itself only maps opaque keys to metadata; image-reader.c decides what goes in and
 * builds the keys: the identity of the file (device, inode, size, modification and change time
 * to the nanosecond, as for verity-cache.h: any write to the file changes its change time) and
 * every part of the request that shapes the answer. It caches only raw image files without any
 * verity data, whose answer depends on nothing but the file and the request (no signature
 * checked against the host's keys, nothing verified); directories never (a change deep inside
 * does not show in the directory's own times), block devices never (their node does not change
 * when their contents do).
 *
 * Lookups hand out copies and entries are copies: nothing a caller holds refers into the cache.
 * It holds at most max_entries and max_bytes of metadata (portable_metadata_size()), forgetting
 * the least recently used first; metadata larger than max_bytes / 4 is not kept at all. */

typedef struct MetadataCache MetadataCache;

/* 0 for either limit means a default (32 entries, 1 MiB). NULL on OOM. */
MetadataCache *metadata_cache_new(size_t max_entries, size_t max_bytes);
MetadataCache *metadata_cache_free(MetadataCache *c);
static inline void metadata_cache_freep(MetadataCache **c) {
        metadata_cache_free(*c);
}

/* 1 and a copy of what was stored under key, or 0. */
int metadata_cache_lookup(MetadataCache *c, const void *key, size_t key_size, PortableMetadata **ret);

/* Stores a copy of m under key, for the file (dev, ino), replacing what was there. 1 if stored,
 * 0 if m is too large to keep. */
int metadata_cache_add(MetadataCache *c, dev_t dev, ino_t ino, const void *key, size_t key_size,
                       const PortableMetadata *m);

/* Forgets everything about the file (dev, ino), e.g. when the image is removed. */
void metadata_cache_forget(MetadataCache *c, dev_t dev, ino_t ino);

size_t metadata_cache_size(const MetadataCache *c);
