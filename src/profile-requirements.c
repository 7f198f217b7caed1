/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "path-util.h"
#include "profile-requirements.h"
#include "strv.h"

static bool parse_boolean_yes(const char *v) {
        return strcasecmp(v, "yes") == 0 || strcasecmp(v, "true") == 0 || strcasecmp(v, "on") == 0 ||
                streq(v, "1");
}

static int add_requirement(char ***pairs, const char *path, const char *key, const char *value) {
        _cleanup_free_ char *setting = NULL;
        int r;

        for (size_t i = 0; *pairs && (*pairs)[i]; i += 2)
                if (streq((*pairs)[i], path))
                        return 0;

        if (asprintf(&setting, "%s=%s", key, value) < 0)
                return -ENOMEM;
        r = strv_extend(pairs, path);
        if (r < 0)
                return r;
        return strv_consume(pairs, TAKE_PTR(setting));
}

/* "[-][+]SRC[:DST[:OPTIONS]]": the destination inside the image. */
static int bind_destination(const char *entry, char **ret) {
        const char *src = entry + strspn(entry, "-+");
        const char *colon = strchr(src, ':');
        const char *dst = colon ? colon + 1 : src;
        size_t n = strcspn(dst, ":");

        if (n == 0 || dst[0] != '/')
                return -EINVAL;
        *ret = strndup(dst, n);
        return *ret ? 0 : -ENOMEM;
}

static bool below_any(const char *path, char * const *dirs) {
        STRV_FOREACH(d, (char **) dirs) {
                size_t n = strlen(*d);
                if (strncmp(path, *d, n) == 0 && path[n] == '/')
                        return true;
        }
        return false;
}

static int handle_setting(const char *key, const char *value, char ***pairs, char ***binds, bool *api_vfs,
                          bool *private_tmp) {
        int r;

        if (streq(key, "MountAPIVFS") && parse_boolean_yes(value)) {
                static const char *const dirs[] = { "/proc", "/sys", "/dev", "/run" };

                *api_vfs = true;
                for (size_t i = 0; i < ELEMENTSOF(dirs); i++) {
                        r = add_requirement(pairs, dirs[i], key, value);
                        if (r < 0)
                                return r;
                }
                return 0;
        }

        if ((streq(key, "PrivateTmp") || streq(key, "DynamicUser")) && parse_boolean_yes(value)) {
                *private_tmp = true;
                r = add_requirement(pairs, "/tmp", key, value);
                if (r < 0)
                        return r;
                return add_requirement(pairs, "/var/tmp", key, value);
        }

        if (streq(key, "BindPaths") || streq(key, "BindReadOnlyPaths")) {
                _cleanup_strv_free_ char **entries = NULL;

                r = strv_split(value, " \t", &entries);
                if (r < 0)
                        return r;
                STRV_FOREACH(e, entries) {
                        _cleanup_free_ char *dst = NULL, *setting = NULL;

                        if (bind_destination(*e, &dst) < 0)
                                continue;
                        if (asprintf(&setting, "%s=%s", key, *e) < 0)
                                return -ENOMEM;
                        r = strv_extend(binds, dst);
                        if (r >= 0)
                                r = strv_consume(binds, TAKE_PTR(setting));
                        if (r < 0)
                                return r;
                }
        }
        return 0;
}

int profile_requirements_parse(const char *data, size_t size, char ***ret_pairs) {
        _cleanup_strv_free_ char **pairs = NULL, **binds = NULL;
        _cleanup_free_ char *joined = NULL;
        bool in_service = false, api_vfs = false, private_tmp = false;
        char *p, *line, *save = NULL;
        int r;

        /* Join continuation lines first: "A \<newline>B" is one logical line. */
        joined = malloc(size + 1);
        if (!joined)
                return -ENOMEM;
        p = joined;
        for (size_t i = 0; i < size; i++) {
                if (data[i] == '\\' && i + 1 < size && data[i + 1] == '\n') {
                        *p++ = ' ';
                        i++;
                        continue;
                }
                *p++ = data[i];
        }
        *p = '\0';

        for (line = strtok_r(joined, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
                char *eq, *key, *value;

                line += strspn(line, " \t");
                if (line[0] == '#' || line[0] == ';' || line[0] == '\0')
                        continue;
                if (line[0] == '[') {
                        in_service = startswith(line, "[Service]");
                        continue;
                }
                if (!in_service)
                        continue;

                eq = strchr(line, '=');
                if (!eq)
                        continue;
                *eq = '\0';
                key = line;
                for (char *k = eq; k > key && (k[-1] == ' ' || k[-1] == '\t'); k--)
                        k[-1] = '\0';
                value = eq + 1 + strspn(eq + 1, " \t");

                r = handle_setting(key, value, &pairs, &binds, &api_vfs, &private_tmp);
                if (r < 0)
                        return r;
        }

        /* Bind destinations that land on a tmpfs the service manager sets up are created there
         * on the fly; everything else must exist in the image. */
        char *api[] = { (char *) "/dev", (char *) "/run", (char *) "/proc", (char *) "/sys", NULL };
        char *tmp[] = { (char *) "/tmp", (char *) "/var/tmp", NULL };
        for (size_t i = 0; binds && binds[i]; i += 2) {
                if (api_vfs && below_any(binds[i], api))
                        continue;
                if (private_tmp && below_any(binds[i], tmp))
                        continue;

                const char *eq = strchr(binds[i + 1], '=');
                _cleanup_free_ char *k = strndup(binds[i + 1], (size_t) (eq - binds[i + 1]));
                if (!k)
                        return -ENOMEM;
                r = add_requirement(&pairs, binds[i], k, eq + 1);
                if (r < 0)
                        return r;
        }

        r = strv_ensure(&pairs);
        if (r < 0)
                return r;
        *ret_pairs = TAKE_PTR(pairs);
        return 0;
}
