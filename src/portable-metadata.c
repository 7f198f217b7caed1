/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "os-release.h"
#include "portable-metadata.h"
#include "strv.h"

static void portable_file_done(PortableFile *f) {
        f->name = mfree(f->name);
        f->data = mfree(f->data);
        f->source = mfree(f->source);
        f->size = 0;
}

PortableMetadata *portable_metadata_free(PortableMetadata *m) {
        if (!m)
                return NULL;

        portable_file_done(&m->os_release);
        strv_free(m->os_release_pairs);
        for (size_t i = 0; i < m->n_units; i++)
                portable_file_done(&m->units[i]);
        free(m->units);
        strv_free(m->warnings);
        strv_free(m->missing);
        image_layout_free(m->layout);
        return mfree(m);
}

PortableMetadata **portable_metadata_free_many(PortableMetadata **m, size_t n) {
        for (size_t i = 0; m && i < n; i++)
                portable_metadata_free(m[i]);
        free(m);
        return NULL;
}

int portable_metadata_new(PortableMetadata **ret) {
        PortableMetadata *m = calloc(1, sizeof(PortableMetadata));

        if (!m)
                return -ENOMEM;
        *ret = m;
        return 0;
}

/* Units are kept sorted by name: lookups are binary searches, and adding in name order (as the
 * readers do) is an append. */
static size_t unit_position(const PortableMetadata *m, const char *name, bool *ret_found) {
        size_t lo = 0, hi = m->n_units;

        while (lo < hi) {
                size_t mid = lo + (hi - lo) / 2;
                int c = strcmp(m->units[mid].name, name);

                if (c == 0) {
                        *ret_found = true;
                        return mid;
                }
                if (c < 0)
                        lo = mid + 1;
                else
                        hi = mid;
        }
        *ret_found = false;
        return lo;
}

const PortableFile *portable_metadata_find_unit(const PortableMetadata *m, const char *name) {
        bool found;
        size_t i = unit_position(m, name, &found);

        return found ? &m->units[i] : NULL;
}

int portable_metadata_add_unit(PortableMetadata *m, const char *name, char *data, size_t size, char *source) {
        _cleanup_free_ char *d = data, *s = source, *n = NULL;
        PortableFile *grown;
        bool found;
        size_t i;

        i = unit_position(m, name, &found);
        if (found)
                return -EEXIST;

        n = strdup(name);
        if (!n)
                return -ENOMEM;

        grown = realloc(m->units, sizeof(PortableFile) * (m->n_units + 1));
        if (!grown)
                return -ENOMEM;
        m->units = grown;
        memmove(m->units + i + 1, m->units + i, sizeof(PortableFile) * (m->n_units - i));
        m->units[i] = (PortableFile) {
                .name = TAKE_PTR(n),
                .data = TAKE_PTR(d),
                .size = size,
                .source = TAKE_PTR(s),
        };
        m->n_units++;
        return 0;
}

int portable_metadata_set_os_release(PortableMetadata *m, const char *name, char *data, size_t size) {
        _cleanup_free_ char *d = data, *n = strdup(name);
        char **pairs = NULL;
        int r;

        if (!n)
                return -ENOMEM;

        r = os_release_parse(d, size, &pairs);
        if (r < 0)
                return r;

        portable_file_done(&m->os_release);
        strv_free(m->os_release_pairs);
        m->os_release = (PortableFile) { .name = TAKE_PTR(n), .data = TAKE_PTR(d), .size = size };
        m->os_release_pairs = pairs;
        return 0;
}

int portable_metadata_add_warning(PortableMetadata *m, const char *format, ...) {
        char *w;
        va_list ap;
        int r;

        va_start(ap, format);
        r = vasprintf(&w, format, ap);
        va_end(ap);
        if (r < 0)
                return -ENOMEM;
        return strv_consume(&m->warnings, w);
}
