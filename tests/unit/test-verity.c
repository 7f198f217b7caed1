/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <criterion/criterion.h>
#include <criterion/new/assert.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "fd-util.h"
#include "unit-helpers.h"
#include "verity-fixture.h"
#include "verity.h"

static char *tmp;

static void setup(void) {
        tmp = unit_mkdtemp("verity");
}

static void teardown(void) {
        unit_rm_rf(tmp);
        free(tmp);
}

TestSuite(verity, .init = setup, .fini = teardown);

static int open_dir(void) {
        int fd = open(tmp, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

        cr_assert(fd >= 0);
        return fd;
}

static int open_file(const char *name) {
        _cleanup_free_ char *p = unit_strf("%s/%s", tmp, name);
        int fd = open(p, O_RDONLY | O_CLOEXEC);

        cr_assert(fd >= 0, "%s", p);
        return fd;
}

static void put(const char *name, const char *content) {
        _cleanup_free_ char *p = unit_strf("%s/%s", tmp, name);

        unit_write(p, content);
}

/* ------------------------------------------------------------------------------ root hashes */

Test(verity, root_hash_hex) {
        static const struct {
                const char *text;
                int r;
                size_t size;
        } cases[] = {
                { "00112233445566778899aabbccddeeff", 0, 16 },
                { "00112233445566778899AABBCCDDEEFF00112233445566778899aabbccddeeff\n", 0, 32 },
                { "  00112233445566778899aabbccddeeff  \n", 0, 16 },
                { "00112233445566778899aabbccddee", -EINVAL, 0 },    /* 15 bytes */
                { "00112233445566778899aabbccddeeff0", -EINVAL, 0 }, /* odd */
                { "00112233445566778899aabbccddeeffzz", -EINVAL, 0 },
                { "0011223344556677 8899aabbccddeeff", -EINVAL, 0 },
                { "", -EINVAL, 0 },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                _cleanup_free_ uint8_t *h = NULL;
                size_t size = 0;

                cr_assert(eq(int, verity_root_hash_from_hex(cases[i].text, &h, &size), cases[i].r), "'%s'", cases[i].text);
                cr_assert(eq(sz, size, cases[i].size), "'%s'", cases[i].text);
        }

        _cleanup_free_ uint8_t *h = NULL;
        _cleanup_free_ char *back = NULL;
        size_t size;
        char long_hex[130];

        cr_assert(eq(int, verity_root_hash_from_hex("00FF10ab00112233445566778899aabb", &h, &size), 0));
        cr_assert(eq(int, h[1], 0xff));
        back = verity_root_hash_to_hex(h, size);
        assert_str(back, "00ff10ab00112233445566778899aabb");

        memset(long_hex, 'a', 128);
        long_hex[128] = '\0';
        h = mfree(h);
        cr_assert(eq(int, verity_root_hash_from_hex(long_hex, &h, &size), 0));
        cr_assert(eq(sz, size, 64));
        long_hex[128] = 'a';
        long_hex[129] = 'a';
        long_hex[130 - 1] = '\0';
        h = mfree(h);
        cr_assert(eq(int, verity_root_hash_from_hex(long_hex, &h, &size), -EINVAL), "odd length");
}

/* --------------------------------------------------------------------------------- sidecars */

#define HASH_A "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"
#define HASH_B "ffeeddccbbaa99887766554433221100ffeeddccbbaa99887766554433221100"

Test(verity, sidecars_next_to_the_image) {
        _cleanup_(verity_data_done) VerityData d = VERITY_DATA_NULL;
        _cleanup_close_ int dir = -EBADF, img = -EBADF;
        DissectHints h;

        put("foo.raw", "image");
        put("foo.roothash", HASH_A "\n");
        put("foo.roothash.p7s", "signature");
        put("foo.usrhash", HASH_B);
        put("foo.verity", "tree");
        put("foo.raw.roothash", HASH_B); /* not ours: the suffix replaces .raw */
        dir = open_dir();
        img = open_file("foo.raw");

        cr_assert(eq(int, verity_data_load(dir, "foo.raw", img, &d, NULL), 0));
        cr_assert(eq(sz, d.root_hash_size, 32));
        cr_assert(eq(int, d.root_hash[1], 0x11));
        assert_str(d.root_hash_source, "foo.roothash");
        cr_assert(eq(sz, d.usr_hash_size, 32));
        cr_assert(eq(int, d.usr_hash[0], 0xff));
        cr_assert(eq(sz, d.root_hash_sig_size, strlen("signature")));
        cr_assert(zero(ptr, d.usr_hash_sig));
        cr_assert(ge(int, d.hash_fd, 0));

        verity_data_hints(&d, &h);
        cr_assert(eq(ptr, (void *) h.root_hash, d.root_hash));
        cr_assert(eq(ptr, (void *) h.usr_hash, d.usr_hash));
        cr_assert(h.root_hash_sig);
        cr_assert(not(h.usr_hash_sig));
        cr_assert(h.hash_sidecar);
}

Test(verity, nothing_next_to_the_image) {
        _cleanup_(verity_data_done) VerityData d = VERITY_DATA_NULL;
        _cleanup_close_ int dir = -EBADF, img = -EBADF;
        DissectHints h;

        put("foo.raw", "image");
        put("foo.roothash.p7s", "signature"); /* without a hash it is not loaded */
        dir = open_dir();
        img = open_file("foo.raw");
        cr_assert(eq(int, verity_data_load(dir, "foo.raw", img, &d, NULL), 0));
        cr_assert(zero(ptr, d.root_hash));
        cr_assert(zero(ptr, d.root_hash_sig));
        cr_assert(eq(int, d.hash_fd, -EBADF));
        verity_data_hints(&d, &h);
        cr_assert(not(h.hash_sidecar));
        cr_assert(zero(ptr, (void *) h.root_hash));
}

Test(verity, names_without_raw_suffix_and_block_devices) {
        _cleanup_(verity_data_done) VerityData d = VERITY_DATA_NULL, n = VERITY_DATA_NULL;
        _cleanup_close_ int dir = -EBADF, img = -EBADF, null = open("/dev/null", O_RDONLY | O_CLOEXEC);

        put("image", "image");
        put("image.roothash", HASH_A);
        dir = open_dir();
        img = open_file("image");
        cr_assert(eq(int, verity_data_load(dir, "image", img, &d, NULL), 0));
        cr_assert(eq(sz, d.root_hash_size, 32));

        /* Not a regular file: no sidecars, no xattrs. */
        cr_assert(eq(int, verity_data_load(dir, "image", null, &n, NULL), 0));
        cr_assert(zero(ptr, n.root_hash));
}

Test(verity, xattrs_take_precedence) {
        _cleanup_(verity_data_done) VerityData d = VERITY_DATA_NULL;
        _cleanup_close_ int dir = -EBADF, img = -EBADF;
        _cleanup_free_ char *p = unit_strf("%s/foo.raw", tmp);

        put("foo.raw", "image");
        put("foo.roothash", HASH_A);
        if (setxattr(p, "user.verity.roothash", HASH_B, strlen(HASH_B), 0) < 0)
                cr_skip_test("no user xattrs on %s: %s", tmp, strerror(errno));
        cr_assert(eq(int, setxattr(p, "user.verity.usrhash", HASH_A, strlen(HASH_A), 0), 0));
        dir = open_dir();
        img = open_file("foo.raw");

        cr_assert(eq(int, verity_data_load(dir, "foo.raw", img, &d, NULL), 0));
        cr_assert(eq(int, d.root_hash[0], 0xff));
        assert_str(d.root_hash_source, "user.verity.roothash");
        cr_assert(eq(int, d.usr_hash[0], 0x00));
        assert_str(d.usr_hash_source, "user.verity.usrhash");
}

Test(verity, malformed_sidecars_are_refused_by_name) {
        static const struct {
                const char *file, *content, *in_message;
                int r;
        } cases[] = {
                { "foo.roothash", "not hex at all", "foo.roothash does not hold a root hash", -EINVAL },
                { "foo.usrhash", "0011", "foo.usrhash does not hold a root hash", -EINVAL },
                { "foo.roothash.p7s", "", "'foo.roothash.p7s' is empty", -EBADMSG },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
                _cleanup_(verity_data_done) VerityData d = VERITY_DATA_NULL;
                _cleanup_close_ int dir = -EBADF, img = -EBADF;

                (void) unit_run("rm -f '%s'/foo.*", tmp);
                put("foo.raw", "image");
                if (strstr(cases[i].file, "p7s"))
                        put("foo.roothash", HASH_A);
                put(cases[i].file, cases[i].content);
                dir = open_dir();
                img = open_file("foo.raw");
                cr_assert(eq(int, verity_data_load(dir, "foo.raw", img, &d, &error), cases[i].r), "%s", cases[i].file);
                cr_assert(not(zero(ptr, strstr(strempty(error.message), cases[i].in_message))), "%s", strna(error.message));
                cr_assert(not(zero(ptr, strstr(error.message, "foo.raw"))));
        }
}

Test(verity, sidecar_of_the_wrong_type) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_(verity_data_done) VerityData d = VERITY_DATA_NULL;
        _cleanup_close_ int dir = -EBADF, img = -EBADF;
        _cleanup_free_ char *v = unit_strf("%s/foo.verity", tmp), *r = unit_strf("%s/foo.roothash", tmp);

        put("foo.raw", "image");
        unit_mkdir_p(v, 0755);
        dir = open_dir();
        img = open_file("foo.raw");
        cr_assert(lt(int, verity_data_load(dir, "foo.raw", img, &d, &error), 0));
        cr_assert(not(zero(ptr, strstr(strempty(error.message), "foo.verity"))), "%s", strna(error.message));

        sd_bus_error_free(&error);
        cr_assert(eq(int, rmdir(v), 0));
        unit_mkdir_p(r, 0755);
        cr_assert(lt(int, verity_data_load(dir, "foo.raw", img, &d, &error), 0));
        cr_assert(not(zero(ptr, strstr(strempty(error.message), "foo.roothash"))), "%s", strna(error.message));
}

