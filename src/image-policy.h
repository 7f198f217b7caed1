/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <errno.h>
#include <stdbool.h>
#include <systemd/sd-bus.h>

#include "gpt-types.h"
#include "image-dissect.h"

/* Image policies in systemd's syntax (systemd.image-policy(7)): which partitions an image may
 * have, which must be absent or left unused, and how they must be protected.
 *
 *         root=verity+signed:usr=verity+squashfs:=unprotected+absent
 *
 * Rules are "designator=flags" separated by ':', flags separated by '+'; an empty designator sets
 * the default for designators without a rule. Flags: unprotected, verity, signed, encrypted,
 * encryptedwithintegrity, unused, absent (and the shortcuts open = all of these, ignore =
 * unused+absent); read-only-on/off and growfs-on/off (GPT flags); btrfs, erofs, ext4, f2fs,
 * squashfs, vfat, xfs (allowed file systems). A group left out allows everything in it. The whole
 * policy may be "*" (everything allowed), "-" or "" (everything ignored), "~" (everything absent).
 * Without a default rule, designators without a rule are ignored. A verity or signature partition
 * without a rule of its own follows the rule of its data partition.
 *
 * Semantics follow upstream, with one deliberate reading of its manual: a partition protected by a
 * trusted signature also qualifies for "verity" and "unprotected", a verity-protected one also for
 * "unprotected" (the reader still verifies it: a policy can only demand more protection). "signed"
 * means the signature checked out against a trusted key (verity_signature_check()), not merely that
 * a signature exists. */

typedef enum PartitionPolicyFlags {
        PARTITION_POLICY_VERITY = 1 << 0,
        PARTITION_POLICY_SIGNED = 1 << 1,
        PARTITION_POLICY_ENCRYPTED = 1 << 2,
        PARTITION_POLICY_ENCRYPTEDWITHINTEGRITY = 1 << 3,
        PARTITION_POLICY_UNPROTECTED = 1 << 4,
        PARTITION_POLICY_UNUSED = 1 << 5,
        PARTITION_POLICY_ABSENT = 1 << 6,
        PARTITION_POLICY_OPEN = PARTITION_POLICY_VERITY | PARTITION_POLICY_SIGNED | PARTITION_POLICY_ENCRYPTED |
                PARTITION_POLICY_ENCRYPTEDWITHINTEGRITY | PARTITION_POLICY_UNPROTECTED | PARTITION_POLICY_UNUSED |
                PARTITION_POLICY_ABSENT,
        PARTITION_POLICY_IGNORE = PARTITION_POLICY_UNUSED | PARTITION_POLICY_ABSENT,
        _PARTITION_POLICY_USE_MASK = PARTITION_POLICY_OPEN,

        PARTITION_POLICY_READ_ONLY_OFF = 1 << 7,
        PARTITION_POLICY_READ_ONLY_ON = 1 << 8,
        _PARTITION_POLICY_READ_ONLY_MASK = PARTITION_POLICY_READ_ONLY_OFF | PARTITION_POLICY_READ_ONLY_ON,
        PARTITION_POLICY_GROWFS_OFF = 1 << 9,
        PARTITION_POLICY_GROWFS_ON = 1 << 10,
        _PARTITION_POLICY_GROWFS_MASK = PARTITION_POLICY_GROWFS_OFF | PARTITION_POLICY_GROWFS_ON,
        _PARTITION_POLICY_PFLAGS_MASK = _PARTITION_POLICY_READ_ONLY_MASK | _PARTITION_POLICY_GROWFS_MASK,

        PARTITION_POLICY_BTRFS = 1 << 11,
        PARTITION_POLICY_EROFS = 1 << 12,
        PARTITION_POLICY_EXT4 = 1 << 13,
        PARTITION_POLICY_F2FS = 1 << 14,
        PARTITION_POLICY_SQUASHFS = 1 << 15,
        PARTITION_POLICY_VFAT = 1 << 16,
        PARTITION_POLICY_XFS = 1 << 17,
        _PARTITION_POLICY_FSTYPE_MASK = PARTITION_POLICY_BTRFS | PARTITION_POLICY_EROFS | PARTITION_POLICY_EXT4 |
                PARTITION_POLICY_F2FS | PARTITION_POLICY_SQUASHFS | PARTITION_POLICY_VFAT | PARTITION_POLICY_XFS,

        _PARTITION_POLICY_MASK = _PARTITION_POLICY_USE_MASK | _PARTITION_POLICY_PFLAGS_MASK |
                _PARTITION_POLICY_FSTYPE_MASK,
        _PARTITION_POLICY_FLAGS_INVALID = -EINVAL,
} PartitionPolicyFlags;

typedef struct ImagePolicy {
        PartitionPolicyFlags default_flags;
        bool has_rule[_PARTITION_DESIGNATOR_MAX];
        PartitionPolicyFlags rules[_PARTITION_DESIGNATOR_MAX];
} ImagePolicy;

/* "*", "-", "~" as constants. */
extern const ImagePolicy image_policy_allow, image_policy_ignore, image_policy_deny;

/* Parses a policy. -EINVAL (malformed rule), -EBADSLT (unknown designator), -EBADRQC (unknown
 * flag), -ENOTUNIQ (two rules for one designator), each with a message naming the culprit. */
int image_policy_from_string(const char *s, ImagePolicy **ret, sd_bus_error *reterr);
ImagePolicy *image_policy_free(ImagePolicy *p);
static inline void image_policy_freep(ImagePolicy **p) {
        image_policy_free(*p);
}

/* "verity+squashfs" → flags; "" and "-" are 0. -EBADRQC for an unknown flag. */
int partition_policy_flags_from_string(const char *s, PartitionPolicyFlags *ret);
/* simplify: "open"/"ignore" shortcuts, groups that allow everything left out (as upstream). */
int partition_policy_flags_to_string(PartitionPolicyFlags f, bool simplify, char **ret);

/* With simplify, equivalent shorter forms: "*", "-", "~" where they apply, rules equal to the
 * default left out; the result parses back to an equivalent policy. */
int image_policy_to_string(const ImagePolicy *p, bool simplify, char **ret);

/* The effective flags for designator d, every group filled in (NULL policy: everything allowed). */
PartitionPolicyFlags image_policy_get(const ImagePolicy *p, PartitionDesignator d);
/* Whether two policies have the same effect on every designator. */
bool image_policy_equivalent(const ImagePolicy *a, const ImagePolicy *b);

/* Checks the dissected image m against p (NULL: allow everything), after the caller has settled
 * the protection of root and /usr (PARTITION_SIGNED only for a trusted signature). Partitions the
 * policy says to leave unused are marked ignored and dropped from m (with their verity
 * companions). -ERFKILL if the image does not satisfy the policy, with a message naming the
 * image, the partition, what was found and the rule; -ENXIO if the policy leaves neither root nor
 * /usr to use. Nothing of the image is read. */
int image_policy_check(const ImagePolicy *p, DissectedImage *m, sd_bus_error *reterr);

/* The policy pinning what m is, as newest upstream writes into RootImagePolicy=: for each data
 * partition found its protection (signed, verity; nothing for unprotected, as upstream) and file
 * system; everything not found must be absent. Verity and signature partitions follow their data
 * partition. Read-only and growfs flags are not pinned. */
int image_policy_pin(const DissectedImage *m, ImagePolicy **ret);

/* What either policy allows (for ExtensionImagePolicy= over several extension images). */
int image_policy_union(const ImagePolicy *a, const ImagePolicy *b, ImagePolicy **ret);
