/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "attached-index.h"
#include "dirent-util.h"
#include "dropin.h"
#include "fd-util.h"
#include "marker-cache.h"
#include "image-name.h"
#include "path-util.h"
#include "strv.h"
#include "unit-match.h"
#include "vpick.h"

struct AttachedLayerIdentity {
        enum { LAYER_UNKNOWN, LAYER_FOUND, LAYER_MISSING } state;
        dev_t dev;
        ino_t ino;
};

void attached_index_done(AttachedIndex *idx) {
        for (size_t i = 0; i < idx->n_units; i++) {
                free(idx->units[i].name);
                strv_free(idx->units[i].images);
                free(idx->units[i].identity);
        }
        idx->units = mfree(idx->units);
        idx->n_units = 0;
}

static bool is_enablement_dir(const char *name) {
        return endswith(name, ".wants") || endswith(name, ".requires") || endswith(name, ".upholds");
}

/* Adds name, and for an instance also its template, to *enabled. */
static int add_enabled(char ***enabled, const char *name) {
        const char *at = strchr(name, '@'), *dot = strrchr(name, '.');
        int r;

        r = strv_extend(enabled, name);
        if (r < 0 || !at || !dot || at + 1 == dot)
                return r;
        {
                _cleanup_free_ char *template = NULL;

                if (asprintf(&template, "%.*s%s", (int) (at - name + 1), name, dot) < 0)
                        return -ENOMEM;
                return strv_consume(enabled, TAKE_PTR(template));
        }
}

/* Every unit that some enablement link (.wants/.requires/.upholds entry) or alias in dir points
 * at, in one pass: the same answer as host_unit_is_enabled_in() for each of them. */
static int collect_enabled(const char *dir, char ***enabled) {
        _cleanup_closedir_ DIR *d = opendir(dir);
        struct dirent *de;
        int r;

        if (!d)
                return errno == ENOENT || errno == ENOTDIR ? 0 : -errno;

        while ((de = readdir(d))) {
                struct stat st;

                if (de->d_name[0] == '.')
                        continue;

                if (is_enablement_dir(de->d_name)) {
                        int fd = openat(dirfd(d), de->d_name, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
                        _cleanup_closedir_ DIR *w = fd >= 0 ? fdopendir(fd) : NULL;
                        struct dirent *e;

                        if (!w) {
                                safe_close(fd);
                                continue;
                        }
                        while ((e = readdir(w)))
                                if (e->d_name[0] != '.' && unit_name_is_valid(e->d_name, UNIT_NAME_ANY)) {
                                        r = add_enabled(enabled, e->d_name);
                                        if (r < 0)
                                                return r;
                                }
                        continue;
                }

                /* An alias: a symlink with a unit name pointing at another unit. */
                if (unit_name_is_valid(de->d_name, UNIT_NAME_ANY) &&
                    fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) >= 0 && S_ISLNK(st.st_mode)) {
                        char target[PATH_MAX];
                        ssize_t n = readlinkat(dirfd(d), de->d_name, target, sizeof(target) - 1);

                        if (n <= 0)
                                continue;
                        target[n] = '\0';
                        if (!streq(path_last_component(target), de->d_name)) {
                                r = strv_extend(enabled, path_last_component(target));
                                if (r < 0)
                                        return r;
                        }
                }
        }
        return 0;
}

int attached_dir_list_units(DIR *d, char ***ret_with_file, char ***ret_dropin_only) {
        _cleanup_strv_free_ char **with_file = NULL, **dropin_dirs = NULL, **dropin_only = NULL;
        struct dirent *de;
        int r;

        while ((de = readdir(d))) {
                mode_t type;

                if (de->d_name[0] == '.')
                        continue;
                type = dirent_file_type(dirfd(d), de);
                if (S_ISDIR(type) && endswith(de->d_name, ".d")) {
                        char *name = strndup(de->d_name, strlen(de->d_name) - 2);

                        if (name && !unit_name_is_valid(name, UNIT_NAME_ANY)) {
                                free(name);
                                continue;
                        }
                        r = strv_consume(&dropin_dirs, name);
                } else if ((S_ISREG(type) || S_ISLNK(type)) && unit_name_is_valid(de->d_name, UNIT_NAME_ANY))
                        r = strv_extend(&with_file, de->d_name);
                else
                        continue;
                if (r < 0)
                        return r;
        }

        strv_sort(with_file);
        STRV_FOREACH(name, dropin_dirs)
                if (!strv_contains_sorted(with_file, *name)) {
                        r = strv_extend(&dropin_only, *name);
                        if (r < 0)
                                return r;
                }
        strv_sort(dropin_only);

        *ret_with_file = TAKE_PTR(with_file);
        *ret_dropin_only = TAKE_PTR(dropin_only);
        return 0;
}

