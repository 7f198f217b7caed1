/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdint.h>
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

/* The settings that matter, as unit file semantics leave them at the end of the file: the last
 * assignment of a boolean wins, an empty assignment empties a list. */
typedef struct ProfileSettings {
        int api_vfs, private_tmp, dynamic_user; /* -1 unset, else the boolean */
        unsigned api_vfs_seen, private_tmp_seen, dynamic_user_seen; /* order of first assignment */
        char *api_vfs_text, *private_tmp_text, *dynamic_user_text;   /* the value as written */
        char **binds;                           /* (destination, "Key=entry") pairs, file order */
} ProfileSettings;

static void profile_settings_done(ProfileSettings *s) {
        s->binds = strv_free(s->binds);
        s->api_vfs_text = mfree(s->api_vfs_text);
        s->private_tmp_text = mfree(s->private_tmp_text);
        s->dynamic_user_text = mfree(s->dynamic_user_text);
}

static int remove_binds_of(char ***binds, const char *key) {
        size_t n = strlen(key), j = 0;
        char **l = *binds;

        for (size_t i = 0; l && l[i]; i += 2) {
                if (strncmp(l[i + 1], key, n) == 0 && l[i + 1][n] == '=') {
                        free(l[i]);
                        free(l[i + 1]);
                        continue;
                }
                l[j++] = l[i];
                l[j++] = l[i + 1];
        }
        if (l)
                l[j] = NULL;
        return 0;
}

static int set_boolean(int *value, unsigned *seen, char **text, unsigned counter, const char *v) {
        char *copy = strdup(v);

        if (!copy)
                return -ENOMEM;
        free(*text);
        *text = copy;
        *value = parse_boolean_yes(v);
        if (*seen == 0)
                *seen = counter;
        return 0;
}

static int handle_setting(ProfileSettings *s, unsigned counter, const char *key, const char *value) {
        _cleanup_strv_free_ char **entries = NULL;
        int r;

        if (streq(key, "MountAPIVFS"))
                return set_boolean(&s->api_vfs, &s->api_vfs_seen, &s->api_vfs_text, counter, value);
        if (streq(key, "PrivateTmp"))
                return set_boolean(&s->private_tmp, &s->private_tmp_seen, &s->private_tmp_text, counter, value);
        if (streq(key, "DynamicUser"))
                return set_boolean(&s->dynamic_user, &s->dynamic_user_seen, &s->dynamic_user_text, counter, value);
        if (streq(key, "BindPaths") || streq(key, "BindReadOnlyPaths")) {
                if (isempty(value))
                        return remove_binds_of(&s->binds, key);

                r = strv_split(value, " \t", &entries);
                if (r < 0)
                        return r;
                STRV_FOREACH(e, entries) {
                        _cleanup_free_ char *dst = NULL, *setting = NULL;

                        if (bind_destination(*e, &dst) < 0)
                                continue;
                        if (asprintf(&setting, "%s=%s", key, *e) < 0)
                                return -ENOMEM;
                        r = strv_consume(&s->binds, TAKE_PTR(dst));
                        if (r >= 0)
                                r = strv_consume(&s->binds, TAKE_PTR(setting));
                        if (r < 0)
                                return r;
                }
        }
        return 0;
}

static int add_directories(char ***pairs, const char *const *dirs, const char *key, const char *value) {
        for (size_t i = 0; dirs[i]; i++) {
                int r = add_requirement(pairs, dirs[i], key, value);
                if (r < 0)
                        return r;
        }
        return 0;
}

static int settings_to_requirements(const ProfileSettings *s, char ***ret) {
        static const char *const api_dirs[] = { "/proc", "/sys", "/dev", "/run", NULL };
        static const char *const tmp_dirs[] = { "/tmp", "/var/tmp", NULL };
        _cleanup_strv_free_ char **pairs = NULL;
        struct {
                unsigned seen;
                const char *key;
                const char *value;
                const char *const *dirs;
        } groups[] = {
                { s->api_vfs > 0 ? s->api_vfs_seen : 0, "MountAPIVFS", s->api_vfs_text, api_dirs },
                { s->private_tmp > 0 ? s->private_tmp_seen : 0, "PrivateTmp", s->private_tmp_text, tmp_dirs },
                { s->dynamic_user > 0 ? s->dynamic_user_seen : 0, "DynamicUser", s->dynamic_user_text, tmp_dirs },
        };
        char *api[] = { (char *) "/dev", (char *) "/run", (char *) "/proc", (char *) "/sys", NULL };
        char *tmp[] = { (char *) "/tmp", (char *) "/var/tmp", NULL };
        bool private_tmp = s->private_tmp > 0 || s->dynamic_user > 0;
        int r;

        /* The implicit mount points first, in the order their settings appeared. */
        for (unsigned pass = 0; pass < ELEMENTSOF(groups); pass++) {
                size_t best = SIZE_MAX;

                for (size_t i = 0; i < ELEMENTSOF(groups); i++)
                        if (groups[i].seen > 0 && (best == SIZE_MAX || groups[i].seen < groups[best].seen))
                                best = i;
                if (best == SIZE_MAX)
                        break;
                r = add_directories(&pairs, groups[best].dirs, groups[best].key, groups[best].value);
                if (r < 0)
                        return r;
                groups[best].seen = 0;
        }

        /* Bind destinations that land on a tmpfs the service manager sets up are created there
         * on the fly; everything else must exist in the image. */
        for (size_t i = 0; s->binds && s->binds[i]; i += 2) {
                const char *eq = strchr(s->binds[i + 1], '=');
                _cleanup_free_ char *key = NULL;

                if (s->api_vfs > 0 && below_any(s->binds[i], api))
                        continue;
                if (private_tmp && below_any(s->binds[i], tmp))
                        continue;

                key = strndup(s->binds[i + 1], (size_t) (eq - s->binds[i + 1]));
                if (!key)
                        return -ENOMEM;
                r = add_requirement(&pairs, s->binds[i], key, eq + 1);
                if (r < 0)
                        return r;
        }

        r = strv_ensure(&pairs);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(pairs);
        return 0;
}

int profile_requirements_parse(const char *data, size_t size, char ***ret_pairs) {
        _cleanup_(profile_settings_done) ProfileSettings settings = { .api_vfs = -1, .private_tmp = -1, .dynamic_user = -1 };
        _cleanup_free_ char *joined = NULL;
        bool in_service = false;
        unsigned counter = 0;
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
                for (size_t n = strlen(value); n > 0 && (value[n - 1] == ' ' || value[n - 1] == '\t'); n--)
                        value[n - 1] = '\0';

                r = handle_setting(&settings, ++counter, key, value);
                if (r < 0)
                        return r;
        }

        return settings_to_requirements(&settings, ret_pairs);
}
