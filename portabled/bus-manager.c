/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "bus-access.h"
#include "bus-image.h"
#include "bus-manager.h"
#include "bus-util.h"
#include "image-name.h"
#include "image-operations.h"
#include "log.h"
#include "portable-bus.h"
#include "portable.h"
#include "pending-upgrade.h"
#include "profile.h"
#include "repair.h"
#include "strv.h"
#include "vpick.h"

/* Every "...Image(s image, ...)" method: read the image argument, acquire the image, and hand the
 * rest of the message to the Image object's implementation. */
typedef int (*ImageMethod)(Manager *m, sd_bus_message *msg, Image *image, sd_bus_error *error);
typedef int (*ImageMethodVariant)(Manager *m, sd_bus_message *msg, Image *image, bool with_extensions,
                                  sd_bus_error *error);

/* Returns 1 with the image, or 0 when the caller's authorization is being checked (see
 * bus-access.h: the handler returns 1, the message comes back). */
static int read_and_acquire_image(sd_bus_message *msg, Manager *m, ImageAccess access, bool peek_extensions,
                                  Image **ret, sd_bus_error *error) {
        _cleanup_strv_free_ char **extensions = NULL;
        const char *name_or_path;
        int r;

        r = sd_bus_message_read(msg, "s", &name_or_path);
        if (r < 0)
                return r;
        /* Extensions named by path are read as root as much as an image named by path. */
        if (peek_extensions && access == IMAGE_ACCESS_INSPECT) {
                r = bus_peek_extensions(msg, "s", &extensions);
                if (r < 0)
                        return r;
        }
        r = bus_image_authorize(m, msg, access, bus_image_access_target(name_or_path, extensions), error);
        if (r <= 0)
                return r;
        r = bus_image_acquire(m, name_or_path, ret, error);
        if (r < 0)
                return r;
        return 1;
}

static int call_with_image(sd_bus_message *msg, Manager *m, sd_bus_error *error, ImageAccess access,
                           ImageMethodVariant fn, bool with_extensions) {
        _cleanup_(image_freep) Image *image = NULL;
        int r;

        r = read_and_acquire_image(msg, m, access, with_extensions, &image, error);
        if (r <= 0)
                return r < 0 ? r : 1;
        return fn(m, msg, image, with_extensions, error);
}

static int call_simple_with_image_peeking(sd_bus_message *msg, Manager *m, sd_bus_error *error, ImageAccess access,
                                          bool peek_extensions, ImageMethod fn) {
        _cleanup_(image_freep) Image *image = NULL;
        int r;

        r = read_and_acquire_image(msg, m, access, peek_extensions, &image, error);
        if (r <= 0)
                return r < 0 ? r : 1;
        return fn(m, msg, image, error);
}

static int call_simple_with_image(sd_bus_message *msg, Manager *m, sd_bus_error *error, ImageAccess access,
                                  ImageMethod fn) {
        return call_simple_with_image_peeking(msg, m, error, access, /* peek_extensions= */ false, fn);
}

static int method_get_image(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        _cleanup_(image_freep) Image *image = NULL;
        _cleanup_free_ char *path = NULL;
        Manager *m = userdata;
        const char *name;
        int r;

        r = sd_bus_message_read(msg, "s", &name);
        if (r < 0)
                return r;
        if (!image_name_is_valid(name))
                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS, "Expected image name, not path in place of '%s'.", name);

        r = bus_image_acquire(m, name, &image, error);
        if (r < 0)
                return r;
        r = bus_image_object_path(image->name, &path);
        if (r < 0)
                return r;
        return sd_bus_reply_method_return(msg, "o", path);
}

static int method_list_images(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        return image_operation_list(userdata, msg, error);
}

/* Ours: the version each image picked from a versioned directory (foo.raw.v/) stands for, so that
 * a listing can show it without asking every image for its path. Images are found as ListImages
 * finds them; those not from a versioned directory are left out. */
