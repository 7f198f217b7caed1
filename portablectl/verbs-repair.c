/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdio.h>

#include "bus-call.h"
#include "changes.h"
#include "log.h"
#include "output.h"
#include "polkit-agent.h"
#include "portable-bus.h"
#include "portablectl.h"
#include "verbs.h"

/* Removes what interrupted operations left behind; with --dry-run, only says what that is. */
int verb_repair(int argc, char *argv[]) {
        _cleanup_bus_ sd_bus *bus = NULL;
        _cleanup_bus_message_ sd_bus_message *m = NULL, *reply = NULL;
        ChangeList changes = {};
        int r;

        r = portable_bus_connect(&bus);
        if (r < 0)
                return r;
        (void) polkit_agent_open_if_enabled();

        r = portable_message_new(bus, "RepairAttachments", &m);
        if (r < 0)
                return r;
        r = sd_bus_message_append(m, "t", arg_dry_run ? PORTABLE_REPAIR_DRY_RUN : UINT64_C(0));
        if (r < 0)
                return bus_log_create_error(r);
        r = portable_call(bus, m, PORTABLE_OPERATION_TIMEOUT_USEC, &reply);
        if (r < 0)
                return r;

        r = change_list_read(reply, &changes);
        if (r < 0)
                return r;

        if (arg_json != JSON_FORMAT_OFF)
                r = json_print_and_put(change_list_to_json(&changes));
        else if (changes.n == 0) {
                if (!arg_quiet)
                        log_info("Nothing to repair.");
        } else if (arg_dry_run) {
                for (size_t i = 0; i < changes.n; i++)
                        printf("Would remove %s.\n", changes.changes[i].path);
        } else
                change_list_print(&changes);

        change_list_done(&changes);
        return r;
}
