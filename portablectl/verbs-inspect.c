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
#include "portable-bus.h"
#include "portablectl.h"
#include "strv.h"
#include "verbs.h"

/* The reply of GetImageMetadata: (s image, ay os_release, a{say} units); with extensions
 * GetImageMetadataWithExtensions adds a{say} extensions before the units, and our daemon's
 * GetImageMetadataWithOptions a{ss} unit_layers and a{sv} details after them. All pointers are
 * borrowed from the reply message. */
typedef struct File {
        const char *name;
        const void *data;
        size_t size;
        const char *layer; /* units: the path of the image it came from, if the daemon said */
        char **pairs;      /* extensions: the parsed release file */
} File;

/* One entry of the details' "Partitions": a(sssssbb). */
typedef struct PartitionInfo {
        const char *designator, *fstype, *protection, *signature, *root_hash;
        int verified, cached;
} PartitionInfo;

typedef struct Metadata {
        const char *path;
        const void *os_release;
        size_t os_release_size;
        File *extensions;
        size_t n_extensions;
        File *units;
        size_t n_units;
        PartitionInfo partitions[2];
        size_t n_partitions;
        const char *pinned_policy;
        bool show_stack;      /* the user asked about extensions (or --force) */
        bool with_extensions; /* the reply has the extensions' release files */
        bool with_details;    /* ... and where each unit came from, and the image's layout */
} Metadata;

