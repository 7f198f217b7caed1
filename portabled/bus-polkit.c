/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <linux/capability.h>
#include <stdio.h>
#include <systemd/sd-event.h>

#include "bus-polkit.h"
#include "log.h"
#include "macro.h"
#include "strv.h"

/* CheckAuthorization flag: polkit may ask the user through their authentication agent. */
#define POLKIT_CHECK_ALLOW_USER_INTERACTION UINT32_C(1)

/* A person may take a while to type a password; a plain check is quick. 0 = sd-bus's default. */
#define POLKIT_INTERACTIVE_TIMEOUT_USEC (UINT64_C(300) * UINT64_C(1000000))

/* Each pending query holds a method call; a caller flooding us with calls that polkit is slow to
 * answer must not make us hold an unbounded number of them. */
#define POLKIT_QUERIES_MAX 4096U

typedef struct PolkitQuery PolkitQuery;

struct PolkitQuery {
        PolkitRegistry *registry;
        PolkitQuery *prev, *next;

        sd_bus_message *request; /* the method call being authorized */
        char *action;
        char **details;

        sd_bus_slot *slot;       /* the CheckAuthorization call while polkit has not answered */
        sd_bus_message *reply;   /* polkit's answer, once it came */
        sd_event_source *defer;  /* drops the query if its method call never comes back to us */
};

struct PolkitRegistry {
        PolkitQuery *queries;
        size_t n_queries;
        PolkitPrivilegeCheck privilege_check;
        void *privilege_check_userdata;
        bool closed;
};

static int default_privilege_check(sd_bus_message *msg, void *userdata) {
        return sd_bus_query_sender_privilege(msg, CAP_SYS_ADMIN);
}

int polkit_registry_new(PolkitRegistry **ret) {
        PolkitRegistry *registry = calloc(1, sizeof(PolkitRegistry));

        if (!registry)
                return -ENOMEM;
        registry->privilege_check = default_privilege_check;
        *ret = registry;
        return 0;
}

static PolkitQuery *polkit_query_free(PolkitQuery *q) {
        if (!q)
                return NULL;

        if (q->registry) {
                if (q->prev)
                        q->prev->next = q->next;
                else
                        q->registry->queries = q->next;
                if (q->next)
                        q->next->prev = q->prev;
                q->registry->n_queries--;
        }

        sd_bus_slot_unref(q->slot);
        sd_event_source_disable_unref(q->defer);
        sd_bus_message_unref(q->reply);
        sd_bus_message_unref(q->request);
        free(q->action);
        strv_free(q->details);
        return mfree(q);
}

PolkitRegistry *polkit_registry_free(PolkitRegistry *registry) {
        if (!registry)
                return NULL;
        while (registry->queries)
                polkit_query_free(registry->queries);
        return mfree(registry);
}

size_t polkit_registry_size(const PolkitRegistry *registry) {
        return registry ? registry->n_queries : 0;
}

void polkit_registry_close(PolkitRegistry *registry) {
        registry->closed = true;
}

void polkit_registry_set_privilege_check(PolkitRegistry *registry, PolkitPrivilegeCheck check, void *userdata) {
        registry->privilege_check = check ?: default_privilege_check;
        registry->privilege_check_userdata = userdata;
}

static PolkitQuery *registry_find(PolkitRegistry *registry, sd_bus_message *msg) {
        for (PolkitQuery *q = registry->queries; q; q = q->next)
                if (q->request == msg)
                        return q;
        return NULL;
}

static const char *details_lookup(const char **details, const char *key) {
        for (size_t i = 0; details && details[i] && details[i + 1]; i += 2)
                if (streq(details[i], key))
                        return details[i + 1];
        return NULL;
}

static bool details_equal(char **a, const char **b) {
        size_t i = 0;

        for (; a && a[i]; i++)
                if (!b || !b[i] || !streq(a[i], b[i]))
                        return false;
        return !b || !b[i];
}

/* " on image 'foo'" when the details name an image, for error messages. */
static void format_target(char *buf, size_t size, const char **details) {
        const char *image = details_lookup(details, "image");

        if (image)
                (void) snprintf(buf, size, " on image '%s'", image);
        else
                buf[0] = '\0';
}

static bool error_means_no_polkit(const sd_bus_error *e) {
        return sd_bus_error_has_names(e, SD_BUS_ERROR_SERVICE_UNKNOWN, SD_BUS_ERROR_NAME_HAS_NO_OWNER);
}

