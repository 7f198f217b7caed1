/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stddef.h>
#include <systemd/sd-bus.h>

/* Asking polkit whether the sender of a method call may perform an action, without blocking the
 * event loop while polkit (and perhaps a person typing a password) decides.
 *
 * A method handler calls bus_verify_polkit_async(). The first time, unless the caller is
 * privileged, this sends CheckAuthorization to org.freedesktop.PolicyKit1 and returns 0: the
 * handler then returns 1 without replying. When polkit answers, the method call is put back into
 * the bus's read queue (rewound to its first argument) and dispatched again, like a new call; this
 * time bus_verify_polkit_async() finds polkit's answer in the registry, forgets it and returns it.
 * Handlers therefore must not change anything before the check.
 *
 * The subject polkit is asked about is the sender's unique bus name ("system-bus-name"). The
 * check is interactive (polkit may ask the user for a password through their agent) when the
 * call carries the ALLOW_INTERACTIVE_AUTHORIZATION flag. */

typedef struct PolkitRegistry PolkitRegistry;

#define POLKIT_BUS_NAME "org.freedesktop.PolicyKit1"
#define POLKIT_BUS_PATH "/org/freedesktop/PolicyKit1/Authority"
#define POLKIT_BUS_INTERFACE "org.freedesktop.PolicyKit1.Authority"

/* Whether the sender of msg may do anything without asking polkit: > 0 yes, 0 no, < 0 on failure. */
typedef int (*PolkitPrivilegeCheck)(sd_bus_message *msg, void *userdata);

/* The pending and answered queries of one daemon. Freeing it drops every query (pending calls to
 * polkit are cancelled, and their method calls are never answered); free it before the bus. */
int polkit_registry_new(PolkitRegistry **ret);
PolkitRegistry *polkit_registry_free(PolkitRegistry *registry);
static inline void polkit_registry_freep(PolkitRegistry **registry) {
        polkit_registry_free(*registry);
}

/* Queries waiting for polkit or for their method call to come back. */
size_t polkit_registry_size(const PolkitRegistry *registry);

/* From now on a caller that would need polkit is refused at once (privileged callers are still
 * served). For a daemon on its way out: it gave its bus name back, and a question to polkit, which
 * may wait minutes for a password, would keep it alive while its successor waits for it. */
void polkit_registry_close(PolkitRegistry *registry);

/* The default check is sd_bus_query_sender_privilege(msg, CAP_SYS_ADMIN), which on a bus means:
 * the sender runs as root. The daemon replaces it with the same check on credentials it asks for
 * once per call (sender-creds.h), tests with their own. */
void polkit_registry_set_privilege_check(PolkitRegistry *registry, PolkitPrivilegeCheck check, void *userdata);

/* Returns 1 if the sender of msg may perform action; 0 if a polkit query is now pending: the handler
 * must return 1 without replying, and msg is dispatched again (sd_bus_enqueue_for_read()) once
 * polkit has answered, when this call returns the answer. < 0 with error set if not authorized or
 * on failure: org.freedesktop.DBus.Error.AccessDenied naming the action (and the image, when
 * details has an "image" entry); org.freedesktop.DBus.Error.InteractiveAuthorizationRequired when
 * polkit would have asked for a password but the call did not allow that. Privileged callers are
 * authorized at once; if polkit is not on the bus, only they are.
 *
 * details: NULL or key, value, key, value, ..., NULL; passed to polkit (rules see them with
 * action.lookup(key)). */
int bus_verify_polkit_async(sd_bus_message *msg, const char *action, const char **details,
                            PolkitRegistry *registry, sd_bus_error *error);
