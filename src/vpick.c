/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fd-util.h"
#include "path-util.h"
#include "strverscmp.h"
#include "vpick.h"

void vpick_result_done(VPickResult *r) {
        r->name = mfree(r->name);
        r->version = mfree(r->version);
        r->fd = safe_close(r->fd);
        *r = VPICK_RESULT_NULL;
}

int vpick_parse_dir_name(const char *name, char **ret_basename, VPickKind *ret_kinds) {
        _cleanup_free_ char *n = strdup(name);
        VPickKind kinds = VPICK_ANY;
        size_t l;

        if (!n)
                return -ENOMEM;
        l = strlen(n);
        if (l > 0 && n[l - 1] == '/')
                n[--l] = '\0';
        if (!endswith(n, ".v"))
                return -EINVAL;
        n[l -= 2] = '\0';
        if (endswith(n, ".raw")) {
                n[l -= 4] = '\0';
                kinds = VPICK_RAW;
        }
        if (l == 0 || strchr(n, '/'))
                return -EINVAL;

        *ret_basename = TAKE_PTR(n);
        *ret_kinds = kinds;
        return 0;
}

bool vpick_path_is_versioned(const char *path) {
        _cleanup_free_ char *basename = NULL;
        VPickKind kinds;

        return path && vpick_parse_dir_name(path_last_component(path), &basename, &kinds) >= 0;
}

/* Upstream's version_is_valid(): a superset of semver's characters, plus ',' and '_'. */
static bool version_is_valid(const char *s) {
        if (isempty(s))
                return false;
        for (; *s; s++)
                if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
                      strchr(".,_-+", *s)))
                        return false;
        return true;
}

static bool parse_unsigned(const char *s, size_t n, unsigned *ret) {
        unsigned long v = 0;

        if (n == 0 || n > 9)
                return false;
        for (size_t i = 0; i < n; i++) {
                if (s[i] < '0' || s[i] > '9')
                        return false;
                v = v * 10 + (unsigned long) (s[i] - '0');
        }
        *ret = (unsigned) v;
        return true;
}

/* "+<left>" or "+<left>-<done>" at the end of s: chops it off and returns true. */
static bool chop_tries(char *s, unsigned *ret_left, unsigned *ret_done) {
        char *plus = strrchr(s, '+'), *dash;
        unsigned left, done = 0;

        if (!plus)
                return false;
        dash = strchr(plus, '-');
        if (!parse_unsigned(plus + 1, dash ? (size_t) (dash - plus - 1) : strlen(plus + 1), &left))
                return false;
        if (dash && !parse_unsigned(dash + 1, strlen(dash + 1), &done))
                return false;

        *plus = '\0';
        *ret_left = left;
        *ret_done = done;
        return true;
}

int vpick_parse_entry(const char *entry, const char *basename, VPickKind kinds, VPickKind *ret_kind,
                      char **ret_version, Architecture *ret_arch, unsigned *ret_tries_left,
                      unsigned *ret_tries_done) {
        _cleanup_free_ char *v = NULL;
        unsigned left = UINT_MAX, done = UINT_MAX;
        Architecture arch = _ARCHITECTURE_INVALID;
        VPickKind kind;
        size_t bl = strlen(basename);
        char *u;

        if (!strneq(entry, basename, bl) || entry[bl] != '_')
                return 0;
        v = strdup(entry + bl + 1);
        if (!v)
                return -ENOMEM;

        if ((kinds & VPICK_RAW) && endswith(v, ".raw")) {
                v[strlen(v) - 4] = '\0';
                kind = VPICK_RAW;
        } else if (kinds & VPICK_DIRECTORY)
                kind = VPICK_DIRECTORY;
        else
                return 0;

        (void) chop_tries(v, &left, &done);

        u = strrchr(v, '_');
        if (u && architecture_from_string(u + 1) >= 0) {
                arch = architecture_from_string(u + 1);
                *u = '\0';
        }

        if (!version_is_valid(v))
                return 0;

        *ret_kind = kind;
        *ret_version = TAKE_PTR(v);
        *ret_arch = arch;
        *ret_tries_left = left;
        *ret_tries_done = done;
        return 1;
}

