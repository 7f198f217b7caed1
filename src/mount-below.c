/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <libmount/libmount.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "macro.h"
#include "mount-below.h"

DEFINE_TRIVIAL_CLEANUP_FUNC(struct libmnt_table *, mnt_unref_table);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct libmnt_iter *, mnt_free_iter);

int find_mount_below(const char *path, char **ret) {
        _cleanup_(mnt_unref_tablep) struct libmnt_table *table = NULL;
        _cleanup_(mnt_free_iterp) struct libmnt_iter *iter = NULL;
        _cleanup_free_ char *canonical = NULL;
        struct libmnt_fs *fs;
        struct stat st;
        size_t n;
        int r;

        *ret = NULL;
        if (lstat(path, &st) < 0)
                return -errno;
        if (!S_ISDIR(st.st_mode))
                return 0;
        /* The mount table names canonical paths. */
        canonical = realpath(path, NULL);
        if (!canonical)
                return -errno;
        n = strlen(canonical);

        table = mnt_new_table_from_file("/proc/self/mountinfo");
        iter = mnt_new_iter(MNT_ITER_FORWARD);
        if (!table || !iter)
                return -ENOMEM;
        while ((r = mnt_table_next_fs(table, iter, &fs)) == 0) {
                const char *target = mnt_fs_get_target(fs);

                if (target && strncmp(target, canonical, n) == 0 && target[n] == '/') {
                        *ret = strdup(target);
                        return *ret ? 1 : -ENOMEM;
                }
        }
        return r < 0 ? r : 0;
}
