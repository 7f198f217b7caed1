/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <sys/types.h>
#include <systemd/sd-bus.h>

#include "image.h"
#include "macro.h"
#include "metadata-cache.h"
#include "portable-metadata.h"
#include "reader-spare.h"
#include "verity-cache.h"

/* Reading an image, from the daemon's side: the image is opened and checked here, then read by
 * a confined child (reader-child.h) whose answers are checked by reader-receive.h. Reading never
 * blocks the caller: it watches two file descriptors (the socket the answers arrive on and a
 * pidfd that becomes readable when the child has exited) and calls image_reader_process() when
 * either is readable. The result of a raw image or block device is final only once the child has
 * exited, so that its mount and loop device are gone when the caller goes on; a directory image's
 * once the child sent all and hung up (image_reader_take_child()).
 *
 * image_read_metadata_full() in image-metadata.h wraps this in a loop for synchronous callers.
 *
 * Raw images and block devices: the verity data next to the image (NAME.roothash, NAME.usrhash,
 * their .p7s signatures, NAME.verity, the user.verity.* xattrs: verity.h) is collected here and
 * handed to the child with the image, which dissects, checks and verifies before it mounts
 * (reader-raw.h) and reports what it found (PortableMetadata.layout). The identity of a regular
 * file (device, inode, size, modification and change time) is taken when it is opened and again
 * when the child is done: an image that changed meanwhile is refused, since what was verified may
 * not be what was read. Only then does the verity cache learn what the child verified, keyed on
 * that identity (see reader-receive.h for why the child's word is taken at all).
 *
 * With a metadata cache (metadata-cache.h), a raw image file without verity data that was read
 * before with the same request, and has not changed since, is not read again: the reader is then
 * done as soon as it is started, without a child (image_reader_process() returns 1 at once,
 * image_reader_socket_fd() and image_reader_pidfd() return -EBADF), and its result is a copy of
 * the earlier one. What such a read finds goes into the cache once the child has exited and the
 * file is found unchanged. */

typedef struct ImageReader ImageReader;

typedef struct ImageReadRequest {
        char * const *matches;      /* unit prefixes; NULL: every portable unit; image_read_no_units */
        char * const *check_paths;  /* paths to report as missing if the image lacks them; see
                                     * IMAGE_CHECK_EXECUTABLE (portable-metadata.h) */

        /* Raw images and block devices: */
        char * const *image_policies; /* each must allow the image (image-policy.h syntax), checked
                                       * before anything is mounted; NULL: everything is allowed */
        const char *trust_root;       /* trusted verity certificates are looked up below it; NULL: "/" */
        VerityCache *verity_cache;    /* what it holds for the unchanged file is not verified again, and
                                       * what the reader verified is added; NULL: verify every time */
        MetadataCache *metadata_cache; /* what an unchanged file gave before is answered from it, see
                                        * above; NULL: read every time */
        ReaderSandbox *sandbox;     /* what readers take that was made ahead of time (its
                                     * filter compiled, a network namespace; the one taken);
                                     * NULL: made for this read */
        ReaderSpare **spare;        /* directory images: a reader started ahead of time
                                     * (reader-spare.h) reads it, if there is one (taken);
                                     * NULL: a reader is started for this read */
        bool extension;             /* an extension layer: read its extension-release (found for the
                                     * image's name) instead of an os-release */
        bool force_extension;       /* PORTABLE_FORCE_EXTENSION: relax how that file is found */
} ImageReadRequest;

int image_reader_start(const Image *image, const ImageReadRequest *request, ImageReader **ret, sd_bus_error *reterr);

/* What a reader takes that can be made before it is needed: its seccomp filter, compiled, and the
 * network and IPC namespaces every reader joins, into sandbox (reader-sandbox.h); a spare reader
 * in *spare unless there is one (spare may be NULL: none; started by running spare_helper if not
 * NULL, see reader_spare_start()). A daemon calls it when it is idle, after a reader started, and
 * passes sandbox and spare with its requests; image_reader_start() works without them, only
 * slower. A failure to make the namespaces is returned, but the spare is started all the same. */
int image_reader_prepare(ReaderSandbox *sandbox, ReaderSpare **spare, const char *spare_helper);

/* Takes over a reader child started some other way (pid, a pidfd of it and our end of its
 * socket, all taken): tests use it to hold the receiving side to its promises with children
 * that lie or misbehave. */
int image_reader_adopt(const Image *image, const ImageReadRequest *request, pid_t pid, int pidfd, int sock,
                       ImageReader **ret);

int image_reader_socket_fd(const ImageReader *r);
int image_reader_pidfd(const ImageReader *r);

/* Whether the answer came from the metadata cache (no child was started). */
bool image_reader_from_cache(const ImageReader *r);

/* Handles whatever happened. Returns 0 while the read goes on, 1 once it is over (successfully
 * or not: see image_reader_result()). */
int image_reader_process(ImageReader *r);

/* Kills the child (on a timeout, or when the caller gives up). The read then fails. */
void image_reader_kill(ImageReader *r, const char *reason);

/* After process() returned 1: 0 and the metadata, or the error (negative errno, reterr set). */
int image_reader_result(ImageReader *r, PortableMetadata **ret, sd_bus_error *reterr);

/* A directory image's reader is done once its child sent everything and hung up; the child may
 * still be on its way out then (see image_reader_process()). Kills it if it has not exited and
 * hands over a pidfd of it, for the caller to reap when it is gone, so that freeing the reader
 * does not wait for that; -EBADF if there is nothing left to reap. */
int image_reader_take_child(ImageReader *r);

/* Kills and reaps a child that is still running. */
ImageReader *image_reader_free(ImageReader *r);
DEFINE_TRIVIAL_CLEANUP_FUNC(ImageReader *, image_reader_free);
