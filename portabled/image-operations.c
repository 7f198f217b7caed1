/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "attached-index.h"
#include "bus-util.h"
#include "fd-util.h"
#include "fileio.h"
#include "image-lock.h"
#include "image-name.h"
#include "image-operations.h"
#include "image-ops.h"
#include "image-policy.h"
#include "image-read.h"
#include "log.h"
#include "mount-below.h"
#include "operation.h"
#include "path-util.h"
#include "pending-upgrade.h"
#include "portable-limits.h"
#include "portable.h"
#include "profile.h"
#include "repair.h"
#include "strv.h"
#include "unit-match.h"

/* ------------------------------------------------------------------------------- arguments */

typedef struct ImageArguments {
        char **matches;
        char *profile;
        char *name_or_path;
        char **extensions;         /* detach, state: as given */
        PortableFlags flags;
        InspectReply reply;
        bool reattach;
        char **image_policies;     /* the daemon's and the caller's */
        char **check_paths;        /* inspect: the profile's and the caller's */
        char **requirements;       /* inspect with a profile: (path, setting) pairs */
        char *profile_service;     /* inspect with a profile: its drop-in for services */
        int lock_fds[IMAGE_LOCKS]; /* exclusive locks of remove and mark read-only */
        bool read_only;            /* mark read-only: what to mark */
        struct stat removed_st;    /* remove: the image file, for the verity cache */
        PortableChanges removed, updated; /* attach while its worker copies: the reply to come */
} ImageArguments;

static void image_arguments_free(void *p) {
        ImageArguments *a = p;

        if (!a)
                return;
        strv_free(a->matches);
        strv_free(a->image_policies);
        strv_free(a->check_paths);
        strv_free(a->requirements);
        free(a->profile_service);
        strv_free(a->extensions);
        free(a->profile);
        free(a->name_or_path);
        for (size_t i = 0; i < IMAGE_LOCKS; i++)
                image_lock_release(a->lock_fds[i]);
        portable_changes_done(&a->removed);
        portable_changes_done(&a->updated);
        free(a);
}

static ImageArguments *image_arguments_new(void) {
        ImageArguments *a = calloc(1, sizeof(ImageArguments));

        if (a)
                for (size_t i = 0; i < IMAGE_LOCKS; i++)
                        a->lock_fds[i] = -EBADF;
        return a;
}

/* Every raw image read must satisfy the daemon's policy, and the caller's if one was given. */
static int collect_image_policies(Manager *m, ImageArguments *a, const ImageCallOptions *options) {
        int r;

        if (m->image_policy) {
                r = strv_extend(&a->image_policies, m->image_policy);
                if (r < 0)
                        return r;
        }
        if (options && options->image_policy) {
                r = strv_extend(&a->image_policies, options->image_policy);
                if (r < 0)
                        return r;
        }
        return 0;
}

static void images_free(Image **images, size_t n) {
        for (size_t i = 0; i < n; i++)
                image_free(images[i]);
        free(images);
}

/* What the daemon adds to every read: its caches, its spare reader, its policies, its host's keys. */
static const ImageReadRequest *daemon_request(Manager *m, const ImageArguments *a, const ImageReadRequest *read,
                                              ImageReadRequest *buffer) {
        if (!read)
                return NULL;
        *buffer = *read;
        buffer->image_policies = a->image_policies;
        buffer->verity_cache = m->verity_cache;
        buffer->metadata_cache = m->metadata_cache;
        buffer->sandbox = &m->reader_sandbox;
        buffer->spare = &m->reader_spare;
        buffer->trust_root = m->host.root;
        return buffer;
}

/* What was handed over for an operation that could not be started. */
static int fail_unstarted(ImageArguments *a, Image **extensions, size_t n_extensions, int r) {
        image_arguments_free(a);
        images_free(extensions, n_extensions);
        return r;
}

/* Starts an operation, and turns the outcome into what a method handler returns. a and
 * extensions are taken. Each extension is read as an extension, with the image's matches and
 * paths to look for. */
static int start_stack(Manager *m, sd_bus_message *msg, const OperationType *type, ImageArguments *a,
                       const Image *image, Image **extensions, size_t n_extensions, const ImageReadRequest *read,
                       sd_bus_error *error) {
        const ImageReadRequest read_extension = {
                .matches = a->matches,
                .check_paths = read ? read->check_paths : NULL,
                .extension = true,
                .force_extension = a->flags & PORTABLE_FORCE_EXTENSION,
        };
        ImageReadRequest request, request_extension;
        const ImageReadRequest *extension_request = NULL;
        Image *copy = NULL;
        int r;

        read = daemon_request(m, a, read, &request);
        if (n_extensions > 0)
                extension_request = daemon_request(m, a, &read_extension, &request_extension);

        if (image) {
                r = image_copy(image, &copy);
                if (r < 0)
                        return fail_unstarted(a, extensions, n_extensions, r);
        }
        r = operation_start_stack(m, msg, type, a, copy, extensions, n_extensions, read, extension_request, error);
        if (r < 0)
                return bus_error_from_errno(error, r, "Failed to start the operation");
        return 1;
}

static int start(Manager *m, sd_bus_message *msg, const OperationType *type, ImageArguments *a, const Image *image,
                 const ImageReadRequest *read, sd_bus_error *error) {
        return start_stack(m, msg, type, a, image, NULL, 0, read, error);
}