static int add_unit(const Host *host, AttachedIndex *idx, int dir_fd, const char *name, bool runtime,
                    bool has_unit_file, char * const *enabled) {
        _cleanup_strv_free_ char **marker = NULL;
        _cleanup_free_ AttachedLayerIdentity *identity = NULL;
        _cleanup_free_ char *copy = NULL;
        AttachedUnit *grown;
        int r;

        r = marker_cache_read(host->marker_cache, dir_fd, name, &marker);
        if (r <= 0)
                return r; /* not ours */

        identity = calloc(strv_length(marker) ?: 1, sizeof(AttachedLayerIdentity));
        copy = strdup(name);
        if (!identity || !copy)
                return -ENOMEM;
        grown = realloc(idx->units, sizeof(AttachedUnit) * (idx->n_units + 1));
        if (!grown)
                return -ENOMEM;
        idx->units = grown;
        idx->units[idx->n_units++] = (AttachedUnit) {
                .name = TAKE_PTR(copy),
                .runtime = runtime,
                .has_unit_file = has_unit_file,
                .enabled = strv_contains_sorted(enabled, name),
                .images = TAKE_PTR(marker),
                .identity = TAKE_PTR(identity),
        };
        return 0;
}

static int scan_attached_dir(const Host *host, bool runtime, bool want_enabled, char * const *config_enabled,
                             AttachedIndex *idx) {
        _cleanup_free_ char *dir = host_attached_dir(host, runtime);
        _cleanup_strv_free_ char **enabled = strv_copy(config_enabled), **with_file = NULL, **dropin_only = NULL;
        _cleanup_closedir_ DIR *d = NULL;
        int r;

        if (!dir || (config_enabled && !enabled))
                return -ENOMEM;

        d = opendir(dir);
        if (!d)
                return errno == ENOENT ? 0 : -errno;

        /* Portable enablement links live inside the attached tree itself. */
        if (want_enabled) {
                r = collect_enabled(dir, &enabled);
                if (r < 0)
                        return r;
                strv_sort(enabled);
        }

        r = attached_dir_list_units(d, &with_file, &dropin_only);
        if (r < 0)
                return r;
        STRV_FOREACH(name, with_file) {
                r = add_unit(host, idx, dirfd(d), *name, runtime, /* has_unit_file= */ true, enabled);
                if (r < 0)
                        return r;
        }
        STRV_FOREACH(name, dropin_only) {
                r = add_unit(host, idx, dirfd(d), *name, runtime, /* has_unit_file= */ false, enabled);
                if (r < 0)
                        return r;
        }
        return 0;
}

static int load(const Host *host, bool want_enabled, AttachedIndex *ret) {
        static const char *const config_dirs[] = { "/etc/systemd/system", "/run/systemd/system" };
        _cleanup_(attached_index_done) AttachedIndex idx = {};
        _cleanup_strv_free_ char **config_enabled = NULL;
        int r;

        /* An administrator may also have enabled a portable unit in the ordinary config
         * directories. */
        for (size_t i = 0; want_enabled && i < ELEMENTSOF(config_dirs); i++) {
                _cleanup_free_ char *dir = host_path(host, config_dirs[i]);

                if (!dir)
                        return -ENOMEM;
                r = collect_enabled(dir, &config_enabled);
                if (r < 0)
                        return r;
        }

        for (int runtime = 0; runtime <= 1; runtime++) {
                r = scan_attached_dir(host, runtime, want_enabled, config_enabled, &idx);
                if (r < 0)
                        return r;
        }

        *ret = idx;
        idx = (AttachedIndex) {};
        return 0;
}

int attached_index_load(const Host *host, AttachedIndex *ret) {
        return load(host, /* want_enabled= */ true, ret);
}

int attached_index_load_units(const Host *host, AttachedIndex *ret) {
        return load(host, /* want_enabled= */ false, ret);
}

/* "foo_1.2" for "/srv/foo_1.2.raw", "foo" for "/srv/foo/". */
static char *image_name_of(const char *path) {
        const char *last = path_last_component(path);
        size_t n = strcspn(last, "/");

        if (n >= 4 && last[n] == '\0' && endswith(last, ".raw"))
                n -= 4;
        return strndup(last, n);
}

