/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>

#include "apply.h"
#include "batch.h"

/* What --dry-run shows: for each image the changes the daemon planned (PORTABLE_FLAG_DRY_RUN,
 * portabled(8)) and the conflicts that would refuse it, then what the client would do with the
 * service manager afterwards. Printed on stdout, or with --json as one document:
 *
 *   {"images": [{"image": ..., "changes": [...]}           attach, detach
 *               {"image": ..., "removed": [...], "updated": [...]}   reattach
 *              ],
 *    "conflicts": [{"image": ..., "unit": ..., "reason": "exists"|"active"}],
 *    "enable": [...], "disable": [...], "stop": [...], "start": [...], "restart": [...],
 *    "clean": [...], "reload": true|false, "reload_reason": "..."} */

typedef struct PlanActions {
        char **enable, **disable, **stop, **start, **restart, **clean;
        ReloadDecision reload;
} PlanActions;

void plan_actions_done(PlanActions *a);

/* Returns 1 if a conflict would refuse the operation, 0 if not, or a negative errno. */
int plan_print(const Batch *b, const JobResult *results, bool reattach, const PlanActions *a);
