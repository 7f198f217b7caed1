/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>

/* The IMAGE and PREFIX arguments, turned into what the daemon expects. */

/* A valid image name is passed on verbatim (the daemon searches its image path); anything else is
 * a path, made absolute with all symlinks resolved, because the daemon only accepts normalized
 * absolute paths and records them in the drop-ins. allow_missing lets the tail of the path not
 * exist (detach and is-attached must work for images that have been deleted meanwhile). With -H/-M
 * only names are accepted. */
int image_arg_resolve(const char *arg, bool allow_missing, char **ret);

/* The unit-name prefixes ("matches") for IMAGE and the PREFIX arguments: the prefix derived from
 * the raw image argument when none is given, all units ("-", only with allow_all), or the given
 * list. Reports the choice on stderr unless --quiet. */
int image_arg_matches(const char *image_arg, char *const *prefixes, bool allow_all, char ***ret);

/* --extension= values, each resolved as image_arg_resolve() does, in order. NULL if none. */
int image_arg_resolve_extensions(bool allow_missing, char ***ret);

/* What the verbs that read an image (inspect, check) take: IMAGE [PREFIX...] and --extension=,
 * resolved as the three functions above do; the image and its extensions must exist. */
int image_args_to_read(char *const *argv, char **ret_image, char ***ret_extensions, char ***ret_matches);
