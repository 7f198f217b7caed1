/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "attached-index.h"
#include "bus-util.h"
#include "fd-util.h"
#include "image-lock.h"
#include "image-ops.h"
#include "image-operations.h"
#include "image-policy.h"
#include "image-read.h"
#include "log.h"
#include "operation.h"
#include "pending-upgrade.h"
#include "path-util.h"
#include "portable.h"
#include "unit-match.h"
#include "strv.h"

/* ------------------------------------------------------------------------------- arguments */

typedef struct ImageArguments {
        char **matches;
        char *profile;
        char *name_or_path;
        PortableFlags flags;
        bool os_release_only;
        bool with_extensions;
        bool reattach;
        bool details;              /* inspect: reply with the layout too */
        char **image_policies;     /* the daemon's and the caller's */
        int lock_fds[IMAGE_LOCKS]; /* exclusive locks of remove */
        struct stat removed_st;    /* remove: the image file, for the verity cache */
} ImageArguments;

static void image_arguments_free(void *p) {
        ImageArguments *a = p;

        if (!a)
                return;
        strv_free(a->matches);
        strv_free(a->image_policies);
        free(a->profile);
        free(a->name_or_path);
        for (size_t i = 0; i < IMAGE_LOCKS; i++)
                image_lock_release(a->lock_fds[i]);
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
        a->details = options && options->details;
        return 0;
}

/* Starts an operation, and turns the outcome into what a method handler returns. */
static int start(Manager *m, sd_bus_message *msg, const OperationType *type, ImageArguments *a, const Image *image,
                 const ImageReadRequest *read, sd_bus_error *error) {
        ImageReadRequest request;
        Image *copy = NULL;
        int r;

        if (read) {
                /* What the daemon keeps for every read: its cache, its policy, its host's keys. */
                request = *read;
                request.image_policies = a->image_policies;
                request.verity_cache = m->verity_cache;
                request.trust_root = m->host.root;
                read = &request;
        }

        if (image) {
                r = image_copy(image, &copy);
                if (r < 0) {
                        image_arguments_free(a);
                        return r;
                }
        }
        r = operation_start(m, msg, type, a, copy, read, error);
        if (r < 0)
                return bus_error_from_errno(error, r, "Failed to start the operation");
        return 1;
}

