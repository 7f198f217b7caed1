/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <systemd/sd-daemon.h>

#include "bus-image.h"
#include "bus-manager.h"
#include "log.h"
#include "manager.h"
#include "portable-bus.h"
#include "unit-query.h"

static void image_cache_flush(Manager *m) {
        for (size_t i = 0; i < m->n_image_cache; i++)
                image_free(m->image_cache[i]);
        m->image_cache = mfree(m->image_cache);
        m->n_image_cache = 0;
}

Manager *manager_free(Manager *m) {
        if (!m)
                return NULL;

        image_cache_flush(m);
        sd_event_source_unref(m->image_cache_defer);
        m->bus = sd_bus_flush_close_unref(m->bus);
        m->event = sd_event_unref(m->event);
        free(m->host.root);
        free(m->host.vendor_profile_dir);
        return mfree(m);
}

int manager_new(const char *root, const char *vendor_profile_dir, Manager **ret) {
        _cleanup_(manager_freep) Manager *m = NULL;
        int r;

        m = calloc(1, sizeof(Manager));
        if (!m)
                return -ENOMEM;

        if (root) {
                m->host.root = strdup(root);
                if (!m->host.root)
                        return -ENOMEM;
        }
        if (vendor_profile_dir) {
                m->host.vendor_profile_dir = strdup(vendor_profile_dir);
                if (!m->host.vendor_profile_dir)
                        return -ENOMEM;
        }
        m->host.unit_ops = (HostUnitOps) { .unit_is_active = unit_query_is_active, .userdata = m };

        r = sd_event_default(&m->event);
        if (r < 0)
                return r;

        /* sd-event watches only blocked signals: unblocked, SIGTERM killed us without cleanup. */
        sigset_t mask;
        if (sigemptyset(&mask) < 0 || sigaddset(&mask, SIGTERM) < 0 || sigaddset(&mask, SIGINT) < 0 ||
            sigprocmask(SIG_BLOCK, &mask, NULL) < 0)
                return -errno;
        (void) sd_event_add_signal(m->event, NULL, SIGTERM, NULL, NULL);
        (void) sd_event_add_signal(m->event, NULL, SIGINT, NULL, NULL);

        *ret = TAKE_PTR(m);
        return 0;
}

static int on_image_cache_defer(sd_event_source *s, void *userdata) {
        Manager *m = userdata;

        image_cache_flush(m);
        return sd_event_source_set_enabled(s, SD_EVENT_OFF);
}

int manager_cache_image(Manager *m, Image *image) {
        Image **grown;
        int r;

        grown = realloc(m->image_cache, sizeof(Image *) * (m->n_image_cache + 1));
        if (!grown) {
                image_free(image);
                return -ENOMEM;
        }
        m->image_cache = grown;
        m->image_cache[m->n_image_cache++] = image;

        if (!m->image_cache_defer) {
                r = sd_event_add_defer(m->event, &m->image_cache_defer, on_image_cache_defer, m);
                if (r < 0)
                        return r;
        }
        return sd_event_source_set_enabled(m->image_cache_defer, SD_EVENT_ONESHOT);
}

int manager_connect_bus(Manager *m) {
        int r;

        r = sd_bus_default_system(&m->bus);
        if (r < 0)
                return log_error_errno(r, "Failed to connect to the system bus: %m");

        r = bus_manager_register(m);
        if (r < 0)
                return r;
        r = bus_image_register(m);
        if (r < 0)
                return r;

        r = sd_bus_request_name(m->bus, PORTABLE_BUS_NAME, 0);
        if (r < 0)
                return log_error_errno(r, "Failed to acquire bus name %s: %m", PORTABLE_BUS_NAME);

        r = sd_bus_attach_event(m->bus, m->event, SD_EVENT_PRIORITY_NORMAL);
        if (r < 0)
                return log_error_errno(r, "Failed to attach bus to event loop: %m");
        return 0;
}

int manager_run(Manager *m) {
        (void) sd_notify(false, "READY=1\nSTATUS=Processing requests...");
        return sd_event_loop(m->event);
}
