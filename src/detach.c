/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "attached-index.h"
#include "dropin.h"
#include "fd-util.h"
#include "path-util.h"
#include "portable-bus.h"
#include "portable-error.h"
#include "portable.h"
#include "strv.h"
#include "unit-match.h"

/* Unit names present in an attached directory, from unit files and from drop-in directories
 * alike: a unit file may be gone (disabled symlink) while its drop-ins remain, and those must be
 * cleaned up too. Sorted, so that the change list is stable. */
static int attached_unit_names(int dir_fd, char ***ret) {
        _cleanup_strv_free_ char **names = NULL;
        _cleanup_closedir_ DIR *d = fd_opendir_dup(dir_fd);
        struct dirent *de;
        int r;

        if (!d)
                return -errno;

        while ((de = readdir(d))) {
                _cleanup_free_ char *name = NULL;
                struct stat st;

                if (de->d_name[0] == '.')
                        continue;
                if (fstatat(dir_fd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
                        continue;

                if (S_ISDIR(st.st_mode) && endswith(de->d_name, ".d"))
                        name = strndup(de->d_name, strlen(de->d_name) - 2);
                else if (S_ISREG(st.st_mode) || S_ISLNK(st.st_mode))
                        name = strdup(de->d_name);
                else
                        continue;
                if (!name)
                        return -ENOMEM;
                if (!unit_name_is_valid(name, UNIT_NAME_ANY))
                        continue;

                r = strv_extend_unique(&names, name);
                if (r < 0)
                        return r;
        }

        strv_sort(names);
        *ret = TAKE_PTR(names);
        return 0;
}

static int remove_if_present(Transaction *t, const char *path) {
        int r = transaction_remove(t, path);
        return r == -ENOENT ? 0 : r;
}

/* Removes /etc|/run/portables/<basename> only if it is the symlink attach would have made:
 * pointing at exactly this image. Anything else there belongs to someone else. (Ours carry a
 * mark, but systemd's portabled makes the same links without one, and detaching what it attached
 * must work too.) */
static int remove_image_link(Transaction *t, const Host *host, const char *image_path, PortableFlags flags) {
        _cleanup_free_ char *dir = host_image_link_dir(host, flags & PORTABLE_RUNTIME), *link = NULL;
        char target[PATH_MAX];
        ssize_t n;

        if (!dir)
                return -ENOMEM;
        link = path_join(dir, path_last_component(image_path));
        if (!link)
                return -ENOMEM;

        n = readlink(link, target, sizeof(target) - 1);
        if (n < 0)
                return 0;
        target[n] = '\0';
        if (!streq(target, image_path))
                return 0;

        /* The directory stays: it is part of the image search path, and may well have been
         * there before attach. */
        return remove_if_present(t, link);
}

/* Whether the unit with this marker is one to remove: exactly the image named (see
 * attached-index.h), or, when reattaching, any version of it. */
static bool marker_selects(char **marker, const char *name_or_path, PortableFlags flags) {
        const AttachedUnit u = { .images = marker };

        if (flags & PORTABLE_REATTACH)
                return dropin_marker_matches(marker, name_or_path, NULL, MARKER_MATCH_ALL);
        return attached_unit_matches(&u, name_or_path, /* extensions= */ NULL);
}

int portable_detach_in(Transaction *t, const Host *host, const char *name_or_path, PortableFlags flags,
                       sd_bus_error *reterr) {
        _cleanup_free_ char *attached_dir = host_attached_dir(host, flags & PORTABLE_RUNTIME);
        _cleanup_strv_free_ char **names = NULL, **matched = NULL, **image_paths = NULL;
        _cleanup_close_ int dir_fd = -EBADF;
        int r;

        if (!attached_dir)
                return -ENOMEM;

        dir_fd = open(attached_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dir_fd < 0 && errno != ENOENT)
                return portable_error(reterr, errno, NULL, "Failed to open %s: %m", attached_dir);

        if (dir_fd >= 0) {
                r = attached_unit_names(dir_fd, &names);
                if (r < 0)
                        return portable_error(reterr, r, NULL, "Failed to enumerate %s: %m", attached_dir);
        }

        /* First decide everything: which units are ours, and whether any of them is running. */
        STRV_FOREACH(unit, names) {
                _cleanup_strv_free_ char **marker = NULL;

                r = dropin_read_marker(dir_fd, *unit, &marker);
                if (r < 0)
                        return portable_error(reterr, r, NULL, "Failed to read drop-in of unit '%s': %m", *unit);
                if (r == 0 || !marker_selects(marker, name_or_path, flags))
                        continue;

                if (!(flags & (PORTABLE_FORCE_ATTACH | PORTABLE_REATTACH))) {
                        r = host_unit_is_active(host, *unit);
                        if (r < 0)
                                return portable_error(reterr, r, NULL, "Failed to check whether unit '%s' is active: %m", *unit);
                        if (r > 0)
                                return portable_error(reterr, EBUSY, SYSTEMD_ERROR_UNIT_EXISTS,
                                                      "Unit file '%s' is active, can't detach.", *unit);
                }

                r = strv_extend(&matched, *unit);
                if (r >= 0 && marker[0][0] == '/')
                        r = strv_extend_unique(&image_paths, marker[0]);
                if (r < 0)
                        return r;
        }

        if (strv_length(matched) == 0)
                return portable_error(reterr, ENOENT, SYSTEMD_ERROR_NO_SUCH_UNIT,
                                      "No unit files associated with '%s' found attached to the system. Image not attached?",
                                      name_or_path);

        /* A bare name may stand for images in different places: detaching all of them is not
         * what anybody asked for. */
        if (!(flags & PORTABLE_REATTACH) && strv_length(image_paths) > 1) {
                _cleanup_free_ char *list = strv_join(image_paths, ", ");

                return portable_error(reterr, ENOTUNIQ, SD_BUS_ERROR_INVALID_ARGS,
                                      "Several images named '%s' are attached (%s): name the one to detach by its path.",
                                      name_or_path, strempty(list));
        }

        STRV_FOREACH(unit, matched) {
                _cleanup_free_ char *unit_path = path_join(attached_dir, *unit), *dropin_dir = NULL,
                                    *profile = NULL, *portable = NULL;

                if (asprintf(&dropin_dir, "%s.d", unit_path ?: "") < 0 || !unit_path)
                        return -ENOMEM;
                profile = path_join(dropin_dir, DROPIN_PROFILE_NAME);
                portable = path_join(dropin_dir, DROPIN_PORTABLE_NAME);
                if (!profile || !portable)
                        return -ENOMEM;

                r = remove_if_present(t, unit_path);
                if (r >= 0)
                        r = remove_if_present(t, profile);
                if (r >= 0)
                        r = remove_if_present(t, portable);
                if (r >= 0)
                        r = transaction_remove_dir_if_empty(t, dropin_dir);
                if (r < 0)
                        return portable_error(reterr, r, NULL, "Failed to detach unit '%s': %m", *unit);
        }

        STRV_FOREACH(p, image_paths) {
                r = remove_image_link(t, host, *p, flags);
                if (r < 0)
                        return portable_error(reterr, r, NULL, "Failed to remove link to image '%s': %m", *p);
        }

        return transaction_remove_dir_if_empty(t, attached_dir);
}

int portable_detach(const Host *host, const char *name_or_path, PortableFlags flags, PortableChanges *ret_changes,
                    sd_bus_error *reterr) {
        _cleanup_(transaction_done) Transaction t = {};
        int r;

        r = portable_transaction_init(&t, host, flags, "detach", name_or_path);
        if (r < 0)
                return r;
        r = portable_detach_in(&t, host, name_or_path, flags, reterr);
        return transaction_finish(&t, r, ret_changes, reterr);
}
