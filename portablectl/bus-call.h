/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdint.h>
#include <systemd/sd-bus.h>

#include "macro.h"

/* Talking to org.freedesktop.portable1: one connection, one way to call, one way to report. */

/* Connects to the system bus (sd_bus_open_system() honours $DBUS_SYSTEM_BUS_ADDRESS), or with
 * -H/-M to the one of another host (over ssh, sd-bus's own transport: "ssh HOST
 * systemd-stdio-bridge") or of a local container (through machined), and allows interactive
 * polkit authorization unless --no-ask-password was given. */
int portable_bus_connect(sd_bus **ret);

/* A new method call on the portable1 Manager object. */
int portable_message_new(sd_bus *bus, const char *method, sd_bus_message **ret);

/* Sends m and waits for the reply. On failure logs "<method> failed: <message>" and returns a
 * negative errno. timeout_usec 0 = the sd-bus default, UINT64_MAX = none. */
int portable_call(sd_bus *bus, sd_bus_message *m, uint64_t timeout_usec, sd_bus_message **ret_reply);

/* Appends the "a{sv} options" of our *WithOptions methods (portabled(8)): the image policy, if
 * any. */
int portable_append_options(sd_bus_message *m, const char *image_policy);

/* The human message for a failed call: the D-Bus error message if there is one, else strerror. */
const char *bus_error_message(const sd_bus_error *e, int r);

/* Logs a malformed reply and returns r. */
int bus_log_parse_error(int r);
int bus_log_create_error(int r);

#define _cleanup_bus_ _cleanup_(sd_bus_flush_close_unrefp)
#define _cleanup_bus_message_ _cleanup_(sd_bus_message_unrefp)
#define _cleanup_bus_error_ _cleanup_(sd_bus_error_free)

/* Attach, detach and reattach do file I/O and may have to dissect a disk image in the daemon. */
#define PORTABLE_OPERATION_TIMEOUT_USEC (UINT64_C(300) * UINT64_C(1000000))
