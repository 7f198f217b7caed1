/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <criterion/criterion.h>
#include <criterion/new/assert.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "macro.h"
#include "unit-helpers.h"
#include "verity-signature.h"

/* Keys and signatures are made with the openssl tool at test time: "trusted" and "stranger". */
static char *tmp, *root;
static const uint8_t hash[32] = { 0xde, 0xad, 0xbe, 0xef, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12,
                                  13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28 };
static const char hash_hex[] = "deadbeef0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c";

static void make_key(const char *name) {
        cr_assert(eq(int, unit_run("openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes "
                                   "-keyout '%s/%s.key' -out '%s/%s.crt' -days 2 -subj /CN=%s >/dev/null 2>&1",
                                   tmp, name, tmp, name, name), 0));
}

static void setup(void) {
        if (!unit_have_program("openssl"))
                cr_skip_test("openssl is not installed");
        tmp = unit_mkdtemp("verity-signature");
        root = unit_strf("%s/root", tmp);
        unit_mkdir_p(root, 0755);
        make_key("trusted");
        make_key("stranger");
}

static void teardown(void) {
        unit_rm_rf(tmp);
        free(root);
        free(tmp);
}

TestSuite(verity_signature, .init = setup, .fini = teardown);

/* Signs text with key's key, detached DER as veritysetup users and repart make it. */
static uint8_t *sign(const char *key, const char *text, const char *extra, size_t *ret_size) {
        _cleanup_free_ char *in = unit_strf("%s/content", tmp), *out = unit_strf("%s/sig.der", tmp), *data = NULL;
        uint8_t *sig;
        struct stat st;

        unit_write(in, text);
        cr_assert(eq(int, unit_run("openssl smime -sign -binary -noattr %s -in '%s' -signer '%s/%s.crt' -inkey '%s/%s.key' "
                                   "-outform DER -out '%s'", extra, in, tmp, key, tmp, key, out), 0));
        cr_assert(eq(int, stat(out, &st), 0));
        data = unit_read(out);
        cr_assert(not(zero(ptr, data)));
        sig = malloc((size_t) st.st_size);
        memcpy(sig, data, (size_t) st.st_size);
        *ret_size = (size_t) st.st_size;
        return sig;
}

static void trust(const char *dir, const char *name, const char *key) {
        _cleanup_free_ char *from = unit_strf("%s/%s.crt", tmp, key), *to = unit_strf("%s/%s/%s", root, dir, name),
                            *pem = unit_read(from);

        unit_write(to, pem);
}

static VeritySignatureResult check_sig(const uint8_t *sig, size_t size, char **ret_detail) {
        VeritySignatureResult result = _VERITY_SIGNATURE_RESULT_INVALID;

        cr_assert(eq(int, verity_signature_check(hash, sizeof(hash), sig, size, root, &result, ret_detail), 0));
        return result;
}

Test(verity_signature, unsigned_) {
        _cleanup_free_ char *d = NULL;

        cr_assert(eq(int, check_sig(NULL, 0, &d), VERITY_SIGNATURE_UNSIGNED));
        cr_assert(eq(int, check_sig(hash, 0, NULL), VERITY_SIGNATURE_UNSIGNED));
        assert_str(verity_signature_result_to_string(VERITY_SIGNATURE_UNSIGNED), "unsigned");
        assert_str(verity_signature_result_to_string(VERITY_SIGNATURE_BAD), "bad");
        cr_assert(zero(ptr, (void *) verity_signature_result_to_string(_VERITY_SIGNATURE_RESULT_MAX)));
}

Test(verity_signature, trusted_in_every_directory) {
        static const char *const dirs[] = { "etc/verity.d", "run/verity.d", "usr/local/lib/verity.d", "usr/lib/verity.d" };
        size_t size;
        _cleanup_free_ uint8_t *sig = sign("trusted", hash_hex, "", &size);

        for (size_t i = 0; i < ELEMENTSOF(dirs); i++) {
                _cleanup_free_ char *d = NULL, *dir = unit_strf("%s/%s", root, dirs[i]),
                                    *file = unit_strf("%s/key.crt", dir);

                trust(dirs[i], "key.crt", "trusted");
                cr_assert(eq(int, check_sig(sig, size, &d), VERITY_SIGNATURE_TRUSTED), "%s", dirs[i]);
                cr_assert(not(zero(ptr, strstr(d, "CN=trusted"))), "%s", d);
                cr_assert(eq(int, unlink(file), 0));
        }
}

