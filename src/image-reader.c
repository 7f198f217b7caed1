/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <fcntl.h>
#include <sched.h>
#include <linux/fs.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "chase.h"
#include "fd-util.h"
#include "image-layout.h"
#include "image-reader.h"
#include "path-util.h"
#include "pidfd-util.h"
#include "portable-error.h"
#include "reader-child.h"
#include "reader-receive.h"
#include "reader-sandbox.h"
#include "reader-spare.h"
#include "strv.h"
#include "verity.h"

/* At most this many cache entries are handed to the child: partitions of one file. */
#define VERIFIED_MAX 8U

struct ImageReader {
        char *image_path;
        ImageType image_type;
        int dir_fd;        /* directory images: to check the sources the child names */
        int image_fd;      /* raw images: to see whether the file changed while it was read */
        struct stat image_st;
        VerityCache *verity_cache;
        pid_t pid;
        int pidfd;
        int sock;
        ReaderReceiver *receiver;

        bool received;     /* no more messages to read: done, failed, or hung up */
        int receive_r;
        sd_bus_error receive_error;

        bool exited;
        siginfo_t exit_info;
        bool end_checked;  /* nothing was queued after 'D' */

        char *kill_reason;

        MetadataCache *metadata_cache;
        void *cache_key;       /* set when what this read finds may be cached */
        size_t cache_key_size;
        PortableMetadata *cached; /* the answer, from the cache: no child */
};

int image_reader_prepare(ReaderSandbox *sandbox, ReaderSpare **spare, const char *spare_helper) {
        int k, namespaces;

        k = reader_sandbox_prepare(sandbox);
        if (k < 0)
                return k;
        /* Before the spare, which is given them; without them, every reader makes its own. */
        namespaces = reader_sandbox_prepare_namespaces(sandbox);
        if (spare && !*spare) {
                k = reader_spare_start(spare_helper, sandbox, spare);
                if (k < 0)
                        return k;
        }
        return namespaces < 0 ? namespaces : 0;
}

int image_reader_socket_fd(const ImageReader *r) {
        return r->sock;
}

int image_reader_pidfd(const ImageReader *r) {
        return r->pidfd;
}

bool image_reader_from_cache(const ImageReader *r) {
        return r->cached != NULL;
}

static bool is_directory_type(ImageType t) {
        return t == IMAGE_DIRECTORY || t == IMAGE_SUBVOLUME;
}

static void reap(ImageReader *r, bool wait) {
        int k;

        if (r->exited || r->pidfd < 0)
                return;
        k = pidfd_reap(r->pidfd, wait, &r->exit_info);
        if (k == 0)
                return;
        r->exited = true;
        if (k < 0) {
                /* Reaped elsewhere: nothing to learn any more. */
                r->exit_info.si_code = CLD_EXITED;
                r->exit_info.si_status = EXIT_FAILURE;
        }
}

void image_reader_kill(ImageReader *r, const char *reason) {
        if (reason && !r->kill_reason)
                r->kill_reason = strdup(reason);
        if (!r->exited && r->pidfd >= 0)
                (void) pidfd_kill(r->pidfd);
}

int image_reader_take_child(ImageReader *r) {
        if (r->exited || r->pidfd < 0)
                return -EBADF;
        image_reader_kill(r, NULL);
        r->exited = true; /* somebody else's now */
        return TAKE_FD(r->pidfd);
}

ImageReader *image_reader_free(ImageReader *r) {
        if (!r)
                return NULL;
        if (!r->exited) {
                image_reader_kill(r, "cancelled");
                reap(r, /* wait= */ true);
        }
        free(r->image_path);
        safe_close(r->dir_fd);
        safe_close(r->image_fd);
        safe_close(r->pidfd);
        safe_close(r->sock);
        reader_receiver_free(r->receiver);
        sd_bus_error_free(&r->receive_error);
        free(r->kill_reason);
        free(r->cache_key);
        portable_metadata_free(r->cached);
        return mfree(r);
}

