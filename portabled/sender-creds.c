/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <linux/capability.h>
#include <stdbool.h>
#include <unistd.h>

#include "sender-creds.h"

#define SENDER_CREDS_MASK (SD_BUS_CREDS_UID | SD_BUS_CREDS_EUID | SD_BUS_CREDS_EFFECTIVE_CAPS)

int sender_creds_query(SenderCreds *s, sd_bus_message *msg, sd_bus_creds **ret) {
        sd_bus_creds *creds = NULL;
        int r;

        if (s->message != msg) {
                r = sd_bus_query_sender_creds(msg, SENDER_CREDS_MASK, &creds);
                if (r < 0)
                        return r;
                sender_creds_done(s);
                s->message = sd_bus_message_ref(msg);
                s->creds = creds;
        }
        *ret = s->creds;
        return 0;
}

void sender_creds_done(SenderCreds *s) {
        s->message = sd_bus_message_unref(s->message);
        s->creds = sd_bus_creds_unref(s->creds);
}

int sender_creds_is_privileged(sd_bus_creds *creds) {
        uint64_t augmented = sd_bus_creds_get_augmented_mask(creds);
        bool know_caps = false;
        uid_t our_uid = getuid(), sender_uid;
        int r;

        /* What is read from /proc may belong to another process by now: never grounds for trust. */
        if (!(augmented & SD_BUS_CREDS_EFFECTIVE_CAPS)) {
                r = sd_bus_creds_has_effective_cap(creds, CAP_SYS_ADMIN);
                if (r > 0)
                        return 1;
                know_caps = r == 0;
        }
        if (our_uid == 0 && know_caps)
                return 0;
        if (augmented & (SD_BUS_CREDS_UID | SD_BUS_CREDS_EUID))
                return 0;

        r = sd_bus_creds_get_euid(creds, &sender_uid);
        if (r < 0)
                r = sd_bus_creds_get_uid(creds, &sender_uid);
        if (r < 0)
                return 0;
        return sender_uid == our_uid || (our_uid != 0 && sender_uid == 0);
}
