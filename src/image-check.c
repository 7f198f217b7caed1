/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "image-check.h"
#include "os-release.h"
#include "path-util.h"
#include "portable-metadata.h"
#include "strv.h"
#include "unit-file.h"
#include "unit-file-check.h"
#include "unit-match.h"

/* Where systemd looks for a command given without a path. */
static const char *const command_search_path[] = {
        "/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin", NULL,
};

/* MountAPIVFS= mounts these over the image's directories; PrivateTmp= the last two. */
const char *const image_check_api_mount_points[] = { "/proc", "/sys", "/dev", "/run", "/tmp", "/var/tmp", NULL };

static const char *const exec_keys[] = {
        "ExecCondition", "ExecStartPre", "ExecStart", "ExecStartPost", "ExecReload", "ExecStop", "ExecStopPost", NULL,
};

static const char *const severity_table[_CHECK_SEVERITY_MAX] = {
        [CHECK_OK] = "ok",
        [CHECK_INFO] = "info",
        [CHECK_WARNING] = "warning",
        [CHECK_ERROR] = "error",
};

const char *check_severity_to_string(CheckSeverity s) {
        return s >= 0 && s < _CHECK_SEVERITY_MAX ? severity_table[s] : NULL;
}

void check_findings_done(CheckFindings *f) {
        for (size_t i = 0; i < f->n; i++) {
                free(f->items[i].check);
                free(f->items[i].message);
        }
        f->items = mfree(f->items);
        f->n = 0;
}

bool check_findings_have_errors(const CheckFindings *f) {
        for (size_t i = 0; i < f->n; i++)
                if (f->items[i].severity == CHECK_ERROR)
                        return true;
        return false;
}

_printf_(4, 5)
static int add(CheckFindings *f, CheckSeverity severity, const char *check, const char *format, ...) {
        CheckFinding *grown;
        char *message;
        va_list ap;
        int r;

        va_start(ap, format);
        r = vasprintf(&message, format, ap);
        va_end(ap);
        if (r < 0)
                return -ENOMEM;

        grown = reallocarray(f->items, f->n + 1, sizeof(CheckFinding));
        if (!grown) {
                free(message);
                return -ENOMEM;
        }
        f->items = grown;
        f->items[f->n] = (CheckFinding) { .severity = severity, .check = strdup(check), .message = message };
        if (!f->items[f->n].check) {
                free(message);
                return -ENOMEM;
        }
        f->n++;
        return 0;
}

/* ------------------------------------------------------------------------- reading the units */

/* What one unit file says that the checks need. Settings that take lists accumulate; an empty
 * assignment resets, as in systemd. */
typedef struct UnitInfo {
        const char *name;
        const CheckUnit *unit;
        char **commands;          /* "Key\tvalue" of every Exec*= line */
        char **directories;       /* "State\tX", "Logs\tX", "Cache\tX", "Runtime\tX" */
        char **read_write_paths;
        char **other_paths;       /* PIDFile=, WorkingDirectory= */
        int private_tmp, dynamic_user; /* -1: not set */
        char *protect_system;
} UnitInfo;

static void unit_info_done(UnitInfo *u) {
        strv_free(u->commands);
        strv_free(u->directories);
        strv_free(u->read_write_paths);
        strv_free(u->other_paths);
        free(u->protect_system);
}

static int parse_bool(const char *v) {
        static const char *const yes[] = { "1", "yes", "y", "true", "t", "on" };
        static const char *const no[] = { "0", "no", "n", "false", "f", "off" };

        for (size_t i = 0; i < ELEMENTSOF(yes); i++) {
                if (strcasecmp(v, yes[i]) == 0)
                        return 1;
                if (strcasecmp(v, no[i]) == 0)
                        return 0;
        }
        return -1;
}

/* Removes the entries of l that start with prefix (a reset of that key). */
static void strv_remove_prefixed(char **l, const char *prefix) {
        char **w = l;

        for (char **s = l; s && *s; s++) {
                if (startswith(*s, prefix))
                        free(*s);
                else
                        *w++ = *s;
        }
        if (w)
                *w = NULL;
}

