/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <criterion/criterion.h>
#include <criterion/new/assert.h>
#include <stdio.h>

#include "sender-uids.h"

/* portabled/sender-uids.c: the user behind a unique bus name, remembered; a name never seen, or one
 * whose slot another took, is not known (and never answered with another's user). */

Test(sender_uids, remembers_names) {
        SenderUids *c = sender_uids_new();
        uid_t uid = 4242;

        cr_assert(not(zero(ptr, c)));
        cr_assert(not(sender_uids_get(c, ":1.1", &uid)));
        cr_assert(eq(u32, uid, 4242), "untouched when unknown");
        sender_uids_put(c, ":1.1", 1000);
        sender_uids_put(c, ":1.2", 0);
        cr_assert(sender_uids_get(c, ":1.1", &uid));
        cr_assert(eq(u32, uid, 1000));
        cr_assert(sender_uids_get(c, ":1.2", &uid));
        cr_assert(eq(u32, uid, 0));
        cr_assert(not(sender_uids_get(c, ":1.3", &uid)));
        cr_assert(not(sender_uids_get(c, "", &uid)));
        cr_assert(not(sender_uids_get(c, NULL, &uid)));
        sender_uids_free(c);
}

Test(sender_uids, never_confuses_names) {
        SenderUids *c = sender_uids_new();
        char name[32];
        size_t known = 0;

        /* Far more names than slots: each one that is still known has its own user. */
        for (unsigned i = 0; i < 20000; i++) {
                snprintf(name, sizeof(name), ":1.%u", i);
                sender_uids_put(c, name, 100000 + i);
        }
        for (unsigned i = 0; i < 20000; i++) {
                uid_t uid;

                snprintf(name, sizeof(name), ":1.%u", i);
                if (!sender_uids_get(c, name, &uid))
                        continue;
                cr_assert(eq(u32, uid, 100000 + i), "%s", name);
                known++;
        }
        cr_assert(gt(sz, known, 1000), "most slots hold a name");
        cr_assert(lt(sz, known, 20000));
        sender_uids_free(c);
}

Test(sender_uids, long_names_are_not_kept) {
        SenderUids *c = sender_uids_new();
        const char *name = ":1.123456789012345678901234567890";
        uid_t uid;

        sender_uids_put(c, name, 7);
        cr_assert(not(sender_uids_get(c, name, &uid)));
        sender_uids_free(c);
}
