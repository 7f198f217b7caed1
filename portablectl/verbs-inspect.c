/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bus-call.h"
#include "image-arg.h"
#include "image-name.h"
#include "log.h"
#include "os-release.h"
#include "output.h"
#include "polkit-agent.h"
#include "portablectl.h"
#include "strv.h"
#include "verbs.h"

/* The reply of GetImageMetadata: (s image, ay os_release, a{say} units). All pointers are
 * borrowed from the reply message. */
typedef struct UnitFile {
        const char *name;
        const void *data;
        size_t size;
} UnitFile;

typedef struct Metadata {
        const char *path;
        const void *os_release;
        size_t os_release_size;
        UnitFile *units;
        size_t n_units;
} Metadata;

static void metadata_done(Metadata *md) {
        md->units = mfree(md->units);
        md->n_units = 0;
}

static int unit_file_compare(const void *a, const void *b) {
        const UnitFile *x = a, *y = b;

        return strcmp(x->name, y->name);
}

static int metadata_read(sd_bus_message *reply, Metadata *md) {
        int r;

        r = sd_bus_message_read(reply, "s", &md->path);
        if (r < 0)
                return bus_log_parse_error(r);
        r = sd_bus_message_read_array(reply, 'y', &md->os_release, &md->os_release_size);
        if (r < 0)
                return bus_log_parse_error(r);

        r = sd_bus_message_enter_container(reply, 'a', "{say}");
        if (r < 0)
                return bus_log_parse_error(r);

        for (;;) {
                UnitFile u, *grown;

                r = sd_bus_message_enter_container(reply, 'e', "say");
                if (r < 0)
                        return bus_log_parse_error(r);
                if (r == 0)
                        break;

                r = sd_bus_message_read(reply, "s", &u.name);
                if (r < 0)
                        return bus_log_parse_error(r);
                r = sd_bus_message_read_array(reply, 'y', &u.data, &u.size);
                if (r < 0)
                        return bus_log_parse_error(r);
                r = sd_bus_message_exit_container(reply);
                if (r < 0)
                        return bus_log_parse_error(r);

                grown = reallocarray(md->units, md->n_units + 1, sizeof(UnitFile));
                if (!grown)
                        return log_oom();
                md->units = grown;
                md->units[md->n_units++] = u;
        }

        r = sd_bus_message_exit_container(reply);
        if (r < 0)
                return bus_log_parse_error(r);

        /* The daemon sorts already; sorting here keeps the output stable with any daemon. */
        if (md->n_units > 1)
                qsort(md->units, md->n_units, sizeof(UnitFile), unit_file_compare);
        return 0;
}

static int parse_os_release(const Metadata *md, char ***ret) {
        _cleanup_free_ char *copy = NULL;
        int r;

        /* The bytes point into the bus message and are not NUL-terminated. */
        copy = malloc(md->os_release_size + 1);
        if (!copy)
                return log_oom();
        if (md->os_release_size > 0)
                memcpy(copy, md->os_release, md->os_release_size);
        copy[md->os_release_size] = '\0';

        r = os_release_parse(copy, md->os_release_size, ret);
        if (r < 0)
                return log_error_errno(r, "Failed to parse os-release data of image '%s': %m", md->path);
        return 0;
}

static void print_text(const Metadata *md, char *const *os_release) {
        printf("Image:\n\t%s\n"
               "Portable Service:\n\t%s\n"
               "Operating System:\n\t%s\n",
               md->path,
               strna(os_release_pairs_get(os_release, "PORTABLE_PRETTY_NAME")),
               strna(os_release_pairs_get(os_release, "PRETTY_NAME")));

        for (size_t i = 0; i < md->n_units; i++) {
                if (i == 0)
                        fputs("Unit files:\n", stdout);
                printf("\t%s\n", md->units[i].name);
        }
}

static void print_cat(const Metadata *md) {
        printf("%s-- OS Release: --%s\n", ansi_highlight(), ansi_normal());
        fwrite(md->os_release, 1, md->os_release_size, stdout);

        for (size_t i = 0; i < md->n_units; i++) {
                printf("\n%s-- Unit file: %s --%s\n", ansi_highlight(), md->units[i].name, ansi_normal());
                fwrite(md->units[i].data, 1, md->units[i].size, stdout);
        }
}

static struct json_object *json_new_string_len_or_oom(const void *data, size_t size) {
        if (size > INT32_MAX)
                return NULL;
        return json_object_new_string_len(data, (int) size);
}

static int print_json(const Metadata *md, char *const *os_release) {
        struct json_object *o = json_object_new_object(), *osr = json_object_new_object(), *units;
        size_t n = strv_length(os_release);

        units = arg_cat ? json_object_new_object() : json_object_new_array();
        if (!o || !osr || !units) {
                json_object_put(o);
                json_object_put(osr);
                json_object_put(units);
                return log_oom();
        }

        for (size_t i = 0; i + 1 < n; i += 2)
                json_object_object_add(osr, os_release[i], json_object_new_string(os_release[i + 1]));

        for (size_t i = 0; i < md->n_units; i++)
                if (arg_cat)
                        json_object_object_add(units, md->units[i].name,
                                               json_new_string_len_or_oom(md->units[i].data, md->units[i].size));
                else
                        json_object_array_add(units, json_object_new_string(md->units[i].name));

        json_object_object_add(o, "image", json_object_new_string(md->path));
        json_object_object_add(o, "portable_pretty_name",
                               json_string_or_null(os_release_pairs_get(os_release, "PORTABLE_PRETTY_NAME")));
        json_object_object_add(o, "pretty_name", json_string_or_null(os_release_pairs_get(os_release, "PRETTY_NAME")));
        json_object_object_add(o, "os_release", osr);
        json_object_object_add(o, "units", units);

        return json_print_and_put(o);
}

int verb_inspect(int argc, char *argv[]) {
        _cleanup_bus_ sd_bus *bus = NULL;
        _cleanup_bus_message_ sd_bus_message *m = NULL, *reply = NULL;
        _cleanup_free_ char *image = NULL;
        _cleanup_strv_free_ char **matches = NULL, **os_release = NULL;
        Metadata md = {};
        int r;

        r = image_arg_resolve(argv[1], /* allow_missing= */ false, &image);
        if (r < 0)
                return r;
        r = image_arg_matches(argv[1], argv + 2, /* allow_all= */ true, &matches);
        if (r < 0)
                return r;

        r = portable_bus_connect(&bus);
        if (r < 0)
                return r;
        /* Reading an image named by path needs authorization. */
        if (!image_name_is_valid(image))
                (void) polkit_agent_open_if_enabled();

        r = portable_message_new(bus, "GetImageMetadata", &m);
        if (r < 0)
                return r;
        r = sd_bus_message_append(m, "s", image);
        if (r < 0)
                return bus_log_create_error(r);
        r = sd_bus_message_append_strv(m, matches);
        if (r < 0)
                return bus_log_create_error(r);

        r = portable_call(bus, m, 0, &reply);
        if (r < 0)
                return r;

        r = metadata_read(reply, &md);
        if (r < 0)
                goto finish;

        if (!arg_cat || arg_json != JSON_FORMAT_OFF) {
                r = parse_os_release(&md, &os_release);
                if (r < 0)
                        goto finish;
        }

        if (arg_json != JSON_FORMAT_OFF)
                r = print_json(&md, os_release);
        else {
                if (arg_cat)
                        print_cat(&md);
                else
                        print_text(&md, os_release);
                if (fflush(stdout) != 0)
                        r = log_error_errno(negative_errno(), "Failed to write output: %m");
        }

finish:
        metadata_done(&md);
        return r;
}
