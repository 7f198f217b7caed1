/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "strv.h"
#include "table.h"

struct Table {
        size_t n_columns;
        char **headers;
        bool *right_aligned;
        char ***rows;
        size_t n_rows;
};

Table *table_new(const char *const *headers, size_t n_columns) {
        Table *t = calloc(1, sizeof(Table));

        if (!t)
                return NULL;

        t->n_columns = n_columns;
        t->headers = calloc(n_columns + 1, sizeof(char *));
        t->right_aligned = calloc(n_columns, sizeof(bool));
        if (!t->headers || !t->right_aligned)
                return table_free(t);

        for (size_t i = 0; i < n_columns; i++) {
                t->headers[i] = strdup(headers[i]);
                if (!t->headers[i])
                        return table_free(t);
        }

        return t;
}

Table *table_free(Table *t) {
        if (!t)
                return NULL;

        for (size_t i = 0; i < t->n_rows; i++)
                strv_free(t->rows[i]);
        free(t->rows);
        strv_free(t->headers);
        free(t->right_aligned);
        return mfree(t);
}

void table_set_right_aligned(Table *t, size_t column) {
        if (column < t->n_columns)
                t->right_aligned[column] = true;
}

int table_add_row(Table *t, const char *const *cells) {
        _cleanup_strv_free_ char **row = NULL;
        char ***grown;

        row = calloc(t->n_columns + 1, sizeof(char *));
        if (!row)
                return -ENOMEM;
        for (size_t i = 0; i < t->n_columns; i++) {
                row[i] = strdup(strempty(cells[i]));
                if (!row[i])
                        return -ENOMEM;
        }

        grown = reallocarray(t->rows, t->n_rows + 1, sizeof(char **));
        if (!grown)
                return -ENOMEM;
        t->rows = grown;
        t->rows[t->n_rows++] = TAKE_PTR(row);
        return 0;
}

size_t table_get_rows(const Table *t) {
        return t->n_rows;
}

static int row_compare(const void *a, const void *b, void *userdata) {
        char **const *x = a, **const *y = b;
        size_t column = *(const size_t *) userdata;

        return strcmp((*x)[column], (*y)[column]);
}

void table_sort(Table *t, size_t column) {
        if (column >= t->n_columns || t->n_rows < 2)
                return;

        qsort_r(t->rows, t->n_rows, sizeof(char **), row_compare, &column);
}

/* Columns are measured in code points, not bytes, so that UTF-8 names do not skew the layout. */
static size_t text_width(const char *s) {
        size_t n = 0;

        for (; *s; s++)
                if (((unsigned char) *s & 0xC0) != 0x80)
                        n++;
        return n;
}

static void pad(size_t n) {
        for (; n > 0; n--)
                fputc(' ', stdout);
}

static void print_line(const Table *t, char *const *cells, const size_t *widths) {
        for (size_t i = 0; i < t->n_columns; i++) {
                bool last = i + 1 == t->n_columns;
                size_t fill = widths[i] - text_width(cells[i]);

                if (t->right_aligned[i])
                        pad(fill);
                fputs(cells[i], stdout);
                if (!t->right_aligned[i] && !last)
                        pad(fill);

                fputc(last ? '\n' : ' ', stdout);
        }
}

int table_print(const Table *t, bool header) {
        _cleanup_free_ size_t *widths = calloc(t->n_columns, sizeof(size_t));

        if (!widths)
                return log_oom();

        for (size_t i = 0; i < t->n_columns; i++) {
                if (header)
                        widths[i] = text_width(t->headers[i]);
                for (size_t j = 0; j < t->n_rows; j++) {
                        size_t l = text_width(t->rows[j][i]);

                        if (l > widths[i])
                                widths[i] = l;
                }
        }

        if (header)
                print_line(t, t->headers, widths);
        for (size_t j = 0; j < t->n_rows; j++)
                print_line(t, t->rows[j], widths);

        if (fflush(stdout) != 0)
                return log_error_errno(negative_errno(), "Failed to write table: %m");
        return 0;
}