/* "'/x/base.raw'" or "'/x/base.raw' and its extensions '/x/app.raw, /x/conf'", for messages. */
static char *operation_label(const Operation *o, const char *joiner) {
        _cleanup_free_ char *list = NULL;
        char *label = NULL;

        for (size_t i = 0; i < o->n_extensions; i++) {
                char *joined = NULL;

                if (asprintf(&joined, "%s%s%s", strempty(list), list ? ", " : "", o->extensions[i]->path) < 0)
                        return NULL;
                free_and_replace(list, joined);
        }
        if ((list ? asprintf(&label, "'%s' %s '%s'", o->image->path, joiner, list) :
                    asprintf(&label, "'%s'", o->image->path)) < 0)
                return NULL;
        return label;
}

/* The units of the attachment an argument (with extensions) names, in the directories flags
 * select. */
static int attached_units(Operation *o, const char *name_or_path, char * const *extensions, int runtime, char ***ret) {
        _cleanup_(attached_index_done) AttachedIndex idx = {};
        int r;

        r = attached_index_load_units(&o->manager->host, &idx);
        if (r < 0)
                return r;
        return attached_index_units(&idx, name_or_path, extensions, runtime, ret);
}

/* --------------------------------------------------------------------------------- inspect */

static int append_file_dict_entry(sd_bus_message *reply, const char *name, const char *data, size_t size) {
        int r;

        r = sd_bus_message_open_container(reply, 'e', "say");
        if (r < 0)
                return r;
        r = sd_bus_message_append(reply, "s", name);
        if (r < 0)
                return r;
        r = sd_bus_message_append_array(reply, 'y', data, size);
        if (r < 0)
                return r;
        return sd_bus_message_close_container(reply);
}

static int reply_os_release(Operation *o) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        char **pairs = o->metadata->os_release_pairs;
        int r;

        r = sd_bus_message_new_method_return(o->request, &reply);
        if (r < 0)
                return r;
        r = sd_bus_message_open_container(reply, 'a', "{ss}");
        if (r < 0)
                return r;
        for (size_t i = 0; pairs[i] && pairs[i + 1]; i += 2) {
                r = sd_bus_message_append(reply, "{ss}", pairs[i], pairs[i + 1]);
                if (r < 0)
                        return r;
        }
        r = sd_bus_message_close_container(reply);
        if (r < 0)
                return r;
        return sd_bus_send(NULL, reply, NULL);
}

static int append_strv_detail(sd_bus_message *reply, const char *key, char **l) {
        int r;

        r = sd_bus_message_open_container(reply, 'e', "sv");
        if (r >= 0)
                r = sd_bus_message_append(reply, "s", key);
        if (r >= 0)
                r = sd_bus_message_open_container(reply, 'v', "as");
        if (r >= 0)
                r = sd_bus_message_append_strv(reply, l);
        if (r >= 0)
                r = sd_bus_message_close_container(reply);
        if (r >= 0)
                r = sd_bus_message_close_container(reply);
        return r;
}

static int append_partitions(sd_bus_message *reply, const ImageLayout *layout) {
        int r;

        r = sd_bus_message_open_container(reply, 'e', "sv");
        if (r >= 0)
                r = sd_bus_message_append(reply, "s", "Partitions");
        if (r >= 0)
                r = sd_bus_message_open_container(reply, 'v', "a(sssssbb)");
        if (r >= 0)
                r = sd_bus_message_open_container(reply, 'a', "(sssssbb)");
        for (PartitionDesignator d = PARTITION_ROOT; r >= 0 && d <= PARTITION_USR; d++) {
                const LayoutPartition *p = &layout->partitions[d];

                if (!p->found)
                        continue;
                r = sd_bus_message_append(reply, "(sssssbb)", partition_designator_to_string(d), strempty(p->fstype),
                                          partition_protection_to_string(p->protection),
                                          verity_signature_result_to_string(p->signature), strempty(p->root_hash),
                                          (int) p->verified, (int) p->cached);
        }
        if (r >= 0)
                r = sd_bus_message_close_container(reply);
        if (r >= 0)
                r = sd_bus_message_close_container(reply);
        if (r >= 0)
                r = sd_bus_message_close_container(reply);
        if (r >= 0)
                r = sd_bus_message_append(reply, "{sv}", "PinnedImagePolicy", "s", strempty(layout->pinned_policy));
        return r;
}

static int append_requirements(sd_bus_message *reply, char **pairs) {
        int r;

        r = sd_bus_message_open_container(reply, 'e', "sv");
        if (r >= 0)
                r = sd_bus_message_append(reply, "s", "ProfileRequirements");
        if (r >= 0)
                r = sd_bus_message_open_container(reply, 'v', "a(ss)");
        if (r >= 0)
                r = sd_bus_message_open_container(reply, 'a', "(ss)");
        for (size_t i = 0; r >= 0 && pairs && pairs[i] && pairs[i + 1]; i += 2)
                r = sd_bus_message_append(reply, "(ss)", pairs[i], pairs[i + 1]);
        if (r >= 0)
                r = sd_bus_message_close_container(reply);
        if (r >= 0)
                r = sd_bus_message_close_container(reply);
        if (r >= 0)
                r = sd_bus_message_close_container(reply);
        return r;
}