/* ---------------------------------------------------------------- the signature partition */

static int read_sig_partition(const char *json, uint64_t pad, uint8_t **hash, size_t *hs, uint8_t **sig, size_t *ss,
                              char **ret_message) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_free_ char *p = unit_strf("%s/disk", tmp), *buf = NULL;
        _cleanup_close_ int fd = -EBADF;
        size_t l = strlen(json);
        int r;

        /* The partition sits at 4 KiB into the "disk", zero-padded. */
        buf = calloc(1, 4096 + l + pad);
        memset(buf, 'X', 4096);
        memcpy(buf + 4096, json, l);
        unit_write_data(p, buf, 4096 + l + pad, 0644);
        fd = open(p, O_RDONLY | O_CLOEXEC);
        cr_assert(fd >= 0);
        r = verity_signature_partition_read(fd, 4096, l + pad, "disk.raw", hash, hs, sig, ss, &error);
        if (ret_message)
                *ret_message = error.message ? strdup(error.message) : NULL;
        return r;
}

Test(verity, signature_partition) {
        _cleanup_free_ uint8_t *hash = NULL, *sig = NULL;
        size_t hs = 0, ss = 0;

        cr_assert(eq(int, read_sig_partition("{\"rootHash\":\"" HASH_A "\",\"certificateFingerprint\":\"ab\","
                                             "\"signature\":\"c2lnbmF0dXJl\"}", 16384 - 200, &hash, &hs, &sig, &ss, NULL), 0));
        cr_assert(eq(sz, hs, 32));
        cr_assert(eq(int, hash[31], 0xff));
        cr_assert(eq(sz, ss, strlen("signature")));
        cr_assert(eq(int, memcmp(sig, "signature", ss), 0));

        /* Whitespace around, base64 over several lines: fine. */
        hash = mfree(hash);
        sig = mfree(sig);
        cr_assert(eq(int, read_sig_partition("\n{ \"signature\" : \"c2ln\nbmF0\ndXJl\", \"rootHash\" : \"" HASH_B "\" }\n",
                                             100, &hash, &hs, &sig, &ss, NULL), 0));
        cr_assert(eq(int, hash[0], 0xff));
        cr_assert(eq(sz, ss, strlen("signature")));
}