static int reader_new(const Image *image, const ImageReadRequest *request, ImageReader **ret) {
        _cleanup_(image_reader_freep) ImageReader *r = calloc(1, sizeof(ImageReader));
        int k;

        if (!r)
                return -ENOMEM;
        r->dir_fd = r->image_fd = r->pidfd = r->sock = -EBADF;
        r->image_type = image->type;
        r->image_path = strdup(image->path);
        if (!r->image_path)
                return -ENOMEM;
        k = reader_receiver_new(image->path, request->matches, request->check_paths, &r->receiver);
        if (k < 0)
                return k;
        if (request->extension) {
                k = reader_receiver_expect_extension(r->receiver, image->name, request->force_extension);
                if (k < 0)
                        return k;
        }
        *ret = TAKE_PTR(r);
        return 0;
}

int image_reader_adopt(const Image *image, const ImageReadRequest *request, pid_t pid, int pidfd, int sock,
                       ImageReader **ret) {
        _cleanup_close_ int p = pidfd, s = sock;
        ImageReader *r;
        int k;

        k = reader_new(image, request, &r);
        if (k < 0)
                return k;
        r->pid = pid;
        r->pidfd = TAKE_FD(p);
        r->sock = TAKE_FD(s);
        *ret = r;
        return 0;
}

/* The image as the child will see it: opened here, once, and checked to still be what it was
 * found to be. The child never opens it by path. */