/* Our a{sv} of details (portabled(8)): the image's type and whether it is read-only, what the
 * reader skipped; for raw images the partitions and the pinned policy; what was looked for and
 * is missing; with a profile, what it needs and its drop-in for services. */
static int append_details(sd_bus_message *reply, const Operation *o, const ImageArguments *a) {
        _cleanup_strv_free_ char **warnings = NULL;
        const PortableMetadata *root = o->layers ? o->layers[0] : o->metadata;
        int r;

        for (size_t i = 0; i < (o->layers ? 1 + o->n_extensions : 1); i++)
                if (strv_extend_strv(&warnings, (o->layers ? o->layers[i] : o->metadata)->warnings) < 0)
                        return -ENOMEM;

        r = sd_bus_message_open_container(reply, 'a', "{sv}");
        if (r >= 0)
                r = sd_bus_message_append(reply, "{sv}", "ImageType", "s", image_type_to_string(o->image->type));
        if (r >= 0)
                r = sd_bus_message_append(reply, "{sv}", "ReadOnly", "b", (int) o->image->read_only);
        if (r >= 0)
                r = append_strv_detail(reply, "Warnings", warnings);
        if (r >= 0 && root->layout)
                r = append_partitions(reply, root->layout);
        if (r >= 0 && a->check_paths)
                r = append_strv_detail(reply, "MissingPaths", o->metadata->missing);
        if (r >= 0 && !isempty(a->profile)) {
                r = append_requirements(reply, a->requirements);
                if (r >= 0)
                        r = sd_bus_message_append(reply, "{sv}", "ProfileServiceDropin", "s", strempty(a->profile_service));
        }
        if (r < 0)
                return r;
        return sd_bus_message_close_container(reply);
}

/* The path of the layer a unit came from. */
static const char *layer_path(const Operation *o, const PortableFile *unit) {
        if (unit->layer == 0 || unit->layer > o->n_extensions)
                return o->image->path;
        return o->extensions[unit->layer - 1]->path;
}

static int inspect_finish(Operation *o, sd_bus_error *error) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        ImageArguments *a = o->data;
        const PortableMetadata *md = o->metadata;
        const PortableMetadata *root = o->layers ? o->layers[0] : md;
        int r;

        if (a->reply == INSPECT_OS_RELEASE)
                return reply_os_release(o);

        if (md->n_units == 0) {
                _cleanup_free_ char *label = operation_label(o, "or any of its extensions");

                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                                         "Couldn't find any matching unit files in image %s, refusing.", strna(label));
        }

        r = sd_bus_message_new_method_return(o->request, &reply);
        if (r < 0)
                return r;
        r = sd_bus_message_append(reply, "s", o->image->path);
        if (r < 0)
                return r;
        r = sd_bus_message_append_array(reply, 'y', root->os_release.data, root->os_release.size);
        if (r < 0)
                return r;
        if (a->reply >= INSPECT_WITH_EXTENSIONS) {
                /* Each extension's release file, in the order given. */
                r = sd_bus_message_open_container(reply, 'a', "{say}");
                if (r < 0)
                        return r;
                for (size_t i = 0; i < o->n_extensions; i++) {
                        const PortableFile *f = &o->layers[i + 1]->os_release;

                        r = append_file_dict_entry(reply, o->extensions[i]->path, f->data, f->size);
                        if (r < 0)
                                return r;
                }
                r = sd_bus_message_close_container(reply);
                if (r < 0)
                        return r;
        }
        r = sd_bus_message_open_container(reply, 'a', "{say}");
        if (r < 0)
                return r;
        for (size_t i = 0; i < md->n_units; i++) {
                r = append_file_dict_entry(reply, md->units[i].name, md->units[i].data, md->units[i].size);
                if (r < 0)
                        return r;
        }
        r = sd_bus_message_close_container(reply);
        if (r < 0)
                return r;
        if (a->reply >= INSPECT_WITH_LAYERS) {
                r = sd_bus_message_open_container(reply, 'a', "{ss}");
                if (r < 0)
                        return r;
                for (size_t i = 0; i < md->n_units; i++) {
                        r = sd_bus_message_append(reply, "{ss}", md->units[i].name, layer_path(o, &md->units[i]));
                        if (r < 0)
                                return r;
                }
                r = sd_bus_message_close_container(reply);
                if (r < 0)
                        return r;
        }
        if (a->reply == INSPECT_WITH_DETAILS) {
                r = append_details(reply, o, a);
                if (r < 0)
                        return r;
        }
        return sd_bus_send(NULL, reply, NULL);
}

static const OperationType inspect_type = {
        .name = "read image metadata",
        .finish = inspect_finish,
        .free_data = image_arguments_free,
};

/* portablectl check: the profile is checked as attach checks it, its mount points and the
 * caller's paths are looked for, and what the profile needs is kept for the details. */
