/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <poll.h>
#include <time.h>

#include "image-metadata.h"
#include "image-reader.h"
#include "portable-error.h"
#include "portable-limits.h"

static uint64_t now_usec(void) {
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * 1000000U + (uint64_t) ts.tv_nsec / 1000U;
}

int image_read_metadata_full(const Image *image, char * const *matches, char * const *check_paths,
                             PortableMetadata **ret, sd_bus_error *reterr) {
        const ImageReadRequest request = { .matches = matches, .check_paths = check_paths };

        return image_read_metadata_request(image, &request, ret, reterr);
}

int image_read_metadata_request(const Image *image, const ImageReadRequest *request, PortableMetadata **ret,
                                sd_bus_error *reterr) {
        _cleanup_(image_reader_freep) ImageReader *reader = NULL;
        uint64_t deadline = now_usec() + PORTABLE_READ_TIMEOUT_USEC;
        int r;

        r = image_reader_start(image, request, &reader, reterr);
        if (r < 0)
                return r;

        while (image_reader_process(reader) == 0) {
                struct pollfd fds[] = {
                        { .fd = image_reader_socket_fd(reader), .events = POLLIN },
                        { .fd = image_reader_pidfd(reader), .events = POLLIN },
                };
                uint64_t now = now_usec();

                if (now >= deadline) {
                        image_reader_kill(reader, "reading the image timed out");
                        continue;
                }
                if (poll(fds, ELEMENTSOF(fds), (int) ((deadline - now + 999) / 1000)) < 0 && errno != EINTR)
                        return -errno;
        }

        return image_reader_result(reader, ret, reterr);
}
