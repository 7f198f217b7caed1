/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <fcntl.h>
#include <libmount/libmount.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "fd-util.h"
#include "fileio.h"
#include "image-mount.h"
#include "image-probe.h"
#include "image-read.h"
#include "loop-device.h"
#include "reader-sandbox.h"
#include "os-release.h"
#include "portable-error.h"
#include "strv.h"
#include "unit-match.h"

/* One datagram per file; the first byte says what it is. */
enum {
        MSG_OS_RELEASE = 'O', /* name = path inside the image, fd attached */
        MSG_UNIT = 'U',       /* name = unit name, fd attached */
        MSG_WARNING = 'W',    /* text */
        MSG_MISSING = 'M',    /* a requested path the image lacks */
        MSG_ERROR = 'E',      /* "<errno>\0<error name>\0<message>" */
        MSG_DONE = 'D',
};

#define MSG_MAX 4096
#define CHILD_TIMEOUT_MSEC (120 * 1000)
#define CHILD_MOUNT_POINT "/tmp/portabled-image"

static int send_message(int sock, char type, const char *payload, size_t size, int fd) {
        char buf[MSG_MAX];
        union {
                struct cmsghdr cmsghdr;
                uint8_t buf[CMSG_SPACE(sizeof(int))];
        } control = {};
        struct iovec iov = { .iov_base = buf, .iov_len = size + 1 };
        struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };

        if (size + 1 > sizeof(buf))
                size = sizeof(buf) - 1, iov.iov_len = sizeof(buf);
        buf[0] = type;
        memcpy(buf + 1, payload, size);

        if (fd >= 0) {
                struct cmsghdr *c;

                mh.msg_control = &control;
                mh.msg_controllen = sizeof(control);
                c = CMSG_FIRSTHDR(&mh);
                c->cmsg_level = SOL_SOCKET;
                c->cmsg_type = SCM_RIGHTS;
                c->cmsg_len = CMSG_LEN(sizeof(int));
                memcpy(CMSG_DATA(c), &fd, sizeof(int));
        }

        return RET_NERRNO((int) sendmsg(sock, &mh, MSG_NOSIGNAL));
}

/* A sealed memfd holding a copy of the data: the parent gets the bytes and nothing that refers
 * back into the child's mount namespace. */
static int memfd_with_data(const char *name, const char *data, size_t size) {
        _cleanup_close_ int fd = -EBADF;

        fd = memfd_create(name, MFD_CLOEXEC | MFD_ALLOW_SEALING);
        if (fd < 0)
                return -errno;

        for (size_t done = 0; done < size;) {
                ssize_t n = write(fd, data + done, size - done);
                if (n < 0)
                        return -errno;
                done += (size_t) n;
        }

        if (fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL) < 0)
                return -errno;

        return TAKE_FD(fd);
}

static int send_file(int sock, char type, const PortableFile *f) {
        _cleanup_close_ int fd = memfd_with_data(f->name, f->data, f->size);

        if (fd < 0)
                return fd;
        return send_message(sock, type, f->name, strlen(f->name), fd);
}

static void send_error(int sock, const sd_bus_error *error, int r) {
        char buf[MSG_MAX];
        int n;

        n = snprintf(buf, sizeof(buf), "%i%c%s%c%s", -r, 0, strempty(error->name), 0,
                     error->message ?: strerror(-r));
        if (n < 0)
                return;
        (void) send_message(sock, MSG_ERROR, buf, (size_t) n < sizeof(buf) ? (size_t) n : sizeof(buf) - 1, -EBADF);
}

DEFINE_TRIVIAL_CLEANUP_FUNC(struct libmnt_context *, mnt_free_context);

#define CHILD_TMP "/tmp"
#define CHILD_LOOP_NODE CHILD_TMP "/loop"

/* Mounts the image at CHILD_MOUNT_POINT. Everything happens on a tmpfs of our own over /tmp in our
 * private namespace: the mount point and the loop device node exist nowhere on the host. The
 * image is attached from the fd we probed, never reopened by path. Returns the loop device fd,
 * which must stay open until the file system is mounted. */