static int open_image(const Image *image, sd_bus_error *reterr) {
        _cleanup_close_ int fd = -EBADF;
        struct stat st;
        bool ok;

        if (image->type < 0 || image->type >= _IMAGE_TYPE_MAX)
                return portable_error(reterr, EMEDIUMTYPE, NULL, "Image '%s': unknown image type.", image->path);

        if (is_directory_type(image->type))
                fd = open(image->path, O_PATH | O_DIRECTORY | O_CLOEXEC);
        else
                fd = open(image->path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
        if (fd < 0)
                return portable_error(reterr, errno, NULL, "Image '%s': cannot open: %m", image->path);
        if (fstat(fd, &st) < 0)
                return -errno;

        switch (image->type) {
        case IMAGE_DIRECTORY:
        case IMAGE_SUBVOLUME:
                ok = S_ISDIR(st.st_mode);
                break;
        case IMAGE_RAW:
                ok = S_ISREG(st.st_mode);
                break;
        case IMAGE_BLOCK:
                ok = S_ISBLK(st.st_mode);
                break;
        default:
                return portable_error(reterr, EMEDIUMTYPE, NULL, "Image '%s': unknown image type.", image->path);
        }
        if (!ok)
                return portable_error(reterr, EMEDIUMTYPE, NULL, "Image '%s' is no longer the %s it was.", image->path,
                                      image_type_to_string(image->type));
        return TAKE_FD(fd);
}

/* What a raw image or block device takes beyond the fd: its verity sidecars, and what the cache
 * holds for the file. */
typedef struct RawSetup {
        VerityData verity;
        VerityIdentity verified[VERIFIED_MAX];
        uint64_t verified_covered[VERIFIED_MAX];
        size_t n_verified;
} RawSetup;

static void raw_setup_done(RawSetup *s) {
        verity_data_done(&s->verity);
}

static int prepare_raw(ImageReader *r, const Image *image, int image_fd, const ImageReadRequest *request, RawSetup *s,
                       sd_bus_error *reterr) {
        _cleanup_free_ char *dir = strdup(image->path);
        _cleanup_close_ int dir_fd = -EBADF;
        uint64_t size = 0;
        int k;

        if (!dir)
                return -ENOMEM;
        *(char *) path_last_component(dir) = '\0';
        dir_fd = open(isempty(dir) ? "/" : dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (dir_fd < 0)
                return portable_error(reterr, errno, NULL, "Image '%s': cannot open its directory: %m", image->path);

        k = verity_data_load(dir_fd, path_last_component(image->path), image_fd, &s->verity, reterr);
        if (k < 0)
                return k;

        if (fstat(image_fd, &r->image_st) < 0)
                return -errno;
        if (S_ISREG(r->image_st.st_mode)) {
                const uint8_t any = 0;
                VerityIdentity file;

                size = (uint64_t) r->image_st.st_size;
                r->image_fd = fcntl(image_fd, F_DUPFD_CLOEXEC, 3);
                if (r->image_fd < 0)
                        return -errno;
                r->verity_cache = request->verity_cache;
                if (verity_identity_from_fd(image_fd, 0, &any, 1, &file) >= 0)
                        s->n_verified = verity_cache_lookup_file(request->verity_cache, &file, s->verified,
                                                                 s->verified_covered, VERIFIED_MAX);
        } else if (ioctl(image_fd, BLKGETSIZE64, &size) < 0)
                return -errno;

        return reader_receiver_expect_layout(r->receiver, size, s->verified, s->verified_covered, s->n_verified);
}

/* ------------------------------------------------------------------------- metadata cache */

typedef struct KeyBuffer {
        uint8_t *data;
        size_t size;
        bool oom;
} KeyBuffer;

static void key_add(KeyBuffer *k, const void *p, size_t n) {
        uint8_t *grown;

        if (k->oom)
                return;
        grown = realloc(k->data, k->size + n);
        if (!grown) {
                k->oom = true;
                return;
        }
        k->data = grown;
        memcpy(k->data + k->size, p, n);
        k->size += n;
}

static void key_add_u64(KeyBuffer *k, uint64_t v) {
        key_add(k, &v, sizeof(v));
}

/* Length-prefixed, so that no two different field lists encode alike; NULL is not "". */
static void key_add_string(KeyBuffer *k, const char *s) {
        key_add_u64(k, s ? strlen(s) : UINT64_MAX);
        if (s)
                key_add(k, s, strlen(s));
}

static void key_add_strv(KeyBuffer *k, char * const *l) {
        key_add_u64(k, l ? strv_length((char **) l) : UINT64_MAX);
        STRV_FOREACH(p, (char **) l)
                key_add_string(k, *p);
}

static bool verity_data_is_empty(const VerityData *v) {
        return !v->root_hash && !v->usr_hash && !v->root_hash_sig && !v->usr_hash_sig && v->hash_fd < 0;
}

/* What a read of this file with this request finds depends on exactly these: the file's identity
 * and every field of the request that reaches the child or the checks of its answer. (No verity
 * data: nothing depends on the host's keys or on what was verified before.) */
static int build_cache_key(ImageReader *r, const Image *image, const ImageReadRequest *request) {
        KeyBuffer k = {};
        const struct stat *st = &r->image_st;

        key_add_string(&k, "portabled image metadata 1");
        key_add_u64(&k, (uint64_t) st->st_dev);
        key_add_u64(&k, (uint64_t) st->st_ino);
        key_add_u64(&k, (uint64_t) st->st_size);
        key_add_u64(&k, (uint64_t) st->st_mtim.tv_sec);
        key_add_u64(&k, (uint64_t) st->st_mtim.tv_nsec);
        key_add_u64(&k, (uint64_t) st->st_ctim.tv_sec);
        key_add_u64(&k, (uint64_t) st->st_ctim.tv_nsec);
        key_add_string(&k, image->path);
        key_add_string(&k, image->name);
        key_add_u64(&k, (uint64_t) request->extension | (uint64_t) request->force_extension << 1);
        key_add_string(&k, request->trust_root);
        key_add_strv(&k, request->matches);
        key_add_strv(&k, request->check_paths);
        key_add_strv(&k, request->image_policies);
        if (k.oom) {
                free(k.data);
                return -ENOMEM;
        }
        r->cache_key = k.data;
        r->cache_key_size = k.size;
        return 0;
}

/* Only an answer that nothing but the file and the request decided: no partition protected by
 * verity, so no signature checked against the host's keys and nothing verified. */
static bool metadata_is_cacheable(const PortableMetadata *m) {
        if (!m->layout)
                return false;
        for (size_t i = 0; i < ELEMENTSOF(m->layout->partitions); i++) {
                const LayoutPartition *p = &m->layout->partitions[i];

                if (p->found && (p->protection != PARTITION_UNPROTECTED || p->root_hash || p->verified ||
                                 p->signature != VERITY_SIGNATURE_UNSIGNED))
                        return false;
        }
        return true;
}

/* For a raw image file without verity data: the key, and the cached answer if there is one. */
static int try_cache(ImageReader *r, const Image *image, const ImageReadRequest *request, const RawSetup *raw) {
        int k;

        if (!request->metadata_cache || image->type != IMAGE_RAW || !S_ISREG(r->image_st.st_mode) ||
            !verity_data_is_empty(&raw->verity))
                return 0;

        k = build_cache_key(r, image, request);
        if (k < 0)
                return k;
        r->metadata_cache = request->metadata_cache;

        k = metadata_cache_lookup(r->metadata_cache, r->cache_key, r->cache_key_size, &r->cached);
        if (k <= 0)
                return k;
        /* Done, as if a child had read it and exited. */
        r->exited = r->received = true;
        r->exit_info.si_code = CLD_EXITED;
        r->exit_info.si_status = 0;
        return 1;
}

int image_reader_start(const Image *image, const ImageReadRequest *request, ImageReader **ret, sd_bus_error *reterr) {
        _cleanup_(image_reader_freep) ImageReader *r = NULL;
        _cleanup_close_pair_ int pair[2] = { -EBADF, -EBADF };
        _cleanup_(raw_setup_done) RawSetup raw = { .verity = VERITY_DATA_NULL };
        _cleanup_close_ int image_fd = -EBADF;
        _cleanup_(reader_sandbox_done) ReaderSandbox own_sandbox = READER_SANDBOX_NULL;
        ReaderSandbox *sandbox = request->sandbox ?: &own_sandbox;
        int k;

        image_fd = open_image(image, reterr);
        if (image_fd < 0)
                return image_fd;

        k = reader_new(image, request, &r);
        if (k < 0)
                return k;
        if (!is_directory_type(image->type)) {
                k = prepare_raw(r, image, image_fd, request, &raw, reterr);
                if (k < 0)
                        return k;
                k = try_cache(r, image, request, &raw);
                if (k < 0)
                        return k;
                if (k > 0) {
                        *ret = TAKE_PTR(r);
                        return 0;
                }
        } else {
                /* The reader gets a private clone of the directory's mount, just the directory's
                 * own file system; we keep the directory to check what it names. */
                int tree_fd = open_tree(image_fd, "", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_EMPTY_PATH);

                if (tree_fd < 0)
                        return portable_error(reterr, errno, NULL, "Image '%s': cannot prepare the directory for reading: %m",
                                              image->path);
                r->dir_fd = TAKE_FD(image_fd);
                image_fd = tree_fd;

                if (request->spare) {
                        k = reader_spare_hand_over(request->spare, image->path, image->name, request->extension,
                                                   request->force_extension, request->matches, request->check_paths,
                                                   image_fd, &r->pid, &r->pidfd, &r->sock);
                        if (k > 0) {
                                *ret = TAKE_PTR(r);
                                return 0;
                        }
                }
        }

        if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, pair) < 0)
                return -errno;

        /* Once per daemon: every reader then loads the compiled filter in one call. */
        k = reader_sandbox_prepare(sandbox);
        if (k < 0)
                return portable_error(reterr, k, NULL, "Image '%s': cannot prepare the reader's system call filter: %m",
                                      image->path);

        k = reader_sandbox_fork(&r->pid);
        if (k < 0)
                return portable_error(reterr, k, NULL, "Image '%s': cannot start the image reader: %m", image->path);
        if (r->pid == 0) {
                ReaderChildArgs args = {
                        .image = image,
                        .image_fd = image_fd,
                        .sock = pair[1],
                        /* Made ahead of time, if the caller did (image_reader_prepare()). */
                        .netns_fd = sandbox->netns_fd,
                        .ipcns_fd = sandbox->ipcns_fd,
                        .sandbox = sandbox,
                        .matches = request->matches,
                        .check_paths = request->check_paths,
                        .verity = &raw.verity,
                        .image_policies = request->image_policies,
                        .trust_root = request->trust_root,
                        .verified = raw.verified,
                        .verified_covered = raw.verified_covered,
                        .n_verified = raw.n_verified,
                        .extension = request->extension,
                        .force_extension = request->force_extension,
                };

                reader_child_main(&args);
        }

        r->sock = TAKE_FD(pair[0]);
        r->pidfd = pidfd_open_child(r->pid);
        if (r->pidfd < 0) {
                k = r->pidfd;
                r->exited = true;
                return portable_error(reterr, k, NULL, "Image '%s': cannot watch the image reader: %m", image->path);
        }

        *ret = TAKE_PTR(r);
        return 0;
}

