/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <criterion/criterion.h>
#include <criterion/new/assert.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "fd-util.h"
#include "image-dissect.h"
#include "unit-helpers.h"
#include "verity-fixture.h"
#include "verity.h"

/* Disks are written with sfdisk (partition names, UUIDs and GPT attribute bits as the tests need
 * them), file systems with mksquashfs and mkswap, hash trees with veritysetup. No root needed. */

static char *tmp, *tree, *squashfs, *hash_tree;

static void setup(void) {
        vf_require("sfdisk", "mksquashfs", NULL);
        tmp = unit_mkdtemp("dissect");
        tree = unit_strf("%s/tree", tmp);
        squashfs = unit_strf("%s/fs.squashfs", tmp);
        hash_tree = unit_strf("%s/fs.verity", tmp);

        _cleanup_free_ char *osrel = unit_strf("%s/usr/lib/os-release", tree);

        unit_write(osrel, "ID=dissect\n");
        unit_make_fs_image("squashfs", tree, squashfs);
}

static void teardown(void) {
        unit_rm_rf(tmp);
        free(tmp);
        free(tree);
        free(squashfs);
        free(hash_tree);
}

TestSuite(image_dissect, .init = setup, .fini = teardown);

typedef struct Part {
        const char *type;     /* our name for it ("root-x86-64", "esp") or a type UUID */
        const char *content;  /* "squashfs", "verity", "swap", "json:<text>" or NULL (zeros) */
        const char *label;
        const char *uuid;
        const char *attrs;    /* sfdisk's attrs="..." */
} Part;

#define PART_MIB 2U

static const char *type_uuid(const char *type) {
        const GptPartitionType *t = gpt_partition_type_from_name(type);

        return t ? t->uuid : type;
}

/* The first partition starts at 1 MiB, each is PART_MIB MiB. */
static char *make_disk(const char *label_type, const Part *parts, size_t n) {
        char *img = unit_strf("%s/disk.raw", tmp);
        _cleanup_free_ char *script = unit_strf("%s/disk.sfdisk", tmp), *text = NULL;
        size_t len = 0;
        FILE *f;

        f = open_memstream(&text, &len);
        fprintf(f, "label: %s\nunit: sectors\n", label_type);
        for (size_t i = 0; i < n; i++) {
                fprintf(f, "start=%u, size=%u, type=%s", 2048 + (unsigned) i * PART_MIB * 2048, PART_MIB * 2048,
                        streq(label_type, "dos") ? parts[i].type : type_uuid(parts[i].type));
                if (parts[i].uuid)
                        fprintf(f, ", uuid=%s", parts[i].uuid);
                if (parts[i].label)
                        fprintf(f, ", name=\"%s\"", parts[i].label);
                if (parts[i].attrs)
                        fprintf(f, streq(label_type, "dos") ? ", %s" : ", attrs=\"%s\"", parts[i].attrs);
                fprintf(f, "\n");
        }
        fclose(f);
        unit_write(script, text);

        (void) unlink(img);
        cr_assert(eq(int, unit_run("truncate -s %uM '%s'", 2 + (unsigned) n * PART_MIB, img), 0));
        cr_assert(eq(int, unit_run("sfdisk -q '%s' <'%s' >/dev/null", img, script), 0), "sfdisk failed: %s", text);

        for (size_t i = 0; i < n; i++) {
                uint64_t offset = (1 + i * PART_MIB) * MIB;
                const char *c = parts[i].content;

                if (!c)
                        continue;
                if (streq(c, "squashfs"))
                        cr_assert(eq(int, unit_run("dd if='%s' of='%s' bs=1M seek=%llu conv=notrunc status=none",
                                                   squashfs, img, (unsigned long long) (offset / MIB)), 0));
                else if (streq(c, "verity")) {
                        vf_require("veritysetup", NULL);
                        cr_assert(eq(int, unit_run("veritysetup format '%s' '%s' >/dev/null", squashfs, hash_tree), 0));
                        cr_assert(eq(int, unit_run("dd if='%s' of='%s' bs=1M seek=%llu conv=notrunc status=none",
                                                   hash_tree, img, (unsigned long long) (offset / MIB)), 0));
                } else if (streq(c, "swap")) {
                        _cleanup_free_ char *s = unit_strf("%s/swap", tmp);

                        cr_assert(eq(int, unit_run("truncate -s 1M '%s' && mkswap -q '%s' >/dev/null 2>&1 && "
                                                   "dd if='%s' of='%s' bs=1M seek=%llu conv=notrunc status=none",
                                                   s, s, s, img, (unsigned long long) (offset / MIB)), 0));
                } else if (strncmp(c, "json:", 5) == 0) {
                        int fd = open(img, O_WRONLY | O_CLOEXEC);

                        cr_assert(fd >= 0);
                        cr_assert(eq(long, (long) pwrite(fd, c + 5, strlen(c + 5), (off_t) offset), (long) strlen(c + 5)));
                        close(fd);
                } else
                        cr_fatal("unknown content %s", c);
        }
        return img;
}

