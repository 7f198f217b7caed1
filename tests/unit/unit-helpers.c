/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <criterion/criterion.h>
#include <criterion/new/assert.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <libmount/libmount.h>
#include <linux/fs.h>
#include <linux/magic.h>
#include <sched.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "gpt-encode.h"
#include "macro.h"
#include "unit-helpers.h"

#define UNIT_TMP_PREFIX "/tmp/portabled-unit-"
/* For tests that need a file system that keeps what is written (fsync() means something). */
#define UNIT_DURABLE_TMP_PREFIX "/var/tmp/portabled-unit-"

#ifndef UNIT_SOURCE_ROOT
#  error "UNIT_SOURCE_ROOT must be defined by the build"
#endif

char *unit_strf(const char *format, ...) {
        va_list ap;
        char *s;
        int r;

        va_start(ap, format);
        r = vasprintf(&s, format, ap);
        va_end(ap);
        cr_assert(r >= 0, "out of memory");
        return s;
}

/* The row a table test is in, for unit_table_fini(); NULL outside table tests and once every
 * row passed. One per test process: Criterion runs each test in a process of its own. */
static const char *table_running;
static size_t table_row;

void unit_table_run(const char *table, size_t n_rows, unit_table_row_fn row) {
        table_running = table;
        for (table_row = 0; table_row < n_rows; table_row++) {
                size_t i = table_row;

                row(&i);
        }
        table_running = NULL;
}

const char *unit_table_unfinished(size_t *ret_row) {
        *ret_row = table_row;
        return table_running;
}

void unit_table_fini(void) {
        size_t row;
        const char *table = unit_table_unfinished(&row);

        if (table)
                cr_log_error("in row %zu of %s (counting from 0)", row, table);
}

void unit_note(char **acc, const char *format, ...) {
        va_list ap;
        char *note, *joined;
        int r;

        va_start(ap, format);
        r = vasprintf(&note, format, ap);
        va_end(ap);
        cr_assert(r >= 0);
        joined = unit_strf("%s%s%s", *acc ? *acc : "", *acc ? "; " : "", note);
        free(note);
        free(*acc);
        *acc = joined;
}

/* What unit_mkdtemp() made in this process, removed when it exits: a test that skips itself
 * (cr_skip_test()) ends without its suite's .fini, which would have removed it. */
#define MADE_MAX 64
static char made[MADE_MAX][PATH_MAX];
static size_t n_made;
static pid_t made_by;

static void remove_made(void) {
        /* Not in a child the test forked that happens to exit() rather than _exit(). */
        if (getpid() != made_by)
                return;
        for (size_t i = 0; i < n_made; i++)
                unit_rm_rf(made[i]);
        n_made = 0;
}

static bool is_volatile(const char *path) {
        struct statfs sfs;

        return statfs(path, &sfs) >= 0 && (sfs.f_type == TMPFS_MAGIC || sfs.f_type == RAMFS_MAGIC);
}

static char *mkdtemp_under(const char *prefix, const char *tag) {
        char *t = unit_strf("%s%s-XXXXXX", prefix, tag);

        cr_assert(mkdtemp(t) != NULL, "mkdtemp(%s): %s", t, strerror(errno));
        if (made_by != getpid()) {
                made_by = getpid();
                n_made = 0;
                (void) atexit(remove_made);
        }
        if (n_made < MADE_MAX && strlen(t) < PATH_MAX)
                strcpy(made[n_made++], t);
        return t;
}

char *unit_mkdtemp(const char *tag) {
        return mkdtemp_under(UNIT_TMP_PREFIX, tag);
}

char *unit_mkdtemp_durable(const char *tag) {
        if (is_volatile("/tmp") && !is_volatile("/var/tmp"))
                return mkdtemp_under(UNIT_DURABLE_TMP_PREFIX, tag);
        return unit_mkdtemp(tag);
}

static int clear_attrs_cb(const char *path, const struct stat *st, int type, struct FTW *ftw) {
        unsigned attrs = 0;
        int fd;

        if (type != FTW_D)
                return 0;
        fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0)
                return 0;
        if (ioctl(fd, FS_IOC_GETFLAGS, &attrs) >= 0 && (attrs & (FS_IMMUTABLE_FL | FS_APPEND_FL))) {
                attrs &= ~(unsigned) (FS_IMMUTABLE_FL | FS_APPEND_FL);
                (void) ioctl(fd, FS_IOC_SETFLAGS, &attrs);
        }
        close(fd);
        return 0;
}