Test(verity, signature_partition_malformed) {
        static const struct {
                const char *json, *in_message;
        } cases[] = {
                { "", "does not hold a JSON object" },
                { "not json", "does not hold a JSON object" },
                { "[\"rootHash\"]", "does not hold a JSON object" },
                { "{\"rootHash\":\"" HASH_A "\"}", "does not hold a JSON object" },
                { "{\"signature\":\"c2ln\"}", "does not hold a JSON object" },
                { "{\"rootHash\":42,\"signature\":\"c2ln\"}", "does not hold a JSON object" },
                { "{\"rootHash\":\"" HASH_A "\",\"signature\":\"c2ln\"} trailing", "does not hold a JSON object" },
                { "{\"rootHash\":\"abc\",\"signature\":\"c2ln\"}", "invalid \"rootHash\"" },
                { "{\"rootHash\":\"" HASH_A "\",\"signature\":\"!!!not base64!!!\"}", "invalid \"signature\"" },
                { "{\"rootHash\":\"" HASH_A "\",\"signature\":\"\"}", "invalid \"signature\"" },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                _cleanup_free_ uint8_t *hash = NULL, *sig = NULL;
                _cleanup_free_ char *msg = NULL;
                size_t hs, ss;

                cr_assert(eq(int, read_sig_partition(cases[i].json, 64, &hash, &hs, &sig, &ss, &msg), -EBADMSG), "%s",
                          cases[i].json);
                cr_assert(not(zero(ptr, strstr(strempty(msg), cases[i].in_message))), "%s: %s", cases[i].json, strna(msg));
                cr_assert(not(zero(ptr, strstr(msg, "disk.raw"))));
        }
}

