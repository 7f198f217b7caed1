/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <blkid/blkid.h>
#include <ctype.h>
#include <stdarg.h>
#include <linux/fs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>

#include "image-dissect.h"
#include "macro.h"
#include "portable-error.h"
#include "strverscmp.h"

#define SECTOR_SIZE 512U
#define NOTES_MAX 512U

static const char *const supported_fstypes[] = {
        "squashfs", "erofs", "ext4", "ext3", "ext2", "btrfs", "xfs",
};

int image_fstype_is_supported(const char *fstype) {
        if (!fstype)
                return 0;
        for (size_t i = 0; i < ELEMENTSOF(supported_fstypes); i++)
                if (streq(fstype, supported_fstypes[i]))
                        return 1;
        return 0;
}

DEFINE_TRIVIAL_CLEANUP_FUNC(blkid_probe, blkid_free_probe);

static void dissected_partition_done(DissectedPartition *p) {
        p->fstype = mfree(p->fstype);
        p->label = mfree(p->label);
        p->uuid = mfree(p->uuid);
        p->type_uuid = mfree(p->type_uuid);
}

void dissected_image_done(DissectedImage *m) {
        if (!m)
                return;
        m->name = mfree(m->name);
        for (size_t i = 0; i < _PARTITION_DESIGNATOR_MAX; i++)
                dissected_partition_done(m->partitions + i);
}

/* One entry of the partition table, as read. */
typedef struct Entry {
        unsigned partno;
        const GptPartitionType *type; /* NULL: not a type of the specification */
        bool mbr_linux;               /* MBR: bootable Linux partition */
        uint64_t offset, size, flags;
        char *label, *uuid;
} Entry;

typedef struct Table {
        Entry *entries;
        size_t n;
} Table;

static void table_done(Table *t) {
        for (size_t i = 0; i < t->n; i++) {
                free(t->entries[i].label);
                free(t->entries[i].uuid);
        }
        t->entries = mfree(t->entries);
        t->n = 0;
}

static char *strdup_lower(const char *s) {
        char *c;

        if (!s)
                return NULL;
        c = strdup(s);
        for (char *p = c; p && *p; p++)
                *p = (char) tolower((unsigned char) *p);
        return c;
}

static int image_size_of(int fd, uint64_t *ret) {
        struct stat st;

        if (fstat(fd, &st) < 0)
                return -errno;
        if (S_ISREG(st.st_mode)) {
                *ret = (uint64_t) st.st_size;
                return 0;
        }
        if (S_ISBLK(st.st_mode))
                return RET_NERRNO(ioctl(fd, BLKGETSIZE64, ret));
        return -EBADFD;
}

/* Probes [offset, offset+size) for a file system or other superblock. 1 and the type if one was
 * found, 0 if none, -ENOTUNIQ if several signatures claim the area. */
static int probe_superblock(int fd, uint64_t offset, uint64_t size, char **ret_fstype) {
        _cleanup_(blkid_free_probep) blkid_probe pr = NULL;
        const char *type = NULL;
        int r;

        pr = blkid_new_probe();
        if (!pr)
                return -ENOMEM;
        if (blkid_probe_set_device(pr, fd, (blkid_loff_t) offset, (blkid_loff_t) size) < 0)
                return -EIO;

        blkid_probe_enable_superblocks(pr, 1);
        blkid_probe_set_superblocks_flags(pr, BLKID_SUBLKS_TYPE);
        blkid_probe_enable_partitions(pr, 0);

        errno = 0;
        r = blkid_do_safeprobe(pr);
        if (r == -2)
                return -ENOTUNIQ;
        if (r == 1)
                return 0;
        if (r < 0)
                return negative_errno();

        if (blkid_probe_lookup_value(pr, "TYPE", &type, NULL) < 0 || !type)
                return 0;

        *ret_fstype = strdup(type);
        return *ret_fstype ? 1 : -ENOMEM;
}

