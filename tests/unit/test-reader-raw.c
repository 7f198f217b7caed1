/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <criterion/criterion.h>
#include <criterion/new/assert.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "fd-util.h"
#include "image-dissect.h"
#include "image-metadata.h"
#include "image.h"
#include "strv.h"
#include "unit-helpers.h"
#include "verity-cache.h"
#include "verity-fixture.h"

/* Raw images of every layout, built here with systemd-repart and veritysetup, read through the
 * real reader (image_read_metadata_request(): the forked, confined child of reader-raw.c and the
 * checks of reader-receive.c): root and /usr mounted together, verity checked before mounting,
 * signatures against a trust root of our own, image policies, the cache, and tampering. After
 * every read no loop device may remain on the image. Needs root. */

static char *tmp, *tree, *root_tree, *trust_root;

static void setup(void) {
        unit_skip_reader_tests_under_valgrind();
        vf_require("systemd-repart", "mksquashfs", "veritysetup", "openssl", NULL);
        if (!vf_have_loop())
                cr_skip_test("needs root and /dev/loop-control");
        tmp = unit_mkdtemp("reader-raw");
        tree = vf_make_tree(tmp, "1");
        /* A root file system for a separate /usr: its own unit, an empty /usr to mount on. */
        root_tree = unit_strf("%s/root-tree", tmp);
        _cleanup_free_ char *u = unit_strf("%s/etc/systemd/system/vf-root.service", root_tree),
                            *usr = unit_strf("%s/usr", root_tree);
        unit_write(u, "[Service]\nExecStart=/bin/true\n");
        unit_mkdir_p(usr, 0755);

        trust_root = unit_strf("%s/host", tmp);
        vf_make_key(tmp, "vendor");
        vf_make_key(tmp, "stranger");
        _cleanup_free_ char *crt = unit_strf("%s/vendor.crt", tmp), *pem = unit_read(crt),
                            *trusted = unit_strf("%s/etc/verity.d/vendor.crt", trust_root);
        unit_write(trusted, pem);
}

static void teardown(void) {
        if (tmp)
                (void) unit_run("for f in '%s'/*.raw; do losetup -j \"$f\" -O NAME -n | xargs -r -n1 losetup -d; done "
                                ">/dev/null 2>&1", tmp);
        unit_rm_rf(tmp);
        free(tmp);
        free(tree);
        free(root_tree);
        free(trust_root);
}

TestSuite(reader_raw, .init = setup, .fini = teardown, .timeout = 180);

/* --------------------------------------------------------------------------------- builders */

static const char *type_name(PartitionDesignator d) {
        return gpt_partition_type_find(d, architecture_native())->name;
}

/* A data partition of designator d holding dir, verity-protected with match key k if not NULL. */
static char *data_def(PartitionDesignator d, const char *dir, const char *k) {
        return unit_strf("[Partition]\nType=%s\nFormat=squashfs\nCopyFiles=%s:/\nSizeMinBytes=1M\nSizeMaxBytes=1M\n%s%s%s",
                         type_name(d), dir, k ? "Verity=data\nVerityMatchKey=" : "", strempty(k), k ? "\n" : "");
}

static char *hash_def(PartitionDesignator d, const char *k) {
        return unit_strf("[Partition]\nType=%s\nVerity=hash\nVerityMatchKey=%s\nSizeMinBytes=128K\nSizeMaxBytes=128K\n",
                         type_name(partition_verity_of(d)), k);
}

static char *sig_def(PartitionDesignator d, const char *k) {
        return unit_strf("[Partition]\nType=%s\nVerity=signature\nVerityMatchKey=%s\n", type_name(partition_verity_sig_of(d)), k);
}

static char *usr_dir(void) {
        return unit_strf("%s/usr", tree);
}

/* Root with verity and a signature partition signed by key. */
static char *gpt_signed(const char *name, const char *key) {
        char *defs[] = { data_def(PARTITION_ROOT, tree, "k"), hash_def(PARTITION_ROOT, "k"), sig_def(PARTITION_ROOT, "k") };
        return vf_gpt(tmp, name, key, defs, ELEMENTSOF(defs), NULL);
}

