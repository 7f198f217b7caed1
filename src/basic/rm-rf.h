/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Recursive removal for trees an image owns: symlinks are removed, never followed, and nothing
 * on another mount is touched. What is mounted inside an image (a bind mount of a host
 * directory, even on the same file system, which a comparison of st_dev would not notice) is
 * not the image's to delete: the mount point stays and the result is -EXDEV. Both go on past an
 * error and return the first one, so that as much as can go goes. Trees deeper than 256
 * directories are not descended into (-ELOOP), so a hostile tree cannot exhaust the stack or the
 * descriptor table. */

/* Removes everything below dir_fd, which stays. */
int rm_rf_children_beneath(int dir_fd);

/* Removes name below dir_fd, with everything below it; a missing name is not an error. */
int rm_rf_beneath(int dir_fd, const char *name);
