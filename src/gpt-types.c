/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <string.h>
#include <strings.h>

#include "gpt-types.h"
#include "macro.h"

static const char *const architecture_table[_ARCHITECTURE_MAX] = {
        [ARCHITECTURE_ALPHA] = "alpha",
        [ARCHITECTURE_ARC] = "arc",
        [ARCHITECTURE_ARC_BE] = "arc-be",
        [ARCHITECTURE_ARM] = "arm",
        [ARCHITECTURE_ARM_BE] = "arm-be",
        [ARCHITECTURE_ARM64] = "arm64",
        [ARCHITECTURE_ARM64_BE] = "arm64-be",
        [ARCHITECTURE_CRIS] = "cris",
        [ARCHITECTURE_IA64] = "ia64",
        [ARCHITECTURE_LOONGARCH64] = "loongarch64",
        [ARCHITECTURE_M68K] = "m68k",
        [ARCHITECTURE_MIPS] = "mips",
        [ARCHITECTURE_MIPS_LE] = "mips-le",
        [ARCHITECTURE_MIPS64] = "mips64",
        [ARCHITECTURE_MIPS64_LE] = "mips64-le",
        [ARCHITECTURE_NIOS2] = "nios2",
        [ARCHITECTURE_PARISC] = "parisc",
        [ARCHITECTURE_PARISC64] = "parisc64",
        [ARCHITECTURE_PPC] = "ppc",
        [ARCHITECTURE_PPC_LE] = "ppc-le",
        [ARCHITECTURE_PPC64] = "ppc64",
        [ARCHITECTURE_PPC64_LE] = "ppc64-le",
        [ARCHITECTURE_RISCV32] = "riscv32",
        [ARCHITECTURE_RISCV64] = "riscv64",
        [ARCHITECTURE_S390] = "s390",
        [ARCHITECTURE_S390X] = "s390x",
        [ARCHITECTURE_SH] = "sh",
        [ARCHITECTURE_SH64] = "sh64",
        [ARCHITECTURE_SPARC] = "sparc",
        [ARCHITECTURE_SPARC64] = "sparc64",
        [ARCHITECTURE_TILEGX] = "tilegx",
        [ARCHITECTURE_X86] = "x86",
        [ARCHITECTURE_X86_64] = "x86-64",
};

const char *architecture_to_string(Architecture a) {
        if (a < 0 || a >= _ARCHITECTURE_MAX)
                return NULL;
        return architecture_table[a];
}

Architecture architecture_from_string(const char *s) {
        if (!s)
                return _ARCHITECTURE_INVALID;
        for (Architecture a = 0; a < _ARCHITECTURE_MAX; a++)
                if (streq(s, architecture_table[a]))
                        return a;
        return _ARCHITECTURE_INVALID;
}

/* Compile-time, in the order of the specification's table; an architecture we do not know is a
 * build error rather than a silent "no native partitions". */
#if defined(__alpha__)
#  define NATIVE ARCHITECTURE_ALPHA
#elif defined(__arc__)
#  define NATIVE ARCHITECTURE_ARC
#elif defined(__aarch64__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#  define NATIVE ARCHITECTURE_ARM64
#  define SECONDARY ARCHITECTURE_ARM
#elif defined(__arm__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#  define NATIVE ARCHITECTURE_ARM
#elif defined(__ia64__)
#  define NATIVE ARCHITECTURE_IA64
#elif defined(__loongarch_lp64)
#  define NATIVE ARCHITECTURE_LOONGARCH64
#elif defined(__mips__) && !defined(__mips64) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#  define NATIVE ARCHITECTURE_MIPS_LE
#elif defined(__mips64) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#  define NATIVE ARCHITECTURE_MIPS64_LE
#elif defined(__hppa__)
#  define NATIVE ARCHITECTURE_PARISC
#elif defined(__powerpc64__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#  define NATIVE ARCHITECTURE_PPC64_LE
#elif defined(__powerpc64__)
#  define NATIVE ARCHITECTURE_PPC64
#elif defined(__powerpc__)
#  define NATIVE ARCHITECTURE_PPC
#elif defined(__riscv) && __riscv_xlen == 32
#  define NATIVE ARCHITECTURE_RISCV32
#elif defined(__riscv) && __riscv_xlen == 64
#  define NATIVE ARCHITECTURE_RISCV64
#elif defined(__s390x__)
#  define NATIVE ARCHITECTURE_S390X
#elif defined(__s390__)
#  define NATIVE ARCHITECTURE_S390
#elif defined(__tilegx__)
#  define NATIVE ARCHITECTURE_TILEGX
#elif defined(__x86_64__)
#  define NATIVE ARCHITECTURE_X86_64
#  define SECONDARY ARCHITECTURE_X86
#elif defined(__i386__)
#  define NATIVE ARCHITECTURE_X86
#else
#  error "Unknown architecture: add it to the Discoverable Partitions table."
#endif

