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

/* Opens path, relative to dir_fd, as O_PATH, refusing every symlink on the way (-ELOOP), every
 * step into another mount (-EXDEV) and any "..", or a leading "/" (-EXDEV): the kernel's
 * RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_XDEV. For the daemon's own look at a directory
 * image: what it finds there is what a reader of the image saw (a reader's copy of the tree has
 * none of the mounts below it), and it never walks into a file system mounted inside the image,
 * where a FUSE server could keep the lookup waiting forever. */
int chase_open_beneath_same_mount(int dir_fd, const char *path);

/* Its userspace walk, for kernels (and valgrind) without openat2(); exported for the tests. */
int chase_open_beneath_same_mount_userspace(int dir_fd, const char *path);
