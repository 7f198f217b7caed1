/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* What every stand-in service on the private test bus does around its vtable: serve one object
 * under one well-known name on the bus $DBUS_SYSTEM_BUS_ADDRESS names, until that bus goes away. */
#pragma once

#include <systemd/sd-bus.h>

/* Serves VTABLE (with USERDATA) at PATH, INTERFACE as BUS_NAME on the system bus, on the default
 * sd-event loop (so handlers may add timers to sd_bus_get_event()), and runs that loop until the
 * bus disconnects. A setup failure is printed to stderr as "PROG: ERROR". Returns 0, or a
 * negative errno of the setup or of the loop. */
int fake_bus_service_run(const char *prog, const char *bus_name, const char *path, const char *interface,
                         const sd_bus_vtable *vtable, void *userdata);
