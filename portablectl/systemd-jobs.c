/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "bus-call.h"
#include "changes.h"
#include "log.h"
#include "path-util.h"
#include "portable-bus.h"
#include "portablectl.h"
#include "strv.h"
#include "systemd-jobs.h"
#include "unit-match.h"

/* Reloading re-reads every unit file on the host: give it as long as systemctl does. */
#define RELOAD_TIMEOUT_USEC (UINT64_C(180) * UINT64_C(1000000))

typedef struct Job {
        char *path;
        char *unit;
        char *method;
} Job;

struct ServiceManager {
        sd_bus *bus;
        bool absent;
        sd_bus_slot *job_removed_slot;
        Job *jobs;
        size_t n_jobs;
        int job_error;
        char **failed; /* units whose job did not end in "done", or did not end in time */
};

int service_manager_new(sd_bus *bus, ServiceManager **ret) {
        ServiceManager *m = calloc(1, sizeof(ServiceManager));

        if (!m)
                return log_oom();
        m->bus = sd_bus_ref(bus);
        *ret = m;
        return 0;
}

static void job_done(Job *j) {
        free(j->path);
        free(j->unit);
        free(j->method);
}

ServiceManager *service_manager_free(ServiceManager *m) {
        if (!m)
                return NULL;

        for (size_t i = 0; i < m->n_jobs; i++)
                job_done(&m->jobs[i]);
        free(m->jobs);
        strv_free(m->failed);
        sd_bus_slot_unref(m->job_removed_slot);
        sd_bus_unref(m->bus);
        return mfree(m);
}

/* True (and said once) if the failure means that there is no service manager on the bus at all,
 * as opposed to the service manager refusing. */
static bool check_absent(ServiceManager *m, const sd_bus_error *error, const char *what) {
        if (!sd_bus_error_has_names(error, SD_BUS_ERROR_SERVICE_UNKNOWN, SD_BUS_ERROR_NAME_HAS_NO_OWNER))
                return false;

        m->absent = true;
        if (arg_quiet)
                log_debug("Not %s: no service manager on the bus.", what);
        else
                log_notice("Not %s: no service manager on the bus.", what);
        return true;
}

static int method_new(ServiceManager *m, const char *method, sd_bus_message **ret) {
        int r;

        r = sd_bus_message_new_method_call(m->bus, ret, SYSTEMD_BUS_NAME, SYSTEMD_BUS_PATH,
                                           SYSTEMD_BUS_MANAGER_INTERFACE, method);
        if (r < 0)
                return bus_log_create_error(r);

        /* Enabling and starting may need authorization just like the portable1 call did. */
        (void) sd_bus_message_set_allow_interactive_authorization(*ret, arg_ask_password);
        return 0;
}

void service_manager_reload(ServiceManager *m) {
        _cleanup_bus_message_ sd_bus_message *msg = NULL;
        _cleanup_bus_error_ sd_bus_error error = SD_BUS_ERROR_NULL;
        int r;

        if (m->absent)
                return;

        if (method_new(m, "Reload", &msg) < 0)
                return;

        r = sd_bus_call(m->bus, msg, RELOAD_TIMEOUT_USEC, &error, NULL);
        if (r < 0 && !check_absent(m, &error, "reloading"))
                log_warning("Failed to reload daemon: %s", bus_error_message(&error, r));
}

