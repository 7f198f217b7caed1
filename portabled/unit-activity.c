/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <systemd/sd-event.h>

#include "path-util.h"
#include "portable-bus.h"
#include "strv.h"
#include "unit-activity.h"
#include "unit-match.h"

void unit_activity_done(UnitActivity *a) {
        a->queried = strv_free(a->queried);
        a->prefixes = strv_free(a->prefixes);
        a->active = strv_free(a->active);
        a->missing = strv_free(a->missing);
        a->no_manager = false;
}

static bool template_has_active_instance(char * const *active, const char *template) {
        const char *at = strchr(template, '@'), *dot = strrchr(template, '.');

        STRV_FOREACH(u, (char **) active)
                if (strncmp(*u, template, (size_t) (at - template + 1)) == 0 && endswith(*u, dot))
                        return true;
        return false;
}

int unit_activity_is_active(void *userdata, const char *unit) {
        UnitActivity *a = userdata;
        int r;

        if (!a)
                return -EAGAIN;
        if (a->no_manager)
                return 0;
        if (!strv_contains_sorted(a->queried, unit) &&
            !(!strv_isempty(a->prefixes) && unit_name_matches_prefixes(unit, a->prefixes))) {
                r = strv_extend_unique(&a->missing, unit);
                return r < 0 ? r : -EAGAIN;
        }
        if (unit_name_is_valid(unit, UNIT_NAME_TEMPLATE))
                return template_has_active_instance(a->active, unit);
        return strv_contains_sorted(a->active, unit);
}

static bool error_means_no_manager(const sd_bus_error *e) {
        return sd_bus_error_has_names(e, SD_BUS_ERROR_SERVICE_UNKNOWN, SD_BUS_ERROR_NAME_HAS_NO_OWNER,
                                      SD_BUS_ERROR_NO_REPLY, SD_BUS_ERROR_DISCONNECTED, SD_BUS_ERROR_TIMEOUT);
}

typedef struct Query {
        UnitActivity activity;
        UnitActivityCallback callback;
        void *userdata;
} Query;

static void query_free(void *p) {
        Query *q = p;

        unit_activity_done(&q->activity);
        free(q);
}

static int parse_reply(sd_bus_message *reply, UnitActivity *a) {
        int r;

        r = sd_bus_message_enter_container(reply, 'a', "(ssssssouso)");
        if (r < 0)
                return r;
        for (;;) {
                const char *name;

                r = sd_bus_message_read(reply, "(ssssssouso)", &name, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL);
                if (r < 0)
                        return r;
                if (r == 0)
                        break;
                r = strv_extend(&a->active, name);
                if (r < 0)
                        return r;
        }
        strv_sort(a->active);
        return sd_bus_message_exit_container(reply);
}

static int on_reply(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error) {
        Query *q = userdata;
        const sd_bus_error *e = sd_bus_message_get_error(reply);
        int r = 0;

        if (e) {
                if (error_means_no_manager(e))
                        q->activity.no_manager = true;
                else
                        r = -sd_bus_message_get_errno(reply) ?: -EIO;
        } else
                r = parse_reply(reply, &q->activity);

        q->callback(&q->activity, r < 0 ? r : 0, r < 0 ? e : NULL, q->userdata);
        return 0;
}

static int on_defer(sd_event_source *s, void *userdata) {
        Query *q = userdata;

        q->callback(&q->activity, 0, NULL, q->userdata);
        return 0;
}

/* What PID 1's pattern matching (fnmatch() without flags) takes literally: no wildcard, no
 * bracket, no escape. A prefix with anything else is not asked about by pattern. */
#define PREFIX_PATTERN_SAFE_CHARS "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ:-_."

static bool prefix_is_pattern_safe(const char *p) {
        return !isempty(p) && p[strspn(p, PREFIX_PATTERN_SAFE_CHARS)] == '\0';
}

/* The patterns that match what unit_name_matches_prefixes() accepts for prefix p. */
static int add_prefix_patterns(char ***patterns, const char *p) {
        static const char *const suffixes[] = { "", ".*", "-*", "@*" };

        for (size_t i = 0; i < ELEMENTSOF(suffixes); i++) {
                char *pattern;

                if (asprintf(&pattern, "%s%s", p, suffixes[i]) < 0 || strv_consume(patterns, pattern) < 0)
                        return -ENOMEM;
        }
        return 0;
}

int unit_activity_query(sd_bus *bus, sd_event *event, char * const *units, char * const *prefixes,
                        UnitActivityCallback callback, void *userdata, sd_bus_slot **ret_slot,
                        sd_event_source **ret_defer) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        _cleanup_strv_free_ char **patterns = NULL;
        Query *q;
        int r;

        q = calloc(1, sizeof(Query));
        if (!q)
                return -ENOMEM;
        q->callback = callback;
        q->userdata = userdata;
        q->activity.queried = strv_copy(units);
        if (units && !q->activity.queried) {
                query_free(q);
                return -ENOMEM;
        }
        strv_sort(q->activity.queried);
        strv_uniq_sorted(q->activity.queried);
        STRV_FOREACH(p, (char **) prefixes)
                if (prefix_is_pattern_safe(*p) && strv_extend_unique(&q->activity.prefixes, *p) < 0) {
                        query_free(q);
                        return -ENOMEM;
                }

        if (!bus || (strv_length(units) == 0 && strv_isempty(q->activity.prefixes))) {
                /* Nothing to ask: answer on the next loop iteration, as the bus would. */
                q->activity.no_manager = !bus;
                r = sd_event_add_defer(event, ret_defer, on_defer, q);
                if (r >= 0)
                        r = sd_event_source_set_destroy_callback(*ret_defer, query_free);
                if (r < 0)
                        query_free(q);
                return r;
        }

        STRV_FOREACH(u, (char **) q->activity.queried) {
                char *p;

                if (unit_name_is_valid(*u, UNIT_NAME_TEMPLATE)) {
                        const char *at = strchr(*u, '@'), *dot = strrchr(*u, '.');

                        if (asprintf(&p, "%.*s*%s", (int) (at - *u + 1), *u, dot) < 0)
                                p = NULL;
                } else
                        p = strdup(*u);
                if (!p || strv_consume(&patterns, p) < 0) {
                        query_free(q);
                        return -ENOMEM;
                }
        }
        STRV_FOREACH(p, q->activity.prefixes)
                if (add_prefix_patterns(&patterns, *p) < 0) {
                        query_free(q);
                        return -ENOMEM;
                }

        r = sd_bus_message_new_method_call(bus, &m, SYSTEMD_BUS_NAME, SYSTEMD_BUS_PATH, SYSTEMD_BUS_MANAGER_INTERFACE,
                                           "ListUnitsByPatterns");
        if (r >= 0)
                r = sd_bus_message_append(m, "as", 4, "activating", "active", "reloading", "deactivating");
        if (r >= 0)
                r = sd_bus_message_append_strv(m, patterns);
        if (r >= 0)
                r = sd_bus_call_async(bus, ret_slot, m, on_reply, q, 0);
        if (r >= 0)
                r = sd_bus_slot_set_destroy_callback(*ret_slot, query_free);
        if (r < 0) {
                *ret_slot = sd_bus_slot_unref(*ret_slot);
                query_free(q);
        }
        return r;
}
