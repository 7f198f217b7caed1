/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <criterion/criterion.h>
#include <criterion/new/assert.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fd-util.h"
#include "gpt-types.h"
#include "image-probe.h"
#include "unit-helpers.h"

static char *tmp, *tree;

static void setup(void) {
        _cleanup_free_ char *osrel = NULL, *unit = NULL;

        tmp = unit_mkdtemp("image-probe");
        tree = unit_strf("%s/tree", tmp);
        osrel = unit_strf("%s/usr/lib/os-release", tree);
        unit = unit_strf("%s/usr/lib/systemd/system/probe.service", tree);
        unit_write(osrel, "ID=probe\n");
        unit_write(unit, "[Service]\nExecStart=/bin/true\n");
}

static void teardown(void) {
        unit_rm_rf(tmp);
        free(tree);
        free(tmp);
}

TestSuite(image_probe, .init = setup, .fini = teardown);

static int probe_file(const char *path, ImageProbe *ret) {
        _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);

        cr_assert(fd >= 0, "open(%s)", path);
        return image_probe(fd, ret);
}

static void check_naked(const char *fstype) {
        _cleanup_free_ char *img = unit_strf("%s/img.raw", tmp);
        _cleanup_(image_probe_done) ImageProbe p = {};

        unit_make_fs_image(fstype, tree, img);
        cr_assert(eq(int, probe_file(img, &p), 0));
        assert_str(p.fstype, fstype);
        cr_assert(eq(u64, p.offset, 0));
        cr_assert(eq(u64, p.size, 0), "a naked file system is used to the end");
}

Test(image_probe, squashfs) {
        check_naked("squashfs");
}

Test(image_probe, erofs) {
        check_naked("erofs");
}

Test(image_probe, ext4) {
        check_naked("ext4");
}

Test(image_probe, supported_list) {
        static const char *const yes[] = { "squashfs", "erofs", "ext4", "ext3", "ext2", "btrfs", "xfs" };
        static const char *const no[] = { "vfat", "swap", "iso9660", "ntfs", "", "SQUASHFS", "crypto_LUKS" };

        for (size_t i = 0; i < ELEMENTSOF(yes); i++)
                cr_assert(eq(int, image_fstype_is_supported(yes[i]), 1), "%s", yes[i]);
        for (size_t i = 0; i < ELEMENTSOF(no); i++)
                cr_assert(eq(int, image_fstype_is_supported(no[i]), 0), "'%s'", no[i]);
}

Test(image_probe, garbage) {
        _cleanup_free_ char *img = unit_strf("%s/garbage.raw", tmp), *buf = malloc(MIB);
        ImageProbe p = {};

        cr_assert(not(zero(ptr, buf)));
        for (size_t i = 0; i < MIB; i++)
                buf[i] = (char) ((i * 2654435761u) >> 13);
        unit_write_data(img, buf, MIB, 0644);
        cr_assert(eq(int, probe_file(img, &p), -EMEDIUMTYPE));
        cr_assert(zero(ptr, p.fstype));
}

Test(image_probe, zeros_and_empty) {
        _cleanup_free_ char *zeros = unit_strf("%s/zeros.raw", tmp), *empty = unit_strf("%s/empty.raw", tmp);
        ImageProbe p = {};

        unit_write(zeros, "");
        cr_assert(eq(int, truncate(zeros, 4 * MIB), 0));
        unit_write(empty, "");
        cr_assert(eq(int, probe_file(zeros, &p), -EMEDIUMTYPE));
        cr_assert(eq(int, probe_file(empty, &p), -EMEDIUMTYPE));
}

Test(image_probe, truncated_squashfs_header_only) {
        _cleanup_free_ char *img = unit_strf("%s/img.raw", tmp), *cut = unit_strf("%s/cut.raw", tmp), *data = NULL;
        ImageProbe p = {};

        unit_make_fs_image("squashfs", tree, img);
        data = unit_read(img);
        cr_assert(not(zero(ptr, data)));
        /* Only the first 16 bytes: the magic, but no valid super block. */
        unit_write_data(cut, data, 16, 0644);
        cr_assert(lt(int, probe_file(cut, &p), 0));
        cr_assert(zero(ptr, p.fstype));
}

Test(image_probe, unsupported_file_system) {
        _cleanup_free_ char *img = unit_strf("%s/swap.raw", tmp);
        ImageProbe p = {};

        if (!unit_have_program("mkswap"))
                cr_skip_test("mkswap is not installed");
        unit_write(img, "");
        cr_assert(eq(int, truncate(img, 4 * MIB), 0));
        cr_assert(eq(int, unit_run("mkswap -q '%s' >/dev/null 2>&1", img), 0));
        cr_assert(eq(int, probe_file(img, &p), -EPROTONOSUPPORT));
        cr_assert(zero(ptr, p.fstype));
}

