/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <systemd/sd-bus.h>

#include "change.h"
#include "image.h"
#include "manager.h"

/* Resolves the "s image" argument: a name is looked up in the search path, anything else must be
 * an absolute, normalised path to an image. Fills error with the reference's error names and
 * messages. */
int bus_image_acquire(Manager *m, const char *name_or_path, Image **ret, sd_bus_error *error);

/* For methods that take an image that may no longer exist (detach, state): only the syntax is
 * checked. */
int bus_validate_image_argument(const char *name_or_path, sd_bus_error *error);

/* Reads the "as extensions" argument: each a valid image name or a normalised absolute path (the
 * same rules as bus_validate_image_argument()), at most PORTABLE_EXTENSIONS_MAX of them. */
int bus_read_extensions(sd_bus_message *msg, char ***ret, sd_bus_error *error);

/* Acquires every extension as bus_image_acquire() does the image: n of them in *ret. */
int bus_acquire_extensions(Manager *m, char * const *extensions, Image ***ret, size_t *ret_n, sd_bus_error *error);

/* Reads the "as extensions" argument that follows the arguments of types skip (NULL: none) without
 * consuming it: the message is left right after those arguments, where it was. */
int bus_peek_extensions(sd_bus_message *msg, const char *skip, char ***ret);

int bus_append_changes(sd_bus_message *reply, const PortableChanges *changes);
int bus_reply_changes(sd_bus_message *message, const PortableChanges *changes);

/* Reads "s copy_mode" and turns it into flags. */
int bus_parse_copy_mode(const char *s, PortableFlags *ret, sd_bus_error *error);

/* Reads the "t flags" argument of the *WithExtensions methods and refuses bits outside allowed.
 * The public bits are passed on as they are, PORTABLE_FLAG_DRY_RUN as PORTABLE_DRY_RUN. */
int bus_read_flags(sd_bus_message *msg, uint64_t allowed, PortableFlags *ret, sd_bus_error *error);

int bus_image_object_path(const char *name, char **ret);

/* Errors from the library that did not fill error themselves. */
int bus_error_from_errno(sd_bus_error *error, int r, const char *context);