static int method_list_image_versions(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_(image_list_done) ImageList list = {};
        Manager *m = userdata;
        int r;

        r = image_discover(&m->host, &list);
        if (r < 0)
                return sd_bus_error_set_errnof(error, r, "Failed to enumerate images: %m");

        r = sd_bus_message_new_method_return(msg, &reply);
        if (r < 0)
                return r;
        r = sd_bus_message_open_container(reply, 'a', "(ss)");
        if (r < 0)
                return r;
        for (size_t i = 0; i < list.n_images; i++) {
                _cleanup_free_ char *version = NULL;

                r = vpick_version_of_entry_path(list.images[i]->path, &version);
                if (r < 0)
                        return r;
                if (r == 0)
                        continue;
                r = sd_bus_message_append(reply, "(ss)", list.images[i]->name, version);
                if (r < 0)
                        return r;
        }
        r = sd_bus_message_close_container(reply);
        if (r < 0)
                return r;
        return sd_bus_send(NULL, reply, NULL);
}

static int method_get_image_os_release(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        return call_simple_with_image(msg, userdata, error, IMAGE_ACCESS_INSPECT, bus_image_common_get_os_release);
}

static int method_get_image_metadata(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        return call_with_image(msg, userdata, error, IMAGE_ACCESS_INSPECT, bus_image_common_get_metadata, false);
}

static int method_get_image_metadata_with_extensions(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        return call_with_image(msg, userdata, error, IMAGE_ACCESS_INSPECT, bus_image_common_get_metadata, true);
}

/* Ours: GetImageMetadataWithExtensions, and which layer each unit came from. */
static int method_get_image_metadata_with_layers(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        return call_simple_with_image_peeking(msg, userdata, error, IMAGE_ACCESS_INSPECT, /* peek_extensions= */ true,
                                              bus_image_common_get_metadata_with_layers);
}

static int method_attach_image(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        return call_with_image(msg, userdata, error, IMAGE_ACCESS_ATTACH, bus_image_common_attach, false);
}

static int method_attach_image_with_extensions(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        return call_with_image(msg, userdata, error, IMAGE_ACCESS_ATTACH, bus_image_common_attach, true);
}

static int method_reattach_image(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        return call_with_image(msg, userdata, error, IMAGE_ACCESS_ATTACH, bus_image_common_reattach, false);
}

static int method_reattach_image_with_extensions(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        return call_with_image(msg, userdata, error, IMAGE_ACCESS_ATTACH, bus_image_common_reattach, true);
}

/* Our extensions: the *WithExtensions arguments and "a{sv} options" (bus-options.h). Extensions
 * named by path are peeked at: they are read as root as much as an image named by path. */
static int method_get_image_metadata_with_options(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        return call_simple_with_image_peeking(msg, userdata, error, IMAGE_ACCESS_INSPECT, /* peek_extensions= */ true,
                                              bus_image_common_get_metadata_with_options);
}

static int method_attach_image_with_options(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        return call_simple_with_image(msg, userdata, error, IMAGE_ACCESS_ATTACH, bus_image_common_attach_with_options);
}

static int method_reattach_image_with_options(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        return call_simple_with_image(msg, userdata, error, IMAGE_ACCESS_ATTACH, bus_image_common_reattach_with_options);
}

static int method_remove_image(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        return call_simple_with_image(msg, userdata, error, IMAGE_ACCESS_MANAGE, bus_image_common_remove);
}

static int method_mark_image_read_only(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        return call_simple_with_image(msg, userdata, error, IMAGE_ACCESS_MANAGE, bus_image_common_mark_read_only);
}

static int method_set_image_limit(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        return call_simple_with_image(msg, userdata, error, IMAGE_ACCESS_MANAGE, bus_image_common_set_limit);
}

/* Detach and state queries match markers by name or path: the image need not exist any more. */
static int with_image_string(sd_bus_message *msg, Manager *m, sd_bus_error *error, ImageAccess access,
                             bool with_extensions,
                             int (*fn)(Manager *, sd_bus_message *, const char *, bool, sd_bus_error *)) {
        const char *name_or_path;
        int r;

        r = sd_bus_message_read(msg, "s", &name_or_path);
        if (r < 0)
                return r;
        r = bus_image_authorize(m, msg, access, name_or_path, error);
        if (r <= 0)
                return r < 0 ? r : 1;
        return fn(m, msg, name_or_path, with_extensions, error);
}