static int inspect_check_setup(Manager *m, ImageArguments *a, const ImageCallOptions *options, sd_bus_error *error) {
        _cleanup_free_ char *dropin = NULL;
        int r;

        if (options->profile) {
                a->profile = strdup(options->profile);
                if (!a->profile)
                        return -ENOMEM;
                r = portable_attach_prepare(&m->host, a->profile, &a->requirements, &a->check_paths, error);
                if (r < 0)
                        return bus_error_from_errno(error, r, "Failed to check the profile");
                r = profile_find_dropin(&m->host, a->profile, "check.service", &dropin);
                if (r > 0) {
                        _cleanup_close_ int fd = open(dropin, O_RDONLY | O_CLOEXEC | O_NOCTTY);
                        size_t size;

                        r = fd < 0 ? -errno : read_full_fd(fd, PORTABLE_SIZE_MAX_UNIT_FILE, &a->profile_service, &size);
                }
                if (r < 0)
                        return sd_bus_error_set_errnof(error, r, "Failed to read profile '%s': %m", a->profile);
        }
        if (!options->profile && !options->check_paths)
                return 0;
        /* Each once: the reader reports each path it was asked about at most once. */
        STRV_FOREACH(p, options->check_paths)
                if (strv_extend_unique(&a->check_paths, *p) < 0)
                        return -ENOMEM;
        /* Asked for, even if empty: the details then say what is missing. */
        return strv_ensure(&a->check_paths);
}

int image_operation_inspect(Manager *m, sd_bus_message *msg, const Image *image, Image **extensions,
                            size_t n_extensions, char **matches, InspectReply reply, PortableFlags flags,
                            const ImageCallOptions *options, sd_bus_error *error) {
        ImageArguments *a = image_arguments_new();
        ImageReadRequest read;
        int r;

        if (!a) {
                strv_free(matches);
                return fail_unstarted(NULL, extensions, n_extensions, -ENOMEM);
        }
        a->matches = matches;
        a->reply = reply;
        a->flags = flags;
        if (collect_image_policies(m, a, options) < 0)
                return fail_unstarted(a, extensions, n_extensions, -ENOMEM);
        if (options) {
                r = inspect_check_setup(m, a, options, error);
                if (r < 0)
                        return fail_unstarted(a, extensions, n_extensions, r);
        }
        read = (ImageReadRequest) {
                .matches = reply == INSPECT_OS_RELEASE ? image_read_no_units : a->matches,
                .check_paths = a->check_paths,
        };
        return start_stack(m, msg, &inspect_type, a, image, extensions, n_extensions, &read, error);
}

/* ------------------------------------------------------------------------ attach, reattach */

static int attach_units_needed(Operation *o, char ***ret) {
        ImageArguments *a = o->data;
        _cleanup_strv_free_ char **units = NULL;
        int r;

        /* Forced and reattaching operations do not ask whether units run. */
        if (a->reattach || (a->flags & PORTABLE_FORCE_ATTACH)) {
                *ret = NULL;
                return 0;
        }
        for (size_t i = 0; i < o->metadata->n_units; i++) {
                r = strv_extend(&units, o->metadata->units[i].name);
                if (r < 0)
                        return r;
        }
        *ret = TAKE_PTR(units);
        return 0;
}

/* Before the image is read: the units attach_units_needed() will name are the image's that the
 * matches accept, so the matches cover them, and PID 1 is asked about them while the image is
 * read. Without matches, every unit is accepted: asked about once they are known. */
static int attach_unit_prefixes(Operation *o, char ***ret) {
        ImageArguments *a = o->data;

        *ret = NULL;
        if (a->reattach || (a->flags & PORTABLE_FORCE_ATTACH) || strv_isempty(a->matches))
                return 0;
        *ret = strv_copy(a->matches);
        return *ret ? 0 : -ENOMEM;
}

