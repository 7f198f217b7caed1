/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

/* Remembers which images passed verity verification, so that an unchanged image is not read in
 * full again on every inspect and attach. The daemon owns one cache for its lifetime; there is no
 * global state.
 *
 * An entry is keyed on the identity of the image file (device, inode, size, modification and
 * change time, to the nanosecond) plus the partition's offset and the root hash it was checked
 * against: any write to the file changes its ctime, so a modified image is never found. Only
 * regular files have an identity: a block device's node does not change when its contents do,
 * so block devices are never cached (verity_identity_from_fd() refuses them with -EBADFD).
 *
 * The cache holds at most a fixed number of entries and forgets the least recently used. */

#define VERITY_CACHE_HASH_MAX 64U

typedef struct VerityIdentity {
        dev_t dev;
        ino_t ino;
        uint64_t size;
        struct timespec mtime;
        struct timespec ctime;
        uint64_t data_offset;                     /* which partition of the image */
        uint8_t root_hash[VERITY_CACHE_HASH_MAX];
        size_t root_hash_size;
} VerityIdentity;

typedef struct VerityCache VerityCache;

/* max_entries 0 means a default (256). NULL on OOM. */
VerityCache *verity_cache_new(size_t max_entries);
VerityCache *verity_cache_free(VerityCache *c);
static inline void verity_cache_freep(VerityCache **c) {
        verity_cache_free(*c);
}

/* The identity of the open image file image_fd for the partition at data_offset checked against
 * root_hash. -EBADFD for anything but a regular file, -EINVAL for a root hash longer than 64 bytes. */
int verity_identity_from_fd(int image_fd, uint64_t data_offset, const uint8_t *root_hash, size_t root_hash_size,
                            VerityIdentity *ret);

/* 1 and the number of bytes that were verified if id passed verification before, 0 otherwise. */
int verity_cache_lookup(VerityCache *c, const VerityIdentity *id, uint64_t *ret_covered);

/* The entries for the file that file identifies (its data_offset and root hash are ignored): at
 * most max of them are copied to ret_ids and ret_covered. Returns how many. The image reader asks
 * this before it knows which partitions and root hashes the image has. */
size_t verity_cache_lookup_file(VerityCache *c, const VerityIdentity *file, VerityIdentity *ret_ids,
                                uint64_t *ret_covered, size_t max);

/* Records that id passed verification, covering covered bytes. */
int verity_cache_add(VerityCache *c, const VerityIdentity *id, uint64_t covered);

/* Forgets everything about the file (dev, ino), e.g. when the image is removed. */
void verity_cache_forget(VerityCache *c, dev_t dev, ino_t ino);

size_t verity_cache_size(const VerityCache *c);