/* A directory reader that said 'D' and hung up has given its whole answer, and holds nothing of the
 * host's that its exit would give back (its mounts are in its own namespace, gone with it): the
 * answer need not wait for the exit, whose namespace teardown takes longer than the reading. A raw
 * image's reader holds a loop device until it has exited. */
static bool answered_in_full(const ImageReader *r) {
        return is_directory_type(r->image_type) && r->received && r->receive_r == 0 && !r->kill_reason;
}

int image_reader_process(ImageReader *r) {
        if (!r->received) {
                int k = reader_receiver_process(r->receiver, r->sock, &r->receive_error);

                if (k != 0) {
                        r->received = true;
                        r->receive_r = k < 0 ? k : 0;
                        /* A child that broke the protocol, or reported its failure, has nothing
                         * more to say. One that hung up is on its way out: how it ends (killed by
                         * the seccomp filter, say) is what the caller needs to hear, and its
                         * pidfd says that a moment later. */
                        if (k < 0 && k != -EPIPE)
                                image_reader_kill(r, NULL);
                }
        }

        reap(r, /* wait= */ false);
        if (r->exited && !r->received) {
                /* Gone: whatever is still queued is all there is. */
                int k = reader_receiver_process(r->receiver, r->sock, &r->receive_error);

                r->received = true;
                r->receive_r = k < 0 ? k : k == 1 ? 0 : -EPIPE;
        }
        if (r->exited && r->received && r->receive_r == 0 && !r->end_checked) {
                /* 'D' is the last word: whatever the child queued after it is refused too. */
                int k = reader_receiver_process(r->receiver, r->sock, &r->receive_error);

                r->end_checked = true;
                if (k < 0)
                        r->receive_r = k;
        }
        return (r->exited || answered_in_full(r)) && r->received;
}

