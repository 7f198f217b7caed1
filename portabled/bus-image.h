/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <systemd/sd-bus.h>

#include "image.h"
#include "manager.h"

/* The Image object methods. The Manager's "...Image(s image, ...)" methods read their first
 * argument, acquire the image, and then call these with the message positioned after it. */
int bus_image_common_get_os_release(Manager *m, sd_bus_message *msg, Image *image, sd_bus_error *error);
int bus_image_common_get_metadata(Manager *m, sd_bus_message *msg, Image *image, bool with_extensions,
                                  sd_bus_error *error);
/* Ours: GetMetadataWithExtensions and, for each unit, the path of the layer it came from. */
int bus_image_common_get_metadata_with_layers(Manager *m, sd_bus_message *msg, Image *image, sd_bus_error *error);
int bus_image_common_attach(Manager *m, sd_bus_message *msg, Image *image, bool with_extensions, sd_bus_error *error);
int bus_image_common_reattach(Manager *m, sd_bus_message *msg, Image *image, bool with_extensions,
                              sd_bus_error *error);
/* Our own extensions (bus-options.h): the *WithExtensions arguments followed by "a{sv} options". */
int bus_image_common_get_metadata_with_options(Manager *m, sd_bus_message *msg, Image *image, sd_bus_error *error);
int bus_image_common_attach_with_options(Manager *m, sd_bus_message *msg, Image *image, sd_bus_error *error);
int bus_image_common_reattach_with_options(Manager *m, sd_bus_message *msg, Image *image, sd_bus_error *error);

int bus_image_common_remove(Manager *m, sd_bus_message *msg, Image *image, sd_bus_error *error);
int bus_image_common_mark_read_only(Manager *m, sd_bus_message *msg, Image *image, sd_bus_error *error);
int bus_image_common_set_limit(Manager *m, sd_bus_message *msg, Image *image, sd_bus_error *error);

/* Detach and state only need the name or path, not the image. */
int bus_common_detach(Manager *m, sd_bus_message *msg, const char *name_or_path, bool with_extensions,
                      sd_bus_error *error);
int bus_common_get_state(Manager *m, sd_bus_message *msg, const char *name_or_path, bool with_extensions,
                         sd_bus_error *error);

int bus_image_register(Manager *m);
