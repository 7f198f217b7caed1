/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <string.h>

#include "siphash.h"

static uint64_t read_le64(const uint8_t *p) {
        uint64_t v = 0;

        for (size_t i = 0; i < 8; i++)
                v |= (uint64_t) p[i] << (8 * i);
        return v;
}

static uint64_t rotl(uint64_t x, unsigned b) {
        return (x << b) | (x >> (64 - b));
}

static void sip_round(uint64_t v[4]) {
        v[0] += v[1];
        v[1] = rotl(v[1], 13);
        v[1] ^= v[0];
        v[0] = rotl(v[0], 32);
        v[2] += v[3];
        v[3] = rotl(v[3], 16);
        v[3] ^= v[2];
        v[0] += v[3];
        v[3] = rotl(v[3], 21);
        v[3] ^= v[0];
        v[2] += v[1];
        v[1] = rotl(v[1], 17);
        v[1] ^= v[2];
        v[2] = rotl(v[2], 32);
}

static void compress(uint64_t v[4], uint64_t m) {
        v[3] ^= m;
        sip_round(v);
        sip_round(v);
        v[0] ^= m;
}

uint64_t siphash24(const void *data, size_t size, const uint8_t key[static SIPHASH_KEY_SIZE]) {
        const uint8_t *p = data;
        uint64_t k0 = read_le64(key), k1 = read_le64(key + 8);
        uint64_t v[4] = {
                k0 ^ UINT64_C(0x736f6d6570736575),
                k1 ^ UINT64_C(0x646f72616e646f6d),
                k0 ^ UINT64_C(0x6c7967656e657261),
                k1 ^ UINT64_C(0x7465646279746573),
        };
        uint8_t last[8] = {};
        size_t tail = size % 8;

        for (const uint8_t *end = p + (size - tail); p < end; p += 8)
                compress(v, read_le64(p));

        /* The last block: the remaining bytes, and the length's low byte on top. */
        memcpy(last, p, tail);
        last[7] = (uint8_t) size;
        compress(v, read_le64(last));

        v[2] ^= 0xff;
        for (size_t i = 0; i < 4; i++)
                sip_round(v);
        return v[0] ^ v[1] ^ v[2] ^ v[3];
}
