/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "chase.h"
#include "extension-release.h"
#include "fd-util.h"
#include "fileio.h"
#include "image-read.h"
#include "os-release.h"
#include "path-util.h"
#include "portable-error.h"
#include "portable-limits.h"
#include "strv.h"
#include "unit-match.h"

/* Finds path inside the tree and reads it, if it is a regular file of at most max_size bytes.
 * The file is looked at (O_PATH, fstat) before it is opened for reading, and then opened through
 * the very inode that was looked at: a FIFO, a device node or a socket is never opened, and a
 * name swapped in between cannot be. -EISDIR and -EBADFD for directories and other non-regular
 * files, -EFBIG if too large. */
static int read_regular_in_root(int root_fd, const char *path, size_t max_size, char **ret_data, size_t *ret_size) {
        _cleanup_close_ int path_fd = -EBADF, fd = -EBADF;
        struct stat st;

        path_fd = chase_open_in_root(root_fd, path, O_PATH);
        if (path_fd < 0)
                return path_fd;
        if (fstat(path_fd, &st) < 0)
                return -errno;
        if (S_ISDIR(st.st_mode))
                return -EISDIR;
        if (!S_ISREG(st.st_mode))
                return -EBADFD;
        if ((uint64_t) st.st_size > max_size)
                return -EFBIG;

        fd = fd_reopen(path_fd, O_RDONLY | O_NONBLOCK | O_NOCTTY);
        if (fd < 0)
                return fd;
        return read_full_fd(fd, max_size, ret_data, ret_size);
}

/* The same for a regular file name in dir_fd (a directory found inside the tree), which st
 * describes (fstatat() without following): opened without following anything, and only if it is
 * still that very file. */