/* Turns polkit's answer (or its error) into our result. */
static int polkit_answer_to_result(sd_bus_message *reply, const char *action, const char **details,
                                   sd_bus_error *error) {
        char target[512];
        int authorized, challenge, r;

        format_target(target, sizeof(target), details);

        if (sd_bus_message_is_method_error(reply, NULL)) {
                const sd_bus_error *e = sd_bus_message_get_error(reply);

                if (error_means_no_polkit(e))
                        return sd_bus_error_setf(error, SD_BUS_ERROR_ACCESS_DENIED,
                                                 "Not authorized to perform '%s'%s: polkit is not available, "
                                                 "and without it only privileged callers are.",
                                                 action, target);
                return sd_bus_error_setf(error, SD_BUS_ERROR_ACCESS_DENIED,
                                         "Not authorized to perform '%s'%s: polkit failed to check: %s: %s",
                                         action, target, strna(e ? e->name : NULL), strna(e ? e->message : NULL));
        }

        r = sd_bus_message_enter_container(reply, 'r', "bba{ss}");
        if (r >= 0)
                r = sd_bus_message_read(reply, "bb", &authorized, &challenge);
        if (r < 0)
                return sd_bus_error_setf(error, SD_BUS_ERROR_ACCESS_DENIED,
                                         "Not authorized to perform '%s'%s: malformed answer from polkit.",
                                         action, target);
        if (authorized)
                return 1;
        if (challenge)
                return sd_bus_error_setf(error, SD_BUS_ERROR_INTERACTIVE_AUTHORIZATION_REQUIRED,
                                         "Interactive authentication required to perform '%s'%s.",
                                         action, target);
        return sd_bus_error_setf(error, SD_BUS_ERROR_ACCESS_DENIED, "Not authorized to perform '%s'%s.",
                                 action, target);
}

static int on_query_idle(sd_event_source *s, void *userdata) {
        PolkitQuery *q = userdata;

        /* The method call was dispatched again and did not ask for its answer (its object went
         * away, say) or could not be dispatched at all. */
        log_debug("Dropping the unused polkit answer for '%s'.", q->action);
        polkit_query_free(q);
        return 0;
}

/* Whether the bus says the sender has disconnected. When in doubt, it has not. */
static bool sender_is_gone(sd_bus *bus, const char *sender) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        int has_owner;

        if (sd_bus_is_bus_client(bus) <= 0)
                return false;
        if (sd_bus_call_method(bus, "org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus",
                               "NameHasOwner", NULL, &reply, "s", sender) < 0)
                return false;
        if (sd_bus_message_read(reply, "b", &has_owner) < 0)
                return false;
        return !has_owner;
}

static int on_polkit_reply(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error) {
        PolkitQuery *q = userdata;
        sd_bus *bus = sd_bus_message_get_bus(q->request);
        const char *sender = sd_bus_message_get_sender(q->request);
        sd_event *event = sd_bus_get_event(bus);
        int r;

        q->slot = sd_bus_slot_unref(q->slot);
        q->reply = sd_bus_message_ref(reply);

        /* A caller that went away while polkit decided (Ctrl-C at the password prompt) has given
         * up on its request: it is not carried out for nobody. */
        if (sender_is_gone(bus, sender)) {
                log_debug("Dropping the request for '%s' of %s: it disconnected while polkit decided.",
                          q->action, sender);
                polkit_query_free(q);
                return 0;
        }

        /* Once the second dispatch is over, the query must go even if the handler never asked for
         * it: at idle priority this runs after the bus has worked through its read queue. */
        if (event) {
                r = sd_event_add_defer(event, &q->defer, on_query_idle, q);
                if (r >= 0)
                        r = sd_event_source_set_priority(q->defer, SD_EVENT_PRIORITY_IDLE);
                if (r >= 0)
                        r = sd_event_source_set_enabled(q->defer, SD_EVENT_ONESHOT);
                if (r < 0)
                        goto fail;
        }

        /* sd-bus rewinds a method call before it runs its handler; rewinding here too keeps the
         * handler's second run independent of that. */
        r = sd_bus_message_rewind(q->request, true);
        if (r < 0)
                goto fail;
        r = sd_bus_enqueue_for_read(bus, q->request);
        if (r < 0)
                goto fail;
        return 1;

fail:
        log_debug_errno(r, "Failed to process the polkit answer for '%s': %m", q->action);
        (void) sd_bus_reply_method_errnof(q->request, r, "Failed to process the polkit answer for '%s': %m",
                                          q->action);
        polkit_query_free(q);
        return 0;
}

