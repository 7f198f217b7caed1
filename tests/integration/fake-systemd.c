/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A stand-in for PID 1's org.freedesktop.systemd1 on the private test bus: just what portablectl
 * and portabled ask of it, answered from a file, every call logged, so that tests can check which
 * calls the client makes and in which order (one Reload for a batch, enabling before reloading,
 * no Reload when no unit is held).
 *
 *   fake-systemd UNITS LOG
 *
 * The bus is the one $DBUS_SYSTEM_BUS_ADDRESS names. UNITS is re-read on every query: the units
 * "PID 1" holds in memory, one per line, "NAME LOAD_STATE ACTIVE_STATE" (e.g. "foo.service
 * not-found inactive"); "#" starts a comment.
 *
 * Manager methods:
 *   ListUnitsByPatterns(as states, as patterns)  the units of UNITS that match (fnmatch, no
 *                                                escapes, as PID 1 does; empty lists match all)
 *   Reload()
 *   EnableUnitFilesWithFlags(as files, t flags)  a file containing "WantedBy=" gets one link
 *                                                (and is remembered as enabled), others none
 *   DisableUnitFilesWithFlags(as names, t flags) one removed link per enabled unit
 *   StartUnit/StopUnit/RestartUnit(s name, s mode) a job, and JobRemoved "done" right after
 *   CleanUnit(s name, as what)                   "fdstore" is refused as systemd 252 does
 *   GetUnit(s name)                              from UNITS, else NoSuchUnit
 *
 * LOG gets one line per call: the method and its arguments, separated by spaces. */
#include <errno.h>
#include <fnmatch.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <systemd/sd-bus.h>

#include "fake-bus-service.h"

#define MANAGER_PATH "/org/freedesktop/systemd1"
#define MANAGER_IFACE "org.freedesktop.systemd1.Manager"

static const char *units_path, *log_path;
static char enabled[64][256];
static size_t n_enabled;
static unsigned next_job = 1;

static void log_call(const char *method, const char *args) {
        FILE *f = fopen(log_path, "ae");

        if (!f)
                return;
        fprintf(f, "%s%s%s\n", method, *args ? " " : "", args);
        fclose(f);
}

/* Reads an "as" into a space-separated string (truncated at size). */
static int read_strv_joined(sd_bus_message *m, char *buf, size_t size, char ***ret) {
        char **l = NULL;
        int r;

        r = sd_bus_message_read_strv(m, &l);
        if (r < 0)
                return r;
        buf[0] = '\0';
        for (char **s = l; s && *s; s++) {
                size_t len = strlen(buf);

                snprintf(buf + len, size - len, "%s%s", len > 0 ? " " : "", *s);
        }
        if (ret)
                *ret = l;
        else {
                for (char **s = l; s && *s; s++)
                        free(*s);
                free(l);
        }
        return 0;
}

static void strv_free_simple(char **l) {
        for (char **s = l; s && *s; s++)
                free(*s);
        free(l);
}

static bool matches_any(char **patterns, const char *s) {
        if (!patterns || !*patterns)
                return true;
        for (char **p = patterns; *p; p++)
                if (fnmatch(*p, s, FNM_NOESCAPE) == 0)
                        return true;
        return false;
}

static bool in_list(char **l, const char *s) {
        if (!l || !*l)
                return true;
        for (char **p = l; *p; p++)
                if (strcmp(*p, s) == 0)
                        return true;
        return false;
}

static int method_list_units_by_patterns(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        sd_bus_message *reply = NULL;
        char **states = NULL, **patterns = NULL, sbuf[512], pbuf[1024], line[512];
        FILE *f;
        int r;

        r = read_strv_joined(m, sbuf, sizeof(sbuf), &states);
        if (r >= 0)
                r = read_strv_joined(m, pbuf, sizeof(pbuf), &patterns);
        if (r < 0)
                return r;
        {
                char args[1600];

                snprintf(args, sizeof(args), "[%s] [%s]", sbuf, pbuf);
                log_call("ListUnitsByPatterns", args);
        }

        r = sd_bus_message_new_method_return(m, &reply);
        if (r >= 0)
                r = sd_bus_message_open_container(reply, 'a', "(ssssssouso)");
        f = fopen(units_path, "re");
        while (r >= 0 && f && fgets(line, sizeof(line), f)) {
                char name[256], load[64], active[64];

                if (line[0] == '#' || sscanf(line, "%255s %63s %63s", name, load, active) != 3)
                        continue;
                if (!matches_any(patterns, name) || !in_list(states, active))
                        continue;
                r = sd_bus_message_append(reply, "(ssssssouso)", name, "", load, active, "dead", "",
                                          "/org/freedesktop/systemd1/unit/x", 0, "", "/");
        }
        if (f)
                fclose(f);
        if (r >= 0)
                r = sd_bus_message_close_container(reply);
        if (r >= 0)
                r = sd_bus_send(NULL, reply, NULL);
        sd_bus_message_unref(reply);
        strv_free_simple(states);
        strv_free_simple(patterns);
        return r < 0 ? r : 1;
}

static int method_get_unit(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        const char *name;
        char line[512];
        FILE *f;
        int r;

        r = sd_bus_message_read(m, "s", &name);
        if (r < 0)
                return r;
        log_call("GetUnit", name);
        f = fopen(units_path, "re");
        while (f && fgets(line, sizeof(line), f)) {
                char n[256];

                if (line[0] != '#' && sscanf(line, "%255s", n) == 1 && strcmp(n, name) == 0) {
                        fclose(f);
                        return sd_bus_reply_method_return(m, "o", "/org/freedesktop/systemd1/unit/x");
                }
        }
        if (f)
                fclose(f);
        return sd_bus_error_setf(error, "org.freedesktop.systemd1.NoSuchUnit", "Unit %s not loaded.", name);
}

static int method_reload(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        log_call("Reload", "");
        return sd_bus_reply_method_return(m, NULL);
}

static const char *basename_of(const char *p) {
        const char *s = strrchr(p, '/');
        return s ? s + 1 : p;
}

static bool file_has_install_section(const char *path) {
        char line[1024];
        bool found = false;
        FILE *f = fopen(path, "re");

        while (f && !found && fgets(line, sizeof(line), f))
                found = strncmp(line, "WantedBy=", 9) == 0;
        if (f)
                fclose(f);
        return found;
}

static int method_enable(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        sd_bus_message *reply = NULL;
        char **files = NULL, buf[1024], args[1100];
        uint64_t flags;
        bool any = false;
        int r;

        r = read_strv_joined(m, buf, sizeof(buf), &files);
        if (r >= 0)
                r = sd_bus_message_read(m, "t", &flags);
        if (r < 0)
                return r;
        snprintf(args, sizeof(args), "%s %llu", buf, (unsigned long long) flags);
        log_call("EnableUnitFilesWithFlags", args);

        r = sd_bus_message_new_method_return(m, &reply);
        for (char **f = files; r >= 0 && f && *f; f++)
                if (file_has_install_section(*f))
                        any = true;
        if (r >= 0)
                r = sd_bus_message_append(reply, "b", any);
        if (r >= 0)
                r = sd_bus_message_open_container(reply, 'a', "(sss)");
        for (char **f = files; r >= 0 && f && *f; f++) {
                char link[512];

                if (!file_has_install_section(*f))
                        continue;
                snprintf(link, sizeof(link), "/fake/multi-user.target.wants/%.200s", basename_of(*f));
                r = sd_bus_message_append(reply, "(sss)", "symlink", link, *f);
                if (n_enabled < 64)
                        snprintf(enabled[n_enabled++], sizeof(enabled[0]), "%s", basename_of(*f));
        }
        if (r >= 0)
                r = sd_bus_message_close_container(reply);
        if (r >= 0)
                r = sd_bus_send(NULL, reply, NULL);
        sd_bus_message_unref(reply);
        strv_free_simple(files);
        return r < 0 ? r : 1;
}

static int method_disable(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        sd_bus_message *reply = NULL;
        char **names = NULL, buf[1024], args[1100];
        uint64_t flags;
        int r;

        r = read_strv_joined(m, buf, sizeof(buf), &names);
        if (r >= 0)
                r = sd_bus_message_read(m, "t", &flags);
        if (r < 0)
                return r;
        snprintf(args, sizeof(args), "%s %llu", buf, (unsigned long long) flags);
        log_call("DisableUnitFilesWithFlags", args);

        r = sd_bus_message_new_method_return(m, &reply);
        if (r >= 0)
                r = sd_bus_message_open_container(reply, 'a', "(sss)");
        for (char **n = names; r >= 0 && n && *n; n++)
                for (size_t i = 0; i < n_enabled; i++) {
                        char link[512];

                        if (strcmp(enabled[i], basename_of(*n)) != 0)
                                continue;
                        snprintf(link, sizeof(link), "/fake/multi-user.target.wants/%.200s", enabled[i]);
                        r = sd_bus_message_append(reply, "(sss)", "unlink", link, "");
                        enabled[i][0] = '\0';
                }
        if (r >= 0)
                r = sd_bus_message_close_container(reply);
        if (r >= 0)
                r = sd_bus_send(NULL, reply, NULL);
        sd_bus_message_unref(reply);
        strv_free_simple(names);
        return r < 0 ? r : 1;
}

static int method_job(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        const char *name, *mode, *method = sd_bus_message_get_member(m);
        char path[128], args[512];
        unsigned id = next_job++;
        int r;

        r = sd_bus_message_read(m, "ss", &name, &mode);
        if (r < 0)
                return r;
        snprintf(args, sizeof(args), "%s %s", name, mode);
        log_call(method, args);

        snprintf(path, sizeof(path), "/org/freedesktop/systemd1/job/%u", id);
        r = sd_bus_reply_method_return(m, "o", path);
        if (r < 0)
                return r;
        return sd_bus_emit_signal(sd_bus_message_get_bus(m), MANAGER_PATH, MANAGER_IFACE, "JobRemoved", "uoss", id,
                                  path, name, "done");
}

static int method_clean(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        const char *name;
        char buf[256], args[512];
        int r;

        r = sd_bus_message_read(m, "s", &name);
        if (r >= 0)
                r = read_strv_joined(m, buf, sizeof(buf), NULL);
        if (r < 0)
                return r;
        snprintf(args, sizeof(args), "%s %s", name, buf);
        log_call("CleanUnit", args);
        if (strstr(buf, "fdstore"))
                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS, "Invalid resource 'fdstore'");
        return sd_bus_reply_method_return(m, NULL);
}

static const sd_bus_vtable manager_vtable[] = {
        SD_BUS_VTABLE_START(0),
        SD_BUS_METHOD("ListUnitsByPatterns", "asas", "a(ssssssouso)", method_list_units_by_patterns,
                      SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD("GetUnit", "s", "o", method_get_unit, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD("Reload", "", "", method_reload, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD("EnableUnitFilesWithFlags", "ast", "ba(sss)", method_enable, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD("DisableUnitFilesWithFlags", "ast", "a(sss)", method_disable, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD("StartUnit", "ss", "o", method_job, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD("StopUnit", "ss", "o", method_job, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD("RestartUnit", "ss", "o", method_job, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD("CleanUnit", "sas", "", method_clean, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_SIGNAL("JobRemoved", "uoss", 0),
        SD_BUS_VTABLE_END
};

int main(int argc, char *argv[]) {
        if (argc != 3) {
                fprintf(stderr, "Usage: %s UNITS LOG\n", argv[0]);
                return 2;
        }
        units_path = argv[1];
        log_path = argv[2];

        return fake_bus_service_run("fake-systemd", "org.freedesktop.systemd1", MANAGER_PATH, MANAGER_IFACE,
                                    manager_vtable, NULL) < 0 ? 1 : 0;
}