static void sidecar(const char *image, const char *suffix, const char *content) {
        _cleanup_free_ char *p = unit_strf("%.*s%s", (int) (strlen(image) - 4), image, suffix);
        unit_write(p, content);
}

/* NAME.raw (squashfs of src) with NAME.verity and NAME<hash_suffix>, signed by key if given. */
static char *naked_of(const char *src, const char *name, const char *hash_suffix, const char *key) {
        char *img = unit_strf("%s/%s", tmp, name);
        _cleanup_free_ char *stem = unit_strf("%s", img);
        _cleanup_free_ char *hash_file = NULL, *hex = NULL;

        stem[strlen(stem) - strlen(".raw")] = '\0';
        hash_file = unit_strf("%s.verity", stem);
        hex = vf_make_naked_verity(src, img, hash_file);

        sidecar(img, hash_suffix, hex);
        if (key) {
                _cleanup_free_ char *p7s = unit_strf("%.*s%s.p7s", (int) (strlen(img) - 4), img, hash_suffix);
                vf_sign(tmp, key, hex, p7s);
        }
        return img;
}

static char *naked(const char *name, const char *hash_suffix, const char *key) {
        return naked_of(tree, name, hash_suffix, key);
}

static void flip_in_partition(const char *img, PartitionDesignator d) {
        _cleanup_(dissected_image_done) DissectedImage m = {};
        _cleanup_close_ int fd = open(img, O_RDONLY | O_CLOEXEC);

        cr_assert(eq(int, image_dissect(fd, "x", NULL, &m, NULL), 0));
        cr_assert(m.partitions[d].found);
        vf_flip_byte(img, m.partitions[d].offset + m.partitions[d].size / 2);
}

/* ---------------------------------------------------------------------------------- reading */

typedef struct Read {
        int r;
        PortableMetadata *m;
        char *message;
} Read;

static void read_done(Read *rd) {
        portable_metadata_free(rd->m);
        free(rd->message);
}

static Read read_image(const char *path, const char *policy, VerityCache *cache) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_(image_freep) Image *image = NULL;
        char *policies[] = { (char *) policy, NULL };
        const ImageReadRequest request = {
                .image_policies = policy ? policies : NULL,
                .trust_root = trust_root,
                .verity_cache = cache,
        };
        Read rd = {};

        cr_assert(eq(int, image_from_path(path, &image), 0), "image_from_path(%s)", path);
        rd.r = image_read_metadata_request(image, &request, &rd.m, &error);
        rd.message = error.message ? strdup(error.message) : NULL;
        if (rd.r < 0)
                cr_assert(zero(ptr, rd.m));
        cr_assert(unit_wait_no_loop(path, 3000), "a loop device is still bound to %s", path);
        return rd;
}

static const LayoutPartition *part(const Read *rd, PartitionDesignator d) {
        cr_assert(not(zero(ptr, rd->m->layout)), "no layout reported");
        return &rd->m->layout->partitions[d];
}

static void assert_read_ok(const Read *rd, const char *path) {
        cr_assert(eq(int, rd->r, 0), "%s: %s", path, strna(rd->message));
        assert_str(rd->m->os_release.name, "/usr/lib/os-release");
        cr_assert(portable_metadata_find_unit(rd->m, "vf.service") != NULL, "vf.service not found in %s", path);
}

static void assert_refused(const char *path, const char *policy, int error, const char *needle) {
        _cleanup_(read_done) Read rd = read_image(path, policy, NULL);

        cr_assert(eq(int, rd.r, error), "%s: got %d (%s), want %d", path, rd.r, strna(rd.message), error);
        cr_assert(not(zero(ptr, strstr(strempty(rd.message), needle))), "'%s' not in: %s", needle, strna(rd.message));
        cr_assert(not(zero(ptr, strstr(rd.message, path))), "the image is not named: %s", rd.message);
}

