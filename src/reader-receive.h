/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stddef.h>
#include <systemd/sd-bus.h>

#include "macro.h"
#include "portable-metadata.h"

/* The daemon's side of the reader protocol (reader-protocol.h). The child reads an untrusted file
 * system and may have been subverted by it, so nothing it sends is believed unchecked:
 *   - only the message types of the protocol, well formed, and nothing after 'D' or 'E';
 *   - a file descriptor only where a file is due, and only a sealed memfd (a pipe or socket could
 *     block the daemon, a writable file could change under it): F_GET_SEALS must show write, grow
 *     and shrink sealed, and its size must be within the limit before a byte is read;
 *   - os-release only from one of the known paths, once, valid UTF-8;
 *   - units only with valid names of portable types that match the requested prefixes, each once,
 *     at most PORTABLE_UNITS_MAX, all files together within PORTABLE_SIZE_MAX_METADATA;
 *   - sources only as relative, normalised paths (the caller checks them against the image);
 *   - "missing" only for paths that were asked about; at most PORTABLE_WARNINGS_MAX warnings.
 * The first violation ends the read with an error that names the image. Every fd received is
 * closed, whatever happens. */

typedef struct ReaderReceiver ReaderReceiver;

int reader_receiver_new(const char *image_label, char * const *matches, char * const *check_paths,
                        ReaderReceiver **ret);
ReaderReceiver *reader_receiver_free(ReaderReceiver *rr);
DEFINE_TRIVIAL_CLEANUP_FUNC(ReaderReceiver *, reader_receiver_free);

/* Handles one message: size bytes of buf, and fd (taken, may be -1). Returns 0 if more messages
 * are due, 1 once 'D' was handled, or a negative errno with reterr set: a violation, or the
 * error the child reported. */
int reader_receiver_handle(ReaderReceiver *rr, const char *buf, size_t size, int fd, sd_bus_error *reterr);

/* Receives and handles what is queued on sock without blocking. Returns as above; 0 also when
 * nothing is queued; -EPIPE (reterr set) if the child hung up without 'D'. Called again after 'D',
 * it returns 1 if the child hung up and an error if it sent anything more. */
int reader_receiver_process(ReaderReceiver *rr, int sock, sd_bus_error *reterr);

/* After 1 was returned: the metadata, sorted. */
PortableMetadata *reader_receiver_steal(ReaderReceiver *rr);