static int remove_cb(const char *path, const struct stat *st, int type, struct FTW *ftw) {
        if (type == FTW_DP || type == FTW_D)
                (void) rmdir(path);
        else
                (void) unlink(path);
        return 0;
}

/* Tests that mount something below their directory in a namespace of their own leave the mount
 * points behind if an assertion ends them early: detached here so that the directory can go. The
 * mount table lists a mount after the one it sits on, so the last is the first to go. */
static void detach_mounts_below(const char *path) {
        struct libmnt_table *table = mnt_new_table_from_file("/proc/self/mountinfo");
        struct libmnt_iter *iter = mnt_new_iter(MNT_ITER_BACKWARD);
        size_t len = strlen(path);
        struct libmnt_fs *fs;

        while (table && iter && mnt_table_next_fs(table, iter, &fs) == 0) {
                const char *target = mnt_fs_get_target(fs);

                if (target && strncmp(target, path, len) == 0 && target[len] == '/')
                        (void) umount2(target, MNT_DETACH);
        }
        mnt_free_iter(iter);
        mnt_unref_table(table);
}

static bool made_by_us(const char *path, const char *prefix) {
        size_t n = strlen(prefix);

        return strncmp(path, prefix, n) == 0 && !strstr(path, "/../") && !strchr(path + n, '/');
}

void unit_rm_rf(const char *path) {
        struct stat st;

        if (!path)
                return;
        /* Only ever what unit_mkdtemp() made: a typo must not turn a test into "rm -rf /". */
        if (!made_by_us(path, UNIT_TMP_PREFIX) && !made_by_us(path, UNIT_DURABLE_TMP_PREFIX))
                return;
        if (lstat(path, &st) < 0)
                return;

        detach_mounts_below(path);
        /* Immutable directories (image-ops tests) must be made mutable first, or nothing below
         * them can be removed. */
        (void) nftw(path, clear_attrs_cb, 16, FTW_PHYS | FTW_MOUNT);
        (void) nftw(path, remove_cb, 16, FTW_PHYS | FTW_MOUNT | FTW_DEPTH);
}

void unit_private_mount_namespace(void) {
        if (geteuid() != 0)
                cr_skip_test("mounting needs root");
        cr_assert(eq(int, unshare(CLONE_NEWNS), 0));
        /* "none": valgrind takes a NULL type for an unreadable string. */
        cr_assert(eq(int, mount("none", "/", "none", MS_REC | MS_PRIVATE, NULL), 0));
}

const char *unit_build_root(void) {
        const char *e = getenv("BUILD_ROOT");
        return e && *e ? e : UNIT_BUILD_ROOT;
}

const char *unit_source_root(void) {
        const char *e = getenv("SOURCE_ROOT");
        return e && *e ? e : UNIT_SOURCE_ROOT;
}

const char *unit_test_data(void) {
        static char buf[4096];
        const char *e = getenv("TEST_DATA");

        if (e && *e)
                return e;
        snprintf(buf, sizeof(buf), "%s/tests/data", unit_source_root());
        return buf;
}

const char *unit_profiles_dir(void) {
        static char buf[4096];
        const char *e = getenv("PROFILES_DIR");

        if (e && *e)
                return e;
        snprintf(buf, sizeof(buf), "%s/profiles", unit_source_root());
        return buf;
}

void unit_mkdir_p(const char *path, mode_t mode) {
        char *copy = unit_strf("%s", path);

        for (char *p = copy + 1;; p++) {
                bool last = *p == '\0';

                if (*p != '/' && !last)
                        continue;
                *p = '\0';
                if (*copy)
                        cr_assert(mkdir(copy, mode) >= 0 || errno == EEXIST, "mkdir(%s): %s", copy, strerror(errno));
                if (last)
                        break;
                *p = '/';
        }
        free(copy);
}

static void mkdir_parent(const char *path) {
        char *copy = unit_strf("%s", path), *slash = strrchr(copy, '/');

        if (slash && slash != copy) {
                *slash = '\0';
                unit_mkdir_p(copy, 0755);
        }
        free(copy);
}

