/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <malloc.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bus-budget.h"
#include "child-reaper.h"
#include "extension-merge.h"
#include "fd-util.h"
#include "image-lock.h"
#include "log.h"
#include "operation.h"
#include "pidfd-util.h"
#include "portable-limits.h"
#include "process-util.h"
#include "strv.h"

/* finish() asks again at most this often before the operation fails: each round adds the units
 * that appeared meanwhile, which only a concurrent change of the host can cause. */
#define QUERY_ROUNDS_MAX 4

static void operation_unlink(Operation *o) {
        Manager *m = o->manager;

        if (o->prev)
                o->prev->next = o->next;
        else if (m->operations == o)
                m->operations = o->next;
        if (o->next)
                o->next->prev = o->prev;
        o->next = o->prev = NULL;
        m->n_operations--;
        manager_operations_changed(m);
}

static void read_stop(OperationRead *rd) {
        rd->socket_source = sd_event_source_disable_unref(rd->socket_source);
        rd->exit_source = sd_event_source_disable_unref(rd->exit_source);
        rd->timeout_source = sd_event_source_disable_unref(rd->timeout_source);
        if (rd->reader)
                manager_reap_later(rd->operation->manager, image_reader_take_child(rd->reader));
        rd->reader = image_reader_free(rd->reader);
}

/* The shared locks are held until the operation ends, not only while the image is read: what was
 * read is what gets attached (or copied, for --copy=mixed), so nobody may remove the image, or
 * take it exclusively, in between. */
static void stop_reading_and_unlock(Operation *o) {
        for (size_t i = 0; i < o->n_reads; i++) {
                OperationRead *rd = &o->reads[i];

                read_stop(rd);
                for (size_t j = 0; j < ELEMENTSOF(rd->lock_fds); j++)
                        rd->lock_fds[j] = image_lock_release(rd->lock_fds[j]);
        }
}

/* The lock next to an image goes by its path, the global one by its inode: either is the image. */
static bool same_image(const Image *a, const Image *b) {
        return streq(a->path, b->path) || (a->ino != 0 && a->dev == b->dev && a->ino == b->ino);
}

static bool read_holds(const OperationRead *rd, const Image *image) {
        return rd->image && (rd->lock_fds[0] >= 0 || rd->lock_fds[1] >= 0) && same_image(rd->image, image);
}

size_t operation_image_holders(Manager *m, const Image *image, const Operation *except) {
        size_t n = 0;

        for (Operation *o = m->operations; o; o = o->next)
                for (size_t i = 0; o != except && i < o->n_reads; i++)
                        if (read_holds(&o->reads[i], image)) {
                                n++;
                                break;
                        }
        return n;
}

/* The operation waiting for image to itself, if any (operation_wait_for_holders()). */
static const Operation *image_waited_for(Manager *m, const Image *image) {
        for (Operation *o = m->operations; o; o = o->next)
                if (o->holders_timer && o->image && same_image(o->image, image))
                        return o;
        return NULL;
}

static void holders_wait_end(Operation *o) {
        o->holders_timer = sd_event_source_disable_unref(o->holders_timer);
        o->holders_gone = sd_event_source_disable_unref(o->holders_gone);
}

static void run_finish(Operation *o);

static void ask_units_then_finish(Operation *o);

/* The holders are gone, or the wait is over: finish() again, which sees which. What they did
 * meanwhile (an attach) may involve other units: the service manager is asked afresh. */
static int on_holders_gone(sd_event_source *s, void *userdata) {
        Operation *o = userdata;

        holders_wait_end(o);
        o->query_rounds = 0;
        ask_units_then_finish(o);
        return 0;
}

static int on_holders_timeout(sd_event_source *s, uint64_t usec, void *userdata) {
        return on_holders_gone(s, userdata);
}

/* An operation ended: the ones waiting for what it held go on, from the event loop. */
static void wake_holders_waiters(Manager *m) {
        for (Operation *w = m->operations; w; w = w->next) {
                if (!w->holders_timer || w->holders_gone || operation_image_holders(m, w->image, w) > 0)
                        continue;
                /* If this fails, the timer still ends the wait. */
                (void) sd_event_add_defer(m->event, &w->holders_gone, on_holders_gone, w);
        }
}

