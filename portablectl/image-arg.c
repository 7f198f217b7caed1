/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "image-arg.h"
#include "image-name.h"
#include "log.h"
#include "path-util.h"
#include "portablectl.h"
#include "strv.h"

static char *make_absolute(const char *p) {
        _cleanup_free_ char *cwd = NULL;

        if (p[0] == '/')
                return strdup(p);

        cwd = getcwd(NULL, 0);
        if (!cwd)
                return NULL;
        return path_join(cwd, p);
}

/* Appends the components of tail to the resolved base lexically: they do not exist, so there is
 * nothing to resolve, but "." and ".." still have to go for the daemon's normalization check. */
static int append_lexically(char **base, const char *tail) {
        _cleanup_strv_free_ char **parts = NULL;
        int r;

        r = strv_split(tail, "/", &parts);
        if (r < 0)
                return r;

        STRV_FOREACH(part, parts) {
                if (streq(*part, "."))
                        continue;
                if (streq(*part, "..")) {
                        char *slash = strrchr(*base, '/');

                        if (slash == *base)
                                slash[1] = '\0';
                        else if (slash)
                                *slash = '\0';
                        continue;
                }

                char *joined = path_join(*base, *part);
                if (!joined)
                        return -ENOMEM;
                free_and_replace(*base, joined);
        }

        return 0;
}

/* realpath() on the longest existing prefix of an absolute path, the rest appended lexically.
 * Only a missing component is tolerated; every other failure (ENOTDIR, EACCES, ELOOP) is real. */
static int resolve_path_allow_missing(const char *abs, char **ret) {
        _cleanup_free_ char *head = strdup(abs);
        char *resolved;
        int r;

        if (!head)
                return -ENOMEM;

        for (;;) {
                resolved = realpath(head, NULL);
                if (resolved)
                        break;
                if (errno != ENOENT)
                        return negative_errno();

                char *slash = strrchr(head, '/');
                if (!slash || slash == head) {
                        /* Only "/" is left, which always exists: keep going from there. */
                        head[1] = '\0';
                        continue;
                }
                *slash = '\0';
        }

        _cleanup_free_ char *result = resolved;
        r = append_lexically(&result, abs + strlen(head));
        if (r < 0)
                return r;

        *ret = TAKE_PTR(result);
        return 0;
}

int image_arg_resolve(const char *arg, bool allow_missing, char **ret) {
        _cleanup_free_ char *abs = NULL, *resolved = NULL;
        int r;

        if (image_name_is_valid(arg)) {
                struct stat st;

                if (!arg_quiet && !arg_transport_remote && fstatat(AT_FDCWD, arg, &st, AT_SYMLINK_NOFOLLOW) == 0)
                        log_warning("Ambiguous invocation: current working directory contains file matching "
                                    "non-path argument '%s', ignoring. Prefix argument with './' to force "
                                    "reference to file in current working directory.", arg);

                *ret = strdup(arg);
                return *ret ? 0 : log_oom();
        }

        /* A path of this machine means nothing to another one's daemon. */
        if (arg_transport_remote)
                return log_error_errno(-EOPNOTSUPP,
                                       "Operations on images by path not supported when connecting to remote systems.");

        abs = make_absolute(arg);
        if (!abs)
                return log_error_errno(negative_errno(), "Cannot normalize specified image path '%s': %m", arg);

        if (allow_missing)
                r = resolve_path_allow_missing(abs, &resolved);
        else {
                resolved = realpath(abs, NULL);
                r = resolved ? 0 : negative_errno();
        }
        if (r < 0)
                return log_error_errno(r, "Cannot normalize specified image path '%s': %m", arg);

        *ret = TAKE_PTR(resolved);
        return 0;
}

int image_arg_matches(const char *image_arg, char *const *prefixes, bool allow_all, char ***ret) {
        _cleanup_strv_free_ char **matches = NULL;
        int r;

        if (strv_length(prefixes) == 0) {
                _cleanup_free_ char *prefix = NULL;

                r = image_name_default_prefix(image_arg, &prefix);
                if (r < 0)
                        return log_error_errno(r, "Failed to extract prefix of image name '%s': %m", image_arg);

                if (!arg_quiet)
                        log_info("(Matching unit files with prefix '%s'.)", prefix);

                r = strv_consume(&matches, TAKE_PTR(prefix));
                if (r < 0)
                        return log_oom();

        } else if (strv_length(prefixes) == 1 && streq(prefixes[0], "-")) {
                if (!allow_all)
                        return log_error_errno(-EINVAL, "Refusing all unit file match.");

                if (!arg_quiet)
                        log_info("(Matching all unit files.)");

                /* An empty list asks the daemon for every portable unit. */
                matches = calloc(1, sizeof(char *));
                if (!matches)
                        return log_oom();

        } else {
                _cleanup_free_ char *joined = NULL;

                matches = strv_copy(prefixes);
                if (!matches)
                        return log_oom();

                joined = strv_join(matches, "', '");
                if (!joined)
                        return log_oom();
                if (!arg_quiet)
                        log_info("(Matching unit files with prefixes '%s'.)", joined);
        }

        *ret = TAKE_PTR(matches);
        return 0;
}

int image_arg_resolve_extensions(bool allow_missing, char ***ret) {
        _cleanup_strv_free_ char **resolved = NULL;
        int r;

        STRV_FOREACH(e, arg_extensions) {
                char *p;

                r = image_arg_resolve(*e, allow_missing, &p);
                if (r < 0)
                        return r;
                if (strv_consume(&resolved, p) < 0)
                        return log_oom();
        }

        *ret = TAKE_PTR(resolved);
        return 0;
}

int image_args_to_read(char *const *argv, char **ret_image, char ***ret_extensions, char ***ret_matches) {
        int r;

        r = image_arg_resolve(argv[1], /* allow_missing= */ false, ret_image);
        if (r < 0)
                return r;
        r = image_arg_resolve_extensions(/* allow_missing= */ false, ret_extensions);
        if (r < 0)
                return r;
        return image_arg_matches(argv[1], argv + 2, /* allow_all= */ true, ret_matches);
}
