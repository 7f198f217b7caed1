/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "host.h"

/* Security profiles: <profile dir>/<name>/<unit type>.conf, e.g. default/service.conf. */

/* Finds the drop-in of profile name for the given unit name's type. Returns 1 and the path, 0 if
 * the profile exists but has nothing for this unit type (sockets, timers, ...), -ENOENT if no
 * profile of that name exists at all, -EINVAL for an invalid profile name. */
int profile_find_dropin(const Host *host, const char *name, const char *unit, char **ret_path);

/* All profile names, de-duplicated and sorted. */
int profile_list(const Host *host, char ***ret);
