/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdio.h>

#include "bus-call.h"
#include "changes.h"
#include "image-arg.h"
#include "log.h"
#include "output.h"
#include "path-util.h"
#include "polkit-agent.h"
#include "portable-bus.h"
#include "portablectl.h"
#include "strv.h"
#include "systemd-jobs.h"
#include "verbs.h"

/* The plain methods carry no flags and no extensions, so --force, --rollback and --extension need
 * the *WithExtensions variants (with an empty extension list without --extension). Otherwise the
 * plain methods are used, which every daemon version knows and the system bus policy allows for
 * unprivileged callers. */
static bool use_with_extensions(bool reattach, char **extensions) {
        return arg_force || (reattach && arg_rollback) || !strv_isempty(extensions);
}

/* --force relaxes both the unit checks and how an extension's release file is found, as
 * systemd's client does. */
static uint64_t operation_flags(bool reattach) {
        return (arg_runtime ? PORTABLE_FLAG_RUNTIME : 0) |
               (arg_force ? PORTABLE_FLAG_FORCE_ATTACH | PORTABLE_FLAG_FORCE_EXTENSION : 0) |
               (reattach && arg_rollback ? PORTABLE_FLAG_KEEP_PREVIOUS : 0);
}

/* AttachImage/ReattachImage(s image, as matches, s profile, b runtime, s copy_mode), or with
 * --force, --rollback or --extension the *WithExtensions form (s image, as extensions, as matches,
 * s profile, s copy_mode, t flags), or with --image-policy= our own *WithOptions form, which adds
 * "a{sv} options" to that. Only our daemon knows the last: without the option, any daemon will do. */
static int call_attach(sd_bus *bus, const char *base_method, bool reattach, const char *image, char **extensions,
                       char **matches, sd_bus_message **ret_reply) {
        _cleanup_bus_message_ sd_bus_message *m = NULL;
        _cleanup_free_ char *method = NULL;
        bool extended = use_with_extensions(reattach, extensions) || arg_image_policy;
        int r;

        if (asprintf(&method, "%s%s", base_method,
                     arg_image_policy ? "WithOptions" : extended ? "WithExtensions" : "") < 0)
                return log_oom();

        r = portable_message_new(bus, method, &m);
        if (r < 0)
                return r;

        r = sd_bus_message_append(m, "s", image);
        if (r >= 0 && extended)
                r = sd_bus_message_append_strv(m, extensions);
        if (r >= 0)
                r = sd_bus_message_append_strv(m, matches);
        if (r >= 0)
                r = sd_bus_message_append(m, "s", arg_profile);
        if (r >= 0) {
                if (extended)
                        r = sd_bus_message_append(m, "st", arg_copy_mode, operation_flags(reattach));
                else
                        r = sd_bus_message_append(m, "bs", (int) arg_runtime, arg_copy_mode);
        }
        if (r < 0)
                return bus_log_create_error(r);
        if (arg_image_policy) {
                r = portable_append_options(m);
                if (r < 0)
                        return r;
        }

        return portable_call(bus, m, PORTABLE_OPERATION_TIMEOUT_USEC, ret_reply);
}

static int print_changes_json(const ChangeList *removed, const ChangeList *updated) {
        struct json_object *o;

        if (!updated)
                return json_print_and_put(change_list_to_json(removed));

        o = json_object_new_object();
        if (!o)
                return log_oom();
        json_object_object_add(o, "removed", change_list_to_json(removed));
        json_object_object_add(o, "updated", change_list_to_json(updated));
        return json_print_and_put(o);
}

static bool change_installs_unit(const Change *c) {
        return (streq(c->type, "symlink") || streq(c->type, "copy")) && unit_is_portable_managed(c->path);
}

/* After --now: waits for the jobs, at most --timeout=, and if a unit did not come up, says which
 * and how it ended. */
static int wait_for_units(ServiceManager *sm) {
        int r;

        r = service_manager_wait(sm, arg_timeout_usec);
        if (r >= 0)
                return 0;

        STRV_FOREACH(u, service_manager_failed_units(sm)) {
                _cleanup_free_ char *how = NULL;

                if (service_manager_describe_unit(sm, *u, &how) >= 0)
                        log_error("Unit %s did not come up: %s.", *u, how);
                else
                        log_error("Unit %s did not come up.", *u);
        }
        return r;
}

