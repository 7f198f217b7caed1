/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <fcntl.h>
#include <fnmatch.h>
#include <unistd.h>

#include "batch.h"
#include "bus-call.h"
#include "fd-util.h"
#include "fileio.h"
#include "image-arg.h"
#include "log.h"
#include "path-util.h"
#include "portable-bus.h"
#include "portable-manifest.h"
#include "portablectl.h"
#include "strv.h"
#include "systemd-jobs.h"

#define MANIFEST_SIZE_MAX (64U * 1024U)

static void image_job_done(ImageJob *j) {
        free(j->origin);
        free(j->image_arg);
        free(j->image);
        strv_free(j->extensions);
        strv_free(j->prefixes);
        strv_free(j->matches);
        free(j->profile);
        free(j->copy_mode);
        free(j->image_policy);
}

void batch_done(Batch *b) {
        for (size_t i = 0; i < b->n; i++)
                image_job_done(&b->jobs[i]);
        b->jobs = mfree(b->jobs);
        b->n = 0;
}

const char *attached_unit_name(const char *path) {
        const char *name = path_last_component(path);

        if (!unit_is_portable_managed(path) || strstr(path, ".d/"))
                return NULL;
        return name;
}

static bool is_glob(const char *s) {
        return strpbrk(s, "*?[");
}

/* A new job with the command line's settings. */
static ImageJob *batch_add(Batch *b) {
        ImageJob *grown = reallocarray(b->jobs, b->n + 1, sizeof(ImageJob));

        if (!grown)
                return NULL;
        b->jobs = grown;
        b->jobs[b->n] = (ImageJob) {
                .profile = strdup(arg_profile),
                .copy_mode = strdup(arg_copy_mode),
                .image_policy = arg_image_policy ? strdup(arg_image_policy) : NULL,
                .runtime = arg_runtime,
                .enable = arg_enable,
                .now = arg_now,
                .force = arg_force,
        };
        b->n++;
        if (!b->jobs[b->n - 1].profile || !b->jobs[b->n - 1].copy_mode ||
            (arg_image_policy && !b->jobs[b->n - 1].image_policy))
                return NULL;
        return &b->jobs[b->n - 1];
}

/* The images in the search path whose names match pattern, and whose state suits verb. */
static int expand_glob(sd_bus *bus, BatchVerb verb, const char *pattern, char ***ret) {
        _cleanup_bus_message_ sd_bus_message *m = NULL, *reply = NULL;
        _cleanup_strv_free_ char **names = NULL;
        int r;

        r = portable_message_new(bus, "ListImages", &m);
        if (r < 0)
                return r;
        r = portable_call(bus, m, 0, &reply);
        if (r < 0)
                return r;

        r = sd_bus_message_enter_container(reply, 'a', "(ssbtttso)");
        if (r < 0)
                return bus_log_parse_error(r);
        for (;;) {
                const char *name, *state;
                bool detached;

                r = sd_bus_message_read(reply, "(ssbtttso)", &name, NULL, NULL, NULL, NULL, NULL, &state, NULL);
                if (r < 0)
                        return bus_log_parse_error(r);
                if (r == 0)
                        break;
                if (fnmatch(pattern, name, 0) != 0)
                        continue;
                detached = streq(state, "detached");
                if (detached != (verb == BATCH_ATTACH))
                        continue;
                if (strv_extend(&names, name) < 0)
                        return log_oom();
        }

        if (strv_isempty(names))
                return log_error_errno(-ENOENT, "No %s image matches '%s'.",
                                       verb == BATCH_ATTACH ? "detached" : "attached", pattern);
        strv_sort(names);
        *ret = TAKE_PTR(names);
        return 0;
}

/* Splits the positional arguments into jobs; each takes the prefixes that follow it. */
static int add_command_line(sd_bus *bus, BatchVerb verb, char **args, size_t n, Batch *b) {
        size_t first = b->n;
        int r;

        for (size_t i = 0; i < n; i++) {
                const char *a = args[i];
                _cleanup_strv_free_ char **images = NULL;

                if (i > 0 && !strchr(a, '/') && !is_glob(a)) {
                        /* A prefix, of every job the last image argument made. */
                        for (size_t k = first; k < b->n; k++)
                                if (strv_extend(&b->jobs[k].prefixes, a) < 0)
                                        return log_oom();
                        continue;
                }

                first = b->n;
                if (is_glob(a)) {
                        r = expand_glob(bus, verb, a, &images);
                        if (r < 0)
                                return r;
                } else if (strv_extend(&images, a) < 0)
                        return log_oom();

                STRV_FOREACH(image, images) {
                        ImageJob *j = batch_add(b);

                        if (!j)
                                return log_oom();
                        j->image_arg = strdup(*image);
                        j->extensions = strv_copy(arg_extensions);
                        if (!j->image_arg || (arg_extensions && !j->extensions))
                                return log_oom();
                }
        }
        return 0;
}