void unit_write_data(const char *path, const void *data, size_t size, mode_t mode) {
        const char *p = data;
        int fd;

        mkdir_parent(path);
        fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, mode);
        cr_assert(fd >= 0, "open(%s): %s", path, strerror(errno));
        while (size > 0) {
                ssize_t n = write(fd, p, size);
                cr_assert(n > 0, "write(%s): %s", path, strerror(errno));
                p += n;
                size -= (size_t) n;
        }
        cr_assert(fchmod(fd, mode) >= 0);
        close(fd);
}

void unit_write(const char *path, const char *content) {
        unit_write_data(path, content, strlen(content), 0644);
}

void unit_symlink(const char *target, const char *path) {
        mkdir_parent(path);
        cr_assert(symlink(target, path) >= 0, "symlink(%s, %s): %s", target, path, strerror(errno));
}

char *unit_readlink(const char *path) {
        char target[PATH_MAX];
        ssize_t n = readlink(path, target, sizeof(target) - 1);

        cr_assert(n > 0, "readlink(%s): %s", path, strerror(errno));
        target[n] = '\0';
        return strdup(target);
}

char *unit_read(const char *path) {
        FILE *f = fopen(path, "re");
        char *buf = NULL;
        size_t size = 0, n;

        if (!f)
                return NULL;
        buf = malloc(1);
        cr_assert(buf != NULL);
        for (;;) {
                char chunk[65536];

                n = fread(chunk, 1, sizeof(chunk), f);
                if (n == 0)
                        break;
                buf = realloc(buf, size + n + 1);
                cr_assert(buf != NULL);
                memcpy(buf + size, chunk, n);
                size += n;
        }
        buf[size] = '\0';
        fclose(f);
        return buf;
}

int unit_run(const char *format, ...) {
        va_list ap;
        char *cmd;
        int r, status;

        va_start(ap, format);
        r = vasprintf(&cmd, format, ap);
        va_end(ap);
        cr_assert(r >= 0);

        fflush(NULL);
        status = system(cmd);
        free(cmd);
        if (status < 0 || !WIFEXITED(status))
                return -1;
        return WEXITSTATUS(status);
}

bool unit_running_on_valgrind(void) {
        const char *preload = getenv("LD_PRELOAD");

        return preload && strstr(preload, "/vgpreload_");
}

void unit_skip_reader_tests_under_valgrind(void) {
        if (unit_running_on_valgrind())
                cr_skip_test("runs the image reader, which cannot run under valgrind (see unit-helpers.h)");
}

bool unit_have_program(const char *name) {
        return unit_run("command -v '%s' >/dev/null 2>&1", name) == 0;
}

void unit_copy_tree(const char *src, const char *dst) {
        int r = unit_run("cp -a '%s' '%s'", src, dst);
        cr_assert(r == 0, "cp -a %s %s failed", src, dst);
}

/* ---------------------------------------------------------------------------------- snapshots */

static struct {
        const char *root;
        char **lines;
        size_t n;
} snap;

static uint64_t fnv1a(const char *data, size_t size) {
        uint64_t h = UINT64_C(14695981039346656037);

        for (size_t i = 0; i < size; i++) {
                h ^= (unsigned char) data[i];
                h *= UINT64_C(1099511628211);
        }
        return h;
}

static int snapshot_cb(const char *path, const struct stat *st, int type, struct FTW *ftw) {
        const char *rel = path + strlen(snap.root);
        char *line = NULL;

        if (*rel == '\0')
                rel = "/";

        if (S_ISLNK(st->st_mode)) {
                char target[4096];
                ssize_t n = readlink(path, target, sizeof(target) - 1);

                target[n < 0 ? 0 : n] = '\0';
                line = unit_strf("%s l -> %s", rel, target);
        } else if (S_ISREG(st->st_mode)) {
                int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
                char *data = malloc((size_t) st->st_size + 1);
                ssize_t n = 0;

                cr_assert(data != NULL);
                if (fd >= 0) {
                        n = read(fd, data, (size_t) st->st_size);
                        close(fd);
                }
                line = unit_strf("%s f %04o %lld %016llx", rel, (unsigned) (st->st_mode & 07777),
                                 (long long) st->st_size,
                                 (unsigned long long) fnv1a(data, n < 0 ? 0 : (size_t) n));
                free(data);
        } else if (S_ISDIR(st->st_mode))
                line = unit_strf("%s d %04o", rel, (unsigned) (st->st_mode & 07777));
        else
                line = unit_strf("%s o %06o", rel, (unsigned) st->st_mode);

        snap.lines = realloc(snap.lines, sizeof(char *) * (snap.n + 1));
        cr_assert(snap.lines != NULL);
        snap.lines[snap.n++] = line;
        return 0;
}

