/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdio.h>

#include "apply.h"
#include "bus-call.h"
#include "log.h"
#include "output.h"
#include "path-util.h"
#include "portablectl.h"
#include "strv.h"
#include "unit-match.h"

void job_results_free(JobResult *r, size_t n) {
        if (!r)
                return;
        for (size_t i = 0; i < n; i++) {
                change_list_done(&r[i].removed);
                change_list_done(&r[i].changes);
                sd_bus_message_unref(r[i].reply);
        }
        free(r);
}

int portable_call_quiet(sd_bus *bus, sd_bus_message *m, sd_bus_message **ret_reply, sd_bus_error *reterr) {
        return sd_bus_call(bus, m, PORTABLE_OPERATION_TIMEOUT_USEC, reterr, ret_reply);
}

bool error_is_unknown_flag(const sd_bus_error *e) {
        return sd_bus_error_has_name(e, SD_BUS_ERROR_INVALID_ARGS) && e->message &&
               strstr(e->message, "Invalid 'flags' parameter");
}

/* "…/foo.service" and "…/foo.service.d/…" are about foo.service; anything else (the attached
 * directory, an image link) about no unit. */
static char *unit_of_path(const char *path) {
        const char *d = strstr(path, ".d/");
        const char *start;

        if (d) {
                start = d;
                while (start > path && start[-1] != '/')
                        start--;
                return strndup(start, d - start);
        }
        return strdup(path_last_component(path));
}

int units_of_changes(const ChangeList *l, char ***units) {
        for (size_t i = 0; i < l->n; i++) {
                _cleanup_free_ char *name = NULL;
                const char *p = l->changes[i].path;

                if (streq(l->changes[i].type, "conflict"))
                        name = strdup(p);
                else {
                        /* "foo.service.d" itself */
                        if (endswith(p, ".d"))
                                name = strndup(path_last_component(p), strlen(path_last_component(p)) - 2);
                        else
                                name = unit_of_path(p);
                }
                if (!name)
                        return log_oom();
                if (!unit_name_is_valid(name, UNIT_NAME_ANY))
                        continue;
                if (strv_extend_unique(units, name) < 0)
                        return log_oom();
        }
        return 0;
}

void reload_decision_done(ReloadDecision *d) {
        d->reason = mfree(d->reason);
}

int reload_decide(ServiceManager *sm, char * const *units, bool enablement_changes, ReloadDecision *ret) {
        _cleanup_free_ char *loaded = NULL;
        char *reason = NULL;
        int r;

        if (!arg_reload) {
                *ret = (ReloadDecision) { .reason = strdup("--no-reload was given") };
                return ret->reason ? 0 : log_oom();
        }
        if (enablement_changes) {
                *ret = (ReloadDecision) { .reload = true, .reason = strdup("the enablement of units changes") };
                return ret->reason ? 0 : log_oom();
        }

        r = service_manager_loaded_unit(sm, units, &loaded);
        if (r < 0)
                /* Not knowing is no reason to leave PID 1 with stale units. */
                r = asprintf(&reason, "could not ask the service manager which units it holds");
        else if (r > 0)
                r = asprintf(&reason, "the service manager holds %s", loaded);
        else {
                *ret = (ReloadDecision) {
                        .reason = strdup("the service manager holds none of the units; it reads them when they are needed"),
                };
                return ret->reason ? 0 : log_oom();
        }
        if (r < 0)
                return log_oom();
        *ret = (ReloadDecision) { .reload = true, .reason = reason };
        return 0;
}

void reload_apply(ServiceManager *sm, const ReloadDecision *d) {
        log_debug("%s the service manager: %s.", d->reload ? "Reloading" : "Not reloading", strna(d->reason));
        if (d->reload)
                service_manager_reload(sm);
}

static struct json_object *job_to_json(const ImageJob *j, const JobResult *r, bool reattach) {
        struct json_object *o = json_object_new_object();

        if (!o)
                return NULL;
        json_object_object_add(o, "image", json_object_new_string(j->image));
        if (reattach) {
                json_object_object_add(o, "removed", change_list_to_json(&r->removed));
                json_object_object_add(o, "updated", change_list_to_json(&r->changes));
        } else
                json_object_object_add(o, "changes", change_list_to_json(&r->changes));
        return o;
}

int results_print(const Batch *b, const JobResult *results, bool reattach) {
        struct json_object *array;

        for (size_t i = 0; i < b->n && results[i].done; i++) {
                if (arg_json == JSON_FORMAT_OFF) {
                        change_list_print(&results[i].removed);
                        change_list_print(&results[i].changes);
                }
                if (streq_ptr(b->jobs[i].copy_mode, "mixed"))
                        change_list_warn_uncopied(&results[i].changes);
        }
        if (arg_json == JSON_FORMAT_OFF)
                return 0;

        if (b->n == 1) {
                struct json_object *o;

                if (!results[0].done)
                        return 0;
                if (!reattach)
                        return json_print_and_put(change_list_to_json(&results[0].changes));
                o = json_object_new_object();
                if (!o)
                        return log_oom();
                json_object_object_add(o, "removed", change_list_to_json(&results[0].removed));
                json_object_object_add(o, "updated", change_list_to_json(&results[0].changes));
                return json_print_and_put(o);
        }

        array = json_object_new_array();
        if (!array)
                return log_oom();
        for (size_t i = 0; i < b->n && results[i].done; i++)
                json_object_array_add(array, job_to_json(&b->jobs[i], &results[i], reattach));
        return json_print_and_put(array);
}
