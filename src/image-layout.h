/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>

#include "image-dissect.h"
#include "macro.h"
#include "verity-signature.h"

/* What the image reader found in a raw image (or block device), as it reports it to the daemon
 * before it mounts anything (reader-protocol.h: 'P', 'V', 'L'): the data partitions it uses, how
 * each is protected, whether a signature of the root hash checked out against the host's keys and
 * whether the data was checked against the root hash; and the image policy that pins all this, for
 * the drop-in's RootImagePolicy=. Directory images have no layout. */

typedef struct LayoutPartition {
        bool found;
        char *fstype;                    /* "squashfs", ... */
        PartitionProtection protection;
        VeritySignatureResult signature; /* UNSIGNED, TRUSTED or UNTRUSTED (BAD never gets this far) */
        char *root_hash;                 /* hex; NULL when unprotected */
        bool verified;                   /* the data was checked against root_hash */
        bool cached;                     /* ... by an earlier read of the unchanged image (verity-cache.h) */
} LayoutPartition;

typedef struct ImageLayout {
        LayoutPartition partitions[2];   /* PARTITION_ROOT, PARTITION_USR */
        char *pinned_policy;             /* image-policy.h syntax, as image_policy_pin() writes it */
} ImageLayout;

ImageLayout *image_layout_free(ImageLayout *l);
int image_layout_copy(const ImageLayout *l, ImageLayout **ret);
DEFINE_TRIVIAL_CLEANUP_FUNC(ImageLayout *, image_layout_free);

/* "unprotected", "verity", "signed". */
const char *partition_protection_to_string(PartitionProtection p);
/* -EINVAL for anything else. */
int partition_protection_from_string(const char *s, PartitionProtection *ret);

/* A sentence for people: "squashfs, verity-protected, root hash signed by a trusted key,
 * verified". */
char *layout_partition_describe(const LayoutPartition *p);