int operation_wait_for_holders(Operation *o) {
        Manager *m = o->manager;
        size_t n;
        int r;

        if (o->holders_waited)
                return -EBUSY;
        n = operation_image_holders(m, o->image, o);
        if (n == 0)
                return -EBUSY;

        r = sd_event_add_time_relative(m->event, &o->holders_timer, CLOCK_MONOTONIC, PORTABLE_EXCLUSIVE_WAIT_USEC, 0,
                                       on_holders_timeout, o);
        if (r < 0)
                return r;
        o->holders_waited = true;
        log_debug("Waiting for %zu other calls to let go of image '%s' before it can %s.", n, o->image->path,
                  o->type->name);
        return 0;
}

Operation *operation_free(Operation *o) {
        Manager *m;

        if (!o)
                return NULL;
        m = o->manager;

        operation_unlink(o);
        stop_reading_and_unlock(o);
        o->query_slot = sd_bus_slot_unref(o->query_slot);
        o->query_defer = sd_event_source_disable_unref(o->query_defer);
        o->worker_source = sd_event_source_disable_unref(o->worker_source);
        holders_wait_end(o);
        unit_activity_done(&o->activity);
        for (size_t i = 0; i < o->n_reads; i++)
                portable_metadata_free(o->reads[i].metadata);
        free(o->reads);
        portable_metadata_free_many(o->layers, o->layers ? 1 + o->n_extensions : 0);
        portable_metadata_free(o->metadata);
        image_free(o->image);
        for (size_t i = 0; i < o->n_extensions; i++)
                image_free(o->extensions[i]);
        free(o->extensions);
        if (o->type->free_data)
                o->type->free_data(o->data);
        sd_bus_message_unref(o->request);
        free(o);

        wake_holders_waiters(m);

        /* The last one done: what the operations held (image contents, plans) goes back to the
         * system, so that an idle daemon stays small. Cheap on a heap this size. */
        if (m->n_operations == 0)
                (void) malloc_trim(0);
        return NULL;
}

/* Answers with error (unless finish() already answered) and ends the operation. */
static void operation_fail(Operation *o, int r, sd_bus_error *error) {
        if (!sd_bus_error_is_set(error))
                (void) sd_bus_error_set_errnof(error, r, "Failed to %s: %m", o->type->name);
        (void) sd_bus_reply_method_error(o->request, error);
        operation_free(o);
}

static void on_units(UnitActivity *a, int error, const sd_bus_error *e, void *userdata) {
        _cleanup_(sd_bus_error_free) sd_bus_error copy = SD_BUS_ERROR_NULL;
        Operation *o = userdata;

        bus_budget_charge_to(o->manager->bus_budget, o->caller_uid);

        o->query_slot = sd_bus_slot_unref(o->query_slot);
        o->query_defer = sd_event_source_disable_unref(o->query_defer);

        if (error < 0) {
                (void) sd_bus_error_copy(&copy, e);
                if (!sd_bus_error_is_set(&copy))
                        (void) sd_bus_error_set_errnof(&copy, error,
                                                       "Failed to ask the service manager which units are active: %m");
                operation_fail(o, error, &copy);
                return;
        }

        unit_activity_done(&o->activity);
        o->activity = *a;
        *a = (UnitActivity) {};
        if (o->n_reads_done < o->n_reads)
                return; /* asked while the image is read: finish() runs once that is done */
        run_finish(o);
}

static int query_units(Operation *o, char **units, char **prefixes) {
        o->query_rounds++;
        return unit_activity_query(o->manager->bus, o->manager->event, units, prefixes, on_units, o,
                                   &o->query_slot, &o->query_defer);
}

static void run_finish(Operation *o) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        Host *host = &o->manager->host;
        HostUnitOps saved = host->unit_ops;
        int r;

        /* The library asks about units through the host; for this step the host answers from
         * our snapshot. */
        host->unit_ops = (HostUnitOps) { .unit_is_active = unit_activity_is_active, .userdata = &o->activity };
        r = o->type->finish(o, &error);
        host->unit_ops = saved;

        if (r == -EAGAIN && !strv_isempty(o->activity.missing) && o->query_rounds < QUERY_ROUNDS_MAX) {
                _cleanup_strv_free_ char **units = strv_copy(o->activity.queried);

                if (units && strv_extend_strv(&units, o->activity.missing) >= 0 &&
                    query_units(o, units, o->activity.prefixes) >= 0)
                        return;
                r = -ENOMEM;
        }
        if (r < 0) {
                operation_fail(o, r, &error);
                return;
        }
        /* A worker that runs replies when it is done, and so does finish() run again after a
         * wait; otherwise finish() has replied. */
        if (!o->worker_source && !o->holders_timer)
                operation_free(o);
}

