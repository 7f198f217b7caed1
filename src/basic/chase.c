/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "chase.h"
#include "fd-util.h"
#include "macro.h"

#define CHASE_SYMLINKS_MAX 40
#define CHASE_DEPTH_MAX 256
#define CHASE_EAGAIN_RETRIES 8

static int openat2_in_root(int root_fd, const char *path, int open_flags) {
        struct open_how how = {
                .flags = (unsigned long long) (open_flags | O_CLOEXEC),
                .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS,
        };
        long fd;

        fd = syscall(SYS_openat2, root_fd, path, &how, sizeof(how));
        if (fd < 0)
                return -errno;
        return (int) fd;
}

typedef struct DirStack {
        int fds[CHASE_DEPTH_MAX];
        size_t n;
} DirStack;

static void dir_stack_pop_to(DirStack *s, size_t n) {
        while (s->n > n)
                safe_close(s->fds[--s->n]);
}

static void dir_stack_done(DirStack *s) {
        dir_stack_pop_to(s, 0);
}

/* The same semantics as RESOLVE_IN_ROOT, walked component by component in userspace: for
 * kernels before 5.6 and for tools (valgrind) that do not know openat2(). ".." never climbs above
 * the root, absolute symlinks restart at the root, and every component is opened with O_NOFOLLOW
 * so that a symlink is only ever followed by us. */