static void files_free(File *f, size_t n) {
        for (size_t i = 0; i < n; i++)
                strv_free(f[i].pairs);
        free(f);
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

static void metadata_done(Metadata *md) {
        files_free(md->extensions, md->n_extensions);
        files_free(md->units, md->n_units);
        *md = (Metadata) {};
}

static int file_compare(const void *a, const void *b) {
        const File *x = a, *y = b;

        return strcmp(x->name, y->name);
}

/* Parses release bytes (not NUL-terminated: they point into the bus message). */
static int parse_release(const void *data, size_t size, const char *what, char ***ret) {
        _cleanup_free_ char *copy = NULL;
        int r;

        copy = malloc(size + 1);
        if (!copy)
                return log_oom();
        if (size > 0)
                memcpy(copy, data, size);
        copy[size] = '\0';

        r = os_release_parse(copy, size, ret);
        if (r < 0)
                return log_error_errno(r, "Failed to parse the release data of '%s': %m", what);
        return 0;
}

/* Reads an a{say} dict into files. */
static int read_file_dict(sd_bus_message *reply, File **files, size_t *n) {
        int r;

        r = sd_bus_message_enter_container(reply, 'a', "{say}");
        if (r < 0)
                return bus_log_parse_error(r);

        for (;;) {
                File f = {}, *grown;

                r = sd_bus_message_enter_container(reply, 'e', "say");
                if (r < 0)
                        return bus_log_parse_error(r);
                if (r == 0)
                        break;

                r = sd_bus_message_read(reply, "s", &f.name);
                if (r < 0)
                        return bus_log_parse_error(r);
                r = sd_bus_message_read_array(reply, 'y', &f.data, &f.size);
                if (r < 0)
                        return bus_log_parse_error(r);
                r = sd_bus_message_exit_container(reply);
                if (r < 0)
                        return bus_log_parse_error(r);

                grown = reallocarray(*files, *n + 1, sizeof(File));
                if (!grown)
                        return log_oom();
                *files = grown;
                (*files)[(*n)++] = f;
        }

        r = sd_bus_message_exit_container(reply);
        if (r < 0)
                return bus_log_parse_error(r);
        return 0;
}

static File *find_unit(Metadata *md, const char *name) {
        for (size_t i = 0; i < md->n_units; i++)
                if (streq(md->units[i].name, name))
                        return &md->units[i];
        return NULL;
}

static int read_unit_layers(sd_bus_message *reply, Metadata *md) {
        int r;

        r = sd_bus_message_enter_container(reply, 'a', "{ss}");
        if (r < 0)
                return bus_log_parse_error(r);
        for (;;) {
                const char *name, *layer;
                File *f;

                r = sd_bus_message_read(reply, "{ss}", &name, &layer);
                if (r < 0)
                        return bus_log_parse_error(r);
                if (r == 0)
                        break;
                f = find_unit(md, name);
                if (f)
                        f->layer = layer;
        }
        r = sd_bus_message_exit_container(reply);
        if (r < 0)
                return bus_log_parse_error(r);
        return 0;
}

static int metadata_read(sd_bus_message *reply, Metadata *md) {
        int r;

        r = sd_bus_message_read(reply, "s", &md->path);
        if (r < 0)
                return bus_log_parse_error(r);
        r = sd_bus_message_read_array(reply, 'y', &md->os_release, &md->os_release_size);
        if (r < 0)
                return bus_log_parse_error(r);
        if (md->with_extensions) {
                r = read_file_dict(reply, &md->extensions, &md->n_extensions);
                if (r < 0)
                        return r;
                /* In the order given: that is the order of the stack. */
                for (size_t i = 0; i < md->n_extensions; i++) {
                        r = parse_release(md->extensions[i].data, md->extensions[i].size, md->extensions[i].name,
                                          &md->extensions[i].pairs);
                        if (r < 0)
                                return r;
                }
        }

        r = read_file_dict(reply, &md->units, &md->n_units);
        if (r < 0)
                return r;

        if (md->with_details) {
                r = read_unit_layers(reply, md);
                if (r < 0)
                        return r;
                r = details_read(reply, md);
                if (r < 0)
                        return bus_log_parse_error(r);
        }

        /* The daemon sorts already; sorting here keeps the output stable with any daemon. */
        if (md->n_units > 1)
                qsort(md->units, md->n_units, sizeof(File), file_compare);
        return 0;
}

static const char *first_of(char *const *pairs, const char *const *keys) {
        for (const char *const *k = keys; *k; k++) {
                const char *v = os_release_pairs_get(pairs, *k);

                if (!isempty(v))
                        return v;
        }
        return NULL;
}

#define FIRST_OF(pairs, ...) first_of(pairs, (const char *const[]) { __VA_ARGS__, NULL })

/* The extension block of systemd's later portablectl. */
static void print_extension_text(const File *e) {
        char *const *p = e->pairs;
        const char *id = FIRST_OF(p, "SYSEXT_ID", "SYSEXT_IMAGE_ID", "CONFEXT_ID", "CONFEXT_IMAGE_ID");
        const char *version = FIRST_OF(p, "SYSEXT_VERSION_ID", "SYSEXT_IMAGE_VERSION", "SYSEXT_BUILD_ID",
                                       "CONFEXT_VERSION_ID", "CONFEXT_IMAGE_VERSION", "CONFEXT_BUILD_ID");
        const char *pretty = FIRST_OF(p, "SYSEXT_PRETTY_NAME", "CONFEXT_PRETTY_NAME");

        printf("Extension:\n\t%s\n"
               "\tExtension Scope:\n\t\t%s\n"
               "\tExtension Compatibility Level:\n\t\t%s\n"
               "\tExtension Compatibility OS:\n\t\t%s\n"
               "\tExtension Compatibility OS Version:\n\t\t%s\n"
               "\tPortable Service:\n\t\t%s\n"
               "\tPortable Prefixes:\n\t\t%s\n",
               e->name,
               strna(FIRST_OF(p, "SYSEXT_SCOPE", "CONFEXT_SCOPE")),
               strna(FIRST_OF(p, "SYSEXT_LEVEL", "CONFEXT_LEVEL")),
               strna(os_release_pairs_get(p, "ID")),
               strna(os_release_pairs_get(p, "VERSION_ID")),
               strna(os_release_pairs_get(p, "PORTABLE_PRETTY_NAME")),
               strna(os_release_pairs_get(p, "PORTABLE_PREFIXES")));
        if (pretty)
                printf("\tExtension Image:\n\t\t%s (%s %s)\n", pretty, strna(id), strna(version));
        else
                printf("\tExtension Image:\n\t\tID: %s Version: %s\n", strna(id), strna(version));
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

        for (size_t i = 0; i < md->n_extensions; i++)
                print_extension_text(&md->extensions[i]);

        for (size_t i = 0; i < md->n_units; i++) {
                if (i == 0)
                        fputs("Unit files:\n", stdout);
                /* With a stack, where each unit came from. */
                if (md->n_extensions > 0 && md->units[i].layer)
                        printf("\t%s (from %s)\n", md->units[i].name, md->units[i].layer);
                else
                        printf("\t%s\n", md->units[i].name);
        }
}

static void print_cat(const Metadata *md) {
        printf("%s-- OS Release: --%s\n", ansi_highlight(), ansi_normal());
        fwrite(md->os_release, 1, md->os_release_size, stdout);

        for (size_t i = 0; i < md->n_extensions; i++) {
                printf("\n%s-- Extension Release: %s --%s\n", ansi_highlight(), md->extensions[i].name, ansi_normal());
                fwrite(md->extensions[i].data, 1, md->extensions[i].size, stdout);
        }

        for (size_t i = 0; i < md->n_units; i++) {
                if (md->n_extensions > 0 && md->units[i].layer)
                        printf("\n%s-- Unit file: %s (from %s) --%s\n", ansi_highlight(), md->units[i].name,
                               md->units[i].layer, ansi_normal());
                else
                        printf("\n%s-- Unit file: %s --%s\n", ansi_highlight(), md->units[i].name, ansi_normal());
                fwrite(md->units[i].data, 1, md->units[i].size, stdout);
        }
}

static struct json_object *json_new_string_len_or_oom(const void *data, size_t size) {
        if (size > INT32_MAX)
                return NULL;
        return json_object_new_string_len(data, (int) size);
}

static struct json_object *json_pairs(char *const *pairs) {
        struct json_object *o = json_object_new_object();
        size_t n = strv_length((char **) pairs);

        for (size_t i = 0; o && i + 1 < n; i += 2)
                json_object_object_add(o, pairs[i], json_object_new_string(pairs[i + 1]));
        return o;
}

/* With extensions: "extensions", an array of {"image", "release"} in stack order, with --cat
 * also the release file's text; "unit_layers", unit -> the image it came from. */
static void json_add_stack(struct json_object *o, const Metadata *md) {
        struct json_object *extensions = json_object_new_array(), *layers = NULL;

        for (size_t i = 0; extensions && i < md->n_extensions; i++) {
                struct json_object *e = json_object_new_object();

                if (!e)
                        continue;
                json_object_object_add(e, "image", json_object_new_string(md->extensions[i].name));
                json_object_object_add(e, "release", json_pairs(md->extensions[i].pairs));
                if (arg_cat)
                        json_object_object_add(e, "release_text", json_new_string_len_or_oom(md->extensions[i].data,
                                                                                           md->extensions[i].size));
                json_object_array_add(extensions, e);
        }
        json_object_object_add(o, "extensions", extensions);

        if (!md->with_details)
                return;
        layers = json_object_new_object();
        for (size_t i = 0; layers && i < md->n_units; i++)
                json_object_object_add(layers, md->units[i].name, json_string_or_null(md->units[i].layer));
        json_object_object_add(o, "unit_layers", layers);
}

static int print_json(const Metadata *md, char *const *os_release) {
        struct json_object *o = json_object_new_object(), *osr = json_pairs(os_release), *units;

        units = arg_cat ? json_object_new_object() : json_object_new_array();
        if (!o || !osr || !units) {
                json_object_put(o);
                json_object_put(osr);
                json_object_put(units);
                return log_oom();
        }

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
        if (md->show_stack)
                json_add_stack(o, md);
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

/* GetImageMetadata (s image, as matches), or with extensions the *WithExtensions form (s image,
 * as extensions, as matches, t flags), or our own *WithOptions form, which adds "a{sv} options". */
static int new_metadata_call(sd_bus *bus, const char *method, const char *image, char **extensions, char **matches,
                             sd_bus_message **ret) {
        _cleanup_bus_message_ sd_bus_message *m = NULL;
        bool with_extensions = !streq(method, "GetImageMetadata");
        int r;

        r = portable_message_new(bus, method, &m);
        if (r < 0)
                return r;
        r = sd_bus_message_append(m, "s", image);
        if (r >= 0 && with_extensions)
                r = sd_bus_message_append_strv(m, extensions);
        if (r >= 0)
                r = sd_bus_message_append_strv(m, matches);
        /* Only FORCE_EXTENSION means anything to an inspection. */
        if (r >= 0 && with_extensions)
                r = sd_bus_message_append(m, "t", arg_force ? PORTABLE_FLAG_FORCE_EXTENSION : 0);
        if (r < 0)
                return bus_log_create_error(r);
        if (streq(method, "GetImageMetadataWithOptions")) {
                r = portable_append_options(m, arg_image_policy);
                if (r < 0)
                        return r;
        }
        *ret = TAKE_PTR(m);
        return 0;
}

/* Our GetImageMetadataWithOptions says where each unit came from and what the image's layout is
 * (partitions, verity, signatures), and carries --image-policy=. Another daemon (systemd's) does
 * not know it: without --image-policy= the standard methods are fine there, only without that. */
static int call_metadata(sd_bus *bus, const char *image, char **extensions, char **matches, Metadata *md,
                         sd_bus_message **ret_reply) {
        _cleanup_bus_message_ sd_bus_message *m = NULL;
        _cleanup_bus_error_ sd_bus_error error = SD_BUS_ERROR_NULL;
        int r;

        md->show_stack = arg_force || !strv_isempty(extensions);

        r = new_metadata_call(bus, "GetImageMetadataWithOptions", image, extensions, matches, &m);
        if (r < 0)
                return r;
        r = sd_bus_call(bus, m, 0, &error, ret_reply);
        if (r >= 0) {
                md->with_extensions = md->with_details = true;
                return 0;
        }
        if (arg_image_policy || !sd_bus_error_has_names(&error, SD_BUS_ERROR_UNKNOWN_METHOD, SD_BUS_ERROR_ACCESS_DENIED))
                return log_error_errno(r, "%s failed: %s", sd_bus_message_get_member(m), bus_error_message(&error, r));

        m = sd_bus_message_unref(m);
        md->with_extensions = md->show_stack;
        r = new_metadata_call(bus, md->with_extensions ? "GetImageMetadataWithExtensions" : "GetImageMetadata", image,
                              extensions, matches, &m);
        if (r < 0)
                return r;
        return portable_call(bus, m, 0, ret_reply);
}

int verb_inspect(int argc, char *argv[]) {
        _cleanup_bus_ sd_bus *bus = NULL;
        _cleanup_bus_message_ sd_bus_message *reply = NULL;
        _cleanup_free_ char *image = NULL;
        _cleanup_strv_free_ char **matches = NULL, **os_release = NULL, **extensions = NULL;
        Metadata md = {};
        int r;

        r = image_args_to_read(argv, &image, &extensions, &matches);
        if (r < 0)
                return r;

        r = portable_bus_connect(&bus);
        if (r < 0)
                return r;
        /* Reading an image (or an extension) named by path needs authorization. */
        if (!image_name_is_valid(image))
                (void) polkit_agent_open_if_enabled();
        else
                STRV_FOREACH(e, extensions)
                        if (!image_name_is_valid(*e)) {
                                (void) polkit_agent_open_if_enabled();
                                break;
                        }

        r = call_metadata(bus, image, extensions, matches, &md, &reply);
        if (r < 0)
                return r;

        r = metadata_read(reply, &md);
        if (r < 0)
                goto finish;

        if (!arg_cat || arg_json != JSON_FORMAT_OFF) {
                r = parse_release(md.os_release, md.os_release_size, md.path, &os_release);
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