static int read_regular_at(int dir_fd, const char *name, const struct stat *st, size_t max_size, char **ret_data,
                           size_t *ret_size) {
        _cleanup_close_ int path_fd = -EBADF, fd = -EBADF;
        struct stat now;

        path_fd = openat(dir_fd, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
        if (path_fd < 0)
                return -errno;
        if (fstat(path_fd, &now) < 0)
                return -errno;
        if (!S_ISREG(now.st_mode) || now.st_dev != st->st_dev || now.st_ino != st->st_ino)
                return -ESTALE;
        if ((uint64_t) now.st_size > max_size)
                return -EFBIG;

        fd = fd_reopen(path_fd, O_RDONLY | O_NONBLOCK | O_NOCTTY);
        if (fd < 0)
                return fd;
        return read_full_fd(fd, max_size, ret_data, ret_size);
}

static int read_os_release(int root_fd, const char *image_label, PortableMetadata *m, sd_bus_error *reterr) {
        for (const char *const *p = os_release_paths; *p; p++) {
                _cleanup_free_ char *data = NULL;
                const char *bad_key;
                size_t size;
                int r;

                r = read_regular_in_root(root_fd, *p, PORTABLE_SIZE_MAX_RELEASE_FILE, &data, &size);
                if (r == -ENOENT || r == -ENOTDIR)
                        continue;
                if (r == -EFBIG)
                        return portable_error(reterr, r, SD_BUS_ERROR_INVALID_ARGS,
                                              "Image '%s': %s is larger than %u bytes, refusing.",
                                              image_label, *p, PORTABLE_SIZE_MAX_RELEASE_FILE);
                if (r == -EISDIR || r == -EBADFD)
                        return portable_error(reterr, r, SD_BUS_ERROR_INVALID_ARGS,
                                              "Image '%s': %s is not a regular file, refusing.", image_label, *p);
                if (r == -EACCES)
                        return portable_error(reterr, r, SD_BUS_ERROR_INVALID_ARGS,
                                              "Image '%s': cannot read %s: %m (the image is read without privileges: its files must be readable by root as their owner, or by everyone).",
                                              image_label, *p);
                if (r < 0)
                        return portable_error(reterr, r, SD_BUS_ERROR_INVALID_ARGS,
                                              "Image '%s': cannot read %s: %m", image_label, *p);

                r = portable_metadata_set_os_release(m, *p, TAKE_PTR(data), size);
                if (r == -EBADMSG)
                        return portable_error(reterr, r, SD_BUS_ERROR_INVALID_ARGS,
                                              "Image '%s': %s is malformed (unterminated quote).", image_label, *p);
                if (r == -E2BIG)
                        return portable_error(reterr, r, SD_BUS_ERROR_INVALID_ARGS,
                                              "Image '%s': %s has too many fields.", image_label, *p);
                if (r < 0)
                        return r;

                bad_key = os_release_pairs_find_invalid_utf8(m->os_release_pairs);
                if (bad_key)
                        return portable_error(reterr, EILSEQ, SD_BUS_ERROR_INVALID_ARGS,
                                              "Image '%s': the value of %s in %s is not valid UTF-8, refusing.",
                                              image_label, bad_key, *p);
                return 0;
        }

        return portable_error(reterr, ENOENT, SD_BUS_ERROR_INVALID_ARGS,
                              "Image '%s': no os-release found in /etc/os-release or /usr/lib/os-release, refusing.",
                              image_label);
}

/* A unit file candidate: its name and the index of the unit directory it was seen in. */
typedef struct Candidate {
        char *name;
        size_t dir;
} Candidate;

static int compare_candidates(const void *a, const void *b) {
        const Candidate *x = a, *y = b;
        int c = strcmp(x->name, y->name);

        if (c != 0)
                return c;
        return x->dir < y->dir ? -1 : x->dir > y->dir;
}

/* The canonical path of dir_fd relative to the root, if it lies inside it. */
static char *relative_dir_path(int root_fd, int dir_fd) {
        _cleanup_free_ char *root = NULL, *dir = NULL;
        size_t n;

        if (fd_get_path(root_fd, &root) < 0 || fd_get_path(dir_fd, &dir) < 0)
                return NULL;
        n = streq(root, "/") ? 0 : strlen(root);
        if (strncmp(dir, root, n) != 0 || dir[n] != '/')
                return NULL;
        return strdup(dir + n + 1);
}

/* dir_path: where the canonical path of dir_fd inside the root is kept once found (for sources). */
static int read_unit(int root_fd, int dir_fd, const char *dir, char **dir_path, const char *name,
                     const char *image_label, bool want_source, PortableMetadata *m, size_t *total,
                     sd_bus_error *reterr) {
        _cleanup_free_ char *path = NULL, *data = NULL, *source = NULL;
        struct stat st;
        size_t size;
        int r;

        if (fstatat(dir_fd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
                return 0;
        if (!S_ISREG(st.st_mode) && !S_ISLNK(st.st_mode))
                return portable_metadata_add_warning(m, "Unit file '%s/%s' is not a regular file or symlink, ignoring.",
                                                     dir, name);

        path = path_join(dir, name);
        if (!path)
                return -ENOMEM;

        /* A regular file is read right from its directory. A symlink is resolved along the full
         * path from the image root (rather than from dir_fd), which keeps its target inside the
         * image too; so is a file that changed since it was looked at. */
        r = -ESTALE;
        if (S_ISREG(st.st_mode))
                r = read_regular_at(dir_fd, name, &st, PORTABLE_SIZE_MAX_UNIT_FILE, &data, &size);
        if (r == -ESTALE)
                r = read_regular_in_root(root_fd, path, PORTABLE_SIZE_MAX_UNIT_FILE, &data, &size);
        if (r == -EFBIG)
                return portable_error(reterr, r, SD_BUS_ERROR_INVALID_ARGS,
                                      "Image '%s': unit file %s is larger than %u bytes, refusing.",
                                      image_label, path, PORTABLE_SIZE_MAX_UNIT_FILE);
        if (r == -EISDIR || r == -EBADFD)
                /* Masked units are symlinks to /dev/null; inside an image that is never a unit. */
                return portable_metadata_add_warning(m, "Unit file '%s' is not a regular file (masked?), ignoring.", path);
        if (r < 0)
                return portable_metadata_add_warning(m, "Unit file '%s' cannot be read inside the image (%s), ignoring.",
                                                     path, strerror(-r));
        if (size == 0)
                return portable_metadata_add_warning(m, "Unit file '%s' is empty, ignoring.", path);

        *total += size;
        if (*total > PORTABLE_SIZE_MAX_METADATA)
                return portable_error(reterr, EFBIG, SD_BUS_ERROR_INVALID_ARGS,
                                      "Image '%s': its matching unit files are larger than %u bytes together, refusing.",
                                      image_label, PORTABLE_SIZE_MAX_METADATA);

        /* Only a regular file named directly can be linked to instead of copied. */
        if (want_source && S_ISREG(st.st_mode)) {
                if (!*dir_path)
                        *dir_path = relative_dir_path(root_fd, dir_fd);
                if (*dir_path) {
                        source = path_join(*dir_path, name);
                        if (!source)
                                return -ENOMEM;
                }
        }

        return portable_metadata_add_unit(m, name, TAKE_PTR(data), size, TAKE_PTR(source));
}

static void candidates_free(Candidate *c, size_t n) {
        for (size_t i = 0; i < n; i++)
                free(c[i].name);
        free(c);
}

/* Every matching name in every unit directory, sorted by name and then by directory priority:
 * the first of each name is the one that counts. One pass per directory, one sort, one pass to
 * read: linear in the number of files, up to the sort. */
static int collect_candidates(const int *dir_fds, size_t n_dirs, char * const *matches, const char *image_label,
                              Candidate **ret, size_t *ret_n, sd_bus_error *reterr) {
        Candidate *c = NULL;
        size_t n = 0, n_unique = 0;

        for (size_t i = 0; i < n_dirs; i++) {
                _cleanup_closedir_ DIR *d = NULL;
                struct dirent *de;

                if (dir_fds[i] < 0)
                        continue;
                d = fd_opendir_dup(dir_fds[i]);
                if (!d) {
                        candidates_free(c, n);
                        return -errno;
                }

                while ((de = readdir(d))) {
                        Candidate *grown;

                        if (!unit_name_is_valid(de->d_name, UNIT_NAME_ANY) || !unit_name_is_portable_type(de->d_name) ||
                            !unit_name_matches_prefixes(de->d_name, matches))
                                continue;

                        /* Shadowed names count too, but a directory cannot grow without bound. */
                        if (n >= 4 * PORTABLE_UNITS_MAX) {
                                candidates_free(c, n);
                                return portable_error(reterr, E2BIG, SD_BUS_ERROR_INVALID_ARGS,
                                                      "Image '%s': more than %u matching unit files, refusing.",
                                                      image_label, PORTABLE_UNITS_MAX);
                        }
                        grown = realloc(c, sizeof(Candidate) * (n + 1));
                        if (!grown) {
                                candidates_free(c, n);
                                return -ENOMEM;
                        }
                        c = grown;
                        c[n].name = strdup(de->d_name);
                        c[n].dir = i;
                        if (!c[n++].name) {
                                candidates_free(c, n);
                                return -ENOMEM;
                        }
                }
        }

        if (n > 0)
                qsort(c, n, sizeof(Candidate), compare_candidates);
        for (size_t i = 0; i < n; i++)
                if (i == 0 || !streq(c[i].name, c[i - 1].name))
                        n_unique++;
        if (n_unique > PORTABLE_UNITS_MAX) {
                candidates_free(c, n);
                return portable_error(reterr, E2BIG, SD_BUS_ERROR_INVALID_ARGS,
                                      "Image '%s': more than %u matching unit files, refusing.", image_label,
                                      PORTABLE_UNITS_MAX);
        }

        *ret = c;
        *ret_n = n;
        return 0;
}

static int read_units(int root_fd, const char *image_label, bool want_sources, char * const *matches,
                      PortableMetadata *m, sd_bus_error *reterr) {
        int dir_fds[16];
        char *dir_paths[ELEMENTSOF(dir_fds)] = {};
        size_t n_dirs = 0, n = 0, total = m->os_release.size;
        Candidate *c = NULL;
        int r = 0;

        for (; unit_search_dirs[n_dirs]; n_dirs++) {
                int fd;

                if (n_dirs >= ELEMENTSOF(dir_fds)) {
                        r = -E2BIG;
                        goto finish;
                }
                fd = chase_open_in_root(root_fd, unit_search_dirs[n_dirs], O_RDONLY | O_DIRECTORY);

                if (fd < 0 && fd != -ENOENT && fd != -ENOTDIR) {
                        r = portable_error(reterr, fd, SD_BUS_ERROR_INVALID_ARGS,
                                           "Image '%s': cannot open unit directory %s: %m", image_label,
                                           unit_search_dirs[n_dirs]);
                        goto finish;
                }
                dir_fds[n_dirs] = fd;
        }

        r = collect_candidates(dir_fds, n_dirs, matches, image_label, &c, &n, reterr);
        if (r < 0)
                goto finish;

        for (size_t i = 0; i < n; i++) {
                if (i > 0 && streq(c[i].name, c[i - 1].name))
                        continue; /* shadowed by a higher-priority directory */
                r = read_unit(root_fd, dir_fds[c[i].dir], unit_search_dirs[c[i].dir], &dir_paths[c[i].dir], c[i].name,
                              image_label, want_sources, m, &total, reterr);
                if (r < 0)
                        break;
        }

finish:
        candidates_free(c, n);
        for (size_t i = 0; i < n_dirs; i++) {
                safe_close(dir_fds[i]);
                free(dir_paths[i]);
        }
        return r;
}

char * const image_read_no_units[] = { (char *) "", NULL };

int image_read_tree(int root_fd, const char *image_label, bool want_sources, char * const *matches,
                    PortableMetadata **ret, sd_bus_error *reterr) {
        _cleanup_(portable_metadata_freep) PortableMetadata *m = NULL;
        int r;

        r = portable_metadata_new(&m);
        if (r < 0)
                return r;

        r = read_os_release(root_fd, image_label, m, reterr);
        if (r < 0)
                return r;

        r = read_units(root_fd, image_label, want_sources, matches, m, reterr);
        if (r < 0)
                return r;

        /* Read in name order already: no sort needed, and duplicates are impossible. */
        *ret = TAKE_PTR(m);
        return 0;
}

int image_read_extension_tree(int root_fd, const char *image_name, const char *image_label, bool force,
                              bool want_sources, char * const *matches, PortableMetadata **ret,
                              sd_bus_error *reterr) {
        _cleanup_(extension_release_freep) ExtensionRelease *release = NULL;
        _cleanup_(portable_metadata_freep) PortableMetadata *m = NULL;
        const char *bad_key;
        int r;

        r = portable_metadata_new(&m);
        if (r < 0)
                return r;

        r = extension_release_read(root_fd, image_name, image_label, force, &release, reterr);
        if (r < 0)
                return r;

        r = portable_metadata_set_os_release(m, release->path, TAKE_PTR(release->data), release->size);
        if (r == -EBADMSG)
                return portable_error(reterr, r, SD_BUS_ERROR_INVALID_ARGS,
                                      "Image '%s': %s is malformed (unterminated quote).", image_label, release->path);
        if (r == -E2BIG)
                return portable_error(reterr, r, SD_BUS_ERROR_INVALID_ARGS,
                                      "Image '%s': %s has too many fields.", image_label, release->path);
        if (r < 0)
                return r;
        bad_key = os_release_pairs_find_invalid_utf8(m->os_release_pairs);
        if (bad_key)
                return portable_error(reterr, EILSEQ, SD_BUS_ERROR_INVALID_ARGS,
                                      "Image '%s': the value of %s in %s is not valid UTF-8, refusing.",
                                      image_label, bad_key, release->path);
        m->extension = true;
        m->extension_class = release->class;
        m->extension_match = release->match;

        r = read_units(root_fd, image_label, want_sources, matches, m, reterr);
        if (r < 0)
                return r;

        *ret = TAKE_PTR(m);
        return 0;
}

int image_tree_find_missing(int root_fd, char * const *paths, PortableMetadata *m) {
        STRV_FOREACH(p, (char **) paths) {
                /* IMAGE_CHECK_EXECUTABLE: an executable regular file is asked for. */
                bool exec = startswith(*p, IMAGE_CHECK_EXECUTABLE);
                _cleanup_close_ int fd = chase_open_in_root(root_fd, exec ? *p + STRLEN(IMAGE_CHECK_EXECUTABLE) : *p,
                                                            O_PATH);
                struct stat st;
                int r;

                if (fd >= 0 && (!exec || (fstat(fd, &st) >= 0 && S_ISREG(st.st_mode) && (st.st_mode & 0111))))
                        continue;
                if (fd < 0 && fd != -ENOENT && fd != -ENOTDIR)
                        return fd;
                r = strv_extend(&m->missing, *p);
                if (r < 0)
                        return r;
        }
        return 0;
}
