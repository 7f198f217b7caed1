/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <string.h>

#include "image-name.h"
#include "macro.h"
#include "path-util.h"

bool image_name_is_valid(const char *name) {
        return filename_is_valid(name) && !startswith(name, ".#");
}

static bool prefix_charset_ok(const char *s) {
        return s[strspn(s, "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.-")] == '\0';
}

int image_name_default_prefix(const char *image, char **ret) {
        _cleanup_free_ char *prefix = NULL;
        const char *last = path_last_component(image);
        size_t n;

        n = strcspn(last, "/");
        prefix = strndup(last, n);
        if (!prefix)
                return -ENOMEM;

        /* A versioned directory "foo.raw.v" or "foo.v" stands for the images "foo_<version>...". */
        if (endswith(prefix, ".v"))
                prefix[strlen(prefix) - 2] = '\0';

        char *underscore = strchr(prefix, '_');
        if (underscore)
                *underscore = '\0';
        else if (endswith(prefix, ".raw"))
                prefix[strlen(prefix) - 4] = '\0';

        if (!filename_is_valid(prefix) || !prefix_charset_ok(prefix))
                return -EINVAL;

        *ret = TAKE_PTR(prefix);
        return 0;
}

int image_name_marker_key(const char *name_or_path, char **ret) {
        _cleanup_free_ char *key = NULL;
        const char *last = path_last_component(name_or_path);
        bool trailing_slash;
        size_t n;

        n = strcspn(last, "/");
        trailing_slash = last[n] == '/';
        key = strndup(last, n);
        if (!key)
                return -ENOMEM;

        /* A versioned directory names the images inside it, whatever their version. */
        if (endswith(key, ".v")) {
                key[strlen(key) - 2] = '\0';
                trailing_slash = false;
        }

        if (!trailing_slash) {
                static const char *const suffixes[] = { ".sysext.raw", ".confext.raw", ".raw" };

                for (size_t i = 0; i < ELEMENTSOF(suffixes); i++)
                        if (endswith(key, suffixes[i])) {
                                key[strlen(key) - strlen(suffixes[i])] = '\0';
                                break;
                        }
        }

        key[strcspn(key, "_+")] = '\0';

        if (!image_name_is_valid(key))
                return -EINVAL;

        *ret = TAKE_PTR(key);
        return 0;
}
