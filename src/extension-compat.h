/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <systemd/sd-bus.h>

#include "extension-release.h"

/* Whether an extension layer may be stacked on a root image: its extension-release against the
 * root's os-release, both as parsed pair lists (os_release_parse()). The rules and their order
 * are systemd's (extension_release_validate()); the first that decides wins:
 *
 *   1. the extension-release must not be empty;
 *   2. SYSEXT_SCOPE (confext: CONFEXT_SCOPE), a whitespace-separated list that defaults to
 *      "system portable", must contain "portable";
 *   3. ARCHITECTURE, if set and not "_any", must be the host's architecture;
 *   4. ID must be set; ID=_any is compatible with everything;
 *   5. ID must equal the root's ID or be one of the root's ID_LIKE;
 *   6. a root with neither VERSION_ID nor SYSEXT_LEVEL (CONFEXT_LEVEL) is a rolling release: done;
 *   7. if both define SYSEXT_LEVEL (CONFEXT_LEVEL) they must be equal; otherwise, if the root has a
 *      VERSION_ID, the extension must have the same.
 * Empty values count as absent. --force does not relax any of this (it only relaxes how the
 * release file is found, see extension-release.h), in systemd neither.
 *
 * Returns 0 if compatible, -ESTALE if not, with a message in reterr that names the field and what
 * each side has. host_architecture NULL means extension_host_architecture(). Pure otherwise. */
int extension_compat_check(char * const *root_os_release, char * const *extension_release, ExtensionClass class,
                           const char *host_architecture, const char *root_label, const char *extension_label,
                           sd_bus_error *reterr);

/* The systemd name ("x86-64", "arm64", ...) of the architecture the kernel reports in uname(2),
 * as ARCHITECTURE= uses it; NULL if unknown. */
const char *extension_host_architecture(void);

/* The same mapping, from a uname machine string. Exposed for tests. */
const char *extension_architecture_from_machine(const char *machine);
