/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fd-util.h"
#include "extension-release.h"
#include "fileio.h"
#include "image-policy.h"
#include "image-name.h"
#include "os-release.h"
#include "path-util.h"
#include "portable-error.h"
#include "portable-limits.h"
#include "reader-protocol.h"
#include "reader-receive.h"
#include "strv.h"
#include "unit-match.h"
#include "verity.h"

struct ReaderReceiver {
        char *image_label;
        char **matches;
        char **check_paths;
        PortableMetadata *metadata;
        size_t total_size;
        bool done;

        /* Raw images and block devices: the layout comes first. */
        bool expect_layout;
        bool layout_done;
        uint64_t image_size;
        VerityIdentity *cached;
        uint64_t *cached_covered;
        size_t n_cached;
        ImageLayout *layout;
        ReaderVerified verified[2];
        size_t n_verified;
        bool extension;
        bool force_extension;
        char *extension_name; /* the extension's image name, and its version-insensitive key */
        char *extension_key;
};

int reader_receiver_new(const char *image_label, char * const *matches, char * const *check_paths,
                        ReaderReceiver **ret) {
        _cleanup_(reader_receiver_freep) ReaderReceiver *rr = calloc(1, sizeof(ReaderReceiver));
        int r;

        if (!rr)
                return -ENOMEM;
        rr->image_label = strdup(image_label);
        if (!rr->image_label)
                return -ENOMEM;
        if (matches) {
                rr->matches = strv_copy(matches);
                if (!rr->matches)
                        return -ENOMEM;
        }
        if (check_paths) {
                rr->check_paths = strv_copy(check_paths);
                if (!rr->check_paths)
                        return -ENOMEM;
        }
        r = portable_metadata_new(&rr->metadata);
        if (r < 0)
                return r;

        *ret = TAKE_PTR(rr);
        return 0;
}

ReaderReceiver *reader_receiver_free(ReaderReceiver *rr) {
        if (!rr)
                return NULL;
        free(rr->image_label);
        strv_free(rr->matches);
        strv_free(rr->check_paths);
        portable_metadata_free(rr->metadata);
        free(rr->cached);
        free(rr->cached_covered);
        image_layout_free(rr->layout);
        free(rr->extension_name);
        free(rr->extension_key);
        return mfree(rr);
}

int reader_receiver_expect_layout(ReaderReceiver *rr, uint64_t image_size, const VerityIdentity *cached,
                                  const uint64_t *cached_covered, size_t n_cached) {
        rr->layout = calloc(1, sizeof(ImageLayout));
        if (!rr->layout)
                return -ENOMEM;
        if (n_cached > 0) {
                rr->cached = calloc(n_cached, sizeof(VerityIdentity));
                rr->cached_covered = calloc(n_cached, sizeof(uint64_t));
                if (!rr->cached || !rr->cached_covered)
                        return -ENOMEM;
                memcpy(rr->cached, cached, n_cached * sizeof(VerityIdentity));
                memcpy(rr->cached_covered, cached_covered, n_cached * sizeof(uint64_t));
        }
        rr->n_cached = n_cached;
        rr->image_size = image_size;
        rr->expect_layout = true;
        return 0;
}

const ReaderVerified *reader_receiver_verified(const ReaderReceiver *rr, size_t *ret_n) {
        *ret_n = rr->done ? rr->n_verified : 0;
        return rr->verified;
}

int reader_receiver_expect_extension(ReaderReceiver *rr, const char *image_name, bool force) {
        _cleanup_free_ char *name = NULL, *key = NULL;
        int r;

        if (!image_name_is_valid(image_name))
                return -EINVAL;
        name = strdup(image_name);
        if (!name)
                return -ENOMEM;
        r = image_name_marker_key(image_name, &key);
        if (r < 0)
                return r;

        free_and_replace(rr->extension_name, name);
        free_and_replace(rr->extension_key, key);
        rr->extension = true;
        rr->force_extension = force;
        return 0;
}

PortableMetadata *reader_receiver_steal(ReaderReceiver *rr) {
        return rr->done ? TAKE_PTR(rr->metadata) : NULL;
}

