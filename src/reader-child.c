/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <fcntl.h>
#include <libmount/libmount.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fd-util.h"
#include "image-probe.h"
#include "image-read.h"
#include "loop-device.h"
#include "portable-error.h"
#include "reader-child.h"
#include "reader-protocol.h"
#include "reader-sandbox.h"
#include "strv.h"

DEFINE_TRIVIAL_CLEANUP_FUNC(struct libmnt_context *, mnt_free_context);

#define LOOP_NODE READER_SANDBOX_STAGING "/loop"
#define IMAGE_MOUNT_POINT READER_SANDBOX_NEW_ROOT READER_SANDBOX_IMAGE_DIR

static int probe_error(const Image *image, int r, sd_bus_error *reterr) {
        switch (r) {
        case -EMEDIUMTYPE:
                return portable_error(reterr, r, SD_BUS_ERROR_INVALID_ARGS,
                                      "Couldn't identify a suitable partition table or file system in '%s'.", image->path);
        case -ENOTUNIQ:
                return portable_error(reterr, r, SD_BUS_ERROR_INVALID_ARGS,
                                      "Image '%s': more than one candidate root file system or signature, refusing.",
                                      image->path);
        case -EPROTONOSUPPORT:
                return portable_error(reterr, r, SD_BUS_ERROR_INVALID_ARGS,
                                      "Image '%s': file system type is not supported for portable images.", image->path);
        default:
                return portable_error(reterr, r, NULL, "Image '%s': cannot probe: %m", image->path);
        }
}

/* Attaches the image to a loop device (from the fd the daemon opened, never by path) and mounts
 * its file system read-only at the image mount point. */
static int mount_raw_image(const Image *image, int image_fd, sd_bus_error *reterr) {
        _cleanup_(mnt_free_contextp) struct libmnt_context *cxt = NULL;
        _cleanup_(image_probe_done) ImageProbe probe = {};
        _cleanup_close_ int loop_fd = -EBADF;
        int r;

        r = image_probe(image_fd, &probe);
        if (r < 0)
                return probe_error(image, r, reterr);

        loop_fd = loop_device_attach(image_fd, probe.offset, probe.size, LOOP_NODE);
        if (loop_fd < 0)
                return portable_error(reterr, loop_fd, NULL, "Image '%s': cannot set up a loop device: %m", image->path);

        cxt = mnt_new_context();
        if (!cxt)
                return -ENOMEM;

        /* Never record anything in the host's utab: this mount lives and dies in our namespace. */
        if (mnt_context_disable_mtab(cxt, 1) < 0 || mnt_context_disable_helpers(cxt, 1) < 0 ||
            mnt_context_set_source(cxt, LOOP_NODE) < 0 || mnt_context_set_target(cxt, IMAGE_MOUNT_POINT) < 0 ||
            mnt_context_set_fstype(cxt, probe.fstype) < 0 ||
            mnt_context_set_options(cxt, "ro,nosuid,nodev,noexec") < 0)
                return -ENOMEM;

        r = mnt_context_mount(cxt);
        if (r != 0 || mnt_context_get_status(cxt) != 1) {
                char message[512] = "";
                int syscall_errno = mnt_context_syscall_called(cxt) ? mnt_context_get_syscall_errno(cxt) : 0;

                (void) mnt_context_get_excode(cxt, r, message, sizeof(message));
                return portable_error(reterr, syscall_errno ?: EIO, SD_BUS_ERROR_INVALID_ARGS,
                                      "Image '%s': cannot mount its %s file system (corrupt or truncated?): %s",
                                      image->path, probe.fstype, message[0] ? message : strerror(syscall_errno ?: EIO));
        }
        /* The mount holds the loop device now; with autoclear it goes away with the mount, i.e.
         * with our mount namespace. */
        return 0;
}

/* Attaches the directory image, a detached mount the daemon cloned from the directory it opened
 * (a mount of its namespace cannot be bound into ours), read-only and without what may be mounted
 * below it, at the image mount point. */
static int mount_directory_image(const Image *image, int tree_fd, sd_bus_error *reterr) {
        struct mount_attr attr = {
                .attr_set = MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC,
        };

        if (mount_setattr(tree_fd, "", AT_EMPTY_PATH, &attr, sizeof(attr)) < 0 ||
            move_mount(tree_fd, "", AT_FDCWD, IMAGE_MOUNT_POINT, MOVE_MOUNT_F_EMPTY_PATH) < 0)
                return portable_error(reterr, errno, NULL, "Image '%s': cannot make the directory visible to the reader: %m",
                                      image->path);
        return 0;
}

static int send_results(int sock, const PortableMetadata *m) {
        int r;

        if (m->extension)
                r = reader_send_extension_release(sock, m->os_release.name, m->extension_class, m->extension_match,
                                                  m->os_release.data, m->os_release.size);
        else
                r = reader_send_file(sock, READER_OS_RELEASE, m->os_release.name, NULL, m->os_release.data,
                                     m->os_release.size);
        for (size_t i = 0; r >= 0 && i < m->n_units; i++)
                r = reader_send_file(sock, READER_UNIT, m->units[i].name, m->units[i].source, m->units[i].data,
                                     m->units[i].size);
        STRV_FOREACH(w, m->warnings)
                if (r >= 0)
                        r = reader_send(sock, READER_WARNING, (const char *const[]) { *w, NULL }, -EBADF);
        STRV_FOREACH(p, m->missing)
                if (r >= 0)
                        r = reader_send(sock, READER_MISSING, (const char *const[]) { *p, NULL }, -EBADF);
        if (r >= 0)
                r = reader_send(sock, READER_DONE, NULL, -EBADF);
        return r;
}

