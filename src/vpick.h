/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <sys/stat.h>

#include "gpt-types.h"

/* Versioned image directories ("vpick"): a directory foo.raw.v/ or foo.v/ stands for the best
 * entry inside it named
 *
 *         foo_<version>[_<architecture>][+<tries left>[-<tries done>]]<suffix>
 *
 * where the suffix is ".raw" for a regular file or block device, and nothing for a directory
 * (foo.raw.v/ only takes .raw entries). Best means, in this order: an entry with tries left (no
 * counter, or a non-zero one) over one with "+0"; the newer version (strverscmp_improved()); the
 * native architecture, then the secondary one, then an entry naming none (entries for any other
 * architecture are never picked); more tries left; fewer tries done; and last the larger name.
 * Entries of the wrong type or with an invalid version are skipped. Everything is read through
 * the directory fd; the chosen entry is returned opened. */

typedef enum VPickKind {
        VPICK_RAW = 1 << 0,       /* "<...>.raw", regular file or block device */
        VPICK_DIRECTORY = 1 << 1, /* "<...>", directory */
        VPICK_ANY = VPICK_RAW | VPICK_DIRECTORY,
} VPickKind;

typedef struct VPickResult {
        char *name;              /* the entry's name in the directory */
        char *version;
        Architecture arch;       /* _ARCHITECTURE_INVALID if the name carries none */
        unsigned tries_left;     /* UINT_MAX if the name carries no counter */
        unsigned tries_done;     /* UINT_MAX if the name carries no counter */
        VPickKind kind;
        int fd;                  /* O_PATH fd of the entry, symlinks followed */
        struct stat st;
} VPickResult;

#define VPICK_RESULT_NULL ((VPickResult) { .arch = _ARCHITECTURE_INVALID, .fd = -EBADF })

void vpick_result_done(VPickResult *r);

/* Splits the name of a versioned directory: "foo.raw.v" → "foo" and VPICK_RAW, "foo.v" → "foo" and
 * VPICK_ANY; a trailing slash is allowed. -EINVAL if the name does not end in ".v" or leaves no
 * basename. */
int vpick_parse_dir_name(const char *name, char **ret_basename, VPickKind *ret_kinds);

/* Whether path's last component is a versioned directory name. */
bool vpick_path_is_versioned(const char *path);

/* Picks the best entry for basename among kinds in dir_fd. 1 and the result if one qualifies, 0 if
 * none does (*ret is VPICK_RESULT_NULL), negative errno on failure. */
int vpick_pick(int dir_fd, const char *basename, VPickKind kinds, VPickResult *ret);

/* The version of an image path picked from a versioned directory ("/p/foo.raw.v/foo_2.raw" → "2"):
 * 1 and the version if path is such an entry, 0 (and NULL) if it is not, -ENOMEM. */
int vpick_version_of_entry_path(const char *path, char **ret_version);

/* Parses one entry name. 1 and the parts if it belongs to basename with one of kinds' suffixes
 * and a valid version, 0 otherwise (the type of the inode is not checked here). Exposed for tests. */
int vpick_parse_entry(const char *entry, const char *basename, VPickKind kinds, VPickKind *ret_kind,
                      char **ret_version, Architecture *ret_arch, unsigned *ret_tries_left,
                      unsigned *ret_tries_done);
