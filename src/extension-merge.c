/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <string.h>

#include "extension-merge.h"
#include "os-release.h"
#include "portable-error.h"
#include "portable-limits.h"
#include "strv.h"

static char *memdup_nul(const char *data, size_t size) {
        char *p = malloc(size + 1);

        if (!p)
                return NULL;
        if (size > 0)
                memcpy(p, data, size);
        p[size] = '\0';
        return p;
}

static int copy_unit(PortableMetadata *m, const PortableFile *f, size_t layer) {
        char *data = NULL, *source = NULL;
        int r;

        data = memdup_nul(f->data, f->size);
        if (!data)
                return -ENOMEM;
        if (f->source) {
                source = strdup(f->source);
                if (!source) {
                        free(data);
                        return -ENOMEM;
                }
        }

        r = portable_metadata_add_unit(m, f->name, data, f->size, source);
        if (r < 0)
                return r;
        /* Units are kept sorted: the new one is wherever its name puts it. */
        ((PortableFile *) portable_metadata_find_unit(m, f->name))->layer = layer;
        return 0;
}

static bool missing_everywhere(const PortableMetadata * const *layers, size_t n_layers, const char *path) {
        for (size_t i = 0; i < n_layers; i++)
                if (!strv_contains(layers[i]->missing, path))
                        return false;
        return true;
}

int extension_merge_metadata(const PortableMetadata * const *layers, size_t n_layers, PortableMetadata **ret) {
        _cleanup_(portable_metadata_freep) PortableMetadata *m = NULL;
        int r;

        if (n_layers == 0)
                return -EINVAL;

        r = portable_metadata_new(&m);
        if (r < 0)
                return r;

        if (layers[0]->os_release.name) {
                char *data = memdup_nul(layers[0]->os_release.data, layers[0]->os_release.size);

                if (!data)
                        return -ENOMEM;
                r = portable_metadata_set_os_release(m, layers[0]->os_release.name, data, layers[0]->os_release.size);
                if (r < 0)
                        return r;
        }

        /* Top of the stack first: whatever is added first keeps its name. */
        for (size_t i = n_layers; i-- > 0;)
                for (size_t k = 0; k < layers[i]->n_units; k++) {
                        if (portable_metadata_find_unit(m, layers[i]->units[k].name))
                                continue;
                        r = copy_unit(m, &layers[i]->units[k], i);
                        if (r < 0)
                                return r;
                }

        for (size_t i = 0; i < n_layers; i++)
                STRV_FOREACH(w, layers[i]->warnings) {
                        r = strv_extend(&m->warnings, *w);
                        if (r < 0)
                                return r;
                }

        STRV_FOREACH(p, layers[0]->missing)
                if (missing_everywhere(layers, n_layers, *p)) {
                        r = strv_extend_unique(&m->missing, *p);
                        if (r < 0)
                                return r;
                }

        *ret = TAKE_PTR(m);
        return 0;
}

int extension_merge_prefixes(const PortableMetadata * const *layers, size_t n_layers, char ***ret) {
        _cleanup_strv_free_ char **prefixes = NULL;
        int r;

        for (size_t i = 0; i < n_layers; i++) {
                _cleanup_strv_free_ char **words = NULL;

                r = strv_split(strempty(os_release_pairs_get(layers[i]->os_release_pairs, "PORTABLE_PREFIXES")),
                               " \t\n\r", &words);
                if (r < 0)
                        return r;
                STRV_FOREACH(w, words) {
                        r = strv_extend_unique(&prefixes, *w);
                        if (r < 0)
                                return r;
                }
        }

        r = strv_ensure(&prefixes);
        if (r < 0)
                return r;
        strv_sort(prefixes);
        *ret = TAKE_PTR(prefixes);
        return 0;
}

int extension_merge_check_limits(const PortableMetadata * const *layers, size_t n_layers, const PortableMetadata *merged,
                                 const char *root_label, sd_bus_error *reterr) {
        size_t total = 0;

        if (merged->n_units > PORTABLE_UNITS_MAX)
                return portable_error(reterr, E2BIG, SD_BUS_ERROR_INVALID_ARGS,
                                      "Image '%s' and its extensions: more than %u matching unit files, refusing.",
                                      root_label, PORTABLE_UNITS_MAX);

        for (size_t i = 0; i < n_layers; i++)
                total += layers[i]->os_release.size;
        for (size_t i = 0; i < merged->n_units; i++)
                total += merged->units[i].size;
        if (total > PORTABLE_SIZE_MAX_METADATA)
                return portable_error(reterr, EFBIG, SD_BUS_ERROR_INVALID_ARGS,
                                      "Image '%s' and its extensions: their release and unit files together are larger than %u bytes, refusing.",
                                      root_label, PORTABLE_SIZE_MAX_METADATA);
        return 0;
}