/* Reads the partition table: 1 and the entries if there is one (GPT or MBR), 0 if none. */
static int read_table(int fd, uint64_t image_size, bool *ret_gpt, Table *ret) {
        _cleanup_(blkid_free_probep) blkid_probe pr = NULL;
        _cleanup_(table_done) Table t = {};
        blkid_parttable pt;
        blkid_partlist pl;
        const char *pttype;
        bool gpt;
        int n;

        pr = blkid_new_probe();
        if (!pr)
                return -ENOMEM;
        if (blkid_probe_set_device(pr, fd, 0, 0) < 0)
                return -EIO;

        blkid_probe_enable_superblocks(pr, 0);
        blkid_probe_enable_partitions(pr, 1);
        blkid_probe_set_partitions_flags(pr, BLKID_PARTS_ENTRY_DETAILS);

        errno = 0;
        if (blkid_do_safeprobe(pr) != 0)
                return 0;

        pl = blkid_probe_get_partitions(pr);
        if (!pl)
                return 0;
        pt = blkid_partlist_get_table(pl);
        pttype = pt ? blkid_parttable_get_type(pt) : NULL;
        if (streq_ptr(pttype, "gpt"))
                gpt = true;
        else if (streq_ptr(pttype, "dos"))
                gpt = false;
        else
                return 0;

        n = blkid_partlist_numof_partitions(pl);
        if (n < 0)
                return -EIO;
        t.entries = calloc((size_t) n + 1, sizeof(Entry));
        if (!t.entries)
                return -ENOMEM;

        for (int i = 0; i < n; i++) {
                blkid_partition p = blkid_partlist_get_partition(pl, i);
                blkid_loff_t start, sectors;
                Entry *e = t.entries + t.n;
                int partno;

                if (!p)
                        continue;
                partno = blkid_partition_get_partno(p);
                start = blkid_partition_get_start(p);
                sectors = blkid_partition_get_size(p);
                if (partno <= 0 || start < 0 || sectors <= 0)
                        continue;

                *e = (Entry) {
                        .partno = (unsigned) partno,
                        .offset = (uint64_t) start * SECTOR_SIZE,
                        .size = (uint64_t) sectors * SECTOR_SIZE,
                };
                /* blkid reports what the table says; a hostile table may point anywhere. */
                if (e->offset / SECTOR_SIZE != (uint64_t) start || e->size / SECTOR_SIZE != (uint64_t) sectors ||
                    e->offset > image_size || e->size > image_size - e->offset)
                        e->size = UINT64_MAX; /* marked: refused if we ever pick it */

                if (gpt) {
                        e->type = gpt_partition_type_from_uuid(blkid_partition_get_type_string(p));
                        e->flags = blkid_partition_get_flags(p);
                        if (!isempty(blkid_partition_get_name(p))) {
                                e->label = strdup(blkid_partition_get_name(p));
                                if (!e->label)
                                        return -ENOMEM;
                        }
                        e->uuid = strdup_lower(blkid_partition_get_uuid(p));
                } else {
                        /* MBR: only a bootable Linux partition counts, as upstream. */
                        e->mbr_linux = blkid_partition_get_type(p) == 0x83 &&
                                blkid_partition_get_flags(p) == 0x80;
                }
                t.n++;
        }

        *ret_gpt = gpt;
        *ret = t;
        t = (Table) {};
        return 1;
}

/* Notes for the message when nothing usable is found: what there was, and why it was not used. */
static void note(char *buf, const char *format, ...) _printf_(2, 3);
static void note(char *buf, const char *format, ...) {
        size_t l = strlen(buf);
        va_list ap;

        if (l + 3 >= NOTES_MAX)
                return;
        if (l > 0) {
                strcpy(buf + l, ", ");
                l += 2;
        }
        va_start(ap, format);
        (void) vsnprintf(buf + l, NOTES_MAX - l, format, ap);
        va_end(ap);
}

static void format_uuid(const uint8_t b[16], char out[37]) {
        snprintf(out, 37,
                 "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
                 b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7],
                 b[8], b[9], b[10], b[11], b[12], b[13], b[14], b[15]);
}

typedef struct Selection {
        const char *name;
        const Table *table;
        char skipped[NOTES_MAX];  /* candidates we saw but may not use */
} Selection;

