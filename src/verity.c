/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <fcntl.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "escape.h"
#include "dlopen-crypto.h"
#include "fd-util.h"
#include "fileio.h"
#include "loop-device.h"
#include "path-util.h"
#include "portable-error.h"
#include "verity.h"

#define ROOT_HASH_MIN 16U
#define ROOT_HASH_MAX 64U
#define HASH_FILE_MAX 4096U
#define SIGNATURE_FILE_MAX (1024U * 1024U)
#define SIGNATURE_PARTITION_MAX (4U * 1024U * 1024U)

void verity_data_done(VerityData *d) {
        if (!d)
                return;
        free(d->root_hash);
        free(d->usr_hash);
        free(d->root_hash_sig);
        free(d->usr_hash_sig);
        free(d->root_hash_source);
        free(d->usr_hash_source);
        safe_close(d->hash_fd);
        *d = VERITY_DATA_NULL;
}

static int unhex_digit(char c) {
        if (c >= '0' && c <= '9')
                return c - '0';
        if (c >= 'a' && c <= 'f')
                return c - 'a' + 10;
        if (c >= 'A' && c <= 'F')
                return c - 'A' + 10;
        return -1;
}

int verity_root_hash_from_hex(const char *s, uint8_t **ret, size_t *ret_size) {
        _cleanup_free_ uint8_t *h = NULL;
        size_t l;

        while (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r')
                s++;
        for (l = 0; unhex_digit(s[l]) >= 0; l++)
                ;
        for (size_t i = l; s[i]; i++)
                if (!strchr(" \t\r\n", s[i]))
                        return -EINVAL;
        if (l % 2 != 0 || l / 2 < ROOT_HASH_MIN || l / 2 > ROOT_HASH_MAX)
                return -EINVAL;

        h = malloc(l / 2);
        if (!h)
                return -ENOMEM;
        for (size_t i = 0; i < l / 2; i++)
                h[i] = (uint8_t) (unhex_digit(s[2 * i]) << 4 | unhex_digit(s[2 * i + 1]));

        *ret = TAKE_PTR(h);
        *ret_size = l / 2;
        return 0;
}

char *verity_root_hash_to_hex(const uint8_t *hash, size_t size) {
        return hexmem(hash, size);
}

/* NAME.raw → NAME<suffix>; other names get the suffix appended. */
static char *sidecar_name(const char *image_filename, const char *suffix) {
        size_t l = strlen(image_filename);
        char *s;

        if (endswith(image_filename, ".raw"))
                l -= 4;
        if (asprintf(&s, "%.*s%s", (int) l, image_filename, suffix) < 0)
                return NULL;
        return s;
}

/* 1 and the contents if the sidecar exists, 0 if not. */
static int read_sidecar(int dir_fd, const char *name, size_t max, char **ret, size_t *ret_size) {
        _cleanup_close_ int fd = -EBADF;
        struct stat st;

        fd = openat(dir_fd, name, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
        if (fd < 0)
                return errno == ENOENT ? 0 : -errno;
        if (fstat(fd, &st) < 0)
                return -errno;
        if (!S_ISREG(st.st_mode))
                return -EBADFD;
        return read_full_fd(fd, max, ret, ret_size) < 0 ? -EFBIG : 1;
}

/* 1 and the value if the xattr is set, 0 if not. */
static int read_xattr(int fd, const char *name, char **ret) {
        char buf[HASH_FILE_MAX + 1];
        ssize_t n;

        n = fgetxattr(fd, name, buf, HASH_FILE_MAX);
        if (n < 0)
                return errno == ENODATA || errno == ENOTSUP || errno == ERANGE ? 0 : -errno;
        buf[n] = '\0';
        *ret = strdup(buf);
        return *ret ? 1 : -ENOMEM;
}

/* The hash for "root" or "usr": the xattr first, then the sidecar file, as upstream. */
static int load_hash(int dir_fd, const char *image_filename, int image_fd, const char *which, uint8_t **ret,
                     size_t *ret_size, char **ret_source, sd_bus_error *reterr) {
        _cleanup_free_ char *xattr = NULL, *file = NULL, *text = NULL, *source = NULL;
        size_t size;
        int r;

        if (asprintf(&xattr, "user.verity.%shash", which) < 0)
                return -ENOMEM;
        r = read_xattr(image_fd, xattr, &text);
        if (r < 0)
                return portable_error(reterr, r, NULL, "Image '%s': cannot read xattr %s: %m", image_filename, xattr);
        if (r > 0)
                source = TAKE_PTR(xattr);
        else {
                file = sidecar_name(image_filename, streq(which, "root") ? ".roothash" : ".usrhash");
                if (!file)
                        return -ENOMEM;
                r = read_sidecar(dir_fd, file, HASH_FILE_MAX, &text, &size);
                if (r < 0)
                        return portable_error(reterr, r, NULL, "Image '%s': cannot read '%s': %m", image_filename, file);
                if (r == 0)
                        return 0;
                source = TAKE_PTR(file);
        }

        r = verity_root_hash_from_hex(text, ret, ret_size);
        if (r == -EINVAL)
                return portable_error(reterr, r, SD_BUS_ERROR_INVALID_ARGS,
                                      "Image '%s': %s does not hold a root hash in hex (%u to %u bytes), refusing.",
                                      image_filename, source, ROOT_HASH_MIN, ROOT_HASH_MAX);
        if (r < 0)
                return r;
        *ret_source = TAKE_PTR(source);
        return 1;
}

static int load_signature(int dir_fd, const char *image_filename, const char *suffix, uint8_t **ret, size_t *ret_size,
                          sd_bus_error *reterr) {
        _cleanup_free_ char *file = sidecar_name(image_filename, suffix), *data = NULL;
        size_t size;
        int r;

        if (!file)
                return -ENOMEM;
        r = read_sidecar(dir_fd, file, SIGNATURE_FILE_MAX, &data, &size);
        if (r < 0)
                return portable_error(reterr, r, NULL, "Image '%s': cannot read '%s': %m", image_filename, file);
        if (r == 0)
                return 0;
        if (size == 0)
                return portable_error(reterr, EBADMSG, SD_BUS_ERROR_INVALID_ARGS,
                                      "Image '%s': '%s' is empty, refusing.", image_filename, file);
        *ret = (uint8_t *) TAKE_PTR(data);
        *ret_size = size;
        return 1;
}

int verity_data_load(int dir_fd, const char *image_filename, int image_fd, VerityData *ret, sd_bus_error *reterr) {
        _cleanup_(verity_data_done) VerityData d = VERITY_DATA_NULL;
        _cleanup_free_ char *hash_file = NULL;
        struct stat st;
        int r;

        if (fstat(image_fd, &st) < 0)
                return portable_error(reterr, errno, NULL, "Image '%s': cannot stat: %m", image_filename);
        if (!S_ISREG(st.st_mode)) {
                *ret = VERITY_DATA_NULL;
                return 0;
        }

        r = load_hash(dir_fd, image_filename, image_fd, "root", &d.root_hash, &d.root_hash_size, &d.root_hash_source,
                      reterr);
        if (r < 0)
                return r;
        r = load_hash(dir_fd, image_filename, image_fd, "usr", &d.usr_hash, &d.usr_hash_size, &d.usr_hash_source,
                      reterr);
        if (r < 0)
                return r;
        if (d.root_hash) {
                r = load_signature(dir_fd, image_filename, ".roothash.p7s", &d.root_hash_sig, &d.root_hash_sig_size,
                                   reterr);
                if (r < 0)
                        return r;
        }
        if (d.usr_hash) {
                r = load_signature(dir_fd, image_filename, ".usrhash.p7s", &d.usr_hash_sig, &d.usr_hash_sig_size,
                                   reterr);
                if (r < 0)
                        return r;
        }

        hash_file = sidecar_name(image_filename, ".verity");
        if (!hash_file)
                return -ENOMEM;
        r = openat(dir_fd, hash_file, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
        if (r < 0 && errno != ENOENT)
                return portable_error(reterr, errno, NULL, "Image '%s': cannot open '%s': %m", image_filename, hash_file);
        d.hash_fd = r < 0 ? -EBADF : r;
        if (d.hash_fd >= 0 && (fstat(d.hash_fd, &st) < 0 || !S_ISREG(st.st_mode)))
                return portable_error(reterr, EBADFD, SD_BUS_ERROR_INVALID_ARGS,
                                      "Image '%s': '%s' is not a regular file, refusing.", image_filename, hash_file);

        *ret = d;
        d = VERITY_DATA_NULL;
        return 0;
}

void verity_data_hints(const VerityData *d, DissectHints *ret) {
        *ret = (DissectHints) {
                .root_hash = d->root_hash,
                .root_hash_size = d->root_hash_size,
                .usr_hash = d->usr_hash,
                .usr_hash_size = d->usr_hash_size,
                .root_hash_sig = d->root_hash_sig != NULL,
                .usr_hash_sig = d->usr_hash_sig != NULL,
                .hash_sidecar = d->hash_fd >= 0,
        };
}

DEFINE_TRIVIAL_CLEANUP_FUNC(json_object *, json_object_put);
DEFINE_TRIVIAL_CLEANUP_FUNC(json_tokener *, json_tokener_free);
static void encode_ctx_freep(EVP_ENCODE_CTX **p) {
        if (*p)
                sym_EVP_ENCODE_CTX_free(*p);
}

static int unbase64(const char *s, uint8_t **ret, size_t *ret_size) {
        _cleanup_(encode_ctx_freep) EVP_ENCODE_CTX *ctx = NULL;
        _cleanup_free_ uint8_t *out = NULL;
        size_t l = strlen(s);
        int n1 = 0, n2 = 0, r;

        if (l == 0 || l > INT32_MAX / 2)
                return -EBADMSG;
        r = dlopen_libcrypto();
        if (r < 0)
                return r;
        ctx = sym_EVP_ENCODE_CTX_new();
        out = malloc(l / 4 * 3 + 4);
        if (!ctx || !out)
                return -ENOMEM;
        sym_EVP_DecodeInit(ctx);
        if (sym_EVP_DecodeUpdate(ctx, out, &n1, (const unsigned char *) s, (int) l) < 0 ||
            sym_EVP_DecodeFinal(ctx, out + n1, &n2) < 0 || n1 + n2 <= 0)
                return -EBADMSG;

        *ret = TAKE_PTR(out);
        *ret_size = (size_t) (n1 + n2);
        return 0;
}

int verity_signature_partition_read(int image_fd, uint64_t offset, uint64_t size, const char *image,
                                    uint8_t **ret_root_hash, size_t *ret_root_hash_size, uint8_t **ret_signature,
                                    size_t *ret_signature_size, sd_bus_error *reterr) {
        _cleanup_(json_tokener_freep) json_tokener *tok = NULL;
        _cleanup_(json_object_putp) json_object *o = NULL;
        _cleanup_free_ uint8_t *hash = NULL, *sig = NULL;
        _cleanup_free_ char *buf = NULL;
        json_object *h, *s;
        size_t len, hash_size, sig_size, got = 0;
        int r;

        if (size > SIGNATURE_PARTITION_MAX)
                return portable_error(reterr, EFBIG, SD_BUS_ERROR_INVALID_ARGS,
                                      "Image '%s': verity signature partition is larger than %u bytes, refusing.", image,
                                      SIGNATURE_PARTITION_MAX);
        buf = malloc(size + 1);
        if (!buf)
                return -ENOMEM;
        while (got < size) {
                ssize_t n = pread(image_fd, buf + got, size - got, (off_t) (offset + got));

                if (n < 0)
                        return portable_error(reterr, errno, NULL, "Image '%s': cannot read the verity signature "
                                              "partition: %m", image);
                if (n == 0)
                        break;
                got += (size_t) n;
        }
        buf[got] = '\0';
        len = strlen(buf); /* the JSON, without the zero padding */

        tok = json_tokener_new();
        if (!tok)
                return -ENOMEM;
        o = json_tokener_parse_ex(tok, buf, (int) len);
        r = json_tokener_get_error(tok) == json_tokener_success && o && json_object_is_type(o, json_type_object);
        for (size_t i = r ? json_tokener_get_parse_end(tok) : 0; r && i < len; i++)
                if (!strchr(" \t\r\n", buf[i]))
                        r = 0;
        if (!r ||
            !json_object_object_get_ex(o, "rootHash", &h) || !json_object_is_type(h, json_type_string) ||
            !json_object_object_get_ex(o, "signature", &s) || !json_object_is_type(s, json_type_string))
                return portable_error(reterr, EBADMSG, SD_BUS_ERROR_INVALID_ARGS,
                                      "Image '%s': verity signature partition does not hold a JSON object with "
                                      "\"rootHash\" and \"signature\" strings, refusing.", image);

        if (verity_root_hash_from_hex(json_object_get_string(h), &hash, &hash_size) < 0)
                return portable_error(reterr, EBADMSG, SD_BUS_ERROR_INVALID_ARGS,
                                      "Image '%s': verity signature partition has an invalid \"rootHash\", refusing.",
                                      image);
        r = unbase64(json_object_get_string(s), &sig, &sig_size);
        if (r == -EBADMSG)
                return portable_error(reterr, r, SD_BUS_ERROR_INVALID_ARGS,
                                      "Image '%s': verity signature partition has an invalid \"signature\" "
                                      "(not base64), refusing.", image);
        if (r == -EOPNOTSUPP)
                return portable_error(reterr, r, NULL, "Image '%s': cannot decode its verity signature, libcrypto cannot be loaded: %s",
                                      image, dlopen_crypto_error());
        if (r < 0)
                return r;

        *ret_root_hash = TAKE_PTR(hash);
        *ret_root_hash_size = hash_size;
        *ret_signature = TAKE_PTR(sig);
        *ret_signature_size = sig_size;
        return 0;
}

void verity_target_done(VerityTarget *t) {
        if (!t)
                return;
        free(t->root_hash);
        free(t->signature);
        safe_close(t->hash_fd);
        *t = VERITY_TARGET_NULL;
}

static int memdup_to(const uint8_t *p, size_t n, uint8_t **ret) {
        *ret = malloc(n);
        if (!*ret)
                return -ENOMEM;
        memcpy(*ret, p, n);
        return 0;
}

int verity_target_resolve(int image_fd, const DissectedImage *m, PartitionDesignator d, const VerityData *vd,
                          VerityTarget *ret, sd_bus_error *reterr) {
        _cleanup_(verity_target_done) VerityTarget t = VERITY_TARGET_NULL;
        _cleanup_free_ uint8_t *part_hash = NULL, *part_sig = NULL;
        const DissectedPartition *p = m->partitions + d, *sigp, *vp;
        const uint8_t *hash = NULL, *sig = NULL;
        size_t hash_size = 0, sig_size = 0, part_hash_size = 0, part_sig_size = 0;
        const char *source = NULL;
        int r;

        if (d != PARTITION_ROOT && d != PARTITION_USR)
                return -EINVAL;
        *ret = VERITY_TARGET_NULL;
        if (!p->found || p->protection == PARTITION_UNPROTECTED)
                return 0;

        if (vd) {
                hash = d == PARTITION_ROOT ? vd->root_hash : vd->usr_hash;
                hash_size = d == PARTITION_ROOT ? vd->root_hash_size : vd->usr_hash_size;
                sig = d == PARTITION_ROOT ? vd->root_hash_sig : vd->usr_hash_sig;
                sig_size = d == PARTITION_ROOT ? vd->root_hash_sig_size : vd->usr_hash_sig_size;
                source = d == PARTITION_ROOT ? vd->root_hash_source : vd->usr_hash_source;
        }

        sigp = m->partitions + partition_verity_sig_of(d);
        if (m->partitioned && sigp->found) {
                r = verity_signature_partition_read(image_fd, sigp->offset, sigp->size, m->name, &part_hash,
                                                    &part_hash_size, &part_sig, &part_sig_size, reterr);
                if (r < 0)
                        return r;
                if (hash && (hash_size != part_hash_size || memcmp(hash, part_hash, hash_size) != 0)) {
                        _cleanup_free_ char *a = verity_root_hash_to_hex(part_hash, part_hash_size),
                                            *b = verity_root_hash_to_hex(hash, hash_size);

                        return portable_error(reterr, EBADMSG, SD_BUS_ERROR_INVALID_ARGS,
                                              "Image '%s': the root hash in the %s partition (%s) differs from %s (%s), "
                                              "refusing.", m->name, partition_designator_to_string(partition_verity_sig_of(d)),
                                              strna(a), strna(source), strna(b));
                }
                if (!hash) {
                        hash = part_hash;
                        hash_size = part_hash_size;
                }
                if (!sig) {
                        sig = part_sig;
                        sig_size = part_sig_size;
                }
        }
        if (!hash)
                return portable_error(reterr, EADDRNOTAVAIL, SD_BUS_ERROR_INVALID_ARGS,
                                      "Image '%s': no root hash for the %s partition is known, refusing.", m->name,
                                      partition_designator_to_string(d));

        t.designator = d;
        r = memdup_to(hash, hash_size, &t.root_hash);
        if (r < 0)
                return r;
        t.root_hash_size = hash_size;
        if (sig) {
                r = memdup_to(sig, sig_size, &t.signature);
                if (r < 0)
                        return r;
                t.signature_size = sig_size;
        }

        vp = m->partitions + partition_verity_of(d);
        if (m->partitioned && vp->found) {
                t.hash_fd = fcntl(image_fd, F_DUPFD_CLOEXEC, 3);
                t.hash_offset = vp->offset;
        } else if (!m->partitioned && vd && vd->hash_fd >= 0) {
                t.hash_fd = fcntl(vd->hash_fd, F_DUPFD_CLOEXEC, 3);
                t.hash_offset = 0;
        } else
                return portable_error(reterr, EADDRNOTAVAIL, SD_BUS_ERROR_INVALID_ARGS,
                                      "Image '%s': no verity hash tree for the %s partition, refusing.", m->name,
                                      partition_designator_to_string(d));
        if (t.hash_fd < 0)
                return -errno;
        t.data_offset = p->offset;
        t.data_size = p->size;

        *ret = t;
        t = VERITY_TARGET_NULL;
        return 1;
}

int verity_apply_signature(DissectedImage *m, PartitionDesignator d, VeritySignatureResult result, const char *detail,
                           sd_bus_error *reterr) {
        DissectedPartition *p = m->partitions + d;

        if (d != PARTITION_ROOT && d != PARTITION_USR)
                return -EINVAL;
        if (!p->found || p->protection == PARTITION_UNPROTECTED)
                return 0;

        switch (result) {
        case VERITY_SIGNATURE_TRUSTED:
                p->protection = PARTITION_SIGNED;
                return 0;
        case VERITY_SIGNATURE_UNSIGNED:
        case VERITY_SIGNATURE_UNTRUSTED:
                p->protection = PARTITION_VERITY;
                return 0;
        case VERITY_SIGNATURE_BAD:
                return portable_error(reterr, EKEYREJECTED, NULL,
                                      "Image '%s': the signature of the %s partition's root hash is invalid (%s), refusing.",
                                      m->name, partition_designator_to_string(d), strna(detail));
        default:
                return -EINVAL;
        }
}

/* libcryptsetup's error messages, collected for ours. */
typedef struct CryptLog {
        char text[512];
} CryptLog;

static void crypt_log_collect(int level, const char *msg, void *userdata) {
        CryptLog *l = userdata;
        size_t n = strlen(l->text), m;

        if (level != CRYPT_LOG_ERROR || !msg)
                return;
        m = strlen(msg);
        while (m > 0 && (msg[m - 1] == '\n' || msg[m - 1] == ' '))
                m--;
        if (m == 0 || (n >= m && strncmp(l->text + n - m, msg, m) == 0))
                return; /* libcryptsetup repeats itself */
        (void) snprintf(l->text + n, sizeof(l->text) - n, "%s%.*s", n > 0 ? " " : "", (int) m, msg);
}

static void crypt_freep(struct crypt_device **p) {
        if (*p)
                sym_crypt_free(*p);
}

static int verify_failed(sd_bus_error *reterr, const char *image, const char *what, const char *reason,
                         const CryptLog *log) {
        return portable_error(reterr, EBADMSG, NULL, "Image '%s' failed verification: %s %s%s%s%s.", image, what,
                              reason, isempty(log->text) ? "" : " (", log->text, isempty(log->text) ? "" : ")");
}

int verity_verify(int data_fd, uint64_t data_limit, int hash_fd, uint64_t hash_offset, const uint8_t *root_hash,
                  size_t root_hash_size, const char *image, const char *what, uint64_t *ret_covered,
                  sd_bus_error *reterr) {
        _cleanup_(crypt_freep) struct crypt_device *cd = NULL;
        struct crypt_params_verity params = {
                .flags = CRYPT_VERITY_CHECK_HASH,
                .hash_area_offset = hash_offset,
        }, info = {};
        char data_path[64], hash_path[64];
        CryptLog log = {};
        uint64_t covered;
        int r;

        if (!root_hash || root_hash_size == 0)
                return -EINVAL;
        r = dlopen_cryptsetup();
        if (r < 0)
                return portable_error(reterr, r, NULL, "Image '%s': cannot verify %s, libcryptsetup cannot be loaded: %s",
                                      image, what, dlopen_crypto_error());

        /* libcryptsetup opens devices by path; these reopen exactly the files we were handed. */
        snprintf(data_path, sizeof(data_path), "/proc/self/fd/%d", data_fd);
        snprintf(hash_path, sizeof(hash_path), "/proc/self/fd/%d", hash_fd);

        r = sym_crypt_init_data_device(&cd, hash_path, data_path);
        if (r < 0)
                return portable_error(reterr, r, NULL, "Image '%s': cannot set up verification of %s: %m", image, what);
        sym_crypt_set_log_callback(cd, crypt_log_collect, &log);

        r = sym_crypt_load(cd, CRYPT_VERITY, &params);
        if (r == -ENOMEM)
                return r;
        if (r < 0)
                return verify_failed(reterr, image, what, "has no valid verity superblock in its hash tree", &log);

        r = sym_crypt_get_verity_info(cd, &info);
        if (r < 0)
                return portable_error(reterr, r, NULL, "Image '%s': cannot read the verity parameters of %s: %m",
                                      image, what);
        if (info.data_block_size == 0 || info.data_size == 0 || info.data_size > UINT64_MAX / info.data_block_size)
                return verify_failed(reterr, image, what, "has a hash tree covering no data", &log);
        /* libcryptsetup compares only as many bytes as it is given: a prefix of the right root
         * hash must not pass (it does for one-block images). */
        if (sym_crypt_get_volume_key_size(cd) <= 0 || (size_t) sym_crypt_get_volume_key_size(cd) != root_hash_size) {
                char reason[128];

                snprintf(reason, sizeof(reason), "has a root hash of %zu bytes where %s needs %d", root_hash_size,
                         strna(info.hash_name), sym_crypt_get_volume_key_size(cd));
                return verify_failed(reterr, image, what, reason, &log);
        }
        covered = info.data_size * info.data_block_size;
        if (covered > data_limit) {
                char reason[128];

                snprintf(reason, sizeof(reason), "has a hash tree for %" PRIu64 " bytes but only %" PRIu64 " bytes of data",
                         covered, data_limit);
                return verify_failed(reterr, image, what, reason, &log);
        }

        /* No name: libcryptsetup checks every block in user space (CRYPT_VERITY_CHECK_HASH) and
         * activates nothing. */
        r = sym_crypt_activate_by_volume_key(cd, NULL, (const char *) root_hash, root_hash_size, CRYPT_ACTIVATE_READONLY);
        if (r == -ENOMEM)
                return r;
        if (r < 0)
                return verify_failed(reterr, image, what, "does not match its root hash", &log);

        if (ret_covered)
                *ret_covered = covered;
        return 0;
}

int verity_target_verify(int image_fd, const VerityTarget *t, const char *image, const char *loop_node_path,
                         uint64_t *ret_covered, sd_bus_error *reterr) {
        _cleanup_close_ int loop_fd = -EBADF;
        char what[64];

        snprintf(what, sizeof(what), "the %s file system", t->designator == PARTITION_USR ? "/usr" : "root");

        if (t->data_offset != 0) {
                loop_fd = loop_device_attach(image_fd, t->data_offset, t->data_size, loop_node_path);
                /* The fd is all we need; the node would only be left behind. */
                (void) unlink(loop_node_path);
                if (loop_fd < 0)
                        return portable_error(reterr, loop_fd, NULL, "Image '%s': cannot attach a loop device to "
                                              "verify %s: %m", image, what);
        }

        return verity_verify(loop_fd >= 0 ? loop_fd : image_fd, t->data_size, t->hash_fd, t->hash_offset,
                             t->root_hash, t->root_hash_size, image, what, ret_covered, reterr);
}

bool verity_kernel_has_device_mapper(void) {
        _cleanup_close_ int fd = open("/dev/mapper/control", O_RDWR | O_CLOEXEC);

        return fd >= 0;
}

int verity_activate(const char *data_path, const char *hash_path, uint64_t hash_offset, const uint8_t *root_hash,
                    size_t root_hash_size, const char *name, char **ret_node, sd_bus_error *reterr) {
        _cleanup_(crypt_freep) struct crypt_device *cd = NULL;
        struct crypt_params_verity params = {
                .hash_area_offset = hash_offset,
        };
        _cleanup_free_ char *node = NULL;
        CryptLog log = {};
        int r;

        if (!verity_kernel_has_device_mapper())
                return portable_error(reterr, EOPNOTSUPP, NULL,
                                      "Cannot set up dm-verity device '%s': the kernel has no device-mapper.", name);
        r = dlopen_cryptsetup();
        if (r < 0)
                return portable_error(reterr, r, NULL, "Cannot set up dm-verity device '%s': libcryptsetup cannot be loaded: %s",
                                      name, dlopen_crypto_error());
        if (asprintf(&node, "/dev/mapper/%s", name) < 0)
                return -ENOMEM;

        r = sym_crypt_init_data_device(&cd, hash_path, data_path);
        if (r < 0)
                return portable_error(reterr, r, NULL, "Cannot set up dm-verity device '%s': %m", name);
        sym_crypt_set_log_callback(cd, crypt_log_collect, &log);
        r = sym_crypt_load(cd, CRYPT_VERITY, &params);
        if (r < 0)
                return portable_error(reterr, r, NULL, "Cannot set up dm-verity device '%s': no verity superblock "
                                      "(%s)", name, log.text);
        r = sym_crypt_activate_by_volume_key(cd, name, (const char *) root_hash, root_hash_size, CRYPT_ACTIVATE_READONLY);
        if (r < 0)
                return portable_error(reterr, r, NULL, "Cannot activate dm-verity device '%s': %m (%s)", name, log.text);

        *ret_node = TAKE_PTR(node);
        return 0;
}

int verity_deactivate(const char *name) {
        int r = dlopen_cryptsetup();

        if (r < 0)
                return r;
        return sym_crypt_deactivate_by_name(NULL, name, CRYPT_DEACTIVATE_DEFERRED);
}
