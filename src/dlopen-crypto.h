/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <libcryptsetup.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/pkcs7.h>
#include <openssl/stack.h>
#include <openssl/x509.h>

/* libcryptsetup and libcrypto, loaded when first needed rather than linked: only readers of
 * verity-protected or signed images use them, in the reader child, and a daemon (or a client)
 * that links them pays for them in every process: their start-up, and about 2 MiB of resident
 * memory (libcrypto, libcryptsetup, libdevmapper and what they pull in) for the daemon's life.
 *
 * dlopen_cryptsetup() and dlopen_libcrypto() load the library once per process and fill the
 * sym_* pointers below; they return 0, or -EOPNOTSUPP if the library or one of its functions is
 * missing (see dlopen_crypto_error() for why). Call them before the first sym_* use, and in the
 * reader before it leaves the host's file systems behind. */

#define DLOPEN_CRYPTSETUP_SONAME "libcryptsetup.so.12"
#define DLOPEN_LIBCRYPTO_SONAME "libcrypto.so.3"

int dlopen_cryptsetup(void);
int dlopen_libcrypto(void);

/* What dlerror() said when loading failed last, for messages. */
const char *dlopen_crypto_error(void);

#define DLOPEN_SYM(f) extern typeof(f) *sym_##f

DLOPEN_SYM(crypt_init_data_device);
DLOPEN_SYM(crypt_set_log_callback);
DLOPEN_SYM(crypt_load);
DLOPEN_SYM(crypt_get_verity_info);
DLOPEN_SYM(crypt_get_volume_key_size);
DLOPEN_SYM(crypt_activate_by_volume_key);
DLOPEN_SYM(crypt_deactivate_by_name);
DLOPEN_SYM(crypt_free);

DLOPEN_SYM(BIO_free);
DLOPEN_SYM(BIO_new_mem_buf);
DLOPEN_SYM(ERR_clear_error);
DLOPEN_SYM(ERR_error_string_n);
DLOPEN_SYM(ERR_peek_last_error);
DLOPEN_SYM(EVP_DecodeFinal);
DLOPEN_SYM(EVP_DecodeInit);
DLOPEN_SYM(EVP_DecodeUpdate);
DLOPEN_SYM(EVP_ENCODE_CTX_free);
DLOPEN_SYM(EVP_ENCODE_CTX_new);
DLOPEN_SYM(OBJ_obj2nid);
DLOPEN_SYM(OPENSSL_sk_free);
DLOPEN_SYM(OPENSSL_sk_new_null);
DLOPEN_SYM(OPENSSL_sk_num);
DLOPEN_SYM(OPENSSL_sk_pop_free);
DLOPEN_SYM(OPENSSL_sk_push);
DLOPEN_SYM(OPENSSL_sk_value);
DLOPEN_SYM(PEM_read_bio_X509);
DLOPEN_SYM(PKCS7_ctrl);
DLOPEN_SYM(PKCS7_free);
DLOPEN_SYM(PKCS7_get0_signers);
DLOPEN_SYM(PKCS7_verify);
DLOPEN_SYM(X509_NAME_oneline);
DLOPEN_SYM(X509_free);
DLOPEN_SYM(X509_get_subject_name);
DLOPEN_SYM(d2i_PKCS7);
