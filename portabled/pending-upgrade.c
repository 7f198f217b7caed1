/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdio.h>
#include <stdlib.h>

#include "image-name.h"
#include "log.h"
#include "path-util.h"
#include "pending-upgrade.h"
#include "portable-bus.h"
#include "portable-error.h"
#include "strv.h"

struct PendingUpgrade {
        Manager *manager;
        char *image_path;
        char *key;   /* the version-insensitive name of the image: what it blocks */
        char *owner; /* the unique bus name of the client that asked */
        Transaction transaction;
        char **units;
        sd_bus_slot *owner_watch;
        sd_event_source *timer;
        PendingUpgrade *next, *prev;
};

static PendingUpgrade *pending_upgrade_free(PendingUpgrade *p) {
        Manager *m;

        if (!p)
                return NULL;
        m = p->manager;
        if (p->prev)
                p->prev->next = p->next;
        else if (m->pending_upgrades == p)
                m->pending_upgrades = p->next;
        if (p->next)
                p->next->prev = p->prev;

        transaction_done(&p->transaction);
        sd_bus_slot_unref(p->owner_watch);
        sd_event_source_disable_unref(p->timer);
        free(p->image_path);
        free(p->key);
        free(p->owner);
        strv_free(p->units);
        free(p);
        manager_operations_changed(m);
        return NULL;
}

/* After a rollback nobody asked for: PID 1 must see the previous unit files again, and the units
 * that run (the new version, by now) must run the previous one. Fire and forget: there is no
 * caller to answer, and the result is in PID 1's logs. */
static void restart_previous(Manager *m, char * const *units) {
        int r;

        if (!m->bus)
                return;
        r = sd_bus_call_method_async(m->bus, NULL, SYSTEMD_BUS_NAME, SYSTEMD_BUS_PATH, SYSTEMD_BUS_MANAGER_INTERFACE,
                                     "Reload", NULL, NULL, NULL);
        if (r < 0)
                log_warning_errno(r, "Failed to ask the service manager to reload: %m");
        STRV_FOREACH(u, (char **) units) {
                r = sd_bus_call_method_async(m->bus, NULL, SYSTEMD_BUS_NAME, SYSTEMD_BUS_PATH,
                                             SYSTEMD_BUS_MANAGER_INTERFACE, "TryRestartUnit", NULL, NULL, "ss", *u,
                                             "replace");
                if (r < 0)
                        log_warning_errno(r, "Failed to restart %s: %m", *u);
        }
}

static void roll_back_on_our_own(PendingUpgrade *p, const char *why) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;

        log_warning("Upgrade to '%s' %s: putting the previous version back.", p->image_path, why);
        if (transaction_abort(&p->transaction, &error) < 0)
                log_error("Upgrade to '%s': %s", p->image_path, error.message);
        restart_previous(p->manager, p->units);
        pending_upgrade_free(p);
}

static int on_timeout(sd_event_source *s, uint64_t usec, void *userdata) {
        roll_back_on_our_own(userdata, "was not confirmed in time");
        return 0;
}

static int on_owner_changed(sd_bus_message *msg, void *userdata, sd_bus_error *ret_error) {
        PendingUpgrade *p = userdata;
        const char *name, *old_owner, *new_owner;

        if (sd_bus_message_read(msg, "sss", &name, &old_owner, &new_owner) < 0)
                return 0;
        if (streq(name, p->owner) && isempty(new_owner))
                roll_back_on_our_own(p, "was left unconfirmed by its client, which went away");
        return 0;
}

int pending_upgrade_add(Manager *m, sd_bus_message *msg, const char *image_path, Transaction *t, char **units) {
        PendingUpgrade *p;
        int r;

        p = calloc(1, sizeof(PendingUpgrade));
        if (!p)
                return -ENOMEM;
        p->manager = m;
        p->transaction = *t;
        *t = (Transaction) {};
        p->next = m->pending_upgrades;
        if (p->next)
                p->next->prev = p;
        m->pending_upgrades = p;

        p->image_path = strdup(image_path);
        p->owner = strdup(strempty(sd_bus_message_get_sender(msg)));
        if (!p->image_path || !p->owner) {
                r = -ENOMEM;
                goto fail;
        }
        r = image_name_marker_key(image_path, &p->key);
        if (r < 0)
                goto fail;

        if (!isempty(p->owner)) {
                _cleanup_free_ char *match = NULL;

                if (asprintf(&match, "type='signal',sender='org.freedesktop.DBus',path='/org/freedesktop/DBus',"
                                     "interface='org.freedesktop.DBus',member='NameOwnerChanged',arg0='%s'", p->owner) < 0) {
                        r = -ENOMEM;
                        goto fail;
                }
                r = sd_bus_add_match(m->bus, &p->owner_watch, match, on_owner_changed, p);
                if (r < 0)
                        goto fail;
        }
        r = sd_event_add_time_relative(m->event, &p->timer, CLOCK_MONOTONIC, PENDING_UPGRADE_TIMEOUT_USEC, 0, on_timeout, p);
        if (r < 0)
                goto fail;

        p->units = units; /* taken only now: on failure the caller still owns them */
        manager_operations_changed(m);
        return 0;

fail:
        (void) transaction_abort(&p->transaction, /* reterr= */ NULL);
        pending_upgrade_free(p);
        return r;
}

