/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* Reads the whole of fd (from its current offset) into a NUL-terminated buffer. Refuses with
 * -EFBIG anything larger than max_size, so a hostile image cannot make us allocate gigabytes. */
int read_full_fd(int fd, size_t max_size, char **ret_data, size_t *ret_size);

/* Writes data to dir_fd/name atomically: a temporary file in the same directory, fsync, then
 * renameat(). With replace=false an existing file is never overwritten (-EEXIST). */
int write_file_atomic_at(int dir_fd, const char *name, const void *data, size_t size, mode_t mode,
                         bool replace);

/* Creates the directory path (absolute) with mode, and its missing parents with parents_mode;
 * what exists already is left as it is. */
int mkdir_p(const char *path, mode_t parents_mode, mode_t mode);
