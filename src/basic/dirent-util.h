/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <dirent.h>
#include <sys/types.h>

/* The file type of a directory entry (S_IFREG, S_IFDIR, S_IFLNK, ...: the S_IFMT bits of a mode)
 * as readdir() reported it, without a system call; from fstatat() without following a symlink
 * where the file system does not say (DT_UNKNOWN). 0 if the entry is gone by then. Listing a
 * directory of a few hundred attached units costs one fstatat() each otherwise. */
mode_t dirent_file_type(int dir_fd, const struct dirent *de);