/* Whether marker_path is an entry of the versioned directory dir (vpick.h) for its images. */
static bool in_versioned_dir(const char *marker_path, const char *dir) {
        _cleanup_free_ char *version = NULL;
        size_t l = strlen(dir);
        const char *entry = marker_path + l + 1;

        if (strncmp(marker_path, dir, l) != 0 || marker_path[l] != '/' || isempty(entry) || strchr(entry, '/'))
                return false;
        return vpick_version_of_entry_path(marker_path, &version) > 0;
}

bool attached_image_matches(const char *marker_path, const char *query) {
        _cleanup_free_ char *name = NULL, *key = NULL;

        if (isempty(marker_path) || isempty(query))
                return false;
        if (query[0] == '/')
                /* A versioned directory names whichever of its versions is attached. */
                return streq(marker_path, query) || (vpick_path_is_versioned(query) && in_versioned_dir(marker_path, query));

        name = image_name_of(marker_path);
        if (!name)
                return false;
        if (streq(name, query))
                return true;

        /* A name without a version stands for every version of it. */
        if (strpbrk(query, "_+"))
                return false;
        if (image_name_marker_key(marker_path, &key) < 0)
                return false;
        return streq(key, query);
}

/* A query and what it resolves to (for an absolute path that exists): resolved once per call,
 * and compared with a recorded path by identity first, so that a recorded path is resolved only
 * if it is the very same file. */
typedef struct Resolved {
        const char *path;
        bool exists;     /* an absolute path that exists: dev and ino are set */
        dev_t dev;
        ino_t ino;
        bool resolved;   /* canonical was looked for (only once a recorded path is the same file) */
        char *canonical;
} Resolved;

static void resolve(const char *query, Resolved *ret) {
        struct stat st;

        *ret = (Resolved) { .path = query };
        if (!query || query[0] != '/' || stat(query, &st) < 0)
                return;
        ret->exists = true;
        ret->dev = st.st_dev;
        ret->ino = st.st_ino;
}

static const char *resolved_canonical(Resolved *r) {
        if (!r->resolved) {
                r->canonical = realpath(r->path, NULL);
                r->resolved = true;
        }
        return r->canonical;
}

static void resolved_done(Resolved *r) {
        r->canonical = mfree(r->canonical);
}

/* The query with its extensions, each resolved. */
typedef struct Query {
        const char *path;
        Resolved resolved;
        char * const *extensions;
        Resolved *resolved_extensions;
} Query;

static int query_init(Query *q, const char *path, char * const *extensions) {
        size_t n = strv_length((char **) extensions);

        *q = (Query) { .path = path, .extensions = extensions };
        resolve(path, &q->resolved);
        if (n > 0) {
                q->resolved_extensions = calloc(n, sizeof(Resolved));
                if (!q->resolved_extensions)
                        return -ENOMEM;
                for (size_t i = 0; i < n; i++)
                        resolve(extensions[i], &q->resolved_extensions[i]);
        }
        return 0;
}

static void query_done(Query *q) {
        resolved_done(&q->resolved);
        for (size_t i = 0; q->resolved_extensions && q->extensions && q->extensions[i]; i++)
                resolved_done(&q->resolved_extensions[i]);
        q->resolved_extensions = mfree(q->resolved_extensions);
}

/* One layer: by the recorded path, or by what it and the query resolve to. The recorded path is
 * looked at once per index (stat()), and resolved only if it is the same file as the query. */
static bool layer_matches(const AttachedUnit *u, size_t i, const char *query, Resolved *r) {
        AttachedLayerIdentity *id = u->identity ? &u->identity[i] : NULL;
        _cleanup_free_ char *canonical = NULL;

        if (attached_image_matches(u->images[i], query))
                return true;
        if (!r || !r->exists || !id || u->images[i][0] != '/')
                return false;
        if (id->state == LAYER_UNKNOWN) {
                struct stat st;

                *id = stat(u->images[i], &st) < 0 ? (AttachedLayerIdentity) { .state = LAYER_MISSING } :
                                                    (AttachedLayerIdentity) { .state = LAYER_FOUND,
                                                                              .dev = st.st_dev,
                                                                              .ino = st.st_ino };
        }
        if (id->state != LAYER_FOUND || id->dev != r->dev || id->ino != r->ino)
                return false;
        /* Hard links share an inode but are different images: the resolved paths decide. */
        canonical = realpath(u->images[i], NULL);
        return canonical && streq_ptr(canonical, resolved_canonical(r));
}

static bool unit_matches_query(const AttachedUnit *u, Query *q) {
        size_t n = strv_length(u->images);

        if (n == 0 || n != 1 + strv_length((char **) q->extensions))
                return false;
        if (!layer_matches(u, 0, q->path, &q->resolved))
                return false;
        for (size_t i = 1; i < n; i++)
                if (!layer_matches(u, i, q->extensions[i - 1],
                                   q->resolved_extensions ? &q->resolved_extensions[i - 1] : NULL))
                        return false;
        return true;
}