static int dissect(const char *img, const DissectHints *hints, DissectedImage *m, char **ret_message) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_close_ int fd = open(img, O_RDONLY | O_CLOEXEC);
        int r;

        cr_assert(fd >= 0);
        r = image_dissect(fd, "disk.raw", hints, m, &error);
        if (r >= 0)
                cr_assert(zero(ptr, (void *) error.message));
        if (ret_message)
                *ret_message = error.message ? strdup(error.message) : NULL;
        else if (r < 0)
                cr_log_info("%s", strna(error.message));
        return r;
}

static void assert_refused(const char *img, const DissectHints *hints, int error, const char *in_message) {
        _cleanup_(dissected_image_done) DissectedImage m = {};
        _cleanup_free_ char *msg = NULL;

        cr_assert(eq(int, dissect(img, hints, &m, &msg), error), "%s", strna(msg));
        cr_assert(not(zero(ptr, strstr(strempty(msg), "disk.raw"))), "%s", strna(msg));
        cr_assert(not(zero(ptr, strstr(strempty(msg), in_message))), "'%s' not in: %s", in_message, strna(msg));
        cr_assert(zero(ptr, m.name));
}

/* repart's name for the type of designator d for this architecture: "root-x86-64-verity". */
static const char *native_type(PartitionDesignator d) {
        return gpt_partition_type_find(d, architecture_native())->name;
}

static const char *native(const char *prefix) {
        return native_type(streq(prefix, "root") ? PARTITION_ROOT : PARTITION_USR);
}

static const char *foreign(const char *prefix) {
        static char buf[64];

        snprintf(buf, sizeof(buf), "%s-%s", prefix, architecture_native() == ARCHITECTURE_S390X ? "riscv64" : "s390x");
        return buf;
}

Test(image_dissect, naked_file_system) {
        _cleanup_(dissected_image_done) DissectedImage m = {};
        const DissectedPartition *p;

        cr_assert(eq(int, dissect(squashfs, NULL, &m, NULL), 0));
        assert_str(m.name, "disk.raw");
        cr_assert(not(m.partitioned));
        cr_assert(eq(u64, m.size, vf_file_size(squashfs)));
        p = dissected_image_root(&m);
        cr_assert(not(zero(ptr, (void *) p)));
        cr_assert(zero(ptr, (void *) dissected_image_usr(&m)));
        assert_str(p->fstype, "squashfs");
        cr_assert(eq(u64, p->offset, 0));
        cr_assert(eq(u64, p->size, m.size));
        cr_assert(eq(uint, p->partno, 0));
        cr_assert(eq(int, p->architecture, _ARCHITECTURE_INVALID));
        cr_assert(zero(ptr, p->uuid));
        cr_assert(eq(int, p->protection, PARTITION_UNPROTECTED));
        cr_assert(not(p->rw));
}

