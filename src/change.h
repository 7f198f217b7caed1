/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stddef.h>

#include "portable-types.h"

/* The a(sss) change list: what an operation did to the host, in order. */
typedef struct PortableChange {
        PortableChangeType type;
        char *path;
        char *source; /* NULL when not applicable; sent as "" */
} PortableChange;

typedef struct PortableChanges {
        PortableChange *items;
        size_t n;
} PortableChanges;

void portable_changes_done(PortableChanges *c);
int portable_changes_add(PortableChanges *c, PortableChangeType type, const char *path, const char *source);
