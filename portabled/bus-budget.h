/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <systemd/sd-bus.h>
#include <systemd/sd-event.h>
#include <sys/types.h>

#include "sender-creds.h"

/* call-budget.h applied to the bus: the buckets, the users behind the bus names seen, and the work
 * under way that is charged to one user. */
typedef struct BusBudget BusBudget;

/* Enabled; charges are settled after each iteration of event's loop. */
int bus_budget_new(sd_event *event, BusBudget **ret);
BusBudget *bus_budget_free(BusBudget *b);

/* --time-shares=no: nobody is counted or refused. */
void bus_budget_set_enabled(BusBudget *b, bool enabled);

/* Every method call is looked at before it is dispatched: one of a user whose share of the
 * daemon's time is spent is refused at once with org.freedesktop.DBus.Error.LimitsExceeded
 * (returns 1: the call is answered); otherwise (0) the time the daemon spends on it from here to
 * the end of this event loop iteration is charged to its user. The caller's credentials are asked
 * of the bus through creds, where the call's handler finds them again. */
int bus_budget_filter(BusBudget *b, SenderCreds *creds, sd_bus_message *msg);

/* Work for the callers of uid (an operation going on after its reader, the service manager or its
 * worker answered) starts now: charged to uid at the end of this event loop iteration. */
void bus_budget_charge_to(BusBudget *b, uid_t uid);