/* Picks the best entry for designator d: by architecture preference (only_arch >= 0: that one
 * architecture), then, for versioned designators, by label version. With want_uuid, only the
 * entry with that partition UUID qualifies. Returns the index, -ENOENT if there is none, or
 * -ENOTUNIQ (and the two partition numbers) if two are equally good. */
static int select_entry(Selection *s, PartitionDesignator d, Architecture only_arch, const char *want_uuid,
                        unsigned ret_tie[2]) {
        ssize_t best = -1;
        bool tie = false;

        for (size_t i = 0; i < s->table->n; i++) {
                const Entry *e = s->table->entries + i;
                int c;

                if (!e->type || e->type->designator != d)
                        continue;
                if (e->type->arch >= 0 && architecture_preference(e->type->arch) == 0) {
                        note(s->skipped, "%s (partition %u, not for this architecture)", e->type->name, e->partno);
                        continue;
                }
                if (only_arch >= 0 && e->type->arch != only_arch)
                        continue;
                if (d == PARTITION_ESP ? FLAGS_SET(e->flags, GPT_FLAG_NO_BLOCK_IO_PROTOCOL)
                                       : FLAGS_SET(e->flags, GPT_FLAG_NO_AUTO)) {
                        note(s->skipped, "%s (partition %u, marked no-auto)", e->type->name, e->partno);
                        continue;
                }
                if (want_uuid && !streq_ptr(e->uuid, want_uuid)) {
                        note(s->skipped, "%s (partition %u, UUID does not match the root hash)",
                             e->type->name, e->partno);
                        continue;
                }

                if (best < 0) {
                        best = (ssize_t) i;
                        continue;
                }

                c = architecture_preference(e->type->arch) -
                        architecture_preference(s->table->entries[best].type->arch);
                if (c == 0 && partition_designator_is_versioned(d))
                        c = strverscmp_improved(e->label, s->table->entries[best].label);
                else if (c == 0)
                        continue; /* the others (ESP, home, ...): first one wins, as upstream */
                if (c > 0) {
                        best = (ssize_t) i;
                        tie = false;
                } else if (c == 0) {
                        tie = true;
                        ret_tie[0] = s->table->entries[best].partno;
                        ret_tie[1] = e->partno;
                }
        }

        if (best < 0)
                return -ENOENT;
        if (tie)
                return -ENOTUNIQ;
        return (int) best;
}

static int partition_from_entry(DissectedPartition *p, const Entry *e) {
        *p = (DissectedPartition) {
                .found = true,
                .partno = e->partno,
                .architecture = e->type ? e->type->arch : _ARCHITECTURE_INVALID,
                .offset = e->offset,
                .size = e->size,
                .gpt_flags = e->flags,
                .rw = !FLAGS_SET(e->flags, GPT_FLAG_READ_ONLY),
                .growfs = FLAGS_SET(e->flags, GPT_FLAG_GROWFS),
        };
        if (e->label && !(p->label = strdup(e->label)))
                return -ENOMEM;
        if (e->uuid && !(p->uuid = strdup(e->uuid)))
                return -ENOMEM;
        if (e->type && !(p->type_uuid = strdup(e->type->uuid)))
                return -ENOMEM;
        return 0;
}

static const char *entry_name(const DissectedPartition *p) {
        const GptPartitionType *t = gpt_partition_type_from_uuid(p->type_uuid);

        return t ? t->name : "linux";
}

/* Picks designator d into m, reporting ties and out-of-image entries. 1 if found, 0 if not. */
static int pick(Selection *s, DissectedImage *m, PartitionDesignator d, Architecture only_arch,
                const char *want_uuid, sd_bus_error *reterr) {
        unsigned tie[2] = {};
        const Entry *e;
        int r;

        r = select_entry(s, d, only_arch, want_uuid, tie);
        if (r == -ENOENT)
                return 0;
        if (r == -ENOTUNIQ)
                return portable_error(reterr, r, SD_BUS_ERROR_INVALID_ARGS,
                                      "Image '%s': partitions %u and %u are both candidates for '%s' (same architecture "
                                      "and label version), refusing.", s->name, tie[0], tie[1],
                                      partition_designator_to_string(d));
        if (r < 0)
                return r;

        e = s->table->entries + r;
        if (e->size == UINT64_MAX)
                return portable_error(reterr, EBADMSG, SD_BUS_ERROR_INVALID_ARGS,
                                      "Image '%s': partition %u (%s) lies outside the image, refusing.",
                                      s->name, e->partno, e->type->name);
        r = partition_from_entry(m->partitions + d, e);
        return r < 0 ? r : 1;
}

