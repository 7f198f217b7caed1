/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <errno.h>
#include <stdint.h>

/* Enums that cross the bus or the command line, each with one string table. */

typedef enum PortableState {
        PORTABLE_DETACHED,
        PORTABLE_ATTACHED,
        PORTABLE_ATTACHED_RUNTIME,
        PORTABLE_ENABLED,
        PORTABLE_ENABLED_RUNTIME,
        PORTABLE_RUNNING,
        PORTABLE_RUNNING_RUNTIME,
        _PORTABLE_STATE_MAX,
        _PORTABLE_STATE_INVALID = -EINVAL,
} PortableState;

typedef enum PortableChangeType {
        PORTABLE_COPY,
        PORTABLE_SYMLINK,
        PORTABLE_UNLINK,
        PORTABLE_WRITE,
        PORTABLE_MKDIR,
        PORTABLE_CONFLICT, /* dry runs only: (unit, "exists" or "active") that would refuse it */
        _PORTABLE_CHANGE_TYPE_MAX,
        _PORTABLE_CHANGE_TYPE_INVALID = -EINVAL,
} PortableChangeType;

/* The "s copy_mode" argument: "" means auto. */
typedef enum PortableCopyMode {
        PORTABLE_COPY_AUTO,
        PORTABLE_COPY_COPY,
        PORTABLE_COPY_SYMLINK,
        PORTABLE_COPY_MIXED,   /* newest upstream's: units copied, profiles linked, the image copied */
        _PORTABLE_COPY_MODE_MAX,
        _PORTABLE_COPY_MODE_INVALID = -EINVAL,
} PortableCopyMode;

typedef enum ImageType {
        IMAGE_DIRECTORY,
        IMAGE_SUBVOLUME,
        IMAGE_RAW,
        IMAGE_BLOCK,
        _IMAGE_TYPE_MAX,
        _IMAGE_TYPE_INVALID = -EINVAL,
} ImageType;

/* Internal operation flags. The low three bits are the public D-Bus flags (portable-bus.h). */
typedef enum PortableFlags {
        PORTABLE_RUNTIME = 1 << 0,
        PORTABLE_FORCE_ATTACH = 1 << 1,
        PORTABLE_FORCE_EXTENSION = 1 << 2,
        PORTABLE_PREFER_COPY = 1 << 3,
        PORTABLE_PREFER_SYMLINK = 1 << 4,
        PORTABLE_REATTACH = 1 << 5,
        PORTABLE_KEEP_PREVIOUS = 1 << 6, /* reattach: keep the previous version until confirmed */
        PORTABLE_DRY_RUN = 1 << 7,       /* plan only: report the changes, apply none */
        PORTABLE_MIXED_COPY = 1 << 8,    /* --copy=mixed: the image entry is a copy (image-copy.h) */
} PortableFlags;

const char *portable_state_to_string(PortableState s);
PortableState portable_state_from_string(const char *s);

const char *portable_change_type_to_string(PortableChangeType t);
PortableChangeType portable_change_type_from_string(const char *s);

/* "" and "auto" both parse as PORTABLE_COPY_AUTO; to_string(AUTO) is "auto". */
const char *portable_copy_mode_to_string(PortableCopyMode m);
PortableCopyMode portable_copy_mode_from_string(const char *s);
PortableFlags portable_copy_mode_to_flags(PortableCopyMode m);

const char *image_type_to_string(ImageType t);
ImageType image_type_from_string(const char *s);
