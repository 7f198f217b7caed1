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
#include "marker-cache.h"
#include "image-copy.h"
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
        _cleanup_strv_free_ char **names = NULL, **dropin_only = NULL;
        _cleanup_closedir_ DIR *d = fd_opendir_dup(dir_fd);
        int r;

        if (!d)
                return -errno;
        r = attached_dir_list_units(d, &names, &dropin_only);
        if (r < 0)
                return r;
        r = strv_extend_strv(&names, dropin_only);
        if (r < 0)
                return r;
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
static int remove_image_link(Transaction *t, const Host *host, const char *image_path, PortableFlags flags,
                             sd_bus_error *reterr) {
        _cleanup_free_ char *dir = host_image_link_dir(host, flags & PORTABLE_RUNTIME), *link = NULL;
        char target[PATH_MAX];
        ssize_t n;

        if (!dir)
                return -ENOMEM;
        link = path_join(dir, path_last_component(image_path));
        if (!link)
                return -ENOMEM;

        /* A copy --copy=mixed made goes with the transaction, a tree too: it is moved aside in one
         * step and deleted after the commit point. */
        if (image_copy_is_ours(link, image_path)) {
                struct stat st;
                int r;

                if (lstat(link, &st) < 0 || !S_ISDIR(st.st_mode))
                        return remove_if_present(t, link);
                r = transaction_remove_tree(t, link);
                if (r == -EBUSY)
                        return portable_error(reterr, r, NULL,
                                              "The copy of image '%s' at %s has a file system mounted inside it, refusing "
                                              "to detach: unmount it first.", image_path, link);
                return r;
        }

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

/* Whether the unit with this marker is one to remove: exactly the image named, with exactly these
 * extensions (see attached-index.h), or, when reattaching, any version of each. */
static bool marker_selects(char **marker, const char *name_or_path, char * const *extensions, PortableFlags flags) {
        const AttachedUnit u = { .images = marker };

        if (flags & PORTABLE_REATTACH)
                return dropin_marker_matches(marker, name_or_path, extensions, MARKER_MATCH_ALL);
        /* A marker read here carries no resolved paths, so the query's resolved form could not
         * match anything: not worth a realpath() per unit. */
        return attached_unit_matches_canonical(&u, name_or_path, /* query_canonical= */ NULL, extensions);
}

/* A marker as one string, "base:ext1:ext2", to tell attachments apart in messages. */
static char *marker_join(char **marker) {
        return strv_join(marker, ":");
}

/* What was found while deciding: the units to remove, the stacks they were attached with, and
 * the images that units staying behind still use (their links stay). */
typedef struct DetachPlan {
        char **units;
        char **stacks;
        char **image_paths;
        char **still_used;
        char *other_stack; /* an attachment of the image with other extensions, for the message */
} DetachPlan;

static void detach_plan_done(DetachPlan *p) {
        strv_free(p->units);
        strv_free(p->stacks);
        strv_free(p->image_paths);
        strv_free(p->still_used);
        free(p->other_stack);
}

static int add_absolute_paths(char ***l, char **marker) {
        STRV_FOREACH(p, marker)
                if ((*p)[0] == '/') {
                        int r = strv_extend_unique(l, *p);
                        if (r < 0)
                                return r;
                }
        return 0;
}

/* The error when nothing matched. If the image is attached, but with other extensions (or none,
 * or some), say so: detaching the wrong combination must not look like "not attached at all". */
static int no_such_unit(const DetachPlan *p, const char *name_or_path, char * const *extensions,
                        sd_bus_error *reterr) {
        _cleanup_free_ char *list = strv_join((char **) extensions, ", "), *hint = NULL;

        if (!list)
                return -ENOMEM;
        if (p->other_stack && asprintf(&hint, " It is attached as '%s': give the same extensions, in the same order, to detach it.",
                                       p->other_stack) < 0)
                return -ENOMEM;

        if (strv_isempty((char **) extensions))
                return portable_error(reterr, ENOENT, SYSTEMD_ERROR_NO_SUCH_UNIT,
                                      "No unit files associated with '%s' found attached to the system. Image not attached?%s",
                                      name_or_path, strempty(hint));
        return portable_error(reterr, ENOENT, SYSTEMD_ERROR_NO_SUCH_UNIT,
                              "No unit files associated with '%s' or any of its extensions '%s' found attached to the system. Image not attached?%s",
                              name_or_path, list, strempty(hint));
}

int portable_detach_with_extensions_in(Transaction *t, const Host *host, const char *name_or_path,
                                       char * const *extensions, PortableFlags flags, sd_bus_error *reterr) {
        _cleanup_free_ char *attached_dir = host_attached_dir(host, flags & PORTABLE_RUNTIME);
        _cleanup_strv_free_ char **names = NULL;
        _cleanup_(detach_plan_done) DetachPlan plan = {};
        _cleanup_close_ int dir_fd = -EBADF;
        size_t n_conflicts = 0, n_unknown = 0;
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
                _cleanup_free_ char *stack = NULL;

                r = marker_cache_read(host->marker_cache, dir_fd, *unit, &marker);
                if (r < 0)
                        return portable_error(reterr, r, NULL, "Failed to read drop-in of unit '%s': %m", *unit);
                if (r == 0)
                        continue;

                stack = marker_join(marker);
                if (!stack)
                        return -ENOMEM;

                if (!marker_selects(marker, name_or_path, extensions, flags)) {
                        /* Someone else's: what it uses stays. */
                        r = add_absolute_paths(&plan.still_used, marker);
                        if (r < 0)
                                return r;
                        if (!plan.other_stack && attached_image_matches(marker[0], name_or_path))
                                plan.other_stack = TAKE_PTR(stack);
                        continue;
                }

                if (!(flags & (PORTABLE_FORCE_ATTACH | PORTABLE_REATTACH))) {
                        r = host_unit_is_active(host, *unit);
                        if (r == -EAGAIN) {
                                /* Not known yet: every such unit is asked about in one go. */
                                n_unknown++;
                                continue;
                        }
                        if (r < 0)
                                return portable_error(reterr, r, NULL, "Failed to check whether unit '%s' is active: %m", *unit);
                        if (r > 0 && !(flags & PORTABLE_DRY_RUN))
                                return portable_error(reterr, EBUSY, SYSTEMD_ERROR_UNIT_EXISTS,
                                                      "Unit file '%s' is active, can't detach.", *unit);
                        if (r > 0) {
                                /* A dry run lists every unit in the way. */
                                r = portable_changes_add(&t->changes, PORTABLE_CONFLICT, *unit, "active");
                                if (r < 0)
                                        return r;
                                n_conflicts++;
                        }
                }

                r = strv_extend(&plan.units, *unit);
                if (r >= 0)
                        r = strv_extend_unique(&plan.stacks, stack);
                if (r >= 0)
                        r = add_absolute_paths(&plan.image_paths, marker);
                if (r < 0)
                        return r;
        }

        if (n_unknown > 0)
                return -EAGAIN;
        if (strv_length(plan.units) == 0)
                return no_such_unit(&plan, name_or_path, extensions, reterr);
        if (n_conflicts > 0)
                return 0; /* a dry run: the conflicts are its answer */

        /* A bare name may stand for images in different places: detaching all of them is not
         * what anybody asked for. */
        if (!(flags & PORTABLE_REATTACH) && strv_length(plan.stacks) > 1) {
                _cleanup_free_ char *list = strv_join(plan.stacks, ", ");

                return portable_error(reterr, ENOTUNIQ, SD_BUS_ERROR_INVALID_ARGS,
                                      "Several images named '%s' are attached (%s): name the one to detach by its path.",
                                      name_or_path, strempty(list));
        }

        STRV_FOREACH(unit, plan.units) {
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

        /* The links of every image of the stack, unless an attachment that stays uses it too (two
         * applications stacked on one base image). */
        STRV_FOREACH(p, plan.image_paths) {
                if (strv_contains(plan.still_used, *p))
                        continue;
                r = remove_image_link(t, host, *p, flags, reterr);
                if (r < 0)
                        return sd_bus_error_is_set(reterr) ? r
                                                           : portable_error(reterr, r, NULL, "Failed to remove link to image '%s': %m", *p);
        }

        return transaction_remove_dir_if_empty(t, attached_dir);
}

int portable_detach_in(Transaction *t, const Host *host, const char *name_or_path, PortableFlags flags,
                       sd_bus_error *reterr) {
        return portable_detach_with_extensions_in(t, host, name_or_path, /* extensions= */ NULL, flags, reterr);
}

int portable_detach_with_extensions(const Host *host, const char *name_or_path, char * const *extensions,
                                    PortableFlags flags, PortableChanges *ret_changes, sd_bus_error *reterr) {
        _cleanup_(transaction_done) Transaction t = {};
        int r;

        r = portable_transaction_init(&t, host, flags, "detach", name_or_path);
        if (r < 0)
                return r;
        r = portable_detach_with_extensions_in(&t, host, name_or_path, extensions, flags, reterr);
        return portable_transaction_finish(&t, r, flags, ret_changes, reterr);
}

int portable_detach(const Host *host, const char *name_or_path, PortableFlags flags, PortableChanges *ret_changes,
                    sd_bus_error *reterr) {
        return portable_detach_with_extensions(host, name_or_path, /* extensions= */ NULL, flags, ret_changes, reterr);
}