/* Adds the unit names a change list touches to units: what a rollback on our own restarts. */
static int add_changed_units(const PortableChanges *c, char ***units) {
        for (size_t i = 0; i < c->n; i++) {
                const char *name = path_last_component(c->items[i].path);
                int r;

                if (!unit_name_is_valid(name, UNIT_NAME_PLAIN) || !unit_name_is_portable_type(name))
                        continue;
                r = strv_extend_unique(units, name);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* Reattach that keeps the previous version until the client confirms (pending-upgrade.h). */
static int reattach_keeping_previous(Operation *o, const PortableStack *stack, PortableChanges *removed,
                                     PortableChanges *updated, sd_bus_error *error) {
        _cleanup_(transaction_done) Transaction t = {};
        _cleanup_strv_free_ char **units = NULL;
        ImageArguments *a = o->data;
        int r;

        r = portable_reattach_stack_uncommitted(&t, &o->manager->host, stack, a->matches, a->profile, a->flags,
                                                removed, updated, error);
        if (r < 0)
                return r;
        r = add_changed_units(removed, &units);
        if (r >= 0)
                r = add_changed_units(updated, &units);
        if (r >= 0)
                r = pending_upgrade_add(o->manager, o->request, o->image->path, &t, units);
        if (r < 0) {
                (void) transaction_abort(&t, error);
                return r;
        }
        TAKE_PTR(units);
        return 0;
}

static const OperationType attach_type;

bool image_operation_copying(Manager *m, const char *name_or_path) {
        _cleanup_free_ char *key = NULL;

        /* A name without a key (e.g. "_x") cannot be told apart: busy while any copy is made,
         * but not otherwise. */
        if (name_or_path)
                (void) image_name_marker_key(name_or_path, &key);
        for (Operation *o = m->operations; o; o = o->next) {
                _cleanup_free_ char *other = NULL;

                /* An attach has a worker only while it copies. */
                if (o->type != &attach_type || !o->worker_source)
                        continue;
                /* When in doubt, busy. */
                if (!key || image_name_marker_key(o->image->path, &other) < 0 || streq(other, key))
                        return true;
        }
        return false;
}

/* While an upgrade waits to be kept, or a worker copies the image for --copy=mixed (it replaces
 * the link attach made, which a detach now would remove under its feet), the image's attachment
 * is not changed; while a journal that could not be recovered waits, no attachment is. */
static int refuse_if_busy(Manager *m, const char *name_or_path, sd_bus_error *error) {
        _cleanup_strv_free_ char **live = NULL;
        int r;

        /* A journal left by an operation whose undo failed: its recovery would undo what we
         * change now. */
        r = pending_upgrade_transaction_ids(m, &live);
        if (r < 0)
                return r;
        r = portable_refuse_if_unrecovered(&m->host, live, error);
        if (r < 0)
                return r;

        if (pending_upgrade_blocks(m, name_or_path))
                return sd_bus_error_set_errnof(error, EBUSY,
                                               "An upgrade of '%s' is being verified; try again once it is kept or rolled back.",
                                               name_or_path);
        if (image_operation_copying(m, name_or_path))
                return sd_bus_error_set_errnof(error, EBUSY,
                                               "Image '%s' is being copied for --copy=mixed; try again once it is attached.",
                                               name_or_path);
        return 0;
}

/* The stack of layers the operation read. */
static PortableStack operation_stack(const Operation *o) {
        return (PortableStack) {
                .image = o->image,
                .extensions = (const Image * const *) o->extensions,
                .n_extensions = o->n_extensions,
                .layers = o->layers ? (const PortableMetadata * const *) o->layers
                                    : (const PortableMetadata * const *) &o->metadata,
        };
}

static int attach_reply(Operation *o, const PortableChanges *removed, const PortableChanges *updated) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_free_ char *label = operation_label(o, "and its extensions");
        ImageArguments *a = o->data;
        int r;

        (void) log_internal(a->flags & PORTABLE_DRY_RUN ? LOG_DEBUG : LOG_INFO, 0, "%s%s image %s%s%s%s.",
                 a->flags & PORTABLE_DRY_RUN ? "Dry run: planned to " : "",
                 a->flags & PORTABLE_DRY_RUN ? (a->reattach ? "reattach" : "attach") : (a->reattach ? "Reattached" : "Attached"),
                 strna(label),
                 isempty(a->profile) ? "" : " with profile '", strempty(a->profile), isempty(a->profile) ? "" : "'");

        r = sd_bus_message_new_method_return(o->request, &reply);
        if (r >= 0 && a->reattach)
                r = bus_append_changes(reply, removed);
        if (r >= 0)
                r = bus_append_changes(reply, updated);
        if (r >= 0)
                r = sd_bus_send(NULL, reply, NULL);
        return r < 0 ? r : 0;
}

static int attach_copy_done(Operation *o, int status, sd_bus_error *error) {
        const PortableStack stack = operation_stack(o);
        ImageArguments *a = o->data;
        int r;

        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
                log_warning("The worker copying '%s' for --copy=mixed did not finish: what it did not copy stays linked.",
                            o->image->path);
        /* Whatever the worker managed is in place: the change list says which. */
        r = portable_copy_images(&o->manager->host, &stack, a->flags, IMAGE_COPY_COLLECT, &a->updated);
        if (r < 0)
                return r;
        return attach_reply(o, &a->removed, &a->updated);
}

static int attach_copy_work(Operation *o) {
        const PortableStack stack = operation_stack(o);
        ImageArguments *a = o->data;

        return portable_copy_images(&o->manager->host, &stack, a->flags, IMAGE_COPY_MAKE, &a->updated) < 0;
}

/* --copy=mixed: a copy of a large image takes a while, so a worker makes it once the transaction
 * is committed, and the reply waits for it while the daemon answers other callers. */
static int attach_start_copy(Operation *o, PortableChanges *removed, PortableChanges *updated, sd_bus_error *error) {
        ImageArguments *a = o->data;
        int r;

        a->removed = *removed;
        a->updated = *updated;
        *removed = *updated = (PortableChanges) {};

        r = operation_start_worker(o, COPY_WORKER_COMM, attach_copy_work, attach_copy_done, error);
        if (r >= 0)
                return r;
        /* The attach is committed whatever happens here: without a worker, the links stay. */
        (void) log_warning_errno(r, "Cannot start a worker to copy '%s' for --copy=mixed, leaving links: %m",
                                 o->image->path);
        return attach_reply(o, &a->removed, &a->updated);
}

static int attach_finish(Operation *o, sd_bus_error *error) {
        _cleanup_(portable_changes_done) PortableChanges removed = {}, updated = {};
        ImageArguments *a = o->data;
        Host *host = &o->manager->host;
        const PortableStack stack = operation_stack(o);
        PortableFlags flags = a->flags;
        bool copy_later = (flags & PORTABLE_MIXED_COPY) && !(flags & PORTABLE_DRY_RUN);
        const char *holder;
        int r;

        r = refuse_if_busy(o->manager, o->image->path, error);
        if (r < 0)
                return r;
        /* Another image's upgrade that changed one of these units: its rollback would put its
         * previous files back over what this attach writes. */
        holder = pending_upgrade_holding_units(o->manager, o->metadata);
        if (holder)
                return sd_bus_error_set_errnof(error, EBUSY,
                                               "An upgrade of '%s', which changed units of '%s', is being verified; try again once it is kept or rolled back.",
                                               holder, o->image->path);

        if (copy_later)
                flags &= ~PORTABLE_MIXED_COPY;
        if (a->reattach && (flags & PORTABLE_KEEP_PREVIOUS))
                r = reattach_keeping_previous(o, &stack, &removed, &updated, error);
        else if (a->reattach)
                r = portable_reattach_stack(host, &stack, a->matches, a->profile, flags, &removed, &updated, error);
        else
                r = portable_attach_stack(host, &stack, a->matches, a->profile, flags, &updated, error);
        if (r == -EAGAIN)
                return r; /* a unit not asked about yet: ask, then try again */
        if (r < 0)
                return bus_error_from_errno(error, r, a->reattach ? "Failed to reattach image" : "Failed to attach image");

        if (copy_later)
                return attach_start_copy(o, &removed, &updated, error);
        return attach_reply(o, &removed, &updated);
}

static const OperationType attach_type = {
        .name = "attach image",
        .units_needed = attach_units_needed,
        .unit_prefixes = attach_unit_prefixes,
        .finish = attach_finish,
        .free_data = image_arguments_free,
};

int image_operation_attach(Manager *m, sd_bus_message *msg, const Image *image, Image **extensions,
                           size_t n_extensions, char **matches, const char *profile, PortableFlags flags,
                           bool reattach, const ImageCallOptions *options, sd_bus_error *error) {
        _cleanup_strv_free_ char **check_paths = NULL;
        ImageArguments *a = image_arguments_new();
        int r;

        if (!a) {
                strv_free(matches);
                return fail_unstarted(NULL, extensions, n_extensions, -ENOMEM);
        }
        a->matches = matches;
        a->flags = flags;
        a->reattach = reattach;
        a->profile = strdup(strempty(profile));
        if (!a->profile || collect_image_policies(m, a, options) < 0)
                return fail_unstarted(a, extensions, n_extensions, -ENOMEM);

        /* The profile is checked before the image is read, and says which paths to look for. */
        r = portable_attach_prepare(&m->host, a->profile, /* ret_requirements= */ NULL, &check_paths, error);
        if (r < 0)
                return fail_unstarted(a, extensions, n_extensions,
                                      bus_error_from_errno(error, r, "Failed to attach image"));

        return start_stack(m, msg, &attach_type, a, image, extensions, n_extensions,
                           &(const ImageReadRequest) { .matches = a->matches, .check_paths = check_paths }, error);
}

/* ---------------------------------------------------------------------------------- detach */

static int detach_units_needed(Operation *o, char ***ret) {
        ImageArguments *a = o->data;

        if (a->flags & PORTABLE_FORCE_ATTACH) {
                *ret = NULL;
                return 0;
        }
        return attached_units(o, a->name_or_path, a->extensions, !!(a->flags & PORTABLE_RUNTIME), ret);
}

/* The prefix of the image's name covers the units an attachment of it has unless it was attached
 * with matches of its own: asked about at once, the service manager answers while nothing else
 * is done, and no scan of every attachment is needed to name them first. A unit it does not cover
 * is asked about when finish() meets it. */
static int detach_unit_prefixes(Operation *o, char ***ret) {
        ImageArguments *a = o->data;
        _cleanup_strv_free_ char **prefixes = NULL;
        char *prefix = NULL;

        *ret = NULL;
        if (a->flags & PORTABLE_FORCE_ATTACH)
                return 0; /* nothing to ask */
        if (image_name_default_prefix(a->name_or_path, &prefix) < 0)
                return 0; /* a name that makes no prefix: the units are found first */
        if (strv_consume(&prefixes, prefix) < 0)
                return -ENOMEM;
        *ret = TAKE_PTR(prefixes);
        return 0;
}

static int detach_finish(Operation *o, sd_bus_error *error) {
        _cleanup_(portable_changes_done) PortableChanges changes = {};
        ImageArguments *a = o->data;
        int r;

        r = refuse_if_busy(o->manager, a->name_or_path, error);
        if (r < 0)
                return r;

        r = portable_detach_with_extensions(&o->manager->host, a->name_or_path, a->extensions, a->flags, &changes,
                                            error);
        if (r == -EAGAIN)
                return r;
        if (r < 0)
                return bus_error_from_errno(error, r, "Failed to detach image");

        if (a->flags & PORTABLE_DRY_RUN)
                log_debug("Dry run: planned to detach image '%s'.", a->name_or_path);
        else if (strv_isempty(a->extensions))
                log_info("Detached image '%s'.", a->name_or_path);
        else {
                _cleanup_free_ char *list = strv_join(a->extensions, ", ");

                log_info("Detached image '%s' and its extensions '%s'.", a->name_or_path, strna(list));
        }
        r = bus_reply_changes(o->request, &changes);
        return r < 0 ? r : 0;
}

static const OperationType detach_type = {
        .name = "detach image",
        .units_needed = detach_units_needed,
        .unit_prefixes = detach_unit_prefixes,
        .finish = detach_finish,
        .free_data = image_arguments_free,
};

int image_operation_detach(Manager *m, sd_bus_message *msg, const char *name_or_path, char **extensions,
                           PortableFlags flags, sd_bus_error *error) {
        ImageArguments *a = image_arguments_new();

        if (!a) {
                strv_free(extensions);
                return -ENOMEM;
        }
        a->extensions = extensions;
        a->flags = flags;
        a->name_or_path = strdup(name_or_path);
        if (!a->name_or_path) {
                image_arguments_free(a);
                return -ENOMEM;
        }
        return start(m, msg, &detach_type, a, NULL, NULL, error);
}

/* ----------------------------------------------------------------------------------- state */

static int state_units_needed(Operation *o, char ***ret) {
        ImageArguments *a = o->data;

        return attached_units(o, a->name_or_path, a->extensions, /* runtime= */ -1, ret);
}

static int state_finish(Operation *o, sd_bus_error *error) {
        ImageArguments *a = o->data;
        PortableState state;
        int r;

        r = portable_get_state_with_extensions(&o->manager->host, a->name_or_path, a->extensions, &state);
        if (r == -EAGAIN)
                return r;
        if (r < 0)
                return bus_error_from_errno(error, r, "Failed to determine image state");

        r = sd_bus_reply_method_return(o->request, "s", portable_state_to_string(state));
        return r < 0 ? r : 0;
}

static const OperationType state_type = {
        .name = "determine image state",
        .units_needed = state_units_needed,
        .finish = state_finish,
        .free_data = image_arguments_free,
};

int image_operation_state(Manager *m, sd_bus_message *msg, const char *name_or_path, char **extensions,
                          sd_bus_error *error) {
        ImageArguments *a = image_arguments_new();

        if (!a) {
                strv_free(extensions);
                return -ENOMEM;
        }
        /* An empty list is no list: the image counts in any stack. */
        a->extensions = strv_isempty(extensions) ? strv_free(extensions) : extensions;
        a->name_or_path = strdup(name_or_path);
        if (!a->name_or_path) {
                image_arguments_free(a);
                return -ENOMEM;
        }
        return start(m, msg, &state_type, a, NULL, NULL, error);
}

/* ------------------------------------------------------------------------------------ list */

static int list_units_needed(Operation *o, char ***ret) {
        _cleanup_(attached_index_done) AttachedIndex idx = {};
        int r;

        r = attached_index_load_units(&o->manager->host, &idx);
        if (r < 0)
                return r;
        return attached_index_all_units(&idx, ret);
}

static int list_finish(Operation *o, sd_bus_error *error) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_(attached_index_done) AttachedIndex idx = {};
        _cleanup_(image_list_done) ImageList list = {};
        Host *host = &o->manager->host;
        int r;

        r = image_discover(host, &list);
        if (r < 0)
                return sd_bus_error_set_errnof(error, r, "Failed to enumerate images: %m");

        /* One scan of the attached directories for all images. */
        r = attached_index_load(host, &idx);
        if (r < 0)
                return sd_bus_error_set_errnof(error, r, "Failed to read the attached units: %m");

        r = sd_bus_message_new_method_return(o->request, &reply);
        if (r < 0)
                return r;
        r = sd_bus_message_open_container(reply, 'a', "(ssbtttso)");
        if (r < 0)
                return r;

        for (size_t i = 0; i < list.n_images; i++) {
                const Image *image = list.images[i];
                _cleanup_free_ char *path = NULL;
                PortableState state;

                r = bus_image_object_path(image->name, &path);
                if (r < 0)
                        return r;

                r = attached_index_image_state(&idx, host, image, &state);
                if (r == -EAGAIN)
                        return r;
                /* A state we cannot determine is reported as empty, not as a failed listing. */
                if (r < 0)
                        log_debug_errno(r, "Failed to get state of image '%s', ignoring: %m", image->path);

                r = sd_bus_message_append(reply, "(ssbtttso)", image->name, image_type_to_string(image->type),
                                          image->read_only, image->crtime, image->mtime, image->usage,
                                          r < 0 ? "" : portable_state_to_string(state), path);
                if (r < 0)
                        return r;
        }

        r = sd_bus_message_close_container(reply);
        if (r < 0)
                return r;
        r = sd_bus_send(NULL, reply, NULL);
        return r < 0 ? r : 0;
}

