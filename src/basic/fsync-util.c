/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include "fd-util.h"
#include "fsync-util.h"
#include "macro.h"
#include "strv.h"

/* Enough for a journal commit to take in most of them at once (the rest follow, mostly
 * with nothing left to commit); every thread costs its creation, and glibc keeps its stack
 * (resident pages and all) for reuse for the life of the process: few, with small stacks. */
#define FSYNC_THREADS_MAX 8U
#define FSYNC_THREAD_STACK (64U * 1024U)

typedef struct FsyncBatch {
        int *fds;
        size_t n_fds;
        atomic_size_t next;
        atomic_int error;
} FsyncBatch;

static void batch_run(FsyncBatch *b) {
        for (;;) {
                size_t i = atomic_fetch_add(&b->next, 1);
                int expected = 0;

                if (i >= b->n_fds)
                        return;
                if (fsync(b->fds[i]) < 0)
                        (void) atomic_compare_exchange_strong(&b->error, &expected, -errno);
        }
}

static void *batch_thread(void *userdata) {
        batch_run(userdata);
        return NULL;
}

/* The file systems seen so far, by device, and whether fsync() means anything there. */
typedef struct DeviceCache {
        dev_t devs[16];
        bool durable[16];
        size_t n;
} DeviceCache;

/* Whether fsync() means anything for path: stat() first, so that on a volatile file system (where
 * every attached file of a machine without a disk-backed /etc lives) nothing is opened at all.
 * Returns 0 for a path that is gone or a symlink given as a file (follow false): nothing to do. */
static int path_is_durable(DeviceCache *c, const char *path, bool follow) {
        struct statfs sfs;
        struct stat st;
        bool durable;

        if ((follow ? stat(path, &st) : lstat(path, &st)) < 0)
                return errno == ENOENT || errno == ENOTDIR || errno == ELOOP ? 0 : -errno;
        if (S_ISLNK(st.st_mode))
                return 0;
        for (size_t i = 0; i < c->n; i++)
                if (c->devs[i] == st.st_dev)
                        return c->durable[i];

        durable = statfs(path, &sfs) < 0 ||
                  ((unsigned long) sfs.f_type != TMPFS_MAGIC && (unsigned long) sfs.f_type != RAMFS_MAGIC);
        if (c->n < ELEMENTSOF(c->devs)) {
                c->devs[c->n] = st.st_dev;
                c->durable[c->n++] = durable;
        }
        return durable;
}

/* Opens what is to be synced; skips what is gone, symlinks and volatile file systems. */
static int open_all(char * const *paths, int flags, DeviceCache *cache, int *fds, size_t *n) {
        STRV_FOREACH(p, (char **) paths) {
                int r = path_is_durable(cache, *p, !(flags & O_NOFOLLOW)), fd;

                if (r < 0)
                        return r;
                if (r == 0)
                        continue;
                fd = open(*p, flags | O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
                if (fd < 0) {
                        if (errno == ENOENT || errno == ELOOP || errno == ENOTDIR)
                                continue;
                        return -errno;
                }
                fds[(*n)++] = fd;
        }
        return 0;
}

int fsync_paths(char * const *files, char * const *dirs) {
        size_t n_paths = strv_length((char **) files) + strv_length((char **) dirs), n_threads = 0;
        pthread_t threads[FSYNC_THREADS_MAX];
        FsyncBatch b = {};
        DeviceCache cache = {};
        int r;

        if (n_paths == 0)
                return 0;
        b.fds = malloc(sizeof(int) * n_paths);
        if (!b.fds)
                return -ENOMEM;

        /* A file that is a symlink is the link itself; a directory may be reached through one. */
        r = open_all(files, O_NOFOLLOW, &cache, b.fds, &b.n_fds);
        if (r >= 0)
                r = open_all(dirs, O_DIRECTORY, &cache, b.fds, &b.n_fds);

        if (r >= 0 && b.n_fds > 0) {
                pthread_attr_t attr;
                bool attr_ok = pthread_attr_init(&attr) == 0;

                /* Written data is sent to the disk right away, all of it, so that the first
                 * commit takes in every file's blocks and not only those of the file it is for. */
                for (size_t i = 0; i < b.n_fds; i++)
                        (void) sync_file_range(b.fds[i], 0, 0, SYNC_FILE_RANGE_WRITE);

                if (attr_ok)
                        (void) pthread_attr_setstacksize(&attr, FSYNC_THREAD_STACK);
                /* The calling thread takes its share too: one path needs no thread at all. */
                for (; n_threads < MIN(b.n_fds - 1, (size_t) FSYNC_THREADS_MAX); n_threads++)
                        if (pthread_create(&threads[n_threads], attr_ok ? &attr : NULL, batch_thread, &b) != 0)
                                break; /* fewer threads: the rest is done here, one after the other */
                if (attr_ok)
                        (void) pthread_attr_destroy(&attr);
                batch_run(&b);
                for (size_t i = 0; i < n_threads; i++)
                        (void) pthread_join(threads[i], NULL);
                r = atomic_load(&b.error);
        }

        for (size_t i = 0; i < b.n_fds; i++)
                safe_close(b.fds[i]);
        free(b.fds);
        return r < 0 ? r : (int) b.n_fds;
}