static int add_words(char ***l, const char *tag, const char *value) {
        const char *p = value;
        int r;

        for (;;) {
                _cleanup_free_ char *word = NULL;
                char *entry;

                r = unit_file_extract_word(&p, &word);
                if (r <= 0)
                        return r;
                /* "-/path": a path that may be missing; ":" separates a source from its target. */
                if (asprintf(&entry, "%s%s", strempty(tag), word[0] == '-' ? word + 1 : word) < 0)
                        return -ENOMEM;
                r = strv_consume(l, entry);
                if (r < 0)
                        return r;
        }
}

static int on_assignment(const char *section, const char *key, const char *value, unsigned line, void *userdata) {
        static const char *const dirs[] = { "StateDirectory", "LogsDirectory", "CacheDirectory", "RuntimeDirectory",
                                            "ConfigurationDirectory" };
        UnitInfo *u = userdata;
        int r;

        if (!streq(section, "Service") && !streq(section, "Socket"))
                return 0;

        for (size_t i = 0; exec_keys[i]; i++)
                if (streq(key, exec_keys[i])) {
                        _cleanup_free_ char *prefix = NULL, *entry = NULL;

                        if (asprintf(&prefix, "%s\t", key) < 0)
                                return -ENOMEM;
                        if (isempty(value)) {
                                strv_remove_prefixed(u->commands, prefix);
                                return 0;
                        }
                        if (asprintf(&entry, "%s%s", prefix, value) < 0)
                                return -ENOMEM;
                        return strv_consume(&u->commands, TAKE_PTR(entry));
                }

        for (size_t i = 0; i < ELEMENTSOF(dirs); i++)
                if (streq(key, dirs[i])) {
                        _cleanup_free_ char *tag = NULL;

                        if (asprintf(&tag, "%.*s\t", (int) (strlen(dirs[i]) - STRLEN("Directory")), dirs[i]) < 0)
                                return -ENOMEM;
                        if (isempty(value)) {
                                strv_remove_prefixed(u->directories, tag);
                                return 0;
                        }
                        return add_words(&u->directories, tag, value);
                }

        if (streq(key, "ReadWritePaths")) {
                if (isempty(value)) {
                        u->read_write_paths = strv_free(u->read_write_paths);
                        return 0;
                }
                return add_words(&u->read_write_paths, NULL, value);
        }
        if (streq(key, "PIDFile") || streq(key, "WorkingDirectory")) {
                if (isempty(value) || value[0] == '~')
                        return 0;
                r = strv_extend(&u->other_paths, value[0] == '-' ? value + 1 : value);
                return r;
        }
        if (streq(key, "PrivateTmp"))
                u->private_tmp = parse_bool(value);
        else if (streq(key, "DynamicUser"))
                u->dynamic_user = parse_bool(value);
        else if (streq(key, "ProtectSystem")) {
                char *copy = strdup(value);

                if (!copy)
                        return -ENOMEM;
                free_and_replace(u->protect_system, copy);
        }
        return 0;
}

static int unit_info_parse(const CheckUnit *unit, UnitInfo *ret) {
        UnitInfo u = { .name = unit->name, .unit = unit, .private_tmp = -1, .dynamic_user = -1 };
        int r;

        r = unit_file_parse(unit->data, unit->size, on_assignment, &u, NULL);
        if (r < 0) {
                unit_info_done(&u);
                return r;
        }
        *ret = u;
        return 0;
}

/* The profile's settings as far as they matter here, read like a unit's. */
static int profile_info_parse(const char *data, UnitInfo *ret) {
        const CheckUnit unit = { .name = "profile", .data = data, .size = data ? strlen(data) : 0 };

        return unit_info_parse(&unit, ret);
}

/* --------------------------------------------------------------------------- the commands */