Architecture architecture_native(void) {
        return NATIVE;
}

Architecture architecture_secondary(void) {
#ifdef SECONDARY
        return SECONDARY;
#else
        return _ARCHITECTURE_INVALID;
#endif
}

int architecture_preference(Architecture a) {
        if (a < 0)
                return 0;
        if (a == architecture_native())
                return 2;
        if (a == architecture_secondary())
                return 1;
        return 0;
}

static const char *const designator_table[_PARTITION_DESIGNATOR_MAX] = {
        [PARTITION_ROOT] = "root",
        [PARTITION_USR] = "usr",
        [PARTITION_HOME] = "home",
        [PARTITION_SRV] = "srv",
        [PARTITION_ESP] = "esp",
        [PARTITION_XBOOTLDR] = "xbootldr",
        [PARTITION_SWAP] = "swap",
        [PARTITION_ROOT_VERITY] = "root-verity",
        [PARTITION_USR_VERITY] = "usr-verity",
        [PARTITION_ROOT_VERITY_SIG] = "root-verity-sig",
        [PARTITION_USR_VERITY_SIG] = "usr-verity-sig",
        [PARTITION_TMP] = "tmp",
        [PARTITION_VAR] = "var",
};

const char *partition_designator_to_string(PartitionDesignator d) {
        if (d < 0 || d >= _PARTITION_DESIGNATOR_MAX)
                return NULL;
        return designator_table[d];
}

PartitionDesignator partition_designator_from_string(const char *s) {
        if (!s)
                return _PARTITION_DESIGNATOR_INVALID;
        for (PartitionDesignator d = 0; d < _PARTITION_DESIGNATOR_MAX; d++)
                if (streq(s, designator_table[d]))
                        return d;
        return _PARTITION_DESIGNATOR_INVALID;
}

PartitionDesignator partition_verity_of(PartitionDesignator d) {
        return d == PARTITION_ROOT ? PARTITION_ROOT_VERITY
                : d == PARTITION_USR ? PARTITION_USR_VERITY
                : _PARTITION_DESIGNATOR_INVALID;
}

PartitionDesignator partition_verity_sig_of(PartitionDesignator d) {
        return d == PARTITION_ROOT ? PARTITION_ROOT_VERITY_SIG
                : d == PARTITION_USR ? PARTITION_USR_VERITY_SIG
                : _PARTITION_DESIGNATOR_INVALID;
}

PartitionDesignator partition_verity_to_data(PartitionDesignator d) {
        return d == PARTITION_ROOT_VERITY ? PARTITION_ROOT
                : d == PARTITION_USR_VERITY ? PARTITION_USR
                : _PARTITION_DESIGNATOR_INVALID;
}

PartitionDesignator partition_verity_sig_to_data(PartitionDesignator d) {
        return d == PARTITION_ROOT_VERITY_SIG ? PARTITION_ROOT
                : d == PARTITION_USR_VERITY_SIG ? PARTITION_USR
                : _PARTITION_DESIGNATOR_INVALID;
}

bool partition_designator_is_versioned(PartitionDesignator d) {
        return d == PARTITION_ROOT || d == PARTITION_USR || d == PARTITION_ROOT_VERITY ||
                d == PARTITION_USR_VERITY || d == PARTITION_ROOT_VERITY_SIG || d == PARTITION_USR_VERITY_SIG;
}

/* One row per architecture of the specification: root, /usr, then their verity and verity
 * signature types. The names are systemd-repart's identifiers. */
#define ARCH_TYPES(a, s, root, usr, root_verity, usr_verity, root_sig, usr_sig)                       \
        { root, "root-" s, PARTITION_ROOT, a },                                                      \
        { usr, "usr-" s, PARTITION_USR, a },                                                         \
        { root_verity, "root-" s "-verity", PARTITION_ROOT_VERITY, a },                              \
        { usr_verity, "usr-" s "-verity", PARTITION_USR_VERITY, a },                                 \
        { root_sig, "root-" s "-verity-sig", PARTITION_ROOT_VERITY_SIG, a },                         \
        { usr_sig, "usr-" s "-verity-sig", PARTITION_USR_VERITY_SIG, a }