/* attach --enable/--now: enable the attached unit files (by their host path, so that systemd
 * finds them in the attached directory), start them, and wait unless --no-block. */
static int enable_start(ServiceManager *sm, const ChangeList *changes) {
        if (!arg_enable && !arg_now)
                return 0;

        for (size_t i = 0; i < changes->n; i++) {
                const Change *c = &changes->changes[i];

                if (!change_installs_unit(c))
                        continue;
                if (arg_enable)
                        (void) service_manager_enable_disable(sm, c->path, /* enable= */ true);
                if (arg_now)
                        (void) service_manager_queue(sm, "StartUnit", c->path);
        }

        if (arg_now && !arg_no_block)
                return wait_for_units(sm);
        return 0;
}

static bool changes_contain_unit(const ChangeList *l, const char *unit) {
        const char *name = path_last_component(unit);

        for (size_t i = 0; i < l->n; i++)
                if (change_installs_unit(&l->changes[i]) &&
                    streq(path_last_component(l->changes[i].path), name))
                        return true;
        return false;
}

/* reattach --enable/--now: units that went away for good are stopped; units that were updated or
 * added are enabled and restarted (a restart keeps what a stop would lose, e.g. the fd store). */
static int stop_enable_restart(ServiceManager *sm, const ChangeList *removed, const ChangeList *updated) {
        if (!arg_enable && !arg_now)
                return 0;

        for (size_t i = 0; arg_now && i < removed->n; i++) {
                const Change *c = &removed->changes[i];

                if (streq(c->type, "unlink") && unit_is_portable_managed(c->path) &&
                    !changes_contain_unit(updated, c->path))
                        (void) service_manager_queue(sm, "StopUnit", c->path);
        }

        for (size_t i = 0; i < updated->n; i++) {
                const Change *c = &updated->changes[i];

                if (!change_installs_unit(c))
                        continue;
                if (arg_enable)
                        (void) service_manager_enable_disable(sm, c->path, /* enable= */ true);
                if (arg_now)
                        (void) service_manager_queue(sm, "RestartUnit", c->path);
        }

        if (arg_now && !arg_no_block)
                return wait_for_units(sm);
        return 0;
}

/* The list borrows its strings from *ret_reply. */
static int call_finish_reattach(sd_bus *bus, const char *image, bool keep, sd_bus_message **ret_reply,
                                ChangeList *ret) {
        _cleanup_bus_message_ sd_bus_message *m = NULL;
        int r;

        r = portable_message_new(bus, "FinishReattach", &m);
        if (r < 0)
                return r;
        r = sd_bus_message_append(m, "sb", image, (int) keep);
        if (r < 0)
                return bus_log_create_error(r);
        r = portable_call(bus, m, PORTABLE_OPERATION_TIMEOUT_USEC, ret_reply);
        if (r < 0)
                return r;
        return change_list_read(*ret_reply, ret);
}

static bool is_unit_file(const Change *c) {
        /* Unit files themselves, not the drop-ins in their .d directories. */
        return unit_is_portable_managed(c->path) && !strstr(c->path, ".d/");
}

/* reattach --now --rollback, after the new version did not come up: the daemon puts the previous
 * version's files back, and we put its units back: stop what belonged to the new version only,
 * reload, restart what came back. */
static int roll_back(sd_bus *bus, ServiceManager *sm, const char *image) {
        _cleanup_bus_message_ sd_bus_message *reply = NULL;
        ChangeList undone = {};
        int r;

        r = call_finish_reattach(bus, image, /* keep= */ false, &reply, &undone);
        if (r < 0)
                return log_error_errno(r, "Failed to roll back to the previous version: %m");

        for (size_t i = 0; i < undone.n; i++)
                if (streq(undone.changes[i].type, "unlink") && is_unit_file(&undone.changes[i]))
                        (void) service_manager_queue(sm, "StopUnit", undone.changes[i].path);
        (void) service_manager_wait(sm, arg_timeout_usec);

        service_manager_reload(sm);
        for (size_t i = 0; i < undone.n; i++)
                if (streq(undone.changes[i].type, "write") && is_unit_file(&undone.changes[i]))
                        (void) service_manager_queue(sm, "RestartUnit", undone.changes[i].path);
        r = service_manager_wait(sm, arg_timeout_usec);
        change_list_done(&undone);
        if (r < 0)
                return log_error_errno(r, "The previous version is back, but not all of its units came up again.");
        log_info("Rolled back: the previous version is attached and running again.");
        return 0;
}