static bool any_candidate(const Table *t, PartitionDesignator d) {
        for (size_t i = 0; i < t->n; i++) {
                const Entry *e = t->entries + i;

                if (e->type && e->type->designator == d && architecture_preference(e->type->arch) > 0 &&
                    !FLAGS_SET(e->flags, GPT_FLAG_NO_AUTO))
                        return true;
        }
        return false;
}

/* The hash-derived partition UUIDs (first and last 128 bits of the root hash), as repart sets them. */
static void hash_uuids(const uint8_t *hash, size_t size, char data_uuid[37], char verity_uuid[37]) {
        format_uuid(hash, data_uuid);
        format_uuid(hash + size - 16, verity_uuid);
}

static int dissect_table(const char *name, const Table *t, bool gpt, const DissectHints *h, DissectedImage *m,
                         sd_bus_error *reterr) {
        static const PartitionDesignator others[] = {
                PARTITION_HOME, PARTITION_SRV, PARTITION_ESP, PARTITION_XBOOTLDR,
                PARTITION_SWAP, PARTITION_TMP, PARTITION_VAR,
        };
        Selection s = { .name = name, .table = t };
        char root_uuid[37], root_verity_uuid[37], usr_uuid[37], usr_verity_uuid[37];
        bool have_root_hash = h && h->root_hash, have_usr_hash = h && h->usr_hash;
        int r;

        if (have_root_hash)
                hash_uuids(h->root_hash, h->root_hash_size, root_uuid, root_verity_uuid);
        if (have_usr_hash)
                hash_uuids(h->usr_hash, h->usr_hash_size, usr_uuid, usr_verity_uuid);

        if (gpt) {
                r = pick(&s, m, PARTITION_ROOT, _ARCHITECTURE_INVALID, have_root_hash ? root_uuid : NULL, reterr);
                if (r < 0)
                        return r;
                r = pick(&s, m, PARTITION_USR, _ARCHITECTURE_INVALID, have_usr_hash ? usr_uuid : NULL, reterr);
                if (r < 0)
                        return r;

                /* Verity and signature partitions belong to the data partition of their architecture;
                 * those of another architecture protect a partition we do not use. */
                for (PartitionDesignator d = PARTITION_ROOT; d <= PARTITION_USR; d++) {
                        const DissectedPartition *data = m->partitions + d;
                        PartitionDesignator v = partition_verity_of(d), sig = partition_verity_sig_of(d);
                        bool hash = d == PARTITION_ROOT ? have_root_hash : have_usr_hash;

                        if (!data->found) {
                                if (hash)
                                        return portable_error(reterr, EADDRNOTAVAIL, SD_BUS_ERROR_INVALID_ARGS,
                                                              "Image '%s': no %s partition matches the given %s hash%s%s%s, "
                                                              "refusing.", name, partition_designator_to_string(d),
                                                              d == PARTITION_ROOT ? "root" : "usr",
                                                              isempty(s.skipped) ? "" : " (found: ", s.skipped,
                                                              isempty(s.skipped) ? "" : ")");
                                if (any_candidate(t, v) || any_candidate(t, sig))
                                        return portable_error(reterr, EADDRNOTAVAIL, SD_BUS_ERROR_INVALID_ARGS,
                                                              "Image '%s': has a %s partition but no %s partition it "
                                                              "could belong to, refusing.", name,
                                                              partition_designator_to_string(any_candidate(t, v) ? v : sig),
                                                              partition_designator_to_string(d));
                                continue;
                        }

                        r = pick(&s, m, v, data->architecture,
                                 hash ? (d == PARTITION_ROOT ? root_verity_uuid : usr_verity_uuid) : NULL, reterr);
                        if (r < 0)
                                return r;
                        r = pick(&s, m, sig, data->architecture, NULL, reterr);
                        if (r < 0)
                                return r;
                        if (m->partitions[sig].found && !m->partitions[v].found)
                                return portable_error(reterr, EADDRNOTAVAIL, SD_BUS_ERROR_INVALID_ARGS,
                                                      "Image '%s': has a %s partition (partition %u) but no %s "
                                                      "partition, refusing.", name,
                                                      partition_designator_to_string(sig), m->partitions[sig].partno,
                                                      partition_designator_to_string(v));
                }

                for (size_t i = 0; i < ELEMENTSOF(others); i++) {
                        r = pick(&s, m, others[i], _ARCHITECTURE_INVALID, NULL, reterr);
                        if (r < 0)
                                return r;
                }
        }

        if (m->partitions[PARTITION_ROOT].found && m->partitions[PARTITION_USR].found &&
            m->partitions[PARTITION_ROOT].architecture != m->partitions[PARTITION_USR].architecture)
                return portable_error(reterr, EADDRNOTAVAIL, SD_BUS_ERROR_INVALID_ARGS,
                                      "Image '%s': root partition is for %s but /usr partition for %s, refusing.", name,
                                      architecture_to_string(m->partitions[PARTITION_ROOT].architecture),
                                      architecture_to_string(m->partitions[PARTITION_USR].architecture));

        /* Nothing the specification marks: a single generic Linux partition is the root, unless a
         * root hash says which partition it must be. */
        if (!m->partitions[PARTITION_ROOT].found && !m->partitions[PARTITION_USR].found && !have_root_hash &&
            !have_usr_hash) {
                const Entry *generic = NULL;

                for (size_t i = 0; i < t->n; i++) {
                        const Entry *e = t->entries + i;

                        if (gpt ? !gpt_partition_type_is_linux_generic(e->type) : !e->mbr_linux)
                                continue;
                        if (FLAGS_SET(e->flags, GPT_FLAG_NO_AUTO)) {
                                note(s.skipped, "linux-generic (partition %u, marked no-auto)", e->partno);
                                continue;
                        }
                        if (generic)
                                return portable_error(reterr, ENOTUNIQ, SD_BUS_ERROR_INVALID_ARGS,
                                                      "Image '%s': no root partition, and partitions %u and %u are "
                                                      "both generic Linux partitions that could be the root, refusing.",
                                                      name, generic->partno, e->partno);
                        generic = e;
                }
                if (generic) {
                        if (generic->size == UINT64_MAX)
                                return portable_error(reterr, EBADMSG, SD_BUS_ERROR_INVALID_ARGS,
                                                      "Image '%s': partition %u lies outside the image, refusing.",
                                                      name, generic->partno);
                        r = partition_from_entry(m->partitions + PARTITION_ROOT, generic);
                        if (r < 0)
                                return r;
                }
        }

        if (!m->partitions[PARTITION_ROOT].found && !m->partitions[PARTITION_USR].found) {
                if (have_root_hash || have_usr_hash)
                        return portable_error(reterr, EADDRNOTAVAIL, SD_BUS_ERROR_INVALID_ARGS,
                                              "Image '%s': no %s partition matches the given %s hash%s%s%s, refusing.",
                                              name, have_root_hash ? "root" : "/usr", have_root_hash ? "root" : "usr",
                                              isempty(s.skipped) ? "" : " (found: ", s.skipped,
                                              isempty(s.skipped) ? "" : ")");
                return portable_error(reterr, ENXIO, SD_BUS_ERROR_INVALID_ARGS,
                                      "Image '%s': no suitable root or /usr partition for %s%s%s found%s%s%s.", name,
                                      architecture_to_string(architecture_native()),
                                      architecture_secondary() >= 0 ? " or " : "",
                                      architecture_secondary() >= 0 ? architecture_to_string(architecture_secondary()) : "",
                                      isempty(s.skipped) ? "" : " (skipped: ", s.skipped, isempty(s.skipped) ? "" : ")");
        }

        return 0;
}

