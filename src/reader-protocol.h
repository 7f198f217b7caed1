/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stddef.h>
#include <systemd/sd-bus.h>

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
} ReaderMessageType;

/* Sends one message made of the NUL-terminated fields (NULL-terminated list) and fd (or -1). */
int reader_send(int sock, ReaderMessageType type, const char *const *fields, int fd);

/* Sends a file as a sealed memfd holding a copy of data, so that the daemon gets the bytes and
 * nothing that refers back into the image. */
int reader_send_file(int sock, ReaderMessageType type, const char *name, const char *source, const char *data,
                     size_t size);

/* Sends an extension's release file (m->extension set): 'X' with its path, class and match. */
int reader_send_extension_release(int sock, const char *path, ExtensionClass class, ExtensionReleaseMatch match,
                                  const char *data, size_t size);

/* Sends error r (negative errno) with the details in e, if any. */
void reader_send_error(int sock, int r, const sd_bus_error *e);
