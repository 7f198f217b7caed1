/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <systemd/sd-bus.h>

#include "image-dissect.h"
#include "verity-signature.h"

/* dm-verity for raw images: where the verity data of an image comes from, and checking an image's
 * data against its root hash with libcryptsetup before anything in it is trusted.
 *
 * The flow for one image, split between the daemon (which may open files by path) and the image
 * reader child (which only gets fds):
 *
 *   daemon:  verity_data_load()        sidecars next to the image and its xattrs → VerityData
 *            verity_data_hints()       → DissectHints for image_dissect()
 *   reader:  image_dissect()           the layout, protection VERITY where hash tree + root hash exist
 *            verity_target_resolve()   per data partition: root hash (sidecar, xattr or signature
 *                                      partition), signature, hash tree location
 *            verity_signature_check()  and verity_apply_signature(): PARTITION_SIGNED if trusted
 *            image_policy_check()      refuse what the policy does not allow
 *            verity_target_verify()    the data against the root hash, in user space (once per
 *                                      image identity: see verity-cache.h)
 *            mount exactly the verified bytes (loop device limited to the covered size)
 *
 * reader-raw.h is that reader. verity_activate() (a dm-verity device, checked by the kernel at
 * every read, where the kernel has device-mapper) is not used by it yet: the daemon refuses an
 * image file that changed while it was read instead (image-reader.h).
 *
 * User-space verification reads every data block once and checks it against the hash tree, and
 * the tree against the root hash: a single changed byte anywhere in the covered data, in the tree
 * or in the root hash fails it. It says nothing about changes made after it ran; dm-verity does,
 * but only for blocks as they are read, which is why the full check comes first either way. The
 * daemon's VerityCache keys results on the image file's identity, so that any write to the file
 * invalidates them. libcryptsetup opens what it checks through /proc/self/fd, so /proc must be
 * mounted; it hashes in user space (its crypto backend), no AF_ALG socket is needed. */

/* What the daemon collects next to an image NAME.raw (NAME without ".raw" for other names):
 * NAME.roothash / NAME.usrhash (hex; the user.verity.roothash / user.verity.usrhash xattrs of the
 * image take precedence, as upstream), NAME.roothash.p7s / NAME.usrhash.p7s (DER PKCS#7, loaded
 * only with the matching hash) and NAME.verity (a hash tree for a naked image, kept open). */
typedef struct VerityData {
        uint8_t *root_hash;
        size_t root_hash_size;
        uint8_t *usr_hash;
        size_t usr_hash_size;
        uint8_t *root_hash_sig;
        size_t root_hash_sig_size;
        uint8_t *usr_hash_sig;
        size_t usr_hash_sig_size;
        int hash_fd;             /* NAME.verity, read-only; -EBADF if there is none */
        char *root_hash_source;  /* where the root hash came from, for messages ("foo.roothash") */
        char *usr_hash_source;
} VerityData;

#define VERITY_DATA_NULL ((VerityData) { .hash_fd = -EBADF })

void verity_data_done(VerityData *d);

/* Loads the verity data of the image image_filename in dir_fd, whose open fd is image_fd. Nothing
 * is loaded for anything but a regular file (block devices have no sidecars). Missing files are
 * not an error; unreadable or malformed ones are (-EINVAL, -EFBIG, ...), naming the file. */
int verity_data_load(int dir_fd, const char *image_filename, int image_fd, VerityData *ret,
                     sd_bus_error *reterr);

/* The DissectHints for image_dissect(), pointing into d. */
void verity_data_hints(const VerityData *d, DissectHints *ret);

/* Parses a root hash in hex (surrounding whitespace allowed): 16 to 64 bytes. */
int verity_root_hash_from_hex(const char *s, uint8_t **ret, size_t *ret_size);
char *verity_root_hash_to_hex(const uint8_t *hash, size_t size);

/* Reads a verity signature partition: the JSON object {"rootHash": "<hex>", "signature":
 * "<base64 DER PKCS#7>"} systemd-repart writes, NUL-padded to the partition size (at most 4 MiB).
 * Other members are ignored. -EBADMSG for anything else. */
