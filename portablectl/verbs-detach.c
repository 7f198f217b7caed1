/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdio.h>

#include "apply.h"
#include "batch.h"
#include "bus-call.h"
#include "changes.h"
#include "image-arg.h"
#include "log.h"
#include "plan.h"
#include "polkit-agent.h"
#include "portable-bus.h"
#include "portablectl.h"
#include "strv.h"
#include "systemd-jobs.h"
#include "unit-match.h"
#include "verbs.h"

static bool use_with_extensions(const ImageJob *j, bool dry_run) {
        return j->force || dry_run || !strv_isempty(j->extensions);
}

/* DetachImage(s image, b runtime), or DetachImageWithExtensions(s image, as extensions, t flags)
 * when flags or extensions are needed. */
static int call_detach(sd_bus *bus, const ImageJob *j, uint64_t extra_flags, sd_bus_message **ret_reply,
                       sd_bus_error *reterr) {
        _cleanup_bus_message_ sd_bus_message *m = NULL;
        bool dry_run = extra_flags & PORTABLE_FLAG_DRY_RUN, with_extensions = use_with_extensions(j, dry_run);
        uint64_t flags = (j->runtime ? PORTABLE_FLAG_RUNTIME : 0) |
                         (j->force ? PORTABLE_FLAG_FORCE_ATTACH | PORTABLE_FLAG_FORCE_EXTENSION : 0) | extra_flags;
        int r;

        r = portable_message_new(bus, with_extensions ? "DetachImageWithExtensions" : "DetachImage", &m);
        if (r < 0)
                return r;

        r = sd_bus_message_append(m, "s", j->image);
        if (r >= 0) {
                if (with_extensions) {
                        r = sd_bus_message_append_strv(m, j->extensions);
                        if (r >= 0)
                                r = sd_bus_message_append(m, "t", flags);
                } else
                        r = sd_bus_message_append(m, "b", (int) j->runtime);
        }
        if (r < 0)
                return bus_log_create_error(r);

        return portable_call_quiet(bus, m, ret_reply, reterr);
}

/* The unit names GetImageMetadata[WithExtensions] reports for the image (and extensions) and
 * matches: how systemd's portablectl finds the units to stop. The image must still exist. */
