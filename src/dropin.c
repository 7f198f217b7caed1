/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "dropin.h"
#include "escape.h"
#include "fd-util.h"
#include "fileio.h"
#include "image-name.h"
#include "path-util.h"
#include "strv.h"
#include "unit-match.h"

/* Unit file values undergo specifier expansion and whitespace/quote handling. '%' is escaped;
 * whitespace, quotes and backslashes cannot round-trip through every setting we write, so such
 * paths are refused rather than written wrongly. */
static int unit_value_escape(const char *s, char **ret) {
        char *out, *p;

        if (strpbrk(s, " \t\n\r\"'\\"))
                return -EINVAL;

        out = malloc(strlen(s) * 2 + 1);
        if (!out)
                return -ENOMEM;
        for (p = out; *s; s++) {
                if (*s == '%')
                        *p++ = '%';
                *p++ = *s;
        }
        *p = '\0';
        *ret = out;
        return 0;
}

int dropin_portable_content(const Image *image, const char *unit, const char *host_os_release, char **ret) {
        _cleanup_free_ char *marker_path = NULL, *path = NULL, *base = NULL;
        const char *setting;
        char *content;
        int r;

        marker_path = xescape(image->path, ":");
        if (!marker_path)
                return -ENOMEM;

        if (!streq_ptr(unit_name_type(unit), "service")) {
                if (asprintf(&content, DROPIN_MARKER_PREFIX "%s" DROPIN_MARKER_SUFFIX "\n", marker_path) < 0)
                        return -ENOMEM;
                *ret = content;
                return 0;
        }

        r = unit_value_escape(image->path, &path);
        if (r < 0)
                return r;
        r = unit_value_escape(path_last_component(image->path), &base);
        if (r < 0)
                return r;

        setting = image->type == IMAGE_DIRECTORY || image->type == IMAGE_SUBVOLUME ? "RootDirectory" : "RootImage";

        if (asprintf(&content,
                     DROPIN_MARKER_PREFIX "%s" DROPIN_MARKER_SUFFIX "\n"
                     "\n"
                     "[Service]\n"
                     "%s=%s\n"
                     "Environment=PORTABLE=%s\n"
                     "BindReadOnlyPaths=%s:/run/host/os-release\n"
                     "LogExtraFields=PORTABLE=%s\n",
                     marker_path, setting, path, base, host_os_release, base) < 0)
                return -ENOMEM;

        *ret = content;
        return 0;
}

int dropin_marker_parse(const char *line, char ***ret_paths) {
        _cleanup_strv_free_ char **paths = NULL;
        const char *begin, *end;
        size_t n;
        int r;

        n = strcspn(line, "\n");
        if (!startswith(line, DROPIN_MARKER_PREFIX))
                return -EBADMSG;
        begin = line + strlen(DROPIN_MARKER_PREFIX);
        if (n < strlen(DROPIN_MARKER_PREFIX) + strlen(DROPIN_MARKER_SUFFIX))
                return -EBADMSG;
        end = line + n - strlen(DROPIN_MARKER_SUFFIX);
        if (end < begin || strncmp(end, DROPIN_MARKER_SUFFIX, strlen(DROPIN_MARKER_SUFFIX)) != 0)
                return -EBADMSG;

        for (const char *p = begin; p <= end;) {
                const char *colon = memchr(p, ':', (size_t) (end - p));
                const char *stop = colon ?: end;
                char *token;

                r = cunescape(p, (size_t) (stop - p), &token);
                if (r < 0)
                        return -EBADMSG;
                r = strv_consume(&paths, token);
                if (r < 0)
                        return r;

                if (!colon)
                        break;
                p = colon + 1;
        }

        if (strv_length(paths) == 0 || isempty(paths[0]))
                return -EBADMSG;

        *ret_paths = TAKE_PTR(paths);
        return 0;
}

static bool keys_equal(const char *a, const char *b) {
        _cleanup_free_ char *ka = NULL, *kb = NULL;

        if (image_name_marker_key(a, &ka) < 0 || image_name_marker_key(b, &kb) < 0)
                return false;
        return streq(ka, kb);
}

bool dropin_marker_matches(char * const *marker_paths, const char *name_or_path, char * const *extensions,
                           MarkerMatchMode mode) {
        size_t n_marker = strv_length(marker_paths), n_request = 1 + strv_length(extensions);

        if (n_marker == 0)
                return false;

        if (mode == MARKER_MATCH_ALL) {
                /* A unit attached with extensions belongs to that combination only. */
                if (n_marker != n_request)
                        return false;
                for (size_t i = 0; i < n_marker; i++)
                        if (!keys_equal(marker_paths[i], i == 0 ? name_or_path : extensions[i - 1]))
                                return false;
                return true;
        }

        for (size_t i = 0; i < n_marker; i++) {
                size_t j = i % n_request;
                if (keys_equal(marker_paths[i], j == 0 ? name_or_path : extensions[j - 1]))
                        return true;
        }
        return false;
}

int dropin_read_marker(int attached_dir_fd, const char *unit, char ***ret_paths) {
        _cleanup_free_ char *path = NULL, *data = NULL;
        _cleanup_close_ int fd = -EBADF;
        int r;

        if (asprintf(&path, "%s.d/" DROPIN_PORTABLE_NAME, unit) < 0)
                return -ENOMEM;

        fd = openat(attached_dir_fd, path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
        if (fd < 0)
                return errno == ENOENT || errno == ENOTDIR || errno == ELOOP ? 0 : -errno;

        /* Escaping makes a marker up to four times as long as the paths it names. */
        r = read_full_fd(fd, DROPIN_MARKER_SIZE_MAX, &data, NULL);
        if (r == -EFBIG)
                return 0;
        if (r < 0)
                return r;
        data[strcspn(data, "\n")] = '\0';

        r = dropin_marker_parse(data, ret_paths);
        if (r == -EBADMSG)
                return 0;
        return r < 0 ? r : 1;
}
