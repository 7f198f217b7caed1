/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "chase.h"
#include "fd-util.h"
#include "fuzz.h"

/* Every file the daemon reads from an image is opened through chase_open_in_root(), with a path
 * that is partly the image's own (symlink targets) and partly the caller's. Input: one byte that
 * picks the open flags, then the path. In a fixed tree full of awkward symlinks, the kernel's
 * RESOLVE_IN_ROOT and the userspace walk must give the same answer (the same file, or the same
 * errno), and that file must lie inside the root. The same for chase_open_beneath_same_mount(),
 * with which the daemon looks at directory images itself. */

static const int flag_table[] = {
        O_RDONLY | O_NONBLOCK | O_NOCTTY, /* how image files are read */
        O_PATH,
        O_RDONLY | O_DIRECTORY,
        O_PATH | O_DIRECTORY,
        O_RDONLY | O_NONBLOCK | O_NOFOLLOW,
};

static int root_fd = -EBADF;
static dev_t inside_dev;
static ino_t *inside;
static size_t n_inside;

static int record_inode(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
        ino_t *grown = realloc(inside, (n_inside + 1) * sizeof(ino_t));

        if (!grown)
                abort();
        inside = grown;
        inside[n_inside++] = st->st_ino;
        return 0;
}

/*   root/etc/os-release, root/etc/abs -> /etc/os-release, root/etc/dotdot -> ../../../../etc/os-release
 *   root/escape -> <tmp>/outside/secret, root/up -> ../outside/secret, root/dirlink -> /etc
 *   root/a/b/c/file, root/a/b/up -> ../.., root/a/b/sibling -> ../b/c, root/a/b/root -> /
 *   loops, a chain of 41 links, a dangling link, a FIFO, an empty directory */
static void make_tree(void) {
        _cleanup_free_ char *tmp = fuzz_mkdtemp("chase"), *root = NULL, *secret = NULL, *fifo = NULL;
        struct stat st;

        FUZZ_CHECK(asprintf(&root, "%s/root", tmp) >= 0);
        FUZZ_CHECK(asprintf(&secret, "%s/outside/secret", tmp) >= 0);
        fuzz_write_file(tmp, "outside/secret", "host secret");
        fuzz_mkdir_p(tmp, "root");

        fuzz_write_file(root, "etc/os-release", "ID=inside\n");
        fuzz_symlink(root, "etc/abs", "/etc/os-release");
        fuzz_symlink(root, "etc/dotdot", "../../../../etc/os-release");
        fuzz_symlink(root, "escape", secret);
        fuzz_symlink(root, "up", "../outside/secret");
        fuzz_symlink(root, "dirlink", "/etc");
        fuzz_symlink(root, "rel", "etc/");
        fuzz_write_file(root, "a/b/c/file", "file");
        fuzz_symlink(root, "a/b/up", "../..");
        fuzz_symlink(root, "a/b/sibling", "../b/c");
        fuzz_symlink(root, "a/b/root", "/");
        fuzz_symlink(root, "a/b/slashes", "//a///b/./c/");
        fuzz_symlink(root, "loop1", "loop2");
        fuzz_symlink(root, "loop2", "loop1");
        fuzz_symlink(root, "self", "self");
        fuzz_symlink(root, "dot", ".");
        fuzz_symlink(root, "dangling", "/nonexistent/x");
        fuzz_symlink(root, "proc", "/proc/self/fd/0");
        fuzz_mkdir_p(root, "empty");
        for (int i = 0; i < 41; i++) {
                char name[16], target[16];

                snprintf(name, sizeof(name), "l%d", i);
                snprintf(target, sizeof(target), "l%d", i + 1);
                fuzz_symlink(root, name, i == 40 ? "/etc/os-release" : target);
        }
        FUZZ_CHECK(asprintf(&fifo, "%s/fifo", root) >= 0);
        FUZZ_CHECK(mkfifo(fifo, 0644) == 0);

        FUZZ_CHECK(nftw(root, record_inode, 16, FTW_PHYS | FTW_MOUNT) == 0);
        root_fd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
        FUZZ_CHECK(root_fd >= 0);
        FUZZ_CHECK(fstat(root_fd, &st) == 0);
        inside_dev = st.st_dev;
}

static bool is_inside(int fd) {
        struct stat st;

        FUZZ_CHECK(fstat(fd, &st) == 0);
        if (st.st_dev != inside_dev)
                return false;
        for (size_t i = 0; i < n_inside; i++)
                if (inside[i] == st.st_ino)
                        return true;
        return false;
}

static bool same_file(int a, int b) {
        struct stat sa, sb;

        FUZZ_CHECK(fstat(a, &sa) == 0 && fstat(b, &sb) == 0);
        return sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        _cleanup_close_ int kernel = -EBADF, userspace = -EBADF;
        _cleanup_free_ char *path = NULL;
        int flags;

        if (size < 1)
                return 0;
        if (root_fd < 0)
                make_tree();

        flags = flag_table[data[0] % ELEMENTSOF(flag_table)];
        path = fuzz_strndup(data + 1, size - 1);

        kernel = chase_open_in_root(root_fd, path, flags);
        userspace = chase_open_in_root_userspace(root_fd, path, flags);

        if ((kernel >= 0) != (userspace >= 0) || (kernel < 0 && kernel != userspace) ||
            (kernel >= 0 && !same_file(kernel, userspace))) {
                fprintf(stderr, "path '%s' flags %#o: kernel %s, userspace %s\n", path, (unsigned) flags,
                        kernel >= 0 ? "opened" : strerror(-kernel), userspace >= 0 ? "opened" : strerror(-userspace));
                FUZZ_CHECK(!"kernel and userspace resolution agree");
        }
        if (kernel >= 0)
                FUZZ_CHECK(is_inside(kernel));

        /* The same path, beneath the root with no symlink and no mount crossed: both ways agree,
         * and what they open lies inside. */
        kernel = safe_close(kernel);
        userspace = safe_close(userspace);
        kernel = chase_open_beneath_same_mount(root_fd, path);
        userspace = chase_open_beneath_same_mount_userspace(root_fd, path);
        if ((kernel >= 0) != (userspace >= 0) || (kernel < 0 && kernel != userspace) ||
            (kernel >= 0 && !same_file(kernel, userspace))) {
                fprintf(stderr, "path '%s' beneath: kernel %s, userspace %s\n", path,
                        kernel >= 0 ? "opened" : strerror(-kernel), userspace >= 0 ? "opened" : strerror(-userspace));
                FUZZ_CHECK(!"kernel and userspace agree beneath the root");
        }
        if (kernel >= 0)
                FUZZ_CHECK(is_inside(kernel));
        return 0;
}
