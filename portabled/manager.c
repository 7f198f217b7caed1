/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

#include "bus-budget.h"
#include "bus-image.h"
#include "bus-manager.h"
#include "child-reaper.h"
#include "fd-util.h"
#include "fileio.h"
#include "image-policy.h"
#include "image-reader.h"
#include "log.h"
#include "manager.h"
#include "marker-cache.h"
#include "operation.h"
#include "path-util.h"
#include "pending-upgrade.h"
#include "portable-bus.h"
#include "reader-spare.h"
#include "repair.h"
#include "sender-creds.h"
#include "strv.h"
#include "transaction.h"
#include "unit-activity.h"

static void image_cache_flush(Manager *m) {
        for (size_t i = 0; i < m->n_image_cache; i++)
                image_free(m->image_cache[i]);
        m->image_cache = mfree(m->image_cache);
        m->n_image_cache = 0;
}

Manager *manager_free(Manager *m) {
        if (!m)
                return NULL;

        while (m->operations)
                operation_free(m->operations);
        pending_upgrades_abort_all(m);
        image_cache_flush(m);
        sd_event_source_unref(m->image_cache_defer);
        sd_event_source_disable_unref(m->prepare_defer);
        reader_spare_free(m->reader_spare);
        reader_sandbox_done(&m->reader_sandbox);
        manager_reap_all(m);
        sd_event_source_disable_unref(m->idle_timer);
        m->bus_budget = bus_budget_free(m->bus_budget);
        /* Its queries hold calls on the bus. */
        m->polkit_registry = polkit_registry_free(m->polkit_registry);
        sender_creds_done(&m->sender_creds);
        m->bus = sd_bus_flush_close_unref(m->bus);
        m->event = sd_event_unref(m->event);
        marker_cache_free(m->host.marker_cache);
        free(m->host.root);
        free(m->host.vendor_profile_dir);
        verity_cache_free(m->verity_cache);
        metadata_cache_free(m->metadata_cache);
        free(m->image_policy);
        free(m->reader_helper);
        safe_close(m->instance_lock_fd);
        return mfree(m);
}

static int on_signal(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata) {
        Manager *m = userdata;

        /* Host changes happen synchronously, in one step of the loop: none is ever half done
         * here. What still waits for an image or for PID 1 has changed nothing yet; what waits for
         * a worker is answered as the worker's end says. */
        log_info("Received SIG%s, shutting down.", sigabbrev_np((int) si->ssi_signo) ?: "?");
        (void) sd_notify(false, "STOPPING=1\nSTATUS=Shutting down...");
        operations_abort_all(m, "portabled is shutting down; nothing was changed.");
        pending_upgrades_abort_all(m);
        return sd_event_exit(m->event, 0);
}

static int sender_is_privileged(sd_bus_message *msg, void *userdata) {
        Manager *m = userdata;
        sd_bus_creds *creds;
        int r;

        r = sender_creds_query(&m->sender_creds, msg, &creds);
        if (r < 0)
                return r;
        return sender_creds_is_privileged(creds);
}

/* portabled-reader is installed next to the daemon, and built next to it: the build tree's daemon
 * runs the build tree's helper. Without it spares are forked, which only costs more. */
static char *find_reader_helper(void) {
        _cleanup_free_ char *dir = NULL;
        char self[PATH_MAX], *helper;
        ssize_t n;

        n = readlink("/proc/self/exe", self, sizeof(self) - 1);
        if (n <= 0)
                return NULL;
        self[n] = '\0';
        dir = path_dirname(self);
        helper = dir ? path_join(dir, READER_HELPER_NAME) : NULL;
        if (helper && access(helper, X_OK) < 0)
                helper = mfree(helper);
        return helper;
}

int manager_new(const char *root, const char *vendor_profile_dir, uint64_t exit_on_idle_usec, Manager **ret) {
        _cleanup_(manager_freep) Manager *m = NULL;
        sigset_t mask;
        int r;

        m = calloc(1, sizeof(Manager));
        if (!m)
                return -ENOMEM;
        m->reader_sandbox = READER_SANDBOX_NULL;
        m->instance_lock_fd = -EBADF;
        m->exit_on_idle_usec = exit_on_idle_usec;
        m->reader_helper = find_reader_helper();
        if (m->reader_helper)
                log_debug("Spare image readers run %s.", m->reader_helper);

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
        /* Outside of an operation nobody may ask about units: the answer would have to come
         * from PID 1 synchronously. An empty snapshot makes such a question fail loudly. */
        m->host.unit_ops = (HostUnitOps) { .unit_is_active = unit_activity_is_active, .userdata = NULL };
        m->host.marker_cache = marker_cache_new();
        if (!m->host.marker_cache)
                return -ENOMEM;

        r = polkit_registry_new(&m->polkit_registry);
        if (r >= 0)
                polkit_registry_set_privilege_check(m->polkit_registry, sender_is_privileged, m);
        if (r < 0)
                return r;

        m->verity_cache = verity_cache_new(/* max_entries= */ 0);
        if (!m->verity_cache)
                return -ENOMEM;
        m->metadata_cache = metadata_cache_new(/* max_entries= */ 0, /* max_bytes= */ 0);
        if (!m->metadata_cache)
                return -ENOMEM;

        r = sd_event_default(&m->event);
        if (r < 0)
                return r;

        /* Signals arrive through the event loop, between steps, never in the middle of one. */
        sigemptyset(&mask);
        sigaddset(&mask, SIGTERM);
        sigaddset(&mask, SIGINT);
        if (sigprocmask(SIG_BLOCK, &mask, NULL) < 0)
                return -errno;
        r = sd_event_add_signal(m->event, NULL, SIGTERM, on_signal, m);
        if (r >= 0)
                r = sd_event_add_signal(m->event, NULL, SIGINT, on_signal, m);
        if (r < 0)
                return r;

        r = bus_budget_new(m->event, &m->bus_budget);
        if (r < 0)
                return r;

        r = sd_event_set_watchdog(m->event, true);
        if (r < 0)
                return r;

        *ret = TAKE_PTR(m);
        return 0;
}

