/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "fd-util.h"
#include "fuzz.h"
#include "gpt-encode.h"
#include "gpt-types.h"
#include "image-dissect.h"

/* The partition table of a raw image is the first thing of it the daemon's side reads (in the
 * reader, before it drops anything). Random bytes rarely make a GPT that libblkid accepts (two
 * CRCs guard it), so this target writes a valid GPT itself and lets the input choose what goes into
 * it: a table of up to eight partitions, each with a type, place, size, attribute bits, label,
 * UUID and the superblock written at its start, and what is known about the image from outside
 * (root and /usr hashes, signatures, a hash tree sidecar). Entries may overlap, lie outside the
 * image, tie, or contradict the hints.
 *
 * Input: byte 0, bits: 0 a root hash is known, 1 a /usr hash, 2 a root hash signature, 3 a /usr
 * hash signature, 4 a .verity sidecar, 5 no protective MBR, 6 a naked file system (no table; entry
 * 0's superblock at offset 0). Then one 7-byte record per entry:
 *   type (index into the specification's types; 0xff: unused entry), start (sectors after the
 *   first usable one), size (sectors; 0 makes the last sector precede the first), flags (bit 0
 *   read-only, 1 no-auto, 2 growfs, 3 no-block-io, 7 start beyond the image), superblock (see
 *   write_superblock()), label (see labels[]), UUID (0-3: derived from a hint's hash, else filler)
 *
 * Properties: a refusal names the image. What is accepted has a root or /usr partition on a file
 * system portable images may use, every partition picked lies inside the image and is picked
 * once, none marked no-auto, a verity partition only with its data partition, of its
 * architecture, holding a hash tree, a signature partition only with a verity partition, root and
 * /usr of one architecture, the UUIDs a known hash dictates, and protection only where a hash and
 * a hash tree both exist. */

#define LABEL "/images/fuzz_1.raw"
#define SECTOR GPT_SECTOR
#define ENTRIES 8U
#define ENTRY_SIZE GPT_ENTRY_SIZE
#define FIRST_USABLE 64U
#define DISK_SECTORS (FIRST_USABLE + 600U)

enum {
        HINT_ROOT_HASH = 1 << 0,
        HINT_USR_HASH = 1 << 1,
        HINT_ROOT_SIG = 1 << 2,
        HINT_USR_SIG = 1 << 3,
        HINT_SIDECAR = 1 << 4,
        NO_PMBR = 1 << 5,
        NAKED = 1 << 6,
};

static const uint8_t root_hash[32] = {
        0x11, 0x11, 0x11, 0x11, 0x22, 0x22, 0x33, 0x33, 0x44, 0x44, 0x55, 0x55, 0x55, 0x55, 0x55, 0x55,
        0x66, 0x66, 0x66, 0x66, 0x77, 0x77, 0x88, 0x88, 0x99, 0x99, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa,
};
static const uint8_t usr_hash[32] = {
        0xa1, 0xa1, 0xa1, 0xa1, 0xb2, 0xb2, 0xc3, 0xc3, 0xd4, 0xd4, 0xe5, 0xe5, 0xe5, 0xe5, 0xe5, 0xe5,
        0xf6, 0xf6, 0xf6, 0xf6, 0x07, 0x07, 0x18, 0x18, 0x29, 0x29, 0x3a, 0x3a, 0x3a, 0x3a, 0x3a, 0x3a,
};

static const char *const labels[] = {
        NULL, "root-1.10", "root-1.9", "usr-2", "usr-10", "root", "usr", "~", "root-1.10",
};

static void format_uuid(const uint8_t b[16], char out[37]) {
        snprintf(out, 37, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0], b[1],
                 b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14], b[15]);
}

static void put_uuid(uint8_t out[16], const uint8_t b[16]) {
        char text[37];

        format_uuid(b, text);
        FUZZ_CHECK(gpt_put_guid(out, text) == 0);
}

static void pwrite_all(int fd, const void *p, size_t n, uint64_t offset) {
        FUZZ_CHECK(pwrite(fd, p, n, (off_t) offset) == (ssize_t) n);
}

/* 1 squashfs, 2 erofs, 3 a verity hash tree, 4 squashfs and erofs at once, 5 LUKS (not a file
 * system portable images may use); anything else nothing. Written only where the partition has
 * room for it in the image. */
