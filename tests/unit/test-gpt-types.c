/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <blkid/blkid.h>
#include <criterion/criterion.h>
#include <criterion/new/assert.h>
#include <ctype.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "fd-util.h"
#include "gpt-types.h"
#include "unit-helpers.h"

/* The architectures of the specification's table: each has the six root/usr types. */
static const Architecture dps_architectures[] = {
        ARCHITECTURE_ALPHA, ARCHITECTURE_ARC, ARCHITECTURE_ARM, ARCHITECTURE_ARM64, ARCHITECTURE_IA64,
        ARCHITECTURE_LOONGARCH64, ARCHITECTURE_MIPS_LE, ARCHITECTURE_MIPS64_LE, ARCHITECTURE_PARISC, ARCHITECTURE_PPC,
        ARCHITECTURE_PPC64, ARCHITECTURE_PPC64_LE, ARCHITECTURE_RISCV32, ARCHITECTURE_RISCV64, ARCHITECTURE_S390,
        ARCHITECTURE_S390X, ARCHITECTURE_TILEGX, ARCHITECTURE_X86, ARCHITECTURE_X86_64,
};

static const PartitionDesignator arch_designators[] = {
        PARTITION_ROOT, PARTITION_USR, PARTITION_ROOT_VERITY, PARTITION_USR_VERITY,
        PARTITION_ROOT_VERITY_SIG, PARTITION_USR_VERITY_SIG,
};

static bool uuid_is_canonical(const char *s) {
        if (strlen(s) != 36)
                return false;
        for (size_t i = 0; i < 36; i++)
                if (i == 8 || i == 13 || i == 18 || i == 23 ? s[i] != '-' : !isxdigit((unsigned char) s[i]) || isupper((unsigned char) s[i]))
                        return false;
        return true;
}

Test(gpt_types, table_is_complete_and_unique) {
        _cleanup_free_ char *failures = NULL;
        const GptPartitionType *t;
        size_t n;

        t = gpt_partition_type_table(&n);
        /* 19 architectures × 6 + ESP, XBOOTLDR, swap, home, srv, var, tmp, per-user home, generic. */
        cr_assert(eq(sz, n, ELEMENTSOF(dps_architectures) * 6 + 9));

        for (size_t i = 0; i < n; i++) {
                if (!uuid_is_canonical(t[i].uuid))
                        unit_note(&failures, "%s: UUID '%s' not canonical", t[i].name, t[i].uuid);
                for (size_t j = 0; j < i; j++) {
                        if (strcasecmp(t[i].uuid, t[j].uuid) == 0)
                                unit_note(&failures, "%s and %s share a UUID", t[i].name, t[j].name);
                        if (streq(t[i].name, t[j].name))
                                unit_note(&failures, "name %s twice", t[i].name);
                }
                if (gpt_partition_type_from_uuid(t[i].uuid) != t + i)
                        unit_note(&failures, "%s: lookup by UUID fails", t[i].name);
                if (gpt_partition_type_from_name(t[i].name) != t + i)
                        unit_note(&failures, "%s: lookup by name fails", t[i].name);
        }

        for (size_t a = 0; a < ELEMENTSOF(dps_architectures); a++)
                for (size_t d = 0; d < ELEMENTSOF(arch_designators); d++) {
                        const GptPartitionType *f = gpt_partition_type_find(arch_designators[d], dps_architectures[a]);

                        if (!f || f->arch != dps_architectures[a] || f->designator != arch_designators[d])
                                unit_note(&failures, "no %s type for %s", partition_designator_to_string(arch_designators[d]),
                                          architecture_to_string(dps_architectures[a]));
                }
        cr_assert(zero(ptr, failures), "%s", failures);
}

