/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "bus-util.h"
#include "image-name.h"
#include "path-util.h"
#include "portable-bus.h"
#include "portable-error.h"
#include "portable-limits.h"
#include "strv.h"

int bus_image_acquire(Manager *m, const char *name_or_path, Image **ret, sd_bus_error *error) {
        int r;

        /* Checked first only to tell the user which rule the argument breaks. */
        r = bus_validate_image_argument(name_or_path, error);
        if (r < 0)
                return r;

        r = image_acquire(&m->host, name_or_path, ret);
        if (r == -ENOENT)
                return sd_bus_error_setf(error, PORTABLE_ERROR_NO_SUCH_IMAGE, "No image '%s' found.", name_or_path);
        if (r == -EMEDIUMTYPE)
                return sd_bus_error_setf(error, PORTABLE_ERROR_BAD_IMAGE_TYPE,
                                         "Type of image '%s' not recognized; supported image types are directories/btrfs subvolumes, block devices, and raw disk image files with suffix '.raw'.",
                                         name_or_path);
        if (r == -EINVAL)
                /* A path whose last component is no valid image name, e.g. "/srv/.#foo.raw". */
                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                                         "Image '%s' does not have a valid image name.", name_or_path);
        if (r < 0)
                return sd_bus_error_set_errnof(error, r, "Failed to open image '%s': %m", name_or_path);
        return 0;
}

int bus_validate_image_argument(const char *name_or_path, sd_bus_error *error) {
        if (image_name_is_valid(name_or_path))
                return 0;
        if (!name_or_path || name_or_path[0] != '/')
                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                                         "Image name '%s' is not valid or not a valid path.", strempty(name_or_path));
        if (!path_is_normalized_absolute(name_or_path))
                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS, "Image path '%s' is not normalized.",
                                         name_or_path);
        return 0;
}

int bus_read_extensions(sd_bus_message *msg, char ***ret, sd_bus_error *error) {
        _cleanup_strv_free_ char **extensions = NULL;
        int r;

        r = sd_bus_message_read_strv(msg, &extensions);
        if (r < 0)
                return r;
        if (strv_length(extensions) > PORTABLE_EXTENSIONS_MAX)
                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                                         "Too many extension images (%zu), at most %u are supported.",
                                         strv_length(extensions), PORTABLE_EXTENSIONS_MAX);
        STRV_FOREACH(e, extensions) {
                r = bus_validate_image_argument(*e, error);
                if (r < 0)
                        return r;
        }
        *ret = TAKE_PTR(extensions);
        return 0;
}

int bus_acquire_extensions(Manager *m, char * const *extensions, Image ***ret, size_t *ret_n, sd_bus_error *error) {
        size_t n = strv_length((char **) extensions);
        Image **images = NULL;
        int r = 0;

        if (n > 0) {
                images = calloc(n, sizeof(Image *));
                if (!images)
                        return -ENOMEM;
        }
        for (size_t i = 0; i < n; i++) {
                r = bus_image_acquire(m, extensions[i], &images[i], error);
                if (r < 0) {
                        for (size_t k = 0; k < i; k++)
                                image_free(images[k]);
                        free(images);
                        return r;
                }
        }
        *ret = images;
        *ret_n = n;
        return 0;
}

int bus_peek_extensions(sd_bus_message *msg, const char *skip, char ***ret) {
        int r;

        r = sd_bus_message_read_strv(msg, ret);
        if (r < 0)
                return r;
        /* Back to the start, and past the arguments before it again. */
        r = sd_bus_message_rewind(msg, /* complete= */ true);
        if (r >= 0 && skip)
                r = sd_bus_message_skip(msg, skip);
        if (r < 0)
                *ret = strv_free(*ret);
        return r;
}

int bus_append_changes(sd_bus_message *reply, const PortableChanges *changes) {
        int r;

        r = sd_bus_message_open_container(reply, 'a', "(sss)");
        if (r < 0)
                return r;
        for (size_t i = 0; i < changes->n; i++) {
                const PortableChange *c = &changes->items[i];

                r = sd_bus_message_append(reply, "(sss)", portable_change_type_to_string(c->type), c->path,
                                          strempty(c->source));
                if (r < 0)
                        return r;
        }
        return sd_bus_message_close_container(reply);
}

int bus_reply_changes(sd_bus_message *message, const PortableChanges *changes) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        int r;

        r = sd_bus_message_new_method_return(message, &reply);
        if (r < 0)
                return r;
        r = bus_append_changes(reply, changes);
        if (r < 0)
                return r;
        return sd_bus_send(NULL, reply, NULL);
}

int bus_parse_copy_mode(const char *s, PortableFlags *ret, sd_bus_error *error) {
        PortableCopyMode mode = portable_copy_mode_from_string(s);

        if (mode < 0)
                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                                         "Unknown copy mode '%s' (valid modes: \"\" or auto, copy, symlink, mixed).", s);
        *ret = portable_copy_mode_to_flags(mode);
        return 0;
}

int bus_read_flags(sd_bus_message *msg, uint64_t allowed, PortableFlags *ret, sd_bus_error *error) {
        uint64_t flags;
        int r;

        r = sd_bus_message_read(msg, "t", &flags);
        if (r < 0)
                return r;
        if (flags & ~allowed)
                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS, "Invalid 'flags' parameter '%llu'",
                                         (unsigned long long) flags);
        *ret = (PortableFlags) (flags & PORTABLE_FLAGS_PUBLIC) | (flags & PORTABLE_FLAG_DRY_RUN ? PORTABLE_DRY_RUN : 0);
        return 0;
}

int bus_image_object_path(const char *name, char **ret) {
        return sd_bus_path_encode(PORTABLE_BUS_IMAGE_PREFIX, name, ret);
}

int bus_error_from_errno(sd_bus_error *error, int r, const char *context) {
        if (sd_bus_error_is_set(error))
                return r;
        return sd_bus_error_set_errnof(error, r, "%s: %m", context);
}