static void write_superblock(int fd, uint64_t offset, uint64_t room, uint8_t kind) {
        uint8_t b[4096] = {};
        size_t n = 0;

        if (kind == 1 || kind == 4) {
                memcpy(b, "hsqs", 4);
                gpt_put_le(b + 12, 131072, 4); /* block size */
                gpt_put_le(b + 28, 4, 2);      /* version 4.0 */
                n = 96;
        }
        if (kind == 2 || kind == 4) {
                gpt_put_le(b + 1024, 0xe0f5e1e2U, 4);
                b[1024 + 12] = 12; /* 4 KiB blocks */
                n = 1024 + 128;
        }
        if (kind == 3) {
                memcpy(b, "verity\0\0", 8);
                gpt_put_le(b + 8, 1, 4);
                n = 512;
        }
        if (kind == 5) {
                memcpy(b, "LUKS\xba\xbe\0\1", 8); /* LUKS version 1, big-endian */
                n = 512;
        }
        if (n > 0 && n <= room)
                pwrite_all(fd, b, n, offset);
}

static void write_gpt(int fd, const uint8_t *records, size_t n_records, unsigned settings) {
        uint8_t mbr[SECTOR] = {}, header[SECTOR] = {}, entries[ENTRIES * ENTRY_SIZE] = {};
        size_t n_types;
        const GptPartitionType *types = gpt_partition_type_table(&n_types);

        for (size_t i = 0; i < n_records && i < ENTRIES; i++) {
                const uint8_t *r = records + 7 * i;
                uint8_t *e = entries + ENTRY_SIZE * i, uuid[16];
                uint64_t first = FIRST_USABLE + r[1], last = first + r[2] - 1, flags = 0;
                const char *label = labels[r[5] % ELEMENTSOF(labels)];

                if (r[0] == 0xff)
                        continue;
                FUZZ_CHECK(gpt_put_guid(e, types[r[0] % n_types].uuid) == 0);
                if (r[6] < 4) {
                        const uint8_t *h = r[6] < 2 ? root_hash : usr_hash;
                        memcpy(uuid, r[6] % 2 == 0 ? h : h + 16, 16);
                } else
                        memset(uuid, r[6], 16);
                put_uuid(e + 16, uuid);
                if (r[3] & 0x80) {
                        first += UINT64_C(1) << 40;
                        last += UINT64_C(1) << 40;
                }
                gpt_put_le(e + 32, first, 8);
                gpt_put_le(e + 40, last, 8);
                flags |= r[3] & 1 ? GPT_FLAG_READ_ONLY : 0;
                flags |= r[3] & 2 ? GPT_FLAG_NO_AUTO : 0;
                flags |= r[3] & 4 ? GPT_FLAG_GROWFS : 0;
                flags |= r[3] & 8 ? GPT_FLAG_NO_BLOCK_IO_PROTOCOL : 0;
                gpt_put_le(e + 48, flags, 8);
                for (size_t k = 0; label && label[k] && k < 36; k++)
                        gpt_put_le(e + 56 + 2 * k, (uint8_t) label[k], 2);
                if (!(r[3] & 0x80) && last < DISK_SECTORS)
                        write_superblock(fd, first * SECTOR, (last - first + 1) * SECTOR, r[4]);
        }

        if (!(settings & NO_PMBR))
                gpt_protective_mbr(mbr, DISK_SECTORS);
        gpt_header(header, 1, DISK_SECTORS - 1, FIRST_USABLE, DISK_SECTORS - 34, 2, entries, ENTRIES);

        pwrite_all(fd, mbr, sizeof(mbr), 0);
        pwrite_all(fd, header, sizeof(header), SECTOR);
        pwrite_all(fd, entries, sizeof(entries), 2 * SECTOR);
}

static const DissectedPartition *found(const DissectedImage *m, PartitionDesignator d) {
        return m->partitions[d].found ? &m->partitions[d] : NULL;
}

