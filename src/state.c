/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>

#include "dropin.h"
#include "fd-util.h"
#include "portable.h"
#include "strv.h"
#include "unit-match.h"

typedef struct ScanResult {
        bool attached, enabled, running;
} ScanResult;

static int unit_is_enabled(const Host *host, const char *attached_dir, const char *unit) {
        static const char *const config_dirs[] = { "/etc/systemd/system", "/run/systemd/system", NULL };
        int r;

        /* Portable enablement links live inside the attached tree; an admin may also have
         * enabled the unit in the ordinary config directories. */
        r = host_unit_is_enabled_in(attached_dir, unit);
        if (r != 0)
                return r;

        for (const char *const *d = config_dirs; *d; d++) {
                _cleanup_free_ char *dir = host_path(host, *d);

                if (!dir)
                        return -ENOMEM;
                r = host_unit_is_enabled_in(dir, unit);
                if (r != 0)
                        return r;
        }
        return 0;
}

static int scan_attached_dir(const Host *host, bool runtime, const char *name_or_path, ScanResult *ret) {
        _cleanup_free_ char *dir = host_attached_dir(host, runtime);
        _cleanup_closedir_ DIR *d = NULL;
        struct dirent *de;
        int r;

        *ret = (ScanResult) {};
        if (!dir)
                return -ENOMEM;

        d = opendir(dir);
        if (!d)
                return errno == ENOENT ? 0 : -errno;

        while ((de = readdir(d))) {
                _cleanup_strv_free_ char **marker = NULL;
                struct stat st;

                if (!unit_name_is_valid(de->d_name, UNIT_NAME_ANY))
                        continue;
                if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 ||
                    !(S_ISREG(st.st_mode) || S_ISLNK(st.st_mode)))
                        continue;

                r = dropin_read_marker(dirfd(d), de->d_name, &marker);
                if (r < 0)
                        return r;
                if (r == 0 || !dropin_marker_matches(marker, name_or_path, NULL, MARKER_MATCH_ANY))
                        continue;

                ret->attached = true;

                r = unit_is_enabled(host, dir, de->d_name);
                if (r < 0)
                        return r;
                if (r > 0)
                        ret->enabled = true;

                r = host_unit_is_active(host, de->d_name);
                if (r < 0)
                        return r;
                if (r > 0)
                        ret->running = true;
        }
        return 0;
}

int portable_get_state(const Host *host, const char *name_or_path, PortableState *ret) {
        for (int runtime = 0; runtime <= 1; runtime++) {
                ScanResult s;
                int r;

                r = scan_attached_dir(host, runtime, name_or_path, &s);
                if (r < 0)
                        return r;
                if (!s.attached)
                        continue;

                if (s.running)
                        *ret = runtime ? PORTABLE_RUNNING_RUNTIME : PORTABLE_RUNNING;
                else if (s.enabled)
                        *ret = runtime ? PORTABLE_ENABLED_RUNTIME : PORTABLE_ENABLED;
                else
                        *ret = runtime ? PORTABLE_ATTACHED_RUNTIME : PORTABLE_ATTACHED;
                return 0;
        }

        *ret = PORTABLE_DETACHED;
        return 0;
}
