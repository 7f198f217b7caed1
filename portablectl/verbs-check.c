/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdio.h>

#include "apply.h"
#include "bus-call.h"
#include "image-arg.h"
#include "image-check.h"
#include "log.h"
#include "os-release.h"
#include "output.h"
#include "polkit-agent.h"
#include "portable-bus.h"
#include "portablectl.h"
#include "strv.h"
#include "verbs.h"

/* check IMAGE [PREFIX...]: what the daemon's reader finds, asked with GetImageMetadataWithOptions
 * (its "Profile" and "CheckPaths" options, portabled(8)), judged by image-check.h. The image is
 * read by the daemon's confined reader, never mounted here. Two reads: the first gets the units
 * (and looks for the mount points), the second looks for the commands they run. */

typedef struct CheckReply {
        sd_bus_message *reply;
        const char *path;
        char **os_release;
        CheckUnit *units;
        size_t n_units;
        char **missing;
        char **warnings;
        char **requirements;
        const char *image_type;
        int read_only;
        const char *profile_service;
        CheckPartition partitions[2];
        size_t n_partitions;
} CheckReply;

static void check_reply_done(CheckReply *c) {
        strv_free(c->os_release);
        free(c->units);
        strv_free(c->missing);
        strv_free(c->warnings);
        strv_free(c->requirements);
        sd_bus_message_unref(c->reply);
        *c = (CheckReply) {};
}

static int call_metadata(sd_bus *bus, const char *image, char **extensions, const char *profile, char **check_paths,
                         sd_bus_message **ret_reply, sd_bus_error *reterr) {
        _cleanup_bus_message_ sd_bus_message *m = NULL;
        int r;

        r = portable_message_new(bus, "GetImageMetadataWithOptions", &m);
        if (r < 0)
                return r;
        r = sd_bus_message_append(m, "s", image);
        if (r >= 0)
                r = sd_bus_message_append_strv(m, extensions);
        /* Every unit: the check says which match and which do not. */
        if (r >= 0)
                r = sd_bus_message_append_strv(m, NULL);
        if (r >= 0)
                r = sd_bus_message_append(m, "t", arg_force ? PORTABLE_FLAG_FORCE_EXTENSION : 0);
        if (r >= 0)
                r = sd_bus_message_open_container(m, 'a', "{sv}");
        if (r >= 0 && arg_image_policy)
                r = sd_bus_message_append(m, "{sv}", "ImagePolicy", "s", arg_image_policy);
        if (r >= 0 && !isempty(profile))
                r = sd_bus_message_append(m, "{sv}", "Profile", "s", profile);
        if (r >= 0)
                r = sd_bus_message_open_container(m, 'e', "sv");
        if (r >= 0)
                r = sd_bus_message_append(m, "s", "CheckPaths");
        if (r >= 0)
                r = sd_bus_message_open_container(m, 'v', "as");
        if (r >= 0)
                r = sd_bus_message_append_strv(m, check_paths);
        if (r >= 0)
                r = sd_bus_message_close_container(m);
        if (r >= 0)
                r = sd_bus_message_close_container(m);
        if (r >= 0)
                r = sd_bus_message_close_container(m);
        if (r < 0)
                return bus_log_create_error(r);

        return portable_call_quiet(bus, m, ret_reply, reterr);
}

static int read_strv_variant(sd_bus_message *reply, char ***ret) {
        int r;

        r = sd_bus_message_enter_container(reply, 'v', "as");
        if (r >= 0)
                r = sd_bus_message_read_strv(reply, ret);
        if (r >= 0)
                r = sd_bus_message_exit_container(reply);
        return r;
}