Test(image_dissect, naked_with_sidecars) {
        _cleanup_(dissected_image_done) DissectedImage root = {}, usr = {}, tree_only = {};
        static const uint8_t hash[32] = { 1 };

        /* A root hash and a hash tree: verity; a signature next to them: noted, not yet trusted. */
        cr_assert(eq(int, dissect(squashfs, &(DissectHints) { .root_hash = hash, .root_hash_size = 32,
                                                              .root_hash_sig = true, .hash_sidecar = true }, &root, NULL), 0));
        cr_assert(eq(int, root.partitions[PARTITION_ROOT].protection, PARTITION_VERITY));
        cr_assert(root.partitions[PARTITION_ROOT].has_signature);

        /* Only a /usr hash: the file system is /usr. */
        cr_assert(eq(int, dissect(squashfs, &(DissectHints) { .usr_hash = hash, .usr_hash_size = 32,
                                                              .hash_sidecar = true }, &usr, NULL), 0));
        cr_assert(not(usr.partitions[PARTITION_ROOT].found));
        cr_assert(eq(int, usr.partitions[PARTITION_USR].protection, PARTITION_VERITY));
        cr_assert(not(usr.partitions[PARTITION_USR].has_signature));

        /* A hash tree without a root hash protects nothing. */
        cr_assert(eq(int, dissect(squashfs, &(DissectHints) { .hash_sidecar = true }, &tree_only, NULL), 0));
        cr_assert(eq(int, tree_only.partitions[PARTITION_ROOT].protection, PARTITION_UNPROTECTED));

        /* A root hash without a hash tree is refused. */
        assert_refused(squashfs, &(DissectHints) { .root_hash = hash, .root_hash_size = 32 }, -EADDRNOTAVAIL,
                       "no .verity hash tree");
        assert_refused(squashfs, &(DissectHints) { .root_hash = hash, .root_hash_size = 8, .hash_sidecar = true }, -EINVAL,
                       "shorter than 128 bits");
}

Test(image_dissect, gpt_native_root) {
        const Part parts[] = {
                { "esp", NULL, "esp" },
                { native("root"), "squashfs", "root-1", "01234567-89ab-cdef-0123-456789abcdef", "GUID:59" },
        };
        _cleanup_free_ char *img = make_disk("gpt", parts, ELEMENTSOF(parts));
        _cleanup_(dissected_image_done) DissectedImage m = {};
        const DissectedPartition *p;

        cr_assert(eq(int, dissect(img, NULL, &m, NULL), 0));
        cr_assert(m.partitioned);
        p = dissected_image_root(&m);
        cr_assert(not(zero(ptr, (void *) p)));
        cr_assert(eq(uint, p->partno, 2));
        cr_assert(eq(u64, p->offset, 3 * MIB));
        cr_assert(eq(u64, p->size, PART_MIB * MIB));
        assert_str(p->fstype, "squashfs");
        assert_str(p->label, "root-1");
        assert_str(p->uuid, "01234567-89ab-cdef-0123-456789abcdef");
        assert_str(p->type_uuid, gpt_partition_type_find(PARTITION_ROOT, architecture_native())->uuid);
        cr_assert(eq(int, p->architecture, architecture_native()));
        cr_assert(eq(u64, p->gpt_flags, GPT_FLAG_GROWFS));
        cr_assert(p->growfs);
        cr_assert(p->rw);
        /* Known but not used. */
        cr_assert(m.partitions[PARTITION_ESP].found);
        cr_assert(eq(uint, m.partitions[PARTITION_ESP].partno, 1));
}

