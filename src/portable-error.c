/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "portable-error.h"

int portable_error(sd_bus_error *reterr, int error, const char *name, const char *format, ...) {
        _cleanup_free_ char *message = NULL;
        va_list ap;

        if (error < 0)
                error = -error;
        if (error == 0)
                error = EIO;

        if (!reterr || sd_bus_error_is_set(reterr))
                return -error;

        errno = error;
        va_start(ap, format);
        if (vasprintf(&message, format, ap) < 0)
                message = NULL;
        va_end(ap);

        if (name)
                (void) sd_bus_error_set(reterr, name, message);
        else
                (void) sd_bus_error_set_errnof(reterr, error, "%s", message ?: "Out of memory.");
        return -error;
}