static int image_unit_names(sd_bus *bus, const ImageJob *j, char ***ret) {
        _cleanup_bus_message_ sd_bus_message *m = NULL, *reply = NULL;
        _cleanup_bus_error_ sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_strv_free_ char **names = NULL, **matches = NULL;
        bool with_extensions = !strv_isempty(j->extensions);
        int r;

        r = image_arg_matches(j->image_arg, j->prefixes, /* allow_all= */ true, &matches);
        if (r < 0)
                return r;

        r = portable_message_new(bus, with_extensions ? "GetImageMetadataWithExtensions" : "GetImageMetadata", &m);
        if (r < 0)
                return r;
        r = sd_bus_message_append(m, "s", j->image);
        if (r >= 0 && with_extensions)
                r = sd_bus_message_append_strv(m, j->extensions);
        if (r >= 0)
                r = sd_bus_message_append_strv(m, matches);
        if (r >= 0 && with_extensions)
                r = sd_bus_message_append(m, "t", j->force ? PORTABLE_FLAG_FORCE_EXTENSION : 0);
        if (r < 0)
                return bus_log_create_error(r);

        r = sd_bus_call(bus, m, 0, &error, &reply);
        if (r < 0)
                return log_warning_errno(r, "Failed to look up the unit files of image '%s', not stopping or disabling them: %s",
                                         j->image, bus_error_message(&error, r));

        r = sd_bus_message_skip(reply, with_extensions ? "saya{say}" : "say");
        if (r >= 0)
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

/* The attached unit files a detach plan removes, limited to the PREFIX arguments if any. */
static int planned_units(const ImageJob *j, const ChangeList *plan, char ***units) {
        for (size_t i = 0; i < plan->n; i++) {
                const Change *c = &plan->changes[i];
                const char *name = streq(c->type, "unlink") ? attached_unit_name(c->path) :
                                   streq(c->type, "conflict") ? c->path : NULL;

                if (!name || (j->prefixes && !unit_name_matches_prefixes(name, j->prefixes)))
                        continue;
                if (strv_extend_unique(units, name) < 0)
                        return log_oom();
        }
        return 0;
}

/* The units a detach removes, to stop, disable or clean them first. Our daemon says it without
 * reading the image (which may be gone) by planning the detach itself (PORTABLE_FLAG_DRY_RUN, and
 * FORCE_ATTACH, or the running units would be conflicts instead of a plan); systemd's refuses
 * the flag, and then the image's metadata says, as systemd's portablectl has it. Failures are
 * warned about only: detaching must still work. */
static int units_to_act_on(sd_bus *bus, const ImageJob *j, bool *daemon_plans, char ***units) {
        _cleanup_bus_message_ sd_bus_message *reply = NULL;
        _cleanup_bus_error_ sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_strv_free_ char **names = NULL;
        ChangeList plan = {};
        int r;

        if (*daemon_plans) {
                r = call_detach(bus, j, PORTABLE_FLAG_DRY_RUN | PORTABLE_FLAG_FORCE_ATTACH, &reply, &error);
                if (r >= 0) {
                        r = change_list_read(reply, &plan);
                        if (r >= 0)
                                r = planned_units(j, &plan, units);
                        change_list_done(&plan);
                        return r;
                }
                if (!error_is_unknown_flag(&error)) {
                        log_warning("Failed to find the units of image '%s', not stopping or disabling them: %s",
                                    j->image, bus_error_message(&error, r));
                        return 0;
                }
                *daemon_plans = false;
        }

        if (image_unit_names(bus, j, &names) < 0)
                return 0;
        STRV_FOREACH(n, names)
                if (strv_extend_unique(units, *n) < 0)
                        return log_oom();
        return 0;
}

static int dry_run(sd_bus *bus, ServiceManager *sm, const Batch *b, JobResult *results) {
        _cleanup_(plan_actions_done) PlanActions a = {};
        _cleanup_strv_free_ char **units = NULL;
        int r;

        for (size_t i = 0; i < b->n; i++) {
                _cleanup_bus_error_ sd_bus_error error = SD_BUS_ERROR_NULL;
                _cleanup_strv_free_ char **own = NULL;
                const ImageJob *j = &b->jobs[i];

                /* With --now the units are stopped first: they are not in the way then. */
                r = call_detach(bus, j, PORTABLE_FLAG_DRY_RUN | (j->now ? PORTABLE_FLAG_FORCE_ATTACH : 0),
                                &results[i].reply, &error);
                if (r < 0 && error_is_unknown_flag(&error))
                        return log_error_errno(-EOPNOTSUPP,
                                               "--dry-run needs portabled: the daemon on the bus refused the dry-run flag "
                                               "(systemd-portabled has none). Nothing was changed.");
                if (r < 0)
                        return log_error_errno(r, "Detaching '%s' would fail: %s", j->image, bus_error_message(&error, r));
                r = change_list_read(results[i].reply, &results[i].changes);
                if (r < 0)
                        return r;
                results[i].done = true;

                r = planned_units(j, &results[i].changes, &own);
                if (r < 0)
                        return r;
                if ((j->now && strv_extend_strv(&a.stop, own) < 0) ||
                    (j->enable && strv_extend_strv(&a.disable, own) < 0) ||
                    (arg_clean && strv_extend_strv(&a.clean, own) < 0))
                        return log_oom();
                r = units_of_changes(&results[i].changes, &units);
                if (r < 0)
                        return r;
        }

        r = reload_decide(sm, units, /* enablement_changes= */ !strv_isempty(a.disable), &a.reload);
        if (r < 0)
                return r;
        if (a.reload.reload && !strv_isempty(a.stop)) {
                char *reason = NULL;

                /* What is running now is held now; once stopped it may be let go. */
                if (asprintf(&reason, "%s (checked again after stopping)", a.reload.reason) < 0)
                        return log_oom();
                free_and_replace(a.reload.reason, reason);
        }
        return plan_print(b, results, /* reattach= */ false, &a);
}

int verb_detach(int argc, char *argv[]) {
        _cleanup_bus_ sd_bus *bus = NULL;
        _cleanup_(service_manager_freep) ServiceManager *sm = NULL;
        _cleanup_(batch_done) Batch b = {};
        _cleanup_(reload_decision_done) ReloadDecision reload = {};
        _cleanup_strv_free_ char **units = NULL;
        JobResult *results = NULL;
        char ***own = NULL;
        bool daemon_plans = true, enablement_changes = false;
        int r = 0, k;

        r = portable_bus_connect(&bus);
        if (r < 0)
                return r;
        r = batch_build(bus, BATCH_DETACH, argv + 1, (size_t) argc - 1, &b);
        if (r < 0)
                return r;
        (void) polkit_agent_open_if_enabled();
        r = service_manager_new(bus, &sm);
        if (r < 0)
                return r;
        results = calloc(b.n, sizeof(JobResult));
        if (!results)
                return log_oom();

        if (arg_dry_run) {
                r = dry_run(bus, sm, &b, results);
                goto finish;
        }

        /* Stop (always waiting: the detach would find them active), disable and clean the units
         * of every image before any of their files go. */
        own = calloc(b.n, sizeof(char **));
        if (!own) {
                r = log_oom();
                goto finish;
        }
        for (size_t i = 0; i < b.n; i++) {
                const ImageJob *j = &b.jobs[i];

                if (!j->now && !j->enable && !arg_clean)
                        continue;
                r = units_to_act_on(bus, j, &daemon_plans, &own[i]);
                if (r < 0)
                        goto finish;
                STRV_FOREACH(u, own[i])
                        if (j->now)
                                (void) service_manager_queue(sm, "StopUnit", *u);
        }
        (void) service_manager_wait(sm, arg_timeout_usec);
        for (size_t i = 0; i < b.n; i++)
                STRV_FOREACH(u, own[i]) {
                        if (b.jobs[i].enable &&
                            service_manager_enable_disable(sm, *u, /* enable= */ false, b.jobs[i].runtime) > 0)
                                enablement_changes = true;
                        if (arg_clean)
                                service_manager_clean(sm, *u);
                }

        for (size_t i = 0; i < b.n; i++) {
                _cleanup_bus_error_ sd_bus_error error = SD_BUS_ERROR_NULL;

                r = call_detach(bus, &b.jobs[i], 0, &results[i].reply, &error);
                if (r < 0) {
                        log_error_errno(r, "Detaching '%s' failed: %s", b.jobs[i].image, bus_error_message(&error, r));
                        break;
                }
                r = change_list_read(results[i].reply, &results[i].changes);
                if (r < 0)
                        break;
                results[i].done = true;
                k = units_of_changes(&results[i].changes, &units);
                if (k < 0) {
                        r = k;
                        break;
                }
        }

        k = reload_decide(sm, units, enablement_changes, &reload);
        if (k >= 0)
                reload_apply(sm, &reload);
        else if (r >= 0)
                r = k;

        k = results_print(&b, results, /* reattach= */ false);
        if (k < 0 && r >= 0)
                r = k;

finish:
        for (size_t i = 0; own && i < b.n; i++)
                strv_free(own[i]);
        free(own);
        job_results_free(results, b.n);
        return r < 0 ? r : (r > 0 ? -EEXIST : 0);
}