static int polkit_query_start(PolkitQuery *q, const char *sender, bool interactive) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *call = NULL;
        sd_bus *bus = sd_bus_message_get_bus(q->request);
        int r;

        r = sd_bus_message_new_method_call(bus, &call, POLKIT_BUS_NAME, POLKIT_BUS_PATH, POLKIT_BUS_INTERFACE,
                                           "CheckAuthorization");
        if (r < 0)
                return r;
        r = sd_bus_message_append(call, "(sa{sv})s", "system-bus-name", 1, "name", "s", sender, q->action);
        if (r < 0)
                return r;
        r = sd_bus_message_open_container(call, 'a', "{ss}");
        if (r < 0)
                return r;
        for (size_t i = 0; q->details && q->details[i] && q->details[i + 1]; i += 2) {
                r = sd_bus_message_append(call, "{ss}", q->details[i], q->details[i + 1]);
                if (r < 0)
                        return r;
        }
        r = sd_bus_message_close_container(call);
        if (r < 0)
                return r;
        r = sd_bus_message_append(call, "us", interactive ? POLKIT_CHECK_ALLOW_USER_INTERACTION : 0,
                                  /* cancellation_id= */ "");
        if (r < 0)
                return r;

        return sd_bus_call_async(bus, &q->slot, call, on_polkit_reply, q,
                                 interactive ? POLKIT_INTERACTIVE_TIMEOUT_USEC : 0);
}

int bus_verify_polkit_async(sd_bus_message *msg, const char *action, const char **details,
                            PolkitRegistry *registry, sd_bus_error *error) {
        PolkitQuery *q;
        const char *sender;
        bool interactive;
        int r;

        q = registry_find(registry, msg);
        if (q) {
                _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
                bool same;

                if (q->slot)
                        return 0; /* still waiting; the message comes back when polkit answers */

                /* The answer is used once, and only for the question it answers. */
                same = streq(q->action, action) && details_equal(q->details, details);
                reply = sd_bus_message_ref(q->reply);
                polkit_query_free(q);
                if (!same)
                        return sd_bus_error_setf(error, SD_BUS_ERROR_ACCESS_DENIED,
                                                 "Authorization for '%s' was asked for another action.",
                                                 action);
                return polkit_answer_to_result(reply, action, details, error);
        }

        r = registry->privilege_check(msg, registry->privilege_check_userdata);
        if (r < 0)
                return sd_bus_error_set_errnof(error, r,
                                               "Failed to determine the privileges of the caller: %m");
        if (r > 0)
                return 1;

        sender = sd_bus_message_get_sender(msg);
        if (!sender) {
                /* A direct connection has no bus name polkit could identify. */
                char target[512];

                format_target(target, sizeof(target), details);
                return sd_bus_error_setf(error, SD_BUS_ERROR_ACCESS_DENIED,
                                         "Not authorized to perform '%s'%s: the caller has no bus name "
                                         "to ask polkit about.", action, target);
        }

        if (registry->closed)
                return sd_bus_error_setf(error, SD_BUS_ERROR_FAILED,
                                         "The service is exiting after being idle and asks for no more authorizations; "
                                         "call again to reach its next instance ('%s').", action);
        if (registry->n_queries >= POLKIT_QUERIES_MAX)
                return sd_bus_error_setf(error, SD_BUS_ERROR_LIMITS_EXCEEDED,
                                         "Too many authorization requests pending, refusing '%s'.", action);

        q = calloc(1, sizeof(PolkitQuery));
        if (!q)
                return -ENOMEM;
        q->request = sd_bus_message_ref(msg);
        q->action = strdup(action);
        q->details = strv_copy((char *const *) details);
        if (!q->action || !q->details) {
                polkit_query_free(q);
                return -ENOMEM;
        }

        interactive = sd_bus_message_get_allow_interactive_authorization(msg) > 0;
        r = polkit_query_start(q, sender, interactive);
        if (r < 0) {
                polkit_query_free(q);
                return sd_bus_error_set_errnof(error, r, "Failed to ask polkit about '%s': %m", action);
        }

        q->registry = registry;
        q->next = registry->queries;
        if (registry->queries)
                registry->queries->prev = q;
        registry->queries = q;
        registry->n_queries++;
        return 0;
}