int manager_set_image_policy(Manager *m, const char *policy, sd_bus_error *reterr) {
        _cleanup_(image_policy_freep) ImagePolicy *p = NULL;
        int r;

        if (policy) {
                r = image_policy_from_string(policy, &p, reterr);
                if (r < 0)
                        return r;
        }
        free(m->image_policy);
        m->image_policy = NULL;
        if (policy) {
                m->image_policy = strdup(policy);
                if (!m->image_policy)
                        return -ENOMEM;
        }
        return 0;
}

/* After an idle exit gave the bus name back, the previous daemon finishes the work it has at hand
 * (an upgrade waiting to be kept among it) while bus activation may start the next one: whose
 * recovery would take the previous one's live journals for ones a crash left, and roll them back
 * under its feet. So the next one waits for the previous one to be gone; the lock goes with a
 * process however it ends. */
int manager_lock_instance(Manager *m) {
        _cleanup_free_ char *dir = host_journal_dir(&m->host, /* runtime= */ true), *path = NULL;
        _cleanup_close_ int fd = -EBADF;
        bool told = false;
        sigset_t stop;
        int r;

        /* SIGTERM and SIGINT are blocked for the event loop already: a stop while waiting is
         * taken with sigtimedwait(). */
        sigemptyset(&stop);
        sigaddset(&stop, SIGTERM);
        sigaddset(&stop, SIGINT);

        path = dir ? path_join(dir, "instance.lock") : NULL;
        if (!path)
                return log_oom();
        /* As the transactions make it: its parents open, itself root's alone. */
        r = mkdir_p(dir, 0755, 0700);
        if (r < 0)
                return log_error_errno(r, "Failed to create %s: %m", dir);
        fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY, 0600);
        if (fd < 0)
                return log_error_errno(-errno, "Failed to open %s: %m", path);

        for (uint64_t waited = 0;; waited += 100 * 1000) {
                if (flock(fd, LOCK_EX | LOCK_NB) >= 0)
                        break;
                if (errno != EWOULDBLOCK)
                        return log_error_errno(-errno, "Failed to lock %s: %m", path);
                if (waited >= MANAGER_INSTANCE_WAIT_USEC)
                        return log_error_errno(-EBUSY, "Another portabled still runs on this root, giving up.");
                if (!told)
                        log_info("Another portabled runs on this root; waiting until it is done.");
                told = true;
                if (sigtimedwait(&stop, NULL, &(struct timespec) { .tv_nsec = 100 * 1000 * 1000 }) > 0)
                        return log_error_errno(-ECANCELED, "Stopped while waiting for the other portabled.");
        }
        m->instance_lock_fd = TAKE_FD(fd);
        return 0;
}