Test(image_dissect, architectures) {
        _cleanup_(dissected_image_done) DissectedImage m = {}, s = {};
        const char *sec = architecture_secondary() >= 0 ? architecture_to_string(architecture_secondary()) : NULL;
        _cleanup_free_ char *sec_root = sec ? unit_strf("root-%s", sec) : NULL;

        /* Foreign only: refused, saying what was there. */
        {
                const Part parts[] = { { foreign("root"), "squashfs" } };
                _cleanup_free_ char *img = make_disk("gpt", parts, ELEMENTSOF(parts)),
                                    *want = unit_strf("%s (partition 1, not for this architecture)", foreign("root"));

                assert_refused(img, NULL, -ENXIO, want);
        }
        if (!sec)
                return;

        /* Secondary only: taken. */
        {
                const Part parts[] = { { foreign("root"), "squashfs" }, { sec_root, "squashfs" } };
                _cleanup_free_ char *img = make_disk("gpt", parts, ELEMENTSOF(parts));

                cr_assert(eq(int, dissect(img, NULL, &s, NULL), 0));
                cr_assert(eq(int, s.partitions[PARTITION_ROOT].architecture, architecture_secondary()));
                cr_assert(eq(uint, s.partitions[PARTITION_ROOT].partno, 2));
        }
        /* Native and secondary: native, wherever it is. */
        {
                const Part parts[] = { { sec_root, "squashfs", "root-9" }, { native("root"), "squashfs", "root-1" } };
                _cleanup_free_ char *img = make_disk("gpt", parts, ELEMENTSOF(parts));

                cr_assert(eq(int, dissect(img, NULL, &m, NULL), 0));
                cr_assert(eq(int, m.partitions[PARTITION_ROOT].architecture, architecture_native()));
                cr_assert(eq(uint, m.partitions[PARTITION_ROOT].partno, 2));
        }
}

Test(image_dissect, no_auto) {
        _cleanup_(dissected_image_done) DissectedImage m = {};

        {
                const Part parts[] = { { native("root"), "squashfs", NULL, NULL, "GUID:63" } };
                _cleanup_free_ char *img = make_disk("gpt", parts, ELEMENTSOF(parts)),
                                    *want = unit_strf("%s (partition 1, marked no-auto)", native("root"));

                assert_refused(img, NULL, -ENXIO, want);
        }
        {
                const Part parts[] = { { native("root"), "squashfs", "root-9", NULL, "GUID:63" },
                                       { native("root"), "squashfs", "root-1" } };
                _cleanup_free_ char *img = make_disk("gpt", parts, ELEMENTSOF(parts));

                cr_assert(eq(int, dissect(img, NULL, &m, NULL), 0));
                cr_assert(eq(uint, m.partitions[PARTITION_ROOT].partno, 2), "the no-auto one is skipped, newer or not");
        }
}

Test(image_dissect, label_versions_pick_the_newest) {
        _cleanup_(dissected_image_done) DissectedImage m = {};
        const Part parts[] = {
                { native("root"), "squashfs", "root-1.9" },
                { native("root"), "squashfs", "root-1.10" },
                { native("root"), "squashfs", "root-1.2" },
        };
        _cleanup_free_ char *img = make_disk("gpt", parts, ELEMENTSOF(parts));

        cr_assert(eq(int, dissect(img, NULL, &m, NULL), 0));
        cr_assert(eq(uint, m.partitions[PARTITION_ROOT].partno, 2));
        assert_str(m.partitions[PARTITION_ROOT].label, "root-1.10");
}

Test(image_dissect, equal_candidates_are_refused) {
        const Part parts[] = {
                { native("root"), "squashfs", "root" },
                { native("root"), "squashfs", "root" },
        };
        _cleanup_free_ char *img = make_disk("gpt", parts, ELEMENTSOF(parts));

        assert_refused(img, NULL, -ENOTUNIQ, "partitions 1 and 2 are both candidates for 'root'");
}