Test(verity_signature, untrusted_signer) {
        _cleanup_free_ char *d1 = NULL, *d2 = NULL;
        size_t s1, s2;
        _cleanup_free_ uint8_t *with_cert = sign("stranger", hash_hex, "", &s1),
                               *without_cert = sign("stranger", hash_hex, "-nocerts", &s2);

        trust("etc/verity.d", "trusted.crt", "trusted");
        cr_assert(eq(int, check_sig(with_cert, s1, &d1), VERITY_SIGNATURE_UNTRUSTED));
        cr_assert(not(zero(ptr, strstr(d1, "CN=stranger"))), "%s", d1);
        cr_assert(not(zero(ptr, strstr(d1, "not a trusted key"))), "%s", d1);
        cr_assert(eq(int, check_sig(without_cert, s2, &d2), VERITY_SIGNATURE_UNTRUSTED));
        cr_assert(not(zero(ptr, strstr(d2, "not trusted"))), "%s", d2);
}

Test(verity_signature, no_trusted_certificates_at_all) {
        size_t size;
        _cleanup_free_ uint8_t *sig = sign("trusted", hash_hex, "", &size);

        cr_assert(eq(int, check_sig(sig, size, NULL), VERITY_SIGNATURE_UNTRUSTED));
}

Test(verity_signature, trusted_key_other_content_is_bad) {
        _cleanup_free_ char *d = NULL;
        size_t s1, s2, s3;
        /* Another root hash; the same one with a newline; the same one in upper case. */
        _cleanup_free_ uint8_t *other = sign("trusted", "00000000000000000000000000000000", "", &s1),
                               *newline = NULL, *upper = NULL;
        _cleanup_free_ char *nl = unit_strf("%s\n", hash_hex), *up = unit_strf("%s", hash_hex);

        for (char *p = up; *p; p++)
                if (*p >= 'a' && *p <= 'f')
                        *p = (char) (*p - 'a' + 'A');
        newline = sign("trusted", nl, "", &s2);
        upper = sign("trusted", up, "", &s3);

        trust("etc/verity.d", "trusted.crt", "trusted");
        cr_assert(eq(int, check_sig(other, s1, &d), VERITY_SIGNATURE_BAD));
        cr_assert(not(zero(ptr, strstr(d, "does not match"))), "%s", d);
        cr_assert(eq(int, check_sig(newline, s2, NULL), VERITY_SIGNATURE_BAD));
        cr_assert(eq(int, check_sig(upper, s3, NULL), VERITY_SIGNATURE_BAD));
}

Test(verity_signature, stranger_other_content_is_bad) {
        size_t size;
        _cleanup_free_ uint8_t *sig = sign("stranger", "00000000000000000000000000000000", "", &size);

        trust("etc/verity.d", "trusted.crt", "trusted");
        cr_assert(eq(int, check_sig(sig, size, NULL), VERITY_SIGNATURE_BAD));
}

Test(verity_signature, garbage_is_bad) {
        static const uint8_t junk[] = "this is not DER";
        _cleanup_free_ char *d = NULL;
        size_t size;
        _cleanup_free_ uint8_t *sig = sign("trusted", hash_hex, "", &size), *opaque = NULL, *longer = NULL;
        size_t osize;

        trust("etc/verity.d", "trusted.crt", "trusted");
        cr_assert(eq(int, check_sig(junk, sizeof(junk), &d), VERITY_SIGNATURE_BAD));
        cr_assert(not(zero(ptr, strstr(d, "PKCS#7"))), "%s", d);
        /* Cut short, or with bytes after the signature. */
        cr_assert(eq(int, check_sig(sig, size - 10, NULL), VERITY_SIGNATURE_BAD));
        longer = malloc(size + 4);
        memcpy(longer, sig, size);
        memcpy(longer + size, "JUNK", 4);
        cr_assert(eq(int, check_sig(longer, size + 4, NULL), VERITY_SIGNATURE_BAD));
        /* The root hash inside the signature instead of next to it. */
        opaque = sign("trusted", hash_hex, "-nodetach", &osize);
        cr_assert(eq(int, check_sig(opaque, osize, NULL), VERITY_SIGNATURE_BAD));
}

