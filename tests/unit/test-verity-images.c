/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <criterion/criterion.h>
#include <criterion/new/assert.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <libgen.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "fd-util.h"
#include "image-dissect.h"
#include "image-policy.h"
#include "unit-helpers.h"
#include "verity-cache.h"
#include "verity-fixture.h"
#include "verity-signature.h"
#include "verity.h"

/* The images people ship, built here with systemd-repart (GPT: root, /usr, verity, signatures,
 * several architectures, no-auto) and mksquashfs + veritysetup (naked images with sidecars),
 * taken through what the image reader does: collect verity data, dissect, resolve the verity
 * setup, check signatures, check the policy, verify the data (loop devices for partitions), pin
 * the policy. Then each is tampered with and must be refused. Needs root for loop devices (repart
 * formats through them as well); skips without. */

static char *tmp, *tree, *trust_root;

static void setup(void) {
        vf_require("systemd-repart", "mksquashfs", "veritysetup", "openssl", NULL);
        if (!vf_have_loop())
                cr_skip_test("needs root and /dev/loop-control");
        tmp = unit_mkdtemp("verity-images");
        tree = vf_make_tree(tmp, "1");
        trust_root = unit_strf("%s/host", tmp);
        vf_make_key(tmp, "vendor");
        vf_make_key(tmp, "stranger");
        /* The host trusts the vendor. */
        _cleanup_free_ char *crt = unit_strf("%s/vendor.crt", tmp), *pem = unit_read(crt),
                            *trusted = unit_strf("%s/etc/verity.d/vendor.crt", trust_root);
        unit_write(trusted, pem);
}

static void teardown(void) {
        /* Whatever happened, no loop device may stay behind on our images. */
        if (tmp)
                (void) unit_run("for f in '%s'/*.raw; do losetup -j \"$f\" -O NAME -n | xargs -r -n1 losetup -d; done "
                                ">/dev/null 2>&1", tmp);
        unit_rm_rf(tmp);
        free(tmp);
        free(tree);
        free(trust_root);
}

TestSuite(verity_images, .init = setup, .fini = teardown, .timeout = 120);

/* ------------------------------------------------------------------------ the reader's flow */

typedef struct Outcome {
        int r;
        char *message;
        DissectedImage m;
        VeritySignatureResult signature[2]; /* root, usr */
        uint64_t covered[2];
        bool from_cache[2];
        char *pin;
} Outcome;

static void outcome_done(Outcome *o) {
        free(o->message);
        dissected_image_done(&o->m);
        free(o->pin);
        *o = (Outcome) {};
}

/* Everything up to mounting, in the order the reader must do it: nothing of the file systems is
 * read before the policy has been checked. */
