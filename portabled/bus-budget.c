/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <inttypes.h>

#include "bus-budget.h"
#include "call-budget.h"
#include "log.h"
#include "manager.h"
#include "portable-limits.h"
#include "sender-uids.h"
#include "time-util.h"

/* Charges what the work under way took to its user. */
static void settle(Manager *m) {
        uint64_t now;

        if (!m->charging)
                return;
        m->charging = false;
        now = monotonic_usec();
        call_budget_charge(m->call_budget, m->charge_uid, now - m->charge_start, now);
}

static int on_iteration_done(sd_event_source *s, void *userdata) {
        settle(userdata);
        return 0;
}

static void start_charging(Manager *m, uid_t uid, uint64_t start) {
        if (m->charging && m->charge_uid == uid)
                return;
        settle(m);
        m->charging = true;
        m->charge_uid = uid;
        m->charge_start = start;
}

void bus_budget_charge_to(Manager *m, uid_t uid) {
        if (m->time_shares && call_budget_counts(uid))
                start_charging(m, uid, monotonic_usec());
}

static int sender_uid(Manager *m, sd_bus_message *msg, uid_t *ret) {
        const char *sender = sd_bus_message_get_sender(msg);
        sd_bus_creds *creds;
        int r;

        if (sender_uids_get(m->sender_uids, sender, ret))
                return 0;
        /* Kept with the call: its handler asks for the same and gets this answer. The user ID the
         * bus had from the kernel when the caller connected (SO_PEERCRED: the effective one), not
         * one sd-bus read from /proc, which may be another process's (a root one's) by now. */
        r = sender_creds_query(&m->sender_creds, msg, &creds);
        if (r >= 0)
                r = sd_bus_creds_get_euid(creds, ret);
        if (r >= 0 && (sd_bus_creds_get_augmented_mask(creds) & SD_BUS_CREDS_EUID))
                r = -EPERM;
        if (r < 0)
                return r;
        sender_uids_put(m->sender_uids, sender, *ret);
        return 0;
}

int bus_budget_filter(Manager *m, sd_bus_message *msg) {
        uint64_t start, wait = 0;
        uid_t uid;
        int r;

        if (!m->time_shares || !sd_bus_message_is_method_call(msg, NULL, NULL) || !sd_bus_message_get_sender(msg))
                return 0;
        /* Whatever was under way is done when the next call comes, whoever's it is. */
        settle(m);
        /* The caller is gone already (or the bus does not say who it is): nobody is there for the
         * answer, and serving such calls would let a flood that hangs up at once go uncounted. */
        r = sender_uid(m, msg, &uid);
        if (r < 0) {
                (void) sd_bus_reply_method_errnof(msg, r, "Failed to determine the user of the caller: %m");
                return 1;
        }
        if (!call_budget_counts(uid))
                return 0;

        /* The clock starts after asking the bus who it is: under load that round trip is the
         * bus's time more than the caller's, and many calls at once would be refused for it. */
        start = monotonic_usec();
        switch (call_budget_admit(m->call_budget, uid, start, &wait)) {
        case CALL_BUDGET_USER_SPENT:
                (void) sd_bus_reply_method_errorf(msg, SD_BUS_ERROR_LIMITS_EXCEEDED,
                                                  "The calls of user %u have had their share of the daemon's time "
                                                  "(%u%%, after a burst of %u ms); try again in %" PRIu64 " ms.",
                                                  (unsigned) uid, PORTABLE_CALL_TIME_PER_USER_SHARE / 10U,
                                                  PORTABLE_CALL_TIME_PER_USER_BURST_USEC / 1000U, (wait + 999) / 1000);
                return 1;
        case CALL_BUDGET_ALL_SPENT:
                (void) sd_bus_reply_method_errorf(msg, SD_BUS_ERROR_LIMITS_EXCEEDED,
                                                  "The calls of unprivileged users have had their share of the daemon's "
                                                  "time (%u%%, after a burst of %u ms); try again in %" PRIu64 " ms.",
                                                  PORTABLE_CALL_TIME_UNPRIVILEGED_SHARE / 10U,
                                                  PORTABLE_CALL_TIME_UNPRIVILEGED_BURST_USEC / 1000U, (wait + 999) / 1000);
                return 1;
        default:
                start_charging(m, uid, start);
                return 0;
        }
}

int bus_budget_setup(Manager *m) {
        int r;

        m->call_budget = call_budget_new();
        m->sender_uids = sender_uids_new();
        if (!m->call_budget || !m->sender_uids)
                return -ENOMEM;
        /* Always on: sd-event makes a post source pending before it dispatches any other source,
         * not when the post source is enabled from within one, which would then wait for the
         * next wakeup (and charge the idle time in between). */
        r = sd_event_add_post(m->event, &m->charge_post, on_iteration_done, m);
        if (r < 0)
                return r;
        return sd_event_source_set_enabled(m->charge_post, SD_EVENT_ON);
}

void bus_budget_done(Manager *m) {
        m->charge_post = sd_event_source_disable_unref(m->charge_post);
        m->call_budget = call_budget_free(m->call_budget);
        m->sender_uids = sender_uids_free(m->sender_uids);
}
