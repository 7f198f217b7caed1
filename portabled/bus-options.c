/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "bus-options.h"
#include "image-policy.h"

static int read_string_option(sd_bus_message *msg, const char *key, const char **ret, sd_bus_error *error) {
        const char *contents;
        char type;
        int r;

        if (*ret)
                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS, "Option '%s' is given twice.", key);
        r = sd_bus_message_peek_type(msg, &type, &contents);
        if (r < 0)
                return r;
        if (type != 'v' || !streq(contents, "s"))
                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS, "Option '%s' must be a string.", key);
        return sd_bus_message_read(msg, "v", "s", ret);
}

int bus_read_call_options(sd_bus_message *msg, ImageCallOptions *ret, sd_bus_error *error) {
        ImageCallOptions o = {};
        int r;

        r = sd_bus_message_enter_container(msg, 'a', "{sv}");
        if (r < 0)
                return r;
        for (;;) {
                const char *key;

                r = sd_bus_message_enter_container(msg, 'e', "sv");
                if (r < 0)
                        return r;
                if (r == 0)
                        break;
                r = sd_bus_message_read(msg, "s", &key);
                if (r < 0)
                        return r;

                if (streq(key, "ImagePolicy")) {
                        _cleanup_(image_policy_freep) ImagePolicy *p = NULL;

                        r = read_string_option(msg, key, &o.image_policy, error);
                        if (r < 0)
                                return r;
                        /* Refused here, with the reason, rather than by every reader. */
                        r = image_policy_from_string(o.image_policy, &p, error);
                        if (r < 0)
                                return r;
                } else
                        return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                                                 "Unknown option '%s' (known options: ImagePolicy).", key);

                r = sd_bus_message_exit_container(msg);
                if (r < 0)
                        return r;
        }
        r = sd_bus_message_exit_container(msg);
        if (r < 0)
                return r;

        *ret = o;
        return 0;
}