#define violation(rr, reterr, fmt, ...)                                                                  \
        portable_error(reterr, EBADMSG, NULL, "Image '%s': the image reader " fmt, (rr)->image_label, ##__VA_ARGS__)

/* Reads a file the child sent, after making sure it is one we can read without waiting, that
 * cannot change, and that is not larger than allowed. */
static int take_file(ReaderReceiver *rr, int fd, const char *what, size_t max_size, char **ret_data, size_t *ret_size,
                     sd_bus_error *reterr) {
        struct stat st;
        int seals;

        if (fd < 0)
                return violation(rr, reterr, "sent %s without its contents.", what);
        if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode))
                return violation(rr, reterr, "sent %s as something other than a memory file.", what);
        seals = fcntl(fd, F_GET_SEALS);
        if (seals < 0 || (seals & (F_SEAL_WRITE | F_SEAL_GROW | F_SEAL_SHRINK)) !=
                                 (F_SEAL_WRITE | F_SEAL_GROW | F_SEAL_SHRINK))
                return violation(rr, reterr, "sent %s in a file that is not sealed.", what);
        if ((uint64_t) st.st_size > max_size)
                return portable_error(reterr, EFBIG, SD_BUS_ERROR_INVALID_ARGS,
                                      "Image '%s': %s is larger than %zu bytes, refusing.", rr->image_label, what,
                                      max_size);
        if (rr->total_size + (size_t) st.st_size > PORTABLE_SIZE_MAX_METADATA)
                return portable_error(reterr, EFBIG, SD_BUS_ERROR_INVALID_ARGS,
                                      "Image '%s': its release and unit files together are larger than %u bytes, refusing.",
                                      rr->image_label, PORTABLE_SIZE_MAX_METADATA);

        if (lseek(fd, 0, SEEK_SET) < 0)
                return -errno;
        if (read_full_fd(fd, max_size, ret_data, ret_size) < 0)
                return violation(rr, reterr, "sent %s that cannot be read.", what);
        rr->total_size += *ret_size;
        return 0;
}

static bool is_os_release_path(const char *name) {
        for (const char *const *p = os_release_paths; *p; p++)
                if (streq(name, *p))
                        return true;
        return false;
}

/* Takes the release file (os-release or extension-release) the child sent and parses it into the
 * metadata; the checks of whether it may send it at all are the caller's. */
static int take_release_file(ReaderReceiver *rr, const char *name, int fd, sd_bus_error *reterr) {
        _cleanup_free_ char *data = NULL;
        PortableMetadata *m = rr->metadata;
        const char *bad_key;
        size_t size;
        int r;

        r = take_file(rr, fd, name, PORTABLE_SIZE_MAX_RELEASE_FILE, &data, &size, reterr);
        if (r < 0)
                return r;

        r = portable_metadata_set_os_release(m, name, TAKE_PTR(data), size);
        if (r == -EBADMSG)
                return portable_error(reterr, r, SD_BUS_ERROR_INVALID_ARGS,
                                      "Image '%s': %s is malformed (unterminated quote).", rr->image_label, name);
        if (r == -E2BIG)
                return portable_error(reterr, r, SD_BUS_ERROR_INVALID_ARGS,
                                      "Image '%s': %s has too many fields.", rr->image_label, name);
        if (r < 0)
                return r;

        bad_key = os_release_pairs_find_invalid_utf8(m->os_release_pairs);
        if (bad_key)
                return portable_error(reterr, EILSEQ, SD_BUS_ERROR_INVALID_ARGS,
                                      "Image '%s': the value of %s in %s is not valid UTF-8, refusing.",
                                      rr->image_label, bad_key, name);
        return 0;
}

static int handle_os_release(ReaderReceiver *rr, const char *name, int fd, sd_bus_error *reterr) {
        if (rr->extension || !is_os_release_path(name) || rr->metadata->os_release.name)
                return violation(rr, reterr, "sent an unexpected release file.");
        return take_release_file(rr, name, fd, reterr);
}

/* Whether the child may have found path for the extension the way it says: the file name must be
 * what that way looks for (extension-release.h). */
