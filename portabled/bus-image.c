/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "bus-access.h"
#include "bus-image.h"
#include "bus-options.h"
#include "bus-util.h"
#include "image-name.h"
#include "image-operations.h"
#include "image-ops.h"
#include "log.h"
#include "portable-bus.h"
#include "portable-limits.h"
#include "portable.h"
#include "profile.h"
#include "strv.h"

/* Before anything is read. On failure the extensions are freed. */
static int check_distinct(const Image *image, Image **extensions, size_t n_extensions, sd_bus_error *error) {
        const PortableStack stack = {
                .image = image,
                .extensions = (const Image * const *) extensions,
                .n_extensions = n_extensions,
        };
        int r;

        r = portable_stack_check_distinct(&stack, error);
        if (r < 0) {
                for (size_t i = 0; i < n_extensions; i++)
                        image_free(extensions[i]);
                free(extensions);
        }
        return r;
}

int bus_image_common_get_os_release(Manager *m, sd_bus_message *msg, Image *image, sd_bus_error *error) {
        return image_operation_inspect(m, msg, image, NULL, 0, NULL, INSPECT_OS_RELEASE, 0, /* options= */ NULL, error);
}

/* INSPECT_WITH_DETAILS: the *WithExtensions arguments, then "a{sv} options" (bus-options.h). */
static int get_metadata(Manager *m, sd_bus_message *msg, Image *image, InspectReply reply, sd_bus_error *error) {
        _cleanup_strv_free_ char **matches = NULL, **extensions = NULL;
        _cleanup_(image_call_options_done) ImageCallOptions options = {};
        Image **images = NULL;
        size_t n_images = 0;
        PortableFlags flags = 0;
        int r;

        if (reply >= INSPECT_WITH_EXTENSIONS) {
                r = bus_read_extensions(msg, &extensions, error);
                if (r < 0)
                        return r;
        }
        r = sd_bus_message_read_strv(msg, &matches);
        if (r < 0)
                return r;
        if (reply >= INSPECT_WITH_EXTENSIONS) {
                /* Only FORCE_EXTENSION matters here; the other public flags are accepted. */
                r = bus_read_flags(msg, PORTABLE_FLAGS_PUBLIC, &flags, error);
                if (r < 0)
                        return r;
        }

        if (reply == INSPECT_WITH_DETAILS) {
                r = bus_read_call_options(msg, /* inspect= */ true, &options, error);
                if (r < 0)
                        return r;
        }

        r = bus_acquire_extensions(m, extensions, &images, &n_images, error);
        if (r < 0)
                return r;
        r = check_distinct(image, images, n_images, error);
        if (r < 0)
                return r;

        return image_operation_inspect(m, msg, image, images, n_images, TAKE_PTR(matches), reply,
                                       flags & PORTABLE_FORCE_EXTENSION,
                                       reply == INSPECT_WITH_DETAILS ? &options : NULL, error);
}

int bus_image_common_get_metadata(Manager *m, sd_bus_message *msg, Image *image, bool with_extensions,
                                  sd_bus_error *error) {
        return get_metadata(m, msg, image, with_extensions ? INSPECT_WITH_EXTENSIONS : INSPECT_METADATA, error);
}

int bus_image_common_get_metadata_with_options(Manager *m, sd_bus_message *msg, Image *image, sd_bus_error *error) {
        return get_metadata(m, msg, image, INSPECT_WITH_DETAILS, error);
}

int bus_image_common_get_metadata_with_layers(Manager *m, sd_bus_message *msg, Image *image, sd_bus_error *error) {
        return get_metadata(m, msg, image, INSPECT_WITH_LAYERS, error);
}

/* Reads the attach-style arguments: "as matches, s profile, b runtime, s copy_mode" or, for the
 * *WithExtensions variants, "as extensions, as matches, s profile, s copy_mode, t flags". */
