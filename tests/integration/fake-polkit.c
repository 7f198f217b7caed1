/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A stand-in for polkitd on the private test bus: serves org.freedesktop.PolicyKit1.Authority's
 * CheckAuthorization from a table, and can take its time to answer.
 *
 *   fake-polkit RULES LOG
 *
 * The bus is the one $DBUS_SYSTEM_BUS_ADDRESS names. RULES is re-read on every query, so a test
 * changes the answers by rewriting it. One rule per line, "#" starts a comment:
 *
 *   UID ACTION ANSWER [DELAY_MS]
 *
 * UID and ACTION may be "*"; the first matching line wins; no match means "no". ANSWER is "yes"
 * (authorized), "no", "challenge" (authorized after authentication, which the call did not allow)
 * or "error" (a polkit error). The uid is the one of the bus name the subject names.
 *
 * Every query appends one line to LOG when it arrives, before any delay:
 *
 *   subject=KIND:NAME uid=UID action=ACTION flags=FLAGS image=IMAGE answer=ANSWER
 *
 * An authentication agent (pkttyagent) registering appends
 *
 *   agent subject=KIND pid=PID comm=COMM
 *
 * where COMM is the name of the process PID the agent is for.
 *
 * It exits when the bus goes away. */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <systemd/sd-bus.h>
#include <systemd/sd-event.h>

#include "fake-bus-service.h"

static const char *rules_path, *log_path;

typedef struct Answer {
        char verdict[32];
        unsigned delay_ms;
} Answer;

static void lookup(unsigned uid, const char *action, Answer *ret) {
        char line[1024];
        FILE *f;

        *ret = (Answer) { .verdict = "no" };
        f = fopen(rules_path, "re");
        if (!f)
                return;
        while (fgets(line, sizeof(line), f)) {
                char u[64], a[512], v[32];
                unsigned delay = 0;
                int n;

                if (line[0] == '#')
                        continue;
                n = sscanf(line, "%63s %511s %31s %u", u, a, v, &delay);
                if (n < 3)
                        continue;
                if (strcmp(u, "*") != 0 && strtoul(u, NULL, 10) != uid)
                        continue;
                if (strcmp(a, "*") != 0 && strcmp(a, action) != 0)
                        continue;
                snprintf(ret->verdict, sizeof(ret->verdict), "%s", v);
                ret->delay_ms = n == 4 ? delay : 0;
                break;
        }
        fclose(f);
}

static int reply(sd_bus_message *call, const char *verdict) {
        bool yes = strcmp(verdict, "yes") == 0, challenge = strcmp(verdict, "challenge") == 0;

        if (strcmp(verdict, "error") == 0)
                return sd_bus_reply_method_errorf(call, "org.freedesktop.PolicyKit1.Error.Failed",
                                                  "fake-polkit was told to fail");
        return sd_bus_reply_method_return(call, "(bba{ss})", yes, challenge, 0);
}

typedef struct Delayed {
        sd_bus_message *call;
        sd_event_source *source;
        char verdict[32];
} Delayed;

static int on_delay(sd_event_source *s, uint64_t usec, void *userdata) {
        Delayed *d = userdata;

        (void) reply(d->call, d->verdict);
        sd_bus_message_unref(d->call);
        sd_event_source_unref(d->source);
        free(d);
        return 0;
}

/* Reads "(sa{sv})" and returns the subject's kind and its "name" entry (NULL if none). */
static int read_subject(sd_bus_message *m, const char **ret_kind, const char **ret_name) {
        const char *kind, *key, *name = NULL;
        int r;

        r = sd_bus_message_enter_container(m, 'r', "sa{sv}");
        if (r < 0)
                return r;
        r = sd_bus_message_read(m, "s", &kind);
        if (r < 0)
                return r;
        r = sd_bus_message_enter_container(m, 'a', "{sv}");
        if (r < 0)
                return r;
        while ((r = sd_bus_message_enter_container(m, 'e', "sv")) > 0) {
                r = sd_bus_message_read(m, "s", &key);
                if (r < 0)
                        return r;
                if (strcmp(key, "name") == 0)
                        r = sd_bus_message_read(m, "v", "s", &name);
                else
                        r = sd_bus_message_skip(m, "v");
                if (r < 0)
                        return r;
                r = sd_bus_message_exit_container(m);
                if (r < 0)
                        return r;
        }
        if (r < 0)
                return r;
        r = sd_bus_message_exit_container(m);
        if (r < 0)
                return r;
        r = sd_bus_message_exit_container(m);
        if (r < 0)
                return r;
        *ret_kind = kind;
        *ret_name = name;
        return 0;
}