static bool extension_release_is_expected(ReaderReceiver *rr, const char *path, ExtensionClass class,
                                          ExtensionReleaseMatch match) {
        const char *dir = extension_class_release_dir(class), *suffix;
        size_t n;

        if (!dir || match < 0)
                return false;
        n = strlen(dir);
        if (strncmp(path, dir, n) != 0 || !startswith(path + n, "/extension-release."))
                return false;
        suffix = path + n + strlen("/extension-release.");
        if (!image_name_is_valid(suffix))
                return false;

        switch (match) {
        case EXTENSION_RELEASE_EXACT:
                return streq(suffix, rr->extension_name);
        case EXTENSION_RELEASE_STRIPPED:
                return streq(suffix, rr->extension_key) && !streq(suffix, rr->extension_name);
        case EXTENSION_RELEASE_XATTR:
                /* Cannot be checked from here: the xattr is in the child's mount. It only makes
                 * a file stand in for the exact one, and the exact one must not be there. */
                return !streq(suffix, rr->extension_name);
        case EXTENSION_RELEASE_FORCED:
                return rr->force_extension && !streq(suffix, rr->extension_name);
        default:
                return false;
        }
}

static int handle_extension_release(ReaderReceiver *rr, char **fields, int fd, sd_bus_error *reterr) {
        PortableMetadata *m = rr->metadata;
        ExtensionClass class = extension_class_from_string(fields[1]);
        ExtensionReleaseMatch match = extension_release_match_from_string(fields[2]);
        const char *name = fields[0];
        int r;

        if (!rr->extension || m->os_release.name || !extension_release_is_expected(rr, name, class, match))
                return violation(rr, reterr, "sent an unexpected release file.");

        r = take_release_file(rr, name, fd, reterr);
        if (r < 0)
                return r;

        m->extension = true;
        m->extension_class = class;
        m->extension_match = match;
        return 0;
}

static bool source_is_valid(const char *source) {
        _cleanup_free_ char *absolute = NULL;

        if (isempty(source))
                return true;
        if (source[0] == '/' || asprintf(&absolute, "/%s", source) < 0)
                return false;
        return path_is_normalized_absolute(absolute);
}

static int handle_unit(ReaderReceiver *rr, const char *name, const char *source, int fd, sd_bus_error *reterr) {
        _cleanup_free_ char *data = NULL, *s = NULL;
        PortableMetadata *m = rr->metadata;
        size_t size;
        int r;

        if (!unit_name_is_valid(name, UNIT_NAME_ANY) || !unit_name_is_portable_type(name) ||
            !unit_name_matches_prefixes(name, rr->matches) || !string_is_clean_utf8(name))
                return violation(rr, reterr, "sent a unit that was not asked for.");
        if (!source_is_valid(source))
                return violation(rr, reterr, "sent an invalid source path for unit '%s'.", name);
        if (m->n_units >= PORTABLE_UNITS_MAX)
                return portable_error(reterr, E2BIG, SD_BUS_ERROR_INVALID_ARGS,
                                      "Image '%s': more than %u matching unit files, refusing.", rr->image_label,
                                      PORTABLE_UNITS_MAX);

        r = take_file(rr, fd, name, PORTABLE_SIZE_MAX_UNIT_FILE, &data, &size, reterr);
        if (r < 0)
                return r;

        if (!isempty(source)) {
                s = strdup(source);
                if (!s)
                        return -ENOMEM;
        }
        r = portable_metadata_add_unit(m, name, TAKE_PTR(data), size, TAKE_PTR(s));
        if (r == -EEXIST)
                return violation(rr, reterr, "sent unit '%s' twice.", name);
        return r;
}

static int parse_u64(const char *s, uint64_t *ret) {
        unsigned long long v;
        char *end;

        if (isempty(s) || !strchr("0123456789", s[0]) || (s[0] == '0' && s[1]))
                return -EINVAL;
        errno = 0;
        v = strtoull(s, &end, 10);
        if (errno != 0 || *end)
                return -EINVAL;
        *ret = (uint64_t) v;
        return 0;
}

