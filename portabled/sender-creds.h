/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <systemd/sd-bus.h>

/* The credentials of the sender of the call being handled, asked of the bus driver once per call
 * (a synchronous round trip): the privilege check of bus-polkit.h and the per-user limits of
 * operation.c both need them. The last call's answer is kept with a reference to the call, so
 * that the call it belongs to can neither be confused with another nor go away. */
typedef struct SenderCreds {
        sd_bus_message *message;
        sd_bus_creds *creds;
} SenderCreds;

/* The sender's UID, EUID and effective capabilities as the bus knows them (borrowed: valid until
 * the next call's are asked for). */
int sender_creds_query(SenderCreds *s, sd_bus_message *msg, sd_bus_creds **ret);

void sender_creds_done(SenderCreds *s);

/* sd_bus_query_sender_privilege(msg, CAP_SYS_ADMIN) on credentials already at hand: the sender has
 * CAP_SYS_ADMIN (as the bus says, never as read from /proc), or runs as our user. */
int sender_creds_is_privileged(sd_bus_creds *creds);
