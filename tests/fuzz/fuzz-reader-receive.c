/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "extension-release.h"
#include "fd-util.h"
#include "fuzz.h"
#include "os-release.h"
#include "path-util.h"
#include "portable-limits.h"
#include "reader-protocol.h"
#include "reader-receive.h"
#include "strv.h"
#include "unit-match.h"

/* The image reader parses a hostile file system, so the daemon treats everything it says as
 * hostile too (reader-receive.h). This target plays a subverted reader: it sends any sequence of
 * messages, with any kind of descriptor, and checks what the daemon made of it.
 *
 * Input: one byte of settings, then records separated by 0x1e. A record is one byte naming the
 * descriptor sent with it, the message (its type, then its fields, with '|' standing for the NUL
 * that ends each: "Ufuzz.service||"), and after an optional 0x1f the bytes of the file sent:
 *   's' a sealed memfd with those bytes       'g' the same, but not sealed against growing
 *   'u' an unsealed memfd with those bytes    'p' a pipe with those bytes in it
 *   'b' a sealed memfd of exactly the size limit of a unit file (zeros)
 *   anything else: no descriptor
 * Settings: bit 0 an extension layer is read, bit 1 with force, bit 2 a raw image (the layout
 * comes first), bit 3 the daemon said it verified one partition before.
 *
 * Properties: every descriptor sent is closed once handled, and taken only as the file of a
 * release or unit message, in a sealed memfd; every refusal sets an error, which
 * names the image unless the reader's own error is passed on; the first answer other than 0 ends
 * the exchange and nothing is accepted after 'D'; and what the daemon keeps after 'D' is only
 * what it asked for, within every limit (check_metadata()). */

#define LABEL "/images/fuzz_1.raw"
#define RECORD_SEPARATOR '\x1e'
#define CONTENT_SEPARATOR '\x1f'
#define IMAGE_SIZE (1024U * 1024U)
#define CACHED_OFFSET 4096U
#define CACHED_COVERED 65536U

static char *matches[] = { (char *) "fuzz", (char *) "other", NULL };
static char *check_paths[] = { (char *) "/usr/bin/fuzz", (char *) "/etc/resolv.conf", NULL };

enum {
        SETTING_EXTENSION = 1 << 0,
        SETTING_FORCE = 1 << 1,
        SETTING_LAYOUT = 1 << 2,
        SETTING_CACHED = 1 << 3,
};

static int memfd_with(const char *data, size_t size, unsigned seals) {
        int fd = memfd_create("fuzz", MFD_CLOEXEC | MFD_ALLOW_SEALING);

        FUZZ_CHECK(fd >= 0);
        FUZZ_CHECK(size == 0 || write(fd, data, size) == (ssize_t) size);
        FUZZ_CHECK(seals == 0 || fcntl(fd, F_ADD_SEALS, seals) == 0);
        return fd;
}

static int make_fd(char kind, const char *data, size_t size) {
        const unsigned sealed = F_SEAL_WRITE | F_SEAL_GROW | F_SEAL_SHRINK | F_SEAL_SEAL;
        int fd, pipe_fds[2];

        switch (kind) {
        case 's':
                return memfd_with(data, size, sealed);
        case 'g':
                return memfd_with(data, size, F_SEAL_WRITE | F_SEAL_SHRINK);
        case 'u':
                return memfd_with(data, size, 0);
        case 'b':
                fd = memfd_with(NULL, 0, 0);
                FUZZ_CHECK(ftruncate(fd, PORTABLE_SIZE_MAX_UNIT_FILE) == 0);
                FUZZ_CHECK(fcntl(fd, F_ADD_SEALS, sealed) == 0);
                return fd;
        case 'p':
                /* The input is smaller than a pipe's buffer. */
                FUZZ_CHECK(pipe2(pipe_fds, O_CLOEXEC) == 0);
                FUZZ_CHECK(size == 0 || write(pipe_fds[1], data, size) == (ssize_t) size);
                safe_close(pipe_fds[1]);
                return pipe_fds[0];
        default:
                return -EBADF;
        }
}

