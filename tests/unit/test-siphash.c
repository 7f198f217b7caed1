/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <criterion/criterion.h>
#include <criterion/new/assert.h>

#include "macro.h"
#include "siphash.h"

/* The reference implementation's vectors: key 00 01 ... 0f, message 00 01 ... n-1. Lengths around
 * the 8-byte block size reach every path of the final block. */
Test(siphash, reference_vectors) {
        static const struct {
                size_t size;
                uint64_t hash;
        } vectors[] = {
                { 0, UINT64_C(0x726fdb47dd0e0e31) },  { 1, UINT64_C(0x74f839c593dc67fd) },
                { 7, UINT64_C(0xab0200f58b01d137) },  { 8, UINT64_C(0x93f5f5799a932462) },
                { 15, UINT64_C(0xa129ca6149be45e5) }, { 16, UINT64_C(0x3f2acc7f57c29bdb) },
        };
        uint8_t key[SIPHASH_KEY_SIZE], message[16];

        for (size_t i = 0; i < sizeof(key); i++)
                key[i] = (uint8_t) i;
        for (size_t i = 0; i < sizeof(message); i++)
                message[i] = (uint8_t) i;

        for (size_t i = 0; i < ELEMENTSOF(vectors); i++)
                cr_expect(eq(u64, siphash24(message, vectors[i].size, key), vectors[i].hash), "%zu bytes",
                          vectors[i].size);
}

Test(siphash, depends_on_every_key_byte) {
        uint8_t key[SIPHASH_KEY_SIZE] = {};
        uint64_t base = siphash24("unit", 4, key);

        for (size_t i = 0; i < sizeof(key); i++) {
                key[i] = 1;
                cr_expect(ne(u64, siphash24("unit", 4, key), base), "key byte %zu", i);
                key[i] = 0;
        }
}
