/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

/* How much of the daemon's time the callers of each user ID may take, and all unprivileged callers
 * together: a token bucket of microseconds per user, and one for all of them. A bucket holds at
 * most its burst, spends what the daemon's work for those callers took, and fills up again at its
 * share of the elapsed time (the limits are in portable-limits.h). A caller whose bucket is empty
 * is refused until it has filled up again: a flood of calls then costs the daemon a refusal each,
 * and root's calls are never counted or refused. The daemon is single-threaded: its time is what
 * every caller waits for. */
typedef struct CallBudget CallBudget;

typedef enum CallBudgetVerdict {
        CALL_BUDGET_ADMIT,
        CALL_BUDGET_USER_SPENT, /* this user's own bucket is empty */
        CALL_BUDGET_ALL_SPENT,  /* the bucket of all unprivileged callers is */
} CallBudgetVerdict;

CallBudget *call_budget_new(void);
CallBudget *call_budget_free(CallBudget *b);

/* Whether a call of uid may be served at now (CLOCK_MONOTONIC, µs). If not, *ret_wait_usec (may be
 * NULL) says how long until it may. */
CallBudgetVerdict call_budget_admit(CallBudget *b, uid_t uid, uint64_t now, uint64_t *ret_wait_usec);

/* The daemon spent used µs on uid's callers, up to now. A bucket may go below empty: work admitted
 * earlier (an operation that finishes later) is paid for by waiting longer. */
void call_budget_charge(CallBudget *b, uid_t uid, uint64_t used, uint64_t now);

/* Whether uid's calls are counted at all: not root's. */
static inline bool call_budget_counts(uid_t uid) {
        return uid != 0;
}
