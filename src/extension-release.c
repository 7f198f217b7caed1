/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "chase.h"
#include "extension-release.h"
#include "fd-util.h"
#include "fileio.h"
#include "image-name.h"
#include "path-util.h"
#include "portable-error.h"
#include "portable-limits.h"
#include "strv.h"

#define RELEASE_FILE_PREFIX "extension-release."
#define STRICT_XATTR "user.extension-release.strict"
/* Names of skipped candidates quoted in a "none found" message: enough to see the mistake, not
 * enough for a hostile directory to blow up the error. */
#define SKIPPED_NOTES_MAX 4

static const char *const class_dirs[_EXTENSION_CLASS_MAX] = {
        [EXTENSION_SYSEXT] = "/usr/lib/extension-release.d",
        [EXTENSION_CONFEXT] = "/etc/extension-release.d",
};

static const char *const class_names[_EXTENSION_CLASS_MAX] = {
        [EXTENSION_SYSEXT] = "sysext",
        [EXTENSION_CONFEXT] = "confext",
};

static const char *const match_names[_EXTENSION_RELEASE_MATCH_MAX] = {
        [EXTENSION_RELEASE_EXACT] = "exact",
        [EXTENSION_RELEASE_XATTR] = "xattr",
        [EXTENSION_RELEASE_STRIPPED] = "stripped",
        [EXTENSION_RELEASE_FORCED] = "forced",
};

const char *extension_class_to_string(ExtensionClass c) {
        return c >= 0 && c < _EXTENSION_CLASS_MAX ? class_names[c] : NULL;
}

ExtensionClass extension_class_from_string(const char *s) {
        for (ExtensionClass c = 0; s && c < _EXTENSION_CLASS_MAX; c++)
                if (streq(s, class_names[c]))
                        return c;
        return _EXTENSION_CLASS_INVALID;
}

const char *extension_release_match_to_string(ExtensionReleaseMatch m) {
        return m >= 0 && m < _EXTENSION_RELEASE_MATCH_MAX ? match_names[m] : NULL;
}

ExtensionReleaseMatch extension_release_match_from_string(const char *s) {
        for (ExtensionReleaseMatch m = 0; s && m < _EXTENSION_RELEASE_MATCH_MAX; m++)
                if (streq(s, match_names[m]))
                        return m;
        return _EXTENSION_RELEASE_MATCH_INVALID;
}

/* The directory the release files of class c are in ("/usr/lib/extension-release.d"). */
const char *extension_class_release_dir(ExtensionClass c) {
        return c >= 0 && c < _EXTENSION_CLASS_MAX ? class_dirs[c] : NULL;
}

ExtensionRelease *extension_release_free(ExtensionRelease *r) {
        if (!r)
                return NULL;
        free(r->path);
        free(r->data);
        return mfree(r);
}

/* What a lookup in one class directory found: a regular file opened O_PATH, or nothing. */
typedef struct Candidate {
        int fd;
        char *path;
        ExtensionReleaseMatch match;
} Candidate;

static void candidate_done(Candidate *c) {
        c->fd = safe_close(c->fd);
        c->path = mfree(c->path);
}

/* The same rule as systemd's parse_boolean(); anything else is "not a boolean". */
static int parse_boolean(const char *v) {
        static const char *const yes[] = { "1", "yes", "y", "true", "t", "on" };
        static const char *const no[] = { "0", "no", "n", "false", "f", "off" };

        for (size_t i = 0; i < ELEMENTSOF(yes); i++)
                if (strcasecmp(v, yes[i]) == 0)
                        return 1;
        for (size_t i = 0; i < ELEMENTSOF(no); i++)
                if (strcasecmp(v, no[i]) == 0)
                        return 0;
        return -EINVAL;
}

static void proc_fd_path(char buf[static 32], int fd) {
        snprintf(buf, 32, "/proc/self/fd/%i", fd);
}