Test(verity, signature_partition_too_large) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_close_ int fd = open("/dev/zero", O_RDONLY | O_CLOEXEC);
        uint8_t *h, *s;
        size_t hs, ss;

        cr_assert(eq(int, verity_signature_partition_read(fd, 0, 5 * 1024 * 1024, "disk.raw", &h, &hs, &s, &ss, &error),
                     -EFBIG));
        cr_assert(not(zero(ptr, strstr(strempty(error.message), "larger than"))));
}

/* ----------------------------------------------------------------- user-space verification */

typedef struct Naked {
        char *image, *hash_file, *root_hash_hex;
        uint8_t *root_hash;
        size_t root_hash_size;
} Naked;

static void naked_done(Naked *n) {
        free(n->image);
        free(n->hash_file);
        free(n->root_hash_hex);
        free(n->root_hash);
}

static void make_naked(Naked *n) {
        _cleanup_free_ char *tree = vf_make_tree(tmp, "1");

        n->image = unit_strf("%s/naked.raw", tmp);
        n->hash_file = unit_strf("%s/naked.verity", tmp);
        n->root_hash_hex = vf_make_naked_verity(tree, n->image, n->hash_file);
        cr_assert(eq(int, verity_root_hash_from_hex(n->root_hash_hex, &n->root_hash, &n->root_hash_size), 0));
}

static int verify(const Naked *n, uint64_t data_limit, uint64_t *ret_covered, char **ret_message) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_close_ int data = open(n->image, O_RDONLY | O_CLOEXEC), hash = open(n->hash_file, O_RDONLY | O_CLOEXEC);
        int r;

        cr_assert(data >= 0 && hash >= 0);
        r = verity_verify(data, data_limit ?: vf_file_size(n->image), hash, 0, n->root_hash, n->root_hash_size,
                          "naked.raw", "the root file system", ret_covered, &error);
        if (ret_message)
                *ret_message = error.message ? strdup(error.message) : NULL;
        return r;
}