static int reader_run(ReaderChildArgs *a, sd_bus_error *error) {
        _cleanup_(portable_metadata_freep) PortableMetadata *m = NULL;
        _cleanup_close_ int root_fd = -EBADF;
        bool directory = a->image->type == IMAGE_DIRECTORY || a->image->type == IMAGE_SUBVOLUME;
        int fds[2] = { a->image_fd, a->sock };
        int r;

        r = reader_sandbox_keep_fds(fds, ELEMENTSOF(fds));
        if (r < 0)
                return portable_error(error, r, NULL, "Image '%s': cannot close the reader's file descriptors: %m",
                                      a->image->path);
        a->image_fd = fds[0];
        a->sock = fds[1];

        r = reader_sandbox_unshare();
        if (r >= 0)
                r = reader_sandbox_prepare_root();
        if (r < 0)
                return portable_error(error, r, NULL, "Image '%s': cannot set up the reader's namespaces: %m",
                                      a->image->path);

        r = directory ? mount_directory_image(a->image, a->image_fd, error) : mount_raw_image(a->image, a->image_fd, error);
        if (r < 0)
                return r;
        a->image_fd = safe_close(a->image_fd);

        r = reader_sandbox_pivot();
        if (r < 0)
                return portable_error(error, r, NULL, "Image '%s': cannot enter the reader's root: %m", a->image->path);

        root_fd = open(READER_SANDBOX_IMAGE_DIR, O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (root_fd < 0)
                return portable_error(error, errno, NULL, "Image '%s': cannot open the mounted image: %m", a->image->path);

        /* From here on the child only reads the untrusted tree and sends what it found. */
        r = reader_sandbox_lock_down();
        if (r < 0)
                return portable_error(error, r, NULL, "Image '%s': cannot lock down the reader: %m", a->image->path);

        if (a->extension)
                r = image_read_extension_tree(root_fd, a->image->name, a->image->path, a->force_extension,
                                              /* want_sources= */ directory, a->matches, &m, error);
        else
                r = image_read_tree(root_fd, a->image->path, /* want_sources= */ directory, a->matches, &m, error);
        if (r < 0)
                return r;
        r = image_tree_find_missing(root_fd, a->check_paths, m);
        if (r < 0)
                return portable_error(error, r, NULL, "Image '%s': cannot check paths: %m", a->image->path);

        return send_results(a->sock, m);
}

/* The second child: pid 1 of its own PID namespace. */
_noreturn_ static void reader_main(ReaderChildArgs *a) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        int r;

        r = reader_run(a, &error);
        if (r < 0) {
                reader_send_error(a->sock, r, &error);
                _exit(EXIT_FAILURE);
        }
        _exit(EXIT_SUCCESS);
}

_noreturn_ void reader_child_main(ReaderChildArgs *a) {
        struct rlimit no_core = {};
        int fds[2] = { a->image_fd, a->sock };
        int status;
        pid_t pid;

        /* Neither child may outlive the daemon, nor leave a core dump of image data behind. */
        (void) prctl(PR_SET_PDEATHSIG, SIGKILL);
        (void) setrlimit(RLIMIT_CORE, &no_core);

        /* Nothing of the daemon (its bus connection above all) goes any further. */
        if (reader_sandbox_keep_fds(fds, ELEMENTSOF(fds)) < 0)
                _exit(EXIT_FAILURE);
        a->image_fd = fds[0];
        a->sock = fds[1];

        if (unshare(CLONE_NEWPID) < 0) {
                _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;

                reader_send_error(a->sock, portable_error(&error, errno, NULL, "Image '%s': cannot create a PID namespace: %m",
                                                          a->image->path), &error);
                _exit(EXIT_FAILURE);
        }

        pid = fork();
        if (pid < 0)
                _exit(EXIT_FAILURE);
        if (pid == 0) {
                (void) prctl(PR_SET_PDEATHSIG, SIGKILL);
                reader_main(a);
        }

        /* The reader has its own copies; ours must not keep the socket open after it is gone, or
         * the daemon would not see it hang up. */
        safe_close(a->sock);
        safe_close(a->image_fd);

        while (waitpid(pid, &status, 0) < 0)
                if (errno != EINTR)
                        _exit(EXIT_FAILURE);

        if (WIFSIGNALED(status)) {
                /* Die the same way, so the daemon can tell what happened. */
                signal(WTERMSIG(status), SIG_DFL);
                (void) raise(WTERMSIG(status));
                _exit(128 + WTERMSIG(status));
        }
        _exit(WIFEXITED(status) ? WEXITSTATUS(status) : EXIT_FAILURE);
}