Test(image_dissect, usr_only_and_root_with_usr) {
        _cleanup_(dissected_image_done) DissectedImage u = {}, b = {};

        {
                const Part parts[] = { { native("usr"), "squashfs" } };
                _cleanup_free_ char *img = make_disk("gpt", parts, ELEMENTSOF(parts));

                cr_assert(eq(int, dissect(img, NULL, &u, NULL), 0));
                cr_assert(zero(ptr, (void *) dissected_image_root(&u)));
                cr_assert(not(zero(ptr, (void *) dissected_image_usr(&u))));
                assert_str(u.partitions[PARTITION_USR].fstype, "squashfs");
        }
        {
                const Part parts[] = { { native("usr"), "squashfs" }, { native("root"), "squashfs" } };
                _cleanup_free_ char *img = make_disk("gpt", parts, ELEMENTSOF(parts));

                cr_assert(eq(int, dissect(img, NULL, &b, NULL), 0));
                cr_assert(eq(uint, b.partitions[PARTITION_ROOT].partno, 2));
                cr_assert(eq(uint, b.partitions[PARTITION_USR].partno, 1));
        }
        if (architecture_secondary() >= 0) {
                _cleanup_free_ char *sec_usr = unit_strf("usr-%s", architecture_to_string(architecture_secondary()));
                const Part parts[] = { { native("root"), "squashfs" }, { sec_usr, "squashfs" } };
                _cleanup_free_ char *img = make_disk("gpt", parts, ELEMENTSOF(parts));

                assert_refused(img, NULL, -EADDRNOTAVAIL, "root partition is for");
        }
}

Test(image_dissect, verity_partitions) {
        _cleanup_(dissected_image_done) DissectedImage plain = {}, hashed = {};
        /* The hash tree fixture is for the squashfs; UUIDs as repart derives them from a root hash. */
        static const uint8_t hash[32] = { 0x11, 0x11, 0x11, 0x11, 0x22, 0x22, 0x33, 0x33, 0x44, 0x44, 0x55, 0x55, 0x55, 0x55, 0x55, 0x55,
                                          0x66, 0x66, 0x66, 0x66, 0x77, 0x77, 0x88, 0x88, 0x99, 0x99, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa };
        const Part parts[] = {
                { native("root"), "squashfs", NULL, "11111111-2222-3333-4444-555555555555" },
                { native_type(PARTITION_ROOT_VERITY), "verity", NULL, "66666666-7777-8888-9999-aaaaaaaaaaaa", "GUID:60" },
                { native("root"), "squashfs", NULL, "00000000-2222-3333-4444-555555555555" },
        };
        _cleanup_free_ char *img = make_disk("gpt", parts, 2), *img3 = NULL;

        /* Without a root hash: the hash partition is known, but nothing can be checked with it. */
        cr_assert(eq(int, dissect(img, NULL, &plain, NULL), 0));
        cr_assert(eq(int, plain.partitions[PARTITION_ROOT].protection, PARTITION_UNPROTECTED));
        cr_assert(plain.partitions[PARTITION_ROOT_VERITY].found);
        assert_str(plain.partitions[PARTITION_ROOT_VERITY].fstype, "DM_verity_hash");
        cr_assert(eq(u64, plain.partitions[PARTITION_ROOT_VERITY].gpt_flags, GPT_FLAG_READ_ONLY));

        /* With one: the partitions whose UUIDs it names are taken, even among several. */
        img3 = make_disk("gpt", parts, 3);
        cr_assert(eq(int, dissect(img3, &(DissectHints) { .root_hash = hash, .root_hash_size = 32 }, &hashed, NULL), 0));
        cr_assert(eq(uint, hashed.partitions[PARTITION_ROOT].partno, 1));
        cr_assert(eq(int, hashed.partitions[PARTITION_ROOT].protection, PARTITION_VERITY));
        cr_assert(not(hashed.partitions[PARTITION_ROOT].rw));

        /* A root hash naming no partition. */
        static const uint8_t other[32] = { 0xee };
        assert_refused(img, &(DissectHints) { .root_hash = other, .root_hash_size = 32 }, -EADDRNOTAVAIL,
                       "no root partition matches the given root hash");
}

