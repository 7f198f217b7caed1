/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <string.h>
#include <unistd.h>
#include <stdio.h>
#include <sys/stat.h>

#include "chase.h"
#include "fd-util.h"
#include "fileio.h"
#include "image-read.h"
#include "os-release.h"
#include "path-util.h"
#include "portable-error.h"
#include "strv.h"
#include "unit-match.h"

/* O_NONBLOCK: a FIFO planted in an image must not block us before fstat() tells us what it is. */
#define IMAGE_FILE_OPEN_FLAGS (O_RDONLY | O_NONBLOCK | O_NOCTTY)

static int read_regular_file(int fd, size_t max_size, char **ret_data, size_t *ret_size) {
        struct stat st;

        if (fstat(fd, &st) < 0)
                return -errno;
        if (!S_ISREG(st.st_mode))
                return S_ISDIR(st.st_mode) ? -EISDIR : -EBADFD;
        if ((uint64_t) st.st_size > max_size)
                return -EFBIG;

        return read_full_fd(fd, max_size, ret_data, ret_size);
}

static int read_os_release(int root_fd, const char *image_label, PortableMetadata *m, sd_bus_error *reterr) {
        for (const char *const *p = os_release_paths; *p; p++) {
                _cleanup_close_ int fd = -EBADF;
                _cleanup_free_ char *data = NULL;
                size_t size;
                int r;

                fd = chase_open_in_root(root_fd, *p, IMAGE_FILE_OPEN_FLAGS);
                if (fd == -ENOENT || fd == -ENOTDIR)
                        continue;
                if (fd < 0)
                        return portable_error(reterr, fd, SD_BUS_ERROR_INVALID_ARGS,
                                              "Image '%s': cannot open %s: %m", image_label, *p);

                r = read_regular_file(fd, PORTABLE_SIZE_MAX_RELEASE_FILE, &data, &size);
                if (r == -EFBIG)
                        return portable_error(reterr, r, SD_BUS_ERROR_INVALID_ARGS,
                                              "Image '%s': %s is larger than %u bytes, refusing.",
                                              image_label, *p, PORTABLE_SIZE_MAX_RELEASE_FILE);
                if (r == -EISDIR || r == -EBADFD)
                        return portable_error(reterr, r, SD_BUS_ERROR_INVALID_ARGS,
                                              "Image '%s': %s is not a regular file, refusing.", image_label, *p);
                if (r < 0)
                        return portable_error(reterr, r, SD_BUS_ERROR_INVALID_ARGS,
                                              "Image '%s': cannot read %s: %m", image_label, *p);

                r = portable_metadata_set_os_release(m, *p, TAKE_PTR(data), size);
                if (r == -EBADMSG)
                        return portable_error(reterr, r, SD_BUS_ERROR_INVALID_ARGS,
                                              "Image '%s': %s is malformed (unterminated quote).", image_label, *p);
                return r;
        }

        return portable_error(reterr, ENOENT, SD_BUS_ERROR_INVALID_ARGS,
                              "Image '%s': no os-release found in /etc/os-release or /usr/lib/os-release, refusing.",
                              image_label);
}

/* The host path of an open directory, to remember where a unit file of a directory image lives.
 * Only trusted if it lies within the image's own directory. */
static char *fd_host_path_within(int dir_fd, const char *source_dir) {
        char link[64], buf[PATH_MAX];
        ssize_t n;

        snprintf(link, sizeof(link), "/proc/self/fd/%i", dir_fd);
        n = readlink(link, buf, sizeof(buf) - 1);
        if (n <= 0)
                return NULL;
        buf[n] = '\0';

        if (!startswith(buf, source_dir) || (buf[strlen(source_dir)] != '/' && buf[strlen(source_dir)] != '\0'))
                return NULL;
        return strdup(buf);
}

