/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "gpt-encode.h"

uint32_t gpt_crc32(const void *data, size_t size) {
        const uint8_t *p = data;
        uint32_t crc = 0xFFFFFFFFU;

        for (size_t i = 0; i < size; i++) {
                crc ^= p[i];
                for (int k = 0; k < 8; k++)
                        crc = (crc >> 1) ^ (0xEDB88320U & (uint32_t) -(int32_t) (crc & 1));
        }
        return ~crc;
}

void gpt_put_le(uint8_t *p, uint64_t v, size_t n) {
        for (size_t i = 0; i < n; i++)
                p[i] = (uint8_t) (v >> (8 * i));
}

int gpt_put_guid(uint8_t out[16], const char *s) {
        static const int order[16] = { 3, 2, 1, 0, 5, 4, 7, 6, 8, 9, 10, 11, 12, 13, 14, 15 };
        unsigned v[16];

        if (sscanf(s, "%2x%2x%2x%2x-%2x%2x-%2x%2x-%2x%2x-%2x%2x%2x%2x%2x%2x", &v[0], &v[1], &v[2], &v[3], &v[4],
                   &v[5], &v[6], &v[7], &v[8], &v[9], &v[10], &v[11], &v[12], &v[13], &v[14], &v[15]) != 16)
                return -EINVAL;
        for (int i = 0; i < 16; i++)
                out[i] = (uint8_t) v[order[i]];
        return 0;
}

void gpt_protective_mbr(uint8_t mbr[GPT_SECTOR], uint64_t total_sectors) {
        memset(mbr, 0, GPT_SECTOR);
        mbr[446 + 4] = 0xEE;
        gpt_put_le(mbr + 446 + 8, 1, 4);
        gpt_put_le(mbr + 446 + 12, total_sectors - 1 > 0xFFFFFFFFU ? 0xFFFFFFFFU : total_sectors - 1, 4);
        mbr[510] = 0x55;
        mbr[511] = 0xAA;
}

void gpt_header(uint8_t header[GPT_SECTOR], uint64_t self, uint64_t other, uint64_t first_usable,
                uint64_t last_usable, uint64_t table, const uint8_t *entries, uint32_t n_entries) {
        memset(header, 0, GPT_SECTOR);
        memcpy(header, "EFI PART", 8);
        gpt_put_le(header + 8, 0x00010000, 4);
        gpt_put_le(header + 12, 92, 4);
        gpt_put_le(header + 24, self, 8);
        gpt_put_le(header + 32, other, 8);
        gpt_put_le(header + 40, first_usable, 8);
        gpt_put_le(header + 48, last_usable, 8);
        (void) gpt_put_guid(header + 56, "8f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f0");
        gpt_put_le(header + 72, table, 8);
        gpt_put_le(header + 80, n_entries, 4);
        gpt_put_le(header + 84, GPT_ENTRY_SIZE, 4);
        gpt_put_le(header + 88, gpt_crc32(entries, (size_t) n_entries * GPT_ENTRY_SIZE), 4);
        gpt_put_le(header + 16, gpt_crc32(header, 92), 4);
}
