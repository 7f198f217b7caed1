/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <poll.h>
#include <stdlib.h>

#include "image-metadata.h"
#include "image-reader.h"
#include "portable-error.h"
#include "portable-limits.h"
#include "time-util.h"

/* Drives readers until every one is done (or killed at the deadline). */
static int wait_for_readers(ImageReader **readers, size_t n) {
        uint64_t deadline = monotonic_usec() + PORTABLE_READ_TIMEOUT_USEC;
        struct pollfd *fds = calloc(2 * n, sizeof(struct pollfd));
        int r = 0;

        if (!fds)
                return -ENOMEM;

        for (;;) {
                size_t n_fds = 0;
                uint64_t now = monotonic_usec();

                for (size_t i = 0; i < n; i++) {
                        if (image_reader_process(readers[i]) != 0)
                                continue;
                        if (now >= deadline)
                                image_reader_kill(readers[i], "reading the image timed out");
                        fds[n_fds++] = (struct pollfd) { .fd = image_reader_socket_fd(readers[i]), .events = POLLIN };
                        fds[n_fds++] = (struct pollfd) { .fd = image_reader_pidfd(readers[i]), .events = POLLIN };
                }
                if (n_fds == 0)
                        break;
                /* Once killed, a reader's end shows on its pidfd at once. */
                if (poll(fds, n_fds, now >= deadline ? 100 : (int) ((deadline - now + 999) / 1000)) < 0 &&
                    errno != EINTR) {
                        r = -errno;
                        break;
                }
        }

        free(fds);
        return r;
}

int image_read_metadata_full(const Image *image, char * const *matches, char * const *check_paths,
                             PortableMetadata **ret, sd_bus_error *reterr) {
        const ImageReadRequest request = { .matches = matches, .check_paths = check_paths };

        return image_read_metadata_request(image, &request, ret, reterr);
}

int image_read_metadata_request(const Image *image, const ImageReadRequest *request, PortableMetadata **ret,
                                sd_bus_error *reterr) {
        _cleanup_(image_reader_freep) ImageReader *reader = NULL;
        int r;

        r = image_reader_start(image, request, &reader, reterr);
        if (r < 0)
                return r;

        r = wait_for_readers(&reader, 1);
        if (r < 0)
                return r;

        return image_reader_result(reader, ret, reterr);
}

int image_read_stack_metadata(const Image *image, const Image * const *extensions, size_t n_extensions,
                              char * const *matches, char * const *check_paths, bool force_extension,
                              PortableMetadata ***ret_layers, sd_bus_error *reterr) {
        size_t n = n_extensions + 1;
        ImageReader **readers = NULL;
        PortableMetadata **layers = NULL;
        int r = 0;

        readers = calloc(n, sizeof(ImageReader *));
        layers = calloc(n, sizeof(PortableMetadata *));
        if (!readers || !layers) {
                r = -ENOMEM;
                goto finish;
        }

        for (size_t i = 0; i < n; i++) {
                const ImageReadRequest request = {
                        .matches = matches,
                        .check_paths = check_paths,
                        .extension = i > 0,
                        .force_extension = force_extension,
                };

                r = image_reader_start(i == 0 ? image : extensions[i - 1], &request, &readers[i], reterr);
                if (r < 0)
                        goto finish;
        }

        r = wait_for_readers(readers, n);
        if (r < 0)
                goto finish;

        /* In layer order, so that the error reported does not depend on which reader was faster. */
        for (size_t i = 0; i < n; i++) {
                r = image_reader_result(readers[i], &layers[i], reterr);
                if (r < 0)
                        goto finish;
        }

        *ret_layers = layers;
        layers = NULL;

finish:
        for (size_t i = 0; readers && i < n; i++)
                image_reader_free(readers[i]);
        free(readers);
        portable_metadata_free_many(layers, n);
        return r;
}
