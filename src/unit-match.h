/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>

/* Which unit files of an image belong to a portable service. */

typedef enum UnitNameKind {
        UNIT_NAME_PLAIN = 1 << 0,    /* foo.service */
        UNIT_NAME_TEMPLATE = 1 << 1, /* foo@.service */
        UNIT_NAME_INSTANCE = 1 << 2, /* foo@bar.service */
        UNIT_NAME_ANY = UNIT_NAME_PLAIN | UNIT_NAME_TEMPLATE | UNIT_NAME_INSTANCE,
} UnitNameKind;

/* The unit directories searched inside an image, highest priority first. */
extern const char *const unit_search_dirs[];

/* Syntactic validity of a unit name of any systemd unit type, restricted to kinds. */
bool unit_name_is_valid(const char *name, UnitNameKind kinds);

/* True for the unit types a portable service may carry: .service .socket .target .timer .path */
bool unit_name_is_portable_type(const char *name);

/* The prefix rule: empty matches accept everything; otherwise some match P must be a prefix of
 * name followed by '-', '.', '@' or the end of the name ("foo" matches foo.service,
 * foo-bar.socket, foo@.service, foo.bar.timer, but not foo_x.service or foobar.service). */
bool unit_name_matches_prefixes(const char *name, char * const *matches);

/* The unit type suffix without the dot: "service" for foo.service. Points into name. */
const char *unit_name_type(const char *name);
