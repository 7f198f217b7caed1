/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdio.h>
#include <stdlib.h>

#include "bus-call.h"
#include "changes.h"
#include "log.h"
#include "path-util.h"
#include "portable-types.h"
#include "portablectl.h"

int change_list_read(sd_bus_message *reply, ChangeList *ret) {
        ChangeList l = {};
        int r;

        r = sd_bus_message_enter_container(reply, 'a', "(sss)");
        if (r < 0)
                return bus_log_parse_error(r);

        for (;;) {
                const char *type, *path, *source;
                Change *grown;

                r = sd_bus_message_read(reply, "(sss)", &type, &path, &source);
                if (r < 0) {
                        change_list_done(&l);
                        return bus_log_parse_error(r);
                }
                if (r == 0)
                        break;

                grown = reallocarray(l.changes, l.n + 1, sizeof(Change));
                if (!grown) {
                        change_list_done(&l);
                        return log_oom();
                }
                l.changes = grown;
                l.changes[l.n++] = (Change) { .type = type, .path = path, .source = source };
        }

        r = sd_bus_message_exit_container(reply);
        if (r < 0) {
                change_list_done(&l);
                return bus_log_parse_error(r);
        }

        *ret = l;
        return 0;
}

void change_list_done(ChangeList *l) {
        l->changes = mfree(l->changes);
        l->n = 0;
}

/* systemd_style: the list came from systemd's EnableUnitFiles*, print removals the way systemctl
 * does, with the path quoted. */
static void change_print(const Change *c, bool systemd_style) {
        switch (portable_change_type_from_string(c->type)) {
        case PORTABLE_SYMLINK:
                log_info("Created symlink %s → %s.", c->path, c->source);
                break;
        case PORTABLE_COPY:
                if (isempty(c->source))
                        log_info("Copied %s.", c->path);
                else
                        log_info("Copied %s → %s.", c->source, c->path);
                break;
        case PORTABLE_UNLINK:
                if (systemd_style)
                        log_info("Removed \"%s\".", c->path);
                else
                        log_info("Removed %s.", c->path);
                break;
        case PORTABLE_WRITE:
                log_info("Written %s.", c->path);
                break;
        case PORTABLE_MKDIR:
                log_info("Created directory %s.", c->path);
                break;
        default:
                log_error("Unexpected change: %s/%s/%s", c->type, c->path, c->source);
        }
}

void change_list_print(const ChangeList *l) {
        if (arg_quiet)
                return;
        for (size_t i = 0; i < l->n; i++)
                change_print(&l->changes[i], /* systemd_style= */ false);
}

void change_list_print_systemd(const ChangeList *l) {
        if (arg_quiet)
                return;
        for (size_t i = 0; i < l->n; i++)
                change_print(&l->changes[i], /* systemd_style= */ true);
}

static bool is_image_link(const char *path) {
        _cleanup_free_ char *dir = path_dirname(path);

        return dir && (endswith(dir, "/etc/portables") || endswith(dir, "/run/portables"));
}

void change_list_warn_uncopied(const ChangeList *l) {
        for (size_t i = 0; i < l->n; i++) {
                const Change *c = &l->changes[i];

                if (portable_change_type_from_string(c->type) == PORTABLE_SYMLINK && is_image_link(c->path))
                        log_warning("Image %s could not be copied to %s (--copy=mixed) and is linked there instead; "
                                    "portabled's log says why.", c->source, c->path);
        }
}

struct json_object *change_list_to_json(const ChangeList *l) {
        struct json_object *array = json_object_new_array();

        if (!array)
                return NULL;

        for (size_t i = 0; i < l->n; i++) {
                struct json_object *o = json_object_new_object();

                if (!o || json_object_array_add(array, o) < 0) {
                        json_object_put(o);
                        json_object_put(array);
                        return NULL;
                }
                json_object_object_add(o, "type", json_object_new_string(l->changes[i].type));
                json_object_object_add(o, "path", json_object_new_string(l->changes[i].path));
                json_object_object_add(o, "source", json_object_new_string(l->changes[i].source));
        }

        return array;
}
