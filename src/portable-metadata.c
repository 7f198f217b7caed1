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

static int portable_file_copy(const PortableFile *f, PortableFile *ret) {
        *ret = (PortableFile) { .size = f->size, .layer = f->layer };
        if ((f->name && !(ret->name = strdup(f->name))) || (f->source && !(ret->source = strdup(f->source))))
                return -ENOMEM;
        if (f->data) {
                ret->data = malloc(f->size + 1);
                if (!ret->data)
                        return -ENOMEM;
                memcpy(ret->data, f->data, f->size);
                ret->data[f->size] = '\0';
        }
        return 0;
}

int portable_metadata_copy(const PortableMetadata *m, PortableMetadata **ret) {
        _cleanup_(portable_metadata_freep) PortableMetadata *c = calloc(1, sizeof(PortableMetadata));
        int r;

        if (!c)
                return -ENOMEM;
        c->extension = m->extension;
        c->extension_class = m->extension_class;
        c->extension_match = m->extension_match;

        r = portable_file_copy(&m->os_release, &c->os_release);
        if (r < 0)
                return r;
        if ((m->os_release_pairs && !(c->os_release_pairs = strv_copy(m->os_release_pairs))) ||
            (m->warnings && !(c->warnings = strv_copy(m->warnings))) ||
            (m->missing && !(c->missing = strv_copy(m->missing))))
                return -ENOMEM;
        if (m->n_units > 0) {
                c->units = calloc(m->n_units, sizeof(PortableFile));
                if (!c->units)
                        return -ENOMEM;
                for (; c->n_units < m->n_units; c->n_units++) {
                        r = portable_file_copy(&m->units[c->n_units], &c->units[c->n_units]);
                        if (r < 0) {
                                c->n_units++; /* freed with the rest */
                                return r;
                        }
                }
        }
        if (m->layout) {
                r = image_layout_copy(m->layout, &c->layout);
                if (r < 0)
                        return r;
        }
        *ret = TAKE_PTR(c);
        return 0;
}

static size_t file_size(const PortableFile *f) {
        return sizeof(PortableFile) + f->size + 1 + (f->name ? strlen(f->name) + 1 : 0) +
               (f->source ? strlen(f->source) + 1 : 0);
}

static size_t strv_size(char **l) {
        size_t n = 0;

        STRV_FOREACH(s, l)
                n += sizeof(char *) + strlen(*s) + 1;
        return n;
}

size_t portable_metadata_size(const PortableMetadata *m) {
        size_t n = sizeof(PortableMetadata) + file_size(&m->os_release) + strv_size(m->os_release_pairs) +
                   strv_size(m->warnings) + strv_size(m->missing) + (m->layout ? sizeof(ImageLayout) : 0);

        for (size_t i = 0; i < m->n_units; i++)
                n += file_size(&m->units[i]);
        return n;
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