int chase_open_in_root_userspace(int root_fd, const char *path, int open_flags) {
        _cleanup_(dir_stack_done) DirStack stack = {};
        _cleanup_free_ char *todo = NULL;
        unsigned links = 0;
        char *p;
        int r;

        /* The kernel refuses a path of PATH_MAX bytes or more before it walks it; leading slashes
         * count as chase_open_in_root() hands it over, without them. */
        path += strspn(path, "/");
        if (strlen(path) >= PATH_MAX)
                return -ENAMETOOLONG;
        todo = strdup(path);
        if (!todo)
                return -ENOMEM;

        stack.fds[0] = openat(root_fd, ".", O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (stack.fds[0] < 0)
                return -errno;
        stack.n = 1;

        p = todo;
        for (;;) {
                char name[NAME_MAX + 1];
                const char *rest;
                struct stat st;
                size_t n;
                int top = stack.fds[stack.n - 1];

                p += strspn(p, "/");
                if (*p == '\0')
                        return RET_NERRNO(openat(top, ".", open_flags | O_CLOEXEC));

                n = strcspn(p, "/");
                if (n > NAME_MAX)
                        return -ENAMETOOLONG;
                memcpy(name, p, n);
                name[n] = '\0';
                rest = p + n;
                bool last = rest[strspn(rest, "/")] == '\0';
                bool trailing_slash = last && rest[0] == '/';

                if (streq(name, ".")) {
                        p += n;
                        continue;
                }
                if (streq(name, "..")) {
                        if (stack.n > 1)
                                dir_stack_pop_to(&stack, stack.n - 1);
                        p += n;
                        continue;
                }

                if (fstatat(top, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
                        return -errno;

                if (S_ISLNK(st.st_mode)) {
                        char target[PATH_MAX];
                        _cleanup_free_ char *expanded = NULL;
                        ssize_t k;

                        /* "link/" names what the link points to, O_NOFOLLOW or not (open(2)). */
                        if (last && !trailing_slash && (open_flags & O_NOFOLLOW))
                                return -ELOOP;
                        if (++links > CHASE_SYMLINKS_MAX)
                                return -ELOOP;

                        k = readlinkat(top, name, target, sizeof(target) - 1);
                        if (k < 0)
                                return -errno;
                        target[k] = '\0';
                        if (target[0] == '/')
                                dir_stack_pop_to(&stack, 1);

                        /* rest is empty or starts with the "/" that followed the link. */
                        if (asprintf(&expanded, "%s%s", target, rest) < 0)
                                return -ENOMEM;
                        free_and_replace(todo, expanded);
                        p = todo;
                        continue;
                }

                if (last && trailing_slash && !S_ISDIR(st.st_mode))
                        return -ENOTDIR;
                if (last)
                        return RET_NERRNO(openat(top, name, open_flags | O_NOFOLLOW | O_CLOEXEC));

                if (!S_ISDIR(st.st_mode))
                        return -ENOTDIR;
                if (stack.n >= CHASE_DEPTH_MAX)
                        return -ELOOP;

                r = openat(top, name, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                if (r < 0)
                        return -errno;
                stack.fds[stack.n++] = r;
                p += n;
        }
}

int chase_open_in_root(int root_fd, const char *path, int open_flags) {
        int fd;

        /* RESOLVE_IN_ROOT treats a leading "/" as the root itself; strip it anyway so a relative
         * path and an absolute one mean the same thing. */
        while (*path == '/')
                path++;
        if (*path == '\0')
                path = ".";

        /* The kernel answers EAGAIN when any mount or rename happened anywhere while it resolved
         * a ".." in root mode (it cannot prove the walk stayed inside); on a host where the
         * service manager mounts things all the time, retry a little, then walk in userspace. */
        for (unsigned attempt = 0; attempt < CHASE_EAGAIN_RETRIES; attempt++) {
                fd = openat2_in_root(root_fd, path, open_flags);
                if (fd != -EAGAIN)
                        break;
        }
        /* ELOOP is not always true either: for a chain of more than 20 symlinks the kernel now
         * and then counts every link twice (a lookup that falls out of RCU mode restarts without
         * resetting the count), in bursts that retrying does not outlast. The userspace walk
         * counts once; it gives ELOOP for a real loop too. */
        if (fd != -ENOSYS && fd != -EAGAIN && fd != -ELOOP)
                return fd;
        return chase_open_in_root_userspace(root_fd, path, open_flags);
}

static bool has_dotdot_component(const char *path) {
        for (const char *p = path; *p; ) {
                size_t n = strcspn(p, "/");

                if (n == 2 && p[0] == '.' && p[1] == '.')
                        return true;
                p += n;
                p += strspn(p, "/");
        }
        return false;
}

/* A symlink is refused (-ELOOP) as RESOLVE_NO_SYMLINKS refuses it. */
static int mount_id_of(int fd, uint64_t *ret_mount_id, mode_t *ret_mode) {
        int r;

        r = fd_mount_id(fd, "", ret_mount_id, ret_mode);
        if (r < 0)
                return r;
        return S_ISLNK(*ret_mode) ? -ELOOP : 0;
}

int chase_open_beneath_same_mount_userspace(int dir_fd, const char *path) {
        _cleanup_close_ int fd = -EBADF;
        uint64_t root_mount, mount;
        mode_t mode;
        size_t len = strlen(path);
        int r;

        /* In the order chase_open_beneath_same_mount() and the kernel check. */
        if (path[0] == '/' || has_dotdot_component(path))
                return -EXDEV;
        if (len == 0)
                return -ENOENT;
        if (len >= PATH_MAX)
                return -ENAMETOOLONG;
        r = mount_id_of(dir_fd, &root_mount, &mode);
        if (r < 0)
                return r;

        fd = openat(dir_fd, ".", O_PATH | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        for (const char *p = path + strspn(path, "/"); *p; p += strspn(p, "/")) {
                char name[NAME_MAX + 1];
                size_t n = strcspn(p, "/");
                int next;

                /* Anything after a file, "." included, as the kernel has it: it refuses to look
                 * in a file before any file system sees the name, so ENOTDIR wins over a name too
                 * long. */
                if (!S_ISDIR(mode))
                        return -ENOTDIR;
                if (n > NAME_MAX)
                        return -ENAMETOOLONG;
                memcpy(name, p, n);
                name[n] = '\0';
                p += n;
                if (streq(name, "."))
                        continue;

                /* O_NOFOLLOW | O_PATH opens a symlink itself, which mount_id_of() refuses. A
                 * mount point is crossed by the open alone, without a word to the file system
                 * mounted there: its mount ID tells, before anything below it is looked up. */
                next = openat(fd, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
                if (next < 0)
                        return -errno;
                safe_close(fd);
                fd = next;
                r = mount_id_of(fd, &mount, &mode);
                if (r < 0)
                        return r;
                if (mount != root_mount)
                        return -EXDEV;
        }
        /* "file/" names a directory that is not there. */
        if (path[len - 1] == '/' && !S_ISDIR(mode))
                return -ENOTDIR;
        return TAKE_FD(fd);
}

int chase_open_beneath_same_mount(int dir_fd, const char *path) {
        struct open_how how = {
                .flags = O_PATH | O_CLOEXEC,
                .resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_XDEV | RESOLVE_NO_MAGICLINKS,
        };
        long fd;

        /* The kernel lets "a/../b" stay beneath; refused here as in the walk, so that both agree. */
        if (path[0] == '/' || has_dotdot_component(path))
                return -EXDEV;
        fd = syscall(SYS_openat2, dir_fd, path, &how, sizeof(how));
        if (fd >= 0)
                return (int) fd;
        if (errno != ENOSYS)
                return -errno;
        return chase_open_beneath_same_mount_userspace(dir_fd, path);
}
