/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <criterion/criterion.h>
#include <criterion/new/assert.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "fd-util.h"
#include "unit-helpers.h"
#include "verity-cache.h"

static char *tmp;
static const uint8_t hash_a[32] = { 1, 2, 3 }, hash_b[32] = { 1, 2, 4 };

static void setup(void) {
        tmp = unit_mkdtemp("verity-cache");
}

static void teardown(void) {
        unit_rm_rf(tmp);
        free(tmp);
}

TestSuite(verity_cache, .init = setup, .fini = teardown);

static int open_image(const char *name, const char *content) {
        _cleanup_free_ char *p = unit_strf("%s/%s", tmp, name);
        int fd;

        unit_write(p, content);
        fd = open(p, O_RDWR | O_CLOEXEC);
        cr_assert(fd >= 0);
        return fd;
}

static VerityIdentity identity(int fd, uint64_t offset, const uint8_t *hash) {
        VerityIdentity id;

        cr_assert(eq(int, verity_identity_from_fd(fd, offset, hash, 32, &id), 0));
        return id;
}

Test(verity_cache, hit_returns_what_was_verified) {
        _cleanup_(verity_cache_freep) VerityCache *c = verity_cache_new(0);
        _cleanup_close_ int fd = open_image("a.raw", "data");
        VerityIdentity id = identity(fd, 1 * 1024 * 1024, hash_a), again = identity(fd, 1 * 1024 * 1024, hash_a);
        uint64_t covered = 0;

        cr_assert(not(zero(ptr, c)));
        cr_assert(eq(int, verity_cache_lookup(c, &id, &covered), 0));
        cr_assert(eq(int, verity_cache_add(c, &id, 4096), 0));
        cr_assert(eq(int, verity_cache_lookup(c, &again, &covered), 1));
        cr_assert(eq(u64, covered, 4096));
        cr_assert(eq(sz, verity_cache_size(c), 1));

        /* Adding it again updates, not duplicates. */
        cr_assert(eq(int, verity_cache_add(c, &id, 8192), 0));
        cr_assert(eq(sz, verity_cache_size(c), 1));
        cr_assert(eq(int, verity_cache_lookup(c, &id, &covered), 1));
        cr_assert(eq(u64, covered, 8192));
}

Test(verity_cache, another_hash_partition_or_file_misses) {
        _cleanup_(verity_cache_freep) VerityCache *c = verity_cache_new(0);
        _cleanup_close_ int fd = open_image("a.raw", "data"), other = open_image("b.raw", "data");
        VerityIdentity id = identity(fd, 0, hash_a), h = identity(fd, 0, hash_b), o = identity(fd, 512, hash_a),
                       f = identity(other, 0, hash_a);

        cr_assert(eq(int, verity_cache_add(c, &id, 1), 0));
        cr_assert(eq(int, verity_cache_lookup(c, &h, NULL), 0));
        cr_assert(eq(int, verity_cache_lookup(c, &o, NULL), 0));
        cr_assert(eq(int, verity_cache_lookup(c, &f, NULL), 0));
}

Test(verity_cache, any_write_invalidates) {
        _cleanup_(verity_cache_freep) VerityCache *c = verity_cache_new(0);
        _cleanup_close_ int fd = open_image("a.raw", "data");
        VerityIdentity before = identity(fd, 0, hash_a), after;
        struct stat st;

        cr_assert(eq(int, verity_cache_add(c, &before, 4), 0));
        cr_assert(eq(int, fstat(fd, &st), 0));

        /* The same bytes written back, and the modification time set back as it was: the change
         * time still moves, and that is enough. */
        struct timespec pause = { .tv_nsec = 10 * 1000 * 1000 };
        (void) nanosleep(&pause, NULL);
        cr_assert(eq(long, (long) pwrite(fd, "data", 4, 0), 4));
        struct timespec times[2] = { st.st_atim, st.st_mtim };
        cr_assert(eq(int, futimens(fd, times), 0));

        after = identity(fd, 0, hash_a);
        cr_assert(eq(int, verity_cache_lookup(c, &after, NULL), 0));
        cr_assert(eq(int, verity_cache_lookup(c, &before, NULL), 1));
}

Test(verity_cache, least_recently_used_goes_first) {
        _cleanup_(verity_cache_freep) VerityCache *c = verity_cache_new(2);
        _cleanup_close_ int a = open_image("a.raw", "a"), b = open_image("b.raw", "b"), d = open_image("c.raw", "c");
        VerityIdentity ia = identity(a, 0, hash_a), ib = identity(b, 0, hash_a), ic = identity(d, 0, hash_a);

        cr_assert(eq(int, verity_cache_add(c, &ia, 1), 0));
        cr_assert(eq(int, verity_cache_add(c, &ib, 1), 0));
        cr_assert(eq(int, verity_cache_lookup(c, &ia, NULL), 1)); /* a is now the most recent */
        cr_assert(eq(int, verity_cache_add(c, &ic, 1), 0));
        cr_assert(eq(sz, verity_cache_size(c), 2));
        cr_assert(eq(int, verity_cache_lookup(c, &ia, NULL), 1));
        cr_assert(eq(int, verity_cache_lookup(c, &ib, NULL), 0));
        cr_assert(eq(int, verity_cache_lookup(c, &ic, NULL), 1));
}