Test(verity_signature, masking_and_precedence) {
        _cleanup_free_ char *etc = unit_strf("%s/etc/verity.d/key.crt", root);
        size_t size;
        _cleanup_free_ uint8_t *sig = sign("trusted", hash_hex, "", &size);

        trust("usr/lib/verity.d", "key.crt", "trusted");
        cr_assert(eq(int, check_sig(sig, size, NULL), VERITY_SIGNATURE_TRUSTED));

        /* An empty file of the same name in /etc masks it. */
        unit_write(etc, "");
        cr_assert(eq(int, check_sig(sig, size, NULL), VERITY_SIGNATURE_UNTRUSTED));

        /* So does a symlink to /dev/null. */
        cr_assert(eq(int, unlink(etc), 0));
        unit_symlink("/dev/null", etc);
        cr_assert(eq(int, check_sig(sig, size, NULL), VERITY_SIGNATURE_UNTRUSTED));

        /* Another certificate under the same name in /etc replaces it. */
        cr_assert(eq(int, unlink(etc), 0));
        trust("etc/verity.d", "key.crt", "stranger");
        cr_assert(eq(int, check_sig(sig, size, NULL), VERITY_SIGNATURE_UNTRUSTED));

        /* Under another name, both count. */
        cr_assert(eq(int, unlink(etc), 0));
        trust("etc/verity.d", "other.crt", "stranger");
        cr_assert(eq(int, check_sig(sig, size, NULL), VERITY_SIGNATURE_TRUSTED));
}

Test(verity_signature, only_crt_files_and_symlinks_inside_root) {
        _cleanup_free_ char *link = unit_strf("%s/etc/verity.d/link.crt", root);
        size_t size;
        _cleanup_free_ uint8_t *sig = sign("trusted", hash_hex, "", &size);

        trust("etc/verity.d", "trusted.pem", "trusted");
        cr_assert(eq(int, check_sig(sig, size, NULL), VERITY_SIGNATURE_UNTRUSTED), "only *.crt is read");

        /* An absolute symlink is resolved inside the root. */
        trust("keys", "trusted.pem", "trusted");
        unit_symlink("/keys/trusted.pem", link);
        cr_assert(eq(int, check_sig(sig, size, NULL), VERITY_SIGNATURE_TRUSTED));
}

Test(verity_signature, bad_certificate_files_are_skipped) {
        size_t size;
        _cleanup_free_ uint8_t *sig = sign("trusted", hash_hex, "", &size);
        _cleanup_free_ char *junk = unit_strf("%s/etc/verity.d/a-junk.crt", root), *dir = unit_strf("%s/etc/verity.d/b-dir.crt", root);

        unit_write(junk, "-----BEGIN CERTIFICATE-----\nnonsense\n-----END CERTIFICATE-----\n");
        unit_mkdir_p(dir, 0755);
        trust("etc/verity.d", "c-trusted.crt", "trusted");
        cr_assert(eq(int, check_sig(sig, size, NULL), VERITY_SIGNATURE_TRUSTED));
}

Test(verity_signature, invalid_arguments) {
        VeritySignatureResult r;

        cr_assert(eq(int, verity_signature_check(NULL, 0, NULL, 0, root, &r, NULL), -EINVAL));
        cr_assert(eq(int, verity_signature_check(hash, sizeof(hash), (const uint8_t *) "x", 1, "/nonexistent-root", &r, NULL), 0));
        cr_assert(eq(int, r, VERITY_SIGNATURE_BAD));
}