Test(image_dissect, verity_without_data) {
        {
                const Part parts[] = { { native("usr"), "squashfs" }, { native_type(PARTITION_ROOT_VERITY), "verity" } };
                _cleanup_free_ char *img = make_disk("gpt", parts, ELEMENTSOF(parts));

                assert_refused(img, NULL, -EADDRNOTAVAIL, "has a root-verity partition but no root partition");
        }
        {
                const Part parts[] = { { native("root"), "squashfs" }, { native_type(PARTITION_ROOT_VERITY_SIG), "json:{}" } };
                _cleanup_free_ char *img = make_disk("gpt", parts, ELEMENTSOF(parts));

                assert_refused(img, NULL, -EADDRNOTAVAIL, "root-verity-sig partition (partition 2) but no root-verity");
        }
        {
                const Part parts[] = { { native("root"), "squashfs" } };
                _cleanup_free_ char *img = make_disk("gpt", parts, ELEMENTSOF(parts));
                static const uint8_t hash[32] = { 0 };

                /* repart derives the root's UUID from the hash; ours is random: no match. */
                assert_refused(img, &(DissectHints) { .root_hash = hash, .root_hash_size = 32 }, -EADDRNOTAVAIL,
                               "root hash");
        }
}

Test(image_dissect, verity_of_another_architecture_is_not_paired) {
        _cleanup_(dissected_image_done) DissectedImage m = {};
        _cleanup_free_ char *sec_verity = NULL;

        if (architecture_secondary() < 0)
                cr_skip_test("no secondary architecture here");
        sec_verity = unit_strf("root-%s-verity", architecture_to_string(architecture_secondary()));
        const Part parts[] = { { native("root"), "squashfs" }, { sec_verity, "verity" } };
        _cleanup_free_ char *img = make_disk("gpt", parts, ELEMENTSOF(parts));

        cr_assert(eq(int, dissect(img, NULL, &m, NULL), 0));
        cr_assert(not(m.partitions[PARTITION_ROOT_VERITY].found));
}

Test(image_dissect, wrong_contents) {
        {
                const Part parts[] = { { native("root"), "squashfs" }, { native_type(PARTITION_ROOT_VERITY), "squashfs" } };
                _cleanup_free_ char *img = make_disk("gpt", parts, ELEMENTSOF(parts));

                assert_refused(img, NULL, -EBADMSG, "holds 'squashfs' instead of a verity hash tree");
        }
        {
                const Part parts[] = { { native("root"), "swap" } };
                _cleanup_free_ char *img = make_disk("gpt", parts, ELEMENTSOF(parts));

                if (!unit_have_program("mkswap"))
                        cr_skip_test("mkswap is not installed");
                assert_refused(img, NULL, -EPROTONOSUPPORT, "holds 'swap', which is not a file system");
        }
        {
                const Part parts[] = { { native("root"), NULL } };
                _cleanup_free_ char *img = make_disk("gpt", parts, ELEMENTSOF(parts));

                assert_refused(img, NULL, -EMEDIUMTYPE, "holds no file system we recognise");
        }
}

Test(image_dissect, generic_linux_partitions) {
        _cleanup_(dissected_image_done) DissectedImage m = {};

        {
                const Part parts[] = { { "swap", NULL }, { "linux-generic", "squashfs" } };
                _cleanup_free_ char *img = make_disk("gpt", parts, ELEMENTSOF(parts));

                cr_assert(eq(int, dissect(img, NULL, &m, NULL), 0));
                cr_assert(eq(uint, m.partitions[PARTITION_ROOT].partno, 2));
                cr_assert(eq(int, m.partitions[PARTITION_ROOT].architecture, _ARCHITECTURE_INVALID));
        }
        {
                const Part parts[] = { { "linux-generic", "squashfs" }, { "linux-generic", "squashfs" } };
                _cleanup_free_ char *img = make_disk("gpt", parts, ELEMENTSOF(parts));

                assert_refused(img, NULL, -ENOTUNIQ, "partitions 1 and 2 are both generic Linux partitions");
        }
        {
                const Part parts[] = { { "linux-generic", "squashfs", NULL, NULL, "GUID:63" } };
                _cleanup_free_ char *img = make_disk("gpt", parts, ELEMENTSOF(parts));

                assert_refused(img, NULL, -ENXIO, "linux-generic (partition 1, marked no-auto)");
        }
}

