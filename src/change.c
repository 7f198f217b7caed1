/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdlib.h>
#include <string.h>

#include "change.h"
#include "macro.h"

void portable_changes_done(PortableChanges *c) {
        for (size_t i = 0; i < c->n; i++) {
                free(c->items[i].path);
                free(c->items[i].source);
        }
        c->items = mfree(c->items);
        c->n = 0;
}

int portable_changes_add(PortableChanges *c, PortableChangeType type, const char *path, const char *source) {
        _cleanup_free_ char *p = strdup(path), *s = NULL;
        PortableChange *grown;

        if (!p)
                return -ENOMEM;
        if (!isempty(source)) {
                s = strdup(source);
                if (!s)
                        return -ENOMEM;
        }

        grown = realloc(c->items, sizeof(PortableChange) * (c->n + 1));
        if (!grown)
                return -ENOMEM;
        c->items = grown;
        c->items[c->n++] = (PortableChange) { .type = type, .path = TAKE_PTR(p), .source = TAKE_PTR(s) };
        return 0;
}