int service_manager_enable_disable(ServiceManager *m, const char *unit, bool enable, bool runtime) {
        _cleanup_bus_message_ sd_bus_message *msg = NULL, *reply = NULL;
        _cleanup_bus_error_ sd_bus_error error = SD_BUS_ERROR_NULL;
        uint64_t flags = SYSTEMD_UNIT_FILE_PORTABLE | (runtime ? SYSTEMD_UNIT_FILE_RUNTIME : 0);
        const char *files[] = { unit, NULL };
        ChangeList changes = {};
        int r;

        if (m->absent)
                return 0;

        r = method_new(m, enable ? "EnableUnitFilesWithFlags" : "DisableUnitFilesWithFlags", &msg);
        if (r < 0)
                return r;

        r = sd_bus_message_append_strv(msg, (char **) files);
        if (r < 0)
                return bus_log_create_error(r);
        r = sd_bus_message_append(msg, "t", flags);
        if (r < 0)
                return bus_log_create_error(r);

        r = sd_bus_call(m->bus, msg, 0, &error, &reply);
        if (r < 0) {
                if (check_absent(m, &error, enable ? "enabling units" : "disabling units"))
                        return 0;
                return log_error_errno(r, "Failed to %s the portable service %s: %s",
                                       enable ? "enable" : "disable", unit, bus_error_message(&error, r));
        }

        if (enable) {
                int carries_install_info;

                r = sd_bus_message_read(reply, "b", &carries_install_info);
                if (r < 0)
                        return bus_log_parse_error(r);
                if (!carries_install_info && !arg_quiet)
                        log_notice("Unit file %s has no installation information, nothing enabled.", unit);
        }

        r = change_list_read(reply, &changes);
        if (r < 0)
                return r;
        change_list_print_systemd(&changes);
        r = (int) MIN(changes.n, (size_t) INT_MAX);
        change_list_done(&changes);
        return r;
}

/* What ListUnitsByPatterns() takes for a unit name: the name itself (PID 1 matches without
 * escapes, and unit names cannot hold the other special characters of fnmatch()), or for a
 * template every instance of it. */
static char *unit_pattern(const char *name) {
        const char *at = strchr(name, '@');
        char *p;

        if (at && at[1] == '.') {
                if (asprintf(&p, "%.*s*%s", (int) (at - name + 1), name, at + 1) < 0)
                        return NULL;
                return p;
        }
        return strdup(name);
}

int service_manager_loaded_unit(ServiceManager *m, char * const *units, char **ret_name) {
        _cleanup_bus_message_ sd_bus_message *msg = NULL, *reply = NULL;
        _cleanup_bus_error_ sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_strv_free_ char **patterns = NULL;
        const char *name, *load_state;
        int r;

        *ret_name = NULL;
        if (m->absent || strv_isempty((char **) units))
                return 0;

        STRV_FOREACH(u, (char **) units)
                if (strv_consume(&patterns, unit_pattern(*u)) < 0)
                        return log_oom();

        r = method_new(m, "ListUnitsByPatterns", &msg);
        if (r < 0)
                return r;
        /* No states: every unit PID 1 holds in memory, whatever its load state, "not-found"
         * included (a name something referred to): those need a reload to see the new files. */
        r = sd_bus_message_append_strv(msg, NULL);
        if (r >= 0)
                r = sd_bus_message_append_strv(msg, patterns);
        if (r < 0)
                return bus_log_create_error(r);

        r = sd_bus_call(m->bus, msg, 0, &error, &reply);
        if (r < 0) {
                if (check_absent(m, &error, "asking which units are loaded"))
                        return 0;
                return log_debug_errno(r, "Failed to ask which units are loaded: %s", bus_error_message(&error, r));
        }

        r = sd_bus_message_enter_container(reply, 'a', "(ssssssouso)");
        if (r < 0)
                return bus_log_parse_error(r);
        r = sd_bus_message_read(reply, "(ssssssouso)", &name, NULL, &load_state, NULL, NULL, NULL, NULL, NULL,
                                NULL, NULL);
        if (r < 0)
                return bus_log_parse_error(r);
        if (r == 0)
                return 0;

        if (asprintf(ret_name, "%s (%s)", name, load_state) < 0)
                return log_oom();
        return 1;
}