static LayoutPartition *layout_partition(ReaderReceiver *rr, const char *designator, PartitionDesignator *ret) {
        PartitionDesignator d = partition_designator_from_string(designator);

        if (d != PARTITION_ROOT && d != PARTITION_USR)
                return NULL;
        *ret = d;
        return rr->layout->partitions + d;
}

/* 'P': designator, fstype, protection, signature verdict, root hash. */
static int handle_partition(ReaderReceiver *rr, char **f, size_t n, sd_bus_error *reterr) {
        _cleanup_free_ uint8_t *hash = NULL;
        PartitionProtection protection;
        VeritySignatureResult signature;
        PartitionDesignator d;
        LayoutPartition *p;
        size_t hash_size = 0;
        bool consistent;

        if (!rr->expect_layout)
                return violation(rr, reterr, "reported partitions of an image that has none.");
        if (rr->layout_done)
                return violation(rr, reterr, "reported a partition after it mounted the image.");
        if (n != 5 || !(p = layout_partition(rr, f[0], &d)))
                return violation(rr, reterr, "sent a malformed partition message.");
        if (p->found)
                return violation(rr, reterr, "reported the %s partition twice.", f[0]);
        if (!image_fstype_is_supported(f[1]))
                return violation(rr, reterr, "reported a file system we do not mount for the %s partition.", f[0]);
        signature = verity_signature_result_from_string(f[3]);
        if (partition_protection_from_string(f[2], &protection) < 0 || signature < 0)
                return violation(rr, reterr, "sent a malformed partition message.");

        switch (protection) {
        case PARTITION_UNPROTECTED:
                consistent = signature == VERITY_SIGNATURE_UNSIGNED && isempty(f[4]);
                break;
        case PARTITION_VERITY:
                consistent = signature == VERITY_SIGNATURE_UNSIGNED || signature == VERITY_SIGNATURE_UNTRUSTED;
                break;
        case PARTITION_SIGNED:
                consistent = signature == VERITY_SIGNATURE_TRUSTED;
                break;
        default:
                consistent = false;
        }
        if (consistent && protection != PARTITION_UNPROTECTED)
                consistent = verity_root_hash_from_hex(f[4], &hash, &hash_size) >= 0 && hash_size <= VERITY_CACHE_HASH_MAX;
        if (!consistent)
                return violation(rr, reterr, "reported an inconsistent protection of the %s partition.", f[0]);

        p->fstype = strdup(f[1]);
        if (!p->fstype)
                return -ENOMEM;
        if (hash) {
                p->root_hash = verity_root_hash_to_hex(hash, hash_size);
                if (!p->root_hash)
                        return -ENOMEM;
        }
        p->protection = protection;
        p->signature = signature;
        p->found = true;
        return 0;
}

static bool cached_before(ReaderReceiver *rr, const ReaderVerified *v) {
        for (size_t i = 0; i < rr->n_cached; i++)
                if (rr->cached[i].data_offset == v->offset && rr->cached[i].root_hash_size == v->root_hash_size &&
                    memcmp(rr->cached[i].root_hash, v->root_hash, v->root_hash_size) == 0 &&
                    rr->cached_covered[i] == v->covered)
                        return true;
        return false;
}

/* 'V': designator, offset, root hash, covered, "checked" or "cached". */
static int handle_verified(ReaderReceiver *rr, char **f, size_t n, sd_bus_error *reterr) {
        _cleanup_free_ uint8_t *hash = NULL;
        ReaderVerified v = {};
        LayoutPartition *p;
        size_t hash_size;

        if (!rr->expect_layout)
                return violation(rr, reterr, "reported a verification of an image that has no partitions.");
        if (rr->layout_done)
                return violation(rr, reterr, "reported a verification after it mounted the image.");
        if (n != 5 || !(p = layout_partition(rr, f[0], &v.designator)) || parse_u64(f[1], &v.offset) < 0 ||
            parse_u64(f[3], &v.covered) < 0 || (!streq(f[4], "checked") && !streq(f[4], "cached")) ||
            verity_root_hash_from_hex(f[2], &hash, &hash_size) < 0 || hash_size > VERITY_CACHE_HASH_MAX)
                return violation(rr, reterr, "sent a malformed verification message.");
        if (!p->found || p->protection == PARTITION_UNPROTECTED || p->verified)
                return violation(rr, reterr, "reported a verification of the %s partition that was not due.", f[0]);

        memcpy(v.root_hash, hash, hash_size);
        v.root_hash_size = hash_size;
        v.cached = streq(f[4], "cached");
        {
                _cleanup_free_ char *hex = verity_root_hash_to_hex(hash, hash_size);

                if (!hex)
                        return -ENOMEM;
                if (!streq(hex, p->root_hash))
                        return violation(rr, reterr, "reported a verification of the %s partition against another root hash.",
                                         f[0]);
        }
        if (v.covered == 0 || v.offset > rr->image_size || v.covered > rr->image_size - v.offset)
                return violation(rr, reterr, "reported a verification of the %s partition outside the image.", f[0]);
        if (v.cached && !cached_before(rr, &v))
                return violation(rr, reterr, "claimed the %s partition was verified before, which it was not.", f[0]);

        p->verified = true;
        p->cached = v.cached;
        rr->verified[rr->n_verified++] = v;
        return 0;
}

