/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "image-layout.h"

static const char *const protection_table[] = {
        [PARTITION_UNPROTECTED] = "unprotected",
        [PARTITION_VERITY] = "verity",
        [PARTITION_SIGNED] = "signed",
};

ImageLayout *image_layout_free(ImageLayout *l) {
        if (!l)
                return NULL;
        for (size_t i = 0; i < ELEMENTSOF(l->partitions); i++) {
                free(l->partitions[i].fstype);
                free(l->partitions[i].root_hash);
        }
        free(l->pinned_policy);
        return mfree(l);
}

int image_layout_copy(const ImageLayout *l, ImageLayout **ret) {
        _cleanup_(image_layout_freep) ImageLayout *c = calloc(1, sizeof(ImageLayout));

        if (!c)
                return -ENOMEM;
        for (size_t i = 0; i < ELEMENTSOF(l->partitions); i++) {
                const LayoutPartition *p = &l->partitions[i];

                c->partitions[i] = *p;
                c->partitions[i].fstype = c->partitions[i].root_hash = NULL;
                if ((p->fstype && !(c->partitions[i].fstype = strdup(p->fstype))) ||
                    (p->root_hash && !(c->partitions[i].root_hash = strdup(p->root_hash))))
                        return -ENOMEM;
        }
        if (l->pinned_policy && !(c->pinned_policy = strdup(l->pinned_policy)))
                return -ENOMEM;
        *ret = TAKE_PTR(c);
        return 0;
}

const char *partition_protection_to_string(PartitionProtection p) {
        if ((unsigned) p >= ELEMENTSOF(protection_table))
                return NULL;
        return protection_table[p];
}

int partition_protection_from_string(const char *s, PartitionProtection *ret) {
        for (size_t i = 0; s && i < ELEMENTSOF(protection_table); i++)
                if (streq(s, protection_table[i])) {
                        *ret = (PartitionProtection) i;
                        return 0;
                }
        return -EINVAL;
}

char *layout_partition_describe(const LayoutPartition *p) {
        const char *protection, *signature = "", *verified = "";
        char *s;

        switch (p->protection) {
        case PARTITION_UNPROTECTED:
                protection = "not protected by verity";
                break;
        case PARTITION_VERITY:
        case PARTITION_SIGNED:
                protection = "verity-protected";
                signature = p->signature == VERITY_SIGNATURE_TRUSTED ? ", root hash signed by a trusted key" :
                        p->signature == VERITY_SIGNATURE_UNTRUSTED ? ", root hash signed by a key this host does not trust" :
                        ", root hash not signed";
                verified = !p->verified ? ", not verified" :
                        p->cached ? ", verified (unchanged since an earlier check)" : ", verified";
                break;
        default:
                protection = "unknown protection";
        }

        if (asprintf(&s, "%s, %s%s%s", strna(p->fstype), protection, signature, verified) < 0)
                return NULL;
        return s;
}