typedef struct Command {
        char *key;      /* ExecStart */
        char *path;     /* the executable as written, prefixes removed */
        bool ignore_failure; /* '-' */
        bool unsandboxed;    /* '+': runs on the host, outside the image */
        char **args;
} Command;

static void command_done(Command *c) {
        free(c->key);
        free(c->path);
        strv_free(c->args);
}

/* The commands of one Exec*= line: systemd separates them by a lone ";". */
static int parse_commands(const char *entry, Command **ret, size_t *ret_n) {
        const char *tab = strchr(entry, '\t'), *p = tab + 1;
        Command *list = NULL;
        size_t n = 0;
        bool expect_command = true;
        int r;

        for (;;) {
                _cleanup_free_ char *word = NULL;

                r = unit_file_extract_word(&p, &word);
                if (r < 0)
                        goto fail;
                if (r == 0)
                        break;
                if (streq(word, ";")) {
                        expect_command = true;
                        continue;
                }
                if (!expect_command) {
                        r = strv_extend(&list[n - 1].args, word);
                        if (r < 0)
                                goto fail;
                        continue;
                }
                expect_command = false;

                Command *grown = reallocarray(list, n + 1, sizeof(Command));
                if (!grown) {
                        r = -ENOMEM;
                        goto fail;
                }
                list = grown;
                list[n] = (Command) { .key = strndup(entry, tab - entry) };
                const char *w = word;
                for (; *w && strchr("-@:+!|", *w); w++) {
                        list[n].ignore_failure = list[n].ignore_failure || *w == '-';
                        list[n].unsandboxed = list[n].unsandboxed || *w == '+';
                }
                list[n].path = strdup(w);
                n++;
                if (!list[n - 1].key || !list[n - 1].path) {
                        r = -ENOMEM;
                        goto fail;
                }
        }

        *ret = list;
        *ret_n = n;
        return 0;

fail:
        for (size_t i = 0; i < n; i++)
                command_done(&list[i]);
        free(list);
        return r;
}

static bool command_is_checkable(const Command *c) {
        return !c->unsandboxed && !isempty(c->path) && !strpbrk(c->path, "%$");
}

static int command_candidates(const Command *c, char ***ret) {
        _cleanup_strv_free_ char **l = NULL;
        int r;

        if (c->path[0] == '/')
                r = strv_extend(&l, c->path);
        else if (strchr(c->path, '/'))
                r = 0; /* relative with a directory: systemd refuses it; attach's check says so */
        else
                for (size_t i = 0; command_search_path[i]; i++) {
                        r = strv_consume(&l, path_join(command_search_path[i], c->path));
                        if (r < 0)
                                break;
                }
        if (r < 0)
                return r;
        *ret = TAKE_PTR(l);
        return 0;
}

/* ----------------------------------------------------------------------------- the image */

static bool unit_selected(const ImageCheckInput *in, const char *name) {
        return unit_name_matches_prefixes(name, in->matches);
}

static bool is_service(const char *name) {
        return streq_ptr(unit_name_type(name), "service");
}

static bool has_selected_service(const ImageCheckInput *in) {
        for (size_t i = 0; i < in->n_units; i++)
                if (unit_selected(in, in->units[i].name) && is_service(in->units[i].name))
                        return true;
        return false;
}

/* Raw images and block devices are file systems mounted read-only; directories may be marked. */
static bool image_read_only(const ImageCheckInput *in) {
        return in->read_only || (!streq_ptr(in->image_type, "directory") && !streq_ptr(in->image_type, "subvolume"));
}

static bool missing(const ImageCheckInput *in, const char *path) {
        return strv_contains(in->missing, path);
}

static bool executable_present(const ImageCheckInput *in, const char *path) {
        _cleanup_free_ char *x = NULL;

        if (missing(in, path))
                return false;
        if (asprintf(&x, IMAGE_CHECK_EXECUTABLE "%s", path) < 0)
                return false;
        return !missing(in, x);
}

