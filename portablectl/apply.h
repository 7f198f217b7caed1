/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <systemd/sd-bus.h>

#include "batch.h"
#include "changes.h"
#include "systemd-jobs.h"

/* What attach, detach and reattach share once the batch is known: the calls of each image, what
 * they changed, and the one reload of the service manager for all of them. */

/* One image's answer. The change lists borrow their strings from reply. For attach and detach
 * only changes is used; reattach has removed (what went for good) and changes (what was
 * written). */
typedef struct JobResult {
        sd_bus_message *reply;
        ChangeList removed;
        ChangeList changes;
        bool done;
} JobResult;

void job_results_free(JobResult *r, size_t n);

/* Sends m; on failure returns a negative errno with the error in *reterr, and logs nothing. */
int portable_call_quiet(sd_bus *bus, sd_bus_message *m, sd_bus_message **ret_reply, sd_bus_error *reterr);

/* Whether a failed call means that the daemon does not know our PORTABLE_FLAG_DRY_RUN (systemd's
 * portabled refuses unknown bits as invalid flags). */
bool error_is_unknown_flag(const sd_bus_error *e);

/* Adds to *units the unit every change of l is about: an attached unit file, or a file or
 * directory of its drop-ins ("foo.service.d/20-portable.conf" is about foo.service). Conflicts
 * of dry runs name the unit itself. */
int units_of_changes(const ChangeList *l, char ***units);

/* Reload of the service manager after the operation, or not. PID 1 must reload when it holds a
 * unit whose files changed (it keeps what it read), or when the enablement changed (targets got
 * or lost wants); a unit it does not hold is read from disk when it is first needed. Decides,
 * says why at debug level (or as the plan, for dry runs), and reloads. --no-reload: never. */
typedef struct ReloadDecision {
        bool reload;
        char *reason;
} ReloadDecision;

void reload_decision_done(ReloadDecision *d);
int reload_decide(ServiceManager *sm, char * const *units, bool enablement_changes, ReloadDecision *ret);
void reload_apply(ServiceManager *sm, const ReloadDecision *d);

/* The non-dry-run output: the change lists on stderr, or with --json the document on stdout: for
 * one image what systemd-compatible clients expect (the list, or {"removed", "updated"}), for
 * several an array of {"image", "changes"} (or "removed" and "updated"). */
int results_print(const Batch *b, const JobResult *results, bool reattach);
