/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdio.h>

#include "apply.h"
#include "batch.h"
#include "bus-call.h"
#include "changes.h"
#include "log.h"
#include "path-util.h"
#include "plan.h"
#include "polkit-agent.h"
#include "portable-bus.h"
#include "portablectl.h"
#include "strv.h"
#include "systemd-jobs.h"
#include "verbs.h"

/* The plain methods carry no flags and no extensions, so --force, --rollback, --dry-run and
 * --extension need the *WithExtensions variants (with an empty extension list without
 * --extension). Otherwise the plain methods are used, which every daemon version knows and the
 * system bus policy allows for unprivileged callers. */
static bool use_with_extensions(const ImageJob *j, bool reattach) {
        return j->force || (reattach && arg_rollback) || arg_dry_run || !strv_isempty(j->extensions);
}

/* --force relaxes both the unit checks and how an extension's release file is found, as
 * systemd's client does. */
static uint64_t operation_flags(const ImageJob *j, bool reattach) {
        return (j->runtime ? PORTABLE_FLAG_RUNTIME : 0) |
               (j->force ? PORTABLE_FLAG_FORCE_ATTACH | PORTABLE_FLAG_FORCE_EXTENSION : 0) |
               (reattach && arg_rollback ? PORTABLE_FLAG_KEEP_PREVIOUS : 0) |
               (arg_dry_run ? PORTABLE_FLAG_DRY_RUN : 0);
}

/* A profile given by path only reaches our daemon, through a *WithOptions method: systemd's
 * would take it for a profile name it does not have, and attach without any profile. */
static bool profile_is_path(const char *profile) {
        return strchr(profile, '/');
}

/* AttachImage/ReattachImage(s image, as matches, s profile, b runtime, s copy_mode), or with
 * --force, --rollback, --dry-run or --extension the *WithExtensions form (s image, as extensions,
 * as matches, s profile, s copy_mode, t flags), or with --image-policy= or a profile path our own
 * *WithOptions form, which adds "a{sv} options" to that. */
static int call_attach(sd_bus *bus, const ImageJob *j, bool reattach, sd_bus_message **ret_reply,
                       sd_bus_error *reterr) {
        _cleanup_bus_message_ sd_bus_message *m = NULL;
        _cleanup_free_ char *method = NULL;
        bool with_options = j->image_policy || profile_is_path(j->profile);
        bool extended = with_options || use_with_extensions(j, reattach);
        int r;

        if (asprintf(&method, "%s%s", reattach ? "ReattachImage" : "AttachImage",
                     with_options ? "WithOptions" : extended ? "WithExtensions" : "") < 0)
                return log_oom();

        r = portable_message_new(bus, method, &m);
        if (r < 0)
                return r;

        r = sd_bus_message_append(m, "s", j->image);
        if (r >= 0 && extended)
                r = sd_bus_message_append_strv(m, j->extensions);
        if (r >= 0)
                r = sd_bus_message_append_strv(m, j->matches);
        if (r >= 0)
                r = sd_bus_message_append(m, "s", j->profile);
        if (r >= 0) {
                if (extended)
                        r = sd_bus_message_append(m, "st", j->copy_mode, operation_flags(j, reattach));
                else
                        r = sd_bus_message_append(m, "bs", (int) j->runtime, j->copy_mode);
        }
        if (r < 0)
                return bus_log_create_error(r);
        if (with_options) {
                r = portable_append_options(m, j->image_policy);
                if (r < 0)
                        return r;
        }

        return portable_call_quiet(bus, m, ret_reply, reterr);
}

/* Calls each image in turn and stops at the first that fails: what came before stays attached
 * (each image is one transaction of its own), and the caller finishes it. */
static int attach_all(sd_bus *bus, const Batch *b, bool reattach, JobResult *results) {
        int r;

        for (size_t i = 0; i < b->n; i++) {
                _cleanup_bus_error_ sd_bus_error error = SD_BUS_ERROR_NULL;
                JobResult *res = &results[i];

                r = call_attach(bus, &b->jobs[i], reattach, &res->reply, &error);
                if (r < 0) {
                        if (arg_dry_run && error_is_unknown_flag(&error))
                                return log_error_errno(-EOPNOTSUPP,
                                                       "--dry-run needs portabled: the daemon on the bus refused the "
                                                       "dry-run flag (systemd-portabled has none). Nothing was changed.");
                        if (sd_bus_error_has_name(&error, SD_BUS_ERROR_UNKNOWN_METHOD))
                                return log_error_errno(-EOPNOTSUPP,
                                                       "Attaching '%s' needs portabled: a profile path and --image-policy= "
                                                       "go through its %sImageWithOptions, which the daemon on the bus does "
                                                       "not have (systemd-portabled has none). Nothing was changed.",
                                                       b->jobs[i].image, reattach ? "Reattach" : "Attach");
                        return log_error_errno(r, "%s '%s' failed: %s", reattach ? "Reattaching" : "Attaching",
                                               b->jobs[i].image, bus_error_message(&error, r));
                }

                /* For reattach the first list holds what was removed and not re-added, the second
                 * what was added or updated. */
                if (reattach) {
                        r = change_list_read(res->reply, &res->removed);
                        if (r < 0)
                                return r;
                }
                r = change_list_read(res->reply, &res->changes);
                if (r < 0)
                        return r;
                res->done = true;
        }
        return 0;
}