/* Reads user.extension-release.strict of an O_PATH fd. fgetxattr() refuses O_PATH fds, getxattr()
 * on the /proc magic link reaches the same inode. Returns the boolean, or a negative errno when
 * absent (-ENODATA, -EOPNOTSUPP) or not a boolean (-EINVAL, -ERANGE). */
static int strict_xattr(int fd) {
        char link[32], value[16];
        ssize_t n;

        proc_fd_path(link, fd);
        n = getxattr(link, STRICT_XATTR, value, sizeof(value) - 1);
        if (n < 0)
                return -errno;
        if (memchr(value, '\0', (size_t) n))
                return -EINVAL;
        value[n] = '\0';
        return parse_boolean(value);
}

/* Opens path below dir_fd O_PATH (so that nothing is opened that is not a regular file) and
 * checks the type. -EBADFD for anything but a regular file. */
static int open_regular_path(int dir_fd, const char *path, bool nofollow) {
        _cleanup_close_ int fd = -EBADF;
        struct stat st;

        fd = chase_open_in_root(dir_fd, path, O_PATH | (nofollow ? O_NOFOLLOW : 0));
        if (fd == -ELOOP && nofollow)
                return -EBADFD; /* the userspace walk refuses a final symlink instead of opening it */
        if (fd < 0)
                return fd;
        if (fstat(fd, &st) < 0)
                return -errno;
        if (!S_ISREG(st.st_mode))
                return -EBADFD;
        return TAKE_FD(fd);
}

