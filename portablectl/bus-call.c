/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <string.h>

#include "bus-call.h"
#include "log.h"
#include "portable-bus.h"
#include "portablectl.h"

int portable_bus_connect(sd_bus **ret) {
        sd_bus *bus = NULL;
        int r;

        if (arg_host)
                r = sd_bus_open_system_remote(&bus, arg_host);
        else if (arg_machine)
                r = sd_bus_open_system_machine(&bus, arg_machine);
        else
                r = sd_bus_open_system(&bus);
        if (r < 0)
                return log_error_errno(r, "Failed to connect to the system bus%s%s: %m",
                                       arg_host ? " of host " : arg_machine ? " of container " : "",
                                       arg_host ?: arg_machine ?: "");

        /* Every call we make from now on carries ALLOW_INTERACTIVE_AUTHORIZATION unless
         * --no-ask-password: polkit may then ask for a password through the session's agent or
         * the one the operation verbs start on our terminal (polkit-agent.h). */
        r = sd_bus_set_allow_interactive_authorization(bus, arg_ask_password);
        if (r < 0) {
                sd_bus_unref(bus);
                return log_error_errno(r, "Failed to set up interactive authorization: %m");
        }

        *ret = bus;
        return 0;
}

int portable_message_new(sd_bus *bus, const char *method, sd_bus_message **ret) {
        int r;

        r = sd_bus_message_new_method_call(bus, ret, PORTABLE_BUS_NAME, PORTABLE_BUS_PATH,
                                           PORTABLE_BUS_MANAGER_INTERFACE, method);
        if (r < 0)
                return bus_log_create_error(r);
        return 0;
}

int portable_call(sd_bus *bus, sd_bus_message *m, uint64_t timeout_usec, sd_bus_message **ret_reply) {
        _cleanup_bus_error_ sd_bus_error error = SD_BUS_ERROR_NULL;
        int r;

        r = sd_bus_call(bus, m, timeout_usec, &error, ret_reply);
        if (r < 0)
                return log_error_errno(r, "%s failed: %s", sd_bus_message_get_member(m),
                                       bus_error_message(&error, r));
        return 0;
}

int portable_append_options(sd_bus_message *m, const char *image_policy) {
        int r;

        r = sd_bus_message_open_container(m, 'a', "{sv}");
        if (r >= 0 && image_policy)
                r = sd_bus_message_append(m, "{sv}", "ImagePolicy", "s", image_policy);
        if (r >= 0)
                r = sd_bus_message_close_container(m);
        return r < 0 ? bus_log_create_error(r) : 0;
}

const char *bus_error_message(const sd_bus_error *e, int r) {
        if (e && e->message)
                return e->message;
        return strerror(r < 0 ? -r : r);
}

int bus_log_parse_error(int r) {
        return log_error_errno(r, "Failed to parse bus message: %m");
}

int bus_log_create_error(int r) {
        return log_error_errno(r, "Failed to create bus message: %m");
}
