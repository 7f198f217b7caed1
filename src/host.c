/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <dirent.h>
#include <limits.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fd-util.h"
#include "host.h"
#include "path-util.h"
#include "unit-match.h"

const char *const host_image_search_dirs[] = {
        "/etc/portables",
        "/run/portables",
        "/var/lib/portables",
        "/usr/local/lib/portables",
        "/usr/lib/portables",
        NULL,
};

const char *const host_profile_dirs[] = {
        "/etc/systemd/portable/profile",
        "/run/systemd/portable/profile",
        "/usr/local/lib/systemd/portable/profile",
        "/usr/lib/systemd/portable/profile",
        "/lib/systemd/portable/profile",
        NULL,
};

char *host_path(const Host *host, const char *path) {
        return path_prefix_root(host ? host->root : NULL, path);
}

char *host_attached_dir(const Host *host, bool runtime) {
        return host_path(host, runtime ? "/run/systemd/system.attached" : "/etc/systemd/system.attached");
}

char *host_image_link_dir(const Host *host, bool runtime) {
        return host_path(host, runtime ? "/run/portables" : "/etc/portables");
}

char *host_journal_dir(const Host *host, bool runtime) {
        return host_path(host, runtime ? "/run/portabled" : "/var/lib/portabled");
}

int host_unit_is_active(const Host *host, const char *unit) {
        if (!host || !host->unit_ops.unit_is_active)
                return 0;
        return host->unit_ops.unit_is_active(host->unit_ops.userdata, unit);
}

int host_unit_files_exist(const Host *host, const char *const *units, size_t n_units, bool *ret) {
        for (size_t i = 0; i < n_units; i++)
                ret[i] = false;

        /* Each directory is resolved once, not once per unit: most of them do not exist. */
        for (const char *const *d = unit_search_dirs; *d; d++) {
                _cleanup_free_ char *dir = host_path(host, *d);
                _cleanup_close_ int fd = -EBADF;

                if (!dir)
                        return -ENOMEM;
                fd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
                if (fd < 0) {
                        if (errno == ENOENT || errno == ENOTDIR)
                                continue;
                        return -errno;
                }
                for (size_t i = 0; i < n_units; i++) {
                        struct stat st;

                        if (ret[i])
                                continue;
                        if (fstatat(fd, units[i], &st, AT_SYMLINK_NOFOLLOW) >= 0)
                                ret[i] = true;
                        else if (errno != ENOENT && errno != ENOTDIR)
                                return -errno;
                }
        }
        return 0;
}

int host_unit_file_exists(const Host *host, const char *unit) {
        bool exists;
        int r;

        r = host_unit_files_exist(host, &unit, 1, &exists);
        return r < 0 ? r : exists;
}

static bool is_enablement_dir(const char *name) {
        return endswith(name, ".wants") || endswith(name, ".requires") || endswith(name, ".upholds");
}

int host_unit_is_enabled_in(const char *dir, const char *unit) {
        _cleanup_closedir_ DIR *d = NULL;
        struct dirent *de;

        d = opendir(dir);
        if (!d)
                return errno == ENOENT ? 0 : -errno;

        while ((de = readdir(d))) {
                struct stat st;

                if (de->d_name[0] == '.')
                        continue;

                if (is_enablement_dir(de->d_name)) {
                        _cleanup_free_ char *sub = path_join(dir, de->d_name), *p = NULL;

                        if (!sub)
                                return -ENOMEM;
                        p = path_join(sub, unit);
                        if (!p)
                                return -ENOMEM;
                        if (lstat(p, &st) >= 0)
                                return 1;

                        /* A template is enabled if any instance of it is. */
                        if (unit_name_is_valid(unit, UNIT_NAME_TEMPLATE)) {
                                _cleanup_closedir_ DIR *w = opendir(sub);
                                const char *at = strchr(unit, '@'), *dot = strrchr(unit, '.');
                                struct dirent *e;

                                while (w && at && dot && (e = readdir(w)))
                                        if (strncmp(e->d_name, unit, (size_t) (at - unit + 1)) == 0 &&
                                            endswith(e->d_name, dot))
                                                return 1;
                        }
                        continue;
                }

                /* An alias: a symlink with another unit name pointing at this unit. */
                if (!streq(de->d_name, unit) && fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) >= 0 &&
                    S_ISLNK(st.st_mode)) {
                        char target[PATH_MAX];
                        ssize_t n = readlinkat(dirfd(d), de->d_name, target, sizeof(target) - 1);

                        if (n > 0) {
                                target[n] = '\0';
                                if (streq(path_last_component(target), unit) &&
                                    unit_name_is_valid(de->d_name, UNIT_NAME_ANY))
                                        return 1;
                        }
                }
        }
        return 0;
}

const char *host_os_release_path(const Host *host) {
        _cleanup_free_ char *p = host_path(host, "/etc/os-release");

        if (p && access(p, F_OK) >= 0)
                return "/etc/os-release";
        return "/usr/lib/os-release";
}
