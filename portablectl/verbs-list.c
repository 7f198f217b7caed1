/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdio.h>
#include <stdlib.h>

#include "bus-call.h"
#include "log.h"
#include "output.h"
#include "portable-bus.h"
#include "portablectl.h"
#include "table.h"
#include "verbs.h"

typedef struct ImageInfo {
        const char *name, *type;
        int read_only;
        uint64_t crtime, mtime, usage;
        const char *state, *object;
        const char *version; /* the version picked in a versioned directory (vpick.h), else NULL */
} ImageInfo;

typedef struct ImageVersion {
        const char *name, *version;
} ImageVersion;

typedef struct ImageVersions {
        sd_bus_message *reply; /* owns the strings */
        ImageVersion *items;
        size_t n;
} ImageVersions;

static void image_versions_done(ImageVersions *v) {
        free(v->items);
        sd_bus_message_unref(v->reply);
}

static int image_version_compare(const void *a, const void *b) {
        return strcmp(((const ImageVersion *) a)->name, ((const ImageVersion *) b)->name);
}

/* The versions of the images picked from versioned directories (foo.raw.v/), in one call. Only our
 * daemon knows the call (systemd 252 has no versioned directories): anything but an answer leaves
 * the listing without versions, never fails it. */
static void image_versions_load(sd_bus *bus, ImageVersions *v) {
        const char *name, *version;
        int r;

        r = sd_bus_call_method(bus, PORTABLE_BUS_NAME, PORTABLE_BUS_PATH, PORTABLE_BUS_MANAGER_INTERFACE,
                               "ListImageVersions", NULL, &v->reply, NULL);
        if (r < 0 || sd_bus_message_enter_container(v->reply, 'a', "(ss)") < 0)
                return;
        while (sd_bus_message_read(v->reply, "(ss)", &name, &version) > 0) {
                ImageVersion *items = reallocarray(v->items, v->n + 1, sizeof(ImageVersion));

                if (!items)
                        return;
                v->items = items;
                v->items[v->n++] = (ImageVersion) { name, version };
        }
        if (v->n > 0)
                qsort(v->items, v->n, sizeof(ImageVersion), image_version_compare);
}

static const char *image_version_of(const ImageVersions *v, const char *name) {
        const ImageVersion key = { .name = name }, *found;

        if (v->n == 0)
                return NULL;
        found = bsearch(&key, v->items, v->n, sizeof(ImageVersion), image_version_compare);
        return found ? found->version : NULL;
}

static struct json_object *image_info_to_json(const ImageInfo *i) {
        struct json_object *o = json_object_new_object();

        if (!o)
                return NULL;

        json_object_object_add(o, "name", json_object_new_string(i->name));
        json_object_object_add(o, "type", json_object_new_string(i->type));
        json_object_object_add(o, "read_only", json_object_new_boolean(i->read_only));
        json_object_object_add(o, "creation_usec", json_object_new_uint64(i->crtime));
        json_object_object_add(o, "modification_usec", json_object_new_uint64(i->mtime));
        /* UINT64_MAX is "unknown" on the bus; a number that large means nothing to a JSON reader. */
        json_object_object_add(o, "usage", i->usage == UINT64_MAX ? NULL : json_object_new_uint64(i->usage));
        json_object_object_add(o, "state", json_object_new_string(i->state));
        json_object_object_add(o, "object_path", json_object_new_string(i->object));
        if (i->version)
                json_object_object_add(o, "version", json_object_new_string(i->version));
        return o;
}

static int image_info_add_row(Table *t, const ImageInfo *i) {
        char crtime[FORMAT_TIMESTAMP_MAX], mtime[FORMAT_TIMESTAMP_MAX], usage[FORMAT_BYTES_MAX];
        _cleanup_free_ char *name = NULL;

        /* "app (2)": the first word is still what attach and friends take. */
        if (i->version && asprintf(&name, "%s (%s)", i->name, i->version) < 0)
                return -ENOMEM;

        const char *cells[] = {
                name ?: i->name,
                i->type,
                i->read_only ? "yes" : "no",
                format_timestamp(crtime, i->crtime),
                format_timestamp(mtime, i->mtime),
                format_bytes(usage, i->usage),
                i->state,
        };

        return table_add_row(t, cells);
}

static int json_compare_by_name(const void *a, const void *b) {
        struct json_object *const *x = a, *const *y = b;
        struct json_object *nx = NULL, *ny = NULL;

        (void) json_object_object_get_ex(*x, "name", &nx);
        (void) json_object_object_get_ex(*y, "name", &ny);
        return strcmp(strempty(json_object_get_string(nx)), strempty(json_object_get_string(ny)));
}

static int json_array_sorted_print(struct json_object *array) {
        /* Same order as the table, whatever order the daemon used. */
        json_object_array_sort(array, json_compare_by_name);
        return json_print_and_put(array);
}

int verb_list(int argc, char *argv[]) {
        static const char *const headers[] = { "NAME", "TYPE", "RO", "CRTIME", "MTIME", "USAGE", "STATE" };
        _cleanup_bus_ sd_bus *bus = NULL;
        _cleanup_bus_message_ sd_bus_message *m = NULL, *reply = NULL;
        _cleanup_(table_freep) Table *table = NULL;
        _cleanup_(image_versions_done) ImageVersions versions = {};
        struct json_object *array = NULL;
        int r;

        r = portable_bus_connect(&bus);
        if (r < 0)
                return r;

        r = portable_message_new(bus, "ListImages", &m);
        if (r < 0)
                return r;
        r = portable_call(bus, m, 0, &reply);
        if (r < 0)
                return r;
        image_versions_load(bus, &versions);

        table = table_new(headers, ELEMENTSOF(headers));
        if (!table)
                return log_oom();
        table_set_right_aligned(table, 5);

        if (arg_json != JSON_FORMAT_OFF) {
                array = json_object_new_array();
                if (!array)
                        return log_oom();
        }

        r = sd_bus_message_enter_container(reply, 'a', "(ssbtttso)");
        if (r < 0)
                goto parse_error;

        for (;;) {
                ImageInfo i;

                r = sd_bus_message_read(reply, "(ssbtttso)", &i.name, &i.type, &i.read_only, &i.crtime,
                                        &i.mtime, &i.usage, &i.state, &i.object);
                if (r < 0)
                        goto parse_error;
                if (r == 0)
                        break;

                i.version = image_version_of(&versions, i.name);
                if (array) {
                        struct json_object *o = image_info_to_json(&i);

                        r = o ? json_object_array_add(array, o) : -ENOMEM;
                } else
                        r = image_info_add_row(table, &i);
                if (r < 0) {
                        json_object_put(array);
                        return log_oom();
                }
        }

        r = sd_bus_message_exit_container(reply);
        if (r < 0)
                goto parse_error;

        if (array)
                return json_array_sorted_print(array);

        if (table_get_rows(table) == 0) {
                if (arg_legend)
                        puts("No images.");
                return 0;
        }

        table_sort(table, 0);
        r = table_print(table, arg_legend);
        if (r < 0)
                return r;

        if (arg_legend)
                printf("\n%zu images listed.\n", table_get_rows(table));
        return 0;

parse_error:
        json_object_put(array);
        return bus_log_parse_error(r);
}
