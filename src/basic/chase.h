/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Opens path relative to root_fd with every symlink, ".." and absolute link resolved *inside* the
 * root (the kernel's RESOLVE_IN_ROOT), so that nothing an image contains can lead out of it. Magic
 * links (/proc/self/fd/...) are refused. open_flags are ordinary open(2) flags (with O_NOFOLLOW the
 * final component must not be a symlink, unless a trailing "/" asks for its target); O_CLOEXEC is
 * always added. Returns the new fd or a negative errno. */
int chase_open_in_root(int root_fd, const char *path, int open_flags);

/* The userspace implementation used when the kernel (or valgrind) lacks openat2(); exported so
 * that tests can hold it to the kernel's semantics. */
int chase_open_in_root_userspace(int root_fd, const char *path, int open_flags);