static int flow(const char *image, const char *policy, VerityCache *cache, Outcome *o, sd_bus_error *error) {
        _cleanup_(verity_data_done) VerityData vd = VERITY_DATA_NULL;
        _cleanup_(image_policy_freep) ImagePolicy *p = NULL, *pin = NULL;
        _cleanup_close_ int dir_fd = -EBADF, image_fd = -EBADF;
        _cleanup_free_ char *copy = unit_strf("%s", image), *copy2 = unit_strf("%s", image);
        const char *name = basename(copy);
        VerityTarget targets[2] = { VERITY_TARGET_NULL, VERITY_TARGET_NULL };
        DissectHints hints;
        int r;

        dir_fd = open(dirname(copy2), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        image_fd = open(image, O_RDONLY | O_CLOEXEC);
        cr_assert(dir_fd >= 0 && image_fd >= 0);

        /* The daemon: sidecars and xattrs. */
        r = verity_data_load(dir_fd, name, image_fd, &vd, error);
        if (r < 0)
                return r;
        verity_data_hints(&vd, &hints);

        /* The reader child, from here on with fds only. */
        r = image_dissect(image_fd, name, &hints, &o->m, error);
        if (r < 0)
                return r;

        for (PartitionDesignator d = PARTITION_ROOT; d <= PARTITION_USR; d++) {
                _cleanup_free_ char *detail = NULL;

                r = verity_target_resolve(image_fd, &o->m, d, &vd, &targets[d], error);
                if (r < 0)
                        goto finish;
                if (r == 0)
                        continue;
                r = verity_signature_check(targets[d].root_hash, targets[d].root_hash_size, targets[d].signature,
                                           targets[d].signature_size, trust_root, &o->signature[d], &detail);
                cr_assert(eq(int, r, 0));
                r = verity_apply_signature(&o->m, d, o->signature[d], detail, error);
                if (r < 0)
                        goto finish;
        }

        if (policy)
                cr_assert(eq(int, image_policy_from_string(policy, &p, NULL), 0));
        r = image_policy_check(p, &o->m, error);
        if (r < 0)
                goto finish;

        for (PartitionDesignator d = PARTITION_ROOT; d <= PARTITION_USR; d++) {
                _cleanup_free_ char *node = unit_strf("%s/loop-%d", tmp, d);
                VerityIdentity id;
                bool cacheable;

                if (targets[d].hash_fd < 0 || !o->m.partitions[d].found)
                        continue;
                cacheable = verity_identity_from_fd(image_fd, targets[d].data_offset, targets[d].root_hash,
                                                    targets[d].root_hash_size, &id) >= 0;
                if (cacheable && verity_cache_lookup(cache, &id, &o->covered[d]) > 0) {
                        o->from_cache[d] = true;
                        continue;
                }
                r = verity_target_verify(image_fd, &targets[d], name, node, &o->covered[d], error);
                if (r < 0)
                        goto finish;
                if (cacheable && cache)
                        cr_assert(eq(int, verity_cache_add(cache, &id, o->covered[d]), 0));
        }

        cr_assert(eq(int, image_policy_pin(&o->m, &pin), 0));
        cr_assert(eq(int, image_policy_to_string(pin, true, &o->pin), 0));
        r = 0;
finish:
        verity_target_done(&targets[0]);
        verity_target_done(&targets[1]);
        return r;
}

static int run(const char *image, const char *policy, VerityCache *cache, Outcome *o) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;

        o->r = flow(image, policy, cache, o, &error);
        o->message = error.message ? strdup(error.message) : NULL;
        if (o->r >= 0)
                cr_assert(zero(ptr, o->message), "success with a message: %s", o->message);
        /* The loop devices of the verification are gone with their fds. */
        cr_assert(unit_wait_no_loop(image, 2000), "a loop device is left on %s", image);
        return o->r;
}

static void assert_ok(const char *image, const char *policy, Outcome *o) {
        run(image, policy, NULL, o);
        cr_assert(eq(int, o->r, 0), "%s: %s", image, strna(o->message));
}

static void assert_refused(const char *image, const char *policy, int error, const char *in_message) {
        _cleanup_(outcome_done) Outcome o = {};

        run(image, policy, NULL, &o);
        cr_assert(eq(int, o.r, error), "%s: got %d (%s), want %d", image, o.r, strna(o.message), error);
        cr_assert(not(zero(ptr, strstr(strempty(o.message), in_message))), "'%s' not in: %s", in_message, strna(o.message));
        cr_assert(not(zero(ptr, strstr(o.message, ".raw"))), "the image is not named: %s", o.message);
}

/* --------------------------------------------------------------------------------- builders */

static const char *type_name(PartitionDesignator d, Architecture a) {
        return gpt_partition_type_find(d, a)->name;
}

static char *data_def(PartitionDesignator d, Architecture a, const char *verity_key, const char *extra) {
        return unit_strf("[Partition]\nType=%s\nFormat=squashfs\nCopyFiles=%s:/\nSizeMinBytes=1M\nSizeMaxBytes=1M\n%s%s%s%s",
                         type_name(d, a), tree, verity_key ? "Verity=data\nVerityMatchKey=" : "", strempty(verity_key),
                         verity_key ? "\n" : "", strempty(extra));
}

static char *hash_def(PartitionDesignator d, Architecture a, const char *key) {
        return unit_strf("[Partition]\nType=%s\nVerity=hash\nVerityMatchKey=%s\nSizeMinBytes=128K\nSizeMaxBytes=128K\n",
                         type_name(partition_verity_of(d), a), key);
}

static char *sig_def(PartitionDesignator d, Architecture a, const char *key) {
        return unit_strf("[Partition]\nType=%s\nVerity=signature\nVerityMatchKey=%s\n",
                         type_name(partition_verity_sig_of(d), a), key);
}

