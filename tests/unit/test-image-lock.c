/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <criterion/criterion.h>
#include <criterion/new/assert.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fd-util.h"
#include "image-lock.h"
#include "unit-helpers.h"

/* The image locks systemd's machined and nspawn share with us (image-lock.h): where they live,
 * who may hold them together, and that the last holder cleans up. */

static char *tmp, *root, *image;
static Host host;

static void setup(void) {
        tmp = unit_mkdtemp("image-lock");
        root = unit_strf("%s/root", tmp);
        image = unit_strf("%s/pool/foo", tmp);
        unit_mkdir_p(root, 0755);
        unit_mkdir_p(image, 0755);
        host = (Host) { .root = root };
}

static void teardown(void) {
        unit_rm_rf(tmp);
        free(image);
        free(root);
        free(tmp);
}

TestSuite(image_lock, .init = setup, .fini = teardown);

static char *local_lock(void) {
        return unit_strf("%s/pool/.#foo.lck", tmp);
}

static char *global_lock(void) {
        struct stat st;

        cr_assert(eq(int, stat(image, &st), 0));
        return unit_strf("%s/run/systemd/nspawn/locks/inode-%lu:%lu", root, (unsigned long) st.st_dev,
                         (unsigned long) st.st_ino);
}

static int acquire(bool exclusive, int fds[IMAGE_LOCKS]) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;

        return image_lock_acquire(&host, image, exclusive, fds, &error);
}

static void release(int fds[IMAGE_LOCKS]) {
        for (size_t i = 0; i < IMAGE_LOCKS; i++)
                fds[i] = image_lock_release(fds[i]);
}

/* Both lock files are made, the directory of the global one included on the first lock after
 * a boot, and both go with the last holder. */
Test(image_lock, makes_both_lock_files_and_removes_them_with_the_last_holder) {
        _cleanup_free_ char *local = local_lock(), *global = global_lock();
        int a[IMAGE_LOCKS], b[IMAGE_LOCKS];

        cr_assert(eq(int, acquire(false, a), 0));
        cr_assert(ge(int, a[0], 0));
        cr_assert(ge(int, a[1], 0));
        cr_assert(eq(int, access(local, F_OK), 0), "no %s", local);
        cr_assert(eq(int, access(global, F_OK), 0), "no %s", global);

        cr_assert(eq(int, acquire(false, b), 0), "two readers may hold it together");
        release(a);
        cr_assert(eq(int, access(local, F_OK), 0), "removed while another holds it");
        cr_assert(eq(int, access(global, F_OK), 0), "removed while another holds it");
        release(b);
        cr_assert(eq(int, access(local, F_OK), -1), "left behind");
        cr_assert(eq(int, access(global, F_OK), -1), "left behind");
}

/* A reader and a remover exclude each other, whichever comes first, and a refused lock leaves
 * nothing held. */
Test(image_lock, shared_and_exclusive_exclude_each_other) {
        _cleanup_free_ char *local = local_lock();
        _cleanup_close_ int probe = -EBADF;
        int shared[IMAGE_LOCKS], exclusive[IMAGE_LOCKS];

        cr_assert(eq(int, acquire(false, shared), 0));
        cr_assert(eq(int, acquire(true, exclusive), -EBUSY));
        release(shared);

        cr_assert(eq(int, acquire(true, exclusive), 0));
        cr_assert(eq(int, acquire(false, shared), -EBUSY));
        /* The refused shared lock did not keep its local lock: an exclusive one still fits
         * beside ours once we let go. */
        release(exclusive);
        probe = open(local, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
        cr_assert(ge(int, probe, 0));
        cr_assert(eq(int, flock(probe, LOCK_EX | LOCK_NB), 0), "a refused lock is still held");
}

/* nspawn's lock, held by someone else, counts as much as ours. */
Test(image_lock, respects_a_lock_held_by_another_program) {
        _cleanup_free_ char *global = global_lock(), *local = local_lock(),
                            *dir = unit_strf("%s/run/systemd/nspawn/locks", root);
        _cleanup_close_ int other = -EBADF;
        int fds[IMAGE_LOCKS];

        unit_mkdir_p(dir, 0755);
        other = open(global, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
        cr_assert(ge(int, other, 0));
        cr_assert(eq(int, flock(other, LOCK_EX | LOCK_NB), 0));

        cr_assert(eq(int, acquire(false, fds), -EBUSY));
        /* The local lock it took before it was refused went again, lock file and all. */
        cr_assert(eq(int, access(local, F_OK), -1), "the refused lock's local lock is still held");

        cr_assert(eq(int, flock(other, LOCK_UN), 0));
        cr_assert(eq(int, acquire(false, fds), 0));
        release(fds);
}