/* ------------------------------------------------------------------------------ the layouts */

Test(reader_raw, root_only) {
        char *defs[] = { data_def(PARTITION_ROOT, tree, NULL) };
        _cleanup_free_ char *img = vf_gpt(tmp, "root.raw", NULL, defs, 1, NULL);
        _cleanup_(read_done) Read rd = read_image(img, NULL, NULL);

        assert_read_ok(&rd, img);
        cr_assert(part(&rd, PARTITION_ROOT)->found);
        cr_assert(not(part(&rd, PARTITION_USR)->found));
        assert_str(part(&rd, PARTITION_ROOT)->fstype, "squashfs");
        cr_assert(eq(int, part(&rd, PARTITION_ROOT)->protection, PARTITION_UNPROTECTED));
        cr_assert(zero(ptr, part(&rd, PARTITION_ROOT)->root_hash));
        assert_str(rd.m->layout->pinned_policy, "root=squashfs:=absent");
}

Test(reader_raw, usr_only_gets_an_empty_root) {
        _cleanup_free_ char *u = usr_dir();
        char *defs[] = { data_def(PARTITION_USR, u, NULL) };
        _cleanup_free_ char *img = vf_gpt(tmp, "usr.raw", NULL, defs, 1, NULL);
        _cleanup_(read_done) Read rd = read_image(img, NULL, NULL);

        /* /usr/lib/os-release and /usr/lib/systemd/system are found through the /usr mount. */
        assert_read_ok(&rd, img);
        cr_assert(not(part(&rd, PARTITION_ROOT)->found));
        cr_assert(part(&rd, PARTITION_USR)->found);
        assert_str(rd.m->layout->pinned_policy, "usr=squashfs:=absent");
}

Test(reader_raw, root_and_usr_are_one_tree) {
        _cleanup_free_ char *u = usr_dir();
        char *defs[] = { data_def(PARTITION_ROOT, root_tree, NULL), data_def(PARTITION_USR, u, NULL) };
        _cleanup_free_ char *img = vf_gpt(tmp, "root-usr.raw", NULL, defs, 2, NULL);
        _cleanup_(read_done) Read rd = read_image(img, NULL, NULL);

        assert_read_ok(&rd, img);
        /* From the root partition's /etc, next to the /usr partition's units. */
        cr_assert(portable_metadata_find_unit(rd.m, "vf-root.service") != NULL);
        cr_assert(part(&rd, PARTITION_ROOT)->found && part(&rd, PARTITION_USR)->found);
        assert_str(rd.m->layout->pinned_policy, "root=squashfs:usr=squashfs:=absent");
}

Test(reader_raw, root_without_a_usr_directory_for_the_usr_partition) {
        _cleanup_free_ char *u = usr_dir(), *bare = unit_strf("%s/bare-root", tmp),
                            *f = unit_strf("%s/etc/hostname", bare);
        unit_write(f, "x\n");
        char *defs[] = { data_def(PARTITION_ROOT, bare, NULL), data_def(PARTITION_USR, u, NULL) };
        _cleanup_free_ char *img = vf_gpt(tmp, "no-usr-dir.raw", NULL, defs, 2, NULL);

        assert_refused(img, NULL, -ENOTDIR, "its root file system has no /usr directory");
}

