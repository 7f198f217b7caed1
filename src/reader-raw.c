/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <fcntl.h>
#include <libmount/libmount.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fd-util.h"
#include "image-policy.h"
#include "loop-device.h"
#include "path-util.h"
#include "portable-error.h"
#include "reader-protocol.h"
#include "reader-raw.h"
#include "verity-signature.h"

DEFINE_TRIVIAL_CLEANUP_FUNC(struct libmnt_context *, mnt_free_context);

void reader_raw_done(ReaderRaw *r) {
        dissected_image_done(&r->image);
        verity_target_done(&r->targets[PARTITION_ROOT]);
        verity_target_done(&r->targets[PARTITION_USR]);
        r->pinned_policy = mfree(r->pinned_policy);
}

static const char *what_of(PartitionDesignator d) {
        return d == PARTITION_USR ? "/usr" : "root";
}

/* Settles the protection of data partition d: its verity setup, and whether a key the host
 * trusts signed its root hash. */
static int check_signature(const ReaderRawArgs *a, ReaderRaw *r, PartitionDesignator d, sd_bus_error *reterr) {
        _cleanup_free_ char *detail = NULL;
        VerityTarget *t = &r->targets[d];
        int k;

        k = verity_target_resolve(a->image_fd, &r->image, d, a->verity, t, reterr);
        if (k <= 0)
                return k;

        k = verity_signature_check(t->root_hash, t->root_hash_size, t->signature, t->signature_size, a->trust_root,
                                   &r->signature[d], &detail);
        if (k < 0)
                return portable_error(reterr, k, NULL, "Image '%s': cannot check the signature of the root hash of its %s "
                                      "partition: %m", a->image, what_of(d));
        return verity_apply_signature(&r->image, d, r->signature[d], detail, reterr);
}

int reader_raw_check(const ReaderRawArgs *a, ReaderRaw *ret, sd_bus_error *reterr) {
        _cleanup_(reader_raw_done) ReaderRaw r = READER_RAW_NULL;
        _cleanup_(image_policy_freep) ImagePolicy *pin = NULL;
        DissectHints hints = {};
        int k;

        if (a->verity)
                verity_data_hints(a->verity, &hints);

        k = image_dissect(a->image_fd, a->image, &hints, &r.image, reterr);
        if (k < 0)
                return k;

        for (PartitionDesignator d = PARTITION_ROOT; d <= PARTITION_USR; d++) {
                k = check_signature(a, &r, d, reterr);
                if (k < 0)
                        return k;
        }

        /* Before anything of the file systems is read. */
        for (char * const *p = a->image_policies; p && *p; p++) {
                _cleanup_(image_policy_freep) ImagePolicy *policy = NULL;

                k = image_policy_from_string(*p, &policy, reterr);
                if (k < 0)
                        return k;
                k = image_policy_check(policy, &r.image, reterr);
                if (k < 0)
                        return k;
        }

        k = image_policy_pin(&r.image, &pin);
        if (k >= 0)
                k = image_policy_to_string(pin, /* simplify= */ true, &r.pinned_policy);
        if (k < 0)
                return k;

        *ret = r;
        r = READER_RAW_NULL;
        return 0;
}

/* 1 and the bytes covered if the daemon said this file passed with t's root hash before. The
 * identity is taken again here: the file may have changed since the daemon looked. */
static int verified_before(const ReaderRawArgs *a, const VerityTarget *t, uint64_t *ret_covered) {
        _cleanup_(verity_cache_freep) VerityCache *known = NULL;
        VerityIdentity id;

        if (a->n_verified == 0 ||
            verity_identity_from_fd(a->image_fd, t->data_offset, t->root_hash, t->root_hash_size, &id) < 0)
                return 0;

        known = verity_cache_new(a->n_verified);
        if (!known)
                return -ENOMEM;
        for (size_t i = 0; i < a->n_verified; i++)
                if (verity_cache_add(known, &a->verified[i], a->verified_covered[i]) < 0)
                        return -ENOMEM;
        return verity_cache_lookup(known, &id, ret_covered);
}

typedef struct Hashes {
        char *hex[2];
} Hashes;

static void hashes_done(Hashes *h) {
        free(h->hex[0]);
        free(h->hex[1]);
}

