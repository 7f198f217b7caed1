/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <json-c/json.h>

/* Formatting of data on stdout: human-readable values and --json documents. */

#define FORMAT_TIMESTAMP_MAX 64
#define FORMAT_BYTES_MAX 32

/* "Sun 2026-11-22 08:53:46 UTC" in local time; "n/a" for 0 (unknown). */
const char *format_timestamp(char buf[static FORMAT_TIMESTAMP_MAX], uint64_t usec);

/* 1024-based with one decimal, "4.0K", "1.5M", "512B"; "n/a" for UINT64_MAX (unknown). */
const char *format_bytes(char buf[static FORMAT_BYTES_MAX], uint64_t bytes);

/* Prints o on stdout in the --json= format and drops the reference to it. NULL means the document
 * could not be built (out of memory). */
int json_print_and_put(struct json_object *o);

/* A json string, or JSON null for NULL. */
struct json_object *json_string_or_null(const char *s);

/* ANSI highlighting, only when stdout is a terminal that wants colours. */
const char *ansi_highlight(void);
const char *ansi_normal(void);
