/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "log.h"

/* The one piece of process-wide state outside the daemon's manager: the log threshold, set once
 * at start-up from the command line or $PORTABLE_LOG_LEVEL. */
static int max_level = LOG_INFO;

void log_set_max_level(int level) {
        max_level = level;
}

int log_get_max_level(void) {
        return max_level;
}

void log_parse_environment(void) {
        static const char *const names[] = {
                [LOG_EMERG] = "emerg", [LOG_ALERT] = "alert", [LOG_CRIT] = "crit",
                [LOG_ERR] = "err",     [LOG_WARNING] = "warning", [LOG_NOTICE] = "notice",
                [LOG_INFO] = "info",   [LOG_DEBUG] = "debug",
        };
        const char *e = getenv("PORTABLE_LOG_LEVEL") ?: getenv("SYSTEMD_LOG_LEVEL");

        if (!e)
                return;
        for (int i = 0; i < (int) ELEMENTSOF(names); i++)
                if (strcasecmp(e, names[i]) == 0)
                        max_level = i;
}

int log_internal(int level, int error, const char *format, ...) {
        int saved_errno = errno;
        va_list ap;

        if (error < 0)
                error = -error;

        if (level <= max_level) {
                char buf[4096];

                /* %m in our messages refers to the error passed in, not whatever errno happens to
                 * hold. */
                errno = error;
                va_start(ap, format);
                vsnprintf(buf, sizeof(buf), format, ap);
                va_end(ap);
                fprintf(stderr, "%s\n", buf);
        }

        errno = saved_errno;
        return -error;
}
