/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "bus-access.h"
#include "bus-polkit.h"
#include "image-name.h"
#include "strv.h"

int bus_image_authorize(Manager *m, sd_bus_message *msg, ImageAccess access, const char *name_or_path,
                        sd_bus_error *error) {
        const char *details[] = { "image", name_or_path, NULL };
        const char *action;

        switch (access) {
        case IMAGE_ACCESS_ANY:
                return 1;
        case IMAGE_ACCESS_INSPECT:
                /* Images in the search path are there to be looked at; a path would let the caller
                 * make us read any file as root. */
                if (image_name_is_valid(name_or_path))
                        return 1;
                action = PORTABLE_POLKIT_ACTION_INSPECT;
                break;
        case IMAGE_ACCESS_ATTACH:
                action = PORTABLE_POLKIT_ACTION_ATTACH;
                break;
        case IMAGE_ACCESS_MANAGE:
                action = PORTABLE_POLKIT_ACTION_MANAGE;
                break;
        default:
                return sd_bus_error_set(error, SD_BUS_ERROR_ACCESS_DENIED, "Unknown access rule.");
        }

        return bus_verify_polkit_async(msg, action, name_or_path ? details : NULL, m->polkit_registry, error);
}

const char *bus_image_access_target(const char *name_or_path, char * const *extensions) {
        if (!image_name_is_valid(name_or_path))
                return name_or_path;
        STRV_FOREACH(e, (char **) extensions)
                if (!image_name_is_valid(*e))
                        return *e;
        return name_or_path;
}
