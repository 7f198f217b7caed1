/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bus-call.h"
#include "image-arg.h"
#include "image-layout.h"
#include "image-name.h"
#include "log.h"
#include "os-release.h"
#include "output.h"
#include "polkit-agent.h"
#include "portablectl.h"
#include "strv.h"
#include "verbs.h"

/* The reply of GetImageMetadata: (s image, ay os_release, a{say} units), or of our
 * GetImageMetadataWithOptions: (s image, ay os_release, a{say} extensions, a{say} units, a{sv}
 * details). All pointers are borrowed from the reply message. */
typedef struct UnitFile {
        const char *name;
        const void *data;
        size_t size;
} UnitFile;

/* One entry of the details' "Partitions": a(sssssbb). */
typedef struct PartitionInfo {
        const char *designator, *fstype, *protection, *signature, *root_hash;
        int verified, cached;
} PartitionInfo;

typedef struct Metadata {
        const char *path;
        const void *os_release;
        size_t os_release_size;
        UnitFile *units;
        size_t n_units;
        PartitionInfo partitions[2];
        size_t n_partitions;
        const char *pinned_policy;
} Metadata;

static void metadata_done(Metadata *md) {
        md->units = mfree(md->units);
        md->n_units = 0;
}

static int details_read(sd_bus_message *reply, Metadata *md) {
        int r;

        r = sd_bus_message_enter_container(reply, 'a', "{sv}");
        if (r < 0)
                return r;
        for (;;) {
                const char *key;

                r = sd_bus_message_enter_container(reply, 'e', "sv");
                if (r <= 0)
                        break;
                r = sd_bus_message_read(reply, "s", &key);
                if (r < 0)
                        return r;

                if (streq(key, "PinnedImagePolicy"))
                        r = sd_bus_message_read(reply, "v", "s", &md->pinned_policy);
                else if (streq(key, "Partitions")) {
                        r = sd_bus_message_enter_container(reply, 'v', "a(sssssbb)");
                        if (r >= 0)
                                r = sd_bus_message_enter_container(reply, 'a', "(sssssbb)");
                        while (r >= 0) {
                                PartitionInfo p;

                                r = sd_bus_message_read(reply, "(sssssbb)", &p.designator, &p.fstype, &p.protection,
                                                        &p.signature, &p.root_hash, &p.verified, &p.cached);
                                if (r <= 0)
                                        break;
                                if (md->n_partitions < ELEMENTSOF(md->partitions))
                                        md->partitions[md->n_partitions++] = p;
                        }
                        if (r >= 0)
                                r = sd_bus_message_exit_container(reply);
                        if (r >= 0)
                                r = sd_bus_message_exit_container(reply);
                } else
                        r = sd_bus_message_skip(reply, "v"); /* a newer daemon says more */
                if (r < 0)
                        return r;
                r = sd_bus_message_exit_container(reply);
                if (r < 0)
                        return r;
        }
        if (r < 0)
                return r;
        return sd_bus_message_exit_container(reply);
}

static int unit_file_compare(const void *a, const void *b) {
        const UnitFile *x = a, *y = b;

        return strcmp(x->name, y->name);
}

