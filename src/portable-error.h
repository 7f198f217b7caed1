/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <systemd/sd-bus.h>

#include "macro.h"

/* Library functions describe failures the user must understand by filling an optional
 * sd_bus_error: the bus layer replies with it, the tests read it. These helpers set it (if
 * non-NULL) and return -abs(error), so that "return portable_error(...)" reads naturally. */

/* With a D-Bus error name (NULL: derive it from the errno). */
int portable_error(sd_bus_error *reterr, int error, const char *name, const char *format, ...)
        _printf_(4, 5);
