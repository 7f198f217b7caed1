/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdio.h>

#include "log.h"
#include "output.h"
#include "plan.h"
#include "portablectl.h"
#include "strv.h"

void plan_actions_done(PlanActions *a) {
        a->enable = strv_free(a->enable);
        a->disable = strv_free(a->disable);
        a->stop = strv_free(a->stop);
        a->start = strv_free(a->start);
        a->restart = strv_free(a->restart);
        a->clean = strv_free(a->clean);
        reload_decision_done(&a->reload);
}

static bool is_conflict(const Change *c) {
        return streq(c->type, "conflict");
}

static void print_change(const Change *c) {
        if (streq(c->type, "symlink"))
                printf("  Would create symlink %s → %s.\n", c->path, c->source);
        else if (streq(c->type, "copy") && !isempty(c->source))
                printf("  Would copy %s → %s.\n", c->source, c->path);
        else if (streq(c->type, "copy"))
                printf("  Would copy %s.\n", c->path);
        else if (streq(c->type, "write"))
                printf("  Would write %s.\n", c->path);
        else if (streq(c->type, "mkdir"))
                printf("  Would create directory %s.\n", c->path);
        else if (streq(c->type, "unlink"))
                printf("  Would remove %s.\n", c->path);
        else if (is_conflict(c) && streq(c->source, "active"))
                printf("  Conflict: unit %s is active.\n", c->path);
        else if (is_conflict(c))
                printf("  Conflict: unit file %s exists on the host already.\n", c->path);
        else
                printf("  Would make an unexpected change: %s %s %s\n", c->type, c->path, c->source);
}

static size_t count_conflicts(const ChangeList *l) {
        size_t n = 0;

        for (size_t i = 0; i < l->n; i++)
                n += is_conflict(&l->changes[i]);
        return n;
}

static void print_units(const char *verb, char **units) {
        STRV_FOREACH(u, units)
                printf("Would %s %s.\n", verb, *u);
}

static struct json_object *strv_to_json(char **l) {
        struct json_object *a = json_object_new_array();

        STRV_FOREACH(s, l)
                if (a)
                        json_object_array_add(a, json_object_new_string(*s));
        return a;
}

static int plan_print_json(const Batch *b, const JobResult *results, bool reattach, const PlanActions *a) {
        struct json_object *o = json_object_new_object(), *images = json_object_new_array(),
                           *conflicts = json_object_new_array();

        if (!o || !images || !conflicts) {
                json_object_put(o);
                json_object_put(images);
                json_object_put(conflicts);
                return log_oom();
        }

        for (size_t i = 0; i < b->n; i++) {
                struct json_object *image = json_object_new_object();
                const ChangeList *lists[] = { &results[i].removed, &results[i].changes };

                if (!image)
                        continue;
                json_object_object_add(image, "image", json_object_new_string(b->jobs[i].image));
                if (reattach) {
                        json_object_object_add(image, "removed", change_list_to_json(&results[i].removed));
                        json_object_object_add(image, "updated", change_list_to_json(&results[i].changes));
                } else
                        json_object_object_add(image, "changes", change_list_to_json(&results[i].changes));
                json_object_array_add(images, image);

                for (size_t k = 0; k < ELEMENTSOF(lists); k++)
                        for (size_t c = 0; c < lists[k]->n; c++) {
                                const Change *ch = &lists[k]->changes[c];
                                struct json_object *co;

                                if (!is_conflict(ch) || !(co = json_object_new_object()))
                                        continue;
                                json_object_object_add(co, "image", json_object_new_string(b->jobs[i].image));
                                json_object_object_add(co, "unit", json_object_new_string(ch->path));
                                json_object_object_add(co, "reason", json_object_new_string(ch->source));
                                json_object_array_add(conflicts, co);
                        }
        }

        json_object_object_add(o, "images", images);
        json_object_object_add(o, "conflicts", conflicts);
        json_object_object_add(o, "enable", strv_to_json(a->enable));
        json_object_object_add(o, "disable", strv_to_json(a->disable));
        json_object_object_add(o, "stop", strv_to_json(a->stop));
        json_object_object_add(o, "start", strv_to_json(a->start));
        json_object_object_add(o, "restart", strv_to_json(a->restart));
        json_object_object_add(o, "clean", strv_to_json(a->clean));
        json_object_object_add(o, "reload", json_object_new_boolean(a->reload.reload));
        json_object_object_add(o, "reload_reason", json_string_or_null(a->reload.reason));
        return json_print_and_put(o);
}

int plan_print(const Batch *b, const JobResult *results, bool reattach, const PlanActions *a) {
        size_t conflicts = 0;
        int r;

        for (size_t i = 0; i < b->n; i++)
                conflicts += count_conflicts(&results[i].removed) + count_conflicts(&results[i].changes);

        if (arg_json != JSON_FORMAT_OFF) {
                r = plan_print_json(b, results, reattach, a);
                return r < 0 ? r : conflicts > 0;
        }

        for (size_t i = 0; i < b->n; i++) {
                printf("Image %s:\n", b->jobs[i].image);
                for (size_t k = 0; k < results[i].removed.n; k++)
                        print_change(&results[i].removed.changes[k]);
                for (size_t k = 0; k < results[i].changes.n; k++)
                        print_change(&results[i].changes.changes[k]);
        }
        print_units("stop", a->stop);
        print_units("disable", a->disable);
        print_units("clean", a->clean);
        print_units("enable", a->enable);
        if (a->reload.reload)
                printf("Would reload the service manager: %s.\n", a->reload.reason);
        else
                printf("Would not reload the service manager: %s.\n", a->reload.reason);
        print_units("start", a->start);
        print_units("restart", a->restart);

        if (conflicts > 0) {
                log_error("%zu conflict%s would refuse this; nothing was changed.", conflicts, conflicts == 1 ? "" : "s");
                return 1;
        }
        if (!arg_quiet)
                log_info("Dry run: nothing was changed.");
        return 0;
}
