/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <systemd/sd-bus.h>

#include "macro.h"

/* The extension-release file that makes a tree an extension layer of a portable service, found
 * the way systemd finds it:
 *
 *   1. /usr/lib/extension-release.d/extension-release.NAME (sysext), NAME = the image name;
 *   2. otherwise the one regular file extension-release.* in that directory that qualifies:
 *      its suffix is NAME without version ("app_1.0" -> "app"), or the file carries the xattr
 *      user.extension-release.strict set to false, or force is set. Two qualifying files are
 *      -ENOTUNIQ, none is -ENOENT;
 *   3. the same in /etc/extension-release.d/ (confext), if the sysext directory gave -ENOENT.
 *
 * Everything is resolved inside the tree (root_fd, O_PATH) with chase_open_in_root(): symlinks
 * are followed inside it for the exact name, and never for the fallback candidates, which must be
 * regular files themselves. Files are opened O_PATH, checked with fstat() and reopened through
 * /proc/self/fd, so a FIFO or device planted in an image is never opened. The size is limited to
 * PORTABLE_SIZE_MAX_RELEASE_FILE. An extension that carries /usr/lib/os-release is refused: it
 * would replace the root's os-release in the stacked tree.
 *
 * This runs inside the sandboxed reader child: it only opens and reads files below root_fd and
 * /proc/self/fd. */

typedef enum ExtensionClass {
        EXTENSION_SYSEXT,
        EXTENSION_CONFEXT,
        _EXTENSION_CLASS_MAX,
        _EXTENSION_CLASS_INVALID = -EINVAL,
} ExtensionClass;

/* How the release file was found, most specific first. */
typedef enum ExtensionReleaseMatch {
        EXTENSION_RELEASE_EXACT,    /* extension-release.NAME (systemd 252 and later) */
        EXTENSION_RELEASE_XATTR,    /* user.extension-release.strict=false (systemd 252 and later) */
        EXTENSION_RELEASE_STRIPPED, /* extension-release.NAME-without-version (after systemd 252) */
        EXTENSION_RELEASE_FORCED,   /* accepted only because force was set */
        _EXTENSION_RELEASE_MATCH_MAX,
        _EXTENSION_RELEASE_MATCH_INVALID = -EINVAL,
} ExtensionReleaseMatch;

typedef struct ExtensionRelease {
        ExtensionClass class;
        ExtensionReleaseMatch match;
        char *path; /* inside the image: "/usr/lib/extension-release.d/extension-release.app" */
        char *data; /* the file's bytes, NUL-terminated */
        size_t size;
} ExtensionRelease;

ExtensionRelease *extension_release_free(ExtensionRelease *r);
DEFINE_TRIVIAL_CLEANUP_FUNC(ExtensionRelease *, extension_release_free);

/* "sysext", "confext"; "exact", "xattr", "stripped", "forced" (the reader protocol carries them). */
const char *extension_class_to_string(ExtensionClass c);
ExtensionClass extension_class_from_string(const char *s);
const char *extension_release_match_to_string(ExtensionReleaseMatch m);
ExtensionReleaseMatch extension_release_match_from_string(const char *s);

/* Where the release files of a class are: "/usr/lib/extension-release.d", "/etc/extension-release.d". */
const char *extension_class_release_dir(ExtensionClass c);

/* Finds and reads the release file of the extension tree root_fd. image_name is the extension's
 * image name (Image.name: "app_1.0" for app_1.0.raw, the directory name for directories);
 * image_label names it in messages (its path). Errors, each with a message in reterr:
 * -ENOENT no release file qualifies, -ENOTUNIQ more than one does, -EINVAL invalid image_name,
 * -EBADFD the release file is not a regular file, -EFBIG it is too large, -EMEDIUMTYPE the tree
 * has /usr/lib/os-release. */
int extension_release_read(int root_fd, const char *image_name, const char *image_label, bool force,
                           ExtensionRelease **ret, sd_bus_error *reterr);

/* Whether systemd 252's service manager, which only knows the exact name and the xattr, needs
 * ":x-systemd.relax-extension-release-check" on ExtensionImages= to accept this release file. */
static inline bool extension_release_needs_relax(const ExtensionRelease *r) {
        return r->match == EXTENSION_RELEASE_STRIPPED || r->match == EXTENSION_RELEASE_FORCED;
}