static char *gpt_signed(const char *name, PartitionDesignator d, const char *key) {
        char *defs[] = {
                data_def(d, architecture_native(), "k", NULL),
                hash_def(d, architecture_native(), "k"),
                sig_def(d, architecture_native(), "k"),
        };
        return vf_gpt(tmp, name, key, defs, ELEMENTSOF(defs), NULL);
}

static void sidecar(const char *image, const char *suffix, const char *content) {
        _cleanup_free_ char *p = unit_strf("%.*s%s", (int) (strlen(image) - 4), image, suffix);

        unit_write(p, content);
}

/* A naked squashfs NAME.raw with NAME.verity, and NAME.roothash (or the hash as xattr, or as
 * NAME.usrhash), optionally NAME.roothash.p7s signed by key. Returns the image path. */
static char *naked(const char *name, const char *hash_as, const char *key) {
        char *img = unit_strf("%s/%s", tmp, name);
        _cleanup_free_ char *hash_file = unit_strf("%.*s.verity", (int) (strlen(img) - 4), img),
                            *hex = vf_make_naked_verity(tree, img, hash_file);

        if (streq(hash_as, "xattr"))
                cr_assert(eq(int, setxattr(img, "user.verity.roothash", hex, strlen(hex), 0), 0),
                          "user xattrs: %s", strerror(errno));
        else
                sidecar(img, hash_as, hex);
        if (key) {
                _cleanup_free_ char *p7s = unit_strf("%.*s%s.p7s", (int) (strlen(img) - 4), img, hash_as);
                vf_sign(tmp, key, hex, p7s);
        }
        return img;
}

/* ------------------------------------------------------------------------------ the layouts */

Test(verity_images, root_only) {
        _cleanup_(outcome_done) Outcome o = {};
        char *defs[] = { data_def(PARTITION_ROOT, architecture_native(), NULL, NULL) };
        _cleanup_free_ char *img = vf_gpt(tmp, "root.raw", NULL, defs, 1, NULL);

        assert_ok(img, NULL, &o);
        cr_assert(o.m.partitioned);
        cr_assert(eq(int, o.m.partitions[PARTITION_ROOT].protection, PARTITION_UNPROTECTED));
        assert_str(o.m.partitions[PARTITION_ROOT].fstype, "squashfs");
        cr_assert(eq(int, o.m.partitions[PARTITION_ROOT].architecture, architecture_native()));
        assert_str(o.pin, "root=squashfs:=absent");

        assert_refused(img, "root=verity:=absent", -ERFKILL, "partition 'root' is not protected by verity");
}

Test(verity_images, usr_only) {
        _cleanup_(outcome_done) Outcome o = {};
        char *defs[] = { data_def(PARTITION_USR, architecture_native(), NULL, NULL) };
        _cleanup_free_ char *img = vf_gpt(tmp, "usr.raw", NULL, defs, 1, NULL);

        assert_ok(img, NULL, &o);
        cr_assert(not(o.m.partitions[PARTITION_ROOT].found));
        cr_assert(o.m.partitions[PARTITION_USR].found);
        assert_str(o.pin, "usr=squashfs:=absent");
}

Test(verity_images, root_and_usr) {
        _cleanup_(outcome_done) Outcome o = {};
        char *defs[] = {
                data_def(PARTITION_ROOT, architecture_native(), NULL, NULL),
                data_def(PARTITION_USR, architecture_native(), NULL, NULL),
        };
        _cleanup_free_ char *img = vf_gpt(tmp, "root-usr.raw", NULL, defs, 2, NULL);

        assert_ok(img, NULL, &o);
        cr_assert(o.m.partitions[PARTITION_ROOT].found);
        cr_assert(o.m.partitions[PARTITION_USR].found);
        cr_assert(lt(u64, o.m.partitions[PARTITION_ROOT].offset, o.m.partitions[PARTITION_USR].offset));
        assert_str(o.pin, "root=squashfs:usr=squashfs:=absent");
}