static int probe_data_partition(int fd, const char *name, DissectedImage *m, PartitionDesignator d,
                                 sd_bus_error *reterr) {
        DissectedPartition *p = m->partitions + d;
        char where[64] = "";
        int r;

        if (m->partitioned)
                snprintf(where, sizeof(where), " partition %u (%s)", p->partno, entry_name(p));

        r = probe_superblock(fd, p->offset, p->size, &p->fstype);
        if (r == -ENOTUNIQ)
                return portable_error(reterr, r, SD_BUS_ERROR_INVALID_ARGS,
                                      "Image '%s':%s carries several file system signatures, refusing.", name, where);
        if (r < 0)
                return portable_error(reterr, r, NULL, "Image '%s':%s cannot be probed: %m", name, where);
        if (r == 0)
                return portable_error(reterr, EMEDIUMTYPE, SD_BUS_ERROR_INVALID_ARGS,
                                      m->partitioned ? "Image '%s':%s holds no file system we recognise, refusing."
                                                     : "Couldn't identify a suitable partition table or file system in '%s'.%s",
                                      name, where);
        if (!image_fstype_is_supported(p->fstype))
                return portable_error(reterr, EPROTONOSUPPORT, SD_BUS_ERROR_INVALID_ARGS,
                                      "Image '%s':%s holds '%s', which is not a file system portable images may use, "
                                      "refusing.", name, where, p->fstype);
        return 0;
}