/* Asks the service manager about the units finish() needs; finish() runs with the answer. */
static void ask_units_then_finish(Operation *o) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_strv_free_ char **units = NULL;
        int r = 0;

        if (o->type->units_needed)
                r = o->type->units_needed(o, &units);
        if (r >= 0)
                r = query_units(o, units, /* prefixes= */ NULL);
        if (r < 0)
                operation_fail(o, r, &error);
}

static void after_reading(Operation *o) {
        if (o->query_rounds > 0) {
                /* Asked while reading (unit_prefixes()): finish() runs now, or when the answer
                 * comes. */
                if (!o->query_slot && !o->query_defer)
                        run_finish(o);
                return;
        }
        ask_units_then_finish(o);
}

/* Asks the service manager ahead of the reading, if the operation can say what about. */
static int query_units_early(Operation *o) {
        _cleanup_strv_free_ char **prefixes = NULL;
        int r;

        if (!o->type->unit_prefixes)
                return 0;
        r = o->type->unit_prefixes(o, &prefixes);
        if (r < 0 || strv_isempty(prefixes))
                return r;
        return query_units(o, /* units= */ NULL, prefixes);
}

/* Every layer is read: what finish() works with. An image alone is taken as it is; a stack is
 * merged, and must stay within the limits of one image. */
static int reading_done(Operation *o, sd_bus_error *error) {
        size_t n = o->n_reads;
        int r;

        if (o->n_extensions == 0) {
                o->metadata = TAKE_PTR(o->reads[0].metadata);
                return 0;
        }

        o->layers = calloc(n, sizeof(PortableMetadata *));
        if (!o->layers)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++)
                o->layers[i] = TAKE_PTR(o->reads[i].metadata);

        r = extension_merge_metadata((const PortableMetadata * const *) o->layers, n, &o->metadata);
        if (r < 0)
                return r;
        return extension_merge_check_limits((const PortableMetadata * const *) o->layers, n, o->metadata,
                                            o->image->path, error);
}

static void reader_progress(OperationRead *rd) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        Operation *o = rd->operation;
        int r;

        /* Receiving and checking what the reader sends is work for the caller too. */
        bus_budget_charge_to(o->manager->bus_budget, o->caller_uid);
        if (image_reader_process(rd->reader) == 0)
                return;

        r = image_reader_result(rd->reader, &rd->metadata, &error);
        read_stop(rd);
        if (r < 0) {
                /* One layer failing is enough: the others are killed with the operation. */
                operation_fail(o, r, &error);
                return;
        }
        STRV_FOREACH(w, rd->metadata->warnings)
                log_warning("Image '%s': %s", rd->image->path, *w);

        if (++o->n_reads_done < o->n_reads)
                return;

        r = reading_done(o, &error);
        if (r < 0) {
                operation_fail(o, r, &error);
                return;
        }
        after_reading(o);
}

static int on_reader_event(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        reader_progress(userdata);
        return 0;
}

static int on_reader_cached(sd_event_source *s, void *userdata) {
        reader_progress(userdata);
        return 0;
}

static int on_reader_timeout(sd_event_source *s, uint64_t usec, void *userdata) {
        OperationRead *rd = userdata;

        image_reader_kill(rd->reader, "reading the image timed out");
        reader_progress(rd);
        return 0;
}

static int start_reading(Operation *o, OperationRead *rd, const Image *image, const ImageReadRequest *request,
                         sd_bus_error *error) {
        sd_event *e = o->manager->event;
        const Operation *waiter;
        uint64_t now;
        int r;

        *rd = (OperationRead) {
                .operation = o,
                .image = image,
                .lock_fds = { -EBADF, -EBADF },
        };

        /* A removal waits for the reads in flight to end; new ones would keep it waiting. */
        waiter = image_waited_for(o->manager, image);
        if (waiter)
                return sd_bus_error_set_errnof(error, EBUSY, "Image '%s' is not read now: a call to %s waits for it; try again later.",
                                               image->path, waiter->type->name);

        /* The same shared lock machined and nspawn take: they cannot remove the image or mark it
         * writable under the reader, nor can we read one they hold exclusively. */
        r = image_lock_acquire(&o->manager->host, image->path, /* exclusive= */ false, rd->lock_fds, error);
        if (r < 0)
                return r;

        r = image_reader_start(image, request, &rd->reader, error);
        if (r < 0)
                return r;
        manager_prepare_readers_later(o->manager);

        /* Answered from the cache: nothing to watch, but go on from the event loop, like every step. */
        if (image_reader_from_cache(rd->reader))
                return sd_event_add_defer(e, &rd->socket_source, on_reader_cached, rd);

        r = sd_event_add_io(e, &rd->socket_source, image_reader_socket_fd(rd->reader), EPOLLIN, on_reader_event, rd);
        if (r >= 0)
                r = sd_event_add_io(e, &rd->exit_source, image_reader_pidfd(rd->reader), EPOLLIN, on_reader_event, rd);
        if (r >= 0)
                r = sd_event_now(e, CLOCK_MONOTONIC, &now);
        if (r >= 0)
                r = sd_event_add_time(e, &rd->timeout_source, CLOCK_MONOTONIC, now + PORTABLE_READ_TIMEOUT_USEC, 0,
                                      on_reader_timeout, rd);
        return r;
}