int verity_signature_partition_read(int image_fd, uint64_t offset, uint64_t size, const char *image,
                                    uint8_t **ret_root_hash, size_t *ret_root_hash_size, uint8_t **ret_signature,
                                    size_t *ret_signature_size, sd_bus_error *reterr);

/* Everything needed to check one data partition. */
typedef struct VerityTarget {
        PartitionDesignator designator;  /* PARTITION_ROOT or PARTITION_USR */
        uint8_t *root_hash;
        size_t root_hash_size;
        uint8_t *signature;              /* DER PKCS#7, NULL if unsigned */
        size_t signature_size;
        int hash_fd;                     /* owned: the image again, or the .verity sidecar */
        uint64_t hash_offset;            /* where the verity superblock is in hash_fd */
        uint64_t data_offset;            /* the data partition in the image */
        uint64_t data_size;
} VerityTarget;

#define VERITY_TARGET_NULL ((VerityTarget) { .designator = _PARTITION_DESIGNATOR_INVALID, .hash_fd = -EBADF })

void verity_target_done(VerityTarget *t);

/* Resolves the verity setup of data partition d (root or usr) of the dissected image: 0 if the
 * partition is not verity-protected (*ret is VERITY_TARGET_NULL), 1 if *ret is filled. The root
 * hash comes from d's sidecar/xattr, or from the signature partition; where both exist they must
 * agree (-EBADMSG otherwise). The signature is the sidecar's, else the signature partition's. */
int verity_target_resolve(int image_fd, const DissectedImage *m, PartitionDesignator d, const VerityData *vd,
                          VerityTarget *ret, sd_bus_error *reterr);

/* Applies the verdict of verity_signature_check() for data partition d of m: a trusted signature
 * makes it PARTITION_SIGNED; an untrusted signature, or none, leaves it PARTITION_VERITY (an image
 * policy demanding "signed" then refuses it); a bad one (not a signature, or not one of this root
 * hash: the hash or the signature was tampered with) is refused whatever the policy, with
 * -EKEYREJECTED. detail is verity_signature_check()'s, for the message. */
int verity_apply_signature(DissectedImage *m, PartitionDesignator d, VeritySignatureResult result, const char *detail,
                           sd_bus_error *reterr);

/* Checks data against the hash tree at hash_offset in hash_fd (it starts with a verity superblock,
 * as veritysetup and systemd-repart write it) and against root_hash, in user space. data_fd's
 * offset 0 is the first data byte (a naked image file, or a loop device limited to the
 * partition); data_limit is how many bytes the data region has. On success returns 0 and the
 * number of bytes the tree covers (from 0; at most data_limit): the caller must expose exactly
 * these to the file system, nothing beyond. Failure: -EBADMSG "failed verification" (data, tree or
 * root hash do not match, tree truncated, no superblock), with libcryptsetup's reason; other
 * errors as they come. image and what ("partition 'root'") name the target in messages. */
int verity_verify(int data_fd, uint64_t data_limit, int hash_fd, uint64_t hash_offset, const uint8_t *root_hash,
                  size_t root_hash_size, const char *image, const char *what, uint64_t *ret_covered,
                  sd_bus_error *reterr);

/* verity_verify() for a resolved target of the image: attaches a read-only loop device (node
 * created at loop_node_path) for a partition that does not start at offset 0, and releases it
 * again before returning. */
int verity_target_verify(int image_fd, const VerityTarget *t, const char *image, const char *loop_node_path,
                         uint64_t *ret_covered, sd_bus_error *reterr);

/* Whether the kernel offers device-mapper (/dev/mapper/control can be opened). */
bool verity_kernel_has_device_mapper(void);

/* Sets up a read-only dm-verity device "name" over data_path (a block device: the loop device of
 * the partition) checked against the tree in hash_path at hash_offset; the kernel then verifies
 * every block as it is read. Returns the device node path (/dev/mapper/<name>). -EOPNOTSUPP
 * without device-mapper. verity_deactivate() removes it (deferred if still in use). */
int verity_activate(const char *data_path, const char *hash_path, uint64_t hash_offset, const uint8_t *root_hash,
                    size_t root_hash_size, const char *name, char **ret_node, sd_bus_error *reterr);
int verity_deactivate(const char *name);