static int read_attach_arguments(Manager *m, sd_bus_message *msg, bool with_extensions, bool reattach,
                                 Image ***ret_extensions, size_t *ret_n_extensions, char ***ret_matches,
                                 const char **ret_profile, PortableFlags *ret_flags, sd_bus_error *error) {
        _cleanup_strv_free_ char **matches = NULL, **extensions = NULL;
        const char *profile, *copy_mode;
        PortableFlags flags = 0, mode_flags;
        int r;

        if (with_extensions) {
                r = bus_read_extensions(msg, &extensions, error);
                if (r < 0)
                        return r;
        }

        r = sd_bus_message_read_strv(msg, &matches);
        if (r < 0)
                return r;

        if (with_extensions) {
                uint64_t wire_flags, allowed = PORTABLE_FLAGS_PUBLIC | PORTABLE_FLAG_DRY_RUN |
                                               (reattach ? PORTABLE_FLAG_KEEP_PREVIOUS : 0);

                r = sd_bus_message_read(msg, "sst", &profile, &copy_mode, &wire_flags);
                if (r < 0)
                        return r;
                if (wire_flags & ~allowed)
                        return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS, "Invalid 'flags' parameter '%llu'",
                                                 (unsigned long long) wire_flags);
                flags = (PortableFlags) (wire_flags & PORTABLE_FLAGS_PUBLIC);
                SET_FLAG(flags, PORTABLE_KEEP_PREVIOUS, wire_flags & PORTABLE_FLAG_KEEP_PREVIOUS);
                SET_FLAG(flags, PORTABLE_DRY_RUN, wire_flags & PORTABLE_FLAG_DRY_RUN);
                if ((flags & PORTABLE_KEEP_PREVIOUS) && (flags & PORTABLE_DRY_RUN))
                        return sd_bus_error_set(error, SD_BUS_ERROR_INVALID_ARGS,
                                                "A dry run keeps nothing: PORTABLE_FLAG_KEEP_PREVIOUS and PORTABLE_FLAG_DRY_RUN exclude each other.");
        } else {
                int runtime;

                r = sd_bus_message_read(msg, "sbs", &profile, &runtime, &copy_mode);
                if (r < 0)
                        return r;
                SET_FLAG(flags, PORTABLE_RUNTIME, runtime);
        }

        r = bus_parse_copy_mode(copy_mode, &mode_flags, error);
        if (r < 0)
                return r;
        /* The copy replaces the link once the transaction is committed; kept for the client's
         * word, it is committed only when the client says so, with nobody left to wait for a copy. */
        if ((flags & PORTABLE_KEEP_PREVIOUS) && (mode_flags & PORTABLE_MIXED_COPY))
                return sd_bus_error_set(error, SD_BUS_ERROR_INVALID_ARGS,
                                        "Copy mode 'mixed' and PORTABLE_FLAG_KEEP_PREVIOUS exclude each other.");

        STRV_FOREACH(match, matches)
                if (!image_name_is_valid(*match))
                        return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS, "Unit prefix '%s' is not valid.", *match);

        /* Last: nothing to free on the way out above. */
        r = bus_acquire_extensions(m, extensions, ret_extensions, ret_n_extensions, error);
        if (r < 0)
                return r;

        *ret_matches = TAKE_PTR(matches);
        *ret_profile = profile;
        *ret_flags = flags | mode_flags;
        return 0;
}

/* with_options: the *WithExtensions arguments, then "a{sv} options" (bus-options.h). */
static int attach_or_reattach(Manager *m, sd_bus_message *msg, Image *image, bool with_extensions, bool with_options,
                              bool reattach, sd_bus_error *error) {
        _cleanup_strv_free_ char **matches = NULL;
        _cleanup_(image_call_options_done) ImageCallOptions options = {};
        const char *profile = NULL;
        PortableFlags flags = 0;
        Image **extensions = NULL;
        size_t n_extensions = 0;
        int r;

        r = read_attach_arguments(m, msg, with_extensions || with_options, reattach, &extensions, &n_extensions,
                                  &matches, &profile, &flags, error);
        if (r < 0)
                return r;
        r = check_distinct(image, extensions, n_extensions, error);
        if (r < 0)
                return r;
        /* The methods systemd's daemon has too take profile names only, as systemd's do: a client
         * that can send a path must know it is talking to us. */
        if (!with_options && profile_is_path(profile)) {
                for (size_t i = 0; i < n_extensions; i++)
                        image_free(extensions[i]);
                free(extensions);
                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                                         "Profile '%s' is not a profile name (a profile path is only accepted by "
                                         "AttachImageWithOptions and ReattachImageWithOptions).", profile);
        }
        if (with_options) {
                r = bus_read_call_options(msg, /* inspect= */ false, &options, error);
                if (r < 0) {
                        for (size_t i = 0; i < n_extensions; i++)
                                image_free(extensions[i]);
                        free(extensions);
                        return r;
                }
        }
        return image_operation_attach(m, msg, image, extensions, n_extensions, TAKE_PTR(matches), profile, flags,
                                      reattach, with_options ? &options : NULL, error);
}

