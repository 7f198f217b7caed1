/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <systemd/sd-bus.h>

#include "macro.h"
#include "portable-metadata.h"
#include "verity-cache.h"

/* The daemon's side of the reader protocol (reader-protocol.h). The child reads an untrusted file
 * system and may have been subverted by it, so nothing it sends is believed unchecked:
 *   - only the message types of the protocol, well formed, and nothing after 'D' or 'E';
 *   - a file descriptor only where a file is due, and only a sealed memfd (a pipe or socket could
 *     block the daemon, a writable file could change under it): F_GET_SEALS must show write, grow
 *     and shrink sealed, and its size must be within the limit before a byte is read;
 *   - os-release only from one of the known paths, once, valid UTF-8; for an extension layer
 *     instead an extension-release ('X') only from its class's directory, once, valid UTF-8, and
 *     under a name that the way it says it was found allows: the image's own name when exact,
 *     the name without version when stripped, any valid name only by xattr or when force was
 *     given;
 *   - units only with valid names of portable types that match the requested prefixes, each once,
 *     at most PORTABLE_UNITS_MAX, all files together within PORTABLE_SIZE_MAX_METADATA;
 *   - sources only as relative, normalised paths (the caller checks them against the image);
 *   - "missing" only for paths that were asked about; at most PORTABLE_WARNINGS_MAX warnings;
 *   - for raw images and block devices (reader_receiver_expect_layout()), the layout first: each
 *     data partition once, with a file system we mount and a protection consistent with its
 *     signature verdict; a verification only of a partition announced as protected, with the same
 *     root hash, within the image; "cached" only for what the daemon said it verified before;
 *     every protected partition verified before the layout is complete; nothing of the layout
 *     after it, nothing else before it.
 * The first violation ends the read with an error that names the image. Every fd received is
 * closed, whatever happens.
 *
 * Why a report of "verified" from the child can be believed at all: the child verifies before it
 * mounts anything, and until then it has only parsed the partition table, file system superblocks
 * (libblkid), the verity signature partition (json-c) and the signature (OpenSSL), and run
 * libcryptsetup: as root with every capability, in namespaces of its own but before pivot_root(),
 * i.e. with the host's file system in reach. A child subverted in that phase owns the host anyway,
 * and nothing it could say would make that worse. The code that parses the untrusted file system
 * (the kernel's file system driver, then image-read.c) runs only after the child has sent 'L', and
 * the socket keeps what was sent in order: anything a child subverted by the file system could say
 * comes after 'L', where 'V' is refused. What the daemon records is keyed on its own identity of
 * the file (verity-cache.h), taken from the fd it opened and checked again once the child is done
 * (image-reader.h): a child can only ever vouch for the very bytes the daemon handed it. */

typedef struct ReaderReceiver ReaderReceiver;

int reader_receiver_new(const char *image_label, char * const *matches, char * const *check_paths,
                        ReaderReceiver **ret);
/* Expect an extension layer: an 'X' message instead of 'O'. image_name is the extension's image
 * name (Image.name), force whether PORTABLE_FORCE_EXTENSION was given. */
int reader_receiver_expect_extension(ReaderReceiver *rr, const char *image_name, bool force);

ReaderReceiver *reader_receiver_free(ReaderReceiver *rr);
DEFINE_TRIVIAL_CLEANUP_FUNC(ReaderReceiver *, reader_receiver_free);

/* Raw images and block devices: the reader must report the image's layout before anything else.
 * image_size bounds offsets; cached (n_cached entries, with the bytes each covered) is what the
 * daemon's request said was verified before, the only partitions the reader may report as
 * "cached". Copied. */
int reader_receiver_expect_layout(ReaderReceiver *rr, uint64_t image_size, const VerityIdentity *cached,
                                  const uint64_t *cached_covered, size_t n_cached);

/* One verification the reader reported. */
typedef struct ReaderVerified {
        PartitionDesignator designator;
        uint64_t offset;
        uint8_t root_hash[VERITY_CACHE_HASH_MAX];
        size_t root_hash_size;
        uint64_t covered;
        bool cached;
} ReaderVerified;

/* After 1 was returned: the verifications reported (at most one per data partition). */
const ReaderVerified *reader_receiver_verified(const ReaderReceiver *rr, size_t *ret_n);

/* Handles one message: size bytes of buf, and fd (taken, may be -1). Returns 0 if more messages
 * are due, 1 once 'D' was handled, or a negative errno with reterr set: a violation, or the
 * error the child reported. */
int reader_receiver_handle(ReaderReceiver *rr, const char *buf, size_t size, int fd, sd_bus_error *reterr);

/* Receives and handles what is queued on sock without blocking. Returns as above; 0 also when
 * nothing is queued; -EPIPE (reterr set) if the child hung up without 'D'. Called again after 'D',
 * it returns 1 if the child hung up and an error if it sent anything more. */
int reader_receiver_process(ReaderReceiver *rr, int sock, sd_bus_error *reterr);

/* After 1 was returned: the metadata, sorted, with the layout of a raw image. */
PortableMetadata *reader_receiver_steal(ReaderReceiver *rr);