/* Native, secondary, then none: lower is better; -1 for an architecture we cannot run. */
static int arch_rank(Architecture a) {
        if (a < 0)
                return 2;
        if (a == architecture_native())
                return 0;
        if (a == architecture_secondary())
                return 1;
        return -1;
}

static int cmp_unsigned(unsigned a, unsigned b) {
        return (a > b) - (a < b);
}

/* Positive if candidate c is better than best b. */
static int compare(const VPickResult *c, const VPickResult *b) {
        int d;

        d = (c->tries_left != 0) - (b->tries_left != 0);
        if (d == 0)
                d = strverscmp_improved(c->version, b->version);
        if (d == 0)
                d = arch_rank(b->arch) - arch_rank(c->arch);
        if (d == 0)
                d = cmp_unsigned(c->tries_left, b->tries_left);
        if (d == 0)
                d = cmp_unsigned(b->tries_done, c->tries_done);
        if (d == 0)
                d = strcmp(c->name, b->name);
        return d;
}

static bool kind_matches(VPickKind kind, mode_t mode) {
        return kind == VPICK_RAW ? S_ISREG(mode) || S_ISBLK(mode) : S_ISDIR(mode);
}

int vpick_pick(int dir_fd, const char *basename, VPickKind kinds, VPickResult *ret) {
        _cleanup_(vpick_result_done) VPickResult best = VPICK_RESULT_NULL;
        _cleanup_closedir_ DIR *d = NULL;
        struct dirent *de;
        int r;

        if (isempty(basename) || strchr(basename, '/'))
                return -EINVAL;

        d = fd_opendir_dup(dir_fd);
        if (!d)
                return -errno;

        while ((errno = 0, de = readdir(d))) {
                _cleanup_(vpick_result_done) VPickResult c = VPICK_RESULT_NULL;

                if (streq(de->d_name, ".") || streq(de->d_name, ".."))
                        continue;
                r = vpick_parse_entry(de->d_name, basename, kinds, &c.kind, &c.version, &c.arch, &c.tries_left,
                                      &c.tries_done);
                if (r < 0)
                        return r;
                if (r == 0 || arch_rank(c.arch) < 0)
                        continue;
                if (fstatat(dir_fd, de->d_name, &c.st, 0) < 0 || !kind_matches(c.kind, c.st.st_mode))
                        continue;
                c.name = strdup(de->d_name);
                if (!c.name)
                        return -ENOMEM;

                if (best.name && compare(&c, &best) <= 0)
                        continue;
                vpick_result_done(&best);
                best = c;
                c = VPICK_RESULT_NULL;
        }
        if (errno > 0)
                return -errno;

        if (!best.name) {
                *ret = VPICK_RESULT_NULL;
                return 0;
        }

        /* Pin what we looked at: the entry may have been replaced since fstatat(). */
        best.fd = openat(dir_fd, best.name, O_PATH | O_CLOEXEC);
        if (best.fd < 0)
                return -errno;
        if (fstat(best.fd, &best.st) < 0)
                return -errno;
        if (!kind_matches(best.kind, best.st.st_mode))
                return -ESTALE;

        *ret = best;
        best = VPICK_RESULT_NULL;
        return 1;
}

int vpick_version_of_entry_path(const char *path, char **ret_version) {
        _cleanup_free_ char *dir = NULL, *basename = NULL, *version = NULL;
        unsigned left, done;
        Architecture arch;
        VPickKind kinds, kind;
        int r;

        *ret_version = NULL;
        dir = path_dirname(path);
        if (!dir)
                return -ENOMEM;
        r = vpick_parse_dir_name(path_last_component(dir), &basename, &kinds);
        if (r == -ENOMEM)
                return r;
        if (r < 0)
                return 0;
        r = vpick_parse_entry(path_last_component(path), basename, kinds, &kind, &version, &arch, &left, &done);
        if (r <= 0)
                return r;
        *ret_version = TAKE_PTR(version);
        return 1;
}
