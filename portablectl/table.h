/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "macro.h"

/* A plain text table: columns padded to their widest cell, separated by one space, optionally
 * right-aligned. Cells are copied. Only what "list" needs, no colours, no truncation. */

typedef struct Table Table;

Table *table_new(const char *const *headers, size_t n_columns);
Table *table_free(Table *t);
DEFINE_TRIVIAL_CLEANUP_FUNC(Table *, table_free);

void table_set_right_aligned(Table *t, size_t column);

/* Adds one row of exactly n_columns cells. */
int table_add_row(Table *t, const char *const *cells);

size_t table_get_rows(const Table *t);

/* Sorts rows by the given column (byte order). */
void table_sort(Table *t, size_t column);

/* Writes the table to stdout, with the header line if header is true. */
int table_print(const Table *t, bool header);