static int compare_lines(const void *a, const void *b) {
        return strcmp(*(char * const *) a, *(char * const *) b);
}

char *unit_snapshot(const char *root) {
        size_t total = 1;
        char *out, *p;

        snap.root = root;
        snap.lines = NULL;
        snap.n = 0;
        cr_assert(nftw(root, snapshot_cb, 16, FTW_PHYS) == 0, "nftw(%s) failed", root);
        qsort(snap.lines, snap.n, sizeof(char *), compare_lines);

        for (size_t i = 0; i < snap.n; i++)
                total += strlen(snap.lines[i]) + 1;
        out = p = malloc(total);
        cr_assert(out != NULL);
        for (size_t i = 0; i < snap.n; i++) {
                p = stpcpy(p, snap.lines[i]);
                *p++ = '\n';
                free(snap.lines[i]);
        }
        *p = '\0';
        free(snap.lines);
        snap.lines = NULL;
        return out;
}

char *unit_golden(const char *name) {
        char *path = unit_strf("%s/tests/unit/golden/%s", unit_source_root(), name);
        char *data = unit_read(path);

        cr_assert(data != NULL, "cannot read golden file %s", path);
        free(path);
        return data;
}

char *unit_replace(const char *s, const char *needle, const char *replacement) {
        size_t ln = strlen(needle), lr = strlen(replacement), count = 0;
        char *out, *p;

        cr_assert(ln > 0);
        for (const char *q = strstr(s, needle); q; q = strstr(q + ln, needle))
                count++;
        out = p = malloc(strlen(s) + count * lr + 1);
        cr_assert(out != NULL);
        for (const char *q = s;;) {
                const char *hit = strstr(q, needle);

                if (!hit) {
                        strcpy(p, q);
                        break;
                }
                memcpy(p, q, (size_t) (hit - q));
                p += hit - q;
                memcpy(p, replacement, lr);
                p += lr;
                q = hit + ln;
        }
        return out;
}

bool unit_loop_backed_by(const char *file) {
        char *cmd = unit_strf("losetup -j '%s' 2>/dev/null", file);
        FILE *f;
        char buf[256];
        bool found = false;

        fflush(NULL);
        f = popen(cmd, "re");
        free(cmd);
        cr_assert(f != NULL, "popen(losetup) failed");
        while (fgets(buf, sizeof(buf), f))
                if (buf[0] != '\0' && buf[0] != '\n')
                        found = true;
        pclose(f);
        return found;
}

bool unit_wait_no_loop(const char *file, unsigned timeout_ms) {
        /* Autoclear happens when the last user of the device goes away, which may be just after
         * the reader's process has been reaped: allow it a moment. */
        for (unsigned waited = 0;; waited += 50) {
                if (!unit_loop_backed_by(file))
                        return true;
                if (waited >= timeout_ms)
                        return false;
                (void) nanosleep(&(struct timespec) { .tv_nsec = 50 * 1000 * 1000 }, NULL);
        }
}

/* ------------------------------------------------------------------------------ image builders */

void unit_make_fs_image(const char *fstype, const char *dir, const char *out) {
        int r;

        if (streq(fstype, "squashfs")) {
                if (!unit_have_program("mksquashfs"))
                        cr_skip_test("mksquashfs is not installed");
                r = unit_run("mksquashfs '%s' '%s' -noappend -quiet -all-root -no-progress >/dev/null", dir, out);
        } else if (streq(fstype, "erofs")) {
                if (!unit_have_program("mkfs.erofs"))
                        cr_skip_test("mkfs.erofs is not installed");
                r = unit_run("mkfs.erofs --quiet --all-root '%s' '%s' >/dev/null", out, dir);
        } else if (streq(fstype, "ext4")) {
                if (!unit_have_program("mkfs.ext4"))
                        cr_skip_test("mkfs.ext4 is not installed");
                r = unit_run("mkfs.ext4 -q -F -d '%s' '%s' 8M >/dev/null 2>&1", dir, out);
        } else
                cr_fatal("unknown file system type %s", fstype);
        cr_assert(r == 0, "building a %s image of %s failed", fstype, dir);
}