Test(image_probe, gpt_single_root_partition) {
        _cleanup_free_ char *fs = unit_strf("%s/fs.squashfs", tmp), *img = unit_strf("%s/disk.raw", tmp);
        _cleanup_(image_probe_done) ImageProbe p = {};
        const char *types[] = { UNIT_GPT_ROOT_X86_64 };
        const char *contents[] = { fs };
        struct stat st;

        if (architecture_native() != ARCHITECTURE_X86_64)
                cr_skip_test("the fixture uses x86-64 partition types");
        unit_make_fs_image("squashfs", tree, fs);
        cr_assert(eq(int, stat(fs, &st), 0));
        unit_make_gpt(img, 1, types, contents);

        cr_assert(eq(int, probe_file(img, &p), 0));
        assert_str(p.fstype, "squashfs");
        cr_assert(eq(u64, p.offset, MIB));
        cr_assert(ge(u64, p.size, (uint64_t) st.st_size));
        cr_assert(eq(u64, p.size % MIB, 0));
}

Test(image_probe, gpt_generic_linux_partition_among_others) {
        _cleanup_free_ char *fs = unit_strf("%s/fs.erofs", tmp), *img = unit_strf("%s/disk.raw", tmp);
        _cleanup_(image_probe_done) ImageProbe p = {};
        const char *types[] = { UNIT_GPT_ESP, UNIT_GPT_LINUX_GENERIC, UNIT_GPT_SWAP };
        const char *contents[] = { NULL, fs, NULL };

        unit_make_fs_image("erofs", tree, fs);
        unit_make_gpt(img, 3, types, contents);

        /* The one root/generic partition is picked, wherever it is. */
        cr_assert(eq(int, probe_file(img, &p), 0));
        assert_str(p.fstype, "erofs");
        cr_assert(eq(u64, p.offset, 2 * MIB));
}

Test(image_probe, gpt_two_candidates_refused) {
        _cleanup_free_ char *fs = unit_strf("%s/fs.squashfs", tmp), *img = unit_strf("%s/disk.raw", tmp);
        ImageProbe p = {};
        const char *types[] = { UNIT_GPT_ROOT_X86_64, UNIT_GPT_ROOT_X86_64 };
        const char *contents[] = { fs, fs };

        if (architecture_native() != ARCHITECTURE_X86_64)
                cr_skip_test("the fixture uses x86-64 partition types");
        /* Two root partitions of the same architecture with the same label: no way to choose. */
        unit_make_fs_image("squashfs", tree, fs);
        unit_make_gpt(img, 2, types, contents);
        cr_assert(eq(int, probe_file(img, &p), -ENOTUNIQ));
        cr_assert(zero(ptr, p.fstype));
}

Test(image_probe, gpt_root_wins_over_generic_linux_partition) {
        _cleanup_free_ char *fs = unit_strf("%s/fs.squashfs", tmp), *img = unit_strf("%s/disk.raw", tmp);
        _cleanup_(image_probe_done) ImageProbe p = {};
        const char *types[] = { UNIT_GPT_LINUX_GENERIC, UNIT_GPT_ROOT_X86_64 };
        const char *contents[] = { NULL, fs };

        if (architecture_native() != ARCHITECTURE_X86_64)
                cr_skip_test("the fixture uses x86-64 partition types");
        /* The specification's root partition decides; a generic one is only a fallback. */
        unit_make_fs_image("squashfs", tree, fs);
        unit_make_gpt(img, 2, types, contents);
        cr_assert(eq(int, probe_file(img, &p), 0));
        assert_str(p.fstype, "squashfs");
        cr_assert(eq(u64, p.offset, 2 * MIB));
}

Test(image_probe, gpt_without_root_partition) {
        _cleanup_free_ char *fs = unit_strf("%s/fs.squashfs", tmp), *img = unit_strf("%s/disk.raw", tmp);
        ImageProbe p = {};
        const char *types[] = { UNIT_GPT_ESP, UNIT_GPT_SWAP };
        const char *contents[] = { fs, NULL };

        unit_make_fs_image("squashfs", tree, fs);
        unit_make_gpt(img, 2, types, contents);
        cr_assert(eq(int, probe_file(img, &p), -EMEDIUMTYPE));
}

Test(image_probe, gpt_root_partition_without_file_system) {
        _cleanup_free_ char *img = unit_strf("%s/disk.raw", tmp);
        ImageProbe p = {};
        const char *types[] = { UNIT_GPT_ROOT_X86_64 };
        const char *contents[] = { NULL };

        unit_make_gpt(img, 1, types, contents);
        cr_assert(eq(int, probe_file(img, &p), -EMEDIUMTYPE));
        cr_assert(zero(ptr, p.fstype));
}

Test(image_probe, done_is_idempotent) {
        ImageProbe p = { .fstype = strdup("squashfs") };

        image_probe_done(&p);
        cr_assert(zero(ptr, p.fstype));
        image_probe_done(&p);
}