int bus_image_common_attach(Manager *m, sd_bus_message *msg, Image *image, bool with_extensions, sd_bus_error *error) {
        return attach_or_reattach(m, msg, image, with_extensions, /* with_options= */ false, /* reattach= */ false, error);
}

int bus_image_common_reattach(Manager *m, sd_bus_message *msg, Image *image, bool with_extensions,
                              sd_bus_error *error) {
        return attach_or_reattach(m, msg, image, with_extensions, /* with_options= */ false, /* reattach= */ true, error);
}

int bus_image_common_attach_with_options(Manager *m, sd_bus_message *msg, Image *image, sd_bus_error *error) {
        return attach_or_reattach(m, msg, image, true, /* with_options= */ true, /* reattach= */ false, error);
}

int bus_image_common_reattach_with_options(Manager *m, sd_bus_message *msg, Image *image, sd_bus_error *error) {
        return attach_or_reattach(m, msg, image, true, /* with_options= */ true, /* reattach= */ true, error);
}

int bus_common_detach(Manager *m, sd_bus_message *msg, const char *name_or_path, bool with_extensions,
                      sd_bus_error *error) {
        _cleanup_strv_free_ char **extensions = NULL;
        PortableFlags flags = 0;
        int r;

        if (with_extensions) {
                /* Names or paths: they need not exist any more, only match the markers. */
                r = bus_read_extensions(msg, &extensions, error);
                if (r < 0)
                        return r;
                r = bus_read_flags(msg, PORTABLE_FLAGS_PUBLIC | PORTABLE_FLAG_DRY_RUN, &flags, error);
                if (r < 0)
                        return r;
        } else {
                int runtime;

                r = sd_bus_message_read(msg, "b", &runtime);
                if (r < 0)
                        return r;
                SET_FLAG(flags, PORTABLE_RUNTIME, runtime);
        }

        r = bus_validate_image_argument(name_or_path, error);
        if (r < 0)
                return r;

        return image_operation_detach(m, msg, name_or_path, TAKE_PTR(extensions), flags, error);
}

int bus_common_get_state(Manager *m, sd_bus_message *msg, const char *name_or_path, bool with_extensions,
                         sd_bus_error *error) {
        _cleanup_strv_free_ char **extensions = NULL;
        int r;

        if (with_extensions) {
                PortableFlags flags;

                r = bus_read_extensions(msg, &extensions, error);
                if (r < 0)
                        return r;
                /* State queries take no flags at all. */
                r = bus_read_flags(msg, 0, &flags, error);
                if (r < 0)
                        return r;
        }

        r = bus_validate_image_argument(name_or_path, error);
        if (r < 0)
                return r;

        return image_operation_state(m, msg, name_or_path, TAKE_PTR(extensions), error);
}

int bus_image_common_remove(Manager *m, sd_bus_message *msg, Image *image, sd_bus_error *error) {
        return image_operation_remove(m, msg, image, error);
}

int bus_image_common_mark_read_only(Manager *m, sd_bus_message *msg, Image *image, sd_bus_error *error) {
        int read_only, r;

        r = sd_bus_message_read(msg, "b", &read_only);
        if (r < 0)
                return r;
        return image_operation_mark_read_only(m, msg, image, read_only, error);
}