static const OperationType list_type = {
        .name = "list images",
        .units_needed = list_units_needed,
        .finish = list_finish,
        .free_data = image_arguments_free,
};

int image_operation_list(Manager *m, sd_bus_message *msg, sd_bus_error *error) {
        ImageArguments *a = image_arguments_new();

        if (!a)
                return -ENOMEM;
        return start(m, msg, &list_type, a, NULL, NULL, error);
}

/* ------------------------------------------------------------------------ exclusive access */

/* Takes the image's exclusive lock for o (in the ImageArguments' lock_fds): 0 once it holds it.
 * Our own calls that read the image end soon, so they are waited for (1: finish() returns 0 and
 * runs again when they are done), so that nobody can keep the image busy by reading it again and
 * again. < 0 with error set if it is busy otherwise, or still after the wait. */
static int lock_exclusive_or_wait(Operation *o, const char *purpose, sd_bus_error *error) {
        ImageArguments *a = o->data;
        int r;

        r = image_lock_acquire(&o->manager->host, o->image->path, /* exclusive= */ true, a->lock_fds, error);
        if (r != -EBUSY)
                return r;
        if (operation_wait_for_holders(o) >= 0) {
                sd_bus_error_free(error);
                return 1;
        }
        if (operation_image_holders(o->manager, o->image, o) == 0)
                return r; /* another program's lock: error says so */
        sd_bus_error_free(error);
        return sd_bus_error_set_errnof(error, EBUSY,
                                       "Image '%s' is still in use by other calls after %u s, refusing to %s; try again later.",
                                       o->image->path, (unsigned) (PORTABLE_EXCLUSIVE_WAIT_USEC / 1000000U), purpose);
}