static const char *signal_hint(int sig) {
        switch (sig) {
        case SIGSYS:
                return " (it attempted a system call the reader may not make)";
        case SIGXCPU:
                return " (it used too much CPU time)";
        case SIGXFSZ:
                return " (it wrote a file larger than allowed)";
        case SIGSEGV:
        case SIGBUS:
        case SIGABRT:
                return " (it crashed)";
        default:
                return "";
        }
}

/* Turns unit sources (paths relative to the directory image) into host paths, keeping only
 * those that name a regular file reached without any symlink and without crossing a mount: the
 * daemon links to them, so they must be the files the reader read. */
static int resolve_sources(ImageReader *r, PortableMetadata *m) {
        for (size_t i = 0; i < m->n_units; i++) {
                PortableFile *f = &m->units[i];
                _cleanup_close_ int fd = -EBADF;
                _cleanup_free_ char *host = NULL;
                struct stat st;
                bool ok;

                if (!f->source)
                        continue;

                fd = r->dir_fd >= 0 ? chase_open_beneath_same_mount(r->dir_fd, f->source) : -EBADF;
                ok = fd >= 0 && fstat(fd, &st) >= 0 && S_ISREG(st.st_mode);

                host = ok ? path_join(r->image_path, f->source) : NULL;
                if (ok && !host)
                        return -ENOMEM;
                free_and_replace(f->source, host);
        }
        return 0;
}

