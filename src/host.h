/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>

#include "macro.h"

/* The host as the library sees it: where its fixed directories are (relocated under a root
 * directory for tests and offline use), and how to ask the service manager about a unit. */

typedef struct HostUnitOps {
        /* > 0 if the unit (or, for a template, any instance of it) is activating, active,
         * reloading or deactivating; 0 if not or if no service manager is reachable. */
        int (*unit_is_active)(void *userdata, const char *unit);
        void *userdata;
} HostUnitOps;

typedef struct MarkerCache MarkerCache;

typedef struct Host {
        char *root;               /* NULL for the real root */
        char *vendor_profile_dir; /* our own profiles, never relocated; may be NULL */
        HostUnitOps unit_ops;
        MarkerCache *marker_cache; /* the markers of attached units read so far; NULL: none kept */
} Host;

/* The image search path in precedence order, relative to the root. */
extern const char *const host_image_search_dirs[];
#define HOST_POOL_DIR "/var/lib/portables"

/* The profile directories of systemd, relative to the root, in precedence order. Our vendor
 * directory is searched after the /etc and /run ones and before these vendor ones. */
extern const char *const host_profile_dirs[];

/* Returns a newly allocated path: path under the host's root. */
char *host_path(const Host *host, const char *path);

/* Where attached units go: /etc/systemd/system.attached or, runtime, /run/... */
char *host_attached_dir(const Host *host, bool runtime);

/* Where links to images outside the search path go: /etc/portables or /run/portables. */
char *host_image_link_dir(const Host *host, bool runtime);

/* Where the journals of interrupted transactions are kept: /var/lib/portabled for changes to
 * the persistent directories, /run/portabled for runtime ones (which a reboot forgets along with
 * the journal). */
char *host_journal_dir(const Host *host, bool runtime);

/* Whether unit is active according to the service manager (see HostUnitOps). */
int host_unit_is_active(const Host *host, const char *unit);

/* Whether a unit file of this name exists anywhere in the host's unit search path. */
int host_unit_file_exists(const Host *host, const char *unit);
/* The same for n_units units at once: ret[i] says whether units[i] exists. */
int host_unit_files_exist(const Host *host, const char *const *units, size_t n_units, bool *ret);

/* Whether some enablement link (.wants/.requires/.upholds or an alias) for unit exists in dir.
 * This is how "enabled" is told apart from "attached" without asking the service manager. */
int host_unit_is_enabled_in(const char *dir, const char *unit);

/* The host's os-release path as services see it: /etc/os-release if the host has it, else
 * /usr/lib/os-release. */
const char *host_os_release_path(const Host *host);
