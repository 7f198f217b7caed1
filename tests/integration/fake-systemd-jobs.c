/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A stand-in for PID 1's bus API on the private test bus: the part of
 * org.freedesktop.systemd1.Manager that portablectl uses after or before an operation, with jobs
 * that take as long as a test says.
 *
 *   fake-systemd-jobs RULES LOG
 *
 * The bus is the one $DBUS_SYSTEM_BUS_ADDRESS names. RULES is re-read for every job, one rule a
 * line, "#" starts a comment:
 *
 *   UNIT DELAY_MS RESULT
 *
 * UNIT may be "*"; the first matching line wins; no match means "0 done". A job (StartUnit,
 * StopUnit, RestartUnit) is answered at once with its object path, and its JobRemoved signal
 * (with RESULT: "done", "failed", ...) follows DELAY_MS later, as systemd does.
 *
 * Every call and every JobRemoved appends one line to LOG, prefixed by the CLOCK_REALTIME
 * milliseconds (what `date +%s%3N` prints):
 *
 *   MS Reload
 *   MS EnableUnitFilesWithFlags flags=FLAGS files=FILE[,FILE...]
 *   MS DisableUnitFilesWithFlags flags=FLAGS files=FILE[,FILE...]
 *   MS StartUnit unit=UNIT mode=MODE job=JOB         (StopUnit, RestartUnit alike)
 *   MS JobRemoved unit=UNIT job=JOB result=RESULT
 *
 * Units have a state, as ListUnitsByPatterns() reports it: a start or restart job makes its unit
 * "activating" until the job is removed, then "active" (or "failed"); a stop job makes it
 * "deactivating", then "inactive". So the daemon sees a unit as running exactly while a real
 * service manager would say so, and a detach that does not wait for its stop job is refused.
 *
 * It exits when the bus goes away. */
#include <errno.h>
#include <fnmatch.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <systemd/sd-bus.h>
#include <systemd/sd-event.h>

#include "fake-bus-service.h"
#include <time.h>

#define SYSTEMD_PATH "/org/freedesktop/systemd1"
#define SYSTEMD_MANAGER "org.freedesktop.systemd1.Manager"

static const char *rules_path, *log_path;
static uint32_t next_job_id = 1;

typedef struct Unit {
        char name[256];
        char state[32];
} Unit;

static Unit units[64];
static size_t n_units;

static void set_state(const char *name, const char *state) {
        size_t i;

        for (i = 0; i < n_units && strcmp(units[i].name, name) != 0; i++)
                ;
        if (i == n_units) {
                if (n_units == sizeof(units) / sizeof(units[0]))
                        return;
                n_units++;
                snprintf(units[i].name, sizeof(units[i].name), "%s", name);
        }
        snprintf(units[i].state, sizeof(units[i].state), "%s", state);
}

static void log_line(const char *format, ...) __attribute__((format(printf, 1, 2)));
static void log_line(const char *format, ...) {
        struct timespec ts;
        va_list ap;
        FILE *f;

        f = fopen(log_path, "ae");
        if (!f)
                return;
        (void) clock_gettime(CLOCK_REALTIME, &ts);
        fprintf(f, "%lld ", (long long) ts.tv_sec * 1000 + ts.tv_nsec / 1000000);
        va_start(ap, format);
        vfprintf(f, format, ap);
        va_end(ap);
        fputc('\n', f);
        fclose(f);
}

static void lookup(const char *unit, unsigned *ret_delay_ms, char *ret_result, size_t size) {
        char line[1024];
        FILE *f;

        *ret_delay_ms = 0;
        snprintf(ret_result, size, "done");
        f = fopen(rules_path, "re");
        if (!f)
                return;
        while (fgets(line, sizeof(line), f)) {
                char u[256], result[32];
                unsigned delay;

                if (line[0] == '#' || sscanf(line, "%255s %u %31s", u, &delay, result) != 3)
                        continue;
                if (strcmp(u, "*") != 0 && strcmp(u, unit) != 0)
                        continue;
                *ret_delay_ms = delay;
                snprintf(ret_result, size, "%s", result);
                break;
        }
        fclose(f);
}

static int method_reload(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        log_line("Reload");
        return sd_bus_reply_method_return(m, NULL);
}

/* "as files, t flags": logged as "flags=N files=a,b". */
static int read_files_and_flags(sd_bus_message *m, char **ret_line) {
        char **files = NULL, *line = NULL;
        size_t n = 0;
        uint64_t flags;
        FILE *s;
        int r;

        r = sd_bus_message_read_strv(m, &files);
        if (r < 0)
                return r;
        r = sd_bus_message_read(m, "t", &flags);
        if (r >= 0) {
                s = open_memstream(&line, &n);
                if (!s)
                        r = -ENOMEM;
                else {
                        fprintf(s, "flags=%llu files=", (unsigned long long) flags);
                        for (size_t i = 0; files && files[i]; i++)
                                fprintf(s, "%s%s", i > 0 ? "," : "", files[i]);
                        fclose(s);
                        *ret_line = line;
                }
        }
        for (size_t i = 0; files && files[i]; i++)
                free(files[i]);
        free(files);
        return r;
}

static int method_enable(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        sd_bus_message *reply = NULL;
        char *line = NULL;
        int r;

        r = read_files_and_flags(m, &line);
        if (r < 0)
                return r;
        log_line("EnableUnitFilesWithFlags %s", line);
        free(line);

        r = sd_bus_message_new_method_return(m, &reply);
        if (r >= 0)
                r = sd_bus_message_append(reply, "b", 1);
        if (r >= 0)
                r = sd_bus_message_append(reply, "a(sss)", 0);
        if (r >= 0)
                r = sd_bus_send(NULL, reply, NULL);
        sd_bus_message_unref(reply);
        return r;
}