static void assert_fails_verification(const Naked *n, const char *why) {
        _cleanup_free_ char *msg = NULL;

        cr_assert(eq(int, verify(n, 0, NULL, &msg), -EBADMSG), "%s: verification passed", why);
        cr_assert(not(zero(ptr, strstr(strempty(msg), "Image 'naked.raw' failed verification: the root file system"))),
                  "%s: %s", why, strna(msg));
}

Test(verity, naked_image_verifies) {
        _cleanup_(naked_done) Naked n = {};
        uint64_t covered = 0;

        make_naked(&n);
        cr_assert(eq(int, verify(&n, 0, &covered, NULL), 0));
        cr_assert(eq(u64, covered, vf_file_size(n.image)), "squashfs is padded to 4 KiB, all of it is covered");
}

Test(verity, a_flipped_byte_anywhere_fails) {
        _cleanup_(naked_done) Naked n = {};
        uint64_t size, offsets[5];

        make_naked(&n);
        size = vf_file_size(n.image);
        offsets[0] = 0;
        offsets[1] = 100;
        offsets[2] = size / 2;
        offsets[3] = size - 4096;
        offsets[4] = size - 1; /* the padding at the very end counts too */

        for (size_t i = 0; i < ELEMENTSOF(offsets); i++) {
                _cleanup_free_ char *why = unit_strf("byte %llu flipped", (unsigned long long) offsets[i]);

                vf_flip_byte(n.image, offsets[i]);
                assert_fails_verification(&n, why);
                vf_flip_byte(n.image, offsets[i]); /* and back: it passes again */
                cr_assert(eq(int, verify(&n, 0, NULL, NULL), 0), "%s, then restored", why);
        }
}

Test(verity, wrong_root_hash_fails) {
        _cleanup_(naked_done) Naked n = {};

        make_naked(&n);
        n.root_hash[n.root_hash_size - 1] ^= 1;
        assert_fails_verification(&n, "last bit of the root hash flipped");
        n.root_hash[n.root_hash_size - 1] ^= 1;

        /* A prefix of the right hash is not the right hash. */
        n.root_hash_size = 16;
        assert_fails_verification(&n, "root hash cut to 16 bytes");
}

Test(verity, broken_hash_tree_fails) {
        _cleanup_(naked_done) Naked n = {};
        _cleanup_free_ char *msg = NULL;
        uint64_t tree_size;

        make_naked(&n);
        tree_size = vf_file_size(n.hash_file);

        /* A byte of the tree itself (the superblock is the first 4 KiB). */
        vf_flip_byte(n.hash_file, 4096 + 10);
        assert_fails_verification(&n, "byte in the hash tree flipped");
        vf_flip_byte(n.hash_file, 4096 + 10);

        /* Truncated. */
        cr_assert(eq(int, truncate(n.hash_file, (off_t) (tree_size - 4096)), 0));
        assert_fails_verification(&n, "hash tree truncated by a block");
        cr_assert(eq(int, truncate(n.hash_file, 4096), 0));
        assert_fails_verification(&n, "hash tree truncated to its superblock");

        /* No superblock at all. */
        cr_assert(eq(int, truncate(n.hash_file, 0), 0));
        cr_assert(eq(int, truncate(n.hash_file, (off_t) tree_size), 0));
        cr_assert(eq(int, verify(&n, 0, NULL, &msg), -EBADMSG));
        cr_assert(not(zero(ptr, strstr(strempty(msg), "no valid verity superblock"))), "%s", strna(msg));
}

Test(verity, tree_larger_than_the_data_fails) {
        _cleanup_(naked_done) Naked n = {};
        _cleanup_free_ char *msg = NULL;

        make_naked(&n);
        cr_assert(eq(int, verify(&n, vf_file_size(n.image) - 4096, NULL, &msg), -EBADMSG));
        cr_assert(not(zero(ptr, strstr(strempty(msg), "has a hash tree for"))), "%s", strna(msg));
}

