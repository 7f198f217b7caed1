/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "macro.h"
#include "portable-types.h"

static const char *const portable_state_table[_PORTABLE_STATE_MAX] = {
        [PORTABLE_DETACHED] = "detached",
        [PORTABLE_ATTACHED] = "attached",
        [PORTABLE_ATTACHED_RUNTIME] = "attached-runtime",
        [PORTABLE_ENABLED] = "enabled",
        [PORTABLE_ENABLED_RUNTIME] = "enabled-runtime",
        [PORTABLE_RUNNING] = "running",
        [PORTABLE_RUNNING_RUNTIME] = "running-runtime",
};

static const char *const portable_change_type_table[_PORTABLE_CHANGE_TYPE_MAX] = {
        [PORTABLE_COPY] = "copy",
        [PORTABLE_SYMLINK] = "symlink",
        [PORTABLE_UNLINK] = "unlink",
        [PORTABLE_WRITE] = "write",
        [PORTABLE_MKDIR] = "mkdir",
        [PORTABLE_CONFLICT] = "conflict",
};

static const char *const portable_copy_mode_table[_PORTABLE_COPY_MODE_MAX] = {
        [PORTABLE_COPY_AUTO] = "auto",
        [PORTABLE_COPY_COPY] = "copy",
        [PORTABLE_COPY_SYMLINK] = "symlink",
        [PORTABLE_COPY_MIXED] = "mixed",
};

static const char *const image_type_table[_IMAGE_TYPE_MAX] = {
        [IMAGE_DIRECTORY] = "directory",
        [IMAGE_SUBVOLUME] = "subvolume",
        [IMAGE_RAW] = "raw",
        [IMAGE_BLOCK] = "block",
};

static const char *table_lookup(const char *const *table, int n, int i) {
        if (i < 0 || i >= n)
                return NULL;
        return table[i];
}

static int table_find(const char *const *table, int n, const char *s) {
        if (!s)
                return -EINVAL;
        for (int i = 0; i < n; i++)
                if (table[i] && streq(table[i], s))
                        return i;
        return -EINVAL;
}

#define DEFINE_STRING_TABLE(name, type, max)                                            \
        const char *name##_to_string(type v) {                                          \
                return table_lookup(name##_table, max, (int) v);                        \
        }                                                                               \
        type name##_from_string(const char *s) {                                        \
                return (type) table_find(name##_table, max, s);                         \
        }

DEFINE_STRING_TABLE(portable_state, PortableState, _PORTABLE_STATE_MAX)
DEFINE_STRING_TABLE(portable_change_type, PortableChangeType, _PORTABLE_CHANGE_TYPE_MAX)
DEFINE_STRING_TABLE(image_type, ImageType, _IMAGE_TYPE_MAX)

const char *portable_copy_mode_to_string(PortableCopyMode m) {
        return table_lookup(portable_copy_mode_table, _PORTABLE_COPY_MODE_MAX, (int) m);
}

PortableCopyMode portable_copy_mode_from_string(const char *s) {
        if (s && s[0] == '\0')
                return PORTABLE_COPY_AUTO;
        return (PortableCopyMode) table_find(portable_copy_mode_table, _PORTABLE_COPY_MODE_MAX, s);
}

PortableFlags portable_copy_mode_to_flags(PortableCopyMode m) {
        switch (m) {
        case PORTABLE_COPY_COPY:
                return PORTABLE_PREFER_COPY;
        case PORTABLE_COPY_SYMLINK:
                return PORTABLE_PREFER_SYMLINK;
        case PORTABLE_COPY_MIXED:
                return PORTABLE_MIXED_COPY;
        default:
                return 0;
        }
}