Test(gpt_types, well_known_values) {
        const GptPartitionType *t;

        t = gpt_partition_type_from_uuid("4F68BCE3-E8CD-4DB1-96E7-FBCAF984B709");
        cr_assert(not(zero(ptr, (void *) t)));
        assert_str(t->name, "root-x86-64");
        cr_assert(eq(int, t->designator, PARTITION_ROOT));
        cr_assert(eq(int, t->arch, ARCHITECTURE_X86_64));

        t = gpt_partition_type_from_name("usr-arm64-verity-sig");
        cr_assert(not(zero(ptr, (void *) t)));
        assert_str(t->uuid, "c23ce4ff-44bd-4b00-b2d4-b41b3419e02a");

        t = gpt_partition_type_from_name("esp");
        assert_str(t->uuid, "c12a7328-f81f-11d2-ba4b-00a0c93ec93b");
        cr_assert(eq(int, t->arch, _ARCHITECTURE_INVALID));
        cr_assert(eq(ptr, (void *) gpt_partition_type_find(PARTITION_ESP, ARCHITECTURE_ARM), (void *) t));

        t = gpt_partition_type_from_name("linux-generic");
        cr_assert(gpt_partition_type_is_linux_generic(t));
        cr_assert(eq(int, t->designator, _PARTITION_DESIGNATOR_INVALID));
        cr_assert(not(gpt_partition_type_is_linux_generic(gpt_partition_type_from_name("root-x86"))));
        cr_assert(not(gpt_partition_type_is_linux_generic(NULL)));

        cr_assert(zero(ptr, (void *) gpt_partition_type_from_uuid("00000000-0000-0000-0000-000000000000")));
        cr_assert(zero(ptr, (void *) gpt_partition_type_from_uuid("4f68bce3e8cd4db196e7fbcaf984b709")));
        cr_assert(zero(ptr, (void *) gpt_partition_type_from_uuid(NULL)));
        cr_assert(zero(ptr, (void *) gpt_partition_type_find(PARTITION_ROOT, ARCHITECTURE_SPARC)));
}

Test(gpt_types, designators_round_trip_in_policy_order) {
        static const char *const names[] = {
                "root", "usr", "home", "srv", "esp", "xbootldr", "swap", "root-verity", "usr-verity",
                "root-verity-sig", "usr-verity-sig", "tmp", "var",
        };

        cr_assert(eq(sz, ELEMENTSOF(names), (size_t) _PARTITION_DESIGNATOR_MAX));
        for (PartitionDesignator d = 0; d < _PARTITION_DESIGNATOR_MAX; d++) {
                assert_str(partition_designator_to_string(d), names[d]);
                cr_assert(eq(int, partition_designator_from_string(names[d]), d));
        }
        cr_assert(eq(int, partition_designator_from_string("root-secondary"), _PARTITION_DESIGNATOR_INVALID));
        cr_assert(eq(int, partition_designator_from_string(""), _PARTITION_DESIGNATOR_INVALID));
        cr_assert(zero(ptr, (void *) partition_designator_to_string(_PARTITION_DESIGNATOR_MAX)));
}

Test(gpt_types, verity_mappings) {
        cr_assert(eq(int, partition_verity_of(PARTITION_ROOT), PARTITION_ROOT_VERITY));
        cr_assert(eq(int, partition_verity_of(PARTITION_USR), PARTITION_USR_VERITY));
        cr_assert(eq(int, partition_verity_sig_of(PARTITION_ROOT), PARTITION_ROOT_VERITY_SIG));
        cr_assert(eq(int, partition_verity_sig_of(PARTITION_USR), PARTITION_USR_VERITY_SIG));
        cr_assert(eq(int, partition_verity_to_data(PARTITION_USR_VERITY), PARTITION_USR));
        cr_assert(eq(int, partition_verity_sig_to_data(PARTITION_ROOT_VERITY_SIG), PARTITION_ROOT));
        cr_assert(eq(int, partition_verity_of(PARTITION_HOME), _PARTITION_DESIGNATOR_INVALID));
        cr_assert(eq(int, partition_verity_to_data(PARTITION_ROOT_VERITY_SIG), _PARTITION_DESIGNATOR_INVALID));
        cr_assert(eq(int, partition_verity_sig_to_data(PARTITION_ROOT_VERITY), _PARTITION_DESIGNATOR_INVALID));

        for (PartitionDesignator d = 0; d < _PARTITION_DESIGNATOR_MAX; d++)
                cr_assert(eq(int, partition_designator_is_versioned(d),
                             d == PARTITION_ROOT || d == PARTITION_USR || partition_verity_to_data(d) >= 0 ||
                             partition_verity_sig_to_data(d) >= 0), "%s", partition_designator_to_string(d));
}