int image_check_exec_paths(const ImageCheckInput *in, char ***ret) {
        _cleanup_strv_free_ char **paths = NULL;
        int r;

        for (size_t i = 0; i < in->n_units; i++) {
                UnitInfo u;

                if (!unit_selected(in, in->units[i].name))
                        continue;
                if (unit_info_parse(&in->units[i], &u) < 0)
                        continue; /* reported by the checks */

                STRV_FOREACH(e, u.commands) {
                        Command *cmds = NULL;
                        size_t n = 0;

                        r = parse_commands(*e, &cmds, &n);
                        for (size_t k = 0; r >= 0 && k < n; k++) {
                                _cleanup_strv_free_ char **candidates = NULL;

                                if (command_is_checkable(&cmds[k]))
                                        r = command_candidates(&cmds[k], &candidates);
                                STRV_FOREACH(c, candidates) {
                                        char *x = NULL;

                                        r = strv_extend_unique(&paths, *c);
                                        if (r >= 0 && asprintf(&x, IMAGE_CHECK_EXECUTABLE "%s", *c) < 0)
                                                r = -ENOMEM;
                                        if (r >= 0)
                                                r = strv_extend_unique(&paths, x);
                                        free(x);
                                        if (r < 0)
                                                break;
                                }
                        }
                        for (size_t k = 0; k < n; k++)
                                command_done(&cmds[k]);
                        free(cmds);
                        if (r < 0) {
                                unit_info_done(&u);
                                return r;
                        }
                }
                unit_info_done(&u);
        }

        *ret = TAKE_PTR(paths);
        return 0;
}

/* ---------------------------------------------------------------------------- the checks */

static int check_os_release(const ImageCheckInput *in, CheckFindings *f) {
        const char *id, *pretty, *prefixes;
        _cleanup_strv_free_ char **valid = NULL;
        int r;

        if (!in->os_release_pairs)
                return add(f, CHECK_ERROR, "os-release",
                           "no os-release in /etc/os-release or /usr/lib/os-release: attach refuses the image.");

        id = os_release_pairs_get(in->os_release_pairs, "ID");
        pretty = os_release_pairs_get(in->os_release_pairs, "PRETTY_NAME");
        if (isempty(id))
                r = add(f, CHECK_ERROR, "os-release",
                        "os-release has no ID=: attach refuses the image. Add the ID of the distribution the image is built from.");
        else
                r = add(f, CHECK_OK, "os-release", "ID=%s%s%s%s.", id, pretty ? " (" : "", strempty(pretty), pretty ? ")" : "");
        if (r < 0)
                return r;

        prefixes = os_release_pairs_get(in->os_release_pairs, "PORTABLE_PREFIXES");
        if (isempty(prefixes))
                return 0;
        r = strv_split(prefixes, " \t\n", &valid);
        if (r < 0)
                return r;
        STRV_FOREACH(m, in->matches)
                if (!strv_contains(valid, *m)) {
                        r = add(f, CHECK_ERROR, "units",
                                "prefix '%s' is not one of PORTABLE_PREFIXES=%s in os-release: attach refuses it.",
                                *m, prefixes);
                        if (r < 0)
                                return r;
                }
        return 0;
}

static int check_units(const ImageCheckInput *in, CheckFindings *f) {
        _cleanup_free_ char *joined = NULL;
        size_t selected = 0;
        int r;

        joined = strv_join(in->matches, "', '");
        if (!joined)
                return -ENOMEM;

        for (size_t i = 0; i < in->n_units; i++) {
                const char *name = in->units[i].name;

                if (unit_selected(in, name)) {
                        selected++;
                        r = strv_isempty(in->matches) ? add(f, CHECK_OK, "units", "%s is attached.", name) :
                                add(f, CHECK_OK, "units", "%s matches prefix '%s'.", name, joined);
                } else
                        r = add(f, CHECK_INFO, "units",
                                "%s is not attached: its name is not '%s' followed by '.', '-' or '@' (give its "
                                "prefix as an argument to attach it too).", name, joined);
                if (r < 0)
                        return r;
        }

        if (selected == 0)
                return add(f, CHECK_ERROR, "units",
                           "no unit file matches prefix '%s': attach refuses the image. Name its units after the "
                           "image, or give their prefixes as arguments.", joined);
        return 0;
}