static int read_unit(int root_fd, int dir_fd, const char *dir, const char *name, const char *image_label,
                     const char *source_dir, PortableMetadata *m, sd_bus_error *reterr) {
        _cleanup_free_ char *path = NULL, *data = NULL, *source = NULL;
        _cleanup_close_ int fd = -EBADF;
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

        /* Resolving the full path from the image root (rather than openat(dir_fd)) keeps the
         * target of a symlinked unit file inside the image too. */
        fd = chase_open_in_root(root_fd, path, IMAGE_FILE_OPEN_FLAGS);
        if (fd < 0)
                return portable_metadata_add_warning(m, "Unit file '%s' cannot be opened inside the image (%s), ignoring.",
                                                     path, strerror(-fd));

        r = read_regular_file(fd, PORTABLE_SIZE_MAX_UNIT_FILE, &data, &size);
        if (r == -EFBIG)
                return portable_error(reterr, r, SD_BUS_ERROR_INVALID_ARGS,
                                      "Image '%s': unit file %s is larger than %u bytes, refusing.",
                                      image_label, path, PORTABLE_SIZE_MAX_UNIT_FILE);
        if (r == -EISDIR || r == -EBADFD)
                /* Masked units are symlinks to /dev/null; inside an image that is never a unit. */
                return portable_metadata_add_warning(m, "Unit file '%s' is not a regular file (masked?), ignoring.", path);
        if (r < 0)
                return portable_error(reterr, r, SD_BUS_ERROR_INVALID_ARGS,
                                      "Image '%s': cannot read unit file %s: %m", image_label, path);
        if (size == 0)
                return portable_metadata_add_warning(m, "Unit file '%s' is empty, ignoring.", path);

        if (source_dir && S_ISREG(st.st_mode)) {
                _cleanup_free_ char *dir_path = fd_host_path_within(dir_fd, source_dir);

                if (dir_path) {
                        source = path_join(dir_path, name);
                        if (!source)
                                return -ENOMEM;
                }
        }

        r = portable_metadata_add_unit(m, name, TAKE_PTR(data), size, TAKE_PTR(source));
        return r == -EEXIST ? 0 : r;
}

static int read_units(int root_fd, const char *image_label, const char *source_dir, char * const *matches,
                      PortableMetadata *m, sd_bus_error *reterr) {
        int r;

        for (const char *const *dir = unit_search_dirs; *dir; dir++) {
                _cleanup_close_ int dir_fd = -EBADF;
                _cleanup_closedir_ DIR *d = NULL;
                struct dirent *de;

                dir_fd = chase_open_in_root(root_fd, *dir, O_RDONLY | O_DIRECTORY);
                if (dir_fd == -ENOENT || dir_fd == -ENOTDIR)
                        continue;
                if (dir_fd < 0)
                        return portable_error(reterr, dir_fd, SD_BUS_ERROR_INVALID_ARGS,
                                              "Image '%s': cannot open unit directory %s: %m", image_label, *dir);

                d = fd_opendir_dup(dir_fd);
                if (!d)
                        return -errno;

                while ((de = readdir(d))) {
                        if (!unit_name_is_valid(de->d_name, UNIT_NAME_ANY))
                                continue;
                        if (!unit_name_is_portable_type(de->d_name))
                                continue;
                        if (!unit_name_matches_prefixes(de->d_name, matches))
                                continue;
                        /* Higher-priority directories come first and shadow later ones. */
                        if (portable_metadata_find_unit(m, de->d_name))
                                continue;

                        r = read_unit(root_fd, dir_fd, *dir, de->d_name, image_label, source_dir, m, reterr);
                        if (r < 0)
                                return r;
                }
        }

        portable_metadata_sort(m);
        return 0;
}

char * const image_read_no_units[] = { (char *) "", NULL };

int image_read_tree(int root_fd, const char *image_label, const char *source_dir, char * const *matches,
                    PortableMetadata **ret, sd_bus_error *reterr) {
        _cleanup_(portable_metadata_freep) PortableMetadata *m = NULL;
        int r;

        r = portable_metadata_new(&m);
        if (r < 0)
                return r;

        r = read_os_release(root_fd, image_label, m, reterr);
        if (r < 0)
                return r;

        r = read_units(root_fd, image_label, source_dir, matches, m, reterr);
        if (r < 0)
                return r;

        *ret = TAKE_PTR(m);
        return 0;
}

int image_tree_find_missing(int root_fd, char * const *paths, PortableMetadata *m) {
        STRV_FOREACH(p, (char **) paths) {
                _cleanup_close_ int fd = chase_open_in_root(root_fd, *p, O_PATH);
                int r;

                if (fd >= 0)
                        continue;
                if (fd != -ENOENT && fd != -ENOTDIR)
                        return fd;
                r = strv_extend(&m->missing, *p);
                if (r < 0)
                        return r;
        }
        return 0;
}
