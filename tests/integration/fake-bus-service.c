/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <systemd/sd-bus.h>
#include <systemd/sd-event.h>

#include "fake-bus-service.h"

int fake_bus_service_run(const char *prog, const char *bus_name, const char *path, const char *interface,
                         const sd_bus_vtable *vtable, void *userdata) {
        /* Declared before the bus, so cleaned up after it: the bus is flushed and closed while its
         * event loop still exists. */
        __attribute__((cleanup(sd_event_unrefp))) sd_event *event = NULL;
        __attribute__((cleanup(sd_bus_flush_close_unrefp))) sd_bus *bus = NULL;
        int r;

        r = sd_event_default(&event);
        if (r >= 0)
                r = sd_bus_open_system(&bus);
        if (r >= 0)
                r = sd_bus_add_object_vtable(bus, NULL, path, interface, vtable, userdata);
        if (r >= 0)
                r = sd_bus_attach_event(bus, event, 0);
        /* A fake outlives no test: when the test's private bus is torn down, so is it. */
        if (r >= 0)
                r = sd_bus_set_exit_on_disconnect(bus, true);
        /* The name last, so no client can call in before the object is there. */
        if (r >= 0)
                r = sd_bus_request_name(bus, bus_name, 0);
        if (r < 0) {
                fprintf(stderr, "%s: %s\n", prog, strerror(-r));
                return r;
        }

        return sd_event_loop(event);
}
