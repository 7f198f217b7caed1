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
#include "unit-summary.h"

/* MountAPIVFS= mounts these over the image's directories; PrivateTmp= the last two. */
const char *const image_check_api_mount_points[] = { "/proc", "/sys", "/dev", "/run", "/tmp", "/var/tmp", NULL };

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

/* A unit's settings, and its name. */
typedef struct UnitInfo {
        const char *name;
        UnitSummary s;
} UnitInfo;

static void unit_info_done(UnitInfo *u) {
        unit_summary_done(&u->s);
}

static int unit_info_parse(const CheckUnit *unit, UnitInfo *ret) {
        ret->name = unit->name;
        return unit_summary_parse(unit->data, unit->size, &ret->s);
}

/* The profile's settings as far as they matter here, read like a unit's. */
static int profile_info_parse(const char *data, UnitInfo *ret) {
        const CheckUnit unit = { .name = "profile", .data = data, .size = data ? strlen(data) : 0 };

        return unit_info_parse(&unit, ret);
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

                STRV_FOREACH(e, u.s.commands) {
                        UnitCommand *cmds = NULL;
                        size_t n = 0;

                        r = unit_commands_parse(*e, &cmds, &n);
                        for (size_t k = 0; r >= 0 && k < n; k++) {
                                _cleanup_strv_free_ char **candidates = NULL;

                                if (unit_command_is_checkable(&cmds[k]))
                                        r = unit_command_candidates(&cmds[k], &candidates);
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
                        unit_commands_free(cmds, n);
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
        int p = profile->s.private_tmp >= 0 ? profile->s.private_tmp : unit->s.private_tmp;
        int d = profile->s.dynamic_user >= 0 ? profile->s.dynamic_user : unit->s.dynamic_user;

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

                STRV_FOREACH(e, u.s.commands) {
                        UnitCommand *cmds = NULL;
                        size_t n = 0;

                        r = unit_commands_parse(*e, &cmds, &n);
                        for (size_t k = 0; r >= 0 && k < n; k++) {
                                const UnitCommand *c = &cmds[k];
                                _cleanup_strv_free_ char **candidates = NULL;
                                bool found = false, present = false;

                                if (c->unsandboxed) {
                                        r = add(f, CHECK_INFO, "exec", "%s: %s=%s runs on the host (prefix '+'), not in the image.",
                                                u.name, c->key, c->path);
                                        continue;
                                }
                                if (!unit_command_is_checkable(c)) {
                                        r = add(f, CHECK_INFO, "exec",
                                                "%s: %s=%s uses specifiers or variables and is only known when it runs.",
                                                u.name, c->key, c->path);
                                        continue;
                                }
                                r = unit_command_candidates(c, &candidates);
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
                        unit_commands_free(cmds, n);
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
        STRV_FOREACH(d, u->s.directories)
                if (streq(*d, entry) || (startswith(*d, entry) && (*d)[strlen(entry)] == '/'))
                        return true;
        char * const *lists[] = { u->s.read_write_paths, profile->s.read_write_paths };
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

                protect = profile->s.protect_system ?: u.s.protect_system;
                ro_root = image_read_only(in) || streq_ptr(protect, "strict") ||
                          (profile->s.dynamic_user >= 0 ? profile->s.dynamic_user : u.s.dynamic_user) > 0;

                if (ro_root && image_read_only(in) && !private_tmp(&u, profile)) {
                        r = add(f, CHECK_WARNING, "writable",
                                "%s: /tmp and /var/tmp are read-only for it: the image is read-only and neither the "
                                "profile nor the unit sets PrivateTmp=yes.", u.name);
                        if (r < 0)
                                goto fail;
                }

                r = strv_extend_strv(&paths, u.s.other_paths);
                STRV_FOREACH(e, u.s.commands) {
                        UnitCommand *cmds = NULL;
                        size_t n = 0;

                        if (r < 0)
                                break;
                        r = unit_commands_parse(*e, &cmds, &n);
                        for (size_t k = 0; r >= 0 && k < n; k++)
                                STRV_FOREACH(a, cmds[k].args) {
                                        /* "--log=/var/log/x.log" names a path too. */
                                        const char *p = strchr(*a, '=') && (*a)[0] == '-' ? strchr(*a, '=') + 1 : *a;

                                        if (p[0] == '/')
                                                r = strv_extend_unique(&paths, p);
                                        if (r < 0)
                                                break;
                                }
                        unit_commands_free(cmds, n);
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
