/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>

#include "image.h"
#include "macro.h"
#include "reader-sandbox.h"
#include "verity-cache.h"
#include "verity.h"

/* The image reader, on the child's side: given the image (already opened and checked by the
 * daemon) and the socket to answer on, it confines itself (reader-sandbox.h), mounts the image
 * where nobody else sees it (raw images: dissected, checked against the image policies and
 * verified first, see reader-raw.h), reads it (image-read.h) and sends what it found
 * (reader-protocol.h).
 *
 * It is started by fork() from the daemon straight into a new PID namespace, whose pid 1 it is
 * (image-reader.c makes the namespace just for this fork): the daemon sees the reader's fate on
 * the pid it started, and no other process is ever in the namespace. */

typedef struct ReaderChildArgs {
        const Image *image;
        int image_fd;             /* directory: a detached clone of its mount (open_tree());
                                   * raw file or block device: opened O_RDONLY */
        int sock;                 /* SOCK_SEQPACKET, our end */
        int netns_fd;             /* the readers' network namespace to join, or -EBADF */
        int ipcns_fd;             /* the readers' IPC namespace to join, or -EBADF */
        const ReaderSandbox *sandbox; /* its compiled filter, if any (NULL: built here) */
        char * const *matches;
        char * const *check_paths;

        /* Raw images and block devices (see reader-raw.h): */
        const VerityData *verity;         /* sidecars; its hash_fd is kept open for the child */
        char * const *image_policies;
        const char *trust_root;
        const VerityIdentity *verified;   /* what the daemon's cache holds for this file */
        const uint64_t *verified_covered;
        size_t n_verified;
        bool extension;           /* an extension layer: its extension-release instead of os-release */
        bool force_extension;     /* relax how that file is found (extension-release.h) */
} ReaderChildArgs;

_noreturn_ void reader_child_main(ReaderChildArgs *a);

/* A reader started before its image is known (reader-spare.h), on its end of the socket: it sets
 * up its confinement as far as it can without the image and waits, called READER_SPARE_COMM all
 * that time (ps, and the tests, tell it from a reader at work), and then, as READER_COMM, reads
 * the directory image of the one request it gets (reader-request.h). */
#define READER_SPARE_COMM "portabled-spare"
#define READER_COMM "portabled-read"
_noreturn_ void reader_child_spare_main(int sock, const ReaderSandbox *sandbox);
