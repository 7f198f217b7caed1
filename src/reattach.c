/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <string.h>

#include "path-util.h"
#include "portable.h"
#include "strv.h"

static bool last_component_in(const PortableChanges *c, size_t begin, size_t end, const char *path) {
        const char *last = path_last_component(path);

        for (size_t i = begin; i < end; i++)
                if (streq(path_last_component(c->items[i].path), last))
                        return true;
        return false;
}

/* The paths of the extensions of a stack, for matching markers. */
static int extension_paths(const PortableStack *stack, char ***ret) {
        _cleanup_strv_free_ char **l = NULL;
        int r;

        for (size_t i = 0; i < stack->n_extensions; i++) {
                r = strv_extend(&l, stack->extensions[i]->path);
                if (r < 0)
                        return r;
        }
        *ret = TAKE_PTR(l);
        return 0;
}

int portable_reattach_stack(const Host *host, const PortableStack *stack, char * const *matches, const char *profile,
                            PortableFlags flags, PortableChanges *ret_removed, PortableChanges *ret_updated,
                            sd_bus_error *reterr) {
        _cleanup_strv_free_ char **extensions = NULL;
        _cleanup_(transaction_done) Transaction t = {};
        PortableChanges removed = {}, updated = {};
        size_t attach_begin, attach_end;
        int r;

        flags |= PORTABLE_REATTACH;

        r = extension_paths(stack, &extensions);
        if (r < 0)
                return r;

        r = portable_transaction_init(&t, host, flags, "reattach", stack->image->path);
        if (r < 0)
                return r;

        /* One plan for both halves: if the new version cannot be attached, nothing of the old one
         * was ever touched. The old stack is the one with the same image and extensions, by key. */
        r = portable_detach_with_extensions_in(&t, host, stack->image->path, extensions, flags, reterr);
        if (r < 0)
                return r;

        attach_begin = t.changes.n;
        r = portable_attach_stack_in(&t, host, stack, matches, profile, flags, reterr);
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

int portable_reattach(const Host *host, const Image *image, const PortableMetadata *metadata, char * const *matches,
                      const char *profile, PortableFlags flags, PortableChanges *ret_removed,
                      PortableChanges *ret_updated, sd_bus_error *reterr) {
        const PortableStack stack = {
                .image = image,
                .layers = metadata ? &metadata : NULL,
        };

        return portable_reattach_stack(host, &stack, matches, profile, flags, ret_removed, ret_updated, reterr);
}