int bus_image_common_set_limit(Manager *m, sd_bus_message *msg, Image *image, sd_bus_error *error) {
        uint64_t limit;
        int r;

        r = sd_bus_message_read(msg, "t", &limit);
        if (r < 0)
                return r;
        if (limit > INT64_MAX && limit != UINT64_MAX)
                return sd_bus_error_set(error, SD_BUS_ERROR_INVALID_ARGS, "New limit out of range");

        /* Limits are btrfs quota groups; we do not manage btrfs quotas. */
        return sd_bus_error_setf(error, SD_BUS_ERROR_NOT_SUPPORTED,
                                 "Image '%s': size limits are only supported on btrfs subvolumes, which are not supported yet.",
                                 image->path);
}

/* Image object methods: userdata is the Image the find callback looked up. The object names the
 * image by its name, so reading it is open to everyone. */

/* Reading an image by name is open to everyone, but extensions named by path are read as root
 * too: for those, the caller needs the same authorization as for an image named by path. */
static int image_authorize(Manager *m, sd_bus_message *msg, ImageAccess access, const Image *image,
                           bool peek_extensions, sd_bus_error *error) {
        _cleanup_strv_free_ char **extensions = NULL;
        int r;

        if (peek_extensions && access == IMAGE_ACCESS_INSPECT) {
                r = bus_peek_extensions(msg, /* skip= */ NULL, &extensions);
                if (r < 0)
                        return r;
        }
        return bus_image_authorize(m, msg, access, bus_image_access_target(image->name, extensions), error);
}

#define IMAGE_METHOD_FULL(fn, access, peek_extensions, call)                                            \
        static int fn(sd_bus_message *msg, void *userdata, sd_bus_error *error) {                       \
                Image *image = userdata;                                                                \
                Manager *m = sd_bus_slot_get_userdata(sd_bus_get_current_slot(sd_bus_message_get_bus(msg)));              \
                int r = image_authorize(m, msg, access, image, peek_extensions, error);                 \
                if (r <= 0) /* 0: polkit was asked, msg comes back */                                   \
                        return r < 0 ? r : 1;                                                           \
                return call;                                                                            \
        }
#define IMAGE_METHOD(fn, access, call) IMAGE_METHOD_FULL(fn, access, false, call)

IMAGE_METHOD(method_get_os_release, IMAGE_ACCESS_INSPECT,
             bus_image_common_get_os_release(m, msg, image, error))
IMAGE_METHOD(method_get_metadata, IMAGE_ACCESS_INSPECT,
             bus_image_common_get_metadata(m, msg, image, false, error))
IMAGE_METHOD_FULL(method_get_metadata_with_extensions, IMAGE_ACCESS_INSPECT, true,
                  bus_image_common_get_metadata(m, msg, image, true, error))
IMAGE_METHOD_FULL(method_get_metadata_with_layers, IMAGE_ACCESS_INSPECT, true,
                  bus_image_common_get_metadata_with_layers(m, msg, image, error))
IMAGE_METHOD(method_get_state, IMAGE_ACCESS_ANY, bus_common_get_state(m, msg, image->path, false, error))
IMAGE_METHOD(method_get_state_with_extensions, IMAGE_ACCESS_ANY,
             bus_common_get_state(m, msg, image->path, true, error))
IMAGE_METHOD(method_attach, IMAGE_ACCESS_ATTACH, bus_image_common_attach(m, msg, image, false, error))
IMAGE_METHOD(method_attach_with_extensions, IMAGE_ACCESS_ATTACH,
             bus_image_common_attach(m, msg, image, true, error))
IMAGE_METHOD(method_detach, IMAGE_ACCESS_ATTACH, bus_common_detach(m, msg, image->path, false, error))
IMAGE_METHOD(method_detach_with_extensions, IMAGE_ACCESS_ATTACH,
             bus_common_detach(m, msg, image->path, true, error))
IMAGE_METHOD(method_reattach, IMAGE_ACCESS_ATTACH, bus_image_common_reattach(m, msg, image, false, error))
IMAGE_METHOD(method_reattach_with_extensions, IMAGE_ACCESS_ATTACH,
             bus_image_common_reattach(m, msg, image, true, error))
