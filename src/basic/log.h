/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <syslog.h>

#include "macro.h"

/* Logging for the programs (daemon and client). Library code under src/ does not log above debug:
 * it returns errors and lets the boundary decide what the user sees. */

void log_set_max_level(int level);
int log_get_max_level(void);
void log_parse_environment(void);

/* Logs the message and returns -abs(error) (or 0 for error == 0), so that
 * "return log_error_errno(r, ...)" reads naturally. %m expands to strerror(error). */
int log_internal(int level, int error, const char *format, ...) _printf_(3, 4);

#define log_debug(...) ((void) log_internal(LOG_DEBUG, 0, __VA_ARGS__))
#define log_info(...) ((void) log_internal(LOG_INFO, 0, __VA_ARGS__))
#define log_notice(...) ((void) log_internal(LOG_NOTICE, 0, __VA_ARGS__))
#define log_warning(...) ((void) log_internal(LOG_WARNING, 0, __VA_ARGS__))
#define log_error(...) ((void) log_internal(LOG_ERR, 0, __VA_ARGS__))

#define log_debug_errno(e, ...) log_internal(LOG_DEBUG, (e), __VA_ARGS__)
#define log_warning_errno(e, ...) log_internal(LOG_WARNING, (e), __VA_ARGS__)
#define log_error_errno(e, ...) log_internal(LOG_ERR, (e), __VA_ARGS__)

#define log_oom() log_internal(LOG_ERR, ENOMEM, "Out of memory.")