/* Reopens an O_PATH fd of a regular file for reading and reads it, size-limited. */
static int read_path_fd(int path_fd, char **ret_data, size_t *ret_size) {
        _cleanup_close_ int fd = -EBADF;
        struct stat a, b;
        char link[32];

        proc_fd_path(link, path_fd);
        fd = open(link, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
        if (fd < 0)
                return -errno;

        if (fstat(path_fd, &a) < 0 || fstat(fd, &b) < 0)
                return -errno;
        if (a.st_dev != b.st_dev || a.st_ino != b.st_ino || !S_ISREG(b.st_mode))
                return -EBADFD;
        if ((uint64_t) b.st_size > PORTABLE_SIZE_MAX_RELEASE_FILE)
                return -EFBIG;

        return read_full_fd(fd, PORTABLE_SIZE_MAX_RELEASE_FILE, ret_data, ret_size);
}

static int note_skipped(char ***skipped, const char *dir, const char *name, const char *why) {
        char *n;

        if (strv_length(*skipped) >= SKIPPED_NOTES_MAX)
                return 0;
        if (asprintf(&n, "%s/%s (%s)", dir, name, why) < 0)
                return -ENOMEM;
        return strv_consume(skipped, n);
}

/* Classifies one candidate of the fallback scan. Returns 1 and the match if it qualifies, 0 if
 * not (with a note why). */
static int classify_candidate(int fd, const char *suffix, const char *stripped_name, bool force,
                              ExtensionReleaseMatch *ret_match, const char **ret_why) {
        /* Most specific first: a file systemd 252 also accepts (xattr) is reported as such. */
        if (strict_xattr(fd) == 0)
                *ret_match = EXTENSION_RELEASE_XATTR;
        else if (streq(suffix, stripped_name))
                *ret_match = EXTENSION_RELEASE_STRIPPED;
        else if (force)
                *ret_match = EXTENSION_RELEASE_FORCED;
        else {
                *ret_match = _EXTENSION_RELEASE_MATCH_INVALID;
                *ret_why = "name does not match and " STRICT_XATTR " is not false";
                return 0;
        }
        return 1;
}

/* The fallback scan of one class directory (step 2 of the header). */
static int scan_class_dir(int root_fd, ExtensionClass class, const char *image_name, const char *image_label,
                          bool force, Candidate *ret, char ***skipped, sd_bus_error *reterr) {
        _cleanup_(candidate_done) Candidate found = { .fd = -EBADF };
        _cleanup_free_ char *stripped = NULL;
        _cleanup_close_ int dir_fd = -EBADF;
        _cleanup_closedir_ DIR *d = NULL;
        const char *dir = class_dirs[class];
        struct dirent *de;
        int r;

        dir_fd = chase_open_in_root(root_fd, dir, O_RDONLY | O_DIRECTORY);
        if (dir_fd == -ENOENT || dir_fd == -ENOTDIR)
                return -ENOENT;
        if (dir_fd < 0)
                return portable_error(reterr, dir_fd, SD_BUS_ERROR_INVALID_ARGS,
                                      "Image '%s': cannot open %s: %m", image_label, dir);

        /* image_name was validated by the caller, so it has a key. */
        r = image_name_marker_key(image_name, &stripped);
        if (r < 0)
                return r;

        d = fd_opendir_dup(dir_fd);
        if (!d)
                return -errno;

        while ((errno = 0, de = readdir(d))) {
                _cleanup_close_ int fd = -EBADF;
                ExtensionReleaseMatch match;
                const char *suffix, *why = NULL;

                suffix = startswith(de->d_name, RELEASE_FILE_PREFIX) ? de->d_name + strlen(RELEASE_FILE_PREFIX) : NULL;
                if (!suffix || !image_name_is_valid(suffix))
                        continue;

                fd = open_regular_path(dir_fd, de->d_name, /* nofollow= */ true);
                if (fd == -EBADFD) {
                        r = note_skipped(skipped, dir, de->d_name, "not a regular file");
                        if (r < 0)
                                return r;
                        continue;
                }
                if (fd == -ENOENT)
                        continue;
                if (fd < 0)
                        return portable_error(reterr, fd, SD_BUS_ERROR_INVALID_ARGS,
                                              "Image '%s': cannot open %s/%s: %m", image_label, dir, de->d_name);

                if (classify_candidate(fd, suffix, stripped, force, &match, &why) == 0) {
                        r = note_skipped(skipped, dir, de->d_name, why);
                        if (r < 0)
                                return r;
                        continue;
                }

                if (found.path)
                        /* The fallback is for a renamed image, not for choosing among files. */
                        return portable_error(reterr, ENOTUNIQ, SD_BUS_ERROR_INVALID_ARGS,
                                              "Image '%s' has no %s/" RELEASE_FILE_PREFIX "%s, and both %s and %s/%s "
                                              "could stand in for it, refusing.",
                                              image_label, dir, image_name, found.path, dir, de->d_name);

                found.path = path_join(dir, de->d_name);
                if (!found.path)
                        return -ENOMEM;
                found.fd = TAKE_FD(fd);
                found.match = match;
        }
        if (errno > 0)
                return portable_error(reterr, errno, SD_BUS_ERROR_INVALID_ARGS,
                                      "Image '%s': cannot read %s: %m", image_label, dir);

        if (!found.path)
                return -ENOENT;

        *ret = found;
        found = (Candidate) { .fd = -EBADF };
        return 0;
}

/* Steps 1 and 2 of the header for one class. */
static int find_in_class(int root_fd, ExtensionClass class, const char *image_name, const char *image_label,
                         bool force, Candidate *ret, char ***skipped, sd_bus_error *reterr) {
        _cleanup_free_ char *path = NULL;
        int fd;

        if (asprintf(&path, "%s/" RELEASE_FILE_PREFIX "%s", class_dirs[class], image_name) < 0)
                return -ENOMEM;

        fd = open_regular_path(root_fd, path, /* nofollow= */ false);
        if (fd == -EBADFD)
                return portable_error(reterr, fd, SD_BUS_ERROR_INVALID_ARGS,
                                      "Image '%s': %s is not a regular file, refusing.", image_label, path);
        if (fd >= 0) {
                *ret = (Candidate) { .fd = fd, .path = TAKE_PTR(path), .match = EXTENSION_RELEASE_EXACT };
                return 0;
        }
        if (fd != -ENOENT && fd != -ENOTDIR)
                return portable_error(reterr, fd, SD_BUS_ERROR_INVALID_ARGS,
                                      "Image '%s': cannot open %s: %m", image_label, path);

        return scan_class_dir(root_fd, class, image_name, image_label, force, ret, skipped, reterr);
}

static int check_no_os_release(int root_fd, const char *image_label, sd_bus_error *reterr) {
        _cleanup_close_ int fd = -EBADF;

        /* O_NOFOLLOW: even a dangling link would shadow the root's file in the stacked tree. */
        fd = chase_open_in_root(root_fd, "/usr/lib/os-release", O_PATH | O_NOFOLLOW);
        if (fd == -ENOENT || fd == -ENOTDIR)
                return 0;
        if (fd < 0 && fd != -ELOOP)
                return portable_error(reterr, fd, SD_BUS_ERROR_INVALID_ARGS,
                                      "Image '%s': cannot check for /usr/lib/os-release: %m", image_label);

        return portable_error(reterr, EMEDIUMTYPE, SD_BUS_ERROR_INVALID_ARGS,
                              "Image '%s' is an extension but carries its own /usr/lib/os-release, refusing.",
                              image_label);
}

int extension_release_read(int root_fd, const char *image_name, const char *image_label, bool force,
                           ExtensionRelease **ret, sd_bus_error *reterr) {
        _cleanup_(candidate_done) Candidate c = { .fd = -EBADF };
        _cleanup_(extension_release_freep) ExtensionRelease *release = NULL;
        _cleanup_strv_free_ char **skipped = NULL;
        ExtensionClass class;
        int r = -ENOENT;

        if (!image_name_is_valid(image_name) || strlen(RELEASE_FILE_PREFIX) + strlen(image_name) > 255)
                return portable_error(reterr, EINVAL, SD_BUS_ERROR_INVALID_ARGS,
                                      "Image '%s': '%s' is not a valid extension name.", image_label, image_name);

        for (class = 0; class < _EXTENSION_CLASS_MAX; class++) {
                r = find_in_class(root_fd, class, image_name, image_label, force, &c, &skipped, reterr);
                if (r != -ENOENT)
                        break;
        }
        if (r == -ENOENT) {
                _cleanup_free_ char *notes = strv_join(skipped, ", ");

                return portable_error(reterr, ENOENT, SD_BUS_ERROR_INVALID_ARGS,
                                      "Image '%s' lacks extension-release data (%s/" RELEASE_FILE_PREFIX "%s or %s/"
                                      RELEASE_FILE_PREFIX "%s), refusing.%s%s%s",
                                      image_label, class_dirs[EXTENSION_SYSEXT], image_name,
                                      class_dirs[EXTENSION_CONFEXT], image_name,
                                      notes && *notes ? " Not accepted: " : "", strempty(notes),
                                      notes && *notes ? ". A differently named release file is accepted with "
                                                        "--force or the xattr " STRICT_XATTR "=false." : "");
        }
        if (r < 0)
                return r;

        r = check_no_os_release(root_fd, image_label, reterr);
        if (r < 0)
                return r;

        release = calloc(1, sizeof(ExtensionRelease));
        if (!release)
                return -ENOMEM;

        r = read_path_fd(c.fd, &release->data, &release->size);
        if (r == -EFBIG)
                return portable_error(reterr, r, SD_BUS_ERROR_INVALID_ARGS,
                                      "Image '%s': %s is larger than %u bytes, refusing.",
                                      image_label, c.path, PORTABLE_SIZE_MAX_RELEASE_FILE);
        if (r == -EBADFD)
                return portable_error(reterr, r, SD_BUS_ERROR_INVALID_ARGS,
                                      "Image '%s': %s is not a regular file, refusing.", image_label, c.path);
        if (r < 0)
                return portable_error(reterr, r, SD_BUS_ERROR_INVALID_ARGS,
                                      "Image '%s': cannot read %s: %m", image_label, c.path);

        release->class = class;
        release->match = c.match;
        release->path = TAKE_PTR(c.path);
        *ret = TAKE_PTR(release);
        return 0;
}