static int replace_string(char **field, const char *value) {
        char *copy = strdup(value);

        if (!copy)
                return log_oom();
        free_and_replace(*field, copy);
        return 0;
}

/* One job from a manifest: its settings, where the command line did not say otherwise. */
static int add_manifest(const char *arg, Batch *b) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_(portable_manifest_done) PortableManifest m = {};
        _cleanup_free_ char *path = NULL, *data = NULL;
        _cleanup_close_ int fd = -EBADF;
        ImageJob *j;
        size_t size;
        int r;

        path = realpath(arg, NULL);
        if (!path)
                return log_error_errno(negative_errno(), "Cannot open manifest '%s': %m", arg);
        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0)
                return log_error_errno(negative_errno(), "Cannot open manifest '%s': %m", arg);
        r = read_full_fd(fd, MANIFEST_SIZE_MAX, &data, &size);
        if (r < 0)
                return log_error_errno(r, "Cannot read manifest '%s': %m", arg);

        r = portable_manifest_parse(path, data, size, &m, &error);
        if (r < 0)
                return log_error_errno(r, "%s", bus_error_message(&error, r));

        j = batch_add(b);
        if (!j)
                return log_oom();
        j->origin = TAKE_PTR(path);
        j->image_arg = TAKE_PTR(m.root_image);
        j->extensions = TAKE_PTR(m.extension_images);
        j->prefixes = TAKE_PTR(m.prefixes);

        if (m.profile && !arg_profile_set && replace_string(&j->profile, m.profile) < 0)
                return -ENOMEM;
        if (m.copy_mode && !arg_copy_mode_set &&
            replace_string(&j->copy_mode, streq(m.copy_mode, "auto") ? "" : m.copy_mode) < 0)
                return -ENOMEM;
        if (m.image_policy && !arg_image_policy)
                j->image_policy = TAKE_PTR(m.image_policy);
        /* The command line's switches can only add to what the manifest asks for. */
        j->runtime = j->runtime || m.runtime > 0;
        j->enable = j->enable || m.enable > 0;
        j->now = j->now || m.now > 0;
        j->force = j->force || m.force > 0;
        return 0;
}

/* Paths made absolute and resolved, the unit prefixes chosen. */
static int resolve(ImageJob *j, BatchVerb verb) {
        bool allow_missing = verb == BATCH_DETACH;
        char **resolved = NULL;
        int r;

        r = image_arg_resolve(j->image_arg, allow_missing, &j->image);
        if (r < 0)
                return r;

        STRV_FOREACH(e, j->extensions) {
                char *p;

                r = image_arg_resolve(*e, allow_missing, &p);
                if (r >= 0)
                        r = strv_consume(&resolved, p);
                if (r < 0) {
                        strv_free(resolved);
                        return r == -ENOMEM ? log_oom() : r;
                }
        }
        strv_free(j->extensions);
        j->extensions = resolved;

        /* Detach passes no prefixes to the daemon: they only choose the units stopped or
         * disabled, and by default those are all the units detached. */
        if (verb == BATCH_DETACH)
                return 0;
        return image_arg_matches(j->image_arg, j->prefixes, /* allow_all= */ false, &j->matches);
}

int batch_build(sd_bus *bus, BatchVerb verb, char **args, size_t n, Batch *ret) {
        _cleanup_(batch_done) Batch b = {};
        int r;

        r = add_command_line(bus, verb, args, n, &b);
        if (r < 0)
                return r;
        STRV_FOREACH(m, arg_manifests) {
                r = add_manifest(*m, &b);
                if (r < 0)
                        return r;
        }
        if (b.n == 0)
                return log_error_errno(-EINVAL, "No image given: name one, or a --manifest=.");

        for (size_t i = 0; i < b.n; i++) {
                r = resolve(&b.jobs[i], verb);
                if (r < 0)
                        return r;
        }

        *ret = b;
        b = (Batch) {};
        return 0;
}
