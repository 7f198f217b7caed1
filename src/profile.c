/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>

#include "fd-util.h"
#include "path-util.h"
#include "portable-error.h"
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

bool profile_is_path(const char *profile) {
        return profile && strchr(profile, '/');
}

/* The rules for a file or directory the daemon reads for a caller: see profile.h. */
static int check_trusted(const char *path, bool directory, sd_bus_error *reterr) {
        _cleanup_close_ int fd = -EBADF;
        struct stat st;

        fd = open(path, O_PATH | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0)
                return portable_error(reterr, errno, NULL, "Profile '%s' cannot be opened: %m", path);
        if (fstat(fd, &st) < 0)
                return portable_error(reterr, errno, NULL, "Profile '%s' cannot be inspected: %m", path);
        if (directory ? !S_ISDIR(st.st_mode) : !S_ISREG(st.st_mode))
                return portable_error(reterr, EPERM, SD_BUS_ERROR_INVALID_ARGS, "Profile '%s' is not a %s.", path,
                                      directory ? "directory" : "regular file");
        if (st.st_uid != 0 || (st.st_mode & (S_IWGRP | S_IWOTH)) || !(st.st_mode & S_IROTH))
                return portable_error(reterr, EPERM, SD_BUS_ERROR_INVALID_ARGS,
                                      "Profile '%s' must be owned by root, writable by nobody else and readable by "
                                      "everyone (it is uid %u, mode %04o): the daemon reads it as root on behalf of "
                                      "callers who may not be.",
                                      path, (unsigned) st.st_uid, (unsigned) (st.st_mode & 07777));
        return 0;
}

int profile_path_check(const char *path, sd_bus_error *reterr) {
        _cleanup_free_ char *service = NULL;
        struct stat st;
        int r;

        if (!path_is_normalized_absolute(path))
                return portable_error(reterr, EINVAL, SD_BUS_ERROR_INVALID_ARGS,
                                      "Profile path '%s' is not absolute and normalised.", path);
        if (lstat(path, &st) < 0)
                return portable_error(reterr, errno, NULL, "Profile '%s' cannot be used: %m", path);
        r = check_trusted(path, S_ISDIR(st.st_mode), reterr);
        if (r < 0 || !S_ISDIR(st.st_mode))
                return r;

        /* A directory that is no profile (say /etc/systemd) would attach services without one. */
        if (asprintf(&service, "%s/service.conf", path) < 0)
                return -ENOMEM;
        if (lstat(service, &st) < 0)
                return portable_error(reterr, errno == ENOENT ? ENOENT : errno, SD_BUS_ERROR_INVALID_ARGS,
                                      "Profile directory '%s' has no service.conf: it is not a profile.", path);
        return check_trusted(service, /* directory= */ false, reterr);
}

/* A profile by path: the file itself for services, or <type>.conf in the directory. */
static int find_dropin_by_path(const char *path, const char *type, char **ret_path) {
        _cleanup_free_ char *p = NULL;
        struct stat st;
        int r;

        r = profile_path_check(path, NULL);
        if (r < 0)
                return r;
        if (lstat(path, &st) < 0)
                return -errno;

        if (!S_ISDIR(st.st_mode)) {
                if (!streq(type, "service"))
                        return 0;
                p = strdup(path);
        } else if (asprintf(&p, "%s/%s.conf", path, type) < 0)
                p = NULL;
        if (!p)
                return -ENOMEM;

        if (S_ISDIR(st.st_mode)) {
                if (lstat(p, &st) < 0)
                        return errno == ENOENT ? 0 : -errno;
                r = check_trusted(p, /* directory= */ false, NULL);
                if (r < 0)
                        return r;
        }
        *ret_path = TAKE_PTR(p);
        return 1;
}

int profile_find_dropin(const Host *host, const char *name, const char *unit, char **ret_path) {
        _cleanup_strv_free_ char **dirs = NULL;
        const char *type = unit_name_type(unit);
        bool profile_exists = false;
        int r;

        if (!type)
                return -EINVAL;
        if (profile_is_path(name))
                return find_dropin_by_path(name, type, ret_path);
        if (!filename_is_valid(name))
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
