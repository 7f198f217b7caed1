/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <blkid/blkid.h>
#include <string.h>
#include <strings.h>

#include "image-probe.h"
#include "macro.h"

/* GPT partition type UUIDs from the Discoverable Partitions Specification that may hold a root
 * file system, plus the generic Linux data type. */
static const char *const root_partition_types[] = {
        "4f68bce3-e8cd-4db1-96e7-fbcaf984b709", /* root x86-64 */
        "44479540-f297-41b2-9af7-d131d5f0458a", /* root x86 */
        "b921b045-1df0-41c3-af44-4c6f280d3fae", /* root arm64 */
        "69dad710-2ce4-4e3c-b16c-21a1d49abed3", /* root arm */
        "72ec70a6-cf74-40e6-bd49-4bda08e8f224", /* root riscv64 */
        "0fc63daf-8483-4772-8e79-3d69d8477de4", /* generic linux data */
};

static const char *const supported_fstypes[] = {
        "squashfs", "erofs", "ext4", "ext3", "ext2", "btrfs", "xfs",
};

DEFINE_TRIVIAL_CLEANUP_FUNC(blkid_probe, blkid_free_probe);

void image_probe_done(ImageProbe *p) {
        p->fstype = mfree(p->fstype);
}

int image_fstype_is_supported(const char *fstype) {
        for (size_t i = 0; i < ELEMENTSOF(supported_fstypes); i++)
                if (streq(fstype, supported_fstypes[i]))
                        return 1;
        return 0;
}

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
                return -ENOTUNIQ; /* ambiguous: more than one signature */
        if (r == 1)
                return -EMEDIUMTYPE;
        if (r < 0)
                return errno > 0 ? -errno : -EIO;

        if (blkid_probe_lookup_value(pr, "TYPE", &type, NULL) < 0 || !type)
                return -EMEDIUMTYPE;

        *ret_fstype = strdup(type);
        return *ret_fstype ? 0 : -ENOMEM;
}

static int probe_partitions(int fd, ImageProbe *ret) {
        _cleanup_(blkid_free_probep) blkid_probe pr = NULL;
        blkid_partlist pl;
        blkid_partition found = NULL;
        int n;

        pr = blkid_new_probe();
        if (!pr)
                return -ENOMEM;
        if (blkid_probe_set_device(pr, fd, 0, 0) < 0)
                return -EIO;

        blkid_probe_enable_superblocks(pr, 0);
        blkid_probe_enable_partitions(pr, 1);
        blkid_probe_set_partitions_flags(pr, BLKID_PARTS_ENTRY_DETAILS);

        if (blkid_do_safeprobe(pr) != 0)
                return -EMEDIUMTYPE;

        pl = blkid_probe_get_partitions(pr);
        if (!pl)
                return -EMEDIUMTYPE;

        n = blkid_partlist_numof_partitions(pl);
        for (int i = 0; i < n; i++) {
                blkid_partition p = blkid_partlist_get_partition(pl, i);
                const char *t = blkid_partition_get_type_string(p);

                if (!t)
                        continue;
                for (size_t j = 0; j < ELEMENTSOF(root_partition_types); j++)
                        if (strcasecmp(t, root_partition_types[j]) == 0) {
                                if (found)
                                        return -ENOTUNIQ;
                                found = p;
                        }
        }
        if (!found)
                return -ENXIO;

        ret->offset = (uint64_t) blkid_partition_get_start(found) * 512U;
        ret->size = (uint64_t) blkid_partition_get_size(found) * 512U;
        return probe_superblock(fd, ret->offset, ret->size, &ret->fstype);
}

int image_probe(int fd, ImageProbe *ret) {
        ImageProbe p = {};
        int r;

        r = probe_superblock(fd, 0, 0, &p.fstype);
        if (r == -EMEDIUMTYPE) {
                r = probe_partitions(fd, &p);
                if (r == -EMEDIUMTYPE || r == -ENXIO)
                        r = -EMEDIUMTYPE;
        }
        if (r < 0) {
                image_probe_done(&p);
                return r;
        }

        if (!image_fstype_is_supported(p.fstype)) {
                image_probe_done(&p);
                return -EPROTONOSUPPORT;
        }

        *ret = p;
        return 0;
}
