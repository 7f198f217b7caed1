/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdio.h>

#include "bus-call.h"
#include "image-arg.h"
#include "log.h"
#include "output.h"
#include "parse-util.h"
#include "polkit-agent.h"
#include "portable-types.h"
#include "portablectl.h"
#include "strv.h"
#include "verbs.h"

/* Unlike systemd's portablectl, the state shows in the exit status, so that scripts can write
 * "if portablectl is-attached -q foo; then ...": 0 when attached in any way, 1 when detached. */
int verb_is_attached(int argc, char *argv[]) {
        _cleanup_bus_ sd_bus *bus = NULL;
        _cleanup_bus_message_ sd_bus_message *m = NULL, *reply = NULL;
        _cleanup_free_ char *image = NULL;
        _cleanup_strv_free_ char **extensions = NULL;
        bool with_extensions;
        const char *state;
        int r;

        r = image_arg_resolve(argv[1], /* allow_missing= */ true, &image);
        if (r < 0)
                return r;
        r = image_arg_resolve_extensions(/* allow_missing= */ true, &extensions);
        if (r < 0)
                return r;
        with_extensions = !strv_isempty(extensions);

        r = portable_bus_connect(&bus);
        if (r < 0)
                return r;

        /* With extensions, only an attachment of exactly that stack counts. State queries take
         * no flags. */
        r = portable_message_new(bus, with_extensions ? "GetImageStateWithExtensions" : "GetImageState", &m);
        if (r < 0)
                return r;
        r = sd_bus_message_append(m, "s", image);
        if (r >= 0 && with_extensions)
                r = sd_bus_message_append_strv(m, extensions);
        if (r >= 0 && with_extensions)
                r = sd_bus_message_append(m, "t", UINT64_C(0));
        if (r < 0)
                return bus_log_create_error(r);
        r = portable_call(bus, m, 0, &reply);
        if (r < 0)
                return r;

        r = sd_bus_message_read(reply, "s", &state);
        if (r < 0)
                return bus_log_parse_error(r);

        if (arg_json != JSON_FORMAT_OFF) {
                struct json_object *o = json_object_new_object();

                if (o) {
                        json_object_object_add(o, "image", json_object_new_string(image));
                        if (with_extensions) {
                                struct json_object *a = json_object_new_array();

                                STRV_FOREACH(e, extensions)
                                        if (a)
                                                json_object_array_add(a, json_object_new_string(*e));
                                json_object_object_add(o, "extensions", a);
                        }
                        json_object_object_add(o, "state", json_object_new_string(state));
                }
                r = json_print_and_put(o);
                if (r < 0)
                        return r;
        } else if (!arg_quiet)
                puts(state);

        return portable_state_from_string(state) == PORTABLE_DETACHED ? 1 : 0;
}

int verb_read_only(int argc, char *argv[]) {
        _cleanup_bus_ sd_bus *bus = NULL;
        _cleanup_bus_message_ sd_bus_message *m = NULL;
        int b = 1, r;

        if (argc > 2) {
                b = parse_boolean(argv[2]);
                if (b < 0)
                        return log_error_errno(b, "Failed to parse boolean argument: %s", argv[2]);
        }

        r = portable_bus_connect(&bus);
        if (r < 0)
                return r;
        (void) polkit_agent_open_if_enabled();

        /* The image is passed verbatim: the daemon accepts names and normalized absolute paths. */
        r = portable_message_new(bus, "MarkImageReadOnly", &m);
        if (r < 0)
                return r;
        r = sd_bus_message_append(m, "sb", argv[1], b);
        if (r < 0)
                return bus_log_create_error(r);

        return portable_call(bus, m, 0, NULL);
}

int verb_remove(int argc, char *argv[]) {
        _cleanup_bus_ sd_bus *bus = NULL;
        int r;

        r = portable_bus_connect(&bus);
        if (r < 0)
                return r;
        (void) polkit_agent_open_if_enabled();

        for (int i = 1; i < argc; i++) {
                _cleanup_bus_message_ sd_bus_message *m = NULL;

                r = portable_message_new(bus, "RemoveImage", &m);
                if (r < 0)
                        return r;
                r = sd_bus_message_append(m, "s", argv[i]);
                if (r < 0)
                        return bus_log_create_error(r);

                /* Removing a large image tree takes as long as it takes. */
                r = portable_call(bus, m, UINT64_MAX, NULL);
                if (r < 0)
                        return r;
        }

        return 0;
}

/* set-limit IMAGE BYTES sets the quota of one image, set-limit BYTES the one of the pool. */
int verb_set_limit(int argc, char *argv[]) {
        _cleanup_bus_ sd_bus *bus = NULL;
        _cleanup_bus_message_ sd_bus_message *m = NULL;
        const char *size = argv[argc - 1];
        uint64_t limit;
        int r;

        r = parse_size_limit(size, &limit);
        if (r < 0)
                return log_error_errno(r, "Failed to parse size: %s", size);

        r = portable_bus_connect(&bus);
        if (r < 0)
                return r;
        (void) polkit_agent_open_if_enabled();

        if (argc > 2) {
                r = portable_message_new(bus, "SetImageLimit", &m);
                if (r >= 0 && (r = sd_bus_message_append(m, "st", argv[1], limit)) < 0)
                        return bus_log_create_error(r);
        } else {
                r = portable_message_new(bus, "SetPoolLimit", &m);
                if (r >= 0 && (r = sd_bus_message_append(m, "t", limit)) < 0)
                        return bus_log_create_error(r);
        }
        if (r < 0)
                return r;

        return portable_call(bus, m, 0, NULL);
}
