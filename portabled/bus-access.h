/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <systemd/sd-bus.h>

#include "manager.h"

/* Who may call what. Reads (lists, states, properties, the metadata of images in the search path)
 * are open to everyone; reading an image named by path, and every change, need polkit's
 * authorization for one of three actions (data/org.freedesktop.portable1.policy), or privileges. */

#define PORTABLE_POLKIT_ACTION_INSPECT "org.freedesktop.portable1.inspect-images"
#define PORTABLE_POLKIT_ACTION_ATTACH "org.freedesktop.portable1.attach-images"
#define PORTABLE_POLKIT_ACTION_MANAGE "org.freedesktop.portable1.manage-images"

typedef enum ImageAccess {
        IMAGE_ACCESS_ANY,     /* open to everyone */
        IMAGE_ACCESS_INSPECT, /* reading the image: open by name, "inspect-images" when named by path */
        IMAGE_ACCESS_ATTACH,  /* attach, detach, reattach: "attach-images" */
        IMAGE_ACCESS_MANAGE,  /* remove, read-only, limits: "manage-images" */
} ImageAccess;

/* Whether the sender of msg may access the image name_or_path (as given by the caller; NULL for
 * the pool) as access says. Returns 1 if so; 0 when polkit has been asked: the handler must return
 * 1 without replying, and msg is dispatched again once polkit has answered (bus-polkit.h); < 0
 * with error set when refused. */
int bus_image_authorize(Manager *m, sd_bus_message *msg, ImageAccess access, const char *name_or_path,
                        sd_bus_error *error);

/* The image to ask about for a method that also takes extensions: name_or_path, unless it is a
 * name and an extension is a path (reading that needs IMAGE_ACCESS_INSPECT's authorization as
 * much as an image named by path does): then the first such extension. */
const char *bus_image_access_target(const char *name_or_path, char * const *extensions);