Test(verity_images, root_with_verity_and_roothash_sidecar) {
        _cleanup_(outcome_done) Outcome o = {}, bare = {};
        _cleanup_free_ char *hex = NULL;
        char *defs[] = {
                data_def(PARTITION_ROOT, architecture_native(), "root", NULL),
                hash_def(PARTITION_ROOT, architecture_native(), "root"),
        };
        _cleanup_free_ char *img = vf_gpt(tmp, "root-verity.raw", NULL, defs, 2, &hex);

        /* Without a root hash, the hash tree cannot protect anything. */
        assert_ok(img, NULL, &bare);
        cr_assert(eq(int, bare.m.partitions[PARTITION_ROOT].protection, PARTITION_UNPROTECTED));
        cr_assert(bare.m.partitions[PARTITION_ROOT_VERITY].found);

        sidecar(img, ".roothash", hex);
        assert_ok(img, "root=verity:=absent", &o);
        cr_assert(eq(int, o.m.partitions[PARTITION_ROOT].protection, PARTITION_VERITY));
        cr_assert(eq(int, o.signature[PARTITION_ROOT], VERITY_SIGNATURE_UNSIGNED));
        cr_assert(eq(u64, o.covered[PARTITION_ROOT], o.m.partitions[PARTITION_ROOT].size), "repart covers the partition");
        assert_str(o.pin, "root=verity+squashfs:=absent");

        assert_refused(img, "root=signed:=absent", -ERFKILL, "partition 'root' is verity-protected but not signed");
}

Test(verity_images, root_with_verity_and_signature) {
        _cleanup_(outcome_done) Outcome o = {};
        _cleanup_free_ char *img = gpt_signed("signed.raw", PARTITION_ROOT, "vendor");

        /* The signature partition carries the root hash; the vendor's key is trusted. */
        assert_ok(img, "root=signed:=absent", &o);
        cr_assert(eq(int, o.signature[PARTITION_ROOT], VERITY_SIGNATURE_TRUSTED));
        cr_assert(eq(int, o.m.partitions[PARTITION_ROOT].protection, PARTITION_SIGNED));
        cr_assert(o.m.partitions[PARTITION_ROOT_VERITY_SIG].found);
        assert_str(o.pin, "root=signed+squashfs:=absent");
}

Test(verity_images, signed_by_an_untrusted_key) {
        _cleanup_(outcome_done) Outcome o = {};
        _cleanup_free_ char *img = gpt_signed("stranger.raw", PARTITION_ROOT, "stranger");

        /* Still verity-protected and verified, but not signed as far as this host is concerned. */
        assert_ok(img, NULL, &o);
        cr_assert(eq(int, o.signature[PARTITION_ROOT], VERITY_SIGNATURE_UNTRUSTED));
        cr_assert(eq(int, o.m.partitions[PARTITION_ROOT].protection, PARTITION_VERITY));
        assert_str(o.pin, "root=verity+squashfs:=absent");

        assert_refused(img, "root=signed:=absent", -ERFKILL, "partition 'root' is verity-protected, but its signature is "
                       "not trusted, which the image policy rule 'root=signed' does not allow");
}

Test(verity_images, usr_with_verity_and_signature) {
        _cleanup_(outcome_done) Outcome o = {};
        _cleanup_free_ char *img = gpt_signed("usr-signed.raw", PARTITION_USR, "vendor");

        assert_ok(img, "usr=signed:=absent", &o);
        cr_assert(not(o.m.partitions[PARTITION_ROOT].found));
        cr_assert(eq(int, o.m.partitions[PARTITION_USR].protection, PARTITION_SIGNED));
        assert_str(o.pin, "usr=signed+squashfs:=absent");
}

Test(verity_images, unprotected_root_with_signed_usr) {
        _cleanup_(outcome_done) Outcome o = {};
        char *defs[] = {
                data_def(PARTITION_ROOT, architecture_native(), NULL, NULL),
                data_def(PARTITION_USR, architecture_native(), "usr", NULL),
                hash_def(PARTITION_USR, architecture_native(), "usr"),
                sig_def(PARTITION_USR, architecture_native(), "usr"),
        };
        _cleanup_free_ char *img = vf_gpt(tmp, "root-usr-signed.raw", "vendor", defs, 4, NULL);

        assert_ok(img, NULL, &o);
        cr_assert(eq(int, o.m.partitions[PARTITION_ROOT].protection, PARTITION_UNPROTECTED));
        cr_assert(eq(int, o.m.partitions[PARTITION_USR].protection, PARTITION_SIGNED));
        assert_str(o.pin, "root=squashfs:usr=signed+squashfs:=absent");
        assert_refused(img, "root=signed:usr=signed:=absent", -ERFKILL, "partition 'root' is not protected by verity");
}

