/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <criterion/criterion.h>
#include <criterion/new/assert.h>
#include <string.h>

#include "extension-merge.h"
#include "os-release.h"
#include "portable-limits.h"
#include "strv.h"
#include "unit-helpers.h"

TestSuite(extension_merge);

static PortableMetadata *layer(const char *release_name, const char *release, const char *const *units,
                               const char *const *missing) {
        PortableMetadata *m = NULL;

        cr_assert(eq(int, portable_metadata_new(&m), 0));
        if (release)
                cr_assert(eq(int, portable_metadata_set_os_release(m, release_name, strdup(release), strlen(release)), 0));
        /* units: name, content pairs; a content starting with '/' also names a source path. */
        for (const char *const *u = units; u && *u; u += 2) {
                char *source = u[1][0] == '/' ? strdup(u[1]) : NULL;

                cr_assert(eq(int, portable_metadata_add_unit(m, u[0], strdup(u[1]), strlen(u[1]), source), 0));
        }
        for (const char *const *p = missing; p && *p; p++)
                cr_assert(eq(int, strv_extend(&m->missing, *p), 0));
        return m;
}

static const PortableFile *unit(const PortableMetadata *m, const char *name) {
        const PortableFile *f = portable_metadata_find_unit(m, name);

        cr_assert(not(zero(ptr, (void *) f)), "no unit %s", name);
        return f;
}

Test(extension_merge, later_layer_wins) {
        static const char *const base_units[] = {
                "app.service", "base app", "base.service", "/img/base.service", "shared.socket", "base socket", NULL,
        };
        static const char *const ext1_units[] = { "app.service", "ext1 app", "ext1.service", "ext1 only", "shared.socket", "ext1 socket", NULL };
        static const char *const ext2_units[] = { "app.service", "ext2 app", "ext2.timer", "ext2 timer", NULL };
        _cleanup_(portable_metadata_freep) PortableMetadata *base = layer("/etc/os-release", "ID=debian\n", base_units, NULL),
                *ext1 = layer("/usr/lib/extension-release.d/extension-release.ext1", "ID=debian\n", ext1_units, NULL),
                *ext2 = layer("/usr/lib/extension-release.d/extension-release.ext2", "ID=debian\n", ext2_units, NULL),
                *m = NULL;
        const PortableMetadata *layers[] = { base, ext1, ext2 };

        cr_assert(eq(int, extension_merge_metadata(layers, 3, &m), 0));
        cr_assert(eq(sz, m->n_units, 5));

        /* Sorted by name, each from the topmost layer that has it. */
        assert_str(m->units[0].name, "app.service");
        assert_str(m->units[0].data, "ext2 app");
        cr_assert(eq(sz, m->units[0].layer, 2));
        assert_str(unit(m, "shared.socket")->data, "ext1 socket");
        cr_assert(eq(sz, unit(m, "shared.socket")->layer, 1));
        assert_str(unit(m, "base.service")->data, "/img/base.service");
        assert_str(unit(m, "base.service")->source, "/img/base.service");
        cr_assert(eq(sz, unit(m, "base.service")->layer, 0));
        cr_assert(eq(sz, unit(m, "ext1.service")->layer, 1));
        cr_assert(eq(sz, unit(m, "ext2.timer")->layer, 2));
        for (size_t i = 1; i < m->n_units; i++)
                cr_assert(lt(int, strcmp(m->units[i - 1].name, m->units[i].name), 0));

        /* The root's os-release, copied; the layers untouched. */
        assert_str(m->os_release.name, "/etc/os-release");
        assert_str(m->os_release.data, "ID=debian\n");
        assert_str(os_release_pairs_get(m->os_release_pairs, "ID"), "debian");
        cr_assert(eq(sz, base->n_units, 3));
        assert_str(unit(base, "app.service")->data, "base app");
        cr_assert(eq(sz, unit(ext1, "app.service")->layer, 0));
}

Test(extension_merge, order_of_extensions_decides) {
        static const char *const a_units[] = { "x.service", "from a", NULL };
        static const char *const b_units[] = { "x.service", "from b", NULL };
        _cleanup_(portable_metadata_freep) PortableMetadata *base = layer("/etc/os-release", "ID=d\n", NULL, NULL),
                *a = layer("/r/a", "ID=d\n", a_units, NULL), *b = layer("/r/b", "ID=d\n", b_units, NULL), *ab = NULL, *ba = NULL;
        const PortableMetadata *l1[] = { base, a, b }, *l2[] = { base, b, a };

        cr_assert(eq(int, extension_merge_metadata(l1, 3, &ab), 0));
        cr_assert(eq(int, extension_merge_metadata(l2, 3, &ba), 0));
        assert_str(unit(ab, "x.service")->data, "from b");
        cr_assert(eq(sz, unit(ab, "x.service")->layer, 2));
        assert_str(unit(ba, "x.service")->data, "from a");
        cr_assert(eq(sz, unit(ba, "x.service")->layer, 2));
}

Test(extension_merge, root_alone) {
        static const char *const units[] = { "a.service", "a", NULL };
        _cleanup_(portable_metadata_freep) PortableMetadata *base = layer("/usr/lib/os-release", "ID=d\n", units, NULL), *m = NULL;
        const PortableMetadata *layers[] = { base };

        cr_assert(eq(int, extension_merge_metadata(layers, 1, &m), 0));
        cr_assert(eq(sz, m->n_units, 1));
        cr_assert(eq(sz, m->units[0].layer, 0));
        assert_str(m->units[0].data, "a");
        cr_assert(eq(sz, m->units[0].size, 1));
        cr_assert(eq(int, extension_merge_metadata(layers, 0, &m), -EINVAL));
}

