/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <systemd/sd-bus.h>

#include "image.h"
#include "manager.h"
#include "portable-types.h"

/* What each method does once its arguments are read and the caller is authorized, as an
 * operation (operation.h) that answers msg when it is done. Each returns 1 when the operation is
 * under way (the handler returns that, without replying), or a negative errno with error set
 * (the handler returns that, and sd-bus replies with the error). image is copied, lists taken. */

/* What our own *WithOptions methods add (portabled(8), D-BUS INTERFACE); NULL: nothing. */
typedef struct ImageCallOptions {
        const char *image_policy; /* the caller's image policy, checked in addition to the daemon's */
        bool details;             /* inspect: reply with the a{sv} of details (the image's layout) */
} ImageCallOptions;

int image_operation_inspect(Manager *m, sd_bus_message *msg, const Image *image, char **matches, bool os_release_only,
                            bool with_extensions, const ImageCallOptions *options, sd_bus_error *error);

int image_operation_attach(Manager *m, sd_bus_message *msg, const Image *image, char **matches, const char *profile,
                           PortableFlags flags, bool reattach, const ImageCallOptions *options, sd_bus_error *error);

int image_operation_detach(Manager *m, sd_bus_message *msg, const char *name_or_path, PortableFlags flags,
                           sd_bus_error *error);

int image_operation_state(Manager *m, sd_bus_message *msg, const char *name_or_path, sd_bus_error *error);

int image_operation_list(Manager *m, sd_bus_message *msg, sd_bus_error *error);

int image_operation_remove(Manager *m, sd_bus_message *msg, const Image *image, sd_bus_error *error);