static int method_check_authorization(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        sd_bus_message *owner = NULL;
        const char *kind, *name, *action, *key, *value, *image = "-", *cancel;
        uint32_t flags;
        uid_t uid = (uid_t) -1;
        Answer answer;
        FILE *log;
        int r;

        r = read_subject(m, &kind, &name);
        if (r < 0)
                return r;
        r = sd_bus_message_read(m, "s", &action);
        if (r < 0)
                return r;
        r = sd_bus_message_enter_container(m, 'a', "{ss}");
        if (r < 0)
                return r;
        while ((r = sd_bus_message_read(m, "{ss}", &key, &value)) > 0)
                if (strcmp(key, "image") == 0)
                        image = value;
        if (r < 0)
                return r;
        r = sd_bus_message_exit_container(m);
        if (r < 0)
                return r;
        r = sd_bus_message_read(m, "us", &flags, &cancel);
        if (r < 0)
                return r;

        if (name && strcmp(kind, "system-bus-name") == 0) {
                uint32_t u;

                r = sd_bus_call_method(sd_bus_message_get_bus(m), "org.freedesktop.DBus", "/org/freedesktop/DBus",
                                       "org.freedesktop.DBus", "GetConnectionUnixUser", NULL, &owner, "s", name);
                if (r >= 0 && sd_bus_message_read(owner, "u", &u) > 0)
                        uid = u;
                sd_bus_message_unref(owner);
        }

        lookup(uid, action, &answer);

        log = fopen(log_path, "ae");
        if (log) {
                fprintf(log, "subject=%s:%s uid=%d action=%s flags=%u image=%s answer=%s\n", kind, name ? name : "-",
                        (int) uid, action, flags, image, answer.verdict);
                fclose(log);
        }

        if (answer.delay_ms > 0) {
                Delayed *d = calloc(1, sizeof(Delayed));

                if (!d)
                        return -ENOMEM;
                d->call = sd_bus_message_ref(m);
                snprintf(d->verdict, sizeof(d->verdict), "%s", answer.verdict);
                r = sd_event_add_time_relative(sd_bus_get_event(sd_bus_message_get_bus(m)), &d->source, CLOCK_MONOTONIC,
                                               (uint64_t) answer.delay_ms * 1000, 0, on_delay, d);
                if (r < 0) {
                        sd_bus_message_unref(d->call);
                        free(d);
                        return r;
                }
                return 1;
        }
        return reply(m, answer.verdict);
}

/* RegisterAuthenticationAgent((sa{sv}) subject, s locale, s object_path) and its WithOptions form
 * (..., a{sv} options): log whom the agent is for; there is nothing to authenticate here. */
static int method_register_agent(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        const char *kind, *key;
        uint32_t pid = 0;
        char path[64], comm[64] = "-";
        FILE *f;
        int r;

        r = sd_bus_message_enter_container(m, 'r', "sa{sv}");
        if (r >= 0)
                r = sd_bus_message_read(m, "s", &kind);
        if (r >= 0)
                r = sd_bus_message_enter_container(m, 'a', "{sv}");
        while (r >= 0 && (r = sd_bus_message_enter_container(m, 'e', "sv")) > 0) {
                r = sd_bus_message_read(m, "s", &key);
                if (r >= 0)
                        r = strcmp(key, "pid") == 0 ? sd_bus_message_read(m, "v", "u", &pid) : sd_bus_message_skip(m, "v");
                if (r >= 0)
                        r = sd_bus_message_exit_container(m);
        }
        if (r < 0)
                return r;

        snprintf(path, sizeof(path), "/proc/%u/comm", pid);
        f = fopen(path, "re");
        if (f) {
                if (fgets(comm, sizeof(comm), f))
                        comm[strcspn(comm, "\n")] = '\0';
                fclose(f);
        }
        f = fopen(log_path, "ae");
        if (f) {
                fprintf(f, "agent subject=%s pid=%u comm=%s\n", kind, pid, comm);
                fclose(f);
        }
        return sd_bus_reply_method_return(m, NULL);
}

static int method_unregister_agent(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        return sd_bus_reply_method_return(m, NULL);
}

static const sd_bus_vtable authority_vtable[] = {
        SD_BUS_VTABLE_START(0),
        SD_BUS_METHOD("RegisterAuthenticationAgent", "(sa{sv})ss", "", method_register_agent,
                      SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD("RegisterAuthenticationAgentWithOptions", "(sa{sv})ssa{sv}", "", method_register_agent,
                      SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD("UnregisterAuthenticationAgent", "(sa{sv})s", "", method_unregister_agent,
                      SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD("CheckAuthorization", "(sa{sv})sa{ss}us", "(bba{ss})", method_check_authorization,
                      SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_VTABLE_END
};

int main(int argc, char *argv[]) {
        if (argc != 3) {
                fprintf(stderr, "Usage: %s RULES LOG\n", argv[0]);
                return 2;
        }
        rules_path = argv[1];
        log_path = argv[2];

        return fake_bus_service_run("fake-polkit", "org.freedesktop.PolicyKit1",
                                    "/org/freedesktop/PolicyKit1/Authority",
                                    "org.freedesktop.PolicyKit1.Authority", authority_vtable, NULL) < 0 ? 1 : 0;
}