void service_manager_clean(ServiceManager *m, const char *unit) {
        static const char *const all_fdstore[] = { "all", "fdstore", NULL }, *const all[] = { "all", NULL };
        const char *const *what = all_fdstore;
        _cleanup_free_ char *name = NULL;
        int r;

        if (m->absent)
                return;

        name = strdup(path_last_component(unit));
        if (!name) {
                (void) log_oom();
                return;
        }

        for (;;) {
                _cleanup_bus_message_ sd_bus_message *msg = NULL;
                _cleanup_bus_error_ sd_bus_error error = SD_BUS_ERROR_NULL;

                if (method_new(m, "CleanUnit", &msg) < 0)
                        return;
                r = sd_bus_message_append(msg, "s", name);
                if (r >= 0)
                        r = sd_bus_message_append_strv(msg, (char **) what);
                if (r < 0) {
                        (void) bus_log_create_error(r);
                        return;
                }

                r = sd_bus_call(m->bus, msg, 0, &error, NULL);
                if (r >= 0) {
                        if (!arg_quiet)
                                log_info("Cleaned the state, cache, logs and runtime data of %s.", name);
                        return;
                }
                /* systemd before 254 knows no "fdstore". */
                if (what == all_fdstore && sd_bus_error_has_name(&error, SD_BUS_ERROR_INVALID_ARGS)) {
                        what = all;
                        continue;
                }
                if (!check_absent(m, &error, "cleaning units"))
                        log_warning("Failed to clean %s: %s", name, bus_error_message(&error, r));
                return;
        }
}

static int on_job_removed(sd_bus_message *msg, void *userdata, sd_bus_error *ret_error) {
        ServiceManager *m = userdata;
        const char *path, *unit, *result;
        uint32_t id;
        int r;

        r = sd_bus_message_read(msg, "uoss", &id, &path, &unit, &result);
        if (r < 0) {
                (void) bus_log_parse_error(r);
                return 0;
        }

        for (size_t i = 0; i < m->n_jobs; i++) {
                if (!streq(m->jobs[i].path, path))
                        continue;

                if (!streq(result, "done")) {
                        log_error("Job for %s (%s) failed with result '%s'.", unit, m->jobs[i].method, result);
                        m->job_error = -EIO;
                        (void) strv_extend_unique(&m->failed, unit);
                }

                job_done(&m->jobs[i]);
                m->jobs[i] = m->jobs[--m->n_jobs];
                break;
        }

        return 0;
}

/* The match has to be in place before the first job is queued, or a quick job could finish
 * before we listen. systemd sends JobRemoved to the client that queued the job. */
static int ensure_job_match(ServiceManager *m) {
        int r;

        if (m->job_removed_slot)
                return 0;

        r = sd_bus_match_signal(m->bus, &m->job_removed_slot, SYSTEMD_BUS_NAME, SYSTEMD_BUS_PATH,
                                SYSTEMD_BUS_MANAGER_INTERFACE, "JobRemoved", on_job_removed, m);
        if (r < 0)
                return log_error_errno(r, "Failed to subscribe to job signals: %m");
        return 0;
}

int service_manager_queue(ServiceManager *m, const char *method, const char *unit) {
        _cleanup_bus_message_ sd_bus_message *msg = NULL, *reply = NULL;
        _cleanup_bus_error_ sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_free_ char *name = NULL;
        const char *job;
        Job *grown;
        int r;

        if (m->absent)
                return 0;

        name = strdup(path_last_component(unit));
        if (!name)
                return log_oom();

        /* A template has no instance to start or stop: its instances come from its socket or
         * from dependencies, and go with them. */
        if (unit_name_is_valid(name, UNIT_NAME_TEMPLATE)) {
                log_debug("Not calling %s on template unit %s.", method, name);
                return 0;
        }

        r = ensure_job_match(m);
        if (r < 0)
                return r;

        r = method_new(m, method, &msg);
        if (r < 0)
                return r;
        r = sd_bus_message_append(msg, "ss", name, "replace");
        if (r < 0)
                return bus_log_create_error(r);

        r = sd_bus_call(m->bus, msg, 0, &error, &reply);
        if (r < 0) {
                if (check_absent(m, &error, "starting or stopping units"))
                        return 0;
                return log_error_errno(r, "Failed to call %s on the portable service %s: %s",
                                       method, name, bus_error_message(&error, r));
        }

        r = sd_bus_message_read(reply, "o", &job);
        if (r < 0)
                return bus_log_parse_error(r);

        if (!arg_quiet)
                log_info("Queued %s to call %s on portable service %s.", job, method, name);

        grown = reallocarray(m->jobs, m->n_jobs + 1, sizeof(Job));
        if (!grown)
                return log_oom();
        m->jobs = grown;
        m->jobs[m->n_jobs] = (Job) {
                .path = strdup(job),
                .unit = TAKE_PTR(name),
                .method = strdup(method),
        };
        if (!m->jobs[m->n_jobs].path || !m->jobs[m->n_jobs].method) {
                job_done(&m->jobs[m->n_jobs]);
                return log_oom();
        }
        m->n_jobs++;
        return 0;
}

