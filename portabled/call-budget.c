/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdbool.h>
#include <stdlib.h>

#include "call-budget.h"
#include "portable-limits.h"

/* Levels are in thousandths of a µs: a refill of share per mille of the elapsed µs is then exact,
 * where rounding at every call (a flood comes every few µs) would lose a good part of it. */
#define SCALE 1000

typedef struct Bucket {
        uid_t uid;
        int64_t level;    /* the daemon's time it may still take, in µs / SCALE; below 0: owed */
        uint64_t updated; /* when level was last brought up to date */
} Bucket;

struct CallBudget {
        Bucket all;
        Bucket *users;
        size_t n_users, allocated;
};

/* Past this many users' buckets, the full ones (which say nothing an absent one would not) go. */
#define USERS_KEPT 32U

CallBudget *call_budget_new(void) {
        CallBudget *b = calloc(1, sizeof(CallBudget));

        if (b)
                b->all.level = (int64_t) PORTABLE_CALL_TIME_UNPRIVILEGED_BURST_USEC * SCALE;
        return b;
}

CallBudget *call_budget_free(CallBudget *b) {
        if (b)
                free(b->users);
        free(b);
        return NULL;
}

static void refill(Bucket *bucket, uint64_t burst, unsigned share_permille, uint64_t now) {
        uint64_t elapsed = now > bucket->updated ? now - bucket->updated : 0;
        int64_t full = (int64_t) burst * SCALE;
        /* A bucket left alone long enough is full whatever it owed: no overflow below. */
        int64_t gained = elapsed >= UINT64_C(1) << 40 ? full : (int64_t) (elapsed * share_permille);

        bucket->level = bucket->level + gained > full ? full : bucket->level + gained;
        bucket->updated = now;
}

static void refill_user(Bucket *bucket, uint64_t now) {
        refill(bucket, PORTABLE_CALL_TIME_PER_USER_BURST_USEC, PORTABLE_CALL_TIME_PER_USER_SHARE, now);
}

static void refill_all(Bucket *bucket, uint64_t now) {
        refill(bucket, PORTABLE_CALL_TIME_UNPRIVILEGED_BURST_USEC, PORTABLE_CALL_TIME_UNPRIVILEGED_SHARE, now);
}

static void forget_full_users(CallBudget *b, uint64_t now) {
        size_t kept = 0;

        for (size_t i = 0; i < b->n_users; i++) {
                refill_user(&b->users[i], now);
                if (b->users[i].level < (int64_t) PORTABLE_CALL_TIME_PER_USER_BURST_USEC * SCALE)
                        b->users[kept++] = b->users[i];
        }
        b->n_users = kept;
}

/* uid's bucket, brought up to date; NULL if it has none (a full one) and create is false, or if
 * there is no memory for one (then the user is not limited by its own bucket, only by all's). */
static Bucket *user_bucket(CallBudget *b, uid_t uid, bool create, uint64_t now) {
        for (size_t i = 0; i < b->n_users; i++)
                if (b->users[i].uid == uid) {
                        refill_user(&b->users[i], now);
                        return &b->users[i];
                }
        if (!create)
                return NULL;

        if (b->n_users >= USERS_KEPT)
                forget_full_users(b, now);
        if (b->n_users >= b->allocated) {
                size_t n = b->allocated ? b->allocated * 2 : 8;
                Bucket *grown = realloc(b->users, n * sizeof(Bucket));

                if (!grown)
                        return NULL;
                b->users = grown;
                b->allocated = n;
        }
        b->users[b->n_users] = (Bucket) {
                .uid = uid,
                .level = (int64_t) PORTABLE_CALL_TIME_PER_USER_BURST_USEC * SCALE,
                .updated = now,
        };
        return &b->users[b->n_users++];
}

/* How long until an empty bucket holds something again (level above 0). */
static uint64_t wait_for(const Bucket *bucket, unsigned share_permille) {
        return ((uint64_t) (-bucket->level) + share_permille) / share_permille;
}

CallBudgetVerdict call_budget_admit(CallBudget *b, uid_t uid, uint64_t now, uint64_t *ret_wait_usec) {
        Bucket *user;

        if (!call_budget_counts(uid))
                return CALL_BUDGET_ADMIT;

        user = user_bucket(b, uid, /* create= */ false, now);
        if (user && user->level <= 0) {
                if (ret_wait_usec)
                        *ret_wait_usec = wait_for(user, PORTABLE_CALL_TIME_PER_USER_SHARE);
                return CALL_BUDGET_USER_SPENT;
        }
        refill_all(&b->all, now);
        if (b->all.level <= 0) {
                if (ret_wait_usec)
                        *ret_wait_usec = wait_for(&b->all, PORTABLE_CALL_TIME_UNPRIVILEGED_SHARE);
                return CALL_BUDGET_ALL_SPENT;
        }
        return CALL_BUDGET_ADMIT;
}

void call_budget_charge(CallBudget *b, uid_t uid, uint64_t used, uint64_t now) {
        /* Over an hour at once is not a call's work but a stopped clock: no overflow either way. */
        int64_t cost = (int64_t) (used > UINT64_C(1) << 32 ? UINT64_C(1) << 32 : used) * SCALE;
        Bucket *user;

        if (!call_budget_counts(uid))
                return;

        user = user_bucket(b, uid, /* create= */ true, now);
        if (user)
                user->level -= cost;
        refill_all(&b->all, now);
        b->all.level -= cost;
}
