/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <criterion/criterion.h>
#include <criterion/new/assert.h>
#include <stdlib.h>
#include <sys/mount.h>

#include "macro.h"
#include "mount-below.h"
#include "unit-helpers.h"

static char *tmp;

static void setup(void) {
        tmp = unit_mkdtemp("mount-below");
}

static void teardown(void) {
        unit_rm_rf(tmp);
        free(tmp);
}

TestSuite(mount_below, .init = setup, .fini = teardown);

static char *at(const char *rel) {
        return unit_strf("%s%s", tmp, rel);
}

/* Strictly below, by canonical path, and not a sibling whose name starts the same. */
Test(mount_below, finds_a_mount_strictly_below) {
        _cleanup_free_ char *host_dir = at("/host-data"), *tree = at("/tree"), *mnt = at("/tree/deep/host"),
                            *sibling = at("/tree2"), *file = at("/file"), *via_link = at("/link"),
                            *found = NULL, *expected = NULL;

        unit_private_mount_namespace();
        unit_mkdir_p(host_dir, 0755);
        unit_mkdir_p(sibling, 0755);
        unit_mkdir_p(mnt, 0755);
        unit_write(file, "x");
        unit_symlink(tree, via_link);

        cr_assert(eq(int, find_mount_below(tree, &found), 0));
        cr_assert(zero(ptr, found));

        cr_assert(eq(int, mount(host_dir, sibling, "none", MS_BIND, NULL), 0));
        cr_assert(eq(int, find_mount_below(tree, &found), 0), "a sibling with the same prefix is not below");
        cr_assert(zero(ptr, found));

        cr_assert(eq(int, mount(host_dir, mnt, "none", MS_BIND, NULL), 0));
        cr_assert(eq(int, find_mount_below(tree, &found), 1));
        expected = realpath(mnt, NULL);
        cr_assert(not(zero(ptr, expected)));
        assert_str(found, expected);

        free(found);
        found = NULL;
        cr_assert(eq(int, find_mount_below(file, &found), 0), "a file has nothing below it");
        cr_assert(zero(ptr, found));
        cr_assert(eq(int, find_mount_below(via_link, &found), 0), "nor has a symlink");
        cr_assert(zero(ptr, found));

        /* The mount point itself is not below itself. */
        cr_assert(eq(int, find_mount_below(mnt, &found), 0));
        cr_assert(zero(ptr, found));
}

Test(mount_below, missing) {
        _cleanup_free_ char *m = at("/missing"), *found = NULL;

        cr_assert(eq(int, find_mount_below(m, &found), -ENOENT));
        cr_assert(zero(ptr, found));
}
