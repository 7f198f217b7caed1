/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <criterion/criterion.h>
#include <criterion/new/assert.h>
#include <string.h>

#include "metadata-cache.h"
#include "unit-helpers.h"

static PortableMetadata *metadata_with(const char *unit, size_t data_size) {
        PortableMetadata *m = NULL;
        char *data = malloc(data_size + 1);

        cr_assert(not(zero(ptr, data)));
        memset(data, 'x', data_size);
        data[data_size] = '\0';
        cr_assert(eq(int, portable_metadata_new(&m), 0));
        cr_assert(eq(int, portable_metadata_add_unit(m, unit, data, data_size, NULL), 0));
        return m;
}

static const char *unit_of(MetadataCache *c, const char *key) {
        static char name[64];
        PortableMetadata *m = NULL;
        int r = metadata_cache_lookup(c, key, strlen(key), &m);

        cr_assert(ge(int, r, 0));
        if (r == 0)
                return NULL;
        cr_assert(eq(sz, m->n_units, 1));
        snprintf(name, sizeof(name), "%s", m->units[0].name);
        portable_metadata_free(m);
        return name;
}

Test(metadata_cache, lookup_finds_what_was_added) {
        _cleanup_(metadata_cache_freep) MetadataCache *c = metadata_cache_new(0, 0);
        _cleanup_(portable_metadata_freep) PortableMetadata *a = metadata_with("a.service", 10);

        cr_assert(not(zero(ptr, c)));
        cr_assert(zero(ptr, (void *) unit_of(c, "key-a")));
        cr_assert(eq(int, metadata_cache_add(c, 1, 2, "key-a", 5, a), 1));
        assert_str(unit_of(c, "key-a"), "a.service");
        /* Keys are compared whole: a prefix or a longer key is another key. */
        cr_assert(zero(ptr, (void *) unit_of(c, "key-")));
        cr_assert(zero(ptr, (void *) unit_of(c, "key-ab")));
        cr_assert(eq(sz, metadata_cache_size(c), 1));
}

/* What the cache hands out and what it keeps are copies: neither side can change the other. */
Test(metadata_cache, entries_are_copies) {
        _cleanup_(metadata_cache_freep) MetadataCache *c = metadata_cache_new(0, 0);
        PortableMetadata *a = metadata_with("a.service", 10), *got = NULL;

        cr_assert(eq(int, metadata_cache_add(c, 1, 2, "k", 1, a), 1));
        a->units[0].data[0] = 'y';
        a = portable_metadata_free(a);
        cr_assert(eq(int, metadata_cache_lookup(c, "k", 1, &got), 1));
        cr_assert(eq(chr, got->units[0].data[0], 'x'));
        got->units[0].data[0] = 'z';
        got = portable_metadata_free(got);
        cr_assert(eq(int, metadata_cache_lookup(c, "k", 1, &got), 1));
        cr_assert(eq(chr, got->units[0].data[0], 'x'));
        portable_metadata_free(got);
}

Test(metadata_cache, add_replaces) {
        _cleanup_(metadata_cache_freep) MetadataCache *c = metadata_cache_new(0, 0);
        _cleanup_(portable_metadata_freep) PortableMetadata *a = metadata_with("a.service", 1),
                                                            *b = metadata_with("b.service", 1);

        cr_assert(eq(int, metadata_cache_add(c, 1, 2, "k", 1, a), 1));
        cr_assert(eq(int, metadata_cache_add(c, 1, 2, "k", 1, b), 1));
        assert_str(unit_of(c, "k"), "b.service");
        cr_assert(eq(sz, metadata_cache_size(c), 1));
}

Test(metadata_cache, least_recently_used_goes_first) {
        _cleanup_(metadata_cache_freep) MetadataCache *c = metadata_cache_new(2, 0);
        _cleanup_(portable_metadata_freep) PortableMetadata *a = metadata_with("a.service", 1),
                                                            *b = metadata_with("b.service", 1),
                                                            *d = metadata_with("d.service", 1);

        cr_assert(eq(int, metadata_cache_add(c, 1, 1, "a", 1, a), 1));
        cr_assert(eq(int, metadata_cache_add(c, 1, 2, "b", 1, b), 1));
        assert_str(unit_of(c, "a"), "a.service"); /* a is now the most recently used */
        cr_assert(eq(int, metadata_cache_add(c, 1, 3, "d", 1, d), 1));
        cr_assert(eq(sz, metadata_cache_size(c), 2));
        assert_str(unit_of(c, "a"), "a.service");
        cr_assert(zero(ptr, (void *) unit_of(c, "b")));
        assert_str(unit_of(c, "d"), "d.service");
}

/* Memory is bounded: large metadata is not kept, and the total stays under the limit. */
Test(metadata_cache, bytes_are_bounded) {
        _cleanup_(metadata_cache_freep) MetadataCache *c = metadata_cache_new(100, 64 * 1024);
        _cleanup_(portable_metadata_freep) PortableMetadata *huge = metadata_with("huge.service", 32 * 1024),
                                                            *mid = metadata_with("mid.service", 10 * 1024);

        cr_assert(eq(int, metadata_cache_add(c, 1, 1, "huge", 4, huge), 0));
        cr_assert(zero(ptr, (void *) unit_of(c, "huge")));
        for (int i = 0; i < 20; i++) {
                char key[16];

                snprintf(key, sizeof(key), "mid%d", i);
                cr_assert(eq(int, metadata_cache_add(c, 1, (ino_t) i, key, strlen(key), mid), 1));
        }
        cr_assert(le(sz, metadata_cache_size(c), 6));
        assert_str(unit_of(c, "mid19"), "mid.service");
        cr_assert(zero(ptr, (void *) unit_of(c, "mid0")));
}

Test(metadata_cache, forget_drops_every_entry_of_the_file) {
        _cleanup_(metadata_cache_freep) MetadataCache *c = metadata_cache_new(0, 0);
        _cleanup_(portable_metadata_freep) PortableMetadata *a = metadata_with("a.service", 1);

        cr_assert(eq(int, metadata_cache_add(c, 7, 8, "one", 3, a), 1));
        cr_assert(eq(int, metadata_cache_add(c, 7, 8, "two", 3, a), 1));
        cr_assert(eq(int, metadata_cache_add(c, 7, 9, "other", 5, a), 1));
        metadata_cache_forget(c, 7, 8);
        cr_assert(eq(sz, metadata_cache_size(c), 1));
        cr_assert(zero(ptr, (void *) unit_of(c, "one")));
        assert_str(unit_of(c, "other"), "a.service");
}

Test(metadata_cache, null_cache_caches_nothing) {
        _cleanup_(portable_metadata_freep) PortableMetadata *a = metadata_with("a.service", 1);
        PortableMetadata *m = NULL;

        cr_assert(eq(int, metadata_cache_add(NULL, 1, 1, "k", 1, a), 0));
        cr_assert(eq(int, metadata_cache_lookup(NULL, "k", 1, &m), 0));
        metadata_cache_forget(NULL, 1, 1);
        cr_assert(zero(ptr, metadata_cache_free(NULL)));
}