Test(verity, naked_target_from_sidecars) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_(verity_target_done) VerityTarget t = VERITY_TARGET_NULL;
        _cleanup_(verity_data_done) VerityData d = VERITY_DATA_NULL;
        _cleanup_(dissected_image_done) DissectedImage m = {};
        _cleanup_(naked_done) Naked n = {};
        _cleanup_close_ int dir = -EBADF, img = -EBADF;
        uint64_t covered = 0;
        DissectHints h;

        make_naked(&n);
        put("naked.roothash", n.root_hash_hex);
        dir = open_dir();
        img = open_file("naked.raw");

        cr_assert(eq(int, verity_data_load(dir, "naked.raw", img, &d, &error), 0));
        verity_data_hints(&d, &h);
        cr_assert(eq(int, image_dissect(img, "naked.raw", &h, &m, &error), 0), "%s", error.message);
        cr_assert(eq(int, m.partitions[PARTITION_ROOT].protection, PARTITION_VERITY));

        cr_assert(eq(int, verity_target_resolve(img, &m, PARTITION_ROOT, &d, &t, &error), 1), "%s", error.message);
        cr_assert(eq(u64, t.data_offset, 0));
        cr_assert(eq(u64, t.hash_offset, 0));
        cr_assert(zero(ptr, t.signature));
        cr_assert(eq(int, verity_target_verify(img, &t, "naked.raw", "/nonexistent/no-loop-needed", &covered, &error), 0),
                  "%s", error.message);
        cr_assert(eq(u64, covered, vf_file_size(n.image)));

        /* /usr has no protection here: nothing to resolve. */
        verity_target_done(&t);
        cr_assert(eq(int, verity_target_resolve(img, &m, PARTITION_USR, &d, &t, &error), 0));
        cr_assert(eq(int, t.hash_fd, -EBADF));
}

Test(verity, device_mapper) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        char *node = NULL;
        uint8_t hash[32] = {};

        if (verity_kernel_has_device_mapper())
                cr_skip_test("the kernel has device-mapper: activation is covered by the image tests");
        /* Without device-mapper, activation says so instead of failing obscurely. */
        cr_assert(eq(int, verity_activate("/dev/null", "/dev/null", 0, hash, sizeof(hash), "vf-test", &node, &error),
                     -EOPNOTSUPP));
        cr_assert(not(zero(ptr, strstr(strempty(error.message), "no device-mapper"))));
        cr_assert(zero(ptr, node));
}

Test(verity, one_block_data_and_a_prefix_of_its_root_hash) {
        _cleanup_free_ char *data = unit_strf("%s/one.raw", tmp), *tree = unit_strf("%s/one.verity", tmp),
                            *out = unit_strf("%s/one.format", tmp), *text = NULL, *block = malloc(4096);
        _cleanup_(naked_done) Naked n = {};
        char hex[129];

        /* One data block: the tree is the superblock alone, and libcryptsetup would accept any
         * prefix of the root hash. */
        vf_require("veritysetup", NULL);
        memset(block, 'x', 4096);
        unit_write_data(data, block, 4096, 0644);
        cr_assert(eq(int, unit_run("veritysetup format '%s' '%s' >'%s'", data, tree, out), 0));
        text = unit_read(out);
        cr_assert(eq(int, sscanf(strstr(text, "Root hash:") + strlen("Root hash:"), " %128[0-9a-f]", hex), 1));

        n.image = unit_strf("%s", data);
        n.hash_file = unit_strf("%s", tree);
        cr_assert(eq(int, verity_root_hash_from_hex(hex, &n.root_hash, &n.root_hash_size), 0));
        cr_assert(eq(int, verify(&n, 0, NULL, NULL), 0));

        n.root_hash_size = 16;
        _cleanup_free_ char *msg = NULL;
        cr_assert(eq(int, verify(&n, 0, NULL, &msg), -EBADMSG));
        cr_assert(not(zero(ptr, strstr(strempty(msg), "root hash of 16 bytes where sha256 needs 32"))), "%s", strna(msg));
}