static bool fd_is_closed(int fd) {
        return fcntl(fd, F_GETFD) < 0 && errno == EBADF;
}

static bool is_release_path(const PortableMetadata *m) {
        const char *name = m->os_release.name;

        if (!m->extension)
                return strv_contains((char **) os_release_paths, name);
        const char *dir = extension_class_release_dir(m->extension_class);
        return dir && startswith(name, dir) && startswith(name + strlen(dir), "/extension-release.");
}

static bool source_is_relative_normalized(const char *source) {
        _cleanup_free_ char *absolute = NULL;

        if (!source)
                return true;
        FUZZ_CHECK(asprintf(&absolute, "/%s", source) >= 0);
        return source[0] != '/' && path_is_normalized_absolute(absolute);
}

static void check_layout(const ReaderReceiver *rr, const ImageLayout *l, unsigned settings) {
        const ReaderVerified *verified;
        size_t n_verified;
        bool any = false;

        FUZZ_CHECK(l && l->pinned_policy);
        for (size_t i = 0; i < ELEMENTSOF(l->partitions); i++) {
                const LayoutPartition *p = &l->partitions[i];

                if (!p->found)
                        continue;
                any = true;
                FUZZ_CHECK(p->fstype);
                if (p->protection != PARTITION_UNPROTECTED)
                        FUZZ_CHECK(p->verified && p->root_hash);
        }
        FUZZ_CHECK(any);

        verified = reader_receiver_verified(rr, &n_verified);
        FUZZ_CHECK(n_verified <= 2);
        for (size_t i = 0; i < n_verified; i++) {
                const ReaderVerified *v = &verified[i];

                FUZZ_CHECK(v->covered > 0 && v->offset <= IMAGE_SIZE && v->covered <= IMAGE_SIZE - v->offset);
                if (v->cached)
                        FUZZ_CHECK((settings & SETTING_CACHED) && v->offset == CACHED_OFFSET &&
                                   v->covered == CACHED_COVERED);
                for (size_t j = 0; j < i; j++)
                        FUZZ_CHECK(verified[j].designator != v->designator);
        }
}

static void check_metadata(const ReaderReceiver *rr, const PortableMetadata *m, unsigned settings) {
        size_t total;

        FUZZ_CHECK(m);
        FUZZ_CHECK(m->os_release.name && m->os_release.data);
        FUZZ_CHECK(m->extension == !!(settings & SETTING_EXTENSION));
        FUZZ_CHECK(is_release_path(m));
        FUZZ_CHECK(m->os_release.size <= PORTABLE_SIZE_MAX_RELEASE_FILE);
        total = m->os_release.size;

        FUZZ_CHECK(m->n_units <= PORTABLE_UNITS_MAX);
        for (size_t i = 0; i < m->n_units; i++) {
                const PortableFile *u = &m->units[i];

                FUZZ_CHECK(unit_name_is_valid(u->name, UNIT_NAME_ANY));
                FUZZ_CHECK(unit_name_is_portable_type(u->name));
                FUZZ_CHECK(unit_name_matches_prefixes(u->name, matches));
                FUZZ_CHECK(i == 0 || strcmp(m->units[i - 1].name, u->name) < 0);
                FUZZ_CHECK(u->size <= PORTABLE_SIZE_MAX_UNIT_FILE && u->data[u->size] == '\0');
                FUZZ_CHECK(source_is_relative_normalized(u->source));
                total += u->size;
        }
        FUZZ_CHECK(total <= PORTABLE_SIZE_MAX_METADATA);

        STRV_FOREACH(p, m->missing) {
                FUZZ_CHECK(strv_contains(check_paths, *p));
                for (char **q = m->missing; q < p; q++)
                        FUZZ_CHECK(!streq(*q, *p));
        }
        FUZZ_CHECK(strv_length(m->warnings) <= PORTABLE_WARNINGS_MAX + 1);

        if (settings & SETTING_LAYOUT)
                check_layout(rr, m->layout, settings);
        else
                FUZZ_CHECK(!m->layout);
}