static bool change_installs_unit(const Change *c) {
        return (streq(c->type, "symlink") || streq(c->type, "copy")) && attached_unit_name(c->path);
}

static bool changes_contain_unit(const ChangeList *l, const char *unit) {
        const char *name = path_last_component(unit);

        for (size_t i = 0; i < l->n; i++)
                if (change_installs_unit(&l->changes[i]) && streq(path_last_component(l->changes[i].path), name))
                        return true;
        return false;
}

/* What --enable and --now do once the files are there: attach enables and starts the units it
 * installed; reattach stops the units that went away for good, enables the units it installed,
 * and restarts them (a restart keeps what a stop would lose, e.g. the fd store). Paths for
 * enabling (systemd finds the file in the attached directory by them), names for the rest. */
static int collect_actions(const Batch *b, const JobResult *results, bool reattach, PlanActions *a) {
        for (size_t i = 0; i < b->n && results[i].done; i++) {
                const ImageJob *j = &b->jobs[i];
                const JobResult *res = &results[i];

                for (size_t k = 0; reattach && j->now && k < res->removed.n; k++) {
                        const Change *c = &res->removed.changes[k];

                        if (streq(c->type, "unlink") && attached_unit_name(c->path) &&
                            !changes_contain_unit(&res->changes, c->path) &&
                            strv_extend(&a->stop, attached_unit_name(c->path)) < 0)
                                return log_oom();
                }
                for (size_t k = 0; k < res->changes.n; k++) {
                        const Change *c = &res->changes.changes[k];

                        if (!change_installs_unit(c))
                                continue;
                        if (j->enable && strv_extend(&a->enable, c->path) < 0)
                                return log_oom();
                        if (j->now && strv_extend(reattach ? &a->restart : &a->start, attached_unit_name(c->path)) < 0)
                                return log_oom();
                }
        }
        return 0;
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

/* Whether the job that made path runs its units in runtime mode: the enable call says so. */
static bool runtime_of(const Batch *b, const JobResult *results, const char *path) {
        for (size_t i = 0; i < b->n && results[i].done; i++)
                for (size_t k = 0; k < results[i].changes.n; k++)
                        if (streq(results[i].changes.changes[k].path, path))
                                return b->jobs[i].runtime;
        return arg_runtime;
}

/* The order matters (upstream issue 39320): units that go are stopped while PID 1 still knows
 * them, the enablement links are made before the reload, so that the reload sees them and leaves
 * no target marked as needing one, and only then are units started. */
static int apply_actions(ServiceManager *sm, const Batch *b, const JobResult *results, PlanActions *a,
                         char * const *units, bool force_reload) {
        bool enablement_changes = false;
        int r;

        STRV_FOREACH(u, a->stop)
                (void) service_manager_queue(sm, "StopUnit", *u);
        if (!strv_isempty(a->stop))
                (void) service_manager_wait(sm, arg_timeout_usec);

        STRV_FOREACH(u, a->enable)
                if (service_manager_enable_disable(sm, *u, /* enable= */ true, runtime_of(b, results, *u)) > 0)
                        enablement_changes = true;

        if (force_reload) {
                /* The rollback must be able to restart what it puts back. */
                a->reload = (ReloadDecision) { .reload = true, .reason = strdup("--rollback was given") };
                if (!a->reload.reason)
                        return log_oom();
        } else {
                r = reload_decide(sm, units, enablement_changes, &a->reload);
                if (r < 0)
                        return r;
        }
        reload_apply(sm, &a->reload);

        STRV_FOREACH(u, a->start)
                (void) service_manager_queue(sm, "StartUnit", *u);
        STRV_FOREACH(u, a->restart)
                (void) service_manager_queue(sm, "RestartUnit", *u);
        if (strv_isempty(a->start) && strv_isempty(a->restart))
                return 0;
        if (!arg_no_block)
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
                if (streq(undone.changes[i].type, "unlink") && attached_unit_name(undone.changes[i].path))
                        (void) service_manager_queue(sm, "StopUnit", undone.changes[i].path);
        (void) service_manager_wait(sm, arg_timeout_usec);

        service_manager_reload(sm);
        for (size_t i = 0; i < undone.n; i++)
                if (streq(undone.changes[i].type, "write") && attached_unit_name(undone.changes[i].path))
                        (void) service_manager_queue(sm, "RestartUnit", undone.changes[i].path);
        r = service_manager_wait(sm, arg_timeout_usec);
        change_list_done(&undone);
        if (r < 0)
                return log_error_errno(r, "The previous version is back, but not all of its units came up again.");
        log_info("Rolled back: the previous version is attached and running again.");
        return 0;
}

/* reattach --rollback: keep the new version if its units came up (k >= 0), else put the old one
 * back. */
static int finish_rollback(sd_bus *bus, ServiceManager *sm, const char *image, int k) {
        _cleanup_bus_message_ sd_bus_message *kept_reply = NULL;
        ChangeList kept = {};

        if (k < 0) {
                log_error("The new version of %s did not come up; rolling back.", image);
                (void) roll_back(bus, sm, image);
                return k;
        }
        k = call_finish_reattach(bus, image, /* keep= */ true, &kept_reply, &kept);
        if (k >= 0 && !arg_quiet)
                log_info("The new version came up and is kept.");
        change_list_done(&kept);
        return k;
}

static int attach_or_reattach(int argc, char *argv[], bool reattach) {
        _cleanup_bus_ sd_bus *bus = NULL;
        _cleanup_(service_manager_freep) ServiceManager *sm = NULL;
        _cleanup_(batch_done) Batch b = {};
        _cleanup_(plan_actions_done) PlanActions actions = {};
        _cleanup_strv_free_ char **units = NULL;
        JobResult *results = NULL;
        bool rollback = reattach && arg_rollback;
        int r, k;

        if (arg_rollback && (!reattach || !arg_now || arg_no_block))
                return log_error_errno(-EINVAL, "--rollback is for reattach --now, which waits for the units.");
        if (arg_rollback && arg_dry_run)
                return log_error_errno(-EINVAL, "--rollback and --dry-run exclude each other.");
        if (arg_rollback && streq(arg_copy_mode, "mixed"))
                return log_error_errno(-EINVAL, "--rollback and --copy=mixed exclude each other.");

        r = portable_bus_connect(&bus);
        if (r < 0)
                return r;
        r = batch_build(bus, reattach ? BATCH_REATTACH : BATCH_ATTACH, argv + 1, (size_t) argc - 1, &b);
        if (r < 0)
                return r;
        if (rollback && b.n > 1)
                return log_error_errno(-EINVAL, "--rollback reattaches one image at a time.");

        (void) polkit_agent_open_if_enabled();
        r = service_manager_new(bus, &sm);
        if (r < 0)
                return r;

        results = calloc(b.n, sizeof(JobResult));
        if (!results)
                return log_oom();

        r = attach_all(bus, &b, reattach, results);
        /* What did get attached is finished properly (reload, enable, start) even if a later
         * image failed: the host must match what was printed. */
        for (size_t i = 0; i < b.n && results[i].done; i++) {
                k = units_of_changes(&results[i].removed, &units);
                if (k >= 0)
                        k = units_of_changes(&results[i].changes, &units);
                if (k < 0) {
                        r = k;
                        goto finish;
                }
        }
        k = collect_actions(&b, results, reattach, &actions);
        if (k < 0) {
                r = k;
                goto finish;
        }

        if (arg_dry_run) {
                if (r < 0)
                        goto finish;
                /* Enabling may well change links: a dry run cannot ask systemd without doing it. */
                r = reload_decide(sm, units, /* enablement_changes= */ !strv_isempty(actions.enable), &actions.reload);
                if (r >= 0)
                        r = plan_print(&b, results, reattach, &actions);
                goto finish;
        }

        k = results_print(&b, results, reattach);
        if (k < 0 && r >= 0)
                r = k;

        k = apply_actions(sm, &b, results, &actions, units, /* force_reload= */ rollback);
        if (rollback && b.jobs[0].now && results[0].done)
                k = finish_rollback(bus, sm, b.jobs[0].image, k);
        if (r >= 0)
                r = k;

finish:
        job_results_free(results, b.n);
        return r < 0 ? r : (r > 0 ? -EEXIST : 0);
}

int verb_attach(int argc, char *argv[]) {
        return attach_or_reattach(argc, argv, /* reattach= */ false);
}

int verb_reattach(int argc, char *argv[]) {
        return attach_or_reattach(argc, argv, /* reattach= */ true);
}
