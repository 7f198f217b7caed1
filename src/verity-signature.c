/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <dirent.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "escape.h"
#include "chase.h"
#include "dlopen-crypto.h"
#include "fd-util.h"
#include "fileio.h"
#include "path-util.h"
#include "strv.h"
#include "verity-signature.h"

#define CERT_SIZE_MAX (1024U * 1024U)

/* Upstream's CONF_PATHS("verity.d"), in order of precedence, relative to the root. */
static const char *const trust_dirs[] = {
        "etc/verity.d",
        "run/verity.d",
        "usr/local/lib/verity.d",
        "usr/lib/verity.d",
};

static const char *const result_table[_VERITY_SIGNATURE_RESULT_MAX] = {
        [VERITY_SIGNATURE_UNSIGNED] = "unsigned",
        [VERITY_SIGNATURE_TRUSTED] = "trusted",
        [VERITY_SIGNATURE_UNTRUSTED] = "untrusted",
        [VERITY_SIGNATURE_BAD] = "bad",
};

const char *verity_signature_result_to_string(VeritySignatureResult r) {
        if (r < 0 || r >= _VERITY_SIGNATURE_RESULT_MAX)
                return NULL;
        return result_table[r];
}

VeritySignatureResult verity_signature_result_from_string(const char *s) {
        for (VeritySignatureResult r = 0; s && r < _VERITY_SIGNATURE_RESULT_MAX; r++)
                if (streq(s, result_table[r]))
                        return r;
        return _VERITY_SIGNATURE_RESULT_INVALID;
}

/* A stack of certificates, through the loaded library (sk_X509_*() are inline functions that
 * would link against it). */
static void x509_free_void(void *p) {
        sym_X509_free(p);
}

static void certs_free(STACK_OF(X509) *sk) {
        sym_OPENSSL_sk_pop_free((OPENSSL_STACK *) sk, x509_free_void);
}

static int certs_num(const STACK_OF(X509) *sk) {
        return sym_OPENSSL_sk_num((const OPENSSL_STACK *) sk);
}

static X509 *certs_value(const STACK_OF(X509) *sk, int i) {
        return sym_OPENSSL_sk_value((const OPENSSL_STACK *) sk, i);
}

static void certs_freep(STACK_OF(X509) **sk) {
        if (*sk)
                certs_free(*sk);
}

static void pkcs7_freep(PKCS7 **p) {
        if (*p)
                sym_PKCS7_free(*p);
}

static void bio_freep(BIO **b) {
        if (*b)
                sym_BIO_free(*b);
}

static void x509_freep(X509 **x) {
        if (*x)
                sym_X509_free(*x);
}

static int read_certificate(int fd, X509 **ret) {
        _cleanup_free_ char *data = NULL;
        _cleanup_(bio_freep) BIO *bio = NULL;
        size_t size;
        int r;

        r = read_full_fd(fd, CERT_SIZE_MAX, &data, &size);
        if (r < 0)
                return r;
        bio = sym_BIO_new_mem_buf(data, (int) size);
        if (!bio)
                return -ENOMEM;
        *ret = sym_PEM_read_bio_X509(bio, NULL, NULL, NULL);
        sym_ERR_clear_error();
        return *ret ? 0 : -EBADMSG;
}

static int cmp_names(const void *a, const void *b) {
        return strcmp(*(char * const *) a, *(char * const *) b);
}

