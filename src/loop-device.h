/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdint.h>

/* Attaches backing_fd to a free loop device, read-only and with autoclear (the kernel detaches
 * it when the last user, including a mount, goes away), limited to [offset, offset+size) (size 0:
 * to the end). A device node for it is created at node_path, so that we do not depend on /dev
 * having one (nodes can vanish when another service manager removes loop devices). Returns an fd
 * of the loop device; keep it open until the mount is done. */
int loop_device_attach(int backing_fd, uint64_t offset, uint64_t size, const char *node_path);
