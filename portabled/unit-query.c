/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdio.h>
#include <string.h>

#include "manager.h"
#include "portable-bus.h"
#include "strv.h"
#include "unit-match.h"
#include "unit-query.h"

static bool active_state_is_active(const char *s) {
        return streq_ptr(s, "active") || streq_ptr(s, "activating") || streq_ptr(s, "reloading") ||
                streq_ptr(s, "deactivating");
}

static bool error_means_no_manager(const sd_bus_error *e) {
        return sd_bus_error_has_names(e, SD_BUS_ERROR_SERVICE_UNKNOWN, SD_BUS_ERROR_NAME_HAS_NO_OWNER,
                                      SD_BUS_ERROR_NO_REPLY, SD_BUS_ERROR_DISCONNECTED, SD_BUS_ERROR_TIMEOUT);
}

static int template_has_active_instance(sd_bus *bus, const char *unit) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_free_ char *pattern = NULL;
        const char *at = strchr(unit, '@'), *dot = strrchr(unit, '.');
        int r;

        if (asprintf(&pattern, "%.*s*%s", (int) (at - unit + 1), unit, dot) < 0)
                return -ENOMEM;

        r = sd_bus_call_method(bus, SYSTEMD_BUS_NAME, SYSTEMD_BUS_PATH, SYSTEMD_BUS_MANAGER_INTERFACE,
                               "ListUnitsByPatterns", &error, &reply, "asas",
                               4, "activating", "active", "reloading", "deactivating", 1, pattern);
        if (r < 0)
                return error_means_no_manager(&error) ? 0 : r;

        r = sd_bus_message_enter_container(reply, 'a', "(ssssssouso)");
        if (r < 0)
                return r;
        r = sd_bus_message_enter_container(reply, 'r', "ssssssouso");
        return r > 0 ? 1 : r;
}

int unit_query_is_active(void *userdata, const char *unit) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_free_ char *path = NULL, *state = NULL;
        Manager *m = userdata;
        int r;

        if (!m->bus)
                return 0;

        if (unit_name_is_valid(unit, UNIT_NAME_TEMPLATE))
                return template_has_active_instance(m->bus, unit);

        r = sd_bus_path_encode(SYSTEMD_BUS_UNIT_PREFIX, unit, &path);
        if (r < 0)
                return r;

        r = sd_bus_get_property_string(m->bus, SYSTEMD_BUS_NAME, path, SYSTEMD_BUS_UNIT_INTERFACE, "ActiveState",
                                       &error, &state);
        if (r < 0)
                return error_means_no_manager(&error) || sd_bus_error_has_name(&error, SD_BUS_ERROR_UNKNOWN_OBJECT) ? 0 : r;

        return active_state_is_active(state);
}