/* The user ID of the caller of request, as the bus says (asked once per call, sender-creds.h). */
static int caller_uid(Manager *m, sd_bus_message *request, uid_t *ret) {
        sd_bus_creds *creds;
        int r;

        r = sender_creds_query(&m->sender_creds, request, &creds);
        if (r < 0)
                return r;
        return sd_bus_creds_get_euid(creds, ret);
}

/* Whether one more operation for request fits the limits of portable-limits.h. The caller's
 * operations are counted by walking the list, which the total limit keeps short. */
static int operation_admit(Manager *m, sd_bus_message *request, uid_t *ret_uid, sd_bus_error *error) {
        unsigned n_user = 0, n_unprivileged = 0;
        uid_t uid;
        int r;

        if (m->n_operations >= PORTABLE_OPERATIONS_MAX)
                return sd_bus_error_setf(error, SD_BUS_ERROR_LIMITS_EXCEEDED,
                                         "Too many operations in flight (at most %u at once); try again later.",
                                         PORTABLE_OPERATIONS_MAX);

        r = caller_uid(m, request, &uid);
        if (r < 0)
                return sd_bus_error_set_errnof(error, r, "Failed to determine the user of the caller: %m");

        for (Operation *o = m->operations; uid != 0 && o; o = o->next) {
                if (o->caller_uid != 0)
                        n_unprivileged++;
                if (o->caller_uid == uid)
                        n_user++;
        }
        if (n_user >= PORTABLE_OPERATIONS_PER_USER_MAX)
                return sd_bus_error_setf(error, SD_BUS_ERROR_LIMITS_EXCEEDED,
                                         "Too many operations of user %u in flight (at most %u at once); try again later.",
                                         (unsigned) uid, PORTABLE_OPERATIONS_PER_USER_MAX);
        if (n_unprivileged >= PORTABLE_OPERATIONS_UNPRIVILEGED_MAX)
                return sd_bus_error_setf(error, SD_BUS_ERROR_LIMITS_EXCEEDED,
                                         "Too many operations of unprivileged users in flight (at most %u at once); try again later.",
                                         PORTABLE_OPERATIONS_UNPRIVILEGED_MAX);
        *ret_uid = uid;
        return 0;
}

int operation_start_stack(Manager *m, sd_bus_message *request, const OperationType *type, void *data, Image *image,
                          Image **extensions, size_t n_extensions, const ImageReadRequest *read_request,
                          const ImageReadRequest *extension_read_request, sd_bus_error *error) {
        Operation *o = NULL;
        uid_t uid = 0;
        int r;

        r = operation_admit(m, request, &uid, error);
        if (r >= 0) {
                o = calloc(1, sizeof(Operation));
                if (!o)
                        r = -ENOMEM;
        }
        if (r < 0) {
                if (type->free_data)
                        type->free_data(data);
                image_free(image);
                for (size_t i = 0; i < n_extensions; i++)
                        image_free(extensions[i]);
                free(extensions);
                return r;
        }
        *o = (Operation) {
                .manager = m,
                .request = sd_bus_message_ref(request),
                .type = type,
                .data = data,
                .image = image,
                .extensions = extensions,
                .n_extensions = n_extensions,
                .caller_uid = uid,
                .next = m->operations,
        };
        if (m->operations)
                m->operations->prev = o;
        m->operations = o;
        m->n_operations++;
        manager_operations_changed(m);

        if (image && read_request) {
                /* Allocated once: the event sources point into it. */
                o->reads = calloc(1 + n_extensions, sizeof(OperationRead));
                if (!o->reads)
                        r = -ENOMEM;
                /* First, so that its answer can come while the image is read. */
                if (r >= 0)
                        r = query_units_early(o);
                for (size_t i = 0; r >= 0 && i <= n_extensions; i++) {
                        o->n_reads++;
                        r = start_reading(o, &o->reads[i], i == 0 ? image : extensions[i - 1],
                                          i == 0 ? read_request : extension_read_request, error);
                }
        } else {
                /* Nothing to read: go straight on, but from the event loop, like every step. By
                 * prefixes if the operation has them: without waiting for units_needed() first. */
                r = query_units_early(o);
                if (r >= 0 && o->query_rounds == 0) {
                        _cleanup_strv_free_ char **units = NULL;

                        r = type->units_needed ? type->units_needed(o, &units) : 0;
                        if (r >= 0)
                                r = query_units(o, units, /* prefixes= */ NULL);
                }
        }
        if (r < 0) {
                operation_free(o);
                return r;
        }
        return 0;
}