static int report(const ReaderRawArgs *a, ReaderRaw *r, int sock, const char *scratch_dir, uint64_t covered[2],
                  sd_bus_error *reterr) {
        _cleanup_(hashes_done) Hashes h = {};
        char **hex = h.hex;
        int k;

        for (PartitionDesignator d = PARTITION_ROOT; d <= PARTITION_USR; d++) {
                const DissectedPartition *p = r->image.partitions + d;

                if (!p->found)
                        continue;
                if (r->targets[d].hash_fd >= 0) {
                        hex[d] = verity_root_hash_to_hex(r->targets[d].root_hash, r->targets[d].root_hash_size);
                        if (!hex[d])
                                return -ENOMEM;
                }
                k = reader_send_partition(sock, d, p->fstype, p->protection, r->signature[d], hex[d]);
                if (k < 0)
                        return k;
        }

        for (PartitionDesignator d = PARTITION_ROOT; d <= PARTITION_USR; d++) {
                const VerityTarget *t = &r->targets[d];
                _cleanup_free_ char *node = NULL;
                int cached;

                if (!r->image.partitions[d].found || t->hash_fd < 0)
                        continue;

                cached = verified_before(a, t, &covered[d]);
                if (cached < 0)
                        return cached;
                if (!cached) {
                        node = path_join(scratch_dir, d == PARTITION_USR ? "verify-usr" : "verify-root");
                        if (!node)
                                return -ENOMEM;
                        k = verity_target_verify(a->image_fd, t, a->image, node, &covered[d], reterr);
                        if (k < 0)
                                return k;
                }
                k = reader_send_verified(sock, d, t->data_offset, hex[d], covered[d], cached);
                if (k < 0)
                        return k;
        }

        /* The last word before the untrusted file systems are touched. */
        return reader_send_layout(sock, r->pinned_policy);
}

static int mount_partition(const ReaderRawArgs *a, const DissectedPartition *p, PartitionDesignator d, uint64_t size,
                           const char *node, const char *target, sd_bus_error *reterr) {
        _cleanup_(mnt_free_contextp) struct libmnt_context *cxt = NULL;
        _cleanup_close_ int loop_fd = -EBADF;
        int k;

        loop_fd = loop_device_attach(a->image_fd, p->offset, size, node);
        if (loop_fd < 0)
                return portable_error(reterr, loop_fd, NULL, "Image '%s': cannot set up a loop device for its %s file system: %m",
                                      a->image, what_of(d));

        cxt = mnt_new_context();
        if (!cxt)
                return -ENOMEM;

        /* Never record anything in the host's utab: this mount lives and dies in our namespace. */
        if (mnt_context_disable_mtab(cxt, 1) < 0 || mnt_context_disable_helpers(cxt, 1) < 0 ||
            mnt_context_set_source(cxt, node) < 0 || mnt_context_set_target(cxt, target) < 0 ||
            mnt_context_set_fstype(cxt, p->fstype) < 0 || mnt_context_set_options(cxt, "ro,nosuid,nodev,noexec") < 0)
                return -ENOMEM;

        k = mnt_context_mount(cxt);
        if (k != 0 || mnt_context_get_status(cxt) != 1) {
                char message[512] = "";
                int syscall_errno = mnt_context_syscall_called(cxt) ? mnt_context_get_syscall_errno(cxt) : 0;

                (void) mnt_context_get_excode(cxt, k, message, sizeof(message));
                return portable_error(reterr, syscall_errno ?: EIO, SD_BUS_ERROR_INVALID_ARGS,
                                      "Image '%s': cannot mount its %s file system (%s; corrupt or truncated?): %s",
                                      a->image, what_of(d), p->fstype,
                                      message[0] ? message : strerror(syscall_errno ?: EIO));
        }

        /* The mount holds the loop device now; with autoclear it goes away with the mount, i.e.
         * with our mount namespace. */
        (void) unlink(node);
        return 0;
}

int reader_raw_mount(const ReaderRawArgs *a, ReaderRaw *r, int sock, const char *where, const char *scratch_dir,
                     sd_bus_error *reterr) {
        const DissectedPartition *root = dissected_image_root(&r->image), *usr = dissected_image_usr(&r->image);
        _cleanup_free_ char *usr_dir = NULL, *root_node = NULL, *usr_node = NULL;
        uint64_t covered[2] = {};
        struct stat st;
        int k;

        if (!root && !usr)
                return portable_error(reterr, ENXIO, SD_BUS_ERROR_INVALID_ARGS,
                                      "Image '%s': no root or /usr file system is left to mount.", a->image);

        k = report(a, r, sock, scratch_dir, covered, reterr);
        if (k < 0)
                return k;

        usr_dir = path_join(where, "usr");
        root_node = path_join(scratch_dir, "loop-root");
        usr_node = path_join(scratch_dir, "loop-usr");
        if (!usr_dir || !root_node || !usr_node)
                return -ENOMEM;

        if (root) {
                k = mount_partition(a, root, PARTITION_ROOT, covered[PARTITION_ROOT] ?: root->size, root_node, where,
                                    reterr);
                if (k < 0)
                        return k;
        }
        if (!usr)
                return 0;

        if (!root) {
                /* /usr alone: an empty root around it, as the specification has it. */
                if (mkdir(usr_dir, 0755) < 0)
                        return portable_error(reterr, errno, NULL, "Image '%s': cannot prepare the mount point for /usr: %m",
                                              a->image);
        } else if (fstatat(AT_FDCWD, usr_dir, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISDIR(st.st_mode))
                /* Not followed if it is a symlink: it could lead anywhere in our namespace. */
                return portable_error(reterr, ENOTDIR, SD_BUS_ERROR_INVALID_ARGS,
                                      "Image '%s': its root file system has no /usr directory to mount the /usr partition "
                                      "on, refusing.", a->image);

        return mount_partition(a, usr, PARTITION_USR, covered[PARTITION_USR] ?: usr->size, usr_node, usr_dir, reterr);
}