Test(reader_raw, root_with_verity_is_verified_and_cached) {
        _cleanup_(verity_cache_freep) VerityCache *cache = verity_cache_new(0);
        _cleanup_free_ char *hex = NULL;
        char *defs[] = { data_def(PARTITION_ROOT, tree, "r"), hash_def(PARTITION_ROOT, "r") };
        _cleanup_free_ char *img = vf_gpt(tmp, "verity.raw", NULL, defs, 2, &hex);

        sidecar(img, ".roothash", hex);
        {
                _cleanup_(read_done) Read first = read_image(img, "root=verity:=absent", cache);

                assert_read_ok(&first, img);
                cr_assert(eq(int, part(&first, PARTITION_ROOT)->protection, PARTITION_VERITY));
                cr_assert(eq(int, part(&first, PARTITION_ROOT)->signature, VERITY_SIGNATURE_UNSIGNED));
                assert_str(part(&first, PARTITION_ROOT)->root_hash, hex);
                cr_assert(part(&first, PARTITION_ROOT)->verified);
                cr_assert(not(part(&first, PARTITION_ROOT)->cached));
                assert_str(first.m->layout->pinned_policy, "root=verity+squashfs:=absent");
                cr_assert(eq(sz, verity_cache_size(cache), 1));
        }
        {
                _cleanup_(read_done) Read second = read_image(img, NULL, cache);

                assert_read_ok(&second, img);
                cr_assert(part(&second, PARTITION_ROOT)->verified);
                cr_assert(part(&second, PARTITION_ROOT)->cached, "the unchanged image was verified again");
        }

        /* A changed image is another image: checked again, and refused. */
        flip_in_partition(img, PARTITION_ROOT);
        {
                _cleanup_(read_done) Read third = read_image(img, NULL, cache);

                cr_assert(eq(int, third.r, -EBADMSG), "%s", strna(third.message));
                cr_assert(not(zero(ptr, strstr(strempty(third.message), "failed verification"))), "%s", third.message);
        }
}

Test(reader_raw, signed_root_and_the_hosts_keys) {
        _cleanup_free_ char *good = gpt_signed("signed.raw", "vendor"), *bad = gpt_signed("stranger.raw", "stranger");
        _cleanup_(read_done) Read g = read_image(good, "root=signed:=absent", NULL), b = read_image(bad, NULL, NULL);

        assert_read_ok(&g, good);
        cr_assert(eq(int, part(&g, PARTITION_ROOT)->protection, PARTITION_SIGNED));
        cr_assert(eq(int, part(&g, PARTITION_ROOT)->signature, VERITY_SIGNATURE_TRUSTED));
        cr_assert(part(&g, PARTITION_ROOT)->verified);
        assert_str(g.m->layout->pinned_policy, "root=signed+squashfs:=absent");

        /* Signed, but not by anyone this host trusts: usable without a policy, verity still checked. */
        assert_read_ok(&b, bad);
        cr_assert(eq(int, part(&b, PARTITION_ROOT)->protection, PARTITION_VERITY));
        cr_assert(eq(int, part(&b, PARTITION_ROOT)->signature, VERITY_SIGNATURE_UNTRUSTED));
        assert_str(b.m->layout->pinned_policy, "root=verity+squashfs:=absent");
        assert_refused(bad, "root=signed:=absent", -ERFKILL, "its signature is not trusted");
}

Test(reader_raw, naked_squashfs_with_sidecars) {
        _cleanup_free_ char *u_src = usr_dir(), *root_img = naked("naked.raw", ".roothash", "vendor"),
                            *usr_img = naked_of(u_src, "naked-usr.raw", ".usrhash", NULL);
        _cleanup_(read_done) Read r = read_image(root_img, "root=signed:=absent", NULL),
                              u = read_image(usr_img, "usr=verity:=absent", NULL);

        assert_read_ok(&r, root_img);
        cr_assert(eq(int, part(&r, PARTITION_ROOT)->protection, PARTITION_SIGNED));
        cr_assert(part(&r, PARTITION_ROOT)->verified);
        assert_str(r.m->layout->pinned_policy, "root=signed+squashfs:=absent");

        /* Only a /usr hash: the file system is /usr, below an empty root. */
        assert_read_ok(&u, usr_img);
        cr_assert(not(part(&u, PARTITION_ROOT)->found));
        cr_assert(eq(int, part(&u, PARTITION_USR)->protection, PARTITION_VERITY));
        cr_assert(part(&u, PARTITION_USR)->verified);
}

