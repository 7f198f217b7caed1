/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "fd-util.h"
#include "image-layout.h"
#include "reader-protocol.h"

/* How long a descriptor waits for the in-flight ones of other processes: 1 ms at a time, 10 s in
 * all (reading times out after PORTABLE_READ_TIMEOUT_USEC anyway). */
#define READER_SEND_RETRY_NSEC 1000000L
#define READER_SEND_RETRIES 10000U

int reader_send(int sock, ReaderMessageType type, const char *const *fields, int fd) {
        char buf[READER_MESSAGE_MAX];
        union {
                struct cmsghdr cmsghdr;
                uint8_t buf[CMSG_SPACE(sizeof(int))];
        } control = {};
        struct msghdr mh = {};
        struct iovec iov;
        size_t n = 1;

        buf[0] = (char) type;
        for (const char *const *f = fields; f && *f; f++) {
                size_t k = strlen(*f) + 1;

                if (n + k > sizeof(buf))
                        return -E2BIG;
                memcpy(buf + n, *f, k);
                n += k;
        }

        iov = (struct iovec) { .iov_base = buf, .iov_len = n };
        mh = (struct msghdr) { .msg_iov = &iov, .msg_iovlen = 1 };
        if (fd >= 0) {
                struct cmsghdr *c;

                mh.msg_control = &control;
                mh.msg_controllen = sizeof(control);
                c = CMSG_FIRSTHDR(&mh);
                c->cmsg_level = SOL_SOCKET;
                c->cmsg_type = SCM_RIGHTS;
                c->cmsg_len = CMSG_LEN(sizeof(int));
                memcpy(CMSG_DATA(c), &fd, sizeof(int));
        }

        for (unsigned attempt = 0;; attempt++) {
                if (sendmsg(sock, &mh, MSG_NOSIGNAL) >= 0)
                        return 0;
                if (errno == EINTR)
                        continue;
                /* The kernel refuses to pass a descriptor while more of our user's (uid 0, the
                 * whole system's) are in flight than RLIMIT_NOFILE, which in the reader is small:
                 * other root processes passing descriptors cause that for a moment. Wait for them
                 * to be received rather than fail the read. */
                if (errno != ETOOMANYREFS || fd < 0 || attempt >= READER_SEND_RETRIES)
                        return -errno;
                (void) nanosleep(&(struct timespec) { .tv_nsec = READER_SEND_RETRY_NSEC }, NULL);
        }
}

ssize_t reader_receive(int sock, void *buf, size_t size, int flags, int *ret_fd) {
        union {
                struct cmsghdr cmsghdr;
                uint8_t buf[CMSG_SPACE(sizeof(int) * 8)];
        } control;
        struct iovec iov = { .iov_base = buf, .iov_len = size };
        struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = &control, .msg_controllen = sizeof(control) };
        _cleanup_close_ int fd = -EBADF;
        bool extra_fds = false;
        ssize_t n;

        do
                n = recvmsg(sock, &mh, flags | MSG_CMSG_CLOEXEC);
        while (n < 0 && errno == EINTR);
        if (n < 0)
                return -errno;

        /* Descriptors beyond what control holds were never installed (MSG_CTRUNC says so). */
        for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
                int fds[8];
                size_t k;

                if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
                        continue;
                k = MIN((c->cmsg_len - CMSG_LEN(0)) / sizeof(int), ELEMENTSOF(fds));
                memcpy(fds, CMSG_DATA(c), sizeof(int) * k);
                for (size_t i = 0; i < k; i++) {
                        if (fd < 0)
                                fd = fds[i];
                        else {
                                safe_close(fds[i]);
                                extra_fds = true;
                        }
                }
        }
        if (extra_fds || (mh.msg_flags & (MSG_TRUNC | MSG_CTRUNC)))
                return -EBADMSG;

        *ret_fd = TAKE_FD(fd);
        return n;
}

static int memfd_with_data(const char *name, const char *data, size_t size) {
        _cleanup_close_ int fd = -EBADF;

        fd = memfd_create(name, MFD_CLOEXEC | MFD_ALLOW_SEALING);
        if (fd < 0)
                return -errno;

        for (size_t done = 0; done < size;) {
                ssize_t n = write(fd, data + done, size - done);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                done += (size_t) n;
        }

        if (fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL) < 0)
                return -errno;
        return TAKE_FD(fd);
}

int reader_send_file(int sock, ReaderMessageType type, const char *name, const char *source, const char *data,
                     size_t size) {
        _cleanup_close_ int fd = memfd_with_data(type == READER_UNIT ? name : "os-release", data, size);
        const char *fields[] = { name, strempty(source), NULL };

        if (fd < 0)
                return fd;
        if (type != READER_UNIT)
                fields[1] = NULL;
        return reader_send(sock, type, fields, fd);
}

int reader_send_partition(int sock, PartitionDesignator d, const char *fstype, PartitionProtection protection,
                          VeritySignatureResult signature, const char *root_hash_hex) {
        const char *fields[] = {
                partition_designator_to_string(d),
                strempty(fstype),
                partition_protection_to_string(protection),
                verity_signature_result_to_string(signature),
                strempty(root_hash_hex),
                NULL,
        };

        if (!fields[0] || !fields[2] || !fields[3])
                return -EINVAL;
        return reader_send(sock, READER_PARTITION, fields, -EBADF);
}

int reader_send_verified(int sock, PartitionDesignator d, uint64_t offset, const char *root_hash_hex, uint64_t covered,
                         bool cached) {
        char o[32], c[32];
        const char *fields[] = { partition_designator_to_string(d), o, root_hash_hex, c, cached ? "cached" : "checked", NULL };

        if (!fields[0] || !root_hash_hex)
                return -EINVAL;
        snprintf(o, sizeof(o), "%" PRIu64, offset);
        snprintf(c, sizeof(c), "%" PRIu64, covered);
        return reader_send(sock, READER_VERIFIED, fields, -EBADF);
}

int reader_send_layout(int sock, const char *pinned_policy) {
        return reader_send(sock, READER_LAYOUT, (const char *const[]) { strempty(pinned_policy), NULL }, -EBADF);
}

int reader_send_extension_release(int sock, const char *path, ExtensionClass class, ExtensionReleaseMatch match,
                                  const char *data, size_t size) {
        _cleanup_close_ int fd = memfd_with_data("extension-release", data, size);
        const char *fields[] = { path, extension_class_to_string(class), extension_release_match_to_string(match),
                                 NULL };

        if (fd < 0)
                return fd;
        if (!fields[1] || !fields[2])
                return -EINVAL;
        return reader_send(sock, READER_EXTENSION_RELEASE, fields, fd);
}

void reader_send_error(int sock, int r, const sd_bus_error *e) {
        char number[16], message[READER_MESSAGE_MAX / 2];
        const char *fields[] = { number, "", message, NULL };

        snprintf(number, sizeof(number), "%i", r < 0 ? -r : r);
        if (e && e->name)
                fields[1] = e->name;
        /* Truncated rather than lost: the message must fit in one datagram. */
        snprintf(message, sizeof(message), "%s", e && e->message ? e->message : strerror(r < 0 ? -r : r));
        (void) reader_send(sock, READER_ERROR, fields, -EBADF);
}