/* Adds the certificates of one directory, skipping names already seen (or masked) earlier. */
static int load_dir(int root_fd, const char *dir, char ***seen, STACK_OF(X509) *sk) {
        _cleanup_strv_free_ char **names = NULL;
        _cleanup_closedir_ DIR *d = NULL;
        _cleanup_close_ int dir_fd = -EBADF;
        struct dirent *de;
        int r;

        dir_fd = chase_open_in_root(root_fd, dir, O_RDONLY | O_DIRECTORY);
        if (dir_fd == -ENOENT || dir_fd == -ENOTDIR)
                return 0;
        if (dir_fd < 0)
                return dir_fd;
        d = fd_opendir_dup(dir_fd);
        if (!d)
                return -errno;

        while ((errno = 0, de = readdir(d)))
                if (endswith(de->d_name, ".crt") && !strv_contains(*seen, de->d_name)) {
                        r = strv_extend(&names, de->d_name);
                        if (r < 0)
                                return r;
                }
        if (errno > 0)
                return -errno;
        if (names)
                qsort(names, strv_length(names), sizeof(char *), cmp_names);

        STRV_FOREACH(n, names) {
                _cleanup_(x509_freep) X509 *cert = NULL;
                _cleanup_close_ int fd = -EBADF;
                _cleanup_free_ char *path = NULL;
                char target[16];
                struct stat st;
                ssize_t l;

                r = strv_extend(seen, *n);
                if (r < 0)
                        return r;

                /* Masked: a symlink to /dev/null or an empty file hides the name everywhere below. */
                l = readlinkat(dir_fd, *n, target, sizeof(target) - 1);
                if (l > 0) {
                        target[l] = '\0';
                        if (streq(target, "/dev/null"))
                                continue;
                }

                path = path_join(dir, *n);
                if (!path)
                        return -ENOMEM;
                fd = chase_open_in_root(root_fd, path, O_RDONLY | O_NOCTTY | O_NONBLOCK);
                if (fd < 0)
                        continue; /* dangling or unreadable: not a certificate we can trust */
                if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size == 0)
                        continue;
                if (read_certificate(fd, &cert) < 0)
                        continue;
                if (sym_OPENSSL_sk_push((OPENSSL_STACK *) sk, cert) == 0)
                        return -ENOMEM;
                cert = NULL;
        }
        return 0;
}

