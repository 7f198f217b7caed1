/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <systemd/sd-bus.h>

#include "macro.h"

/* Which units the service manager runs, asked once for all the units an operation needs
 * (one ListUnitsByPatterns() call, not one call per unit) and without waiting for the answer:
 * PID 1 may take seconds (it answers nobody during a daemon-reload), and the daemon must go on
 * serving meanwhile. The snapshot then answers the library's questions synchronously, through
 * Host's unit_ops. A question about a unit that was not asked about gets -EAGAIN and is
 * recorded in missing: the operation asks again, for those too. */

typedef struct UnitActivity {
        char **queried;  /* sorted */
        char **prefixes; /* also queried: every unit these name prefixes match (unit-match.h) */
        char **active;   /* sorted: active units and instances */
        char **missing;  /* asked of the snapshot, not queried */
        bool no_manager; /* no service manager on the bus: nothing is active */
} UnitActivity;

void unit_activity_done(UnitActivity *a);

/* Host unit_ops callback; userdata is a UnitActivity. A template counts as active if an instance
 * of it is. */
int unit_activity_is_active(void *userdata, const char *unit);

typedef void (*UnitActivityCallback)(UnitActivity *a, int error, const sd_bus_error *e, void *userdata);

/* Asks about units (a template stands for all its instances), and about every unit that the name
 * prefixes match (NULL: none; a prefix with characters that are special to PID 1's patterns is
 * ignored). The callback gets the snapshot (owned by the caller of the callback only for the
 * call: move what you keep), or an error. With nothing to ask about, or no service manager, it
 * still comes asynchronously. */
int unit_activity_query(sd_bus *bus, sd_event *event, char * const *units, char * const *prefixes,
                        UnitActivityCallback callback, void *userdata, sd_bus_slot **ret_slot,
                        sd_event_source **ret_defer);