/* ---------------------------------------------------------------------------------- remove */

static int remove_units_needed(Operation *o, char ***ret) {
        return attached_units(o, o->image->path, /* extensions= */ NULL, /* runtime= */ -1, ret);
}

static int remove_done(Operation *o, int status, sd_bus_error *error) {
        ImageArguments *a = o->data;

        if (!WIFEXITED(status))
                return sd_bus_error_setf(error, SD_BUS_ERROR_FAILED,
                                         "Removing image '%s' was cut short (the worker was stopped): it may be partly removed.",
                                         o->image->path);
        if (WEXITSTATUS(status) == EXDEV)
                /* Mounted after the check: the walk stopped there, and went on elsewhere. */
                return sd_bus_error_set_errnof(error, EXDEV,
                                               "Failed to remove image '%s' in full: a file system was mounted inside it while it was removed; what is mounted there was left alone.",
                                               o->image->path);
        if (WEXITSTATUS(status) != 0)
                return sd_bus_error_set_errnof(error, WEXITSTATUS(status), "Failed to remove image '%s': %m",
                                               o->image->path);

        log_info("Removed image '%s'.", o->image->path);
        if (S_ISREG(a->removed_st.st_mode)) {
                verity_cache_forget(o->manager->verity_cache, a->removed_st.st_dev, a->removed_st.st_ino);
                metadata_cache_forget(o->manager->metadata_cache, a->removed_st.st_dev, a->removed_st.st_ino);
        }
        return sd_bus_reply_method_return(o->request, NULL) < 0 ? -EIO : 0;
}

