/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <dlfcn.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>

#include "dlopen-crypto.h"
#include "macro.h"

#define DEFINE_SYM(f) typeof(f) *sym_##f = NULL

DEFINE_SYM(crypt_init_data_device);
DEFINE_SYM(crypt_set_log_callback);
DEFINE_SYM(crypt_load);
DEFINE_SYM(crypt_get_verity_info);
DEFINE_SYM(crypt_get_volume_key_size);
DEFINE_SYM(crypt_activate_by_volume_key);
DEFINE_SYM(crypt_deactivate_by_name);
DEFINE_SYM(crypt_free);

DEFINE_SYM(BIO_free);
DEFINE_SYM(BIO_new_mem_buf);
DEFINE_SYM(ERR_clear_error);
DEFINE_SYM(ERR_error_string_n);
DEFINE_SYM(ERR_peek_last_error);
DEFINE_SYM(EVP_DecodeFinal);
DEFINE_SYM(EVP_DecodeInit);
DEFINE_SYM(EVP_DecodeUpdate);
DEFINE_SYM(EVP_ENCODE_CTX_free);
DEFINE_SYM(EVP_ENCODE_CTX_new);
DEFINE_SYM(OBJ_obj2nid);
DEFINE_SYM(OPENSSL_sk_free);
DEFINE_SYM(OPENSSL_sk_new_null);
DEFINE_SYM(OPENSSL_sk_num);
DEFINE_SYM(OPENSSL_sk_pop_free);
DEFINE_SYM(OPENSSL_sk_push);
DEFINE_SYM(OPENSSL_sk_value);
DEFINE_SYM(PEM_read_bio_X509);
DEFINE_SYM(PKCS7_ctrl);
DEFINE_SYM(PKCS7_free);
DEFINE_SYM(PKCS7_get0_signers);
DEFINE_SYM(PKCS7_verify);
DEFINE_SYM(X509_NAME_oneline);
DEFINE_SYM(X509_free);
DEFINE_SYM(X509_get_subject_name);
DEFINE_SYM(d2i_PKCS7);

typedef struct Symbol {
        const char *name;
        void **pointer;
} Symbol;

#define SYM(f) { #f, (void **) &sym_##f }

static const Symbol cryptsetup_symbols[] = {
        SYM(crypt_init_data_device),
        SYM(crypt_set_log_callback),
        SYM(crypt_load),
        SYM(crypt_get_verity_info),
        SYM(crypt_get_volume_key_size),
        SYM(crypt_activate_by_volume_key),
        SYM(crypt_deactivate_by_name),
        SYM(crypt_free),
};

static const Symbol libcrypto_symbols[] = {
        SYM(BIO_free),
        SYM(BIO_new_mem_buf),
        SYM(ERR_clear_error),
        SYM(ERR_error_string_n),
        SYM(ERR_peek_last_error),
        SYM(EVP_DecodeFinal),
        SYM(EVP_DecodeInit),
        SYM(EVP_DecodeUpdate),
        SYM(EVP_ENCODE_CTX_free),
        SYM(EVP_ENCODE_CTX_new),
        SYM(OBJ_obj2nid),
        SYM(OPENSSL_sk_free),
        SYM(OPENSSL_sk_new_null),
        SYM(OPENSSL_sk_num),
        SYM(OPENSSL_sk_pop_free),
        SYM(OPENSSL_sk_push),
        SYM(OPENSSL_sk_value),
        SYM(PEM_read_bio_X509),
        SYM(PKCS7_ctrl),
        SYM(PKCS7_free),
        SYM(PKCS7_get0_signers),
        SYM(PKCS7_verify),
        SYM(X509_NAME_oneline),
        SYM(X509_free),
        SYM(X509_get_subject_name),
        SYM(d2i_PKCS7),
};

static char last_error[256];

const char *dlopen_crypto_error(void) {
        return last_error[0] ? last_error : "unknown error";
}

/* Loads soname and resolves every symbol, all or nothing; remembers the outcome. */
static int load(const char *soname, const Symbol *symbols, size_t n, int *state) {
        void *handle;

        if (*state != 0)
                return *state > 0 ? 0 : *state;

        /* Never unloaded: the pointers stay valid for the life of the process. */
        handle = dlopen(soname, RTLD_NOW | RTLD_NODELETE);
        if (!handle) {
                (void) snprintf(last_error, sizeof(last_error), "%s", dlerror() ?: soname);
                return (*state = -EOPNOTSUPP);
        }
        for (size_t i = 0; i < n; i++) {
                void *p = dlsym(handle, symbols[i].name);

                if (!p) {
                        (void) snprintf(last_error, sizeof(last_error), "%s lacks %s", soname, symbols[i].name);
                        for (size_t k = 0; k < n; k++)
                                *symbols[k].pointer = NULL;
                        (void) dlclose(handle);
                        return (*state = -EOPNOTSUPP);
                }
                *symbols[i].pointer = p;
        }
        *state = 1;
        return 0;
}

int dlopen_cryptsetup(void) {
        static int state = 0;
        return load(DLOPEN_CRYPTSETUP_SONAME, cryptsetup_symbols, ELEMENTSOF(cryptsetup_symbols), &state);
}

int dlopen_libcrypto(void) {
        static int state = 0;
        return load(DLOPEN_LIBCRYPTO_SONAME, libcrypto_symbols, ELEMENTSOF(libcrypto_symbols), &state);
}