int manager_recover(Manager *m) {
        int ret = 0;

        for (int runtime = 0; runtime <= 1; runtime++) {
                _cleanup_free_ char *dir = host_journal_dir(&m->host, runtime);
                _cleanup_strv_free_ char **log = NULL;
                int r;

                if (!dir)
                        return log_oom();
                r = transaction_recover(dir, &log);
                STRV_FOREACH(line, log)
                        log_notice("%s", *line);
                if (r < 0) {
                        log_error_errno(r, "Failed to recover interrupted operations from %s: %m", dir);
                        ret = ret ?: r;
                }
        }

        /* The copies of --copy=mixed are made outside the transactions. */
        _cleanup_(portable_changes_done) PortableChanges removed = {};
        int r = portable_remove_copy_leftovers(&m->host, /* dry_run= */ false, &removed);

        for (size_t i = 0; i < removed.n; i++)
                log_notice("Removed %s, left by an interrupted copy of an image.", removed.items[i].path);
        if (r < 0)
                (void) log_warning_errno(r, "Failed to remove what an interrupted copy of an image left: %m");
        return ret;
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

static int on_prepare_readers(sd_event_source *s, void *userdata) {
        Manager *m = userdata;
        int r;

        /* Not while calls are served: a fork (and the copies of pages it costs the daemon
         * afterwards) and a new spare setting itself up would slow down the very calls in flight.
         * The last one to end asks again (manager_operations_changed()). */
        if (m->n_operations > 0) {
                m->prepare_when_idle = true;
                return 0;
        }
        m->prepare_when_idle = false;

        /* Only an optimisation: a reader without it makes its own. */
        r = image_reader_prepare(&m->reader_sandbox, &m->reader_spare, m->reader_helper);
        if (r < 0)
                log_debug_errno(r, "Failed to prepare the next image reader, ignoring: %m");
        return 0;
}

void manager_prepare_readers_later(Manager *m) {
        int r;

        if (!m->prepare_defer) {
                r = sd_event_add_defer(m->event, &m->prepare_defer, on_prepare_readers, m);
                if (r >= 0)
                        r = sd_event_source_set_priority(m->prepare_defer, SD_EVENT_PRIORITY_IDLE);
                if (r < 0) {
                        log_debug_errno(r, "Failed to schedule the preparation of image readers, ignoring: %m");
                        m->prepare_defer = sd_event_source_disable_unref(m->prepare_defer);
                        return;
                }
        }
        (void) sd_event_source_set_enabled(m->prepare_defer, SD_EVENT_ONESHOT);
}

/* ---------------------------------------------------------------------------------- idleness */

static bool manager_is_busy(Manager *m) {
        return m->n_operations > 0 || polkit_registry_size(m->polkit_registry) > 0 || m->pending_upgrades;
}

static void arm_idle_timer(Manager *m) {
        if (!m->idle_timer || m->name_released)
                return;
        (void) sd_event_source_set_time_relative(m->idle_timer, m->exit_on_idle_usec);
        (void) sd_event_source_set_enabled(m->idle_timer, SD_EVENT_ONESHOT);
}

void manager_operations_changed(Manager *m) {
        if (m->prepare_when_idle && m->n_operations == 0)
                manager_prepare_readers_later(m);
        if (m->name_released && !manager_is_busy(m))
                (void) sd_event_exit(m->event, 0);
        arm_idle_timer(m);
}

static int on_name_released(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error) {
        Manager *m = userdata;

        /* Calls sent to the name from now on start a new instance; the ones that reached us
         * before are answered first. */
        log_debug("Idle: gave back %s, exiting when the work at hand is done.", PORTABLE_BUS_NAME);
        manager_operations_changed(m);
        return 0;
}

static int on_idle(sd_event_source *s, uint64_t usec, void *userdata) {
        Manager *m = userdata;
        int r;

        log_debug("Idle timer: %zu operations, %zu authorization queries.", m->n_operations,
                  polkit_registry_size(m->polkit_registry));
        if (manager_is_busy(m)) {
                arm_idle_timer(m);
                return 0;
        }
        m->name_released = true;
        /* Calls that reach us before the name is gone are still served, but none that would make
         * us wait for polkit. */
        polkit_registry_close(m->polkit_registry);
        r = sd_bus_release_name_async(m->bus, NULL, PORTABLE_BUS_NAME, on_name_released, m);
        if (r < 0)
                return sd_event_exit(m->event, 0);
        return 0;
}

/* Every call that comes in postpones the idle exit, and is admitted by the callers' share of the
 * daemon's time. */
static int on_bus_message(sd_bus_message *msg, void *userdata, sd_bus_error *ret_error) {
        Manager *m = userdata;

        arm_idle_timer(m);
        return bus_budget_filter(m->bus_budget, &m->sender_creds, msg);
}

int manager_connect_bus(Manager *m) {
        int r;

        r = sd_bus_default_system(&m->bus);
        if (r < 0)
                return log_error_errno(r, "Failed to connect to the system bus: %m");

        /* Without its bus the daemon is of no use to anyone: exit, activation brings it back. */
        r = sd_bus_set_exit_on_disconnect(m->bus, true);
        if (r < 0)
                return log_error_errno(r, "Failed to set exit on disconnect: %m");

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

        if (m->exit_on_idle_usec > 0) {
                r = sd_event_add_time_relative(m->event, &m->idle_timer, CLOCK_MONOTONIC, m->exit_on_idle_usec, 0,
                                               on_idle, m);
                if (r < 0)
                        return log_error_errno(r, "Failed to set up the idle timer: %m");
        }
        r = sd_bus_add_filter(m->bus, NULL, on_bus_message, m);
        if (r < 0)
                return log_error_errno(r, "Failed to install the bus filter: %m");
        return 0;
}

int manager_run(Manager *m) {
        int r;

        (void) sd_notify(false, "READY=1\nSTATUS=Processing requests...");
        r = sd_event_loop(m->event);
        (void) sd_notify(false, "STOPPING=1\nSTATUS=Shutting down...");
        return r;
}
