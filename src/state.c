/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "attached-index.h"
#include "portable.h"

int portable_get_state(const Host *host, const char *name_or_path, PortableState *ret) {
        _cleanup_(attached_index_done) AttachedIndex idx = {};
        int r;

        r = attached_index_load(host, &idx);
        if (r < 0)
                return r;
        return attached_index_state(&idx, host, name_or_path, /* extensions= */ NULL, ret);
}
