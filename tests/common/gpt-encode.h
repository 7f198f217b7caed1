/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stddef.h>
#include <stdint.h>

/* The bytes of a GPT disk, for the tests that write one (unit_make_gpt(), fuzz-image-dissect):
 * 512-byte sectors, 128-byte entries. No Criterion here: the fuzz build has none. */

#define GPT_SECTOR 512U
#define GPT_ENTRY_SIZE 128U

uint32_t gpt_crc32(const void *data, size_t size);
void gpt_put_le(uint8_t *p, uint64_t v, size_t n);
/* A GUID in its text form, stored mixed-endian (the first three fields little-endian). -EINVAL if
 * s is not one. */
int gpt_put_guid(uint8_t out[16], const char *s);

/* A protective MBR covering a disk of total_sectors. */
void gpt_protective_mbr(uint8_t mbr[GPT_SECTOR], uint64_t total_sectors);
/* A header at sector self (its twin at other) for n_entries entries at sector table, with both
 * CRCs. */
void gpt_header(uint8_t header[GPT_SECTOR], uint64_t self, uint64_t other, uint64_t first_usable,
                uint64_t last_usable, uint64_t table, const uint8_t *entries, uint32_t n_entries);