static int read_details(sd_bus_message *reply, CheckReply *c) {
        int r;

        r = sd_bus_message_enter_container(reply, 'a', "{sv}");
        while (r >= 0) {
                const char *key;

                r = sd_bus_message_enter_container(reply, 'e', "sv");
                if (r <= 0)
                        break;
                r = sd_bus_message_read(reply, "s", &key);
                if (r < 0)
                        break;
                if (streq(key, "ImageType"))
                        r = sd_bus_message_read(reply, "v", "s", &c->image_type);
                else if (streq(key, "ReadOnly"))
                        r = sd_bus_message_read(reply, "v", "b", &c->read_only);
                else if (streq(key, "ProfileServiceDropin"))
                        r = sd_bus_message_read(reply, "v", "s", &c->profile_service);
                else if (streq(key, "Warnings"))
                        r = read_strv_variant(reply, &c->warnings);
                else if (streq(key, "MissingPaths"))
                        r = read_strv_variant(reply, &c->missing);
                else if (streq(key, "ProfileRequirements")) {
                        r = sd_bus_message_enter_container(reply, 'v', "a(ss)");
                        if (r >= 0)
                                r = sd_bus_message_enter_container(reply, 'a', "(ss)");
                        while (r >= 0) {
                                const char *path, *setting;

                                r = sd_bus_message_read(reply, "(ss)", &path, &setting);
                                if (r <= 0)
                                        break;
                                if (strv_extend(&c->requirements, path) < 0 || strv_extend(&c->requirements, setting) < 0)
                                        return log_oom();
                        }
                        if (r >= 0)
                                r = sd_bus_message_exit_container(reply);
                        if (r >= 0)
                                r = sd_bus_message_exit_container(reply);
                } else if (streq(key, "Partitions")) {
                        r = sd_bus_message_enter_container(reply, 'v', "a(sssssbb)");
                        if (r >= 0)
                                r = sd_bus_message_enter_container(reply, 'a', "(sssssbb)");
                        while (r >= 0) {
                                CheckPartition p = {};
                                int verified, cached;

                                r = sd_bus_message_read(reply, "(sssssbb)", &p.designator, &p.fstype, &p.protection,
                                                        &p.signature, NULL, &verified, &cached);
                                if (r <= 0)
                                        break;
                                p.verified = verified;
                                if (c->n_partitions < ELEMENTSOF(c->partitions))
                                        c->partitions[c->n_partitions++] = p;
                        }
                        if (r >= 0)
                                r = sd_bus_message_exit_container(reply);
                        if (r >= 0)
                                r = sd_bus_message_exit_container(reply);
                } else
                        r = sd_bus_message_skip(reply, "v");
                if (r >= 0)
                        r = sd_bus_message_exit_container(reply);
        }
        if (r >= 0)
                r = sd_bus_message_exit_container(reply);
        return r < 0 ? bus_log_parse_error(r) : 0;
}

static int read_reply(sd_bus_message *reply, CheckReply *c) {
        const void *data;
        size_t size;
        int r;

        c->reply = sd_bus_message_ref(reply);
        r = sd_bus_message_read(reply, "s", &c->path);
        if (r >= 0)
                r = sd_bus_message_read_array(reply, 'y', &data, &size);
        if (r < 0)
                return bus_log_parse_error(r);
        {
                _cleanup_free_ char *text = strndup(data, size);

                if (!text)
                        return log_oom();
                r = os_release_parse(text, size, &c->os_release);
                if (r < 0)
                        c->os_release = NULL;
        }

        r = sd_bus_message_skip(reply, "a{say}"); /* the extensions' release files */
        if (r >= 0)
                r = sd_bus_message_enter_container(reply, 'a', "{say}");
        while (r >= 0) {
                const char *name;
                CheckUnit *grown;

                r = sd_bus_message_enter_container(reply, 'e', "say");
                if (r <= 0)
                        break;
                r = sd_bus_message_read(reply, "s", &name);
                if (r >= 0)
                        r = sd_bus_message_read_array(reply, 'y', &data, &size);
                if (r >= 0)
                        r = sd_bus_message_exit_container(reply);
                if (r < 0)
                        break;
                grown = reallocarray(c->units, c->n_units + 1, sizeof(CheckUnit));
                if (!grown)
                        return log_oom();
                c->units = grown;
                c->units[c->n_units++] = (CheckUnit) { .name = name, .data = data, .size = size };
        }
        if (r >= 0)
                r = sd_bus_message_exit_container(reply);
        if (r >= 0)
                r = sd_bus_message_skip(reply, "a{ss}");
        if (r < 0)
                return bus_log_parse_error(r);
        return read_details(reply, c);
}

static int print_findings(const char *image, const CheckFindings *f) {
        size_t errors = 0, warnings = 0;

        for (size_t i = 0; i < f->n; i++) {
                errors += f->items[i].severity == CHECK_ERROR;
                warnings += f->items[i].severity == CHECK_WARNING;
        }

        if (arg_json != JSON_FORMAT_OFF) {
                struct json_object *o = json_object_new_object(), *list = json_object_new_array();

                if (!o || !list) {
                        json_object_put(o);
                        json_object_put(list);
                        return log_oom();
                }
                for (size_t i = 0; i < f->n; i++) {
                        struct json_object *e = json_object_new_object();

                        if (!e)
                                continue;
                        json_object_object_add(e, "severity", json_object_new_string(check_severity_to_string(f->items[i].severity)));
                        json_object_object_add(e, "check", json_object_new_string(f->items[i].check));
                        json_object_object_add(e, "message", json_object_new_string(f->items[i].message));
                        json_object_array_add(list, e);
                }
                json_object_object_add(o, "image", json_object_new_string(image));
                json_object_object_add(o, "profile", json_string_or_null(isempty(arg_profile) ? NULL : arg_profile));
                json_object_object_add(o, "findings", list);
                json_object_object_add(o, "errors", json_object_new_uint64(errors));
                json_object_object_add(o, "warnings", json_object_new_uint64(warnings));
                return json_print_and_put(o);
        }

        for (size_t i = 0; i < f->n; i++) {
                /* --quiet: only what needs attention. */
                if (arg_quiet && f->items[i].severity < CHECK_WARNING)
                        continue;
                printf("%-7s %-11s %s\n", check_severity_to_string(f->items[i].severity), f->items[i].check,
                       f->items[i].message);
        }
        if (arg_legend && !arg_quiet)
                printf("\n%zu error%s, %zu warning%s.\n", errors, errors == 1 ? "" : "s", warnings,
                       warnings == 1 ? "" : "s");
        return 0;
}