Test(image_dissect, mbr) {
        _cleanup_(dissected_image_done) DissectedImage m = {};

        {
                const Part parts[] = { { "83", NULL }, { "83", "squashfs", NULL, NULL, "bootable" } };
                _cleanup_free_ char *img = make_disk("dos", parts, ELEMENTSOF(parts));

                cr_assert(eq(int, dissect(img, NULL, &m, NULL), 0));
                cr_assert(m.partitioned);
                cr_assert(eq(uint, m.partitions[PARTITION_ROOT].partno, 2));
                assert_str(m.partitions[PARTITION_ROOT].fstype, "squashfs");
        }
        {
                const Part parts[] = { { "83", "squashfs" } };
                _cleanup_free_ char *img = make_disk("dos", parts, ELEMENTSOF(parts));

                assert_refused(img, NULL, -ENXIO, "no suitable root or /usr partition");
        }
}

Test(image_dissect, partition_beyond_the_end) {
        const Part parts[] = { { native("root"), "squashfs" } };
        _cleanup_free_ char *img = make_disk("gpt", parts, ELEMENTSOF(parts));

        /* Cut the image in the middle of the partition: the table still points past the end. */
        cr_assert(eq(int, truncate(img, (off_t) (2 * MIB)), 0));
        {
                _cleanup_(dissected_image_done) DissectedImage m = {};
                _cleanup_free_ char *msg = NULL;
                int r = dissect(img, NULL, &m, &msg);

                /* libblkid may not even accept the table any more; either way it is refused. */
                cr_assert(lt(int, r, 0));
                cr_assert(not(zero(ptr, strstr(strempty(msg), "disk.raw"))), "%s", strna(msg));
        }
}

Test(image_dissect, not_an_image) {
        _cleanup_free_ char *zeros = unit_strf("%s/zeros.raw", tmp), *dir = unit_strf("%s/adir", tmp);
        _cleanup_(dissected_image_done) DissectedImage m = {};
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_close_ int dfd = -EBADF;

        cr_assert(eq(int, unit_run("truncate -s 4M '%s'", zeros), 0));
        assert_refused(zeros, NULL, -EMEDIUMTYPE, "Couldn't identify a suitable partition table or file system");
        {
                const Part parts[] = { { native("root"), "squashfs" } };
                _cleanup_free_ char *img = make_disk("gpt", parts, ELEMENTSOF(parts));

                assert_refused(img, &(DissectHints) { .hash_sidecar = true }, -EMEDIUMTYPE,
                               ".verity hash tree next to it but is not a plain file system");
        }
        unit_mkdir_p(dir, 0755);
        dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        cr_assert(eq(int, image_dissect(dfd, "adir", NULL, &m, &error), -EBADFD));
}

Test(image_dissect, supported_file_systems) {
        static const char *const yes[] = { "squashfs", "erofs", "ext4", "ext3", "ext2", "btrfs", "xfs" };
        static const char *const no[] = { "vfat", "swap", "crypto_LUKS", "DM_verity_hash", "", "EXT4" };

        for (size_t i = 0; i < ELEMENTSOF(yes); i++)
                cr_assert(eq(int, image_fstype_is_supported(yes[i]), 1), "%s", yes[i]);
        for (size_t i = 0; i < ELEMENTSOF(no); i++)
                cr_assert(eq(int, image_fstype_is_supported(no[i]), 0), "%s", no[i]);
        cr_assert(eq(int, image_fstype_is_supported(NULL), 0));
}