static bool same_file(const struct stat *a, const struct stat *b) {
        return a->st_dev == b->st_dev && a->st_ino == b->st_ino && a->st_size == b->st_size &&
                a->st_mtim.tv_sec == b->st_mtim.tv_sec && a->st_mtim.tv_nsec == b->st_mtim.tv_nsec &&
                a->st_ctim.tv_sec == b->st_ctim.tv_sec && a->st_ctim.tv_nsec == b->st_ctim.tv_nsec;
}

/* A raw image file must be what it was when it was opened: what was verified must be what was
 * read. Then, and only then, the cache learns what the child verified, under the identity the
 * file had all along. */
static int check_unchanged_and_remember(ImageReader *r, sd_bus_error *reterr) {
        const ReaderVerified *v;
        struct stat now;
        size_t n;

        if (r->image_fd < 0)
                return 0;
        if (fstat(r->image_fd, &now) < 0)
                return -errno;
        if (!same_file(&r->image_st, &now))
                return portable_error(reterr, ESTALE, SD_BUS_ERROR_INVALID_ARGS,
                                      "Image '%s' was modified while it was being read, refusing.", r->image_path);

        v = reader_receiver_verified(r->receiver, &n);
        for (size_t i = 0; r->verity_cache && i < n; i++) {
                VerityIdentity id;

                /* Only a cache: what it cannot hold is verified again next time. */
                if (verity_identity_from_fd(r->image_fd, v[i].offset, v[i].root_hash, v[i].root_hash_size, &id) >= 0)
                        (void) verity_cache_add(r->verity_cache, &id, v[i].covered);
        }
        return 0;
}

int image_reader_result(ImageReader *r, PortableMetadata **ret, sd_bus_error *reterr) {
        const siginfo_t *si = &r->exit_info;
        PortableMetadata *m;
        int k;

        if (!r->received || !(r->exited || answered_in_full(r)))
                return -EBUSY;

        if (r->cached) {
                *ret = TAKE_PTR(r->cached);
                return 0;
        }

        if (r->kill_reason)
                return portable_error(reterr, ETIMEDOUT, NULL, "Image '%s': %s.", r->image_path, r->kill_reason);

        if (r->receive_r < 0 && r->receive_r != -EPIPE) {
                sd_bus_error_move(reterr, &r->receive_error);
                return r->receive_r;
        }

        if (!r->exited)
                ; /* answered in full: how it ends changes nothing */
        else if (si->si_code == CLD_KILLED || si->si_code == CLD_DUMPED)
                return portable_error(reterr, ECHILD, NULL, "Image '%s': the image reader was killed by signal SIG%s%s.",
                                      r->image_path, sigabbrev_np(si->si_status) ?: "?", signal_hint(si->si_status));
        else if (si->si_status != 0 || r->receive_r < 0)
                return portable_error(reterr, EPIPE, NULL, "Image '%s': the image reader failed without saying why (exit status %i).",
                                      r->image_path, si->si_status);

        k = check_unchanged_and_remember(r, reterr);
        if (k < 0)
                return k;

        m = reader_receiver_steal(r->receiver);
        if (!m)
                return -EPIPE;
        k = resolve_sources(r, m);
        if (k < 0) {
                portable_metadata_free(m);
                return k;
        }
        /* Only a cache: what it cannot hold is read again next time. */
        if (r->cache_key && metadata_is_cacheable(m))
                (void) metadata_cache_add(r->metadata_cache, r->image_st.st_dev, r->image_st.st_ino, r->cache_key,
                                          r->cache_key_size, m);
        *ret = m;
        return 0;
}