Test(verity_images, two_architectures) {
        _cleanup_(outcome_done) Outcome o = {};
        Architecture sec = architecture_secondary();

        if (sec < 0)
                cr_skip_test("no secondary architecture here");
        char *defs[] = {
                data_def(PARTITION_ROOT, sec, NULL, NULL),
                data_def(PARTITION_ROOT, architecture_native(), NULL, NULL),
        };
        _cleanup_free_ char *img = vf_gpt(tmp, "two-arch.raw", NULL, defs, 2, NULL);

        assert_ok(img, NULL, &o);
        cr_assert(eq(int, o.m.partitions[PARTITION_ROOT].architecture, architecture_native()));
        cr_assert(eq(uint, o.m.partitions[PARTITION_ROOT].partno, 2));

        {
                _cleanup_(outcome_done) Outcome s = {};
                char *only_secondary[] = { data_def(PARTITION_ROOT, sec, NULL, NULL) };
                _cleanup_free_ char *simg = vf_gpt(tmp, "secondary.raw", NULL, only_secondary, 1, NULL);

                assert_ok(simg, NULL, &s);
                cr_assert(eq(int, s.m.partitions[PARTITION_ROOT].architecture, sec));
        }
}

Test(verity_images, foreign_architecture_only) {
        Architecture foreign = architecture_native() == ARCHITECTURE_ARM64 ? ARCHITECTURE_RISCV64 : ARCHITECTURE_ARM64;
        char *defs[] = { data_def(PARTITION_ROOT, foreign, NULL, NULL) };
        _cleanup_free_ char *img = vf_gpt(tmp, "foreign.raw", NULL, defs, 1, NULL),
                            *want = unit_strf("%s (partition 1, not for this architecture)", type_name(PARTITION_ROOT, foreign));

        assert_refused(img, NULL, -ENXIO, want);
}

Test(verity_images, no_auto) {
        _cleanup_(outcome_done) Outcome o = {};
        char *defs[] = { data_def(PARTITION_ROOT, architecture_native(), NULL, "NoAuto=yes\n") };
        _cleanup_free_ char *img = vf_gpt(tmp, "no-auto.raw", NULL, defs, 1, NULL);
        char *defs2[] = {
                data_def(PARTITION_ROOT, architecture_native(), NULL, "NoAuto=yes\nLabel=root-9\n"),
                data_def(PARTITION_ROOT, architecture_native(), NULL, "Label=root-1\n"),
        };
        _cleanup_free_ char *img2 = vf_gpt(tmp, "no-auto-2.raw", NULL, defs2, 2, NULL);

        assert_refused(img, NULL, -ENXIO, "marked no-auto");
        assert_ok(img2, NULL, &o);
        assert_str(o.m.partitions[PARTITION_ROOT].label, "root-1");
}

Test(verity_images, naked_with_sidecars) {
        _cleanup_(outcome_done) Outcome s = {}, u = {}, x = {}, plain = {};
        _cleanup_free_ char *signed_img = naked("naked.raw", ".roothash", "vendor"),
                            *usr_img = naked("naked-usr.raw", ".usrhash", NULL),
                            *unsigned_img = naked("naked-unsigned.raw", ".roothash", NULL),
                            *plain_img = unit_strf("%s/plain.raw", tmp);

        assert_ok(signed_img, "root=signed:=absent", &s);
        cr_assert(not(s.m.partitioned));
        cr_assert(eq(int, s.m.partitions[PARTITION_ROOT].protection, PARTITION_SIGNED));
        cr_assert(eq(u64, s.covered[PARTITION_ROOT], vf_file_size(signed_img)));
        /* What upstream's tests expect in RootImagePolicy=. */
        cr_assert(not(zero(ptr, strstr(s.pin, "root=signed+squashfs:"))), "%s", s.pin);

        assert_ok(usr_img, NULL, &u);
        cr_assert(not(u.m.partitions[PARTITION_ROOT].found));
        cr_assert(eq(int, u.m.partitions[PARTITION_USR].protection, PARTITION_VERITY));
        assert_str(u.pin, "usr=verity+squashfs:=absent");

        assert_ok(unsigned_img, NULL, &x);
        assert_refused(unsigned_img, "root=signed:=absent", -ERFKILL, "verity-protected but not signed");

        unit_make_fs_image("squashfs", tree, plain_img);
        assert_ok(plain_img, NULL, &plain);
        assert_refused(plain_img, "root=verity:=absent", -ERFKILL, "not protected by verity");
}

