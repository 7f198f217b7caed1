/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <criterion/criterion.h>
#include <criterion/new/assert.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <linux/loop.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fd-util.h"
#include "loop-device.h"
#include "unit-helpers.h"

static char *tmp, *backing;
static int backing_fd = -EBADF;

static void setup(void) {
        _cleanup_free_ char *buf = malloc(3 * MIB);

        if (geteuid() != 0 || access("/dev/loop-control", W_OK) < 0)
                cr_skip_test("loop devices need root and /dev/loop-control");

        tmp = unit_mkdtemp("loop");
        backing = unit_strf("%s/backing.img", tmp);
        cr_assert(buf != NULL);
        /* Every MiB starts with its own marker. */
        memset(buf, 0, 3 * MIB);
        for (unsigned i = 0; i < 3; i++)
                snprintf(buf + i * MIB, 16, "MIB-%u", i);
        unit_write_data(backing, buf, 3 * MIB, 0644);
        backing_fd = open(backing, O_RDONLY | O_CLOEXEC);
        cr_assert(backing_fd >= 0);
}

static void teardown(void) {
        backing_fd = safe_close(backing_fd);
        if (backing && !unit_wait_no_loop(backing, 2000))
                (void) unit_run("losetup -j '%s' -O NAME -n | xargs -r -n1 losetup -d", backing);
        unit_rm_rf(tmp);
        free(backing);
        free(tmp);
}

TestSuite(loop_device, .init = setup, .fini = teardown);

static void read_at(int fd, off_t offset, char *buf, size_t size) {
        memset(buf, 0, size);
        cr_assert(eq(long, (long) pread(fd, buf, size - 1, offset), (long) size - 1));
}

Test(loop_device, whole_file_read_only_autoclear) {
        _cleanup_free_ char *node = unit_strf("%s/loop", tmp);
        struct loop_info64 info = {};
        uint64_t size = 0;
        char buf[8];
        struct stat st;
        int fd;

        fd = loop_device_attach(backing_fd, 0, 0, node);
        cr_assert(fd >= 0, "loop_device_attach: %s", strerror(-fd));
        cr_assert(holds(fcntl(fd, F_GETFD) & FD_CLOEXEC));

        /* The node was made where we asked, for the device we got. */
        cr_assert(eq(int, stat(node, &st), 0));
        cr_assert(holds(S_ISBLK(st.st_mode)));
        cr_assert(unit_loop_backed_by(backing));

        cr_assert(eq(int, ioctl(fd, LOOP_GET_STATUS64, &info), 0));
        cr_assert(holds(info.lo_flags & LO_FLAGS_READ_ONLY));
        cr_assert(holds(info.lo_flags & LO_FLAGS_AUTOCLEAR));
        cr_assert(eq(u64, (uint64_t) info.lo_offset, 0));

        cr_assert(eq(int, ioctl(fd, BLKGETSIZE64, &size), 0));
        cr_assert(eq(u64, size, 3 * MIB));
        read_at(fd, 0, buf, sizeof(buf));
        assert_str(buf, "MIB-0");
        read_at(fd, 2 * MIB, buf, sizeof(buf));
        assert_str(buf, "MIB-2");

        /* Read-only: the device says so, and writes fail. */
        int ro = 0;
        cr_assert(eq(int, ioctl(fd, BLKROGET, &ro), 0));
        cr_assert(eq(int, ro, 1));
        _cleanup_close_ int wfd = open(node, O_RDWR | O_CLOEXEC);
        if (wfd >= 0)
                cr_assert(lt(long, (long) pwrite(wfd, "x", 1, 0), 0L));
        wfd = safe_close(wfd);

        /* Closing the last reference detaches it. */
        close(fd);
        cr_assert(unit_wait_no_loop(backing, 2000), "loop device still bound to %s", backing);
}

Test(loop_device, offset_and_size_limit) {
        _cleanup_free_ char *node = unit_strf("%s/loop", tmp);
        _cleanup_close_ int fd = -EBADF;
        uint64_t size = 0;
        char buf[8];

        fd = loop_device_attach(backing_fd, MIB, MIB, node);
        cr_assert(fd >= 0, "loop_device_attach: %s", strerror(-fd));
        cr_assert(eq(int, ioctl(fd, BLKGETSIZE64, &size), 0));
        cr_assert(eq(u64, size, MIB));
        read_at(fd, 0, buf, sizeof(buf));
        assert_str(buf, "MIB-1");
        /* Nothing of the third MiB is visible. */
        cr_assert(eq(long, (long) pread(fd, buf, 1, MIB), 0L));

        fd = safe_close(fd);
        cr_assert(unit_wait_no_loop(backing, 2000));
}

Test(loop_device, offset_to_the_end) {
        _cleanup_free_ char *node = unit_strf("%s/loop", tmp);
        _cleanup_close_ int fd = -EBADF;
        uint64_t size = 0;

        fd = loop_device_attach(backing_fd, 2 * MIB, 0, node);
        cr_assert(fd >= 0);
        cr_assert(eq(int, ioctl(fd, BLKGETSIZE64, &size), 0));
        cr_assert(eq(u64, size, MIB));
}

Test(loop_device, stale_node_is_replaced) {
        _cleanup_free_ char *node = unit_strf("%s/loop", tmp);
        _cleanup_close_ int fd = -EBADF;
        struct stat st;

        unit_write(node, "a regular file in the way");
        fd = loop_device_attach(backing_fd, 0, 0, node);
        cr_assert(fd >= 0, "loop_device_attach: %s", strerror(-fd));
        cr_assert(eq(int, stat(node, &st), 0));
        cr_assert(holds(S_ISBLK(st.st_mode)));
}

Test(loop_device, node_directory_missing) {
        _cleanup_free_ char *node = unit_strf("%s/missing/loop", tmp);
        int fd;

        fd = loop_device_attach(backing_fd, 0, 0, node);
        cr_assert(eq(int, fd, -ENOENT));
        cr_assert(not(unit_loop_backed_by(backing)), "a failed attach left a loop device behind");
}

Test(loop_device, bad_backing_fd) {
        _cleanup_free_ char *node = unit_strf("%s/loop", tmp);
        int fd;

        fd = loop_device_attach(-EBADF, 0, 0, node);
        cr_assert(lt(int, fd, 0));
}