Test(verity_cache, forget) {
        _cleanup_(verity_cache_freep) VerityCache *c = verity_cache_new(0);
        _cleanup_close_ int a = open_image("a.raw", "a"), b = open_image("b.raw", "b");
        VerityIdentity a0 = identity(a, 0, hash_a), a1 = identity(a, 4096, hash_b), b0 = identity(b, 0, hash_a);

        cr_assert(eq(int, verity_cache_add(c, &a0, 1), 0));
        cr_assert(eq(int, verity_cache_add(c, &a1, 1), 0));
        cr_assert(eq(int, verity_cache_add(c, &b0, 1), 0));
        verity_cache_forget(c, a0.dev, a0.ino);
        cr_assert(eq(sz, verity_cache_size(c), 1));
        cr_assert(eq(int, verity_cache_lookup(c, &b0, NULL), 1));
        cr_assert(eq(int, verity_cache_lookup(c, &a0, NULL), 0));
}

Test(verity_cache, only_regular_files_have_an_identity) {
        _cleanup_close_ int null = open("/dev/null", O_RDONLY | O_CLOEXEC), dir = open(tmp, O_RDONLY | O_DIRECTORY | O_CLOEXEC),
                            fd = open_image("a.raw", "a");
        uint8_t long_hash[65] = {};
        VerityIdentity id;

        cr_assert(eq(int, verity_identity_from_fd(null, 0, hash_a, 32, &id), -EBADFD));
        cr_assert(eq(int, verity_identity_from_fd(dir, 0, hash_a, 32, &id), -EBADFD));
        cr_assert(eq(int, verity_identity_from_fd(fd, 0, long_hash, sizeof(long_hash), &id), -EINVAL));
        cr_assert(eq(int, verity_identity_from_fd(fd, 0, NULL, 0, &id), -EINVAL));
}

Test(verity_cache, null_cache) {
        VerityIdentity id = {};

        cr_assert(eq(int, verity_cache_lookup(NULL, &id, NULL), 0));
        cr_assert(eq(int, verity_cache_add(NULL, &id, 1), -EINVAL));
        verity_cache_forget(NULL, 0, 0);
        cr_assert(eq(sz, verity_cache_size(NULL), 0));
        cr_assert(zero(ptr, verity_cache_free(NULL)));
}

Test(verity_cache, lookup_file_lists_every_partition_of_that_file_only) {
        _cleanup_(verity_cache_freep) VerityCache *c = verity_cache_new(0);
        _cleanup_close_ int a = open_image("a.raw", "a"), b = open_image("b.raw", "b");
        VerityIdentity a0 = identity(a, 0, hash_a), a1 = identity(a, 4096, hash_b), b0 = identity(b, 0, hash_a),
                       probe = identity(a, 12345, hash_b), got[4];
        uint64_t covered[4];
        size_t n;

        cr_assert(eq(int, verity_cache_add(c, &a0, 100), 0));
        cr_assert(eq(int, verity_cache_add(c, &a1, 200), 0));
        cr_assert(eq(int, verity_cache_add(c, &b0, 300), 0));

        /* The offset and root hash of the question do not matter, the file does. */
        n = verity_cache_lookup_file(c, &probe, got, covered, ELEMENTSOF(got));
        cr_assert(eq(sz, n, 2));
        for (size_t i = 0; i < n; i++) {
                cr_assert(eq(u64, got[i].ino, a0.ino));
                cr_assert(eq(u64, covered[i], got[i].data_offset == 0 ? 100 : 200));
        }
        cr_assert(eq(sz, verity_cache_lookup_file(c, &probe, got, covered, 1), 1));

        /* A write to the file makes it another file (after a pause: time stamps are coarse). */
        struct timespec pause = { .tv_nsec = 10 * 1000 * 1000 };
        (void) nanosleep(&pause, NULL);
        cr_assert(eq(long, (long) pwrite(a, "x", 1, 0), 1L));
        probe = identity(a, 0, hash_a);
        cr_assert(eq(sz, verity_cache_lookup_file(c, &probe, got, covered, ELEMENTSOF(got)), 0));
        cr_assert(eq(sz, verity_cache_lookup_file(NULL, &probe, got, covered, ELEMENTSOF(got)), 0));
}
