/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stddef.h>
#include <systemd/sd-bus.h>

/* A service manifest, a "*.portable" file: one portable service (the image, its extensions and how
 * to attach it) in one small file, so that automation names the service and does not repeat
 * arguments (portablectl(1), MANIFESTS; upstream issue 34870). Unit-file syntax, read with
 * unit-file.h, one [Portable] section:
 *
 *   [Portable]
 *   RootImage=/var/lib/portables/web_1.2.raw    the image: a name, or a path
 *   ExtensionImages=/srv/ext/web-tls.raw        extensions, bottom to top (words, repeatable)
 *   Prefixes=web web-admin                      unit prefixes (words, repeatable)
 *   Profile=default                             a profile name, or a path to a profile
 *   CopyMode=auto|copy|symlink|mixed
 *   ImagePolicy=root=verity+signed:=absent
 *   Runtime= Enable= Now= Force=                booleans
 *
 * Relative paths are taken relative to the directory of the manifest. Words may be quoted as in
 * unit files; an empty assignment resets a list. Every key may be given once, except the two
 * lists. An unknown section or key, a missing RootImage=, a malformed value: all are errors that
 * name the line, since a typo in a deployment must not attach something else than meant. */

typedef struct PortableManifest {
        char *root_image;       /* a valid image name, or a normalised absolute path */
        char **extension_images;
        char **prefixes;
        char *profile;          /* NULL: not set */
        char *copy_mode;        /* NULL: not set; else one of the four modes */
        char *image_policy;     /* NULL: not set; not parsed here */
        int runtime, enable, now, force; /* -1: not set, else 0 or 1 */
} PortableManifest;

/* Parses size bytes of data, the manifest at path (for messages and to resolve relative paths
 * against its directory; must be absolute). -EINVAL with reterr naming the file, the line and the
 * problem. */
int portable_manifest_parse(const char *path, const char *data, size_t size, PortableManifest *ret,
                            sd_bus_error *reterr);

void portable_manifest_done(PortableManifest *m);
