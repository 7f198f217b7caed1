/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <systemd/sd-bus.h>
#include <sys/types.h>

typedef struct Manager Manager;

/* call-budget.h applied to the bus. Every method call is looked at before it is dispatched: one of
 * a user whose share of the daemon's time is spent is refused at once with
 * org.freedesktop.DBus.Error.LimitsExceeded (returns 1: the call is answered); otherwise (0) the
 * time the daemon spends on it from here to the end of this event loop iteration is charged to
 * its user. */
int bus_budget_filter(Manager *m, sd_bus_message *msg);

/* Work for the callers of uid (an operation going on after its reader, the service manager or its
 * worker answered) starts now: charged to uid at the end of this event loop iteration. */
void bus_budget_charge_to(Manager *m, uid_t uid);

/* Sets up what the above need (at the manager's start). */
int bus_budget_setup(Manager *m);
void bus_budget_done(Manager *m);