static uint64_t now_usec(void) {
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * 1000000U + (uint64_t) ts.tv_nsec / 1000U;
}

int service_manager_wait(ServiceManager *m, uint64_t timeout_usec) {
        uint64_t deadline = timeout_usec == UINT64_MAX ? UINT64_MAX : now_usec() + timeout_usec;
        int r;

        while (m->n_jobs > 0) {
                uint64_t now;

                r = sd_bus_process(m->bus, NULL);
                if (r < 0)
                        return log_error_errno(r, "Failed to wait for jobs: %m");
                if (r > 0)
                        continue;

                now = now_usec();
                if (now >= deadline) {
                        for (size_t i = 0; i < m->n_jobs; i++) {
                                log_error("Job for %s (%s) did not finish within %" PRIu64 " s.", m->jobs[i].unit,
                                          m->jobs[i].method, timeout_usec / 1000000);
                                (void) strv_extend_unique(&m->failed, m->jobs[i].unit);
                                job_done(&m->jobs[i]);
                        }
                        m->n_jobs = 0;
                        return -ETIMEDOUT;
                }
                r = sd_bus_wait(m->bus, deadline == UINT64_MAX ? UINT64_MAX : deadline - now);
                if (r < 0)
                        return log_error_errno(r, "Failed to wait for jobs: %m");
        }

        r = m->job_error;
        m->job_error = 0;
        return r;
}

char **service_manager_failed_units(ServiceManager *m) {
        return m->failed;
}

int service_manager_describe_unit(ServiceManager *m, const char *unit, char **ret) {
        _cleanup_bus_error_ sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_bus_message_ sd_bus_message *reply = NULL;
        _cleanup_free_ char *state = NULL, *result = NULL;
        const char *path;
        uint32_t status = 0;
        char *s;
        int r;

        r = sd_bus_call_method(m->bus, SYSTEMD_BUS_NAME, SYSTEMD_BUS_PATH, SYSTEMD_BUS_MANAGER_INTERFACE, "GetUnit",
                               &error, &reply, "s", unit);
        if (r < 0)
                return r;
        r = sd_bus_message_read(reply, "o", &path);
        if (r < 0)
                return r;

        (void) sd_bus_get_property_string(m->bus, SYSTEMD_BUS_NAME, path, SYSTEMD_BUS_UNIT_INTERFACE, "ActiveState",
                                          NULL, &state);
        /* Services say more: how they ended, and with which status. */
        if (endswith(unit, ".service")) {
                (void) sd_bus_get_property_string(m->bus, SYSTEMD_BUS_NAME, path, "org.freedesktop.systemd1.Service",
                                                  "Result", NULL, &result);
                (void) sd_bus_get_property_trivial(m->bus, SYSTEMD_BUS_NAME, path, "org.freedesktop.systemd1.Service",
                                                   "ExecMainStatus", NULL, 'i', &status);
        }

        if (result)
                r = asprintf(&s, "%s (result '%s', status %i)", strna(state), result, (int) status);
        else
                r = asprintf(&s, "%s", strna(state));
        if (r < 0)
                return -ENOMEM;
        *ret = s;
        return 0;
}

bool unit_is_portable_managed(const char *path) {
        static const char *const suffixes[] = { ".service", ".target", ".socket", ".path", ".timer" };

        for (size_t i = 0; i < ELEMENTSOF(suffixes); i++)
                if (endswith(path, suffixes[i]))
                        return true;
        return false;
}