static int attach_or_reattach(char *argv[], bool reattach) {
        _cleanup_bus_ sd_bus *bus = NULL;
        _cleanup_bus_message_ sd_bus_message *reply = NULL;
        _cleanup_(service_manager_freep) ServiceManager *sm = NULL;
        _cleanup_free_ char *image = NULL;
        _cleanup_strv_free_ char **matches = NULL, **extensions = NULL;
        ChangeList removed = {}, updated = {};
        bool rollback = reattach && arg_rollback;
        int r, k;

        if (arg_rollback && (!reattach || !arg_now || arg_no_block))
                return log_error_errno(-EINVAL, "--rollback is for reattach --now, which waits for the units.");

        r = image_arg_resolve(argv[1], /* allow_missing= */ false, &image);
        if (r < 0)
                return r;
        r = image_arg_resolve_extensions(/* allow_missing= */ false, &extensions);
        if (r < 0)
                return r;
        r = image_arg_matches(argv[1], argv + 2, /* allow_all= */ false, &matches);
        if (r < 0)
                return r;

        r = portable_bus_connect(&bus);
        if (r < 0)
                return r;
        (void) polkit_agent_open_if_enabled();
        r = service_manager_new(bus, &sm);
        if (r < 0)
                return r;

        r = call_attach(bus, reattach ? "ReattachImage" : "AttachImage", reattach, image, extensions, matches, &reply);
        if (r < 0)
                return r;

        /* For reattach the first list holds what was removed and not re-added, the second what
         * was added or updated. */
        r = change_list_read(reply, &removed);
        if (r >= 0 && reattach)
                r = change_list_read(reply, &updated);
        if (r < 0)
                goto finish;

        if (arg_reload || rollback)
                service_manager_reload(sm);

        if (arg_json != JSON_FORMAT_OFF)
                r = print_changes_json(&removed, reattach ? &updated : NULL);
        else {
                change_list_print(&removed);
                if (reattach)
                        change_list_print(&updated);
        }

        if (reattach)
                k = stop_enable_restart(sm, &removed, &updated);
        else
                k = enable_start(sm, &removed);

        if (rollback) {
                _cleanup_bus_message_ sd_bus_message *kept_reply = NULL;
                ChangeList kept = {};

                if (k < 0) {
                        log_error("The new version of %s did not come up; rolling back.", image);
                        (void) roll_back(bus, sm, image);
                } else {
                        k = call_finish_reattach(bus, image, /* keep= */ true, &kept_reply, &kept);
                        if (k >= 0 && !arg_quiet)
                                log_info("The new version came up and is kept.");
                        change_list_done(&kept);
                }
        }
        if (r >= 0)
                r = k;

finish:
        change_list_done(&removed);
        change_list_done(&updated);
        return r;
}

int verb_attach(int argc, char *argv[]) {
        return attach_or_reattach(argv, /* reattach= */ false);
}

int verb_reattach(int argc, char *argv[]) {
        return attach_or_reattach(argv, /* reattach= */ true);
}

/* The unit names GetImageMetadata[WithExtensions] reports for the image (and extensions) and
 * matches, or an error that the caller only warns about: the image may well be gone already, and
 * detaching must still work then. */
static int image_unit_names(sd_bus *bus, const char *image, char **extensions, char **matches, char ***ret) {
        _cleanup_bus_message_ sd_bus_message *m = NULL, *reply = NULL;
        _cleanup_bus_error_ sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_strv_free_ char **names = NULL;
        bool with_extensions = !strv_isempty(extensions);
        int r;

        r = portable_message_new(bus, with_extensions ? "GetImageMetadataWithExtensions" : "GetImageMetadata", &m);
        if (r < 0)
                return r;
        r = sd_bus_message_append(m, "s", image);
        if (r >= 0 && with_extensions)
                r = sd_bus_message_append_strv(m, extensions);
        if (r >= 0)
                r = sd_bus_message_append_strv(m, matches);
        if (r >= 0 && with_extensions)
                r = sd_bus_message_append(m, "t", arg_force ? PORTABLE_FLAG_FORCE_EXTENSION : 0);
        if (r < 0)
                return bus_log_create_error(r);

        r = sd_bus_call(bus, m, 0, &error, &reply);
        if (r < 0) {
                log_warning("Failed to look up the unit files of image '%s', not stopping or disabling them: %s",
                            image, bus_error_message(&error, r));
                return r;
        }

        r = sd_bus_message_skip(reply, with_extensions ? "saya{say}" : "say");
        if (r < 0)
                return bus_log_parse_error(r);
        r = sd_bus_message_enter_container(reply, 'a', "{say}");
        if (r < 0)
                return bus_log_parse_error(r);
        for (;;) {
                const char *name;

                r = sd_bus_message_enter_container(reply, 'e', "say");
                if (r < 0)
                        return bus_log_parse_error(r);
                if (r == 0)
                        break;
                r = sd_bus_message_read(reply, "s", &name);
                if (r >= 0)
                        r = sd_bus_message_skip(reply, "ay");
                if (r >= 0)
                        r = sd_bus_message_exit_container(reply);
                if (r < 0)
                        return bus_log_parse_error(r);

                if (strv_extend(&names, name) < 0)
                        return log_oom();
        }

        *ret = TAKE_PTR(names);
        return 0;
}