/* The worker's exit status: the errno, if it failed. */
static int remove_work(Operation *o) {
        int r = image_remove(o->image);

        return r < 0 ? (-r & 0xff) : 0;
}

static int remove_finish(Operation *o, sd_bus_error *error) {
        _cleanup_free_ char *mounted = NULL;
        ImageArguments *a = o->data;
        PortableState state;
        int r;

        /* The previous version of a waiting upgrade looks detached (its files are backups), and
         * the image a --copy=mixed worker copies from is in use. */
        r = refuse_if_busy(o->manager, o->image->path, error);
        if (r < 0)
                return r;

        r = portable_get_state(&o->manager->host, o->image->path, &state);
        if (r == -EAGAIN)
                return r;
        if (r < 0)
                return bus_error_from_errno(error, r, "Failed to determine image state");
        if (state != PORTABLE_DETACHED)
                return sd_bus_error_set_errnof(error, EBUSY, "Image '%s' is not detached, refusing.", o->image->path);

        r = find_mount_below(o->image->path, &mounted);
        if (r < 0)
                return bus_error_from_errno(error, r, "Failed to check what is mounted inside the image");
        if (r > 0)
                return sd_bus_error_set_errnof(error, EBUSY,
                                               "Image '%s' has a file system mounted at '%s', refusing to remove it: unmount it first.",
                                               o->image->path, mounted);

        /* Nobody may read it (nspawn, machined, our own readers) while it goes. */
        r = lock_exclusive_or_wait(o, "remove it", error);
        if (r != 0)
                return r < 0 ? r : 0;

        if (stat(o->image->path, &a->removed_st) < 0)
                a->removed_st = (struct stat) {};

        /* Deleting a large tree takes a while: in a worker, so that the daemon keeps answering. */
        return operation_start_worker(o, REMOVE_WORKER_COMM, remove_work, remove_done, error);
}

static const OperationType remove_type = {
        .name = "remove image",
        .units_needed = remove_units_needed,
        .finish = remove_finish,
        .free_data = image_arguments_free,
};

int image_operation_remove(Manager *m, sd_bus_message *msg, const Image *image, sd_bus_error *error) {
        ImageArguments *a = image_arguments_new();

        if (!a)
                return -ENOMEM;
        return start(m, msg, &remove_type, a, image, NULL, error);
}

/* --------------------------------------------------------------------------------- read-only */

static int mark_read_only_finish(Operation *o, sd_bus_error *error) {
        ImageArguments *a = o->data;
        const char *what = a->read_only ? "read-only" : "writable";
        int r;

        /* Nobody may read it (nspawn, machined, our own readers) while it changes. */
        r = lock_exclusive_or_wait(o, a->read_only ? "mark it read-only" : "mark it writable", error);
        if (r != 0)
                return r < 0 ? r : 0;

        r = image_mark_read_only(o->image, a->read_only);
        if (r < 0)
                return sd_bus_error_set_errnof(error, r, "Failed to mark image '%s' %s: %m", o->image->path, what);
        log_info("Marked image '%s' %s.", o->image->path, what);
        return sd_bus_reply_method_return(o->request, NULL) < 0 ? -EIO : 0;
}

static const OperationType mark_read_only_type = {
        .name = "mark image read-only",
        .finish = mark_read_only_finish,
        .free_data = image_arguments_free,
};

int image_operation_mark_read_only(Manager *m, sd_bus_message *msg, const Image *image, bool read_only,
                                   sd_bus_error *error) {
        ImageArguments *a = image_arguments_new();

        if (!a)
                return -ENOMEM;
        a->read_only = read_only;
        return start(m, msg, &mark_read_only_type, a, image, NULL, error);
}