static int child_mount_image(const Image *image, int image_fd, const ImageProbe *probe, sd_bus_error *reterr) {
        _cleanup_(mnt_free_contextp) struct libmnt_context *cxt = NULL;
        _cleanup_close_ int loop_fd = -EBADF;
        int r;

        if (mount("tmpfs", CHILD_TMP, "tmpfs", MS_NOSUID | MS_NOEXEC, "mode=0700") < 0)
                return portable_error(reterr, errno, NULL, "Image '%s': cannot set up a private /tmp: %m", image->path);
        if (mkdir(CHILD_MOUNT_POINT, 0700) < 0)
                return portable_error(reterr, errno, NULL, "Image '%s': cannot create mount point: %m", image->path);

        loop_fd = loop_device_attach(image_fd, probe->offset, probe->size, CHILD_LOOP_NODE);
        if (loop_fd < 0)
                return portable_error(reterr, loop_fd, NULL, "Image '%s': cannot set up a loop device: %m", image->path);

        cxt = mnt_new_context();
        if (!cxt)
                return -ENOMEM;

        /* Never record anything in the host's utab: this mount lives and dies in our namespace. */
        if (mnt_context_disable_mtab(cxt, 1) < 0 ||
            mnt_context_disable_helpers(cxt, 1) < 0 ||
            mnt_context_set_source(cxt, CHILD_LOOP_NODE) < 0 ||
            mnt_context_set_target(cxt, CHILD_MOUNT_POINT) < 0 ||
            mnt_context_set_fstype(cxt, probe->fstype) < 0 ||
            mnt_context_set_options(cxt, "ro,nosuid,nodev,noexec") < 0)
                return -ENOMEM;

        r = mnt_context_mount(cxt);
        if (r != 0 || mnt_context_get_status(cxt) != 1) {
                char message[512] = "";
                int syscall_errno = mnt_context_syscall_called(cxt) ? mnt_context_get_syscall_errno(cxt) : 0;

                (void) mnt_context_get_excode(cxt, r, message, sizeof(message));
                return portable_error(reterr, syscall_errno ?: EIO, SD_BUS_ERROR_INVALID_ARGS,
                                      "Image '%s': cannot mount its %s file system (corrupt or truncated?): %s",
                                      image->path, probe->fstype, message[0] ? message : strerror(syscall_errno ?: EIO));
        }

        return TAKE_FD(loop_fd);
}

static int child_run(const Image *image, char * const *matches, char * const *check_paths, int sock) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_(portable_metadata_freep) PortableMetadata *m = NULL;
        _cleanup_close_ int image_fd = -EBADF, root_fd = -EBADF;
        _cleanup_(image_probe_done) ImageProbe probe = {};
        int r;

        if (unshare(CLONE_NEWNS) < 0) {
                r = portable_error(&error, errno, NULL, "Image '%s': cannot create a private mount namespace: %m", image->path);
                goto fail;
        }
        /* Nothing we mount may propagate back to the host. */
        if (mount("none", "/", "none", MS_SLAVE | MS_REC, NULL) < 0) {
                r = portable_error(&error, errno, NULL, "Image '%s': cannot make mounts private: %m", image->path);
                goto fail;
        }

        image_fd = open(image->path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
        if (image_fd < 0) {
                r = portable_error(&error, errno, NULL, "Image '%s': cannot open: %m", image->path);
                goto fail;
        }

        r = image_probe(image_fd, &probe);
        if (r == -EMEDIUMTYPE) {
                r = portable_error(&error, r, SD_BUS_ERROR_INVALID_ARGS,
                                   "Couldn't identify a suitable partition table or file system in '%s'.", image->path);
                goto fail;
        }
        if (r == -ENOTUNIQ) {
                r = portable_error(&error, r, SD_BUS_ERROR_INVALID_ARGS,
                                   "Image '%s': more than one candidate root file system or signature, refusing.", image->path);
                goto fail;
        }
        if (r == -EPROTONOSUPPORT) {
                r = portable_error(&error, r, SD_BUS_ERROR_INVALID_ARGS,
                                   "Image '%s': file system type is not supported for portable images.", image->path);
                goto fail;
        }
        if (r < 0) {
                r = portable_error(&error, r, NULL, "Image '%s': cannot probe: %m", image->path);
                goto fail;
        }
        r = child_mount_image(image, image_fd, &probe, &error);
        if (r < 0)
                goto fail;
        /* The mount holds the loop device now; with autoclear it goes away with the mount. */
        safe_close(r);
        image_fd = safe_close(image_fd);

        root_fd = open(CHILD_MOUNT_POINT, O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (root_fd < 0) {
                r = portable_error(&error, errno, NULL, "Image '%s': cannot open mounted root: %m", image->path);
                goto fail;
        }

        /* From here on we only read the untrusted tree: take away everything else. The mount
         * point is still unmounted explicitly below (umount2() stays allowed), so that the loop
         * device is released before our parent reaps us. */
        r = reader_sandbox_enter();
        if (r < 0) {
                r = portable_error(&error, r, NULL, "Image '%s': cannot set up the reader sandbox: %m", image->path);
                goto fail;
        }

        r = image_read_tree(root_fd, image->path, /* source_dir= */ NULL, matches, &m, &error);
        if (r < 0)
                goto fail;
        r = image_tree_find_missing(root_fd, check_paths, m);
        if (r < 0) {
                r = portable_error(&error, r, NULL, "Image '%s': cannot check paths: %m", image->path);
                goto fail;
        }

        r = send_file(sock, MSG_OS_RELEASE, &m->os_release);
        for (size_t i = 0; r >= 0 && i < m->n_units; i++)
                r = send_file(sock, MSG_UNIT, &m->units[i]);
        STRV_FOREACH(w, m->warnings)
                if (r >= 0)
                        r = send_message(sock, MSG_WARNING, *w, strlen(*w), -EBADF);
        STRV_FOREACH(p, m->missing)
                if (r >= 0)
                        r = send_message(sock, MSG_MISSING, *p, strlen(*p), -EBADF);
        if (r < 0)
                goto fail;

        root_fd = safe_close(root_fd);
        (void) umount2(CHILD_MOUNT_POINT, 0);
        (void) send_message(sock, MSG_DONE, "", 0, -EBADF);
        return 0;

fail:
        send_error(sock, &error, r);
        root_fd = safe_close(root_fd);
        (void) umount2(CHILD_MOUNT_POINT, 0);
        return r;
}

static int receive_message(int sock, int timeout_msec, char *buf, size_t size, size_t *ret_size, int *ret_fd) {
        union {
                struct cmsghdr cmsghdr;
                uint8_t buf[CMSG_SPACE(sizeof(int) * 4)];
        } control;
        struct iovec iov = { .iov_base = buf, .iov_len = size - 1 };
        struct msghdr mh = {
                .msg_iov = &iov, .msg_iovlen = 1,
                .msg_control = &control, .msg_controllen = sizeof(control),
        };
        struct pollfd pfd = { .fd = sock, .events = POLLIN };
        ssize_t n;
        int fd = -EBADF;

        *ret_fd = -EBADF;

        n = poll(&pfd, 1, timeout_msec);
        if (n < 0)
                return -errno;
        if (n == 0)
                return -ETIMEDOUT;

        n = recvmsg(sock, &mh, MSG_CMSG_CLOEXEC);
        if (n < 0)
                return -errno;

        for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c))
                if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
                        size_t k = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
                        int fds[4];

                        memcpy(fds, CMSG_DATA(c), sizeof(int) * (k > 4 ? 4 : k));
                        for (size_t i = 0; i < k && i < 4; i++) {
                                /* Only ever keep one; anything extra is closed unseen. */
                                if (fd < 0)
                                        fd = fds[i];
                                else
                                        safe_close(fds[i]);
                        }
                }
        if (mh.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) {
                safe_close(fd);
                return -EBADMSG;
        }

        buf[n] = '\0';
        *ret_size = (size_t) n;
        *ret_fd = fd;
        return 0;
}