/* When even reading the image fails, that is the one finding. */
static int print_failure(const char *image, const sd_bus_error *e, int r) {
        CheckFindings f = {};
        CheckFinding item = {
                .severity = CHECK_ERROR,
                .check = (char *) "image",
                .message = (char *) bus_error_message(e, r),
        };

        f.items = &item;
        f.n = 1;
        (void) print_findings(image, &f);
        return 1;
}

int verb_check(int argc, char *argv[]) {
        _cleanup_bus_ sd_bus *bus = NULL;
        _cleanup_bus_message_ sd_bus_message *reply = NULL, *reply2 = NULL;
        _cleanup_bus_error_ sd_bus_error error = SD_BUS_ERROR_NULL, profile_error = SD_BUS_ERROR_NULL;
        _cleanup_free_ char *image = NULL;
        _cleanup_strv_free_ char **extensions = NULL, **matches = NULL, **api = NULL, **exec_paths = NULL;
        _cleanup_(check_findings_done) CheckFindings findings = {};
        CheckReply c = {}, c2 = {};
        ImageCheckInput in;
        int r;

        r = image_args_to_read(argv, &image, &extensions, &matches);
        if (r < 0)
                return r;

        r = portable_bus_connect(&bus);
        if (r < 0)
                return r;
        (void) polkit_agent_open_if_enabled();

        api = strv_copy((char **) image_check_api_mount_points);
        if (!api)
                return log_oom();

        r = call_metadata(bus, image, extensions, arg_profile, api, &reply, &error);
        if (r < 0 && sd_bus_error_has_name(&error, SD_BUS_ERROR_UNKNOWN_METHOD))
                return log_error_errno(-EOPNOTSUPP,
                                       "check needs portabled: the daemon on the bus has no GetImageMetadataWithOptions "
                                       "(systemd-portabled has none).");
        if (r < 0 && !isempty(arg_profile)) {
                /* Perhaps the profile is what is wrong: then that is a finding, and the image is
                 * checked without it. */
                (void) sd_bus_error_move(&profile_error, &error);
                r = call_metadata(bus, image, extensions, NULL, api, &reply, &error);
                if (r < 0)
                        sd_bus_error_free(&profile_error);
        }
        if (r < 0)
                return print_failure(image, &error, r);
        r = read_reply(reply, &c);
        if (r < 0)
                goto finish;

        in = (ImageCheckInput) {
                .image = c.path,
                .image_type = c.image_type,
                .read_only = c.read_only,
                .os_release_pairs = c.os_release,
                .units = c.units,
                .n_units = c.n_units,
                .matches = matches,
                .profile = sd_bus_error_is_set(&profile_error) ? NULL : arg_profile,
                .profile_error = sd_bus_error_is_set(&profile_error) ? profile_error.message : NULL,
                .requirements = c.requirements,
                .profile_service = c.profile_service,
                .missing = c.missing,
                .warnings = c.warnings,
                .partitions = c.partitions,
                .n_partitions = c.n_partitions,
        };

        r = image_check_exec_paths(&in, &exec_paths);
        if (r < 0) {
                r = log_oom();
                goto finish;
        }
        if (!strv_isempty(exec_paths)) {
                sd_bus_error_free(&error);
                r = call_metadata(bus, image, extensions, NULL, exec_paths, &reply2, &error);
                if (r < 0) {
                        r = print_failure(image, &error, r);
                        goto finish;
                }
                r = read_reply(reply2, &c2);
                if (r >= 0 && strv_extend_strv(&c.missing, c2.missing) < 0)
                        r = log_oom();
                if (r < 0)
                        goto finish;
                in.missing = c.missing;
        }

        r = image_check_run(&in, &findings);
        if (r < 0) {
                r = log_error_errno(r, "Failed to check image '%s': %m", image);
                goto finish;
        }
        r = print_findings(c.path, &findings);
        if (r >= 0)
                r = check_findings_have_errors(&findings) ? 1 : 0;

finish:
        check_reply_done(&c);
        check_reply_done(&c2);
        return r;
}