static int method_disable(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        char *line = NULL;
        int r;

        r = read_files_and_flags(m, &line);
        if (r < 0)
                return r;
        log_line("DisableUnitFilesWithFlags %s", line);
        free(line);
        return sd_bus_reply_method_return(m, "a(sss)", 0);
}

typedef struct Job {
        sd_bus *bus;
        sd_event_source *source;
        uint32_t id;
        bool stop;
        char path[64];
        char unit[256];
        char result[32];
} Job;

static int emit_job_removed(Job *j) {
        int r;

        if (j->stop)
                set_state(j->unit, "inactive");
        else
                set_state(j->unit, strcmp(j->result, "done") == 0 ? "active" : "failed");

        r = sd_bus_emit_signal(j->bus, SYSTEMD_PATH, SYSTEMD_MANAGER, "JobRemoved", "uoss", j->id, j->path, j->unit,
                               j->result);
        log_line("JobRemoved unit=%s job=%s result=%s", j->unit, j->path, j->result);
        sd_bus_unref(j->bus);
        sd_event_source_unref(j->source);
        free(j);
        return r;
}

static int on_job_done(sd_event_source *s, uint64_t usec, void *userdata) {
        (void) emit_job_removed(userdata);
        return 0;
}

/* StartUnit/StopUnit/RestartUnit(s name, s mode) -> o job. */
static int method_job(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        const char *unit, *mode;
        unsigned delay_ms;
        Job *j;
        int r;

        r = sd_bus_message_read(m, "ss", &unit, &mode);
        if (r < 0)
                return r;

        j = calloc(1, sizeof(Job));
        if (!j)
                return -ENOMEM;
        j->bus = sd_bus_ref(sd_bus_message_get_bus(m));
        j->id = next_job_id++;
        snprintf(j->path, sizeof(j->path), SYSTEMD_PATH "/job/%u", j->id);
        snprintf(j->unit, sizeof(j->unit), "%s", unit);
        lookup(unit, &delay_ms, j->result, sizeof(j->result));
        j->stop = strcmp(sd_bus_message_get_member(m), "StopUnit") == 0;
        set_state(unit, j->stop ? "deactivating" : "activating");
        log_line("%s unit=%s mode=%s job=%s", sd_bus_message_get_member(m), unit, mode, j->path);

        /* The reply goes out before the signal, as with systemd. */
        r = sd_bus_reply_method_return(m, "o", j->path);
        if (r >= 0)
                r = sd_event_add_time_relative(sd_bus_get_event(j->bus), &j->source, CLOCK_MONOTONIC,
                                               (uint64_t) delay_ms * 1000, 0, on_job_done, j);
        if (r < 0) {
                sd_bus_unref(j->bus);
                free(j);
        }
        return r;
}

static bool matches_any(char **patterns, const char *s) {
        for (size_t i = 0; patterns && patterns[i]; i++)
                if (fnmatch(patterns[i], s, 0) == 0)
                        return true;
        return false;
}

static void strv_free_simple(char **l) {
        for (size_t i = 0; l && l[i]; i++)
                free(l[i]);
        free(l);
}

/* ListUnitsByPatterns(as states, as patterns) -> a(ssssssouso), of the units this fake knows. */
static int method_list_units_by_patterns(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        sd_bus_message *reply = NULL;
        char **states = NULL, **patterns = NULL;
        int r;

        r = sd_bus_message_read_strv(m, &states);
        if (r >= 0)
                r = sd_bus_message_read_strv(m, &patterns);
        if (r >= 0)
                r = sd_bus_message_new_method_return(m, &reply);
        if (r >= 0)
                r = sd_bus_message_open_container(reply, 'a', "(ssssssouso)");
        for (size_t i = 0; r >= 0 && i < n_units; i++) {
                const Unit *u = &units[i];

                if ((states && states[0] && !matches_any(states, u->state)) ||
                    (patterns && patterns[0] && !matches_any(patterns, u->name)))
                        continue;
                r = sd_bus_message_append(reply, "(ssssssouso)", u->name, "", "loaded", u->state, u->state, "",
                                          SYSTEMD_PATH "/unit/x", 0, "", "/");
        }
        if (r >= 0)
                r = sd_bus_message_close_container(reply);
        if (r >= 0)
                r = sd_bus_send(NULL, reply, NULL);
        sd_bus_message_unref(reply);
        strv_free_simple(states);
        strv_free_simple(patterns);
        return r;
}

static const sd_bus_vtable manager_vtable[] = {
        SD_BUS_VTABLE_START(0),
        SD_BUS_METHOD("Reload", "", "", method_reload, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD("EnableUnitFilesWithFlags", "ast", "ba(sss)", method_enable, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD("DisableUnitFilesWithFlags", "ast", "a(sss)", method_disable, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD("StartUnit", "ss", "o", method_job, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD("StopUnit", "ss", "o", method_job, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD("RestartUnit", "ss", "o", method_job, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD("ListUnitsByPatterns", "asas", "a(ssssssouso)", method_list_units_by_patterns,
                      SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_SIGNAL("JobRemoved", "uoss", 0),
        SD_BUS_VTABLE_END
};

int main(int argc, char *argv[]) {
        if (argc != 3) {
                fprintf(stderr, "Usage: %s RULES LOG\n", argv[0]);
                return 2;
        }
        rules_path = argv[1];
        log_path = argv[2];

        return fake_bus_service_run("fake-systemd", "org.freedesktop.systemd1", SYSTEMD_PATH, SYSTEMD_MANAGER,
                                    manager_vtable, NULL) < 0 ? 1 : 0;
}