/* The units of the attachment an argument names, in the directories flags select. */
static int attached_units(Operation *o, const char *name_or_path, int runtime, char ***ret) {
        _cleanup_(attached_index_done) AttachedIndex idx = {};
        int r;

        r = attached_index_load(&o->manager->host, &idx);
        if (r < 0)
                return r;
        return attached_index_units(&idx, name_or_path, /* extensions= */ NULL, runtime, ret);
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

/* Our a{sv} of details (portabled(8)): for raw images the partitions and the pinned policy. */
static int append_details(sd_bus_message *reply, const ImageLayout *layout) {
        int r;

        r = sd_bus_message_open_container(reply, 'a', "{sv}");
        if (r < 0 || !layout)
                return r < 0 ? r : sd_bus_message_close_container(reply);

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
        if (r < 0)
                return r;
        return sd_bus_message_close_container(reply);
}

static int inspect_finish(Operation *o, sd_bus_error *error) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        ImageArguments *a = o->data;
        const PortableMetadata *md = o->metadata;
        int r;

        if (a->os_release_only)
                return reply_os_release(o);

        if (md->n_units == 0)
                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                                         "Couldn't find any matching unit files in image '%s', refusing.", o->image->path);

        r = sd_bus_message_new_method_return(o->request, &reply);
        if (r < 0)
                return r;
        r = sd_bus_message_append(reply, "s", o->image->path);
        if (r < 0)
                return r;
        r = sd_bus_message_append_array(reply, 'y', md->os_release.data, md->os_release.size);
        if (r < 0)
                return r;
        if (a->with_extensions) {
                r = sd_bus_message_append(reply, "a{say}", 0);
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
        if (a->details) {
                r = append_details(reply, md->layout);
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

int image_operation_inspect(Manager *m, sd_bus_message *msg, const Image *image, char **matches, bool os_release_only,
                            bool with_extensions, const ImageCallOptions *options, sd_bus_error *error) {
        ImageArguments *a = image_arguments_new();
        ImageReadRequest read;

        if (!a) {
                strv_free(matches);
                return -ENOMEM;
        }
        a->matches = matches;
        a->os_release_only = os_release_only;
        a->with_extensions = with_extensions;
        if (collect_image_policies(m, a, options) < 0) {
                image_arguments_free(a);
                return -ENOMEM;
        }
        read = (ImageReadRequest) { .matches = os_release_only ? image_read_no_units : a->matches };
        return start(m, msg, &inspect_type, a, image, &read, error);
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

/* The unit names a change list touches: what a rollback on our own restarts. */
static int changed_units(const PortableChanges *c, char ***ret) {
        _cleanup_strv_free_ char **units = NULL;
        int r;

        for (size_t i = 0; i < c->n; i++) {
                const char *name = path_last_component(c->items[i].path);

                if (!unit_name_is_valid(name, UNIT_NAME_PLAIN) || !unit_name_is_portable_type(name))
                        continue;
                r = strv_extend_unique(&units, name);
                if (r < 0)
                        return r;
        }
        *ret = TAKE_PTR(units);
        return 0;
}

/* Reattach that keeps the previous version until the client confirms (pending-upgrade.h). */
static int reattach_keeping_previous(Operation *o, PortableChanges *removed, PortableChanges *updated,
                                     sd_bus_error *error) {
        _cleanup_(transaction_done) Transaction t = {};
        _cleanup_strv_free_ char **units = NULL;
        ImageArguments *a = o->data;
        int r;

        r = portable_reattach_uncommitted(&t, &o->manager->host, o->image, o->metadata, a->matches, a->profile,
                                          a->flags, removed, updated, error);
        if (r < 0)
                return r;
        r = changed_units(removed, &units);
        if (r >= 0)
                r = changed_units(updated, &units);
        if (r >= 0)
                r = pending_upgrade_add(o->manager, o->request, o->image->path, &t, units);
        if (r < 0) {
                transaction_abort(&t);
                return r;
        }
        TAKE_PTR(units);
        return 0;
}

static int refuse_if_upgrading(Manager *m, const char *name_or_path, sd_bus_error *error) {
        if (!pending_upgrade_blocks(m, name_or_path))
                return 0;
        return sd_bus_error_set_errnof(error, EBUSY,
                                       "An upgrade of '%s' is being verified; try again once it is kept or rolled back.",
                                       name_or_path);
}

static int attach_finish(Operation *o, sd_bus_error *error) {
        _cleanup_(portable_changes_done) PortableChanges removed = {}, updated = {};
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        ImageArguments *a = o->data;
        Host *host = &o->manager->host;
        int r;

        r = refuse_if_upgrading(o->manager, o->image->path, error);
        if (r < 0)
                return r;

        if (a->reattach && (a->flags & PORTABLE_KEEP_PREVIOUS))
                r = reattach_keeping_previous(o, &removed, &updated, error);
        else if (a->reattach)
                r = portable_reattach(host, o->image, o->metadata, a->matches, a->profile, a->flags, &removed, &updated,
                                      error);
        else
                r = portable_attach(host, o->image, o->metadata, a->matches, a->profile, a->flags, &updated, error);
        if (r == -EAGAIN)
                return r; /* a unit not asked about yet: ask, then try again */
        if (r < 0)
                return bus_error_from_errno(error, r, a->reattach ? "Failed to reattach image" : "Failed to attach image");

        log_info("%s image '%s'%s%s%s.", a->reattach ? "Reattached" : "Attached", o->image->path,
                 isempty(a->profile) ? "" : " with profile '", strempty(a->profile), isempty(a->profile) ? "" : "'");

        r = sd_bus_message_new_method_return(o->request, &reply);
        if (r >= 0 && a->reattach)
                r = bus_append_changes(reply, &removed);
        if (r >= 0)
                r = bus_append_changes(reply, &updated);
        if (r >= 0)
                r = sd_bus_send(NULL, reply, NULL);
        return r < 0 ? r : 0;
}

static const OperationType attach_type = {
        .name = "attach image",
        .units_needed = attach_units_needed,
        .finish = attach_finish,
        .free_data = image_arguments_free,
};

int image_operation_attach(Manager *m, sd_bus_message *msg, const Image *image, char **matches, const char *profile,
                           PortableFlags flags, bool reattach, const ImageCallOptions *options, sd_bus_error *error) {
        _cleanup_strv_free_ char **check_paths = NULL;
        ImageArguments *a = image_arguments_new();
        ImageReadRequest read;
        int r;

        if (!a) {
                strv_free(matches);
                return -ENOMEM;
        }
        a->matches = matches;
        a->flags = flags;
        a->reattach = reattach;
        a->profile = strdup(strempty(profile));
        if (!a->profile || collect_image_policies(m, a, options) < 0) {
                image_arguments_free(a);
                return -ENOMEM;
        }

        /* The profile is checked before the image is read, and says which paths to look for. */
        r = portable_attach_prepare(&m->host, a->profile, &check_paths, error);
        if (r < 0) {
                image_arguments_free(a);
                return bus_error_from_errno(error, r, "Failed to attach image");
        }

        read = (ImageReadRequest) { .matches = a->matches, .check_paths = check_paths };
        return start(m, msg, &attach_type, a, image, &read, error);
}

/* ---------------------------------------------------------------------------------- detach */

static int detach_units_needed(Operation *o, char ***ret) {
        ImageArguments *a = o->data;

        if (a->flags & PORTABLE_FORCE_ATTACH) {
                *ret = NULL;
                return 0;
        }
        return attached_units(o, a->name_or_path, !!(a->flags & PORTABLE_RUNTIME), ret);
}

static int detach_finish(Operation *o, sd_bus_error *error) {
        _cleanup_(portable_changes_done) PortableChanges changes = {};
        ImageArguments *a = o->data;
        int r;

        r = refuse_if_upgrading(o->manager, a->name_or_path, error);
        if (r < 0)
                return r;

        r = portable_detach(&o->manager->host, a->name_or_path, a->flags, &changes, error);
        if (r == -EAGAIN)
                return r;
        if (r < 0)
                return bus_error_from_errno(error, r, "Failed to detach image");

        log_info("Detached image '%s'.", a->name_or_path);
        r = bus_reply_changes(o->request, &changes);
        return r < 0 ? r : 0;
}

static const OperationType detach_type = {
        .name = "detach image",
        .units_needed = detach_units_needed,
        .finish = detach_finish,
        .free_data = image_arguments_free,
};

int image_operation_detach(Manager *m, sd_bus_message *msg, const char *name_or_path, PortableFlags flags,
                           sd_bus_error *error) {
        ImageArguments *a = image_arguments_new();

        if (!a)
                return -ENOMEM;
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

        return attached_units(o, a->name_or_path, /* runtime= */ -1, ret);
}

static int state_finish(Operation *o, sd_bus_error *error) {
        ImageArguments *a = o->data;
        PortableState state;
        int r;

        r = portable_get_state(&o->manager->host, a->name_or_path, &state);
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

int image_operation_state(Manager *m, sd_bus_message *msg, const char *name_or_path, sd_bus_error *error) {
        ImageArguments *a = image_arguments_new();

        if (!a)
                return -ENOMEM;
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

        r = attached_index_load(&o->manager->host, &idx);
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

                r = attached_index_state(&idx, host, image->path, /* extensions= */ NULL, &state);
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

/* ---------------------------------------------------------------------------------- remove */

static int remove_units_needed(Operation *o, char ***ret) {
        return attached_units(o, o->image->path, /* runtime= */ -1, ret);
}

static int remove_done(Operation *o, int status, sd_bus_error *error) {
        ImageArguments *a = o->data;

        if (!WIFEXITED(status))
                return sd_bus_error_setf(error, SD_BUS_ERROR_FAILED, "Removing image '%s' failed: the worker died.",
                                         o->image->path);
        if (WEXITSTATUS(status) != 0)
                return sd_bus_error_set_errnof(error, WEXITSTATUS(status), "Failed to remove image '%s': %m",
                                               o->image->path);

        log_info("Removed image '%s'.", o->image->path);
        if (S_ISREG(a->removed_st.st_mode))
                verity_cache_forget(o->manager->verity_cache, a->removed_st.st_dev, a->removed_st.st_ino);
        return sd_bus_reply_method_return(o->request, NULL) < 0 ? -EIO : 0;
}

static int remove_finish(Operation *o, sd_bus_error *error) {
        ImageArguments *a = o->data;
        PortableState state;
        pid_t pid;
        int r, pidfd;

        r = portable_get_state(&o->manager->host, o->image->path, &state);
        if (r == -EAGAIN)
                return r;
        if (r < 0)
                return bus_error_from_errno(error, r, "Failed to determine image state");
        if (state != PORTABLE_DETACHED)
                return sd_bus_error_set_errnof(error, EBUSY, "Image '%s' is not detached, refusing.", o->image->path);

        /* Nobody may read it (nspawn, machined, our own readers) while it goes. */
        r = image_lock_acquire(&o->manager->host, o->image->path, /* exclusive= */ true, a->lock_fds, error);
        if (r < 0)
                return r;

        if (stat(o->image->path, &a->removed_st) < 0)
                a->removed_st = (struct stat) {};

        /* Deleting a large tree takes a while: in a worker, so that the daemon keeps answering. */
        pid = fork();
        if (pid < 0)
                return -errno;
        if (pid == 0) {
                (void) prctl(PR_SET_PDEATHSIG, SIGKILL);
                r = image_remove(o->image);
                _exit(r < 0 ? (-r & 0xff) : 0);
        }
        pidfd = (int) syscall(SYS_pidfd_open, pid, 0);
        if (pidfd < 0) {
                r = -errno;
                (void) kill(pid, SIGKILL);
                (void) waitpid(pid, NULL, 0);
                return r;
        }
        return operation_wait_for_worker(o, pidfd, remove_done);
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