#define LINUX_GENERIC_UUID "0fc63daf-8483-4772-8e79-3d69d8477de4"

static const GptPartitionType gpt_types[] = {
        ARCH_TYPES(ARCHITECTURE_ALPHA, "alpha",
                   "6523f8ae-3eb1-4e2a-a05a-18b695ae656f", "e18cf08c-33ec-4c0d-8246-c6c6fb3da024",
                   "fc56d9e9-e6e5-4c06-be32-e74407ce09a5", "8cce0d25-c0d0-4a44-bd87-46331bf1df67",
                   "d46495b7-a053-414f-80f7-700c99921ef8", "5c6e1c76-076a-457a-a0fe-f3b4cd21ce6e"),
        ARCH_TYPES(ARCHITECTURE_ARC, "arc",
                   "d27f46ed-2919-4cb8-bd25-9531f3c16534", "7978a683-6316-4922-bbee-38bff5a2fecc",
                   "24b2d975-0f97-4521-afa1-cd531e421b8d", "fca0598c-d880-4591-8c16-4eda05c7347c",
                   "143a70ba-cbd3-4f06-919f-6c05683a78bc", "94f9a9a1-9971-427a-a400-50cb297f0f35"),
        ARCH_TYPES(ARCHITECTURE_ARM, "arm",
                   "69dad710-2ce4-4e3c-b16c-21a1d49abed3", "7d0359a3-02b3-4f0a-865c-654403e70625",
                   "7386cdf2-203c-47a9-a498-f2ecce45a2d6", "c215d751-7bcd-4649-be90-6627490a4c05",
                   "42b0455f-eb11-491d-98d3-56145ba9d037", "d7ff812f-37d1-4902-a810-d76ba57b975a"),
        ARCH_TYPES(ARCHITECTURE_ARM64, "arm64",
                   "b921b045-1df0-41c3-af44-4c6f280d3fae", "b0e01050-ee5f-4390-949a-9101b17104e9",
                   "df3300ce-d69f-4c92-978c-9bfb0f38d820", "6e11a4e7-fbca-4ded-b9e9-e1a512bb664e",
                   "6db69de6-29f4-4758-a7a5-962190f00ce3", "c23ce4ff-44bd-4b00-b2d4-b41b3419e02a"),
        ARCH_TYPES(ARCHITECTURE_IA64, "ia64",
                   "993d8d3d-f80e-4225-855a-9daf8ed7ea97", "4301d2a6-4e3b-4b2a-bb94-9e0b2c4225ea",
                   "86ed10d5-b607-45bb-8957-d350f23d0571", "6a491e03-3be7-4545-8e38-83320e0ea880",
                   "e98b36ee-32ba-4882-9b12-0ce14655f46a", "8de58bc2-2a43-460d-b14e-a76e4a17b47f"),
        ARCH_TYPES(ARCHITECTURE_LOONGARCH64, "loongarch64",
                   "77055800-792c-4f94-b39a-98c91b762bb6", "e611c702-575c-4cbe-9a46-434fa0bf7e3f",
                   "f3393b22-e9af-4613-a948-9d3bfbd0c535", "f46b2c26-59ae-48f0-9106-c50ed47f673d",
                   "5afb67eb-ecc8-4f85-ae8e-ac1e7c50e7d0", "b024f315-d330-444c-8461-44bbde524e99"),
        ARCH_TYPES(ARCHITECTURE_MIPS_LE, "mips-le",
                   "37c58c8a-d913-4156-a25f-48b1b64e07f0", "0f4868e9-9952-4706-979f-3ed3a473e947",
                   "d7d150d2-2a04-4a33-8f12-16651205ff7b", "46b98d8d-b55c-4e8f-aab3-37fca7f80752",
                   "c919cc1f-4456-4eff-918c-f75e94525ca5", "3e23ca0b-a4bc-4b4e-8087-5ab6a26aa8a9"),
        ARCH_TYPES(ARCHITECTURE_MIPS64_LE, "mips64-le",
                   "700bda43-7a34-4507-b179-eeb93d7a7ca3", "c97c1f32-ba06-40b4-9f22-236061b08aa8",
                   "16b417f8-3e06-4f57-8dd2-9b5232f41aa6", "3c3d61fe-b5f3-414d-bb71-8739a694a4ef",
                   "904e58ef-5c65-4a31-9c57-6af5fc7c5de7", "f2c2c7ee-adcc-4351-b5c6-ee9816b66e16"),
        ARCH_TYPES(ARCHITECTURE_PARISC, "parisc",
                   "1aacdb3b-5444-4138-bd9e-e5c2239b2346", "dc4a4480-6917-4262-a4ec-db9384949f25",
                   "d212a430-fbc5-49f9-a983-a7feef2b8d0e", "5843d618-ec37-48d7-9f12-cea8e08768b2",
                   "15de6170-65d3-431c-916e-b0dcd8393f25", "450dd7d1-3224-45ec-9cf2-a43a346d71ee"),
        ARCH_TYPES(ARCHITECTURE_PPC, "ppc",
                   "1de3f1ef-fa98-47b5-8dcd-4a860a654d78", "7d14fec5-cc71-415d-9d6c-06bf0b3c3eaf",
                   "98cfe649-1588-46dc-b2f0-add147424925", "df765d00-270e-49e5-bc75-f47bb2118b09",
                   "1b31b5aa-add9-463a-b2ed-bd467fc857e7", "7007891d-d371-4a80-86a4-5cb875b9302e"),
        ARCH_TYPES(ARCHITECTURE_PPC64, "ppc64",
                   "912ade1d-a839-4913-8964-a10eee08fbd2", "2c9739e2-f068-46b3-9fd0-01c5a9afbcca",
                   "9225a9a3-3c19-4d89-b4f6-eeff88f17631", "bdb528a5-a259-475f-a87d-da53fa736a07",
                   "f5e2c20c-45b2-4ffa-bce9-2a60737e1aaf", "0b888863-d7f8-4d9e-9766-239fce4d58af"),
        ARCH_TYPES(ARCHITECTURE_PPC64_LE, "ppc64-le",
                   "c31c45e6-3f39-412e-80fb-4809c4980599", "15bb03af-77e7-4d4a-b12b-c0d084f7491c",
                   "906bd944-4589-4aae-a4e4-dd983917446a", "ee2b9983-21e8-4153-86d9-b6901a54d1ce",
                   "d4a236e7-e873-4c07-bf1d-bf6cf7f1c3c6", "c8bfbd1e-268e-4521-8bba-bf314c399557"),
        ARCH_TYPES(ARCHITECTURE_RISCV32, "riscv32",
                   "60d5a7fe-8e7d-435c-b714-3dd8162144e1", "b933fb22-5c3f-4f91-af90-e2bb0fa50702",
                   "ae0253be-1167-4007-ac68-43926c14c5de", "cb1ee4e3-8cd0-4136-a0a4-aa61a32e8730",
                   "3a112a75-8729-4380-b4cf-764d79934448", "c3836a13-3137-45ba-b583-b16c50fe5eb4"),
        ARCH_TYPES(ARCHITECTURE_RISCV64, "riscv64",
                   "72ec70a6-cf74-40e6-bd49-4bda08e8f224", "beaec34b-8442-439b-a40b-984381ed097d",
                   "b6ed5582-440b-4209-b8da-5ff7c419ea3d", "8f1056be-9b05-47c4-81d6-be53128e5b54",
                   "efe0f087-ea8d-4469-821a-4c2a96a8386a", "d2f9000a-7a18-453f-b5cd-4d32f77a7b32"),
        ARCH_TYPES(ARCHITECTURE_S390, "s390",
                   "08a7acea-624c-4a20-91e8-6e0fa67d23f9", "cd0f869b-d0fb-4ca0-b141-9ea87cc78d66",
                   "7ac63b47-b25c-463b-8df8-b4a94e6c90e1", "b663c618-e7bc-4d6d-90aa-11b756bb1797",
                   "3482388e-4254-435a-a241-766a065f9960", "17440e4f-a8d0-467f-a46e-3912ae6ef2c5"),
        ARCH_TYPES(ARCHITECTURE_S390X, "s390x",
                   "5eead9a9-fe09-4a1e-a1d7-520d00531306", "8a4f5770-50aa-4ed3-874a-99b710db6fea",
                   "b325bfbe-c7be-4ab8-8357-139e652d2f6b", "31741cc4-1a2a-4111-a581-e00b447d2d06",
                   "c80187a5-73a3-491a-901a-017c3fa953e9", "3f324816-667b-46ae-86ee-9b0c0c6c11b4"),
        ARCH_TYPES(ARCHITECTURE_TILEGX, "tilegx",
                   "c50cdd70-3862-4cc3-90e1-809a8c93ee2c", "55497029-c7c1-44cc-aa39-815ed1558630",
                   "966061ec-28e4-4b2e-b4a5-1f0a825a1d84", "2fb4bf56-07fa-42da-8132-6b139f2026ae",
                   "b3671439-97b0-4a53-90f7-2d5a8f3ad47b", "4ede75e2-6ccc-4cc8-b9c7-70334b087510"),
        ARCH_TYPES(ARCHITECTURE_X86, "x86",
                   "44479540-f297-41b2-9af7-d131d5f0458a", "75250d76-8cc6-458e-bd66-bd47cc81a812",
                   "d13c5d3b-b5d1-422a-b29f-9454fdc89d76", "8f461b0d-14ee-4e81-9aa9-049b6fb97abd",
                   "5996fc05-109c-48de-808b-23fa0830b676", "974a71c0-de41-43c3-be5d-5c5ccd1ad2c0"),
        ARCH_TYPES(ARCHITECTURE_X86_64, "x86-64",
                   "4f68bce3-e8cd-4db1-96e7-fbcaf984b709", "8484680c-9521-48c6-9c11-b0720656f69e",
                   "2c7357ed-ebd2-46d9-aec1-23d437ec2bf5", "77ff5f63-e7b6-4633-acf4-1565b864c0e6",
                   "41092b05-9fc8-4523-994f-2def0408b176", "e7bb33fb-06cf-4e81-8273-e543b413e2e2"),

        { "c12a7328-f81f-11d2-ba4b-00a0c93ec93b", "esp", PARTITION_ESP, _ARCHITECTURE_INVALID },
        { "bc13c2ff-59e6-4262-a352-b275fd6f7172", "xbootldr", PARTITION_XBOOTLDR, _ARCHITECTURE_INVALID },
        { "0657fd6d-a4ab-43c4-84e5-0933c84b4f4f", "swap", PARTITION_SWAP, _ARCHITECTURE_INVALID },
        { "933ac7e1-2eb4-4f13-b844-0e14e2aef915", "home", PARTITION_HOME, _ARCHITECTURE_INVALID },
        { "3b8f8425-20e0-4f3b-907f-1a25a76f98e8", "srv", PARTITION_SRV, _ARCHITECTURE_INVALID },
        { "4d21b016-b534-45c2-a9fb-5c16e091fd2d", "var", PARTITION_VAR, _ARCHITECTURE_INVALID },
        { "7ec6f557-3bc5-4aca-b293-16ef5df639d1", "tmp", PARTITION_TMP, _ARCHITECTURE_INVALID },
        { "773f91ef-66d4-49b5-bd83-d683bf40ad16", "user-home", _PARTITION_DESIGNATOR_INVALID,
          _ARCHITECTURE_INVALID },
        { LINUX_GENERIC_UUID, "linux-generic", _PARTITION_DESIGNATOR_INVALID, _ARCHITECTURE_INVALID },
};

