/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <systemd/sd-bus.h>

#include "host.h"

/* The locks systemd's machined, nspawn and portabled take on an image, so that none of them
 * removes or changes an image another is reading: BSD locks on ".#<name>.lck" next to the image
 * and on /run/systemd/nspawn/locks/inode-<dev>:<ino> (block-<major>:<minor> for block devices),
 * shared for reading, exclusive for removing or marking read-only. Never waits: an image locked
 * the other way is -EBUSY, with reterr saying so. Where a lock file cannot be created (a
 * read-only directory) that lock is skipped for shared locks, as systemd does. */

#define IMAGE_LOCKS 2

int image_lock_acquire(const Host *host, const char *path, bool exclusive, int ret_fds[IMAGE_LOCKS],
                       sd_bus_error *reterr);

/* Closes fd; the lock file goes away with the last holder. Returns -EBADF. */
int image_lock_release(int fd);
