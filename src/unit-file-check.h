/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stddef.h>
#include <systemd/sd-bus.h>

#include "portable-metadata.h"

/* An image's unit files are handed to the host's service manager, which reads every setting in
 * them; the profile drop-in and the image root only confine what runs inside the service. This
 * checks that a unit file asks for nothing that acts on the host outside the image and its
 * profile: commands that skip the sandbox, commands in units that have no image root, files,
 * sockets and directories the service manager would create or read on the host, settings that
 * replace or loosen the root the portable drop-in sets up, host identities and labels, and
 * references that would start, stop or enable units of the host or act on the whole host. The
 * full list, with the reason for each, is in portable-profiles(5) and in the rule table of
 * unit-file-check.c; a setting systemd adds later must be classified there.
 *
 * The unit file is read with unit-file.h, which sees exactly the assignments systemd sees. Only
 * the sections systemd reads for the unit's type count ([Service] in a .socket file is ignored by
 * systemd, and here). An empty assignment is always accepted: it resets a setting to its default,
 * and the portable drop-ins are read after the unit file.
 *
 * The "image's names" are the names of its units (up to '@' or the type suffix): a name, file or
 * directory belongs to the image if it is such a name or starts with one followed by '-', '.' or
 * '@', the same rule as the prefix matches of attach. The "image's units" are the units attached
 * from it (image_units), and instances of its templates.
 *
 * The caller applies it to every profile except "trusted". */

/* Checks that the unit file data (size bytes, of unit `unit`) asks for nothing that acts on the
 * host outside the image and its profile. image_units: every unit name attached from the same
 * image (for references such as Unit=, OnFailure=). Returns 0 if it is confined; -EPERM with
 * reterr set to a message naming the unit, the line number and the setting, and saying why, on
 * the first violation. The D-Bus error name is PORTABLE_ERROR_UNIT_NOT_CONFINED. */
int unit_file_check_confined(const char *unit, const char *data, size_t size, char * const *image_units,
                             sd_bus_error *reterr);

/* unit_file_check_confined() for every unit of m, the image's units being all of m's. */
int unit_file_check_metadata_confined(const PortableMetadata *m, sd_bus_error *reterr);
