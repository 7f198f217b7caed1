/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <criterion/criterion.h>
#include <criterion/new/assert.h>
#include <string.h>

#include "os-release.h"
#include "portable-metadata.h"
#include "strv.h"
#include "unit-helpers.h"

static PortableMetadata *new_metadata(void) {
        PortableMetadata *m = NULL;

        cr_assert(eq(int, portable_metadata_new(&m), 0));
        cr_assert(not(zero(ptr, m)));
        cr_assert(eq(sz, m->n_units, 0));
        cr_assert(zero(ptr, m->os_release.name));
        cr_assert(zero(ptr, m->warnings));
        return m;
}

Test(portable_metadata, free_null) {
        cr_assert(zero(ptr, portable_metadata_free(NULL)));
}

Test(portable_metadata, add_keeps_units_sorted) {
        _cleanup_(portable_metadata_freep) PortableMetadata *m = new_metadata();
        static const char *const names[] = { "foo@.service", "foo.service", "foo-bar.socket", "foo.target" };

        for (size_t i = 0; i < ELEMENTSOF(names); i++) {
                char *data = unit_strf("# %s\n", names[i]);
                char *source = i == 1 ? unit_strf("/img/usr/lib/systemd/system/%s", names[i]) : NULL;

                cr_assert(eq(int, portable_metadata_add_unit(m, names[i], data, strlen(data), source), 0));
        }
        cr_assert(eq(sz, m->n_units, 4));

        const PortableFile *f = portable_metadata_find_unit(m, "foo.service");
        cr_assert(not(zero(ptr, (void *) f)));
        assert_str(f->data, "# foo.service\n");
        cr_assert(eq(sz, f->size, strlen("# foo.service\n")));
        assert_str(f->source, "/img/usr/lib/systemd/system/foo.service");
        cr_assert(zero(ptr, (void *) portable_metadata_find_unit(m, "foo")));
        cr_assert(zero(ptr, (void *) portable_metadata_find_unit(m, "bar.service")));

        /* Added out of order, kept in order. */
        assert_str(m->units[0].name, "foo-bar.socket");
        assert_str(m->units[1].name, "foo.service");
        assert_str(m->units[2].name, "foo.target");
        assert_str(m->units[3].name, "foo@.service");
        /* Contents moved with their names. */
        assert_str(m->units[3].data, "# foo@.service\n");
}

Test(portable_metadata, add_copies_the_name) {
        _cleanup_(portable_metadata_freep) PortableMetadata *m = new_metadata();
        char name[] = "a.service";

        cr_assert(eq(int, portable_metadata_add_unit(m, name, strdup("x"), 1, NULL), 0));
        name[0] = 'b';
        assert_str(m->units[0].name, "a.service");
}

Test(portable_metadata, duplicate_unit_refused_and_freed) {
        _cleanup_(portable_metadata_freep) PortableMetadata *m = new_metadata();

        cr_assert(eq(int, portable_metadata_add_unit(m, "a.service", strdup("first"), 5, NULL), 0));
        /* Ownership of data and source passes even on failure (checked under valgrind/ASan:
         * no leak). */
        cr_assert(eq(int, portable_metadata_add_unit(m, "a.service", strdup("second"), 6, strdup("/src")), -EEXIST));
        cr_assert(eq(sz, m->n_units, 1));
        assert_str(m->units[0].data, "first");
        cr_assert(zero(ptr, m->units[0].source));
}

Test(portable_metadata, os_release) {
        _cleanup_(portable_metadata_freep) PortableMetadata *m = new_metadata();
        const char *text = "ID=foo\nPORTABLE_PREFIXES=\"a b\"\n";

        cr_assert(eq(int, portable_metadata_set_os_release(m, "/etc/os-release", strdup(text), strlen(text)), 0));
        assert_str(m->os_release.name, "/etc/os-release");
        assert_str(m->os_release.data, text);
        cr_assert(eq(sz, m->os_release.size, strlen(text)));
        assert_str(os_release_pairs_get(m->os_release_pairs, "ID"), "foo");
        assert_str(os_release_pairs_get(m->os_release_pairs, "PORTABLE_PREFIXES"), "a b");

        /* Setting it again replaces it. */
        cr_assert(eq(int, portable_metadata_set_os_release(m, "/usr/lib/os-release", strdup("ID=bar\n"), 7), 0));
        assert_str(m->os_release.name, "/usr/lib/os-release");
        assert_str(os_release_pairs_get(m->os_release_pairs, "ID"), "bar");
        cr_assert(zero(ptr, (void *) os_release_pairs_get(m->os_release_pairs, "PORTABLE_PREFIXES")));
}

