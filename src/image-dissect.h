/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <systemd/sd-bus.h>

#include "gpt-types.h"

/* Finds the partitions of a raw image by the rules of the Discoverable Partitions Specification,
 * with libblkid on an open fd (a regular file or a block device; it is never reopened by path and
 * no partition device nodes are needed: everything is an offset and a size in the image).
 *
 * An image is one of:
 *   - a naked file system: one "partition" covering the whole image, the root (or /usr, when only
 *     a /usr hash is known for it);
 *   - a GPT disk: root and /usr of the native architecture, else of the secondary one (x86 on
 *     x86-64, arm on arm64); among several of the same architecture the newest partition label
 *     wins (version comparison: "root-1.10" beats "root-1.9"); partitions flagged no-auto are
 *     skipped; verity and verity-signature partitions are paired with the data partition of the
 *     same architecture; with a root hash known beforehand, only the root partition whose UUID is
 *     its first 128 bits and the verity partition whose UUID is its last 128 bits qualify. Without
 *     any root or /usr partition, a single generic Linux partition is the root;
 *   - an MBR disk: a single bootable Linux (0x83) partition is the root.
 *
 * The other partition types of the specification (ESP, home, swap, ...) are recorded, so that an
 * image policy can be checked against them, but never probed or used.
 *
 * Failures name the image and fill reterr (InvalidArgs, as upstream maps dissection errors):
 *   -EMEDIUMTYPE      neither a file system nor a partition table we understand
 *   -ENXIO            no root or /usr partition we may use (the message says what was found)
 *   -ENOTUNIQ         several equally good candidates for one role
 *   -EADDRNOTAVAIL    a verity or signature partition without its data partition, a root hash
 *                     without a hash tree, root and /usr of different architectures
 *   -EPROTONOSUPPORT  the root or /usr partition holds a file system we do not mount
 *   -EBADMSG          a partition outside the image, or a verity partition without a verity
 *                     superblock
 * Nothing is mounted and nothing but the partition table and the file-system superblocks is read. */

typedef enum PartitionProtection {
        PARTITION_UNPROTECTED, /* no hash tree, or no root hash for it */
        PARTITION_VERITY,      /* a hash tree and a root hash for it are available */
        PARTITION_SIGNED,      /* ... and the root hash's signature checked out against a trusted key;
                                * only ever set by the caller after verity_signature_check() */
} PartitionProtection;

typedef struct DissectedPartition {
        bool found;
        unsigned partno;            /* GPT/MBR entry number (from 1); 0 for a naked file system */
        Architecture architecture;  /* _INVALID for naked, generic and architecture-less types */
        uint64_t offset;            /* bytes from the start of the image */
        uint64_t size;              /* bytes */
        uint64_t gpt_flags;         /* the GPT attribute bits, 0 for naked and MBR */
        bool rw;                    /* no read-only flag and no verity */
        bool growfs;
        char *fstype;               /* libblkid's name: "squashfs", "DM_verity_hash"; NULL for signature
                                     * partitions and where nothing was recognised */
        char *label;                /* GPT partition name, NULL if empty */
        char *uuid;                 /* GPT partition UUID, lowercase; NULL for naked and MBR */
        char *type_uuid;            /* GPT type UUID, lowercase; NULL for naked and MBR */
        PartitionProtection protection; /* data partitions (root, usr) only */
        bool has_signature;         /* data partitions: a signature of the root hash exists (partition
                                     * or sidecar); whether it is trusted is verity_signature_check()'s */
        bool ignored;               /* present, but an image policy said not to use it (found is then
                                     * false); set by image_policy_check() */
} DissectedPartition;

typedef struct DissectedImage {
        char *name;                 /* as given, for messages */
        bool partitioned;           /* false: a naked file system */
        uint64_t size;              /* of the whole image */
        DissectedPartition partitions[_PARTITION_DESIGNATOR_MAX];
} DissectedImage;

/* What is known about the image from outside it (the daemon collects it: see verity.h). */
typedef struct DissectHints {
        const uint8_t *root_hash; /* NAME.roothash / user.verity.roothash, binary */
        size_t root_hash_size;
        const uint8_t *usr_hash;  /* NAME.usrhash / user.verity.usrhash */
        size_t usr_hash_size;
        bool root_hash_sig;       /* NAME.roothash.p7s exists */
        bool usr_hash_sig;        /* NAME.usrhash.p7s exists */
        bool hash_sidecar;        /* NAME.verity exists: the image must be a naked file system */
} DissectHints;

/* hints may be NULL. On success *ret owns everything; release it with dissected_image_done(). */
int image_dissect(int fd, const char *name, const DissectHints *hints, DissectedImage *ret, sd_bus_error *reterr);
void dissected_image_done(DissectedImage *m);

/* The data partitions the reader mounts: root (if found) and /usr (if found). */
static inline const DissectedPartition *dissected_image_root(const DissectedImage *m) {
        return m->partitions[PARTITION_ROOT].found ? &m->partitions[PARTITION_ROOT] : NULL;
}
static inline const DissectedPartition *dissected_image_usr(const DissectedImage *m) {
        return m->partitions[PARTITION_USR].found ? &m->partitions[PARTITION_USR] : NULL;
}

/* The file systems we are willing to mount from an image. */
int image_fstype_is_supported(const char *fstype);