Test(reader_raw, policy_is_checked_before_verification_and_mount) {
        _cleanup_free_ char *img = gpt_signed("policy-first.raw", "stranger");

        /* Tampered data and a policy it fails: the policy speaks first, nothing was read. */
        flip_in_partition(img, PARTITION_ROOT);
        assert_refused(img, "root=signed:=absent", -ERFKILL, "partition 'root'");
        assert_refused(img, "root=unprotected:=absent", -ERFKILL, "partition 'root-verity' is present");
        assert_refused(img, NULL, -EBADMSG, "failed verification");

        /* Every policy of a request must be satisfied. */
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_(image_freep) Image *image = NULL;
        _cleanup_(portable_metadata_freep) PortableMetadata *m = NULL;
        char *both[] = { (char *) "*", (char *) "root=signed:=absent", NULL };
        const ImageReadRequest request = { .image_policies = both, .trust_root = trust_root };

        cr_assert(eq(int, image_from_path(img, &image), 0));
        cr_assert(eq(int, image_read_metadata_request(image, &request, &m, &error), -ERFKILL), "%s", strna(error.message));
}

Test(reader_raw, tampering_is_refused) {
        _cleanup_free_ char *hex = NULL;
        char *defs[] = { data_def(PARTITION_ROOT, tree, "t"), hash_def(PARTITION_ROOT, "t") };
        _cleanup_free_ char *sc = vf_gpt(tmp, "t-sidecar.raw", NULL, defs, 2, &hex), *sg = gpt_signed("t-signed.raw", "vendor"),
                            *nk = naked("t-naked.raw", ".roothash", NULL), *tr = naked("t-tree.raw", ".roothash", NULL),
                            *wrong = naked("t-wrong.raw", ".roothash", NULL),
                            *tree_file = unit_strf("%s/t-tree.verity", tmp),
                            *wrong_hash = unit_strf("%s/t-wrong.roothash", tmp), *wrong_hex = unit_read(wrong_hash);

        sidecar(sc, ".roothash", hex);
        flip_in_partition(sc, PARTITION_ROOT);
        flip_in_partition(sg, PARTITION_ROOT);
        vf_flip_byte(nk, vf_file_size(nk) / 2);
        cr_assert(eq(int, truncate(tree_file, (off_t) (vf_file_size(tree_file) - 4096)), 0));
        wrong_hex[10] = wrong_hex[10] == '0' ? '1' : '0';
        unit_write(wrong_hash, wrong_hex);

        assert_refused(sc, NULL, -EBADMSG, "failed verification: the root file system does not match its root hash");
        assert_refused(sg, NULL, -EBADMSG, "failed verification");
        assert_refused(nk, NULL, -EBADMSG, "failed verification");
        assert_refused(tr, NULL, -EBADMSG, "failed verification");
        assert_refused(wrong, NULL, -EBADMSG, "failed verification");
}

Test(reader_raw, root_hash_from_the_xattr) {
        _cleanup_free_ char *probe = unit_strf("%s/probe", tmp), *img = NULL, *side = NULL, *hex = NULL;

        unit_write(probe, "");
        if (setxattr(probe, "user.test", "1", 1, 0) < 0)
                cr_skip_test("no user xattrs on %s", tmp);

        /* The hash in the image's xattr, none next to it: the xattr alone protects it. */
        img = naked("xattr.raw", ".roothash", NULL);
        side = unit_strf("%s/xattr.roothash", tmp);
        hex = unit_read(side);
        cr_assert(eq(int, unlink(side), 0));
        cr_assert(eq(int, setxattr(img, "user.verity.roothash", hex, strlen(hex), 0), 0));
        {
                _cleanup_(read_done) Read rd = read_image(img, "root=verity:=absent", NULL);

                assert_read_ok(&rd, img);
                cr_assert(eq(int, part(&rd, PARTITION_ROOT)->protection, PARTITION_VERITY));
                cr_assert(part(&rd, PARTITION_ROOT)->verified);
        }

        /* A wrong one is found out. */
        hex[5] = hex[5] == '0' ? '1' : '0';
        cr_assert(eq(int, setxattr(img, "user.verity.roothash", hex, strlen(hex), 0), 0));
        assert_refused(img, NULL, -EBADMSG, "failed verification");
}