static int probe_verity_partition(int fd, const char *name, DissectedImage *m, PartitionDesignator d,
                                  sd_bus_error *reterr) {
        DissectedPartition *p = m->partitions + d;
        int r;

        r = probe_superblock(fd, p->offset, p->size, &p->fstype);
        if (r < 0 && r != -ENOTUNIQ)
                return portable_error(reterr, r, NULL, "Image '%s': partition %u (%s) cannot be probed: %m", name,
                                      p->partno, entry_name(p));
        if (r <= 0 || !streq(p->fstype, "DM_verity_hash"))
                return portable_error(reterr, EBADMSG, SD_BUS_ERROR_INVALID_ARGS,
                                      "Image '%s': partition %u (%s) holds %s%s%s instead of a verity hash tree, "
                                      "refusing.", name, p->partno, entry_name(p), r > 0 ? "'" : "",
                                      r > 0 ? p->fstype : "nothing recognisable", r > 0 ? "'" : "");
        return 0;
}

static void set_protection(DissectedImage *m, PartitionDesignator d, bool hash, bool hash_tree, bool signature) {
        DissectedPartition *p = m->partitions + d;

        if (!p->found)
                return;
        if (hash && hash_tree) {
                p->protection = PARTITION_VERITY;
                p->rw = false;
        }
        p->has_signature = p->protection == PARTITION_VERITY && signature;
}

