/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <criterion/criterion.h>
#include <criterion/new/assert.h>

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
