/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>

/* The partition types of the Discoverable Partitions Specification (UAPI.2), the architectures it
 * knows, and the designator names image policies use for them.
 *
 * Every architecture of the specification's table has its root, /usr, root-verity, usr-verity,
 * root-verity-sig and usr-verity-sig type. The architecture-less types (ESP, XBOOTLDR, swap, home,
 * srv, var, tmp, per-user home, generic Linux data) are known so that a disk carrying them is
 * understood, even though portabled only ever uses root and /usr and their verity companions.
 *
 * The native architecture is the one this program was built for (as upstream does: a 32-bit build
 * on a 64-bit kernel looks for 32-bit partitions); the secondary one is the 32-bit variant a 64-bit
 * build can also run (x86 for x86-64, arm for arm64), where one applies. */

/* Architectures, named as systemd names them (uname machine names differ: "x86_64" is "x86-64").
 * The list is systemd's, a superset of the specification's, so that an architecture suffix in a
 * file name ("foo_1_s390x.raw") is recognised as one even where no partition type exists. */
typedef enum Architecture {
        ARCHITECTURE_ALPHA,
        ARCHITECTURE_ARC,
        ARCHITECTURE_ARC_BE,
        ARCHITECTURE_ARM,
        ARCHITECTURE_ARM_BE,
        ARCHITECTURE_ARM64,
        ARCHITECTURE_ARM64_BE,
        ARCHITECTURE_CRIS,
        ARCHITECTURE_IA64,
        ARCHITECTURE_LOONGARCH64,
        ARCHITECTURE_M68K,
        ARCHITECTURE_MIPS,
        ARCHITECTURE_MIPS_LE,
        ARCHITECTURE_MIPS64,
        ARCHITECTURE_MIPS64_LE,
        ARCHITECTURE_NIOS2,
        ARCHITECTURE_PARISC,
        ARCHITECTURE_PARISC64,
        ARCHITECTURE_PPC,
        ARCHITECTURE_PPC_LE,
        ARCHITECTURE_PPC64,
        ARCHITECTURE_PPC64_LE,
        ARCHITECTURE_RISCV32,
        ARCHITECTURE_RISCV64,
        ARCHITECTURE_S390,
        ARCHITECTURE_S390X,
        ARCHITECTURE_SH,
        ARCHITECTURE_SH64,
        ARCHITECTURE_SPARC,
        ARCHITECTURE_SPARC64,
        ARCHITECTURE_TILEGX,
        ARCHITECTURE_X86,
        ARCHITECTURE_X86_64,
        _ARCHITECTURE_MAX,
        _ARCHITECTURE_INVALID = -EINVAL,
} Architecture;

const char *architecture_to_string(Architecture a);
Architecture architecture_from_string(const char *s);

/* The architecture of this build, and its secondary architecture (_ARCHITECTURE_INVALID if none). */
Architecture architecture_native(void);
Architecture architecture_secondary(void);

/* 2 for the native architecture, 1 for the secondary one, 0 for any other (including invalid):
 * the preference order when a disk carries partitions for several. */
int architecture_preference(Architecture a);

/* Partition roles, in the order and with the names of systemd's image policies. */
typedef enum PartitionDesignator {
        PARTITION_ROOT,
        PARTITION_USR,
        PARTITION_HOME,
        PARTITION_SRV,
        PARTITION_ESP,
        PARTITION_XBOOTLDR,
        PARTITION_SWAP,
        PARTITION_ROOT_VERITY,
        PARTITION_USR_VERITY,
        PARTITION_ROOT_VERITY_SIG,
        PARTITION_USR_VERITY_SIG,
        PARTITION_TMP,
        PARTITION_VAR,
        _PARTITION_DESIGNATOR_MAX,
        _PARTITION_DESIGNATOR_INVALID = -EINVAL,
} PartitionDesignator;

const char *partition_designator_to_string(PartitionDesignator d);
PartitionDesignator partition_designator_from_string(const char *s);

/* root → root-verity, usr → usr-verity; _INVALID for everything else. */
PartitionDesignator partition_verity_of(PartitionDesignator d);
/* root → root-verity-sig, usr → usr-verity-sig; _INVALID for everything else. */
PartitionDesignator partition_verity_sig_of(PartitionDesignator d);
/* The reverse mappings: root-verity → root, root-verity-sig → root, ...; _INVALID otherwise. */
PartitionDesignator partition_verity_to_data(PartitionDesignator d);
PartitionDesignator partition_verity_sig_to_data(PartitionDesignator d);
/* Designators whose partitions carry a version in their label (root, /usr and their verity
 * companions): among several for the same architecture, the newest label wins. */
bool partition_designator_is_versioned(PartitionDesignator d);

/* GPT partition attribute bits the specification defines for its partition types. */
#define GPT_FLAG_NO_BLOCK_IO_PROTOCOL (UINT64_C(1) << 1) /* UEFI; the ESP's "no auto" */
#define GPT_FLAG_GROWFS (UINT64_C(1) << 59)
#define GPT_FLAG_READ_ONLY (UINT64_C(1) << 60)
#define GPT_FLAG_NO_AUTO (UINT64_C(1) << 63)

typedef struct GptPartitionType {
        const char *uuid;                   /* lowercase, canonical form */
        const char *name;                   /* systemd-repart's identifier: "root-x86-64-verity", "esp" */
        PartitionDesignator designator;     /* _INVALID for generic Linux data and per-user home */
        Architecture arch;                  /* _INVALID for the architecture-less types */
} GptPartitionType;

/* Looks a type UUID up (any case, with dashes). NULL if the specification does not define it. */
const GptPartitionType *gpt_partition_type_from_uuid(const char *uuid);
/* Looks a type up by repart identifier ("root-arm64", "usr-x86-verity-sig", "linux-generic"). */
const GptPartitionType *gpt_partition_type_from_name(const char *name);
/* The type of designator d for architecture a (a is ignored for architecture-less designators).
 * NULL if the specification has none (e.g. root for sparc). */
const GptPartitionType *gpt_partition_type_find(PartitionDesignator d, Architecture a);
/* The generic Linux data type, which the specification leaves to the context. */
bool gpt_partition_type_is_linux_generic(const GptPartitionType *t);

/* The whole table, for enumeration (tests, listings). */
const GptPartitionType *gpt_partition_type_table(size_t *ret_n);