int pending_upgrade_transaction_ids(Manager *m, char ***ret) {
        _cleanup_strv_free_ char **ids = NULL;

        for (PendingUpgrade *p = m->pending_upgrades; p; p = p->next)
                if (strv_extend(&ids, p->transaction.id) < 0)
                        return -ENOMEM;
        *ret = TAKE_PTR(ids);
        return 0;
}

bool pending_upgrade_blocks(Manager *m, const char *name_or_path) {
        _cleanup_free_ char *key = NULL;

        if (!m->pending_upgrades || image_name_marker_key(name_or_path, &key) < 0)
                return m->pending_upgrades != NULL;
        for (PendingUpgrade *p = m->pending_upgrades; p; p = p->next)
                if (streq(p->key, key))
                        return true;
        return false;
}

const char *pending_upgrade_holding_units(Manager *m, const PortableMetadata *metadata) {
        for (PendingUpgrade *p = m->pending_upgrades; p; p = p->next)
                for (size_t i = 0; metadata && i < metadata->n_units; i++)
                        if (strv_contains(p->units, metadata->units[i].name))
                                return p->image_path;
        return NULL;
}

/* The upgrade to image_path; else, if the client named the image (as_named is a name, not a
 * path), the one upgrade of an image of that name that this client asked for: a newer version
 * that appeared meanwhile changes what the name resolves to, not which upgrade the client waits
 * on. */
static PendingUpgrade *find_upgrade(Manager *m, const char *image_path, const char *as_named, const char *sender) {
        _cleanup_free_ char *key = NULL;
        PendingUpgrade *found = NULL;

        for (PendingUpgrade *p = m->pending_upgrades; p; p = p->next)
                if (streq(p->image_path, image_path))
                        return p;
        if (!as_named || strchr(as_named, '/') || image_name_marker_key(as_named, &key) < 0)
                return NULL;
        for (PendingUpgrade *p = m->pending_upgrades; p; p = p->next)
                if (streq(p->key, key) && streq(p->owner, strempty(sender))) {
                        if (found)
                                return NULL; /* ambiguous */
                        found = p;
                }
        return found;
}

int pending_upgrade_finish(Manager *m, const char *image_path, const char *as_named, const char *sender,
                           bool keep, PortableChanges *ret_changes, sd_bus_error *reterr) {
        PendingUpgrade *p = find_upgrade(m, image_path, as_named, sender);
        int r, k;

        if (!p)
                return portable_error(reterr, ENOENT, SYSTEMD_ERROR_NO_SUCH_UNIT,
                                      "No upgrade to '%s' is waiting to be confirmed.", image_path);
        /* Its client restarted the units and knows whether they came up; anybody else would
         * decide blind, or undo what that client is about to confirm. */
        if (!streq(p->owner, strempty(sender)))
                return portable_error(reterr, EPERM, SD_BUS_ERROR_ACCESS_DENIED,
                                      "Only the client that asked for the upgrade to '%s' may keep or abandon it; "
                                      "it is rolled back if that client goes away or does not answer within 15 minutes.",
                                      p->image_path);
        image_path = p->image_path;

        if (keep) {
                r = transaction_commit(&p->transaction, reterr);
                if (r >= 0) {
                        *ret_changes = p->transaction.changes;
                        p->transaction.changes = (PortableChanges) {};
                }
                log_info("Upgrade to '%s' confirmed and kept.", image_path);
        } else {
                /* Reported as what happened to the files, so that the client knows which units to
                 * stop (their files went) and which to start again (their files came back). */
                r = transaction_undo_changes(&p->transaction, ret_changes);
                k = transaction_abort(&p->transaction, reterr);
                if (k < 0) {
                        log_error_errno(k, "Upgrade to '%s' abandoned, but not undone in full: %m", image_path);
                        if (r >= 0)
                                portable_changes_done(ret_changes);
                        r = k;
                } else
                        log_notice("Upgrade to '%s' abandoned: the previous version is back.", image_path);
        }
        pending_upgrade_free(p);
        return r;
}

void pending_upgrades_abort_all(Manager *m) {
        while (m->pending_upgrades)
                roll_back_on_our_own(m->pending_upgrades, "was still unconfirmed when portabled stopped");
}