Test(verity_images, naked_with_xattr) {
        _cleanup_(outcome_done) Outcome o = {};
        _cleanup_free_ char *probe = unit_strf("%s/probe", tmp), *img = NULL;

        unit_write(probe, "");
        if (setxattr(probe, "user.test", "1", 1, 0) < 0)
                cr_skip_test("no user xattrs on %s", tmp);
        img = naked("naked-xattr.raw", "xattr", NULL);
        assert_ok(img, "root=verity:=absent", &o);
        cr_assert(eq(int, o.m.partitions[PARTITION_ROOT].protection, PARTITION_VERITY));
}

/* ------------------------------------------------------------------------------- tampering */

/* Flips a byte in the middle of the data partition d as dissected. */
static void flip_data(const char *img, PartitionDesignator d) {
        _cleanup_(outcome_done) Outcome o = {};
        _cleanup_close_ int fd = open(img, O_RDONLY | O_CLOEXEC);

        cr_assert(eq(int, image_dissect(fd, "x", NULL, &o.m, NULL), 0));
        cr_assert(o.m.partitions[d].found);
        vf_flip_byte(img, o.m.partitions[d].offset + o.m.partitions[d].size / 2);
}

Test(verity_images, flipped_data_byte_in_every_verity_layout) {
        _cleanup_free_ char *hex = NULL;
        char *defs[] = {
                data_def(PARTITION_ROOT, architecture_native(), "root", NULL),
                hash_def(PARTITION_ROOT, architecture_native(), "root"),
        };
        _cleanup_free_ char *sidecar_img = vf_gpt(tmp, "t-sidecar.raw", NULL, defs, 2, &hex),
                            *signed_img = gpt_signed("t-signed.raw", PARTITION_ROOT, "vendor"),
                            *usr_img = gpt_signed("t-usr.raw", PARTITION_USR, "vendor"),
                            *naked_img = naked("t-naked.raw", ".roothash", "vendor"),
                            *naked_usr = naked("t-naked-usr.raw", ".usrhash", NULL);

        sidecar(sidecar_img, ".roothash", hex);
        flip_data(sidecar_img, PARTITION_ROOT);
        flip_data(signed_img, PARTITION_ROOT);
        flip_data(usr_img, PARTITION_USR);
        vf_flip_byte(naked_img, vf_file_size(naked_img) / 2);
        vf_flip_byte(naked_usr, 4096 + 7);

        assert_refused(sidecar_img, NULL, -EBADMSG, "failed verification: the root file system does not match its root hash");
        assert_refused(signed_img, NULL, -EBADMSG, "failed verification: the root file system");
        assert_refused(usr_img, NULL, -EBADMSG, "failed verification: the /usr file system");
        assert_refused(naked_img, NULL, -EBADMSG, "failed verification");
        assert_refused(naked_usr, NULL, -EBADMSG, "failed verification: the /usr file system");
}

Test(verity_images, wrong_root_hash) {
        _cleanup_free_ char *hex = NULL;
        char *defs[] = {
                data_def(PARTITION_ROOT, architecture_native(), "root", NULL),
                hash_def(PARTITION_ROOT, architecture_native(), "root"),
        };
        _cleanup_free_ char *img = vf_gpt(tmp, "t-hash.raw", NULL, defs, 2, &hex), *naked_img = naked("t-hash-naked.raw", ".roothash", NULL);
        _cleanup_free_ char *naked_hash = unit_strf("%s/t-hash-naked.roothash", tmp), *naked_hex = unit_read(naked_hash);

        /* On a GPT image the root hash names the partitions (repart derives their UUIDs from it). */
        hex[10] = hex[10] == '0' ? '1' : '0';
        sidecar(img, ".roothash", hex);
        assert_refused(img, NULL, -EADDRNOTAVAIL, "no root partition matches the given root hash");

        /* On a naked image it can only be found out by checking. */
        naked_hex[10] = naked_hex[10] == '0' ? '1' : '0';
        sidecar(naked_img, ".roothash", naked_hex);
        assert_refused(naked_img, NULL, -EBADMSG, "failed verification: the root file system does not match its root hash");
}

