/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <string.h>

#include "path-util.h"
#include "portable.h"

static bool last_component_in(const PortableChanges *c, size_t begin, size_t end, const char *path) {
        const char *last = path_last_component(path);

        for (size_t i = begin; i < end; i++)
                if (streq(path_last_component(c->items[i].path), last))
                        return true;
        return false;
}

int portable_reattach(const Host *host, const Image *image, const PortableMetadata *metadata, char * const *matches,
                      const char *profile,
                      PortableFlags flags, PortableChanges *ret_removed, PortableChanges *ret_updated,
                      sd_bus_error *reterr) {
        _cleanup_(transaction_done) Transaction t = {};
        PortableChanges removed = {}, updated = {};
        size_t attach_begin, attach_end;
        int r;

        flags |= PORTABLE_REATTACH;

        r = portable_transaction_init(&t, host, flags, "reattach", image->path);
        if (r < 0)
                return r;

        /* One plan for both halves: if the new version cannot be attached, nothing of the old one
         * was ever touched. */
        r = portable_detach_in(&t, host, image->path, flags, reterr);
        if (r < 0)
                return r;

        attach_begin = t.changes.n;
        r = portable_attach_in(&t, host, image, metadata, matches, profile, flags, reterr);
        if (r < 0)
                return r;
        attach_end = t.changes.n;

        r = transaction_execute(&t, reterr);
        if (r < 0)
                return r;

        /* What was removed for good: removals (before the attach, and the emptied directories
         * commit appended after it) whose name the new version does not bring back. */
        for (size_t i = 0; i < t.changes.n; i++) {
                PortableChange *c = &t.changes.items[i];
                bool is_update = i >= attach_begin && i < attach_end;

                if (is_update)
                        r = portable_changes_add(&updated, c->type, c->path, c->source);
                else if (!last_component_in(&t.changes, attach_begin, attach_end, c->path))
                        r = portable_changes_add(&removed, c->type, c->path, c->source);
                if (r < 0) {
                        portable_changes_done(&removed);
                        portable_changes_done(&updated);
                        return r;
                }
        }

        *ret_removed = removed;
        *ret_updated = updated;
        return 0;
}
