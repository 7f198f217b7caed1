/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "image.h"

/* The drop-ins attach writes next to each unit, and the marker line that tells, later, which
 * image a unit came from. The layout follows systemd 252 so that either implementation can
 * detach what the other attached. */

#define DROPIN_PORTABLE_NAME "20-portable.conf"
#define DROPIN_PROFILE_NAME "10-profile.conf"

#define DROPIN_MARKER_SIZE_MAX (256U * 1024U)
#define DROPIN_MARKER_PREFIX "# Drop-in created for image '"
#define DROPIN_MARKER_SUFFIX "', do not edit."

/* One layer of the stack a unit runs from: the root image or an extension. */
typedef struct DropinLayer {
        const Image *image;
        char * const *release;    /* its parsed os-release (root) or extension-release, for the
                                   * ..._NAME_AND_VERSION journal fields; NULL: none */
        bool relax_release_check; /* extensions: the release file was found by a rule systemd 252's
                                   * service manager does not know (extension_release_needs_relax()) */
        const char *image_policy;  /* the root, if raw or block: the policy pinning what the reader
                                    * found (ImageLayout.pinned_policy), for RootImagePolicy=; NULL: none */
} DropinLayer;

typedef struct DropinStack {
        DropinLayer root;
        const DropinLayer *extensions; /* in the order given by the user, bottom to top */
        size_t n_extensions;
        bool force_extension;          /* PORTABLE_FORCE_EXTENSION */
        const char *host_os_release;   /* host path bound to /run/host/os-release */
        const char *extension_image_policy; /* the union of the raw extensions' pinned policies
                                             * (image_policy_union()); NULL: none */
} DropinStack;

/* Builds the whole 20-portable.conf for unit, found in layer origin of the stack (0: the root
 * image, i: extensions[i - 1]).
 *
 * The first line is the marker: the root's path, then ':' and each extension's path, every path
 * \x-escaped (':' included), as systemd 252 and later write and read it. Units other than services
 * get the marker alone. A service gets, after a blank line, [Service] and:
 *   RootImage=|RootDirectory=<root path>           raw/block | directory/subvolume root
 *   Environment=PORTABLE=<origin basename>
 *   BindReadOnlyPaths=<host_os_release>:/run/host/os-release
 *   LogExtraFields=PORTABLE=<origin basename>
 *   RootImagePolicy=<root's image_policy>           raw/block root with a pinned policy
 *   LogExtraFields=PORTABLE_NAME_AND_VERSION=<nv>   only without extensions
 *   Environment=PORTABLE_ROOT=<root basename>
 *   LogExtraFields=PORTABLE_ROOT=<root basename>
 *   LogExtraFields=PORTABLE_ROOT_NAME_AND_VERSION=<nv>
 * and for each extension, after a blank line:
 *   ExtensionImages=<path>[:x-systemd.relax-extension-release-check]   raw/block extension
 *   ExtensionDirectories=<path>                                        directory extension
 *   LogExtraFields=PORTABLE_EXTENSION=<basename>
 *   ExtensionImagePolicy=<extension_image_policy>                      raw/block extension, if set
 *   LogExtraFields=PORTABLE_EXTENSION_NAME_AND_VERSION=<nv>            SYSEXT_ keys, then CONFEXT_ keys
 * <nv> is "<id>_<version>" from the first of IMAGE_ID, ID (SYSEXT_IMAGE_ID, SYSEXT_ID, ...) and of
 * IMAGE_VERSION, VERSION_ID, BUILD_ID (SYSEXT_IMAGE_VERSION, ...); just one of them if the other
 * is absent; no line if both are, or if a value is not safe in a unit file. Every service runs on
 * the whole stack, whichever layer it came from. The relax suffix is written for raw/block
 * extensions when force_extension or relax_release_check is set; never for directories, where
 * systemd has no such option.
 *
 * The policy lines are what newest upstream writes (reference 3.8); systemd 252 does not know
 * these settings and ignores them, logging "Unknown key name" once per unit load.
 *
 * -EINVAL if a path or policy cannot be written into a unit file safely (whitespace, quotes, backslashes;
 * ':' in an ExtensionImages= path; a relative extension path), or origin is out of range. */
int dropin_portable_content_stack(const DropinStack *stack, const char *unit, size_t origin, char **ret);

/* The same for an image without extensions and without release data. image_policy: as
 * DropinLayer's (NULL: none). */
int dropin_portable_content(const Image *image, const char *unit, const char *host_os_release, const char *image_policy,
                            char **ret);

/* Splits the marker line (first line of a 20-portable.conf) into the image paths it names,
 * unescaped. -EBADMSG if the line is not a marker. */
int dropin_marker_parse(const char *line, char ***ret_paths);

typedef enum MarkerMatchMode {
        MARKER_MATCH_ALL, /* the same number of images, each matching in order (detach): units
                           * attached with extensions belong to that combination only */
        MARKER_MATCH_ANY, /* one matching component is enough (state queries) */
} MarkerMatchMode;

/* Whether a marker's image paths refer to the image named by name_or_path (and the given
 * extensions, in order). Comparison is version-insensitive: "foo_1.raw", "foo_2.raw", "foo"
 * and "/x/foo" all name the image "foo", while "foobar" does not. */
bool dropin_marker_matches(char * const *marker_paths, const char *name_or_path, char * const *extensions,
                           MarkerMatchMode mode);

/* Reads the marker of dir/<unit>.d/20-portable.conf. Returns 1 and the paths, 0 if there is no
 * such file or it carries no marker. */
int dropin_read_marker(int attached_dir_fd, const char *unit, char ***ret_paths);