static int method_detach_image(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        return with_image_string(msg, userdata, error, IMAGE_ACCESS_ATTACH, false, bus_common_detach);
}

static int method_detach_image_with_extensions(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        return with_image_string(msg, userdata, error, IMAGE_ACCESS_ATTACH, true, bus_common_detach);
}

static int method_get_image_state(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        return with_image_string(msg, userdata, error, IMAGE_ACCESS_ANY, false, bus_common_get_state);
}

static int method_get_image_state_with_extensions(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        return with_image_string(msg, userdata, error, IMAGE_ACCESS_ANY, true, bus_common_get_state);
}

static int method_set_pool_limit(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        uint64_t limit;
        int r;

        r = bus_image_authorize(userdata, msg, IMAGE_ACCESS_MANAGE, /* name_or_path= */ NULL, error);
        if (r <= 0)
                return r < 0 ? r : 1;

        r = sd_bus_message_read(msg, "t", &limit);
        if (r < 0)
                return r;
        if (limit > INT64_MAX && limit != UINT64_MAX)
                return sd_bus_error_set(error, SD_BUS_ERROR_INVALID_ARGS, "New limit out of range");
        return sd_bus_error_set(error, SD_BUS_ERROR_NOT_SUPPORTED, "Quota is only supported on btrfs.");
}

/* Ours: keeps or abandons the new version a reattach with PORTABLE_FLAG_KEEP_PREVIOUS applied. */
static int method_finish_reattach(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        _cleanup_(portable_changes_done) PortableChanges changes = {};
        _cleanup_(image_freep) Image *found = NULL;
        Manager *m = userdata;
        const char *image, *path;
        int keep, r;

        r = sd_bus_message_read(msg, "sb", &image, &keep);
        if (r < 0)
                return r;
        r = bus_image_authorize(m, msg, IMAGE_ACCESS_ATTACH, image, error);
        if (r <= 0)
                return r < 0 ? r : 1;

        /* The upgrade waits under the path of the image; the client names the image as it did
         * for ReattachImage, which may be by name. */
        path = image;
        if (image_name_is_valid(image) && image_acquire(&m->host, image, &found) >= 0)
                path = found->path;

        r = pending_upgrade_finish(m, path, image, sd_bus_message_get_sender(msg), keep, &changes, error);
        if (r < 0)
                return bus_error_from_errno(error, r, "Failed to finish the upgrade");
        return bus_reply_changes(msg, &changes);
}

/* Ours, not systemd's: removes what interrupted operations left behind (src/repair.h). */
static int method_repair_attachments(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        _cleanup_(portable_changes_done) PortableChanges changes = {};
        Manager *m = userdata;
        uint64_t flags;
        int r;

        r = bus_image_authorize(m, msg, IMAGE_ACCESS_ATTACH, /* name_or_path= */ NULL, error);
        if (r <= 0)
                return r < 0 ? r : 1;

        r = sd_bus_message_read(msg, "t", &flags);
        if (r < 0)
                return r;
        if (flags & ~PORTABLE_REPAIR_DRY_RUN)
                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS, "Invalid 'flags' parameter '%llu'",
                                         (unsigned long long) flags);

        /* Repair removes what copies cut short left: not one that is being made. */
        if (image_operation_copying(m, NULL))
                return sd_bus_error_set_errnof(error, EBUSY,
                                               "An image is being copied for --copy=mixed; try again once it is attached.");
        /* Nor what an interrupted transaction left: a waiting upgrade's journal looks just like
         * one, and rolling it back here would have its end undo it a second time. */
        if (m->pending_upgrades)
                return sd_bus_error_set_errnof(error, EBUSY,
                                               "An upgrade is being verified; try again once it is kept or rolled back.");
        r = portable_repair(&m->host, flags & PORTABLE_REPAIR_DRY_RUN, &changes, error);
        if (r < 0)
                return bus_error_from_errno(error, r, "Failed to repair");
        if (!(flags & PORTABLE_REPAIR_DRY_RUN) && changes.n > 0)
                log_notice("Repair removed %zu leftovers of interrupted operations.", changes.n);
        return bus_reply_changes(msg, &changes);
}

