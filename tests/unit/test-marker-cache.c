/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <criterion/criterion.h>
#include <criterion/new/assert.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "dropin.h"
#include "fd-util.h"
#include "marker-cache.h"
#include "strv.h"
#include "unit-helpers.h"

/* The marker cache (marker-cache.h) answers as dropin_read_marker() does, reads an unchanged
 * marker only once, and notices every change: written in place, replaced, removed. */

static char *tmp;
static int dir_fd = -EBADF;
static MarkerCache *cache;

static void setup(void) {
        tmp = unit_mkdtemp("marker-cache");
        dir_fd = open(tmp, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        cr_assert(ge(int, dir_fd, 0));
        cache = marker_cache_new();
        cr_assert(cache != NULL);
}

static void teardown(void) {
        cache = marker_cache_free(cache);
        dir_fd = safe_close(dir_fd);
        unit_rm_rf(tmp);
        free(tmp);
}

TestSuite(marker_cache, .init = setup, .fini = teardown);

static char *dropin_path(const char *unit) {
        return unit_strf("%s/%s.d/" DROPIN_PORTABLE_NAME, tmp, unit);
}

static void write_marker(const char *unit, const char *image) {
        _cleanup_free_ char *dir = unit_strf("%s/%s.d", tmp, unit), *path = dropin_path(unit),
                            *content = unit_strf("# Drop-in created for image '%s', do not edit.\n\n[Service]\n", image);

        unit_mkdir_p(dir, 0755);
        unit_write(path, content);
}

/* The image the marker names, "" if the unit has none, via the cache. */
static char *cached(const char *unit) {
        _cleanup_strv_free_ char **paths = NULL;
        int r = marker_cache_read(cache, dir_fd, unit, &paths);

        cr_assert(ge(int, r, 0), "marker_cache_read(%s): %s", unit, strerror(-r));
        if (r == 0)
                return strdup("");
        cr_assert(eq(sz, strv_length(paths), 1));
        return strdup(paths[0]);
}

/* read() calls made by this process so far (the "syscr" of /proc/self/io). */
static unsigned long long reads_so_far(void) {
        unsigned long long n = 0;
        char line[128];
        FILE *f = fopen("/proc/self/io", "re");

        cr_assert(f != NULL);
        while (fgets(line, sizeof(line), f))
                if (sscanf(line, "syscr: %llu", &n) == 1)
                        break;
        fclose(f);
        return n;
}

/* How many read() calls fn makes, beyond what measuring costs. */
static unsigned long long reads_of(char *(*fn)(const char *), const char *unit) {
        unsigned long long before, after, baseline;
        _cleanup_free_ char *ignored = NULL;

        before = reads_so_far();
        after = reads_so_far();
        baseline = after - before;

        before = reads_so_far();
        ignored = fn(unit);
        after = reads_so_far();
        return after - before - baseline;
}

Test(marker_cache, answers_as_the_marker_says_and_reads_it_once) {
        _cleanup_free_ char *first = NULL, *second = NULL;

        write_marker("foo.service", "/var/lib/portables/foo");
        first = cached("foo.service");
        assert_str(first, "/var/lib/portables/foo");
        cr_assert(eq(u32, marker_cache_size(cache), 1));

        cr_assert(eq(u64, reads_of(cached, "foo.service"), 0), "an unchanged marker was read again");
        second = cached("foo.service");
        assert_str(second, "/var/lib/portables/foo");
}

Test(marker_cache, notices_a_write_in_place) {
        _cleanup_free_ char *path = dropin_path("foo.service"), *before = NULL, *after = NULL;

        write_marker("foo.service", "/var/lib/portables/foo");
        before = cached("foo.service");
        /* Same length, same inode: only the times tell. */
        write_marker("foo.service", "/var/lib/portables/bar");
        after = cached("foo.service");
        assert_str(before, "/var/lib/portables/foo");
        assert_str(after, "/var/lib/portables/bar");
}

Test(marker_cache, notices_a_replaced_or_removed_marker) {
        _cleanup_free_ char *path = dropin_path("foo.service"), *tmp_path = unit_strf("%s.new", path),
                            *a = NULL, *b = NULL, *c = NULL;

        write_marker("foo.service", "/var/lib/portables/foo");
        a = cached("foo.service");
        unit_write(tmp_path, "# Drop-in created for image '/srv/other', do not edit.\n");
        cr_assert(eq(int, rename(tmp_path, path), 0));
        b = cached("foo.service");
        cr_assert(eq(int, unlink(path), 0));
        c = cached("foo.service");
        assert_str(a, "/var/lib/portables/foo");
        assert_str(b, "/srv/other");
        assert_str(c, "");
}

/* A drop-in that is not ours is remembered as such, and noticed when it becomes one. */
Test(marker_cache, remembers_what_is_no_marker) {
        _cleanup_free_ char *dir = unit_strf("%s/bar.service.d", tmp), *path = dropin_path("bar.service"),
                            *before = NULL, *after = NULL;

        unit_mkdir_p(dir, 0755);
        unit_write(path, "[Service]\nEnvironment=X=1\n");
        before = cached("bar.service");
        assert_str(before, "");
        cr_assert(eq(u64, reads_of(cached, "bar.service"), 0), "a known non-marker was read again");

        write_marker("bar.service", "/var/lib/portables/bar");
        after = cached("bar.service");
        assert_str(after, "/var/lib/portables/bar");
}

/* Without a cache, and for what is no regular file, the marker is read as dropin_read_marker()
 * reads it. */
Test(marker_cache, without_a_cache_or_a_regular_file) {
        _cleanup_strv_free_ char **paths = NULL;
        _cleanup_free_ char *dir = unit_strf("%s/baz.service.d", tmp), *path = dropin_path("baz.service"),
                            *target = unit_strf("%s/elsewhere", tmp);

        write_marker("foo.service", "/var/lib/portables/foo");
        cr_assert(eq(int, marker_cache_read(NULL, dir_fd, "foo.service", &paths), 1));
        assert_str(paths[0], "/var/lib/portables/foo");

        unit_mkdir_p(dir, 0755);
        unit_write(target, "# Drop-in created for image '/srv/x', do not edit.\n");
        unit_symlink(target, path);
        cr_assert(eq(int, marker_cache_read(cache, dir_fd, "baz.service", &paths), 0), "a symlinked marker counted");
        cr_assert(eq(int, marker_cache_read(cache, dir_fd, "none.service", &paths), 0));
        cr_assert(eq(u32, marker_cache_size(cache), 0));
}
