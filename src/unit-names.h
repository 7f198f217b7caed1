/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stddef.h>

/* What belongs to an image, for checking the settings of its unit files (unit-file-check.h).
 *
 * The image's names are the names of the units attached from it, up to '@' or the type suffix
 * ("foo" for foo.service and foo@.service). A file, directory or account name belongs to the
 * image if it is one of them or starts with one followed by '-', '.' or '@': the rule of attach
 * prefixes (unit_name_matches_prefixes()). The image's units are the attached units and the
 * instances of its templates.
 *
 * Specifiers are expanded as systemd's system manager expands them in one unit's settings, as far
 * as they are known before the unit runs: the unit's names, and the manager's fixed directories.
 * The instance of a template is not known: it stands in expanded values as UNIT_NAMES_INSTANCE. */

/* Chosen when the template is started; never empty, never contains '/', may be "." or "..". */
#define UNIT_NAMES_INSTANCE '\x01'

typedef struct UnitNames {
        const char *self;            /* the unit, as given (borrowed) */
        char * const *image_units;
        char **stems;                /* the image's names */
        char *unit, *name, *prefix;  /* %n, %N, %p of the unit */
        char *instance;              /* %i: "" for a plain unit */
} UnitNames;

/* unit: the unit whose settings are read; image_units: all units attached from the image. */
int unit_names_init(UnitNames *n, const char *unit, char * const *image_units);
void unit_names_done(UnitNames *n);

/* The stem of a unit name: up to '@' or the type suffix. NULL on OOM. */
char *unit_names_stem(const char *unit);

/* name is one of the image's names or starts with one followed by '-', '.' or '@'. */
bool unit_names_owns(const UnitNames *n, const char *name);

/* unit is one of the image's units or an instance of one of its templates. */
bool unit_names_is_image_unit(const UnitNames *n, const char *unit);

/* A relative path whose components are all file names (not empty, ".", ".."), the first one the
 * image's, and at most max_depth of them (0: any number). */
bool unit_names_owns_relative_path(const UnitNames *n, const char *path, size_t max_depth);

/* /run/NAME or /run/NAME/FILE (also below /var/run), NAME the image's: where a service manager
 * running as root may create, chown and remove a file for the image. The service may write its
 * own RuntimeDirectory=, so anything deeper could cross a symlink it planted there. */
bool unit_names_owns_runtime_path(const UnitNames *n, const char *path);

/* Expands %n %N %p %i %j (the unit's names), %t %S %C %L %E %T %V %h (the system manager's
 * directories) and %%. Returns 0 and the result, -EBADR with *ret_bad set to the specifier
 * character for any other specifier or a trailing '%' (its value on the host cannot be known),
 * -EBADR with *ret_bad = UNIT_NAMES_INSTANCE if s contains that character, -ENOMEM. */
int unit_names_expand(const UnitNames *n, const char *s, char **ret, char *ret_bad);