Test(portable_metadata, os_release_malformed_keeps_previous) {
        _cleanup_(portable_metadata_freep) PortableMetadata *m = new_metadata();
        const char *bad = "ID=\"unterminated\n";

        cr_assert(eq(int, portable_metadata_set_os_release(m, "/etc/os-release", strdup("ID=ok\n"), 6), 0));
        cr_assert(eq(int, portable_metadata_set_os_release(m, "/usr/lib/os-release", strdup(bad), strlen(bad)), -EBADMSG));
        assert_str(m->os_release.name, "/etc/os-release");
        assert_str(os_release_pairs_get(m->os_release_pairs, "ID"), "ok");
}

Test(portable_metadata, warnings) {
        _cleanup_(portable_metadata_freep) PortableMetadata *m = new_metadata();

        cr_assert(eq(int, portable_metadata_add_warning(m, "Unit file '%s' is empty, ignoring.", "x.service"), 0));
        cr_assert(eq(int, portable_metadata_add_warning(m, "%d%%", 100), 0));
        cr_assert(eq(sz, strv_length(m->warnings), 2));
        assert_str(m->warnings[0], "Unit file 'x.service' is empty, ignoring.");
        assert_str(m->warnings[1], "100%");
}

Test(portable_metadata, many_units_in_and_out_of_order) {
        _cleanup_(portable_metadata_freep) PortableMetadata *m = new_metadata();

        cr_assert(zero(ptr, (void *) portable_metadata_find_unit(m, "a.service")), "empty");
        for (int i = 999; i >= 0; i -= 2) {
                _cleanup_free_ char *name = unit_strf("u%04d.service", i);
                cr_assert(eq(int, portable_metadata_add_unit(m, name, strdup("x"), 1, NULL), 0));
        }
        for (int i = 0; i < 1000; i += 2) {
                _cleanup_free_ char *name = unit_strf("u%04d.service", i);
                cr_assert(eq(int, portable_metadata_add_unit(m, name, strdup("x"), 1, NULL), 0));
        }
        cr_assert(eq(sz, m->n_units, 1000));
        for (size_t i = 0; i < m->n_units; i++) {
                _cleanup_free_ char *name = unit_strf("u%04zu.service", i);
                assert_str(m->units[i].name, name);
                cr_assert(eq(ptr, (void *) portable_metadata_find_unit(m, name), (void *) &m->units[i]));
        }
}

/* A copy shares nothing with the original: freeing one leaves the other whole. */
Test(portable_metadata, copy_is_deep) {
        PortableMetadata *m = new_metadata();
        _cleanup_(portable_metadata_freep) PortableMetadata *c = NULL;
        char *os = strdup("ID=test\nVERSION_ID=1\n");

        cr_assert(eq(int, portable_metadata_set_os_release(m, "/etc/os-release", os, strlen("ID=test\nVERSION_ID=1\n")), 0));
        cr_assert(eq(int, portable_metadata_add_unit(m, "a.service", strdup("[Service]\n"), 10, strdup("/img/a.service")), 0));
        cr_assert(eq(int, portable_metadata_add_unit(m, "b.socket", strdup(""), 0, NULL), 0));
        m->units[1].layer = 2;
        cr_assert(eq(int, portable_metadata_add_warning(m, "careful %d", 1), 0));
        cr_assert(eq(int, strv_extend(&m->missing, "/proc"), 0));
        m->extension = true;
        m->extension_class = EXTENSION_CONFEXT;

        cr_assert(eq(int, portable_metadata_copy(m, &c), 0));
        cr_assert(ge(sz, portable_metadata_size(c), strlen("ID=test\nVERSION_ID=1\n") + 10));
        m = portable_metadata_free(m);

        assert_str(c->os_release.name, "/etc/os-release");
        assert_str(c->os_release.data, "ID=test\nVERSION_ID=1\n");
        assert_str(os_release_pairs_get(c->os_release_pairs, "ID"), "test");
        cr_assert(eq(sz, c->n_units, 2));
        assert_str(c->units[0].name, "a.service");
        assert_str(c->units[0].data, "[Service]\n");
        cr_assert(eq(sz, c->units[0].size, 10));
        assert_str(c->units[0].source, "/img/a.service");
        assert_str(c->units[1].data, "");
        cr_assert(zero(ptr, c->units[1].source));
        cr_assert(eq(sz, c->units[1].layer, 2));
        assert_str(c->warnings[0], "careful 1");
        assert_str(c->missing[0], "/proc");
        cr_assert(c->extension);
        cr_assert(eq(int, c->extension_class, EXTENSION_CONFEXT));
        cr_assert(zero(ptr, c->layout));
}
