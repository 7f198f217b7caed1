/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <inttypes.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "macro.h"
#include "output.h"
#include "portablectl.h"

const char *format_timestamp(char buf[static FORMAT_TIMESTAMP_MAX], uint64_t usec) {
        time_t sec;
        struct tm tm;

        if (usec == 0 || usec == UINT64_MAX)
                return "n/a";

        sec = (time_t) (usec / UINT64_C(1000000));
        if (!localtime_r(&sec, &tm) ||
            strftime(buf, FORMAT_TIMESTAMP_MAX, "%a %Y-%m-%d %H:%M:%S %Z", &tm) == 0)
                return "n/a";

        return buf;
}

const char *format_bytes(char buf[static FORMAT_BYTES_MAX], uint64_t bytes) {
        static const struct {
                const char *suffix;
                uint64_t factor;
        } table[] = {
                { "E", UINT64_C(1) << 60 },
                { "P", UINT64_C(1) << 50 },
                { "T", UINT64_C(1) << 40 },
                { "G", UINT64_C(1) << 30 },
                { "M", UINT64_C(1) << 20 },
                { "K", UINT64_C(1) << 10 },
        };

        if (bytes == UINT64_MAX)
                return "n/a";

        for (size_t i = 0; i < ELEMENTSOF(table); i++)
                if (bytes >= table[i].factor) {
                        /* The remainder is below the factor, so the multiplication cannot
                         * overflow even for exbibytes. Truncated, not rounded, like systemd. */
                        uint64_t tenth = (bytes % table[i].factor) * 10 / table[i].factor;

                        /* Below 1024 units, else the next larger unit would have matched. */
                        snprintf(buf, FORMAT_BYTES_MAX, "%u.%u%s", (unsigned) (bytes / table[i].factor),
                                 (unsigned) tenth, table[i].suffix);
                        return buf;
                }

        snprintf(buf, FORMAT_BYTES_MAX, "%" PRIu64 "B", bytes);
        return buf;
}

int json_print_and_put(struct json_object *o) {
        int flags = JSON_C_TO_STRING_NOSLASHESCAPE;
        const char *s;

        if (!o)
                return log_oom();

        flags |= arg_json == JSON_FORMAT_PRETTY ? JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED
                                                : JSON_C_TO_STRING_PLAIN;
        s = json_object_to_json_string_ext(o, flags);
        if (!s) {
                json_object_put(o);
                return log_oom();
        }

        puts(s);
        json_object_put(o);

        if (fflush(stdout) != 0)
                return log_error_errno(negative_errno(), "Failed to write JSON output: %m");
        return 0;
}

struct json_object *json_string_or_null(const char *s) {
        return s ? json_object_new_string(s) : NULL;
}

static bool colors_enabled(void) {
        static int cached = -1;

        if (cached < 0) {
                const char *term = getenv("TERM");

                cached = isatty(STDOUT_FILENO) && !getenv("NO_COLOR") && !streq_ptr(term, "dumb");
        }
        return cached;
}

const char *ansi_highlight(void) {
        return colors_enabled() ? "\x1B[0;1;39m" : "";
}

const char *ansi_normal(void) {
        return colors_enabled() ? "\x1B[0m" : "";
}