static ReaderReceiver *new_receiver(unsigned settings) {
        ReaderReceiver *rr;

        FUZZ_CHECK(reader_receiver_new(LABEL, matches, check_paths, &rr) == 0);
        if (settings & SETTING_EXTENSION)
                FUZZ_CHECK(reader_receiver_expect_extension(rr, "fuzz_1", settings & SETTING_FORCE) == 0);
        if (settings & SETTING_LAYOUT) {
                VerityIdentity cached = { .data_offset = CACHED_OFFSET, .root_hash_size = 32 };
                uint64_t covered = CACHED_COVERED;

                memset(cached.root_hash, 0xab, 32);
                FUZZ_CHECK(reader_receiver_expect_layout(rr, IMAGE_SIZE, &cached, &covered,
                                                         settings & SETTING_CACHED ? 1 : 0) == 0);
        }
        return rr;
}

/* Handles one record; returns what reader_receiver_handle() returned. */
static int handle_record(ReaderReceiver *rr, const uint8_t *record, size_t size) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_free_ char *message = NULL;
        const uint8_t *content;
        size_t message_size;
        int fd, r;

        if (size == 0)
                return 0;
        content = memchr(record + 1, CONTENT_SEPARATOR, size - 1);
        message_size = (content ? (size_t) (content - record) : size) - 1;
        /* Exactly the bytes of the message, no terminator after them: reading past its end is
         * a memory error (the socket buffer it comes from in the daemon is larger). */
        message = malloc(MAX(message_size, 1U));
        FUZZ_CHECK(message);
        for (size_t i = 0; i < message_size; i++)
                message[i] = record[1 + i] == '|' ? '\0' : (char) record[1 + i];
        fd = content ? make_fd(record[0], (const char *) content + 1, size - (size_t) (content + 1 - record))
                     : make_fd(record[0], NULL, 0);

        r = reader_receiver_handle(rr, message, message_size, fd, &error);
        if (fd >= 0)
                FUZZ_CHECK(fd_is_closed(fd));
        FUZZ_CHECK(r <= 1 && r > -4096);
        /* A descriptor is only ever taken as a file that was due, and only as a sealed memfd. */
        if (r >= 0 && fd >= 0) {
                FUZZ_CHECK(message_size > 0);
                FUZZ_CHECK(record[0] == 's' || record[0] == 'b');
                FUZZ_CHECK(message[0] == READER_OS_RELEASE || message[0] == READER_EXTENSION_RELEASE ||
                           message[0] == READER_UNIT);
        }
        if (r < 0 && r != -ENOMEM) {
                FUZZ_CHECK(sd_bus_error_is_set(&error));
                /* The reader's own error ('E') is passed on as it said it; refusals name the image. */
                if (message_size == 0 || message[0] != READER_ERROR)
                        FUZZ_CHECK(error.message && strstr(error.message, "'" LABEL "'"));
        }
        return r;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        _cleanup_(reader_receiver_freep) ReaderReceiver *rr = NULL;
        _cleanup_(portable_metadata_freep) PortableMetadata *m = NULL;
        unsigned settings;
        int r = 0;

        if (size < 1)
                return 0;
        settings = data[0];
        rr = new_receiver(settings);

        for (const uint8_t *p = data + 1, *end = data + size; p < end && r == 0;) {
                const uint8_t *sep = memchr(p, RECORD_SEPARATOR, (size_t) (end - p));
                const uint8_t *record_end = sep ? sep : end;

                r = handle_record(rr, p, (size_t) (record_end - p));
                p = record_end + (sep ? 1 : 0);
        }

        if (r != 1) {
                FUZZ_CHECK(!reader_receiver_steal(rr));
                return 0;
        }

        /* Done: nothing more is taken, not even another 'D'. */
        {
                _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;

                FUZZ_CHECK(reader_receiver_handle(rr, "D", 1, -EBADF, &error) < 0);
        }
        m = reader_receiver_steal(rr);
        check_metadata(rr, m, settings);
        return 0;
}