static int check_reader_warnings(const ImageCheckInput *in, CheckFindings *f) {
        int r;

        STRV_FOREACH(w, in->warnings) {
                r = add(f, CHECK_WARNING, "reader", "%s", *w);
                if (r < 0)
                        return r;
        }
        return 0;
}

static int check_confinement(const ImageCheckInput *in, CheckFindings *f) {
        _cleanup_strv_free_ char **names = NULL;
        int r;

        /* Attach checks every unit except under "trusted" (unit-file-check.h). */
        if (streq_ptr(in->profile, "trusted"))
                return 0;

        for (size_t i = 0; i < in->n_units; i++)
                if (unit_selected(in, in->units[i].name) && strv_extend(&names, in->units[i].name) < 0)
                        return -ENOMEM;

        for (size_t i = 0; i < in->n_units; i++) {
                _cleanup_(sd_bus_error_free) sd_bus_error e = SD_BUS_ERROR_NULL;
                const CheckUnit *u = &in->units[i];

                if (!unit_selected(in, u->name))
                        continue;
                r = unit_file_check_confined(u->name, u->data, u->size, names, &e);
                if (r == -ENOMEM)
                        return r;
                if (r < 0) {
                        r = add(f, CHECK_ERROR, "confinement", "%s Attach refuses it unless the profile is \"trusted\".",
                                e.message ?: "a unit file acts on the host outside the image.");
                        if (r < 0)
                                return r;
                }
        }
        return 0;
}

/* PrivateTmp= or DynamicUser= (which implies it) in the profile or the unit; the profile's
 * drop-in is read after the unit file. */
static bool private_tmp(const UnitInfo *unit, const UnitInfo *profile) {
        int p = profile->private_tmp >= 0 ? profile->private_tmp : unit->private_tmp;
        int d = profile->dynamic_user >= 0 ? profile->dynamic_user : unit->dynamic_user;

        return p > 0 || d > 0;
}

static int check_mounts(const ImageCheckInput *in, const UnitInfo *profile, CheckFindings *f) {
        bool ro = image_read_only(in), tmp = false;
        size_t present = 0, absent = 0;
        int r;

        if (!isempty(in->profile_error)) {
                r = add(f, CHECK_ERROR, "profile", "%s", in->profile_error);
                if (r < 0)
                        return r;
        } else if (!isempty(in->profile)) {
                r = add(f, CHECK_OK, "profile", "'%s' mounts over %zu paths in the image.", in->profile,
                        strv_length(in->requirements) / 2);
                if (r < 0)
                        return r;
        }

        if (!has_selected_service(in))
                return 0;

        for (size_t i = 0; i < in->n_units; i++) {
                UnitInfo u;

                if (!unit_selected(in, in->units[i].name) || !is_service(in->units[i].name))
                        continue;
                if (unit_info_parse(&in->units[i], &u) >= 0) {
                        tmp = tmp || private_tmp(&u, profile);
                        unit_info_done(&u);
                }
        }

        /* What the profile binds, then what the service manager mounts itself. */
        for (size_t i = 0; in->requirements && in->requirements[i] && in->requirements[i + 1]; i += 2) {
                const char *path = in->requirements[i], *setting = in->requirements[i + 1];

                if (!missing(in, path)) {
                        present++;
                        continue;
                }
                absent++;
                r = ro ? add(f, CHECK_ERROR, "mounts",
                             "%s is missing in the image, and %s of profile '%s' mounts there: on a read-only image "
                             "the service fails to start with status=226/NAMESPACE (attach refuses it). Add an empty "
                             "file or directory at %s in the image.", path, setting, in->profile, path) :
                         add(f, CHECK_INFO, "mounts",
                             "%s is missing in the image (%s of profile '%s' mounts there); the service manager creates "
                             "it, since the image is writable.", path, setting, in->profile);
                if (r < 0)
                        return r;
        }
        for (size_t i = 0; image_check_api_mount_points[i]; i++) {
                const char *path = image_check_api_mount_points[i];
                bool needs_tmp = startswith(path, "/tmp") || startswith(path, "/var/tmp");

                if ((needs_tmp && !tmp) || strv_contains(in->requirements, path))
                        continue;
                if (!missing(in, path)) {
                        present++;
                        continue;
                }
                absent++;
                r = ro ? add(f, CHECK_ERROR, "mounts",
                             "%s is missing in the image: the service manager mounts %s there, and on a read-only "
                             "image the service fails to start with status=226/NAMESPACE. Add an empty directory %s "
                             "to the image.", path, needs_tmp ? "a private /tmp (PrivateTmp=)" : "an API file system",
                             path) :
                         add(f, CHECK_INFO, "mounts", "%s is missing in the image; the service manager creates it, "
                             "since the image is writable.", path);
                if (r < 0)
                        return r;
        }
        if (absent == 0)
                return add(f, CHECK_OK, "mounts", "all %zu mount points the services need are in the image.", present);
        return 0;
}

