/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <systemd/sd-bus.h>

#include "image.h"
#include "manager.h"
#include "portable-types.h"

/* What each method does once its arguments are read and the caller is authorized, as an
 * operation (operation.h) that answers msg when it is done. Each returns 1 when the operation is
 * under way (the handler returns that, without replying), or a negative errno with error set
 * (the handler returns that, and sd-bus replies with the error). image is copied, lists taken. */

/* The process names (comm: ps -o comm, pgrep) of the workers that copy an image for --copy=mixed
 * and that remove one; the tests wait for them by these names. */
#define COPY_WORKER_COMM "portabled-copy"
#define REMOVE_WORKER_COMM "portabled-rm"

/* Whether a worker is copying an image of that name or path (NULL: any image) for --copy=mixed
 * (attach, reattach): until it is done, the image's attachment is not changed, and repair, which
 * removes what copies cut short left, waits. */
bool image_operation_copying(Manager *m, const char *name_or_path);

/* What our own *WithOptions methods add (portabled(8), D-BUS INTERFACE); NULL: nothing. Strings
 * point into the message; check_paths is owned (image_call_options_done()). */
typedef struct ImageCallOptions {
        const char *image_policy; /* the caller's image policy, checked in addition to the daemon's */
        const char *profile;      /* inspect: check the image against this profile (a name or path) */
        char **check_paths;       /* inspect: more paths to report if the image lacks them */
} ImageCallOptions;

void image_call_options_done(ImageCallOptions *o);

/* The shapes of the inspect replies. */
typedef enum InspectReply {
        INSPECT_OS_RELEASE,      /* a{ss} os_release */
        INSPECT_METADATA,        /* s image, ay os_release, a{say} units */
        INSPECT_WITH_EXTENSIONS, /* s image, ay os_release, a{say} extensions, a{say} units */
        INSPECT_WITH_LAYERS,     /* the same, and a{ss} unit_layers: unit -> path of its layer */
        INSPECT_WITH_DETAILS,    /* the same as WITH_LAYERS, and a{sv} details: the image's layout */
} InspectReply;

/* extensions: the extension images stacked on image, bottom to top (taken, n_extensions of
 * them; NULL for none). flags: PORTABLE_FORCE_EXTENSION relaxes how their release files are
 * found. */
int image_operation_inspect(Manager *m, sd_bus_message *msg, const Image *image, Image **extensions,
                            size_t n_extensions, char **matches, InspectReply reply, PortableFlags flags,
                            const ImageCallOptions *options, sd_bus_error *error);

int image_operation_attach(Manager *m, sd_bus_message *msg, const Image *image, Image **extensions,
                           size_t n_extensions, char **matches, const char *profile, PortableFlags flags,
                           bool reattach, const ImageCallOptions *options, sd_bus_error *error);

/* extensions: names or paths, as given (taken; NULL for none). */
int image_operation_detach(Manager *m, sd_bus_message *msg, const char *name_or_path, char **extensions,
                           PortableFlags flags, sd_bus_error *error);

int image_operation_state(Manager *m, sd_bus_message *msg, const char *name_or_path, char **extensions,
                          sd_bus_error *error);

int image_operation_list(Manager *m, sd_bus_message *msg, sd_bus_error *error);

int image_operation_remove(Manager *m, sd_bus_message *msg, const Image *image, sd_bus_error *error);

/* MarkImageReadOnly: under the image's exclusive lock, waiting for our own reads of it like
 * RemoveImage. */
int image_operation_mark_read_only(Manager *m, sd_bus_message *msg, const Image *image, bool read_only,
                                   sd_bus_error *error);
