/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stddef.h>
#include <stdint.h>
#include <systemd/sd-bus.h>

#include "image-dissect.h"
#include "verity-cache.h"
#include "verity.h"

/* A raw image or block device in the image reader child (reader-child.h): from the fd the daemon
 * opened to one read-only tree, root and /usr together, in two steps around
 * reader_sandbox_prepare_root().
 *
 * reader_raw_check(), while the host's file system is still in reach (the certificates it trusts
 * live there): finds the partitions by the rules of the Discoverable Partitions Specification
 * (image_dissect()), resolves the verity setup of root and /usr (hash tree in a partition or in a
 * NAME.verity sidecar; root hash from a sidecar, an xattr or the signature partition), checks
 * each root hash's signature against the host's certificates (verity-signature.h), and refuses
 * what an image policy does not allow. Nothing but the partition table, the superblocks and the
 * signature partition is read.
 *
 * reader_raw_mount(): checks every verity-protected partition against its root hash, in user
 * space with libcryptsetup (this works without device-mapper), unless the daemon's request says
 * this very file (same device, inode, size, modification and change time) passed with this root
 * hash before; reports the layout to the daemon ('P', 'V', 'L' of reader-protocol.h; see
 * reader-receive.h for why the daemon may believe the 'V'); and only then mounts root at where
 * and /usr at where/usr (a /usr-only image gets an empty root), each through a read-only loop
 * device limited to its partition, and for a verity-protected one to exactly the bytes the hash
 * tree covers. Loop devices, not partition device nodes: those do not appear in containers.
 *
 * Failures name the image; a failed verification is -EBADMSG "Image '...' failed verification:
 * ...", a policy violation -ERFKILL naming the partition and the rule (image-policy.h). */

typedef struct ReaderRawArgs {
        const char *image;               /* its path, for messages */
        int image_fd;
        const VerityData *verity;        /* what the daemon found next to the image; NULL: nothing */
        char * const *image_policies;    /* each must be satisfied; NULL: everything is allowed */
        const char *trust_root;          /* certificates are looked up below it (NULL: "/") */
        const VerityIdentity *verified;  /* what the daemon's cache holds for this file */
        const uint64_t *verified_covered;
        size_t n_verified;
} ReaderRawArgs;

typedef struct ReaderRaw {
        DissectedImage image;
        VerityTarget targets[2];         /* PARTITION_ROOT, PARTITION_USR */
        VeritySignatureResult signature[2];
        char *pinned_policy;
} ReaderRaw;

#define READER_RAW_NULL ((ReaderRaw) { .targets = { VERITY_TARGET_NULL, VERITY_TARGET_NULL } })

void reader_raw_done(ReaderRaw *r);

int reader_raw_check(const ReaderRawArgs *a, ReaderRaw *ret, sd_bus_error *reterr);

/* scratch_dir: a private directory for loop device nodes. */
int reader_raw_mount(const ReaderRawArgs *a, ReaderRaw *r, int sock, const char *where, const char *scratch_dir,
                     sd_bus_error *reterr);
