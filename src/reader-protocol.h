/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <systemd/sd-bus.h>

#include "image-dissect.h"
#include "verity-signature.h"
#include "extension-release.h"

/* The one message format between the image reader child and the daemon: one datagram of a
 * SOCK_SEQPACKET socket per message, at most READER_MESSAGE_MAX bytes, carrying at most one file
 * descriptor.
 *
 *   byte 0        the type, below
 *   bytes 1..n    the payload: text fields, each terminated by NUL
 *
 *   'O' os-release  path inside the image                fd: sealed memfd with its bytes
 *   'X' extension-release (instead of 'O', when the daemon asked for an extension layer)
 *                   path inside the image, class ("sysext", "confext"), how it was found
 *                   ("exact", "xattr", "stripped", "forced")   fd: sealed memfd with its bytes
 *   'U' unit        unit name, source                    fd: sealed memfd with its bytes
 *                   (source: the file's canonical path inside a directory image, when it is a
 *                   regular file reached without symlinks; empty otherwise)
 *   'W' warning     text
 *   'M' missing     a path the daemon asked about that the image lacks
 *   'E' error       errno in decimal, D-Bus error name (may be empty), message
 *   'D' done        nothing: everything has been sent
 *
 * For raw images and block devices, first of all and before the child mounts anything (see
 * reader-raw.h; directory images never send these):
 *
 *   'P' partition   designator ("root", "usr"), file system type, protection ("unprotected",
 *                   "verity", "signed"), signature verdict ("unsigned", "trusted", "untrusted"),
 *                   root hash in hex (empty when unprotected); one per data partition used
 *   'V' verified    designator, offset of its data in the image (decimal), root hash in hex, bytes
 *                   covered by the hash tree (decimal), "checked" (just now) or "cached" (the
 *                   daemon said so in its request); after the 'P' of that partition
 *   'L' layout      the image policy pinning what was found (image-policy.h syntax); sent last,
 *                   right before the child mounts the image: the daemon refuses 'P' and 'V' after
 *                   it, and anything but 'P', 'V' and 'E' before it
 *
 * The daemon trusts none of it: see reader-receive.h. */

#define READER_MESSAGE_MAX 8192U

typedef enum ReaderMessageType {
        READER_OS_RELEASE = 'O',
        READER_EXTENSION_RELEASE = 'X',
        READER_UNIT = 'U',
        READER_WARNING = 'W',
        READER_MISSING = 'M',
        READER_ERROR = 'E',
        READER_DONE = 'D',
        READER_PARTITION = 'P',
        READER_VERIFIED = 'V',
        READER_LAYOUT = 'L',
} ReaderMessageType;

/* Sends one message made of the NUL-terminated fields (NULL-terminated list) and fd (or -1).
 * While the kernel refuses to pass fd because too many descriptors of the user are in flight
 * (ETOOMANYREFS: readers without capabilities are held to their RLIMIT_NOFILE, counted over every
 * process of the user, and all readers run as root), it waits and tries again: the count drops as
 * the daemon receives, and the daemon's read timeout bounds the wait. */
int reader_send(int sock, ReaderMessageType type, const char *const *fields, int fd);

/* Receives one message into buf: returns its size (0 when the peer hung up) and the descriptor
 * that came with it in ret_fd (-EBADF if none). Every descriptor that arrived is taken first, so
 * that none leaks whatever the message is; more than one descriptor, or a message or control data
 * cut short, is -EBADMSG with all of them closed. flags: 0 or MSG_DONTWAIT (then -EAGAIN while
 * nothing is there). Both ends use it: the daemon for the reader's answers, a spare reader for
 * its request. */
ssize_t reader_receive(int sock, void *buf, size_t size, int flags, int *ret_fd);

/* Sends a file as a sealed memfd holding a copy of data, so that the daemon gets the bytes and
 * nothing that refers back into the image. */
int reader_send_file(int sock, ReaderMessageType type, const char *name, const char *source, const char *data,
                     size_t size);

int reader_send_partition(int sock, PartitionDesignator d, const char *fstype, PartitionProtection protection,
                          VeritySignatureResult signature, const char *root_hash_hex);
int reader_send_verified(int sock, PartitionDesignator d, uint64_t offset, const char *root_hash_hex, uint64_t covered,
                         bool cached);
int reader_send_layout(int sock, const char *pinned_policy);
/* Sends an extension's release file (m->extension set): 'X' with its path, class and match. */
int reader_send_extension_release(int sock, const char *path, ExtensionClass class, ExtensionReleaseMatch match,
                                  const char *data, size_t size);

/* Sends error r (negative errno) with the details in e, if any. */
void reader_send_error(int sock, int r, const sd_bus_error *e);