/* detach --enable/--now: stop (always waiting, or the detach would find the units active) and
 * disable the image's units before the files go away. */
static void stop_disable(sd_bus *bus, ServiceManager *sm, const char *image, char **extensions, char *argv[]) {
        _cleanup_strv_free_ char **matches = NULL, **units = NULL;

        if (!arg_enable && !arg_now)
                return;

        if (image_arg_matches(argv[1], argv + 2, /* allow_all= */ true, &matches) < 0)
                return;
        if (image_unit_names(bus, image, extensions, matches, &units) < 0)
                return;

        if (arg_now) {
                STRV_FOREACH(u, units)
                        (void) service_manager_queue(sm, "StopUnit", *u);
                (void) service_manager_wait(sm, arg_timeout_usec);
        }

        if (arg_enable)
                STRV_FOREACH(u, units)
                        (void) service_manager_enable_disable(sm, *u, /* enable= */ false);
}

static int call_detach(sd_bus *bus, const char *image, char **extensions, sd_bus_message **ret_reply) {
        _cleanup_bus_message_ sd_bus_message *m = NULL;
        bool with_extensions = use_with_extensions(/* reattach= */ false, extensions);
        int r;

        r = portable_message_new(bus, with_extensions ? "DetachImageWithExtensions" : "DetachImage", &m);
        if (r < 0)
                return r;

        r = sd_bus_message_append(m, "s", image);
        if (r >= 0) {
                if (with_extensions) {
                        r = sd_bus_message_append_strv(m, extensions);
                        if (r >= 0)
                                r = sd_bus_message_append(m, "t", operation_flags(/* reattach= */ false));
                } else
                        r = sd_bus_message_append(m, "b", (int) arg_runtime);
        }
        if (r < 0)
                return bus_log_create_error(r);

        return portable_call(bus, m, PORTABLE_OPERATION_TIMEOUT_USEC, ret_reply);
}

int verb_detach(int argc, char *argv[]) {
        _cleanup_bus_ sd_bus *bus = NULL;
        _cleanup_bus_message_ sd_bus_message *reply = NULL;
        _cleanup_(service_manager_freep) ServiceManager *sm = NULL;
        _cleanup_free_ char *image = NULL;
        _cleanup_strv_free_ char **extensions = NULL;
        ChangeList changes = {};
        int r;

        /* The image and its extensions may be gone already: they only have to match the markers. */
        r = image_arg_resolve(argv[1], /* allow_missing= */ true, &image);
        if (r < 0)
                return r;
        r = image_arg_resolve_extensions(/* allow_missing= */ true, &extensions);
        if (r < 0)
                return r;

        r = portable_bus_connect(&bus);
        if (r < 0)
                return r;
        (void) polkit_agent_open_if_enabled();
        r = service_manager_new(bus, &sm);
        if (r < 0)
                return r;

        stop_disable(bus, sm, image, extensions, argv);

        r = call_detach(bus, image, extensions, &reply);
        if (r < 0)
                return r;

        r = change_list_read(reply, &changes);
        if (r < 0)
                return r;

        if (arg_reload)
                service_manager_reload(sm);

        if (arg_json != JSON_FORMAT_OFF)
                r = print_changes_json(&changes, NULL);
        else
                change_list_print(&changes);

        change_list_done(&changes);
        return r;
}
