/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "image-probe.h"
#include "macro.h"

void image_probe_done(ImageProbe *p) {
        p->fstype = mfree(p->fstype);
}

int image_probe(int fd, ImageProbe *ret) {
        _cleanup_(dissected_image_done) DissectedImage m = {};
        DissectedPartition *p;
        int r;

        r = image_dissect(fd, "image", /* hints= */ NULL, &m, /* reterr= */ NULL);
        if (r == -ENXIO)
                return -EMEDIUMTYPE;
        if (r < 0)
                return r;

        p = m.partitions + (m.partitions[PARTITION_ROOT].found ? PARTITION_ROOT : PARTITION_USR);
        *ret = (ImageProbe) {
                .fstype = TAKE_PTR(p->fstype),
                .offset = p->offset,
                .size = m.partitioned ? p->size : 0,
        };
        return 0;
}
