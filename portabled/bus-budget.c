/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <inttypes.h>
#include <stdlib.h>

#include "bus-budget.h"
#include "call-budget.h"
#include "log.h"
#include "portable-limits.h"
#include "sender-uids.h"
#include "time-util.h"

struct BusBudget {
        bool enabled;
        CallBudget *buckets;
        SenderUids *sender_uids;
        sd_event_source *post; /* settles the charge at the end of each loop iteration */
        bool charging;
        uid_t charge_uid;
        uint64_t charge_start;
};

/* Charges what the work under way took to its user. */
static void settle(BusBudget *b) {
        uint64_t now;

        if (!b->charging)
                return;
        b->charging = false;
        now = monotonic_usec();
        call_budget_charge(b->buckets, b->charge_uid, now - b->charge_start, now);
}

static int on_iteration_done(sd_event_source *s, void *userdata) {
        settle(userdata);
        return 0;
}

static void start_charging(BusBudget *b, uid_t uid, uint64_t start) {
        if (b->charging && b->charge_uid == uid)
                return;
        settle(b);
        b->charging = true;
        b->charge_uid = uid;
        b->charge_start = start;
}

void bus_budget_charge_to(BusBudget *b, uid_t uid) {
        if (b->enabled && call_budget_counts(uid))
                start_charging(b, uid, monotonic_usec());
}

static int sender_uid(BusBudget *b, SenderCreds *sender_creds, sd_bus_message *msg, uid_t *ret) {
        const char *sender = sd_bus_message_get_sender(msg);
        sd_bus_creds *creds;
        int r;

        if (sender_uids_get(b->sender_uids, sender, ret))
                return 0;
        /* Kept with the call: its handler asks for the same and gets this answer. The user ID the
         * bus had from the kernel when the caller connected (SO_PEERCRED: the effective one), not
         * one sd-bus read from /proc, which may be another process's (a root one's) by now. */
        r = sender_creds_query(sender_creds, msg, &creds);
        if (r >= 0)
                r = sd_bus_creds_get_euid(creds, ret);
        if (r >= 0 && (sd_bus_creds_get_augmented_mask(creds) & SD_BUS_CREDS_EUID))
                r = -EPERM;
        if (r < 0)
                return r;
        sender_uids_put(b->sender_uids, sender, *ret);
        return 0;
}

int bus_budget_filter(BusBudget *b, SenderCreds *sender_creds, sd_bus_message *msg) {
        uint64_t start, wait = 0;
        uid_t uid;
        int r;

        if (!b->enabled || !sd_bus_message_is_method_call(msg, NULL, NULL) || !sd_bus_message_get_sender(msg))
                return 0;
        /* Whatever was under way is done when the next call comes, whoever's it is. */
        settle(b);
        /* The caller is gone already (or the bus does not say who it is): nobody is there for the
         * answer, and serving such calls would let a flood that hangs up at once go uncounted. */
        r = sender_uid(b, sender_creds, msg, &uid);
        if (r < 0) {
                (void) sd_bus_reply_method_errnof(msg, r, "Failed to determine the user of the caller: %m");
                return 1;
        }
        if (!call_budget_counts(uid))
                return 0;

        /* The clock starts after asking the bus who it is: under load that round trip is the
         * bus's time more than the caller's, and many calls at once would be refused for it. */
        start = monotonic_usec();
        switch (call_budget_admit(b->buckets, uid, start, &wait)) {
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
                start_charging(b, uid, start);
                return 0;
        }
}

int bus_budget_new(sd_event *event, BusBudget **ret) {
        BusBudget *b;
        int r;

        b = calloc(1, sizeof(BusBudget));
        if (!b)
                return -ENOMEM;
        b->enabled = true;
        b->buckets = call_budget_new();
        b->sender_uids = sender_uids_new();
        if (!b->buckets || !b->sender_uids) {
                bus_budget_free(b);
                return -ENOMEM;
        }
        /* Always on: sd-event makes a post source pending before it dispatches any other source,
         * not when the post source is enabled from within one, which would then wait for the
         * next wakeup (and charge the idle time in between). */
        r = sd_event_add_post(event, &b->post, on_iteration_done, b);
        if (r >= 0)
                r = sd_event_source_set_enabled(b->post, SD_EVENT_ON);
        if (r < 0) {
                bus_budget_free(b);
                return r;
        }
        *ret = b;
        return 0;
}

BusBudget *bus_budget_free(BusBudget *b) {
        if (!b)
                return NULL;
        sd_event_source_disable_unref(b->post);
        call_budget_free(b->buckets);
        sender_uids_free(b->sender_uids);
        free(b);
        return NULL;
}

void bus_budget_set_enabled(BusBudget *b, bool enabled) {
        b->enabled = enabled;
        if (!enabled)
                b->charging = false;
}
