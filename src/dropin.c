/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "dropin.h"
#include "escape.h"
#include "fd-util.h"
#include "fileio.h"
#include "image-name.h"
#include "os-release.h"
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

/* Appends a formatted string to *s (which may be NULL). */
_printf_(2, 3)
static int append(char **s, const char *format, ...) {
        _cleanup_free_ char *piece = NULL;
        size_t old = *s ? strlen(*s) : 0, n;
        va_list ap;
        char *grown;
        int r;

        va_start(ap, format);
        r = vasprintf(&piece, format, ap);
        va_end(ap);
        if (r < 0)
                return -ENOMEM;

        n = strlen(piece);
        grown = realloc(*s, old + n + 1);
        if (!grown)
                return -ENOMEM;
        memcpy(grown + old, piece, n + 1);
        *s = grown;
        return 0;
}

static bool image_is_directory(const Image *image) {
        return image->type == IMAGE_DIRECTORY || image->type == IMAGE_SUBVOLUME;
}

static int marker_line(const DropinStack *stack, char **ret) {
        _cleanup_free_ char *line = NULL, *root = NULL;
        int r;

        root = xescape(stack->root.image->path, ":");
        if (!root)
                return -ENOMEM;
        r = append(&line, DROPIN_MARKER_PREFIX "%s", root);
        if (r < 0)
                return r;

        for (size_t i = 0; i < stack->n_extensions; i++) {
                _cleanup_free_ char *e = xescape(stack->extensions[i].image->path, ":");

                if (!e)
                        return -ENOMEM;
                r = append(&line, ":%s", e);
                if (r < 0)
                        return r;
        }

        r = append(&line, DROPIN_MARKER_SUFFIX "\n");
        if (r < 0)
                return r;
        *ret = TAKE_PTR(line);
        return 0;
}

/* The id/version keys of the ..._NAME_AND_VERSION journal fields, most specific first. */
static const char *const nv_root_ids[] = { "IMAGE_ID", "ID", NULL };
static const char *const nv_root_versions[] = { "IMAGE_VERSION", "VERSION_ID", "BUILD_ID", NULL };
static const char *const nv_sysext_ids[] = { "SYSEXT_IMAGE_ID", "SYSEXT_ID", NULL };
static const char *const nv_sysext_versions[] = { "SYSEXT_IMAGE_VERSION", "SYSEXT_VERSION_ID", "SYSEXT_BUILD_ID", NULL };
static const char *const nv_confext_ids[] = { "CONFEXT_IMAGE_ID", "CONFEXT_ID", NULL };
static const char *const nv_confext_versions[] = { "CONFEXT_IMAGE_VERSION", "CONFEXT_VERSION_ID", "CONFEXT_BUILD_ID", NULL };

/* The first of keys that is set, escaped for a unit file; NULL if none is set or the value cannot
 * be written safely (release files come from the image: a newline here would add settings). */
static int first_safe_value(char * const *pairs, const char *const *keys, char **ret) {
        for (const char *const *k = keys; *k; k++) {
                const char *v = os_release_pairs_get(pairs, *k);

                int r;

                if (isempty(v))
                        continue;
                if (!string_is_clean_utf8(v))
                        break;
                r = unit_value_escape(v, ret);
                if (r == -EINVAL)
                        break;
                return r;
        }
        *ret = NULL;
        return 0;
}

static int append_name_and_version(char **text, char * const *pairs, const char *const *ids,
                                   const char *const *versions, const char *field) {
        _cleanup_free_ char *id = NULL, *version = NULL;
        int r;

        if (!pairs)
                return 0;
        r = first_safe_value(pairs, ids, &id);
        if (r < 0)
                return r;
        r = first_safe_value(pairs, versions, &version);
        if (r < 0)
                return r;
        if (!id && !version)
                return 0;

        return append(text, "LogExtraFields=%s=%s%s%s\n", field, strempty(id), id && version ? "_" : "",
                      strempty(version));
}