int operation_start(Manager *m, sd_bus_message *request, const OperationType *type, void *data, Image *image,
                    const ImageReadRequest *read_request, sd_bus_error *error) {
        return operation_start_stack(m, request, type, data, image, /* extensions= */ NULL, 0, read_request, NULL,
                                     error);
}

/* The worker has been reaped: its done() replies, and the operation ends. */
static void worker_ended(Operation *o, const siginfo_t *si) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        /* As waitpid() would have reported it. */
        int status = si->si_code == CLD_EXITED ? W_EXITCODE(si->si_status, 0) : si->si_status & 0x7f;
        int r;

        o->worker_source = sd_event_source_disable_unref(o->worker_source);
        r = o->worker_done(o, status, &error);
        if (r < 0)
                operation_fail(o, r, &error);
        else
                operation_free(o);
}

static int on_worker_exit(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        Operation *o = userdata;
        siginfo_t si = {};

        bus_budget_charge_to(o->manager->bus_budget, o->caller_uid);
        if (pidfd_reap(fd, /* wait= */ false, &si) > 0)
                worker_ended(o, &si);
        return 0;
}

/* At shutdown: a worker has changed the host already (an attach it copies for was committed, an
 * image it removes is partly gone), so "nothing was changed" would be wrong. It is stopped, and
 * its done() says what came of it. */
static void stop_worker(Operation *o) {
        int fd = sd_event_source_get_io_fd(o->worker_source);
        siginfo_t si = {};

        (void) pidfd_kill(fd);
        if (pidfd_reap(fd, /* wait= */ true, &si) <= 0)
                si = (siginfo_t) { .si_code = CLD_KILLED, .si_status = SIGKILL };
        worker_ended(o, &si);
}

int operation_start_worker(Operation *o, const char *comm, int (*work)(Operation *o),
                           int (*done)(Operation *o, int status, sd_bus_error *error), sd_bus_error *error) {
        pid_t daemon_pid = getpid(), pid;
        int pidfd, r;

        pid = fork();
        if (pid < 0)
                return -errno;
        if (pid == 0) {
                if (child_tie_to_parent(daemon_pid, comm) < 0)
                        _exit(EXIT_FAILURE);
                _exit(work(o));
        }

        pidfd = pidfd_open_child(pid);
        if (pidfd < 0) /* pidfd_open_child() killed and reaped it */
                return done(o, W_EXITCODE(0, SIGKILL), error);

        o->worker_done = done;
        r = sd_event_add_io(o->manager->event, &o->worker_source, pidfd, EPOLLIN, on_worker_exit, o);
        if (r >= 0)
                r = sd_event_source_set_io_fd_own(o->worker_source, true);
        if (r >= 0)
                return 0;

        /* A worker we cannot wait for must not go on behind the caller's back. */
        o->worker_source = sd_event_source_disable_unref(o->worker_source);
        (void) pidfd_kill(pidfd);
        (void) pidfd_reap(pidfd, /* wait= */ true, NULL);
        safe_close(pidfd);
        return r;
}

void operations_abort_all(Manager *m, const char *message) {
        while (m->operations) {
                _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;

                if (m->operations->worker_source) {
                        stop_worker(m->operations);
                        continue;
                }
                (void) sd_bus_error_set(&error, SD_BUS_ERROR_NO_REPLY, message);
                operation_fail(m->operations, -ECANCELED, &error);
        }
}
