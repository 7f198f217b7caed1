/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <systemd/sd-bus.h>
#include <systemd/sd-event.h>

#include "bus-budget.h"
#include "bus-polkit.h"
#include "host.h"
#include "image.h"
#include "metadata-cache.h"
#include "reader-spare.h"
#include "sender-creds.h"
#include "verity-cache.h"

typedef struct Operation Operation;
typedef struct PendingUpgrade PendingUpgrade;

/* The daemon's one piece of state. */
typedef struct ExitingChild ExitingChild;

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
        SenderCreds sender_creds; /* of the call at hand, asked of the bus once */

        /* The daemon's time that callers other than root may take (bus-budget.h). */
        BusBudget *bus_budget;

        /* Method calls waiting for their image, the service manager or a worker. */
        Operation *operations;
        size_t n_operations;

        /* Reattaches applied but not yet kept (pending-upgrade.h). */
        PendingUpgrade *pending_upgrades;

        /* Exit after this long without a call or an operation (0: never); bus activation brings
         * the daemon back, and it keeps nothing in memory worth keeping. */
        uint64_t exit_on_idle_usec;
        sd_event_source *idle_timer;
        bool name_released; /* idle: the bus name is given back, exit once the work is done */
        int instance_lock_fd; /* manager_lock_instance() */

        /* Raw images that passed verity verification, for the daemon's life: an unchanged image
         * is not read in full again (see verity-cache.h, and reader-receive.h for why the
         * reader's word is taken). */
        VerityCache *verity_cache;

        /* What unchanged raw image files without verity data held when they were last read, for
         * the daemon's life (metadata-cache.h): they are not read again. */
        MetadataCache *metadata_cache;

        /* Makes what the next image reader takes ahead of time, when the loop is idle
         * (image_reader_prepare()): among it the spare reader for the next directory image. */
        sd_event_source *prepare_defer;
        bool prepare_when_idle; /* asked for while operations ran: once the last one ends */
        ReaderSandbox reader_sandbox;
        ReaderSpare *reader_spare;
        char *reader_helper; /* portabled-reader, which spares run; NULL: they are forked */

        /* Readers done with, on their way out (child-reaper.h). */
        ExitingChild *exiting_children;

        /* --image-policy=: every raw image read must satisfy it, whatever a caller asks for;
         * NULL: none. */
        char *image_policy;
} Manager;

int manager_new(const char *root, const char *vendor_profile_dir, uint64_t exit_on_idle_usec, Manager **ret);

/* The daemon's own image policy (image-policy.h syntax; NULL: none). -EINVAL if it does not
 * parse, with the reason in reterr. */
int manager_set_image_policy(Manager *m, const char *policy, sd_bus_error *reterr);
Manager *manager_free(Manager *m);
DEFINE_TRIVIAL_CLEANUP_FUNC(Manager *, manager_free);

#define MANAGER_INSTANCE_WAIT_USEC (UINT64_C(60) * 1000000)

/* Waits (up to MANAGER_INSTANCE_WAIT_USEC) until no other daemon runs on this root, and holds
 * that for the daemon's life; -EBUSY if one still runs then. Before manager_recover(). */
int manager_lock_instance(Manager *m);

/* Completes or rolls back what an earlier run of the daemon left half done (the transaction
 * journals), before anything is served. */
int manager_recover(Manager *m);

int manager_connect_bus(Manager *m);
int manager_run(Manager *m);

/* Keeps image alive until the end of this event loop iteration (takes ownership). */
int manager_cache_image(Manager *m, Image *image);

/* Called when operations come or go, for the idle logic. */
void manager_operations_changed(Manager *m);

/* After a reader started: the next one's preparations are made once nothing else is to do. */
void manager_prepare_readers_later(Manager *m);