static int metadata_read(sd_bus_message *reply, bool with_details, Metadata *md) {
        int r;

        r = sd_bus_message_read(reply, "s", &md->path);
        if (r < 0)
                return bus_log_parse_error(r);
        r = sd_bus_message_read_array(reply, 'y', &md->os_release, &md->os_release_size);
        if (r < 0)
                return bus_log_parse_error(r);
        if (with_details) {
                r = sd_bus_message_skip(reply, "a{say}"); /* extensions: none asked for */
                if (r < 0)
                        return bus_log_parse_error(r);
        }

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

        if (with_details) {
                r = details_read(reply, md);
                if (r < 0)
                        return bus_log_parse_error(r);
        }

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

/* The same sentence the daemon's library would write (image-layout.h), from the bus strings. */
static char *partition_describe(const PartitionInfo *p) {
        LayoutPartition l = {
                .found = true,
                .fstype = (char *) p->fstype,
                .signature = verity_signature_result_from_string(p->signature),
                .verified = p->verified,
                .cached = p->cached,
        };

        if (partition_protection_from_string(p->protection, &l.protection) < 0)
                l.protection = (PartitionProtection) -1;
        return layout_partition_describe(&l);
}

static void print_text(const Metadata *md, char *const *os_release) {
        printf("Image:\n\t%s\n"
               "Portable Service:\n\t%s\n"
               "Operating System:\n\t%s\n",
               md->path,
               strna(os_release_pairs_get(os_release, "PORTABLE_PRETTY_NAME")),
               strna(os_release_pairs_get(os_release, "PRETTY_NAME")));

        for (size_t i = 0; i < md->n_partitions; i++) {
                const PartitionInfo *p = &md->partitions[i];
                _cleanup_free_ char *text = partition_describe(p);

                if (i == 0)
                        fputs("Partitions:\n", stdout);
                printf("\t%s: %s\n", p->designator, strna(text));
        }
        if (md->pinned_policy)
                printf("Image Policy (pinned):\n\t%s\n", md->pinned_policy);

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

        if (md->n_partitions > 0) {
                struct json_object *parts = json_object_new_array();

                for (size_t i = 0; parts && i < md->n_partitions; i++) {
                        const PartitionInfo *p = &md->partitions[i];
                        struct json_object *j = json_object_new_object();

                        if (!j)
                                continue;
                        json_object_object_add(j, "designator", json_object_new_string(p->designator));
                        json_object_object_add(j, "fstype", json_object_new_string(p->fstype));
                        json_object_object_add(j, "protection", json_object_new_string(p->protection));
                        json_object_object_add(j, "signature", json_object_new_string(p->signature));
                        json_object_object_add(j, "root_hash", isempty(p->root_hash) ? NULL : json_object_new_string(p->root_hash));
                        json_object_object_add(j, "verified", json_object_new_boolean(p->verified));
                        json_object_object_add(j, "verified_earlier", json_object_new_boolean(p->cached));
                        json_object_array_add(parts, j);
                }
                json_object_object_add(o, "partitions", parts);
        }
        if (md->pinned_policy)
                json_object_object_add(o, "image_policy", json_object_new_string(md->pinned_policy));

        return json_print_and_put(o);
}

static int new_inspect_call(sd_bus *bus, const char *image, char **matches, bool with_options, sd_bus_message **ret) {
        _cleanup_bus_message_ sd_bus_message *m = NULL;
        int r;

        r = portable_message_new(bus, with_options ? "GetImageMetadataWithOptions" : "GetImageMetadata", &m);
        if (r < 0)
                return r;
        r = sd_bus_message_append(m, "s", image);
        if (r >= 0 && with_options)
                r = sd_bus_message_append_strv(m, /* extensions= */ NULL);
        if (r >= 0)
                r = sd_bus_message_append_strv(m, matches);
        if (r >= 0 && with_options)
                r = sd_bus_message_append(m, "t", UINT64_C(0));
        if (r < 0)
                return bus_log_create_error(r);
        if (with_options) {
                r = portable_append_options(m);
                if (r < 0)
                        return r;
        }
        *ret = TAKE_PTR(m);
        return 0;
}

/* Our GetImageMetadataWithOptions, for the image's layout (partitions, verity, signatures) and the
 * --image-policy= check. Another daemon (systemd's) does not know it: without --image-policy= the
 * standard method is fine there, only without the layout. */
static int call_inspect(sd_bus *bus, const char *image, char **matches, bool *ret_with_details, sd_bus_message **ret) {
        _cleanup_bus_message_ sd_bus_message *m = NULL;
        _cleanup_bus_error_ sd_bus_error error = SD_BUS_ERROR_NULL;
        int r;

        r = new_inspect_call(bus, image, matches, /* with_options= */ true, &m);
        if (r < 0)
                return r;
        r = sd_bus_call(bus, m, 0, &error, ret);
        if (r >= 0) {
                *ret_with_details = true;
                return 0;
        }
        if (arg_image_policy || !sd_bus_error_has_names(&error, SD_BUS_ERROR_UNKNOWN_METHOD, SD_BUS_ERROR_ACCESS_DENIED))
                return log_error_errno(r, "%s failed: %s", sd_bus_message_get_member(m), bus_error_message(&error, r));

        m = sd_bus_message_unref(m);
        r = new_inspect_call(bus, image, matches, /* with_options= */ false, &m);
        if (r < 0)
                return r;
        *ret_with_details = false;
        return portable_call(bus, m, 0, ret);
}

int verb_inspect(int argc, char *argv[]) {
        _cleanup_bus_ sd_bus *bus = NULL;
        _cleanup_bus_message_ sd_bus_message *reply = NULL;
        _cleanup_free_ char *image = NULL;
        _cleanup_strv_free_ char **matches = NULL, **os_release = NULL;
        bool with_details;
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

        r = call_inspect(bus, image, matches, &with_details, &reply);
        if (r < 0)
                return r;

        r = metadata_read(reply, with_details, &md);
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
