/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <limits.h>

#include "bus-options.h"
#include "image-policy.h"
#include "image-reader.h"
#include "path-util.h"
#include "portable-limits.h"
#include "strv.h"

void image_call_options_done(ImageCallOptions *o) {
        o->check_paths = strv_free(o->check_paths);
}

static int read_check_paths(sd_bus_message *msg, ImageCallOptions *o, sd_bus_error *error) {
        int r;

        if (o->check_paths)
                return sd_bus_error_set(error, SD_BUS_ERROR_INVALID_ARGS, "Option 'CheckPaths' is given twice.");
        r = sd_bus_message_enter_container(msg, 'v', "as");
        if (r < 0)
                return sd_bus_error_set(error, SD_BUS_ERROR_INVALID_ARGS, "Option 'CheckPaths' must be a string array.");
        r = sd_bus_message_read_strv(msg, &o->check_paths);
        if (r < 0)
                return r;
        r = sd_bus_message_exit_container(msg);
        if (r < 0)
                return r;
        if (strv_length(o->check_paths) > PORTABLE_CHECK_PATHS_MAX)
                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS, "Option 'CheckPaths' has more than %u paths.",
                                         PORTABLE_CHECK_PATHS_MAX);
        STRV_FOREACH(p, o->check_paths) {
                const char *path = startswith(*p, IMAGE_CHECK_EXECUTABLE) ? *p + STRLEN(IMAGE_CHECK_EXECUTABLE) : *p;

                if (!path_is_normalized_absolute(path) || strlen(path) > PATH_MAX)
                        return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                                                 "Check path '%s' is not an absolute, normalised path.", *p);
        }
        return 0;
}

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

int bus_read_call_options(sd_bus_message *msg, bool inspect, ImageCallOptions *ret, sd_bus_error *error) {
        _cleanup_(image_call_options_done) ImageCallOptions o = {};
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
                } else if (inspect && streq(key, "Profile")) {
                        r = read_string_option(msg, key, &o.profile, error);
                        if (r < 0)
                                return r;
                        if (isempty(o.profile))
                                return sd_bus_error_set(error, SD_BUS_ERROR_INVALID_ARGS, "Option 'Profile' is empty.");
                } else if (inspect && streq(key, "CheckPaths")) {
                        r = read_check_paths(msg, &o, error);
                        if (r < 0)
                                return r;
                } else
                        return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS, "Unknown option '%s' (known options: %s).",
                                                 key, inspect ? "ImagePolicy, Profile, CheckPaths" : "ImagePolicy");

                r = sd_bus_message_exit_container(msg);
                if (r < 0)
                        return r;
        }
        r = sd_bus_message_exit_container(msg);
        if (r < 0)
                return r;

        *ret = o;
        o = (ImageCallOptions) {};
        return 0;
}