bool attached_unit_matches(const AttachedUnit *u, const char *query, char * const *extensions) {
        Query q;
        bool b;

        if (query_init(&q, query, extensions) < 0)
                return false;
        b = unit_matches_query(u, &q);
        query_done(&q);
        return b;
}

bool attached_unit_matches_canonical(const AttachedUnit *u, const char *query, const char *query_canonical,
                                     char * const *extensions) {
        Query q = { .path = query, .extensions = extensions };
        bool b;

        /* Only the base image's resolved form is given: the extensions are taken as written. */
        if (query_canonical)
                resolve(query_canonical, &q.resolved);
        b = unit_matches_query(u, &q);
        query_done(&q);
        return b;
}

int attached_index_units(const AttachedIndex *idx, const char *query, char * const *extensions, int runtime,
                         char ***ret) {
        _cleanup_strv_free_ char **names = NULL;
        Query q;
        int r;

        r = query_init(&q, query, extensions);
        if (r < 0)
                return r;
        for (size_t i = 0; i < idx->n_units; i++) {
                const AttachedUnit *u = &idx->units[i];

                if (runtime >= 0 && u->runtime != !!runtime)
                        continue;
                if (!unit_matches_query(u, &q))
                        continue;
                r = strv_extend_unique(&names, u->name);
                if (r < 0)
                        break;
        }
        query_done(&q);
        if (r < 0)
                return r;
        strv_sort(names);
        *ret = TAKE_PTR(names);
        return 0;
}

int attached_index_all_units(const AttachedIndex *idx, char ***ret) {
        _cleanup_strv_free_ char **names = NULL;
        int r;

        for (size_t i = 0; i < idx->n_units; i++) {
                r = strv_extend(&names, idx->units[i].name);
                if (r < 0)
                        return r;
        }
        strv_sort(names);
        strv_uniq_sorted(names);
        *ret = TAKE_PTR(names);
        return 0;
}

/* Without extensions, an image counts as attached if it is any layer of an attachment: an image
 * used as the base of one service and as an extension of another is in use either way. */
static bool unit_counts_for_state(const AttachedUnit *u, Query *q) {
        if (q->extensions)
                return unit_matches_query(u, q);
        for (size_t i = 0; u->images && u->images[i]; i++)
                if (layer_matches(u, i, q->path, &q->resolved))
                        return true;
        return false;
}

static int query_state(Query *q, const AttachedIndex *idx, const Host *host, PortableState *ret) {
        int r;

        for (int runtime = 0; runtime <= 1; runtime++) {
                bool attached = false, enabled = false, running = false;

                for (size_t i = 0; i < idx->n_units; i++) {
                        const AttachedUnit *u = &idx->units[i];

                        if (u->runtime != !!runtime || !u->has_unit_file || !unit_counts_for_state(u, q))
                                continue;
                        attached = true;
                        enabled = enabled || u->enabled;
                        if (!running) {
                                r = host_unit_is_active(host, u->name);
                                if (r < 0)
                                        return r;
                                running = r > 0;
                        }
                }
                if (!attached)
                        continue;

                if (running)
                        *ret = runtime ? PORTABLE_RUNNING_RUNTIME : PORTABLE_RUNNING;
                else if (enabled)
                        *ret = runtime ? PORTABLE_ENABLED_RUNTIME : PORTABLE_ENABLED;
                else
                        *ret = runtime ? PORTABLE_ATTACHED_RUNTIME : PORTABLE_ATTACHED;
                return 0;
        }

        *ret = PORTABLE_DETACHED;
        return 0;
}

int attached_index_state(const AttachedIndex *idx, const Host *host, const char *query, char * const *extensions,
                         PortableState *ret) {
        Query q;
        int r;

        r = query_init(&q, query, extensions);
        if (r < 0)
                return r;
        r = query_state(&q, idx, host, ret);
        query_done(&q);
        return r;
}

int attached_index_image_state(const AttachedIndex *idx, const Host *host, const Image *image, PortableState *ret) {
        Query q;
        int r;

        if (image->ino == 0)
                return attached_index_state(idx, host, image->path, /* extensions= */ NULL, ret);

        q = (Query) {
                .path = image->path,
                .resolved = { .path = image->path, .exists = true, .dev = image->dev, .ino = image->ino },
        };
        r = query_state(&q, idx, host, ret);
        query_done(&q);
        return r;
}