Test(verity_images, root_hash_in_the_signature_partition_changed) {
        _cleanup_free_ char *img = gpt_signed("t-sig.raw", PARTITION_ROOT, "vendor");
        _cleanup_(outcome_done) Outcome o = {};
        _cleanup_close_ int fd = open(img, O_RDWR | O_CLOEXEC);
        const DissectedPartition *sig;
        char buf[128];

        /* Rewrite one hex digit of "rootHash" in the JSON: the signature no longer matches. */
        cr_assert(eq(int, image_dissect(fd, "x", NULL, &o.m, NULL), 0));
        sig = &o.m.partitions[PARTITION_ROOT_VERITY_SIG];
        cr_assert(sig->found);
        cr_assert(eq(long, (long) pread(fd, buf, sizeof(buf), (off_t) sig->offset), (long) sizeof(buf)));
        char *h = strstr(buf, "\"rootHash\":\"");
        cr_assert(not(zero(ptr, h)));
        h += strlen("\"rootHash\":\"") + 20;
        *h = *h == '0' ? '1' : '0';
        cr_assert(eq(long, (long) pwrite(fd, buf, sizeof(buf), (off_t) sig->offset), (long) sizeof(buf)));

        assert_refused(img, NULL, -EKEYREJECTED, "the signature of the root partition's root hash is invalid");
}

Test(verity_images, truncated_hash_tree) {
        _cleanup_free_ char *img = gpt_signed("t-tree.raw", PARTITION_ROOT, "vendor"),
                            *naked_img = naked("t-tree-naked.raw", ".roothash", NULL),
                            *tree_file = unit_strf("%s/t-tree-naked.verity", tmp);
        _cleanup_(outcome_done) Outcome o = {};
        _cleanup_close_ int fd = open(img, O_RDONLY | O_CLOEXEC);
        const DissectedPartition *v;

        /* Inside a partition a hash tree cannot be shorter than the partition: zero all of it after
         * the superblock, as if it had been cut off. */
        cr_assert(eq(int, image_dissect(fd, "x", NULL, &o.m, NULL), 0));
        v = &o.m.partitions[PARTITION_ROOT_VERITY];
        cr_assert(eq(int, unit_run("dd if=/dev/zero of='%s' bs=4096 seek=%llu count=%llu conv=notrunc status=none", img,
                                   (unsigned long long) (v->offset / 4096 + 1), (unsigned long long) (v->size / 4096 - 1)), 0));
        assert_refused(img, NULL, -EBADMSG, "failed verification");

        cr_assert(eq(int, truncate(tree_file, (off_t) (vf_file_size(tree_file) - 4096)), 0));
        assert_refused(naked_img, NULL, -EBADMSG, "failed verification");
}

Test(verity_images, untrusted_key_under_a_signed_policy) {
        _cleanup_free_ char *img = gpt_signed("t-key.raw", PARTITION_ROOT, "stranger"),
                            *naked_img = naked("t-key-naked.raw", ".roothash", "stranger");

        assert_refused(img, "root=signed:=absent", -ERFKILL, "its signature is not trusted");
        assert_refused(naked_img, "root=signed:=absent", -ERFKILL, "its signature is not trusted");
}

/* ------------------------------------------------------------------------------ the cache */

Test(verity_images, verified_once_until_the_image_changes) {
        _cleanup_(verity_cache_freep) VerityCache *cache = verity_cache_new(0);
        _cleanup_(outcome_done) Outcome first = {}, second = {}, third = {};
        _cleanup_free_ char *img = gpt_signed("cached.raw", PARTITION_ROOT, "vendor");

        cr_assert(eq(int, run(img, NULL, cache, &first), 0), "%s", strna(first.message));
        cr_assert(not(first.from_cache[PARTITION_ROOT]));
        cr_assert(eq(int, run(img, NULL, cache, &second), 0), "%s", strna(second.message));
        cr_assert(second.from_cache[PARTITION_ROOT]);
        cr_assert(eq(u64, second.covered[PARTITION_ROOT], first.covered[PARTITION_ROOT]));

        /* A changed image is a new image: checked again, and refused. */
        flip_data(img, PARTITION_ROOT);
        cr_assert(eq(int, run(img, NULL, cache, &third), -EBADMSG));
        cr_assert(not(third.from_cache[PARTITION_ROOT]));
}
