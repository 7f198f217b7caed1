/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Sends COUNT calls of METHOD (no arguments) to DEST on one connection to the bus at ADDRESS, all
 * at once, and waits for every answer. Prints how many succeeded and how many failed with each
 * error name, one "<count> <name>" line each ("ok" for success), then the message of the first
 * LimitsExceeded, if any, as "message: ...". Exit status 0 once every call is answered.
 * Usage: bus-flood ADDRESS DEST PATH INTERFACE METHOD COUNT */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <systemd/sd-bus.h>

#define NAMES_MAX 8

typedef struct Tally {
        unsigned answered, ok;
        char *names[NAMES_MAX];
        unsigned counts[NAMES_MAX];
        char *limits_message;
} Tally;

/* Nothing may be left for LeakSanitizer in the sanitizer build, on any path: it could not write its
 * report as the unprivileged user this runs as, and would abort. */
static void tally_done(Tally *t) {
        for (size_t i = 0; i < NAMES_MAX; i++)
                free(t->names[i]);
        free(t->limits_message);
}

static void count_error(Tally *t, const sd_bus_error *e) {
        size_t i;

        if (sd_bus_error_has_name(e, SD_BUS_ERROR_LIMITS_EXCEEDED) && !t->limits_message)
                t->limits_message = strdup(e->message ?: "");
        for (i = 0; i < NAMES_MAX && t->names[i]; i++)
                if (strcmp(t->names[i], e->name) == 0)
                        break;
        if (i == NAMES_MAX)
                return;
        if (!t->names[i])
                t->names[i] = strdup(e->name);
        t->counts[i]++;
}

static int on_reply(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error) {
        Tally *t = userdata;
        const sd_bus_error *e = sd_bus_message_get_error(reply);

        t->answered++;
        if (e)
                count_error(t, e);
        else
                t->ok++;
        return 0;
}

int main(int argc, char *argv[]) {
        __attribute__((cleanup(sd_bus_flush_close_unrefp))) sd_bus *bus = NULL;
        __attribute__((cleanup(tally_done))) Tally t = {};
        unsigned count;
        int r;

        if (argc != 7) {
                fprintf(stderr, "Usage: %s ADDRESS DEST PATH INTERFACE METHOD COUNT\n", argv[0]);
                return 2;
        }
        count = (unsigned) strtoul(argv[6], NULL, 10);

        r = sd_bus_new(&bus);
        if (r >= 0)
                r = sd_bus_set_address(bus, argv[1]);
        if (r >= 0)
                r = sd_bus_set_bus_client(bus, 1);
        if (r >= 0)
                r = sd_bus_start(bus);
        if (r < 0) {
                fprintf(stderr, "Failed to connect to %s: %s\n", argv[1], strerror(-r));
                return 1;
        }

        for (unsigned i = 0; i < count; i++) {
                /* The slot goes with the bus: floating. */
                r = sd_bus_call_method_async(bus, NULL, argv[2], argv[3], argv[4], argv[5], on_reply, &t, NULL);
                if (r < 0) {
                        fprintf(stderr, "Failed to send call %u: %s\n", i, strerror(-r));
                        return 1;
                }
        }
        while (t.answered < count) {
                r = sd_bus_process(bus, NULL);
                if (r < 0) {
                        fprintf(stderr, "Failed to process the bus: %s\n", strerror(-r));
                        return 1;
                }
                if (r == 0 && sd_bus_wait(bus, 120U * 1000000U) <= 0) {
                        fprintf(stderr, "Answers stopped coming after %u of %u\n", t.answered, count);
                        return 1;
                }
        }

        printf("%u ok\n", t.ok);
        for (size_t i = 0; i < NAMES_MAX && t.names[i]; i++)
                printf("%u %s\n", t.counts[i], t.names[i]);
        if (t.limits_message)
                printf("message: %s\n", t.limits_message);
        return 0;
}