static int check_commands(const ImageCheckInput *in, CheckFindings *f) {
        int r = 0;

        for (size_t i = 0; i < in->n_units; i++) {
                size_t good = 0, bad = 0;
                UnitInfo u;

                if (!unit_selected(in, in->units[i].name))
                        continue;
                r = unit_info_parse(&in->units[i], &u);
                if (r == -ENOMEM)
                        return r;
                if (r < 0) {
                        r = add(f, CHECK_ERROR, "exec", "%s: the service manager cannot read this unit file.",
                                in->units[i].name);
                        if (r < 0)
                                return r;
                        continue;
                }

                STRV_FOREACH(e, u.commands) {
                        Command *cmds = NULL;
                        size_t n = 0;

                        r = parse_commands(*e, &cmds, &n);
                        for (size_t k = 0; r >= 0 && k < n; k++) {
                                const Command *c = &cmds[k];
                                _cleanup_strv_free_ char **candidates = NULL;
                                bool found = false, present = false;

                                if (c->unsandboxed) {
                                        r = add(f, CHECK_INFO, "exec", "%s: %s=%s runs on the host (prefix '+'), not in the image.",
                                                u.name, c->key, c->path);
                                        continue;
                                }
                                if (!command_is_checkable(c)) {
                                        r = add(f, CHECK_INFO, "exec",
                                                "%s: %s=%s uses specifiers or variables and is only known when it runs.",
                                                u.name, c->key, c->path);
                                        continue;
                                }
                                r = command_candidates(c, &candidates);
                                if (r < 0)
                                        break;
                                if (strv_isempty(candidates)) {
                                        bad++;
                                        r = add(f, CHECK_ERROR, "exec", "%s: %s=%s: a command must be an absolute path or a "
                                                "bare name.", u.name, c->key, c->path);
                                        continue;
                                }
                                STRV_FOREACH(p, candidates) {
                                        present = present || !missing(in, *p);
                                        if (executable_present(in, *p)) {
                                                found = true;
                                                break;
                                        }
                                }
                                if (found) {
                                        good++;
                                        continue;
                                }
                                bad++;
                                if (present)
                                        r = add(f, c->ignore_failure ? CHECK_WARNING : CHECK_ERROR, "exec",
                                                "%s: %s=%s is in the image but not an executable file: the service "
                                                "fails with status=203/EXEC. Make it executable (chmod +x) in the image.",
                                                u.name, c->key, c->path);
                                else
                                        r = add(f, c->ignore_failure ? CHECK_WARNING : CHECK_ERROR, "exec",
                                                "%s: %s=%s is not in the image%s: the service fails with status=203/EXEC "
                                                "(\"No such file or directory\"). Check the path inside the image.",
                                                u.name, c->key, c->path,
                                                c->path[0] == '/' ? "" : " (searched /usr/local/sbin, /usr/local/bin, "
                                                "/usr/sbin, /usr/bin, /sbin, /bin)");
                        }
                        for (size_t k = 0; k < n; k++)
                                command_done(&cmds[k]);
                        free(cmds);
                        if (r < 0)
                                break;
                }
                if (r >= 0 && good > 0 && bad == 0)
                        r = add(f, CHECK_OK, "exec", "%s: %zu command%s present and executable in the image.", u.name, good,
                                good == 1 ? "" : "s");
                unit_info_done(&u);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* Which of the service's directory settings makes path writable, by its top directory. */
static const struct {
        const char *prefix, *kind;
} state_dirs[] = {
        { "/var/lib/", "State" },
        { "/var/log/", "Logs" },
        { "/var/cache/", "Cache" },
        { "/run/", "Runtime" },
};

static bool covered(const UnitInfo *u, const UnitInfo *profile, const char *kind, const char *name, const char *path) {
        _cleanup_free_ char *entry = NULL;

        if (asprintf(&entry, "%s\t%s", kind, name) < 0)
                return true;
        STRV_FOREACH(d, u->directories)
                if (streq(*d, entry) || (startswith(*d, entry) && (*d)[strlen(entry)] == '/'))
                        return true;
        char * const *lists[] = { u->read_write_paths, profile->read_write_paths };
        for (size_t i = 0; i < ELEMENTSOF(lists); i++)
                STRV_FOREACH(p, (char **) lists[i]) {
                        size_t len = strlen(*p);

                        if (strneq(path, *p, len) && (path[len] == '/' || path[len] == '\0'))
                                return true;
                }
        return false;
}

/* Paths a service names under /var/lib, /var/log, /var/cache and /run are where it writes; in a
 * read-only root (a read-only image, ProtectSystem=strict, or DynamicUser=, which implies it) only
 * the directories systemd makes for it are writable. */
static int check_writable(const ImageCheckInput *in, const UnitInfo *profile, CheckFindings *f) {
        int r;

        for (size_t i = 0; i < in->n_units; i++) {
                _cleanup_strv_free_ char **paths = NULL;
                const char *protect;
                bool ro_root;
                UnitInfo u;

                if (!unit_selected(in, in->units[i].name) || !is_service(in->units[i].name))
                        continue;
                if (unit_info_parse(&in->units[i], &u) < 0)
                        continue;

                protect = profile->protect_system ?: u.protect_system;
                ro_root = image_read_only(in) || streq_ptr(protect, "strict") ||
                          (profile->dynamic_user >= 0 ? profile->dynamic_user : u.dynamic_user) > 0;

                if (ro_root && image_read_only(in) && !private_tmp(&u, profile)) {
                        r = add(f, CHECK_WARNING, "writable",
                                "%s: /tmp and /var/tmp are read-only for it: the image is read-only and neither the "
                                "profile nor the unit sets PrivateTmp=yes.", u.name);
                        if (r < 0)
                                goto fail;
                }

                r = strv_extend_strv(&paths, u.other_paths);
                STRV_FOREACH(e, u.commands) {
                        Command *cmds = NULL;
                        size_t n = 0;

                        if (r < 0)
                                break;
                        r = parse_commands(*e, &cmds, &n);
                        for (size_t k = 0; r >= 0 && k < n; k++)
                                STRV_FOREACH(a, cmds[k].args) {
                                        /* "--log=/var/log/x.log" names a path too. */
                                        const char *p = strchr(*a, '=') && (*a)[0] == '-' ? strchr(*a, '=') + 1 : *a;

                                        if (p[0] == '/')
                                                r = strv_extend_unique(&paths, p);
                                        if (r < 0)
                                                break;
                                }
                        for (size_t k = 0; k < n; k++)
                                command_done(&cmds[k]);
                        free(cmds);
                }
                if (r < 0)
                        goto fail;

                STRV_FOREACH(p, paths)
                        for (size_t k = 0; ro_root && k < ELEMENTSOF(state_dirs); k++) {
                                _cleanup_free_ char *name = NULL;
                                const char *rest = startswith(*p, state_dirs[k].prefix) ? *p + strlen(state_dirs[k].prefix) : NULL;

                                if (!rest || isempty(rest))
                                        continue;
                                name = strndup(rest, strcspn(rest, "/"));
                                if (!name) {
                                        r = -ENOMEM;
                                        goto fail;
                                }
                                if (covered(&u, profile, state_dirs[k].kind, name, *p))
                                        continue;
                                r = add(f, CHECK_WARNING, "writable",
                                        "%s: uses %s, which it cannot write: %s. Add %sDirectory=%s to the unit, and "
                                        "systemd makes it writable for the service (and keeps it outside the image).",
                                        u.name, *p,
                                        image_read_only(in) ? "the image is read-only" :
                                        streq_ptr(protect, "strict") ? "ProtectSystem=strict makes the root read-only" :
                                        "DynamicUser=yes makes the root read-only",
                                        state_dirs[k].kind, name);
                                if (r < 0)
                                        goto fail;
                        }
                unit_info_done(&u);
                continue;
        fail:
                unit_info_done(&u);
                return r;
        }
        return 0;
}

static int check_verity(const ImageCheckInput *in, CheckFindings *f) {
        int r;

        if (in->n_partitions == 0)
                return add(f, CHECK_INFO, "verity", "%s image: there is no verity to check (only raw images carry it).",
                           strna(in->image_type));

        for (size_t i = 0; i < in->n_partitions; i++) {
                const CheckPartition *p = &in->partitions[i];

                if (streq_ptr(p->protection, "unprotected"))
                        r = add(f, CHECK_WARNING, "verity",
                                "%s partition (%s) has no verity: nothing vouches for its contents. Build the image "
                                "with verity (and sign it) to have them checked.", p->designator, strna(p->fstype));
                else if (!p->verified)
                        r = add(f, CHECK_WARNING, "verity", "%s partition (%s) has %s data that was not verified.",
                                p->designator, strna(p->fstype), p->protection);
                else if (streq_ptr(p->signature, "trusted"))
                        r = add(f, CHECK_OK, "verity", "%s partition (%s): verity verified, signed by a trusted key.",
                                p->designator, strna(p->fstype));
                else if (streq_ptr(p->signature, "untrusted"))
                        r = add(f, CHECK_WARNING, "verity",
                                "%s partition (%s): verity verified, but signed by a key the host does not trust.",
                                p->designator, strna(p->fstype));
                else
                        r = add(f, CHECK_OK, "verity", "%s partition (%s): verity verified, not signed.", p->designator,
                                strna(p->fstype));
                if (r < 0)
                        return r;
        }
        return 0;
}

int image_check_run(const ImageCheckInput *in, CheckFindings *ret) {
        CheckFindings f = {};
        UnitInfo profile = {};
        int r;

        r = profile_info_parse(in->profile_service, &profile);
        if (r >= 0)
                r = check_os_release(in, &f);
        if (r >= 0)
                r = check_units(in, &f);
        if (r >= 0)
                r = check_reader_warnings(in, &f);
        if (r >= 0)
                r = check_confinement(in, &f);
        if (r >= 0)
                r = check_mounts(in, &profile, &f);
        if (r >= 0)
                r = check_commands(in, &f);
        if (r >= 0)
                r = check_writable(in, &profile, &f);
        if (r >= 0)
                r = check_verity(in, &f);
        unit_info_done(&profile);
        if (r < 0) {
                check_findings_done(&f);
                return r;
        }
        *ret = f;
        return 0;
}
