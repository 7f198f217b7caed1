/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdlib.h>

#include "fake-operation.h"
#include "fuzz.h"
#include "image-name.h"
#include "image-policy.h"
#include "operation.h"
#include "path-util.h"
#include "portable-limits.h"
#include "strv.h"

FakeOperations fake_operations;

static void check_read_request(const ImageReadRequest *request, bool extension) {
        if (!request)
                return;
        FUZZ_CHECK(request->extension == extension);
        STRV_FOREACH(p, (char **) request->image_policies) {
                _cleanup_(image_policy_freep) ImagePolicy *policy = NULL;

                FUZZ_CHECK(image_policy_from_string(*p, &policy, NULL) >= 0);
        }
}

static void check_image(const Image *image) {
        FUZZ_CHECK(image);
        FUZZ_CHECK(image->path && path_is_normalized_absolute(image->path));
        FUZZ_CHECK(image_name_is_valid(image->name));
}

/* What every handler must hand over, whatever the caller sent. */
int operation_start_stack(Manager *m, sd_bus_message *request, const OperationType *type, void *data, Image *image,
                          Image **extensions, size_t n_extensions, const ImageReadRequest *read_request,
                          const ImageReadRequest *extension_read_request, sd_bus_error *error) {
        int r = 0;

        fake_operations.attempted++;
        FUZZ_CHECK(m && request && type && type->name && type->finish);
        FUZZ_CHECK(sd_bus_get_current_message(m->bus) == request);
        FUZZ_CHECK(sd_bus_message_is_method_call(request, NULL, NULL) > 0);
        FUZZ_CHECK(!extensions == (n_extensions == 0));
        FUZZ_CHECK(n_extensions <= PORTABLE_EXTENSIONS_MAX);
        if (read_request)
                check_image(image);
        else if (image)
                check_image(image);
        check_read_request(read_request, false);
        check_read_request(extension_read_request, true);
        for (size_t i = 0; i < n_extensions; i++) {
                check_image(extensions[i]);
                FUZZ_CHECK(image && !streq(extensions[i]->path, image->path));
                for (size_t k = 0; k < i; k++)
                        FUZZ_CHECK(!streq(extensions[i]->path, extensions[k]->path));
        }

        /* Taken, also on failure. */
        if (type->free_data)
                type->free_data(data);
        image_free(image);
        for (size_t i = 0; i < n_extensions; i++)
                image_free(extensions[i]);
        free(extensions);

        if (fake_operations.fail)
                return -EIO; /* not answered: the handler's caller replies with the error */

        fake_operations.started++;
        fake_operations.type_name = type->name;
        r = sd_bus_reply_method_errorf(request, FAKE_OPERATION_STARTED, "%s", type->name);
        FUZZ_CHECK(r >= 0);
        return 0;
}

int operation_start(Manager *m, sd_bus_message *request, const OperationType *type, void *data, Image *image,
                    const ImageReadRequest *read_request, sd_bus_error *error) {
        return operation_start_stack(m, request, type, data, image, NULL, 0, read_request, NULL, error);
}

int operation_start_worker(Operation *o, const char *comm, int (*work)(Operation *o),
                           int (*done)(Operation *o, int status, sd_bus_error *error), sd_bus_error *error) {
        abort(); /* only finish() waits for workers, and no operation gets that far */
}

void operations_abort_all(Manager *m, const char *message) {
        FUZZ_CHECK(!m->operations);
}

Operation *operation_free(Operation *o) {
        FUZZ_CHECK(!o);
        return NULL;
}

/* Only finish() waits for other operations, and no operation gets that far. */
int operation_wait_for_holders(Operation *o) {
        abort();
}

size_t operation_image_holders(Manager *m, const Image *image, const Operation *except) {
        abort();
}
