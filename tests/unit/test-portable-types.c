/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <criterion/criterion.h>
#include <criterion/new/assert.h>

#include "macro.h"
#include "portable-bus.h"
#include "portable-types.h"
#include "unit-helpers.h"

/* The strings cross the bus and must be exactly systemd's (reference §1.6-§1.8). */

Test(portable_types, state_table) {
        static const char *const names[_PORTABLE_STATE_MAX] = {
                [PORTABLE_DETACHED] = "detached",
                [PORTABLE_ATTACHED] = "attached",
                [PORTABLE_ATTACHED_RUNTIME] = "attached-runtime",
                [PORTABLE_ENABLED] = "enabled",
                [PORTABLE_ENABLED_RUNTIME] = "enabled-runtime",
                [PORTABLE_RUNNING] = "running",
                [PORTABLE_RUNNING_RUNTIME] = "running-runtime",
        };

        for (int i = 0; i < _PORTABLE_STATE_MAX; i++) {
                assert_str(portable_state_to_string((PortableState) i), names[i]);
                cr_assert(eq(int, portable_state_from_string(names[i]), i));
        }
}

Test(portable_types, change_type_table) {
        static const char *const names[_PORTABLE_CHANGE_TYPE_MAX] = {
                [PORTABLE_COPY] = "copy",
                [PORTABLE_SYMLINK] = "symlink",
                [PORTABLE_UNLINK] = "unlink",
                [PORTABLE_WRITE] = "write",
                [PORTABLE_MKDIR] = "mkdir",
                [PORTABLE_CONFLICT] = "conflict",
        };

        for (int i = 0; i < _PORTABLE_CHANGE_TYPE_MAX; i++) {
                assert_str(portable_change_type_to_string((PortableChangeType) i), names[i]);
                cr_assert(eq(int, portable_change_type_from_string(names[i]), i));
        }
}

Test(portable_types, image_type_table) {
        static const char *const names[_IMAGE_TYPE_MAX] = {
                [IMAGE_DIRECTORY] = "directory",
                [IMAGE_SUBVOLUME] = "subvolume",
                [IMAGE_RAW] = "raw",
                [IMAGE_BLOCK] = "block",
        };

        for (int i = 0; i < _IMAGE_TYPE_MAX; i++) {
                assert_str(image_type_to_string((ImageType) i), names[i]);
                cr_assert(eq(int, image_type_from_string(names[i]), i));
        }
}

Test(portable_types, copy_mode_table) {
        assert_str(portable_copy_mode_to_string(PORTABLE_COPY_AUTO), "auto");
        assert_str(portable_copy_mode_to_string(PORTABLE_COPY_COPY), "copy");
        assert_str(portable_copy_mode_to_string(PORTABLE_COPY_SYMLINK), "symlink");
        assert_str(portable_copy_mode_to_string(PORTABLE_COPY_MIXED), "mixed");

        /* "" is what the bus sends for "auto". */
        cr_assert(eq(int, portable_copy_mode_from_string(""), PORTABLE_COPY_AUTO));
        cr_assert(eq(int, portable_copy_mode_from_string("auto"), PORTABLE_COPY_AUTO));
        cr_assert(eq(int, portable_copy_mode_from_string("copy"), PORTABLE_COPY_COPY));
        cr_assert(eq(int, portable_copy_mode_from_string("symlink"), PORTABLE_COPY_SYMLINK));
        cr_assert(eq(int, portable_copy_mode_from_string("mixed"), PORTABLE_COPY_MIXED));
        cr_assert(eq(int, portable_copy_mode_from_string("hardlink"), _PORTABLE_COPY_MODE_INVALID));
        cr_assert(eq(int, portable_copy_mode_from_string("Copy"), _PORTABLE_COPY_MODE_INVALID));
        cr_assert(eq(int, portable_copy_mode_from_string(NULL), _PORTABLE_COPY_MODE_INVALID));
}

Test(portable_types, copy_mode_flags) {
        cr_assert(eq(int, portable_copy_mode_to_flags(PORTABLE_COPY_AUTO), 0));
        cr_assert(eq(int, portable_copy_mode_to_flags(PORTABLE_COPY_COPY), PORTABLE_PREFER_COPY));
        cr_assert(eq(int, portable_copy_mode_to_flags(PORTABLE_COPY_SYMLINK), PORTABLE_PREFER_SYMLINK));
        cr_assert(eq(int, portable_copy_mode_to_flags(PORTABLE_COPY_MIXED), PORTABLE_MIXED_COPY));
        cr_assert(eq(int, portable_copy_mode_to_flags(_PORTABLE_COPY_MODE_INVALID), 0));
}

Test(portable_types, invalid_values) {
        cr_assert(zero(ptr, (void *) portable_state_to_string(_PORTABLE_STATE_MAX)));
        cr_assert(zero(ptr, (void *) portable_state_to_string(_PORTABLE_STATE_INVALID)));
        cr_assert(zero(ptr, (void *) portable_change_type_to_string(_PORTABLE_CHANGE_TYPE_MAX)));
        cr_assert(zero(ptr, (void *) portable_change_type_to_string(_PORTABLE_CHANGE_TYPE_INVALID)));
        cr_assert(zero(ptr, (void *) image_type_to_string(_IMAGE_TYPE_MAX)));
        cr_assert(zero(ptr, (void *) image_type_to_string((ImageType) -1)));
        cr_assert(zero(ptr, (void *) portable_copy_mode_to_string(_PORTABLE_COPY_MODE_MAX)));

        cr_assert(eq(int, portable_state_from_string("bogus"), -EINVAL));
        cr_assert(eq(int, portable_state_from_string(""), -EINVAL));
        cr_assert(eq(int, portable_state_from_string(NULL), -EINVAL));
        cr_assert(eq(int, portable_state_from_string("Attached"), -EINVAL));
        cr_assert(eq(int, portable_change_type_from_string("remove"), -EINVAL));
        cr_assert(eq(int, portable_change_type_from_string(NULL), -EINVAL));
        cr_assert(eq(int, image_type_from_string("mstack"), -EINVAL));
        cr_assert(eq(int, image_type_from_string(NULL), -EINVAL));
}

/* The low three bits of the internal flags are the public D-Bus flags, bit for bit. */
Test(portable_types, flags_match_bus) {
        cr_assert(eq(u64, (uint64_t) PORTABLE_RUNTIME, PORTABLE_FLAG_RUNTIME));
        cr_assert(eq(u64, (uint64_t) PORTABLE_FORCE_ATTACH, PORTABLE_FLAG_FORCE_ATTACH));
        cr_assert(eq(u64, (uint64_t) PORTABLE_FORCE_EXTENSION, PORTABLE_FLAG_FORCE_EXTENSION));
        cr_assert(zero(u64, (uint64_t) (PORTABLE_PREFER_COPY | PORTABLE_PREFER_SYMLINK | PORTABLE_REATTACH) &
                       PORTABLE_FLAGS_PUBLIC));
}