/* 'L': the pinned policy; the layout is complete. */
static int handle_layout(ReaderReceiver *rr, char **f, size_t n, sd_bus_error *reterr) {
        _cleanup_(image_policy_freep) ImagePolicy *policy = NULL;
        ImageLayout *l = rr->layout;

        if (!rr->expect_layout || rr->layout_done)
                return violation(rr, reterr, "sent an unexpected layout message.");
        if (n != 1 || isempty(f[0]) || !utf8_is_valid(f[0]) || image_policy_from_string(f[0], &policy, NULL) < 0)
                return violation(rr, reterr, "sent a malformed layout message.");
        if (!l->partitions[PARTITION_ROOT].found && !l->partitions[PARTITION_USR].found)
                return violation(rr, reterr, "reported no partition to mount.");
        for (size_t i = 0; i < ELEMENTSOF(l->partitions); i++)
                if (l->partitions[i].found && l->partitions[i].protection != PARTITION_UNPROTECTED &&
                    !l->partitions[i].verified)
                        return violation(rr, reterr, "did not verify the %s partition before mounting it.",
                                         partition_designator_to_string((PartitionDesignator) i));

        /* Our own spelling of it: this goes into unit files. */
        if (image_policy_to_string(policy, /* simplify= */ true, &l->pinned_policy) < 0)
                return -ENOMEM;
        rr->layout_done = true;
        return 0;
}

static int handle_error(ReaderReceiver *rr, char **fields, size_t n, sd_bus_error *reterr) {
        char *end;
        long e;

        if (n != 3)
                return violation(rr, reterr, "sent a garbled error.");
        e = strtol(fields[0], &end, 10);
        if (*end || e <= 0 || e > 4095)
                e = EIO;
        if (!utf8_is_valid(fields[2]) || (!isempty(fields[1]) && !sd_bus_interface_name_is_valid(fields[1])))
                return violation(rr, reterr, "sent a garbled error.");
        return portable_error(reterr, (int) e, isempty(fields[1]) ? NULL : fields[1], "%s", fields[2]);
}

/* Splits the payload into its NUL-terminated fields; the last byte must end a field. */
static int split_fields(const char *buf, size_t size, char ***ret, size_t *ret_n) {
        _cleanup_strv_free_ char **fields = NULL;
        size_t n = 0;
        int r;

        if (size > 1 && buf[size - 1] != '\0')
                return -EBADMSG;
        for (const char *p = buf + 1; p < buf + size; p += strlen(p) + 1) {
                r = strv_extend(&fields, p);
                if (r < 0)
                        return r;
                n++;
        }
        *ret = TAKE_PTR(fields);
        *ret_n = n;
        return 0;
}

static bool allowed_before_layout(char type) {
        return type == READER_PARTITION || type == READER_VERIFIED || type == READER_LAYOUT || type == READER_ERROR;
}

