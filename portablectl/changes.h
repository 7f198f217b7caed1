/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stddef.h>
#include <json-c/json.h>
#include <systemd/sd-bus.h>

/* The "a(sss) changes" list returned by attach/detach/reattach (and by systemd's enable/disable):
 * (type, path, source), source empty when not applicable. */

typedef struct Change {
        const char *type;
        const char *path;
        const char *source;
} Change;

typedef struct ChangeList {
        Change *changes;
        size_t n;
} ChangeList;

/* Reads one a(sss) array at the current position of reply. The strings are borrowed from reply,
 * which must outlive the list. */
int change_list_read(sd_bus_message *reply, ChangeList *ret);
void change_list_done(ChangeList *l);

/* Human-readable lines on stderr ("Created symlink a → b." ...), nothing with --quiet. */
void change_list_print(const ChangeList *l);
/* The same for the changes of systemd's EnableUnitFiles*(), worded like systemctl. */
void change_list_print_systemd(const ChangeList *l);

/* --copy=mixed falls back to a link where an image cannot be copied (a file system mounted inside
 * it, a full disk). The change list can only say "symlink": a warning for each such link, whatever
 * --quiet and the output format. */
void change_list_warn_uncopied(const ChangeList *l);

/* [{"type": ..., "path": ..., "source": ...}, ...] */
struct json_object *change_list_to_json(const ChangeList *l);