/* The child runs as root on an untrusted file system: check everything it says. */
static int parent_take_file(PortableMetadata *m, char type, const char *name, int fd, char * const *matches,
                            const Image *image, sd_bus_error *reterr) {
        _cleanup_free_ char *data = NULL;
        size_t size;
        int seals, r;

        if (fd < 0)
                return portable_error(reterr, EBADMSG, NULL, "Image '%s': reader sent a file without data.", image->path);

        seals = fcntl(fd, F_GET_SEALS);
        if (seals < 0 || !(seals & F_SEAL_WRITE))
                return portable_error(reterr, EBADMSG, NULL, "Image '%s': reader sent an unsealed file.", image->path);

        if (lseek(fd, 0, SEEK_SET) < 0)
                return -errno;

        if (type == MSG_OS_RELEASE) {
                bool known = false;

                for (const char *const *p = os_release_paths; *p; p++)
                        known = known || streq(name, *p);
                if (!known || m->os_release.name)
                        return portable_error(reterr, EBADMSG, NULL, "Image '%s': reader sent unexpected release file.", image->path);

                r = read_full_fd(fd, PORTABLE_SIZE_MAX_RELEASE_FILE, &data, &size);
                if (r < 0)
                        return portable_error(reterr, r, NULL, "Image '%s': cannot read os-release copy: %m", image->path);
                r = portable_metadata_set_os_release(m, name, TAKE_PTR(data), size);
                if (r == -EBADMSG)
                        return portable_error(reterr, r, SD_BUS_ERROR_INVALID_ARGS,
                                              "Image '%s': %s is malformed (unterminated quote).", image->path, name);
                return r;
        }

        if (!unit_name_is_valid(name, UNIT_NAME_ANY) || !unit_name_is_portable_type(name) ||
            !unit_name_matches_prefixes(name, matches))
                return portable_error(reterr, EBADMSG, NULL, "Image '%s': reader sent unexpected unit '%s'.", image->path, name);

        r = read_full_fd(fd, PORTABLE_SIZE_MAX_UNIT_FILE, &data, &size);
        if (r < 0)
                return portable_error(reterr, r, NULL, "Image '%s': cannot read copy of unit '%s': %m", image->path, name);

        r = portable_metadata_add_unit(m, name, TAKE_PTR(data), size, /* source= */ NULL);
        if (r == -EEXIST)
                return portable_error(reterr, EBADMSG, NULL, "Image '%s': reader sent unit '%s' twice.", image->path, name);
        return r;
}