int reader_receiver_handle(ReaderReceiver *rr, const char *buf, size_t size, int fd_in, sd_bus_error *reterr) {
        _cleanup_close_ int fd = fd_in;
        _cleanup_strv_free_ char **fields = NULL;
        size_t n = 0;
        int r;

        if (rr->done)
                return violation(rr, reterr, "sent more after it was done.");
        if (size == 0)
                return violation(rr, reterr, "sent an empty message.");
        if (split_fields(buf, size, &fields, &n) < 0)
                return violation(rr, reterr, "sent a malformed message.");
        if (fd >= 0 && buf[0] != READER_OS_RELEASE && buf[0] != READER_EXTENSION_RELEASE && buf[0] != READER_UNIT)
                return violation(rr, reterr, "sent a file where none was due.");
        if (rr->expect_layout && !rr->layout_done && !allowed_before_layout(buf[0]))
                return violation(rr, reterr, "sent something before it reported the image's layout.");

        switch (buf[0]) {
        case READER_PARTITION:
                return handle_partition(rr, fields, n, reterr);

        case READER_VERIFIED:
                return handle_verified(rr, fields, n, reterr);

        case READER_LAYOUT:
                return handle_layout(rr, fields, n, reterr);

        case READER_OS_RELEASE:
                if (n != 1)
                        return violation(rr, reterr, "sent a malformed release file message.");
                return handle_os_release(rr, fields[0], fd, reterr);

        case READER_EXTENSION_RELEASE:
                if (n != 3)
                        return violation(rr, reterr, "sent a malformed release file message.");
                return handle_extension_release(rr, fields, fd, reterr);

        case READER_UNIT:
                if (n != 2)
                        return violation(rr, reterr, "sent a malformed unit message.");
                return handle_unit(rr, fields[0], fields[1], fd, reterr);

        case READER_WARNING:
                if (n != 1 || !utf8_is_valid(fields[0]))
                        return violation(rr, reterr, "sent a malformed warning.");
                if (strv_length(rr->metadata->warnings) == PORTABLE_WARNINGS_MAX)
                        return portable_metadata_add_warning(rr->metadata, "(further warnings left out)");
                if (strv_length(rr->metadata->warnings) > PORTABLE_WARNINGS_MAX)
                        return 0;
                return portable_metadata_add_warning(rr->metadata, "%s", fields[0]);

        case READER_MISSING:
                if (n != 1 || !strv_contains(rr->check_paths, fields[0]) || strv_contains(rr->metadata->missing, fields[0]))
                        return violation(rr, reterr, "reported a path that was not asked about.");
                r = strv_extend(&rr->metadata->missing, fields[0]);
                return r < 0 ? r : 0;

        case READER_ERROR:
                return handle_error(rr, fields, n, reterr);

        case READER_DONE:
                if (n != 0)
                        return violation(rr, reterr, "sent a malformed end message.");
                if (!rr->metadata->os_release.name)
                        return violation(rr, reterr, "sent no %s.", rr->extension ? "extension-release" : "os-release");
                if (rr->expect_layout)
                        rr->metadata->layout = TAKE_PTR(rr->layout);
                rr->done = true;
                return 1;

        default:
                return violation(rr, reterr, "sent an unknown message.");
        }
}

int reader_receiver_process(ReaderReceiver *rr, int sock, sd_bus_error *reterr) {
        for (;;) {
                char buf[READER_MESSAGE_MAX + 1]; /* room for a NUL after the longest message */
                _cleanup_close_ int fd = -EBADF;
                ssize_t n;
                int r;

                n = reader_receive(sock, buf, READER_MESSAGE_MAX, MSG_DONTWAIT, &fd);
                if (n == -EAGAIN)
                        return 0;
                if (n == -EBADMSG)
                        return violation(rr, reterr, "sent an oversized message.");
                if (n < 0)
                        return portable_error(reterr, (int) -n, NULL, "Image '%s': lost contact with the image reader: %m",
                                              rr->image_label);
                if (n == 0) {
                        if (rr->done)
                                return 1; /* hung up after 'D', as it should */
                        return portable_error(reterr, EPIPE, NULL, "Image '%s': the image reader ended without finishing.",
                                              rr->image_label);
                }

                r = reader_receiver_handle(rr, buf, (size_t) n, TAKE_FD(fd), reterr);
                if (r != 0)
                        return r;
        }
}
