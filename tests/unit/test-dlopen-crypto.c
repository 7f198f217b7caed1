/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <criterion/criterion.h>
#include <criterion/new/assert.h>
#include <link.h>
#include <string.h>

#include "dlopen-crypto.h"
#include "unit-helpers.h"

/* Whether a library whose name starts with prefix is loaded in this process. */
static int find_library(struct dl_phdr_info *info, size_t size, void *data) {
        const char *name = strrchr(info->dlpi_name, '/');

        return name && strncmp(name + 1, data, strlen(data)) == 0;
}

static bool loaded(const char *prefix) {
        return dl_iterate_phdr(find_library, (void *) prefix) != 0;
}

/* Nothing links them: a process that never reads a verity image never loads them. (libcrypto
 * comes with Criterion's own dependencies here, so only libcryptsetup can tell.) */
Test(dlopen_crypto, not_loaded_until_asked) {
        cr_assert(not(loaded("libcryptsetup.so")));
        cr_assert(zero(ptr, (void *) sym_crypt_load));
        cr_assert(zero(ptr, (void *) sym_PKCS7_verify));
}

Test(dlopen_crypto, cryptsetup) {
        cr_assert(eq(int, dlopen_cryptsetup(), 0), "%s", dlopen_crypto_error());
        cr_assert(eq(int, dlopen_cryptsetup(), 0), "twice is once");
        cr_assert(loaded("libcryptsetup.so"));
        cr_assert(not(zero(ptr, (void *) sym_crypt_init_data_device)));
        cr_assert(not(zero(ptr, (void *) sym_crypt_load)));
        cr_assert(not(zero(ptr, (void *) sym_crypt_activate_by_volume_key)));
        cr_assert(not(zero(ptr, (void *) sym_crypt_free)));
        /* A real call through the pointer: no such device is an error, not a crash. */
        cr_assert(lt(int, sym_crypt_deactivate_by_name(NULL, "portabled-test-no-such-device", 0), 0));
}

Test(dlopen_crypto, libcrypto) {
        const unsigned char der[] = { 0x30, 0x00 };
        const unsigned char *p = der;

        cr_assert(eq(int, dlopen_libcrypto(), 0), "%s", dlopen_crypto_error());
        cr_assert(eq(int, dlopen_libcrypto(), 0));
        cr_assert(loaded("libcrypto.so"));
        cr_assert(not(zero(ptr, (void *) sym_PKCS7_verify)));
        cr_assert(not(zero(ptr, (void *) sym_OPENSSL_sk_new_null)));
        /* Garbage is refused by the library, through the pointer. */
        cr_assert(zero(ptr, sym_d2i_PKCS7(NULL, &p, (long) sizeof(der))));
        sym_ERR_clear_error();
}