static int load_trusted(const char *root, STACK_OF(X509) **ret) {
        _cleanup_(certs_freep) STACK_OF(X509) *sk = NULL;
        _cleanup_strv_free_ char **seen = NULL;
        _cleanup_close_ int root_fd = -EBADF;
        int r;

        root_fd = open(isempty(root) ? "/" : root, O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (root_fd < 0)
                return -errno;
        sk = (STACK_OF(X509) *) sym_OPENSSL_sk_new_null();
        if (!sk)
                return -ENOMEM;
        for (size_t i = 0; i < ELEMENTSOF(trust_dirs); i++) {
                r = load_dir(root_fd, trust_dirs[i], &seen, sk);
                if (r < 0)
                        return r;
        }
        *ret = TAKE_PTR(sk);
        return 0;
}

static char *subject_of(X509 *cert) {
        char buf[256];

        if (!cert || !sym_X509_NAME_oneline(sym_X509_get_subject_name(cert), buf, sizeof(buf)))
                return strdup("an unnamed signer");
        return strdup(buf);
}

static char *openssl_error(const char *fallback) {
        unsigned long e = sym_ERR_peek_last_error();
        char buf[256];

        if (e == 0)
                return strdup(fallback);
        sym_ERR_error_string_n(e, buf, sizeof(buf));
        return strdup(buf);
}

/* The first signer's certificate, from certs or the signature itself. */
static char *signer_subject(PKCS7 *p7, STACK_OF(X509) *certs, int flags) {
        STACK_OF(X509) *signers = sym_PKCS7_get0_signers(p7, certs, flags);
        char *s = subject_of(signers && certs_num(signers) > 0 ? certs_value(signers, 0) : NULL);

        sym_OPENSSL_sk_free((OPENSSL_STACK *) signers);
        return s;
}

static int detail(char **ret, const char *format, ...) _printf_(2, 3);
static int detail(char **ret, const char *format, ...) {
        va_list ap;
        char *s = NULL;
        int r;

        if (!ret)
                return 0;
        va_start(ap, format);
        r = vasprintf(&s, format, ap);
        va_end(ap);
        if (r < 0)
                return -ENOMEM;
        *ret = s;
        return 0;
}

static int check(const uint8_t *root_hash, size_t root_hash_size, const uint8_t *signature, size_t signature_size,
                 const char *root, VeritySignatureResult *ret, char **ret_detail) {
        _cleanup_(certs_freep) STACK_OF(X509) *trusted = NULL;
        _cleanup_(pkcs7_freep) PKCS7 *p7 = NULL;
        _cleanup_(bio_freep) BIO *bio = NULL;
        _cleanup_free_ char *hex = NULL, *who = NULL, *why = NULL;
        const unsigned char *p = signature;
        STACK_OF(X509) *signers;
        int r;

        if (!signature || signature_size == 0) {
                *ret = VERITY_SIGNATURE_UNSIGNED;
                return detail(ret_detail, "no signature");
        }

        if (signature_size > INT32_MAX || !(p7 = sym_d2i_PKCS7(NULL, &p, (long) signature_size)) ||
            p != signature + signature_size) {
                *ret = VERITY_SIGNATURE_BAD;
                return detail(ret_detail, "not a DER-encoded PKCS#7 signature");
        }
        if (sym_OBJ_obj2nid(p7->type) != NID_pkcs7_signed || sym_PKCS7_ctrl(p7, PKCS7_OP_GET_DETACHED_SIGNATURE, 0, NULL) == 0) {
                *ret = VERITY_SIGNATURE_BAD;
                return detail(ret_detail, "not a detached PKCS#7 signature");
        }

        hex = hexmem(root_hash, root_hash_size);
        if (!hex)
                return -ENOMEM;
        r = load_trusted(root, &trusted);
        if (r < 0)
                return r;

        /* Is the signer one of ours? Then the signature must check out with our certificate. */
        signers = sym_PKCS7_get0_signers(p7, trusted, PKCS7_NOINTERN);
        sym_OPENSSL_sk_free((OPENSSL_STACK *) signers);
        sym_ERR_clear_error();
        if (signers) {
                bio = sym_BIO_new_mem_buf(hex, (int) strlen(hex));
                if (!bio)
                        return -ENOMEM;
                who = signer_subject(p7, trusted, PKCS7_NOINTERN);
                if (sym_PKCS7_verify(p7, trusted, NULL, bio, NULL, PKCS7_NOINTERN | PKCS7_NOVERIFY) == 1) {
                        *ret = VERITY_SIGNATURE_TRUSTED;
                        return detail(ret_detail, "signed by %s", who);
                }
                why = openssl_error("signature does not match");
                sym_ERR_clear_error();
                *ret = VERITY_SIGNATURE_BAD;
                return detail(ret_detail, "signature does not match the root hash (%s)", why);
        }

        /* Not ours: tell a good signature by a stranger from a broken one, where the signature
         * carries the signer's certificate. */
        bio = sym_BIO_new_mem_buf(hex, (int) strlen(hex));
        if (!bio)
                return -ENOMEM;
        who = signer_subject(p7, NULL, 0);
        sym_ERR_clear_error();
        if (sym_PKCS7_verify(p7, NULL, NULL, bio, NULL, PKCS7_NOVERIFY) == 1) {
                *ret = VERITY_SIGNATURE_UNTRUSTED;
                return detail(ret_detail, "signed by %s, which is not a trusted key", who);
        }
        if (ERR_GET_REASON(sym_ERR_peek_last_error()) == PKCS7_R_SIGNER_CERTIFICATE_NOT_FOUND) {
                sym_ERR_clear_error();
                *ret = VERITY_SIGNATURE_UNTRUSTED;
                return detail(ret_detail, "signed by a key that is not trusted (the signer's certificate is "
                              "neither trusted nor included)");
        }
        why = openssl_error("signature does not match");
        sym_ERR_clear_error();
        *ret = VERITY_SIGNATURE_BAD;
        return detail(ret_detail, "signature does not match the root hash (%s)", why);
}

int verity_signature_check(const uint8_t *root_hash, size_t root_hash_size, const uint8_t *signature,
                           size_t signature_size, const char *root, VeritySignatureResult *ret,
                           char **ret_detail) {
        VeritySignatureResult result = _VERITY_SIGNATURE_RESULT_INVALID;
        char *d = NULL;
        int r;

        if (!root_hash || root_hash_size == 0)
                return -EINVAL;

        /* Nothing to check needs no libcrypto. */
        if (signature && signature_size > 0) {
                r = dlopen_libcrypto();
                if (r < 0)
                        return r;
        }

        r = check(root_hash, root_hash_size, signature, signature_size, root, &result, ret_detail ? &d : NULL);
        if (sym_ERR_clear_error)
                sym_ERR_clear_error(); /* never leave our errors for the next OpenSSL user in this process */
        if (r < 0)
                return r;

        *ret = result;
        if (ret_detail)
                *ret_detail = d;
        return 0;
}
