/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <systemd/sd-bus.h>

#include "host.h"

/* Security profiles: <profile dir>/<name>/<unit type>.conf, e.g. default/service.conf.
 *
 * Ours, not systemd's (upstream issue 10235): a profile may also be given as an absolute path,
 * either of one file (the drop-in for services; other unit types get none, as with the shipped
 * profiles) or of a directory of <unit type>.conf files like a named profile's, which must have a
 * service.conf (or it would attach services without a profile). The daemon reads
 * it as root for a caller who need not be root, so it must be a file (and directory) owned by
 * root, writable by nobody else, and readable by everyone: it can then tell the caller nothing
 * they could not read themselves, and nobody but root can have changed it. The host's root
 * (--root=) does not apply to it, as it does not to images given by path. Attach copies it
 * (never links it), so that what was checked is what the service gets. */

/* Whether profile names a profile by path rather than by name. */
bool profile_is_path(const char *profile);

/* For a profile given by path: checks the rules above, and says which one failed. 0 or a negative
 * errno (-ENOENT, -EPERM, -EINVAL for a path that is not absolute and normalised). */
int profile_path_check(const char *path, sd_bus_error *reterr);

/* Finds the drop-in of profile name (or path) for the given unit name's type. Returns 1 and the
 * path, 0 if the profile exists but has nothing for this unit type (sockets, timers, ...),
 * -ENOENT if no profile of that name exists at all, -EINVAL for an invalid profile name, -EPERM
 * for a profile path that breaks the rules above. */
int profile_find_dropin(const Host *host, const char *name, const char *unit, char **ret_path);

/* All profile names, de-duplicated and sorted. */
int profile_list(const Host *host, char ***ret);