const GptPartitionType *gpt_partition_type_table(size_t *ret_n) {
        *ret_n = ELEMENTSOF(gpt_types);
        return gpt_types;
}

const GptPartitionType *gpt_partition_type_from_uuid(const char *uuid) {
        if (!uuid)
                return NULL;
        for (size_t i = 0; i < ELEMENTSOF(gpt_types); i++)
                if (strcasecmp(uuid, gpt_types[i].uuid) == 0)
                        return gpt_types + i;
        return NULL;
}

const GptPartitionType *gpt_partition_type_from_name(const char *name) {
        if (!name)
                return NULL;
        for (size_t i = 0; i < ELEMENTSOF(gpt_types); i++)
                if (streq(name, gpt_types[i].name))
                        return gpt_types + i;
        return NULL;
}

const GptPartitionType *gpt_partition_type_find(PartitionDesignator d, Architecture a) {
        for (size_t i = 0; i < ELEMENTSOF(gpt_types); i++) {
                const GptPartitionType *t = gpt_types + i;

                if (t->designator != d || d < 0)
                        continue;
                if (t->arch < 0 || t->arch == a)
                        return t;
        }
        return NULL;
}

bool gpt_partition_type_is_linux_generic(const GptPartitionType *t) {
        return t && streq(t->uuid, LINUX_GENERIC_UUID);
}
