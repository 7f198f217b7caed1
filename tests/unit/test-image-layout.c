/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <criterion/criterion.h>
#include <criterion/new/assert.h>
#include <stdlib.h>
#include <string.h>

#include "image-layout.h"
#include "unit-helpers.h"

TestSuite(image_layout);

Test(image_layout, protection_names_round_trip) {
        for (PartitionProtection p = PARTITION_UNPROTECTED; p <= PARTITION_SIGNED; p++) {
                PartitionProtection back;

                cr_assert(eq(int, partition_protection_from_string(partition_protection_to_string(p), &back), 0));
                cr_assert(eq(int, back, p));
        }
        PartitionProtection p;

        cr_assert(partition_protection_to_string((PartitionProtection) 7) == NULL);
        cr_assert(eq(int, partition_protection_from_string("encrypted", &p), -EINVAL));
        cr_assert(eq(int, partition_protection_from_string(NULL, &p), -EINVAL));
}

Test(image_layout, descriptions_say_what_was_checked) {
        static const struct {
                LayoutPartition p;
                const char *text;
        } table[] = {
                { { .fstype = (char *) "squashfs" }, "squashfs, not protected by verity" },
                { { .fstype = (char *) "erofs", .protection = PARTITION_VERITY, .verified = true },
                  "erofs, verity-protected, root hash not signed, verified" },
                { { .fstype = (char *) "squashfs", .protection = PARTITION_VERITY,
                    .signature = VERITY_SIGNATURE_UNTRUSTED, .verified = true, .cached = true },
                  "squashfs, verity-protected, root hash signed by a key this host does not trust, verified "
                  "(unchanged since an earlier check)" },
                { { .fstype = (char *) "squashfs", .protection = PARTITION_SIGNED, .signature = VERITY_SIGNATURE_TRUSTED,
                    .verified = true },
                  "squashfs, verity-protected, root hash signed by a trusted key, verified" },
                { { .protection = PARTITION_SIGNED, .signature = VERITY_SIGNATURE_TRUSTED },
                  "n/a, verity-protected, root hash signed by a trusted key, not verified" },
        };

        for (size_t i = 0; i < ELEMENTSOF(table); i++) {
                _cleanup_free_ char *s = layout_partition_describe(&table[i].p);

                assert_str(s, table[i].text);
        }
}

Test(image_layout, free_takes_null) {
        cr_assert(zero(ptr, image_layout_free(NULL)));
}

Test(image_layout, copy_is_deep) {
        _cleanup_(image_layout_freep) ImageLayout *l = calloc(1, sizeof(ImageLayout)), *c = NULL;

        cr_assert(not(zero(ptr, l)));
        l->partitions[0] = (LayoutPartition) { .found = true, .fstype = strdup("squashfs"), .protection = PARTITION_VERITY,
                                               .root_hash = strdup("00ff"), .verified = true };
        l->partitions[1] = (LayoutPartition) { .found = true, .fstype = strdup("erofs") };
        l->pinned_policy = strdup("root=verity");
        cr_assert(eq(int, image_layout_copy(l, &c), 0));

        cr_assert(ne(ptr, c->partitions[0].fstype, l->partitions[0].fstype));
        assert_str(c->partitions[0].fstype, "squashfs");
        assert_str(c->partitions[0].root_hash, "00ff");
        cr_assert(eq(int, c->partitions[0].protection, PARTITION_VERITY));
        cr_assert(c->partitions[0].verified);
        assert_str(c->partitions[1].fstype, "erofs");
        cr_assert(zero(ptr, c->partitions[1].root_hash));
        assert_str(c->pinned_policy, "root=verity");
        cr_assert(ne(ptr, c->pinned_policy, l->pinned_policy));
}
