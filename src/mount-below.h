/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The first mount point strictly below the directory path, as the caller's mount table has it
 * (by canonical path, so a sibling whose name starts the same is not below). 1 and its path in
 * *ret if there is one; 0 and NULL if there is none, or if path is not a directory. Callers that
 * remove a tree refuse before removing anything: what is mounted there is not the tree's, and the
 * removal would stop at it half-way (rm-rf.h). */
int find_mount_below(const char *path, char **ret);
