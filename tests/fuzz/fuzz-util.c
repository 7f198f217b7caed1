/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fd-util.h"
#include "fuzz.h"
#include "path-util.h"
#include "strv.h"

void fuzz_check_failed(const char *expr, const char *file, int line) {
        fprintf(stderr, "%s:%d: property does not hold: %s\n", file, line, expr);
        abort();
}

char *fuzz_strndup(const uint8_t *data, size_t size) {
        char *s = strndup((const char *) data, size);

        if (!s)
                abort();
        return s;
}

char **fuzz_split_lines(const uint8_t *data, size_t size, size_t max) {
        char **l = NULL;
        size_t i = 0;

        for (size_t k = 0; k < max; k++) {
                const uint8_t *nl = k + 1 < max && i < size ? memchr(data + i, '\n', size - i) : NULL;
                size_t n = nl ? (size_t) (nl - (data + i)) : size - i;

                if (strv_consume(&l, fuzz_strndup(data + i, n)) < 0)
                        abort();
                if (!nl)
                        break;
                i += n + 1;
        }
        if (strv_ensure(&l) < 0)
                abort();
        return l;
}

static char *tmp_dirs[8];

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
        (void) remove(path);
        return 0;
}

static void remove_tmp_dirs(void) {
        for (size_t i = 0; i < ELEMENTSOF(tmp_dirs) && tmp_dirs[i]; i++) {
                (void) nftw(tmp_dirs[i], remove_entry, 16, FTW_DEPTH | FTW_PHYS | FTW_MOUNT);
                tmp_dirs[i] = mfree(tmp_dirs[i]);
        }
}

char *fuzz_mkdtemp(const char *tag) {
        const char *tmp = getenv("TMPDIR") ?: "/tmp";
        size_t slot = 0;
        char *d;

        while (slot < ELEMENTSOF(tmp_dirs) && tmp_dirs[slot])
                slot++;
        if (slot >= ELEMENTSOF(tmp_dirs))
                abort();

        if (asprintf(&d, "%s/portabled-fuzz-%s-XXXXXX", tmp, tag) < 0 || !mkdtemp(d))
                abort();
        if (slot == 0)
                atexit(remove_tmp_dirs);
        tmp_dirs[slot] = strdup(d);
        if (!tmp_dirs[slot])
                abort();
        return d;
}

static char *fuzz_path(const char *root, const char *path) {
        char *p = path_join(root, path);

        if (!p)
                abort();
        return p;
}

void fuzz_mkdir_p(const char *root, const char *path) {
        _cleanup_free_ char *p = fuzz_path(root, path);

        for (char *slash = p + strlen(root) + 1; (slash = strchr(slash, '/')); slash++) {
                *slash = '\0';
                if (mkdir(p, 0755) < 0 && errno != EEXIST)
                        abort();
                *slash = '/';
        }
        if (mkdir(p, 0755) < 0 && errno != EEXIST)
                abort();
}

static void mkdir_parent(const char *root, const char *path) {
        _cleanup_free_ char *parent = strdup(path);
        char *slash;

        if (!parent)
                abort();
        slash = strrchr(parent, '/');
        if (slash) {
                *slash = '\0';
                fuzz_mkdir_p(root, parent);
        }
}

void fuzz_write_file(const char *root, const char *path, const char *content) {
        _cleanup_free_ char *p = fuzz_path(root, path);
        _cleanup_fclose_ FILE *f = NULL;

        mkdir_parent(root, path);
        f = fopen(p, "we");
        if (!f || fputs(content, f) < 0 || fflush(f) != 0)
                abort();
}

void fuzz_symlink(const char *root, const char *path, const char *target) {
        _cleanup_free_ char *p = fuzz_path(root, path);

        mkdir_parent(root, path);
        if (symlink(target, p) < 0)
                abort();
}
