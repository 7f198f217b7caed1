/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <dirent.h>
#include <stdio.h>
#include <sys/stat.h>

#include "fd-util.h"
#include "path-util.h"
#include "profile.h"
#include "strv.h"
#include "unit-match.h"

/* The directories in precedence order: admin overrides in /etc and /run first, then our own
 * profiles, then systemd's vendor ones (so that ours win over a systemd installed alongside). */
static int profile_dirs(const Host *host, char ***ret) {
        _cleanup_strv_free_ char **dirs = NULL;
        int r;

        for (size_t i = 0; host_profile_dirs[i]; i++) {
                if (i == 2 && host->vendor_profile_dir) {
                        r = strv_extend(&dirs, host->vendor_profile_dir);
                        if (r < 0)
                                return r;
                }
                r = strv_consume(&dirs, host_path(host, host_profile_dirs[i]));
                if (r < 0)
                        return r;
        }

        *ret = TAKE_PTR(dirs);
        return 0;
}

int profile_find_dropin(const Host *host, const char *name, const char *unit, char **ret_path) {
        _cleanup_strv_free_ char **dirs = NULL;
        const char *type = unit_name_type(unit);
        bool profile_exists = false;
        int r;

        if (!filename_is_valid(name) || !type)
                return -EINVAL;

        r = profile_dirs(host, &dirs);
        if (r < 0)
                return r;

        STRV_FOREACH(d, dirs) {
                _cleanup_free_ char *p = NULL;
                struct stat st;

                if (asprintf(&p, "%s/%s", *d, name) < 0)
                        return -ENOMEM;
                if (stat(p, &st) < 0)
                        continue;
                if (S_ISCHR(st.st_mode))
                        /* Masked (a link to /dev/null): it hides what lower directories have. */
                        return profile_exists ? 0 : -ENOENT;
                if (!S_ISDIR(st.st_mode))
                        continue;
                profile_exists = true;

                p = mfree(p);
                if (asprintf(&p, "%s/%s/%s.conf", *d, name, type) < 0)
                        return -ENOMEM;

                /* Checked without following a final symlink, like systemd: a profile file may be
                 * a link, but a link to /dev/null masks it. */
                if (lstat(p, &st) < 0)
                        continue;
                if (S_ISLNK(st.st_mode) && stat(p, &st) >= 0 && S_ISCHR(st.st_mode))
                        return 0;

                *ret_path = TAKE_PTR(p);
                return 1;
        }

        return profile_exists ? 0 : -ENOENT;
}

int profile_list(const Host *host, char ***ret) {
        _cleanup_strv_free_ char **dirs = NULL, **names = NULL, **masked = NULL;
        int r;

        r = profile_dirs(host, &dirs);
        if (r < 0)
                return r;

        STRV_FOREACH(d, dirs) {
                _cleanup_closedir_ DIR *dh = opendir(*d);
                struct dirent *de;

                while (dh && (de = readdir(dh))) {
                        struct stat st;

                        if (de->d_name[0] == '.' || !filename_is_valid(de->d_name))
                                continue;
                        if (strv_contains(masked, de->d_name) || strv_contains(names, de->d_name))
                                continue;
                        if (fstatat(dirfd(dh), de->d_name, &st, 0) < 0)
                                continue;
                        if (S_ISCHR(st.st_mode)) {
                                r = strv_extend(&masked, de->d_name);
                                if (r < 0)
                                        return r;
                                continue;
                        }
                        if (!S_ISDIR(st.st_mode))
                                continue;
                        r = strv_extend_unique(&names, de->d_name);
                        if (r < 0)
                                return r;
                }
        }

        r = strv_ensure(&names);
        if (r < 0)
                return r;
        strv_sort(names);
        *ret = TAKE_PTR(names);
        return 0;
}
