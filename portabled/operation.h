/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <sys/types.h>
#include <systemd/sd-bus.h>
#include <systemd/sd-event.h>

#include "image-reader.h"
#include "image.h"
#include "manager.h"
#include "portable-metadata.h"
#include "unit-activity.h"

/* A method call that has to wait before it can be answered: for its image to be read by the
 * confined reader, for the service manager to say which units are active, or for a worker
 * process. Every wait happens off the event loop, so that other callers keep being answered;
 * only the last step, finish(), runs synchronously (it changes the host in one transaction, so
 * operations never interleave half-way). The request is answered exactly once: by finish(), or
 * with the error of whichever step failed, or when the daemon shuts down. */

typedef struct Operation Operation;

/* One image being read for an operation: by its own confined reader, under a shared lock. */
typedef struct OperationRead {
        Operation *operation;
        const Image *image;
        ImageReader *reader;
        sd_event_source *socket_source, *exit_source, *timeout_source;
        int lock_fds[2];            /* shared image locks, held until the operation ends */
        PortableMetadata *metadata; /* what the reader found, once done */
} OperationRead;

typedef struct OperationType {
        const char *name; /* for the logs */

        /* After the image (if any) was read: the units whose activity finish() needs (NULL:
         * none). */
        int (*units_needed)(Operation *o, char ***ret);
        /* Optional, before the image is read (or at once, for an operation that reads nothing):
         * name prefixes (unit-match.h) that cover the units finish() will ask about. The service
         * manager is asked about them while the image is read, instead of afterwards;
         * units_needed() is then not called, and a unit they do not cover is asked about once
         * finish() asks (-EAGAIN). NULL in *ret: ask afterwards. */
        int (*unit_prefixes)(Operation *o, char ***ret);

        /* Does the work and replies, or starts a worker (operation_start_worker()) whose
         * end replies. Returns >= 0 then; -EAGAIN when it asked about a unit that is not in the
         * snapshot (it is queried, and finish() runs again); other negative errors to have the
         * operation answer with error. */
        int (*finish)(Operation *o, sd_bus_error *error);

        void (*free_data)(void *data);
} OperationType;

struct Operation {
        Manager *manager;
        sd_bus_message *request;
        const OperationType *type;
        void *data;

        Image *image;               /* the image read, may be NULL */
        Image **extensions;         /* the extension images stacked on it, bottom to top */
        size_t n_extensions;
        PortableMetadata *metadata; /* what the reader found; with extensions, all layers merged
                                     * (extension_merge_metadata()) */
        PortableMetadata **layers;  /* with extensions: what each layer's reader found, [0] the
                                     * image, [i] the i-th extension (1 + n_extensions) */
        UnitActivity activity;      /* what the service manager said */

        OperationRead *reads;       /* one per layer, all at once; units_needed() and finish()
                                     * run only once every one is done */
        size_t n_reads, n_reads_done;

        sd_bus_slot *query_slot;
        sd_event_source *query_defer;
        unsigned query_rounds;

        sd_event_source *worker_source;
        int (*worker_done)(Operation *o, int status, sd_bus_error *error);

        uid_t caller_uid;           /* counted against PORTABLE_OPERATIONS_PER_USER_MAX; 0 (root):
                                     * only in the total */

        /* operation_wait_for_holders(): finish() runs again when the other operations that hold
         * the image let go of it (holders_gone), or when the wait is over (holders_timer). */
        sd_event_source *holders_timer, *holders_gone;
        bool holders_waited;

        Operation *next, *prev;
};

/* Starts an operation answering request. image (taken; NULL if nothing is read) is read with
 * read_request, under a shared image lock; data (taken, freed with type->free_data) is the
 * operation's own. On failure the request has not been answered, and data is freed. Beyond
 * PORTABLE_OPERATIONS_MAX operations in flight, or PORTABLE_OPERATIONS_PER_USER_MAX of the
 * caller's user, it fails with SD_BUS_ERROR_LIMITS_EXCEEDED before anything is started. */
int operation_start(Manager *m, sd_bus_message *request, const OperationType *type, void *data, Image *image,
                    const ImageReadRequest *read_request, sd_bus_error *error);

/* The same for image stacked with extension images (taken: freed with image_free(), and the
 * array with free(), also on failure): every layer is read by its own reader, at the same time,
 * the image with read_request and each extension with extension_read_request (which should have
 * .extension set). If any layer fails, the operation fails with its error. */
int operation_start_stack(Manager *m, sd_bus_message *request, const OperationType *type, void *data, Image *image,
                          Image **extensions, size_t n_extensions, const ImageReadRequest *read_request,
                          const ImageReadRequest *extension_read_request, sd_bus_error *error);

/* From finish(): work that takes a while runs in a worker, a fork of the daemon named comm that
 * dies with it, while the daemon answers other callers. The worker's exit status is what work
 * returns; done is called with its wait status (as from waitpid()) and replies. A worker that is
 * gone before it can be waited for is reported to done at once, as killed, and what done returns
 * is returned. Otherwise 0, or a negative errno if no worker could be started or waited for (none
 * is left running then). */
int operation_start_worker(Operation *o, const char *comm, int (*work)(Operation *o),
                           int (*done)(Operation *o, int status, sd_bus_error *error), sd_bus_error *error);

/* From finish(), for an operation that needs the image to itself (its exclusive lock was refused
 * with -EBUSY): if other operations of ours hold the image (their shared locks), it waits for them,
 * at most PORTABLE_EXCLUSIVE_WAIT_USEC, and finish() runs again. Meanwhile no other operation may
 * start to read the image, so that a stream of reads cannot keep it busy for ever. Returns 0 when
 * it waits (finish() returns 0 then, without replying); -EBUSY when nothing of ours holds the
 * image, or this operation has waited once already. */
int operation_wait_for_holders(Operation *o);

/* How many other operations of ours hold image (their shared locks), for messages. */
size_t operation_image_holders(Manager *m, const Image *image, const Operation *except);

/* Answers every operation with error and drops them all (shutdown); one that waits for a worker
 * stops the worker and answers as its done() says. */
void operations_abort_all(Manager *m, const char *message);

Operation *operation_free(Operation *o);