IMAGE_METHOD(method_remove, IMAGE_ACCESS_MANAGE, bus_image_common_remove(m, msg, image, error))
IMAGE_METHOD(method_mark_read_only, IMAGE_ACCESS_MANAGE, bus_image_common_mark_read_only(m, msg, image, error))
IMAGE_METHOD(method_set_limit, IMAGE_ACCESS_MANAGE, bus_image_common_set_limit(m, msg, image, error))

static int property_get_type(sd_bus *bus, const char *path, const char *interface, const char *property,
                             sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        Image *image = userdata;
        return sd_bus_message_append(reply, "s", image_type_to_string(image->type));
}

static int property_get_read_only(sd_bus *bus, const char *path, const char *interface, const char *property,
                                  sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        Image *image = userdata;
        return sd_bus_message_append(reply, "b", (int) image->read_only);
}

static int property_get_unknown_size(sd_bus *bus, const char *path, const char *interface, const char *property,
                                     sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        return sd_bus_message_append(reply, "t", UINT64_MAX);
}

static const sd_bus_vtable image_vtable[] = {
        SD_BUS_VTABLE_START(0),
        SD_BUS_PROPERTY("Name", "s", NULL, offsetof(Image, name), 0),
        SD_BUS_PROPERTY("Path", "s", NULL, offsetof(Image, path), 0),
        SD_BUS_PROPERTY("Type", "s", property_get_type, 0, 0),
        SD_BUS_PROPERTY("ReadOnly", "b", property_get_read_only, 0, 0),
        SD_BUS_PROPERTY("CreationTimestamp", "t", NULL, offsetof(Image, crtime), 0),
        SD_BUS_PROPERTY("ModificationTimestamp", "t", NULL, offsetof(Image, mtime), 0),
        SD_BUS_PROPERTY("Usage", "t", NULL, offsetof(Image, usage), 0),
        SD_BUS_PROPERTY("Limit", "t", NULL, offsetof(Image, limit), 0),
        SD_BUS_PROPERTY("UsageExclusive", "t", property_get_unknown_size, 0, 0),
        SD_BUS_PROPERTY("LimitExclusive", "t", property_get_unknown_size, 0, 0),
        SD_BUS_METHOD_WITH_ARGS("GetOSRelease", SD_BUS_NO_ARGS, SD_BUS_RESULT("a{ss}", os_release),
                                method_get_os_release, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("GetMetadata", SD_BUS_ARGS("as", matches),
                                SD_BUS_RESULT("s", image, "ay", os_release, "a{say}", units),
                                method_get_metadata, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("GetMetadataWithExtensions",
                                SD_BUS_ARGS("as", extensions, "as", matches, "t", flags),
                                SD_BUS_RESULT("s", image, "ay", os_release, "a{say}", extensions, "a{say}", units),
                                method_get_metadata_with_extensions, SD_BUS_VTABLE_UNPRIVILEGED),
        /* Ours: GetMetadataWithExtensions, and which layer each unit came from. */
        SD_BUS_METHOD_WITH_ARGS("GetMetadataWithLayers",
                                SD_BUS_ARGS("as", extensions, "as", matches, "t", flags),
                                SD_BUS_RESULT("s", image, "ay", os_release, "a{say}", extensions, "a{say}", units,
                                              "a{ss}", unit_layers),
                                method_get_metadata_with_layers, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("GetState", SD_BUS_NO_ARGS, SD_BUS_RESULT("s", state),
                                method_get_state, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("GetStateWithExtensions", SD_BUS_ARGS("as", extensions, "t", flags),
                                SD_BUS_RESULT("s", state), method_get_state_with_extensions,
                                SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("Attach",
                                SD_BUS_ARGS("as", matches, "s", profile, "b", runtime, "s", copy_mode),
                                SD_BUS_RESULT("a(sss)", changes), method_attach, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("AttachWithExtensions",
                                SD_BUS_ARGS("as", extensions, "as", matches, "s", profile, "s", copy_mode, "t", flags),
                                SD_BUS_RESULT("a(sss)", changes), method_attach_with_extensions,
                                SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("Detach", SD_BUS_ARGS("b", runtime), SD_BUS_RESULT("a(sss)", changes),
                                method_detach, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("DetachWithExtensions", SD_BUS_ARGS("as", extensions, "t", flags),
                                SD_BUS_RESULT("a(sss)", changes), method_detach_with_extensions,
                                SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("Reattach",
                                SD_BUS_ARGS("as", matches, "s", profile, "b", runtime, "s", copy_mode),
                                SD_BUS_RESULT("a(sss)", changes_removed, "a(sss)", changes_updated),
                                method_reattach, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("ReattachWithExtensions",
                                SD_BUS_ARGS("as", extensions, "as", matches, "s", profile, "s", copy_mode, "t", flags),
                                SD_BUS_RESULT("a(sss)", changes_removed, "a(sss)", changes_updated),
                                method_reattach_with_extensions, SD_BUS_VTABLE_UNPRIVILEGED),
        /* The historical misspelling, kept for old clients. */
        SD_BUS_METHOD_WITH_ARGS("ReattacheWithExtensions",
                                SD_BUS_ARGS("as", extensions, "as", matches, "s", profile, "s", copy_mode, "t", flags),
                                SD_BUS_RESULT("a(sss)", changes_removed, "a(sss)", changes_updated),
                                method_reattach_with_extensions,
                                SD_BUS_VTABLE_UNPRIVILEGED | SD_BUS_VTABLE_HIDDEN),
        SD_BUS_METHOD("Remove", NULL, NULL, method_remove, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("MarkReadOnly", SD_BUS_ARGS("b", read_only), SD_BUS_NO_RESULT,
                                method_mark_read_only, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("SetLimit", SD_BUS_ARGS("t", limit), SD_BUS_NO_RESULT, method_set_limit,
                                SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_VTABLE_END
};

static int image_object_find(sd_bus *bus, const char *path, const char *interface, void *userdata, void **found,
                             sd_bus_error *error) {
        _cleanup_free_ char *name = NULL;
        Manager *m = userdata;
        Image *image = NULL;
        int r;

        r = sd_bus_path_decode(path, PORTABLE_BUS_IMAGE_PREFIX, &name);
        if (r <= 0)
                return r;
        if (!image_name_is_valid(name))
                return 0;

        r = image_find(&m->host, name, &image);
        if (r == -ENOENT || r == -EMEDIUMTYPE || r == -EINVAL)
                return 0;
        if (r < 0)
                return r;

        r = manager_cache_image(m, image);
        if (r < 0)
                return r;

        *found = image;
        return 1;
}

static int image_node_enumerator(sd_bus *bus, const char *path, void *userdata, char ***nodes, sd_bus_error *error) {
        _cleanup_(image_list_done) ImageList list = {};
        _cleanup_strv_free_ char **l = NULL;
        Manager *m = userdata;
        int r;

        r = image_discover(&m->host, &list);
        if (r < 0)
                return r;

        for (size_t i = 0; i < list.n_images; i++) {
                char *p;

                r = bus_image_object_path(list.images[i]->name, &p);
                if (r < 0)
                        return r;
                r = strv_consume(&l, p);
                if (r < 0)
                        return r;
        }

        *nodes = TAKE_PTR(l);
        return 1;
}

int bus_image_register(Manager *m) {
        int r;

        r = sd_bus_add_fallback_vtable(m->bus, NULL, PORTABLE_BUS_IMAGE_PREFIX, PORTABLE_BUS_IMAGE_INTERFACE,
                                       image_vtable, image_object_find, m);
        if (r < 0)
                return log_error_errno(r, "Failed to register image objects: %m");

        r = sd_bus_add_node_enumerator(m->bus, NULL, PORTABLE_BUS_IMAGE_PREFIX, image_node_enumerator, m);
        if (r < 0)
                return log_error_errno(r, "Failed to register image enumerator: %m");
        return 0;
}
