/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <sys/types.h>

/* The user ID behind each unique bus name (":1.42") the daemon heard from, so that asking the bus
 * (a synchronous round trip) is needed once per connection, not once per call: a flood of calls
 * must cost the daemon little more than reading them. A bus never gives a unique name to a second
 * connection, so an entry is never wrong; it is only ever forgotten, when another name takes its
 * slot (direct-mapped, a fixed number of slots). */
typedef struct SenderUids SenderUids;

SenderUids *sender_uids_new(void);
SenderUids *sender_uids_free(SenderUids *c);

bool sender_uids_get(const SenderUids *c, const char *name, uid_t *ret);
void sender_uids_put(SenderUids *c, const char *name, uid_t uid);