static int property_get_pool_path(sd_bus *bus, const char *path, const char *interface, const char *property,
                                  sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        Manager *m = userdata;
        _cleanup_free_ char *p = host_path(&m->host, HOST_POOL_DIR);

        if (!p)
                return -ENOMEM;
        return sd_bus_message_append(reply, "s", p);
}

static int property_get_pool_size(sd_bus *bus, const char *path, const char *interface, const char *property,
                                  sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        /* Usage and limit come from btrfs quota groups, which we do not manage. */
        return sd_bus_message_append(reply, "t", UINT64_MAX);
}

static int property_get_profiles(sd_bus *bus, const char *path, const char *interface, const char *property,
                                 sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        _cleanup_strv_free_ char **profiles = NULL;
        Manager *m = userdata;
        int r;

        r = profile_list(&m->host, &profiles);
        if (r < 0)
                return r;
        return sd_bus_message_append_strv(reply, profiles);
}

static const sd_bus_vtable manager_vtable[] = {
        SD_BUS_VTABLE_START(0),
        SD_BUS_PROPERTY("PoolPath", "s", property_get_pool_path, 0, 0),
        SD_BUS_PROPERTY("PoolUsage", "t", property_get_pool_size, 0, 0),
        SD_BUS_PROPERTY("PoolLimit", "t", property_get_pool_size, 0, 0),
        SD_BUS_PROPERTY("Profiles", "as", property_get_profiles, 0, 0),
        SD_BUS_METHOD_WITH_ARGS("GetImage", SD_BUS_ARGS("s", image), SD_BUS_RESULT("o", object),
                                method_get_image, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("ListImages", SD_BUS_NO_ARGS, SD_BUS_RESULT("a(ssbtttso)", images),
                                method_list_images, SD_BUS_VTABLE_UNPRIVILEGED),
        /* Ours, not systemd's: the versions picked from versioned directories. */
        SD_BUS_METHOD_WITH_ARGS("ListImageVersions", SD_BUS_NO_ARGS, SD_BUS_RESULT("a(ss)", versions),
                                method_list_image_versions, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("GetImageOSRelease", SD_BUS_ARGS("s", image), SD_BUS_RESULT("a{ss}", os_release),
                                method_get_image_os_release, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("GetImageMetadata", SD_BUS_ARGS("s", image, "as", matches),
                                SD_BUS_RESULT("s", image, "ay", os_release, "a{say}", units),
                                method_get_image_metadata, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("GetImageMetadataWithExtensions",
                                SD_BUS_ARGS("s", image, "as", extensions, "as", matches, "t", flags),
                                SD_BUS_RESULT("s", image, "ay", os_release, "a{say}", extensions, "a{say}", units),
                                method_get_image_metadata_with_extensions, SD_BUS_VTABLE_UNPRIVILEGED),
        /* Ours, not systemd's: which layer of the stack each unit came from, too. */
        SD_BUS_METHOD_WITH_ARGS("GetImageMetadataWithLayers",
                                SD_BUS_ARGS("s", image, "as", extensions, "as", matches, "t", flags),
                                SD_BUS_RESULT("s", image, "ay", os_release, "a{say}", extensions, "a{say}", units,
                                              "a{ss}", unit_layers),
                                method_get_image_metadata_with_layers, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("GetImageState", SD_BUS_ARGS("s", image), SD_BUS_RESULT("s", state),
                                method_get_image_state, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("GetImageStateWithExtensions", SD_BUS_ARGS("s", image, "as", extensions, "t", flags),
                                SD_BUS_RESULT("s", state), method_get_image_state_with_extensions,
                                SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("AttachImage",
                                SD_BUS_ARGS("s", image, "as", matches, "s", profile, "b", runtime, "s", copy_mode),
                                SD_BUS_RESULT("a(sss)", changes), method_attach_image,
                                SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("AttachImageWithExtensions",
                                SD_BUS_ARGS("s", image, "as", extensions, "as", matches, "s", profile, "s", copy_mode,
                                            "t", flags),
                                SD_BUS_RESULT("a(sss)", changes), method_attach_image_with_extensions,
                                SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("DetachImage", SD_BUS_ARGS("s", image, "b", runtime), SD_BUS_RESULT("a(sss)", changes),
                                method_detach_image, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("DetachImageWithExtensions", SD_BUS_ARGS("s", image, "as", extensions, "t", flags),
                                SD_BUS_RESULT("a(sss)", changes), method_detach_image_with_extensions,
                                SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("ReattachImage",
                                SD_BUS_ARGS("s", image, "as", matches, "s", profile, "b", runtime, "s", copy_mode),
                                SD_BUS_RESULT("a(sss)", changes_removed, "a(sss)", changes_updated),
                                method_reattach_image, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("ReattachImageWithExtensions",
                                SD_BUS_ARGS("s", image, "as", extensions, "as", matches, "s", profile, "s", copy_mode,
                                            "t", flags),
                                SD_BUS_RESULT("a(sss)", changes_removed, "a(sss)", changes_updated),
                                method_reattach_image_with_extensions, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("RemoveImage", SD_BUS_ARGS("s", image), SD_BUS_NO_RESULT, method_remove_image,
                                SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("MarkImageReadOnly", SD_BUS_ARGS("s", image, "b", read_only), SD_BUS_NO_RESULT,
                                method_mark_image_read_only, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("SetImageLimit", SD_BUS_ARGS("s", image, "t", limit), SD_BUS_NO_RESULT,
                                method_set_image_limit, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("SetPoolLimit", SD_BUS_ARGS("t", limit), SD_BUS_NO_RESULT, method_set_pool_limit,
                                SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("FinishReattach", SD_BUS_ARGS("s", image, "b", keep), SD_BUS_RESULT("a(sss)", changes),
                                method_finish_reattach, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("RepairAttachments", SD_BUS_ARGS("t", flags), SD_BUS_RESULT("a(sss)", changes),
                                method_repair_attachments, SD_BUS_VTABLE_UNPRIVILEGED),
        /* Ours, not systemd's: see portabled(8), "Extensions of the interface". */
        SD_BUS_METHOD_WITH_ARGS("GetImageMetadataWithOptions",
                                SD_BUS_ARGS("s", image, "as", extensions, "as", matches, "t", flags, "a{sv}", options),
                                SD_BUS_RESULT("s", image, "ay", os_release, "a{say}", extensions, "a{say}", units,
                                              "a{ss}", unit_layers, "a{sv}", details),
                                method_get_image_metadata_with_options, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("AttachImageWithOptions",
                                SD_BUS_ARGS("s", image, "as", extensions, "as", matches, "s", profile, "s", copy_mode,
                                            "t", flags, "a{sv}", options),
                                SD_BUS_RESULT("a(sss)", changes), method_attach_image_with_options,
                                SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("ReattachImageWithOptions",
                                SD_BUS_ARGS("s", image, "as", extensions, "as", matches, "s", profile, "s", copy_mode,
                                            "t", flags, "a{sv}", options),
                                SD_BUS_RESULT("a(sss)", changes_removed, "a(sss)", changes_updated),
                                method_reattach_image_with_options, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_VTABLE_END
};

int bus_manager_register(Manager *m) {
        int r;

        r = sd_bus_add_object_vtable(m->bus, NULL, PORTABLE_BUS_PATH, PORTABLE_BUS_MANAGER_INTERFACE, manager_vtable, m);
        if (r < 0)
                return log_error_errno(r, "Failed to register manager object: %m");
        return 0;
}