int image_dissect(int fd, const char *name, const DissectHints *hints, DissectedImage *ret, sd_bus_error *reterr) {
        _cleanup_(dissected_image_done) DissectedImage m = {};
        _cleanup_(table_done) Table table = {};
        const DissectHints no_hints = {};
        bool gpt = false;
        int r;

        if (!hints)
                hints = &no_hints;
        if ((hints->root_hash && hints->root_hash_size < 16) || (hints->usr_hash && hints->usr_hash_size < 16))
                return portable_error(reterr, EINVAL, SD_BUS_ERROR_INVALID_ARGS,
                                      "Image '%s': root hash is shorter than 128 bits, refusing.", name);

        m.name = strdup(name);
        if (!m.name)
                return -ENOMEM;
        for (size_t i = 0; i < _PARTITION_DESIGNATOR_MAX; i++)
                m.partitions[i].architecture = _ARCHITECTURE_INVALID;

        r = image_size_of(fd, &m.size);
        if (r < 0)
                return portable_error(reterr, r, NULL, "Image '%s': cannot determine its size: %m", name);

        /* A file system at offset 0 makes a naked image; a hash tree sidecar demands one. */
        {
                _cleanup_free_ char *fstype = NULL;

                r = probe_superblock(fd, 0, m.size, &fstype);
                if (r == -ENOTUNIQ)
                        return portable_error(reterr, r, SD_BUS_ERROR_INVALID_ARGS,
                                              "Image '%s' carries several file system signatures, refusing.", name);
                if (r < 0)
                        return portable_error(reterr, r, NULL, "Image '%s': cannot probe: %m", name);
        }
        if (r == 0 && hints->hash_sidecar)
                return portable_error(reterr, EMEDIUMTYPE, SD_BUS_ERROR_INVALID_ARGS,
                                      "Image '%s' has a .verity hash tree next to it but is not a plain file system, "
                                      "refusing.", name);
        if (r == 0) {
                r = read_table(fd, m.size, &gpt, &table);
                if (r < 0)
                        return portable_error(reterr, r, NULL, "Image '%s': cannot read its partition table: %m",
                                              name);
                m.partitioned = r > 0;
        }

        if (m.partitioned) {
                r = dissect_table(name, &table, gpt, hints, &m, reterr);
                if (r < 0)
                        return r;

                for (PartitionDesignator d = PARTITION_ROOT; d <= PARTITION_USR; d++) {
                        PartitionDesignator v = partition_verity_of(d), sig = partition_verity_sig_of(d);
                        bool hash = d == PARTITION_ROOT ? hints->root_hash : hints->usr_hash;
                        bool hash_sig = d == PARTITION_ROOT ? hints->root_hash_sig : hints->usr_hash_sig;

                        if (!m.partitions[d].found)
                                continue;
                        r = probe_data_partition(fd, name, &m, d, reterr);
                        if (r < 0)
                                return r;
                        if (m.partitions[v].found) {
                                r = probe_verity_partition(fd, name, &m, v, reterr);
                                if (r < 0)
                                        return r;
                        } else if (hash)
                                return portable_error(reterr, EADDRNOTAVAIL, SD_BUS_ERROR_INVALID_ARGS,
                                                      "Image '%s': a %s hash is given but there is no %s partition "
                                                      "for it, refusing.", name, d == PARTITION_ROOT ? "root" : "usr",
                                                      partition_designator_to_string(v));

                        /* The signature partition carries the root hash itself. */
                        set_protection(&m, d, hash || m.partitions[sig].found, m.partitions[v].found,
                                       hash_sig || m.partitions[sig].found);
                }

                /* Recorded for image policies only; best effort. */
                for (PartitionDesignator d = 0; d < _PARTITION_DESIGNATOR_MAX; d++)
                        if (m.partitions[d].found && !m.partitions[d].fstype && d != PARTITION_ROOT_VERITY_SIG &&
                            d != PARTITION_USR_VERITY_SIG)
                                (void) probe_superblock(fd, m.partitions[d].offset, m.partitions[d].size,
                                                        &m.partitions[d].fstype);
        } else {
                /* Naked: the whole image is one file system, /usr only when only a /usr hash names it. */
                PartitionDesignator d = !hints->root_hash && hints->usr_hash ? PARTITION_USR : PARTITION_ROOT;
                bool hash = d == PARTITION_ROOT ? hints->root_hash : hints->usr_hash;

                m.partitions[d] = (DissectedPartition) {
                        .found = true,
                        .architecture = _ARCHITECTURE_INVALID,
                        .size = m.size,
                };
                r = probe_data_partition(fd, name, &m, d, reterr);
                if (r < 0)
                        return r;
                if (hash && !hints->hash_sidecar)
                        return portable_error(reterr, EADDRNOTAVAIL, SD_BUS_ERROR_INVALID_ARGS,
                                              "Image '%s': a %s hash is given but there is no .verity hash tree for "
                                              "it, refusing.", name, d == PARTITION_ROOT ? "root" : "usr");
                set_protection(&m, d, hash, hints->hash_sidecar,
                               d == PARTITION_ROOT ? hints->root_hash_sig : hints->usr_hash_sig);
        }

        *ret = m;
        m = (DissectedImage) {};
        return 0;
}