Test(extension_merge, warnings_and_missing) {
        static const char *const base_missing[] = { "/etc/resolv.conf", "/etc/machine-id", "/run", NULL };
        static const char *const ext_missing[] = { "/etc/resolv.conf", "/run", NULL };
        static const char *const ext2_missing[] = { "/etc/resolv.conf", "/etc/machine-id", NULL };
        _cleanup_(portable_metadata_freep) PortableMetadata *base = layer("/etc/os-release", "ID=d\n", NULL, base_missing),
                *ext = layer("/r/e", "ID=d\n", NULL, ext_missing), *ext2 = layer("/r/f", "ID=d\n", NULL, ext2_missing), *m = NULL;
        const PortableMetadata *layers[] = { base, ext, ext2 };

        cr_assert(eq(int, portable_metadata_add_warning(base, "base warning"), 0));
        cr_assert(eq(int, portable_metadata_add_warning(ext2, "ext2 warning"), 0));
        cr_assert(eq(int, extension_merge_metadata(layers, 3, &m), 0));

        cr_assert(eq(sz, strv_length(m->warnings), 2));
        assert_str(m->warnings[0], "base warning");
        assert_str(m->warnings[1], "ext2 warning");
        /* Present in any layer is present in the stack. */
        cr_assert(eq(sz, strv_length(m->missing), 1));
        assert_str(m->missing[0], "/etc/resolv.conf");
}

Test(extension_merge, prefix_union) {
        _cleanup_(portable_metadata_freep) PortableMetadata
                *base = layer("/etc/os-release", "ID=d\nPORTABLE_PREFIXES=\"foo bar\"\n", NULL, NULL),
                *e1 = layer("/r/e1", "ID=d\nPORTABLE_PREFIXES=\"app1  foo\tzed\"\n", NULL, NULL),
                *e2 = layer("/r/e2", "ID=d\n", NULL, NULL),
                *e3 = layer("/r/e3", "ID=d\nPORTABLE_PREFIXES=\n", NULL, NULL);
        const PortableMetadata *layers[] = { base, e1, e2, e3 };
        _cleanup_strv_free_ char **p = NULL;
        _cleanup_free_ char *joined = NULL;

        cr_assert(eq(int, extension_merge_prefixes(layers, 4, &p), 0));
        joined = strv_join(p, ",");
        assert_str(joined, "app1,bar,foo,zed");
}

Test(extension_merge, prefixes_from_an_extension_only) {
        _cleanup_(portable_metadata_freep) PortableMetadata *base = layer("/etc/os-release", "ID=d\n", NULL, NULL),
                *e1 = layer("/r/e1", "ID=d\nPORTABLE_PREFIXES=app1\n", NULL, NULL);
        const PortableMetadata *layers[] = { base, e1 };
        _cleanup_strv_free_ char **p = NULL, **none = NULL;

        cr_assert(eq(int, extension_merge_prefixes(layers, 2, &p), 0));
        cr_assert(eq(sz, strv_length(p), 1));
        assert_str(p[0], "app1");

        /* No layer declares any: an empty list, not NULL. */
        cr_assert(eq(int, extension_merge_prefixes(layers, 1, &none), 0));
        cr_assert(not(zero(ptr, none)));
        cr_assert(eq(sz, strv_length(none), 0));
}

/* --- limits ------------------------------------------------------------------------------------- */

Test(extension_merge, limits_of_a_stack) {
        static const char *const units[] = { "a.service", "xxxx", NULL };
        PortableMetadata *root = layer("/usr/lib/os-release", "ID=debian\n", units, NULL);
        PortableMetadata *ext = layer("/usr/lib/extension-release.d/extension-release.e", "ID=debian\n", NULL, NULL);
        const PortableMetadata *layers[] = { root, ext };
        _cleanup_(portable_metadata_freep) PortableMetadata *merged = NULL;
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;

        cr_assert(eq(int, extension_merge_metadata(layers, 2, &merged), 0));
        cr_assert(eq(int, extension_merge_check_limits(layers, 2, merged, "/images/root", &error), 0));

        /* Each reader checked its own layer; together they may still be too much for one reply. */
        ext->os_release.size = PORTABLE_SIZE_MAX_METADATA - 10 - 4;
        cr_assert(eq(int, extension_merge_check_limits(layers, 2, merged, "/images/root", &error), 0));
        ext->os_release.size++;
        cr_assert(eq(int, extension_merge_check_limits(layers, 2, merged, "/images/root", &error), -EFBIG));
        cr_assert(strstr(error.message, "'/images/root' and its extensions") != NULL, "%s", error.message);
        sd_bus_error_free(&error);
        ext->os_release.size = 0;

        merged->n_units = PORTABLE_UNITS_MAX + 1; /* only counted: the array is not read past n */
        cr_assert(eq(int, extension_merge_check_limits(layers, 2, merged, "/images/root", &error), -E2BIG));
        merged->n_units = 1;

        portable_metadata_free(root);
        portable_metadata_free(ext);
}
