/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "macro.h"

/* What the daemon tells a reader that was started before its image was known (reader-spare.h):
 * the one message such a reader waits for, on the reader's socket (reader-protocol.h), in the
 * other direction:
 *
 *   'R' request     image path (for messages), image name, flags ("extension", "force-extension"
 *                   or ""), the number of matches in decimal or "all" for none given, the
 *                   matches, then the paths to check      fd: the directory image, a detached
 *                   clone of its mount (open_tree())
 *
 * Only directory images are read this way: a raw image needs its verity data and cache entries
 * handed over too, and its reading costs far more than the start of a reader. */

#define READER_REQUEST 'R'

typedef struct ReaderRequest {
        char *image_path;
        char *image_name;
        bool extension;
        bool force_extension;
        char **matches;       /* NULL: every portable unit */
        char **check_paths;
} ReaderRequest;

void reader_request_done(ReaderRequest *r);

/* -E2BIG if it does not fit in one message: the caller starts a reader of its own instead. */
int reader_request_send(int sock, const char *image_path, const char *image_name, bool extension,
                        bool force_extension, char * const *matches, char * const *check_paths, int tree_fd);

/* Parses the payload of one message (type byte included). -EBADMSG if it is not a request. */
int reader_request_parse(const char *buf, size_t size, ReaderRequest *ret);

/* Waits for the request and the directory. 0 if the daemon hung up without sending one (it has no
 * use for us any more), 1 with both filled in. */
int reader_request_receive(int sock, ReaderRequest *ret, int *ret_tree_fd);