static int parent_receive(int sock, pid_t pid, const Image *image, char * const *matches,
                          char * const *check_paths, PortableMetadata **ret, sd_bus_error *reterr) {
        _cleanup_(portable_metadata_freep) PortableMetadata *m = NULL;
        struct timespec start;
        int r;

        r = portable_metadata_new(&m);
        if (r < 0)
                return r;

        clock_gettime(CLOCK_MONOTONIC, &start);
        for (;;) {
                char buf[MSG_MAX + 1];
                _cleanup_close_ int fd = -EBADF;
                struct timespec now;
                size_t size = 0;
                int left;

                clock_gettime(CLOCK_MONOTONIC, &now);
                left = CHILD_TIMEOUT_MSEC - (int) ((now.tv_sec - start.tv_sec) * 1000 + (now.tv_nsec - start.tv_nsec) / 1000000);
                if (left <= 0)
                        left = 0;

                r = receive_message(sock, left, buf, sizeof(buf), &size, &fd);
                if (r == -ETIMEDOUT) {
                        (void) kill(pid, SIGKILL);
                        return portable_error(reterr, r, NULL, "Image '%s': reading the image timed out.", image->path);
                }
                if (r < 0)
                        return portable_error(reterr, r, NULL, "Image '%s': lost contact with image reader: %m", image->path);
                if (size == 0)
                        return portable_error(reterr, EPIPE, NULL, "Image '%s': image reader died unexpectedly.", image->path);

                switch (buf[0]) {
                case MSG_DONE:
                        if (!m->os_release.name)
                                return portable_error(reterr, EBADMSG, NULL, "Image '%s': reader sent no os-release.", image->path);
                        portable_metadata_sort(m);
                        *ret = TAKE_PTR(m);
                        return 0;

                case MSG_OS_RELEASE:
                case MSG_UNIT:
                        r = parent_take_file(m, buf[0], buf + 1, fd, matches, image, reterr);
                        if (r < 0)
                                return r;
                        break;

                case MSG_MISSING:
                        if (!strv_contains(check_paths, buf + 1))
                                return portable_error(reterr, EBADMSG, NULL, "Image '%s': reader reported an unexpected path.",
                                                      image->path);
                        r = strv_extend(&m->missing, buf + 1);
                        if (r < 0)
                                return r;
                        break;

                case MSG_WARNING:
                        r = portable_metadata_add_warning(m, "%s", buf + 1);
                        if (r < 0)
                                return r;
                        break;

                case MSG_ERROR: {
                        const char *name = buf + 1 + strlen(buf + 1) + 1;
                        const char *message = name < buf + size ? name + strlen(name) + 1 : "";
                        int error = atoi(buf + 1);

                        if (name >= buf + size || message > buf + size)
                                return portable_error(reterr, EBADMSG, NULL, "Image '%s': garbled error from reader.", image->path);
                        if (error <= 0)
                                error = EIO;
                        return portable_error(reterr, error, isempty(name) ? NULL : name, "%s", message);
                }

                default:
                        return portable_error(reterr, EBADMSG, NULL, "Image '%s': reader sent an unknown message.", image->path);
                }
        }
}

int image_mount_and_read_full(const Image *image, char * const *matches, char * const *check_paths,
                              PortableMetadata **ret, sd_bus_error *reterr) {
        _cleanup_close_pair_ int pair[2] = { -EBADF, -EBADF };
        int r, status;
        pid_t pid;

        if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, pair) < 0)
                return -errno;

        pid = fork();
        if (pid < 0)
                return -errno;
        if (pid == 0) {
                (void) prctl(PR_SET_PDEATHSIG, SIGKILL);
                pair[0] = safe_close(pair[0]);
                _exit(child_run(image, matches, check_paths, pair[1]) < 0 ? EXIT_FAILURE : EXIT_SUCCESS);
        }

        pair[1] = safe_close(pair[1]);
        r = parent_receive(pair[0], pid, image, matches, check_paths, ret, reterr);
        pair[0] = safe_close(pair[0]);

        /* Always reap: the child's exit is what tears down its namespace, its mount and thus the
         * autoclear loop device. */
        if (r < 0)
                (void) kill(pid, SIGKILL);
        while (waitpid(pid, &status, 0) < 0)
                if (errno != EINTR)
                        break;

        return r;
}
