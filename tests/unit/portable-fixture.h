/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <systemd/sd-bus.h>

#include "change.h"
#include "host.h"
#include "image.h"
#include "portable-types.h"

/* A private host for the attach/detach/reattach/state tests:
 *
 *   <tmp>/root      Host.root: the fake host (empty at first)
 *   <tmp>/images    images referenced by path, outside the search path
 *
 * The vendor profile directory is $PROFILES_DIR. unit_ops report the units named in
 * fx.active as active (none by default), or fx.active_error. */

typedef struct PortableFixture {
        char *tmp;
        char *root;
        char *images;
        const char *profiles;
        Host host;
        const char *active[8];
        int active_error;
        unsigned active_calls;
} PortableFixture;

extern PortableFixture fx;

void fixture_setup(const char *tag);
void fixture_teardown(void);

/* Makes unit_is_active() go through the fake service manager (fx.active). */
void fixture_use_fake_manager(void);

/* Copies the fixture image tree tests/data/images/<name> to <tmp>/images/<dest> (or, with
 * in_pool, to <root>/var/lib/portables/<dest>) and returns its path. */
char *fixture_copy_image(const char *name, const char *dest, bool in_pool);

/* A squashfs image of the fixture tree at <tmp>/images/<dest> (skips the test if not root). */
char *fixture_raw_image(const char *name, const char *dest);

/* image_from_path() that must succeed. */
Image *fixture_image(const char *path);

/* <root><rel> */
char *fixture_path(const char *rel);
bool fixture_exists(const char *rel);
char *fixture_read(const char *rel);
void fixture_write(const char *rel, const char *content);

/* The change list as "type path[ source]" lines, with <root>, <tmp>/images and $PROFILES_DIR
 * replaced by @ROOT@, @IMAGES@ and @PROFILES@. */
char *fixture_changes(const PortableChanges *c);

/* Replaces @ROOT@, @IMAGES@ and @PROFILES@ in a golden file. */
char *fixture_golden(const char *name);

/* The snapshot of the whole fake host. */
char *fixture_snapshot(void);

/* Runs portable_attach() with the given profile and flags; checks the error contract: on
 * failure the bus error is set, and nothing is returned. */
int fixture_attach(const Image *image, char * const *matches, const char *profile, PortableFlags flags,
                   PortableChanges *ret, sd_bus_error *error);