Test(gpt_types, architectures) {
        for (Architecture a = 0; a < _ARCHITECTURE_MAX; a++) {
                cr_assert(not(zero(ptr, (void *) architecture_to_string(a))));
                cr_assert(eq(int, architecture_from_string(architecture_to_string(a)), a));
        }
        cr_assert(eq(int, architecture_from_string("x86_64"), _ARCHITECTURE_INVALID)); /* uname spelling */
        cr_assert(eq(int, architecture_from_string(NULL), _ARCHITECTURE_INVALID));

        cr_assert(eq(int, architecture_preference(architecture_native()), 2));
        cr_assert(eq(int, architecture_preference(_ARCHITECTURE_INVALID), 0));
        cr_assert(not(zero(ptr, (void *) gpt_partition_type_find(PARTITION_ROOT, architecture_native()))));
#if defined(__x86_64__)
        cr_assert(eq(int, architecture_native(), ARCHITECTURE_X86_64));
        cr_assert(eq(int, architecture_secondary(), ARCHITECTURE_X86));
        cr_assert(eq(int, architecture_preference(ARCHITECTURE_X86), 1));
        cr_assert(eq(int, architecture_preference(ARCHITECTURE_ARM64), 0));
#elif defined(__aarch64__)
        cr_assert(eq(int, architecture_native(), ARCHITECTURE_ARM64));
        cr_assert(eq(int, architecture_secondary(), ARCHITECTURE_ARM));
#endif
}

/* systemd-repart knows the same table under the same names: let it write a disk with one
 * partition of every type and read the types back. */
Test(gpt_types, agrees_with_systemd_repart, .timeout = 60) {
        _cleanup_free_ char *tmp = unit_mkdtemp("gpt-types"), *defs = unit_strf("%s/defs", tmp),
                            *img = unit_strf("%s/disk.raw", tmp), *failures = NULL;
        _cleanup_close_ int fd = -EBADF;
        const GptPartitionType *t;
        blkid_probe pr;
        blkid_partlist pl;
        size_t n, seen = 0;

        if (!unit_have_program("systemd-repart")) {
                unit_rm_rf(tmp);
                cr_skip_test("systemd-repart is not installed");
        }

        t = gpt_partition_type_table(&n);
        cr_assert(le(sz, n, 128));
        for (size_t i = 0; i < n; i++) {
                _cleanup_free_ char *conf = unit_strf("%s/%03zu.conf", defs, i),
                                    *text = unit_strf("[Partition]\nType=%s\nSizeMinBytes=4K\nSizeMaxBytes=4K\n", t[i].name);
                unit_write(conf, text);
        }
        cr_assert(eq(int, unit_run("systemd-repart --empty=create --size=auto --dry-run=no --definitions='%s' '%s' "
                                   ">/dev/null 2>&1", defs, img), 0));

        fd = open(img, O_RDONLY | O_CLOEXEC);
        cr_assert(fd >= 0);
        pr = blkid_new_probe();
        cr_assert(not(zero(ptr, pr)));
        cr_assert(eq(int, blkid_probe_set_device(pr, fd, 0, 0), 0));
        blkid_probe_enable_partitions(pr, 1);
        blkid_probe_set_partitions_flags(pr, BLKID_PARTS_ENTRY_DETAILS);
        cr_assert(eq(int, blkid_do_safeprobe(pr), 0));
        pl = blkid_probe_get_partitions(pr);
        cr_assert(not(zero(ptr, pl)));

        for (int i = 0; i < blkid_partlist_numof_partitions(pl); i++) {
                blkid_partition p = blkid_partlist_get_partition(pl, i);
                const char *type = blkid_partition_get_type_string(p), *label = blkid_partition_get_name(p);
                const GptPartitionType *ours = gpt_partition_type_from_uuid(type);

                /* repart labels each partition with the type's identifier. */
                if (!ours || !streq_ptr(ours->name, label))
                        unit_note(&failures, "repart wrote %s for '%s', we say %s", type, strna(label),
                                  ours ? ours->name : "unknown");
                seen++;
        }
        blkid_free_probe(pr);
        cr_assert(zero(ptr, failures), "%s", failures);
        cr_assert(eq(sz, seen, n));
        unit_rm_rf(tmp);
}
