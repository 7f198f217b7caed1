/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <systemd/sd-bus.h>
#include <systemd/sd-event.h>

#include "bus-polkit.h"
#include "host.h"
#include "image.h"

/* The daemon's one piece of state. */
typedef struct Manager {
        sd_event *event;
        sd_bus *bus;
        Host host;

        /* Image objects looked up for bus object paths live until the current event loop
         * iteration is done: sd-bus hands them to our property getters without owning them. */
        Image **image_cache;
        size_t n_image_cache;
        sd_event_source *image_cache_defer;

        /* Authorization queries waiting for polkit or for their method call to come back. */
        PolkitRegistry *polkit_registry;
} Manager;

int manager_new(const char *root, const char *vendor_profile_dir, Manager **ret);
Manager *manager_free(Manager *m);
DEFINE_TRIVIAL_CLEANUP_FUNC(Manager *, manager_free);

int manager_connect_bus(Manager *m);
int manager_run(Manager *m);

/* Keeps image alive until the end of this event loop iteration (takes ownership). */
int manager_cache_image(Manager *m, Image *image);
