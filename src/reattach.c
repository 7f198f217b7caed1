/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <string.h>

#include "image-copy.h"
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

/* Splits the transaction's change list: what was removed for good (removals before the attach,
 * and the emptied directories commit appended after it, whose name the new version does not
 * bring back), and what the new version wrote. */
static int split_changes(const Transaction *t, size_t attach_begin, size_t attach_end, PortableChanges *ret_removed,
                         PortableChanges *ret_updated) {
        _cleanup_(portable_changes_done) PortableChanges removed = {}, updated = {};
        int r = 0;

        for (size_t i = 0; i < t->changes.n; i++) {
                const PortableChange *c = &t->changes.items[i];

                if (i >= attach_begin && i < attach_end)
                        r = portable_changes_add(&updated, c->type, c->path, c->source);
                else if (!last_component_in(&t->changes, attach_begin, attach_end, c->path))
                        r = portable_changes_add(&removed, c->type, c->path, c->source);
                if (r < 0)
                        return r;
        }

        *ret_removed = removed;
        *ret_updated = updated;
        removed = updated = (PortableChanges) {};
        return 0;
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

/* Plans both halves in t. One plan: if the new version cannot be attached, nothing of the old
 * one was ever touched. The old stack is the one with the same image and extensions, by key. */
static int plan(Transaction *t, const Host *host, const PortableStack *stack, char * const *matches,
                const char *profile, PortableFlags flags, size_t *ret_begin, size_t *ret_end, sd_bus_error *reterr) {
        _cleanup_strv_free_ char **extensions = NULL;
        int r;

        r = extension_paths(stack, &extensions);
        if (r < 0)
                return r;

        r = portable_detach_with_extensions_in(t, host, stack->image->path, extensions, flags | PORTABLE_REATTACH,
                                               reterr);
        if (r < 0)
                return r;

        *ret_begin = t->changes.n;
        r = portable_attach_stack_in(t, host, stack, matches, profile, flags | PORTABLE_REATTACH, reterr);
        if (r < 0)
                return r;
        *ret_end = t->changes.n;
        return 0;
}

int portable_reattach_stack(const Host *host, const PortableStack *stack, char * const *matches, const char *profile,
                            PortableFlags flags, PortableChanges *ret_removed, PortableChanges *ret_updated,
                            sd_bus_error *reterr) {
        _cleanup_(transaction_done) Transaction t = {};
        size_t begin = 0, end = 0;
        int r;

        r = portable_transaction_init(&t, host, flags, "reattach", stack->image->path);
        if (r < 0)
                return r;
        r = plan(&t, host, stack, matches, profile, flags, &begin, &end, reterr);
        if (r < 0)
                return r;
        /* A dry run: the plan, split as the changes would be. */
        if (flags & PORTABLE_DRY_RUN)
                r = portable_transaction_plan_rmdirs(&t);
        else
                r = transaction_execute(&t, reterr);
        if (r < 0)
                return r;
        r = split_changes(&t, begin, end, ret_removed, ret_updated);
        if (r < 0)
                return r;
        if (flags & PORTABLE_MIXED_COPY)
                r = portable_copy_images(host, stack, flags, IMAGE_COPY_MAKE, ret_updated);
        return r;
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

int portable_reattach_stack_uncommitted(Transaction *t, const Host *host, const PortableStack *stack,
                                        char * const *matches, const char *profile, PortableFlags flags,
                                        PortableChanges *ret_removed, PortableChanges *ret_updated,
                                        sd_bus_error *reterr) {
        size_t begin = 0, end = 0;
        int r;

        r = portable_transaction_init(t, host, flags, "reattach", stack->image->path);
        if (r < 0)
                return r;
        r = plan(t, host, stack, matches, profile, flags, &begin, &end, reterr);
        if (r >= 0)
                r = transaction_apply(t, reterr);
        if (r >= 0)
                r = split_changes(t, begin, end, ret_removed, ret_updated);
        if (r < 0) {
                /* What went wrong first is in reterr; a failed undo leaves the journal. */
                (void) transaction_abort(t, /* reterr= */ NULL);
                transaction_done(t);
        }
        return r;
}