#define SECTOR GPT_SECTOR

void unit_make_gpt(const char *out, size_t n, const char *const *types, const char *const *contents) {
        unsigned char entries[128 * 128] = {}, header[SECTOR], mbr[SECTOR] = {};
        uint64_t start[16], sectors[16], next = MIB / SECTOR, total;
        char *data[16] = {};
        size_t size[16];
        int fd;

        cr_assert(n <= 16);
        for (size_t i = 0; i < n; i++) {
                if (contents[i]) {
                        data[i] = unit_read(contents[i]);
                        cr_assert(data[i] != NULL, "cannot read %s", contents[i]);
                        struct stat st;
                        cr_assert(stat(contents[i], &st) == 0);
                        size[i] = (size_t) st.st_size;
                } else
                        size[i] = 0;
                start[i] = next;
                sectors[i] = ((size[i] ?: MIB) + MIB - 1) / MIB * (MIB / SECTOR);
                next += sectors[i];
        }
        total = next + MIB / SECTOR; /* room for the backup table */

        for (size_t i = 0; i < n; i++) {
                unsigned char *e = entries + 128 * i;
                char unique[64];

                cr_assert(gpt_put_guid(e, types[i]) == 0, "bad GUID %s", types[i]);
                snprintf(unique, sizeof(unique), "6a3b1c2d-0000-4000-8000-%012zx", i + 1);
                cr_assert(gpt_put_guid(e + 16, unique) == 0);
                gpt_put_le(e + 32, start[i], 8);
                gpt_put_le(e + 40, start[i] + sectors[i] - 1, 8);
                e[56] = 'p'; /* name "p" in UTF-16LE */
        }

        gpt_protective_mbr(mbr, total);

        fd = open(out, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        cr_assert(fd >= 0, "open(%s): %s", out, strerror(errno));
        cr_assert(ftruncate(fd, (off_t) (total * SECTOR)) == 0);
        cr_assert(pwrite(fd, mbr, SECTOR, 0) == SECTOR);

        for (int backup = 0; backup <= 1; backup++) {
                uint64_t self = backup ? total - 1 : 1, other = backup ? 1 : total - 1;
                uint64_t table = backup ? total - 1 - 32 : 2;

                gpt_header(header, self, other, 34, total - 34, table, entries, 128);

                cr_assert(pwrite(fd, header, SECTOR, (off_t) (self * SECTOR)) == SECTOR);
                cr_assert(pwrite(fd, entries, sizeof(entries), (off_t) (table * SECTOR)) == (ssize_t) sizeof(entries));
        }

        for (size_t i = 0; i < n; i++) {
                if (data[i])
                        cr_assert(pwrite(fd, data[i], size[i], (off_t) (start[i] * SECTOR)) == (ssize_t) size[i]);
                free(data[i]);
        }
        close(fd);
}

void unit_send_datagram(int sock, const void *buf, size_t size, const int *fds, size_t n_fds) {
        union {
                struct cmsghdr cmsghdr;
                uint8_t buf[CMSG_SPACE(sizeof(int) * 16)];
        } control = {};
        struct iovec iov = { .iov_base = (void *) buf, .iov_len = size };
        struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };

        cr_assert(le(sz, n_fds, 16));
        if (n_fds > 0) {
                struct cmsghdr *c;

                mh.msg_control = &control;
                mh.msg_controllen = CMSG_SPACE(sizeof(int) * n_fds);
                c = CMSG_FIRSTHDR(&mh);
                c->cmsg_level = SOL_SOCKET;
                c->cmsg_type = SCM_RIGHTS;
                c->cmsg_len = CMSG_LEN(sizeof(int) * n_fds);
                memcpy(CMSG_DATA(c), fds, sizeof(int) * n_fds);
        }
        cr_assert(eq(sz, (size_t) sendmsg(sock, &mh, MSG_NOSIGNAL), size), "sendmsg: %m");
}