static int append_extension(char **text, const DropinStack *stack, const DropinLayer *ext) {
        _cleanup_free_ char *path = NULL, *base = NULL;
        bool directory = image_is_directory(ext->image);
        int r;

        /* ExtensionImages= separates mount options with ':'; both settings want absolute paths. */
        if (ext->image->path[0] != '/' || (!directory && strchr(ext->image->path, ':')))
                return -EINVAL;
        r = unit_value_escape(ext->image->path, &path);
        if (r < 0)
                return r;
        r = unit_value_escape(path_last_component(ext->image->path), &base);
        if (r < 0)
                return r;

        r = append(text, "\n%s=%s%s\nLogExtraFields=PORTABLE_EXTENSION=%s\n",
                   directory ? "ExtensionDirectories" : "ExtensionImages", path,
                   !directory && (stack->force_extension || ext->relax_release_check) ?
                   ":x-systemd.relax-extension-release-check" : "",
                   base);
        if (r < 0)
                return r;

        if (!directory && stack->extension_image_policy) {
                _cleanup_free_ char *policy = NULL;

                r = unit_value_escape(stack->extension_image_policy, &policy);
                if (r >= 0)
                        r = append(text, "ExtensionImagePolicy=%s\n", policy);
                if (r < 0)
                        return r;
        }

        r = append_name_and_version(text, ext->release, nv_sysext_ids, nv_sysext_versions,
                                    "PORTABLE_EXTENSION_NAME_AND_VERSION");
        if (r < 0)
                return r;
        return append_name_and_version(text, ext->release, nv_confext_ids, nv_confext_versions,
                                       "PORTABLE_EXTENSION_NAME_AND_VERSION");
}

int dropin_portable_content_stack(const DropinStack *stack, const char *unit, size_t origin, char **ret) {
        _cleanup_free_ char *text = NULL, *path = NULL, *base = NULL, *root_base = NULL;
        const Image *root = stack->root.image;
        int r;

        if (origin > stack->n_extensions)
                return -EINVAL;

        r = marker_line(stack, &text);
        if (r < 0)
                return r;

        if (!streq_ptr(unit_name_type(unit), "service")) {
                *ret = TAKE_PTR(text);
                return 0;
        }

        r = unit_value_escape(root->path, &path);
        if (r < 0)
                return r;
        r = unit_value_escape(path_last_component(root->path), &root_base);
        if (r < 0)
                return r;
        r = unit_value_escape(path_last_component(origin == 0 ? root->path : stack->extensions[origin - 1].image->path),
                              &base);
        if (r < 0)
                return r;

        r = append(&text,
                   "\n"
                   "[Service]\n"
                   "%s=%s\n"
                   "Environment=PORTABLE=%s\n"
                   "BindReadOnlyPaths=%s:/run/host/os-release\n"
                   "LogExtraFields=PORTABLE=%s\n",
                   image_is_directory(root) ? "RootDirectory" : "RootImage", path,
                   base, stack->host_os_release, base);
        if (r < 0)
                return r;

        if (!image_is_directory(root) && stack->root.image_policy) {
                _cleanup_free_ char *policy = NULL;

                r = unit_value_escape(stack->root.image_policy, &policy);
                if (r >= 0)
                        r = append(&text, "RootImagePolicy=%s\n", policy);
                if (r < 0)
                        return r;
        }

        if (stack->n_extensions == 0) {
                r = append_name_and_version(&text, stack->root.release, nv_root_ids, nv_root_versions,
                                            "PORTABLE_NAME_AND_VERSION");
                if (r < 0)
                        return r;
        }

        r = append(&text, "Environment=PORTABLE_ROOT=%s\nLogExtraFields=PORTABLE_ROOT=%s\n", root_base, root_base);
        if (r < 0)
                return r;
        r = append_name_and_version(&text, stack->root.release, nv_root_ids, nv_root_versions,
                                    "PORTABLE_ROOT_NAME_AND_VERSION");
        if (r < 0)
                return r;

        for (size_t i = 0; i < stack->n_extensions; i++) {
                r = append_extension(&text, stack, &stack->extensions[i]);
                if (r < 0)
                        return r;
        }

        *ret = TAKE_PTR(text);
        return 0;
}

int dropin_portable_content(const Image *image, const char *unit, const char *host_os_release, const char *image_policy,
                            char **ret) {
        const DropinStack stack = {
                .root = { .image = image, .image_policy = image_policy },
                .host_os_release = host_os_release,
        };

        return dropin_portable_content_stack(&stack, unit, /* origin= */ 0, ret);
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
