/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "attached-index.h"
#include "portable.h"
#include "strv.h"

int portable_get_state_with_extensions(const Host *host, const char *name_or_path, char * const *extensions,
                                       PortableState *ret) {
        _cleanup_(attached_index_done) AttachedIndex idx = {};
        int r;

        r = attached_index_load(host, &idx);
        if (r < 0)
                return r;
        /* An empty list is no list: the image counts as attached in any stack. */
        return attached_index_state(&idx, host, name_or_path, strv_isempty((char **) extensions) ? NULL : extensions,
                                    ret);
}

int portable_get_state(const Host *host, const char *name_or_path, PortableState *ret) {
        return portable_get_state_with_extensions(host, name_or_path, /* extensions= */ NULL, ret);
}