static void check_data_partition(const DissectedImage *m, PartitionDesignator d, const DissectHints *h) {
        const DissectedPartition *p = found(m, d), *verity = found(m, partition_verity_of(d)),
                                 *sig = found(m, partition_verity_sig_of(d));
        const uint8_t *hash = d == PARTITION_ROOT ? h->root_hash : h->usr_hash;

        if (!p) {
                FUZZ_CHECK(!verity && !sig);
                return;
        }
        FUZZ_CHECK(p->fstype && image_fstype_is_supported(p->fstype));
        if (verity) {
                FUZZ_CHECK(m->partitioned && streq_ptr(verity->fstype, "DM_verity_hash"));
                FUZZ_CHECK(verity->architecture == p->architecture);
        }
        if (sig)
                FUZZ_CHECK(verity && sig->architecture == p->architecture);
        if (hash && m->partitioned) {
                char data_uuid[37], verity_uuid[37];

                format_uuid(hash, data_uuid);
                format_uuid(hash + 16, verity_uuid);
                FUZZ_CHECK(streq_ptr(p->uuid, data_uuid));
                FUZZ_CHECK(!verity || streq_ptr(verity->uuid, verity_uuid));
        }
        if (p->protection != PARTITION_UNPROTECTED) {
                FUZZ_CHECK(hash || sig);
                FUZZ_CHECK(m->partitioned ? verity != NULL : h->hash_sidecar);
                FUZZ_CHECK(!p->rw);
        }
}

static void check_accepted(const DissectedImage *m, const DissectHints *h, uint64_t image_size) {
        FUZZ_CHECK(m->size == image_size);
        FUZZ_CHECK(found(m, PARTITION_ROOT) || found(m, PARTITION_USR));

        for (PartitionDesignator d = 0; d < _PARTITION_DESIGNATOR_MAX; d++) {
                const DissectedPartition *p = found(m, d);

                if (!p)
                        continue;
                FUZZ_CHECK(p->size > 0 && p->offset <= m->size && p->size <= m->size - p->offset);
                FUZZ_CHECK(p->offset % SECTOR == 0 && p->size % SECTOR == 0);
                if (!m->partitioned)
                        continue;
                FUZZ_CHECK(p->partno >= 1 && p->partno <= ENTRIES);
                FUZZ_CHECK(!(p->gpt_flags & (d == PARTITION_ESP ? GPT_FLAG_NO_BLOCK_IO_PROTOCOL : GPT_FLAG_NO_AUTO)));
                for (PartitionDesignator e = 0; e < d; e++)
                        FUZZ_CHECK(!found(m, e) || found(m, e)->partno != p->partno);
        }
        if (found(m, PARTITION_ROOT) && found(m, PARTITION_USR))
                FUZZ_CHECK(found(m, PARTITION_ROOT)->architecture == found(m, PARTITION_USR)->architecture);
        check_data_partition(m, PARTITION_ROOT, h);
        check_data_partition(m, PARTITION_USR, h);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_(dissected_image_done) DissectedImage m = {};
        _cleanup_close_ int fd = -EBADF;
        DissectHints hints = {};
        unsigned settings;
        size_t n_records;
        int r;

        if (size < 1)
                return 0;
        settings = data[0];
        n_records = (size - 1) / 7;
        if (settings & HINT_ROOT_HASH)
                hints.root_hash = root_hash, hints.root_hash_size = sizeof(root_hash);
        if (settings & HINT_USR_HASH)
                hints.usr_hash = usr_hash, hints.usr_hash_size = sizeof(usr_hash);
        hints.root_hash_sig = settings & HINT_ROOT_SIG;
        hints.usr_hash_sig = settings & HINT_USR_SIG;
        hints.hash_sidecar = settings & HINT_SIDECAR;

        fd = memfd_create("fuzz", MFD_CLOEXEC);
        FUZZ_CHECK(fd >= 0);
        FUZZ_CHECK(ftruncate(fd, DISK_SECTORS * SECTOR) == 0);
        if (settings & NAKED)
                write_superblock(fd, 0, DISK_SECTORS * SECTOR, n_records > 0 ? data[1 + 4] : 0);
        else
                write_gpt(fd, data + 1, n_records, settings);

        r = image_dissect(fd, LABEL, &hints, &m, &error);
        if (r == 0)
                check_accepted(&m, &hints, DISK_SECTORS * SECTOR);
        else {
                FUZZ_CHECK(r < 0);
                if (r != -ENOMEM) {
                        FUZZ_CHECK(sd_bus_error_is_set(&error));
                        FUZZ_CHECK(error.message && strstr(error.message, "'" LABEL "'"));
                }
        }
        return 0;
}
