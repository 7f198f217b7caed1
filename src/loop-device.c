/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <fcntl.h>
#include <linux/loop.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "fd-util.h"
#include "loop-device.h"

#define LOOP_MAJOR 7
#define LOOP_ATTEMPTS 64

int loop_device_attach(int backing_fd, uint64_t offset, uint64_t size, const char *node_path) {
        _cleanup_close_ int control = -EBADF;

        control = open("/dev/loop-control", O_RDWR | O_CLOEXEC);
        if (control < 0)
                return -errno;

        /* Loop devices are shared with everyone else on the host: another process may grab the
         * free device between our lookup and our configure, so retry. */
        for (unsigned attempt = 0; attempt < LOOP_ATTEMPTS; attempt++) {
                struct loop_config config = {
                        .fd = (uint32_t) backing_fd,
                        .info = {
                                .lo_flags = LO_FLAGS_READ_ONLY | LO_FLAGS_AUTOCLEAR,
                                .lo_offset = offset,
                                .lo_sizelimit = size,
                        },
                };
                _cleanup_close_ int fd = -EBADF;
                int nr;

                nr = ioctl(control, LOOP_CTL_GET_FREE);
                if (nr < 0)
                        return -errno;

                (void) unlink(node_path);
                if (mknod(node_path, S_IFBLK | 0600, makedev(LOOP_MAJOR, (unsigned) nr)) < 0)
                        return -errno;

                fd = open(node_path, O_RDONLY | O_CLOEXEC);
                if (fd < 0) {
                        if (errno == ENXIO || errno == ENODEV)
                                continue; /* removed under us */
                        return -errno;
                }

                if (ioctl(fd, LOOP_CONFIGURE, &config) < 0) {
                        if (errno == EBUSY)
                                continue; /* taken under us */
                        return -errno;
                }

                return TAKE_FD(fd);
        }

        return -EBUSY;
}
