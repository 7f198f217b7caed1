/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <unistd.h>

#include "fd-util.h"
#include "image-read.h"
#include "portable-error.h"
#include "reader-child.h"
#include "reader-protocol.h"
#include "reader-raw.h"
#include "reader-request.h"
#include "reader-sandbox.h"
#include "strv.h"

#define IMAGE_MOUNT_POINT READER_SANDBOX_NEW_ROOT READER_SANDBOX_IMAGE_DIR

/* Attaches the directory image, a detached mount the daemon cloned from the directory it opened
 * (a mount of its namespace cannot be bound into ours), read-only and without what may be mounted
 * below it, at where. */
static int mount_directory_image(const char *image_path, int tree_fd, const char *where, sd_bus_error *reterr) {
        struct mount_attr attr = {
                .attr_set = MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC,
        };

        if (mount_setattr(tree_fd, "", AT_EMPTY_PATH, &attr, sizeof(attr)) < 0 ||
            move_mount(tree_fd, "", AT_FDCWD, where, MOVE_MOUNT_F_EMPTY_PATH) < 0)
                return portable_error(reterr, errno, NULL, "Image '%s': cannot make the directory visible to the reader: %m",
                                      image_path);
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

/* Keeps the fds the slots hold (those that are -EBADF: none), renumbered, and updates the slots;
 * closes the rest. */
static int keep_fd_slots(int *const *slots, size_t n_slots) {
        int fds[8];
        size_t n = 0;
        int r;

        if (n_slots > ELEMENTSOF(fds))
                return -E2BIG;
        for (size_t i = 0; i < n_slots; i++)
                if (*slots[i] >= 0)
                        fds[n++] = *slots[i];
        r = reader_sandbox_keep_fds(fds, n);
        if (r < 0)
                return r;
        n = 0;
        for (size_t i = 0; i < n_slots; i++)
                if (*slots[i] >= 0)
                        *slots[i] = fds[n++];
        return 0;
}

/* Keeps the image, the socket, and if there are any the hash tree sidecar and the namespaces to
 * join; closes the rest. */
static int keep_fds(ReaderChildArgs *a, VerityData *verity) {
        int *slots[] = { &a->image_fd, &a->sock, &verity->hash_fd, &a->netns_fd, &a->ipcns_fd };

        return keep_fd_slots(slots, ELEMENTSOF(slots));
}

/* The image is mounted at READER_SANDBOX_IMAGE_DIR of our new root: lock down, read it, send. */
static int read_mounted_image(ReaderChildArgs *a, bool directory, sd_bus_error *error) {
        _cleanup_(portable_metadata_freep) PortableMetadata *m = NULL;
        _cleanup_close_ int root_fd = -EBADF;
        int r;

        root_fd = open(READER_SANDBOX_IMAGE_DIR, O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (root_fd < 0)
                return portable_error(error, errno, NULL, "Image '%s': cannot open the mounted image: %m", a->image->path);

        /* From here on the child only reads the untrusted tree and sends what it found. */
        r = reader_sandbox_lock_down(a->sandbox);
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

        r = send_results(a->sock, m);
        if (r < 0)
                return portable_error(error, r, NULL, "Image '%s': cannot send what was read to the daemon: %m",
                                      a->image->path);
        return 0;
}

static int reader_run(ReaderChildArgs *a, sd_bus_error *error) {
        _cleanup_(reader_raw_done) ReaderRaw raw = READER_RAW_NULL;
        bool directory = a->image->type == IMAGE_DIRECTORY || a->image->type == IMAGE_SUBVOLUME;
        /* Our copy: only the fd number changes, nothing of it is ever freed here. */
        VerityData verity = a->verity ? *a->verity : VERITY_DATA_NULL;
        ReaderRawArgs raw_args;
        int r;

        r = keep_fds(a, &verity);
        if (r < 0)
                return portable_error(error, r, NULL, "Image '%s': cannot close the reader's file descriptors: %m",
                                      a->image->path);

        raw_args = (ReaderRawArgs) {
                .image = a->image->path,
                .image_fd = a->image_fd,
                .verity = &verity,
                .image_policies = a->image_policies,
                .trust_root = a->trust_root,
                .verified = a->verified,
                .verified_covered = a->verified_covered,
                .n_verified = a->n_verified,
        };

        r = reader_sandbox_unshare(a->netns_fd, a->ipcns_fd);
        a->netns_fd = safe_close(a->netns_fd);
        a->ipcns_fd = safe_close(a->ipcns_fd);
        if (r < 0)
                return portable_error(error, r, NULL, "Image '%s': cannot set up the reader's namespaces: %m",
                                      a->image->path);

        /* Before our private /tmp hides anything of the host: the trusted certificates are there. */
        if (!directory) {
                r = reader_raw_check(&raw_args, &raw, error);
                if (r < 0)
                        return r;
        }

        r = reader_sandbox_prepare_root();
        if (r < 0)
                return portable_error(error, r, NULL, "Image '%s': cannot set up the reader's namespaces: %m",
                                      a->image->path);

        if (directory)
                r = mount_directory_image(a->image->path, a->image_fd, IMAGE_MOUNT_POINT, error);
        else
                r = reader_raw_mount(&raw_args, &raw, a->sock, IMAGE_MOUNT_POINT, READER_SANDBOX_STAGING, error);
        if (r < 0)
                return r;
        reader_raw_done(&raw);
        a->image_fd = safe_close(a->image_fd);
        verity.hash_fd = safe_close(verity.hash_fd);

        r = reader_sandbox_pivot();
        if (r < 0)
                return portable_error(error, r, NULL, "Image '%s': cannot enter the reader's root: %m", a->image->path);

        return read_mounted_image(a, directory, error);
}

/* The reader: pid 1 of its own PID namespace, which the daemon created for it. */
_noreturn_ void reader_child_main(ReaderChildArgs *a) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        struct rlimit no_core = {};
        int r;

        /* It may not outlive the daemon, nor leave a core dump of image data behind. */
        (void) prctl(PR_SET_PDEATHSIG, SIGKILL);
        (void) setrlimit(RLIMIT_CORE, &no_core);
        (void) prctl(PR_SET_NAME, READER_COMM);

        r = reader_run(a, &error);
        if (r < 0)
                reader_send_error(a->sock, r, &error);
        reader_sandbox_exit(r < 0 ? EXIT_FAILURE : EXIT_SUCCESS);
}

/* A spare: everything up to the pivot into the empty root is done before the image is known; the
 * directory is then mounted where the image goes, and the rest is as for any reader. Set-up that
 * fails ends it without a word: the daemon finds it gone and starts a reader of its own. */
static int spare_run(int *sock, const ReaderSandbox *sandbox, bool *ret_requested, sd_bus_error *error) {
        _cleanup_(reader_request_done) ReaderRequest request = {};
        _cleanup_close_ int tree_fd = -EBADF, netns_fd = sandbox ? sandbox->netns_fd : -EBADF,
                            ipcns_fd = sandbox ? sandbox->ipcns_fd : -EBADF;
        int *kept[] = { sock, &netns_fd, &ipcns_fd };
        ReaderChildArgs a;
        Image image;
        int r;

        *ret_requested = false;
        /* The socket and the sandbox's namespaces, if it has them. */
        r = keep_fd_slots(kept, ELEMENTSOF(kept));
        if (r < 0)
                return r;
        r = reader_sandbox_unshare(netns_fd, ipcns_fd);
        netns_fd = safe_close(netns_fd);
        ipcns_fd = safe_close(ipcns_fd);
        if (r < 0)
                return r;
        r = reader_sandbox_prepare_root();
        if (r < 0)
                return r;
        r = reader_sandbox_pivot();
        if (r < 0)
                return r;
        /* Before the request, not after: the slowest step of the lock-down. */
        r = reader_sandbox_restrict_privileges();
        if (r < 0)
                return r;

        r = reader_request_receive(*sock, &request, &tree_fd);
        if (r <= 0)
                return r; /* not needed after all, or not understood: nothing to answer */
        *ret_requested = true;
        (void) prctl(PR_SET_NAME, READER_COMM);

        image = (Image) { .type = IMAGE_DIRECTORY, .name = request.image_name, .path = request.image_path };
        r = mount_directory_image(image.path, tree_fd, READER_SANDBOX_IMAGE_DIR, error);
        if (r < 0)
                return r;
        tree_fd = safe_close(tree_fd);

        a = (ReaderChildArgs) {
                .image = &image,
                .image_fd = -EBADF,
                .sock = *sock,
                .netns_fd = -EBADF,
                .ipcns_fd = -EBADF,
                .sandbox = sandbox,
                .matches = request.matches,
                .check_paths = request.check_paths,
                .extension = request.extension,
                .force_extension = request.force_extension,
        };
        return read_mounted_image(&a, /* directory= */ true, error);
}

_noreturn_ void reader_child_spare_main(int sock, const ReaderSandbox *sandbox) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        struct rlimit no_core = {};
        bool requested;
        int r;

        (void) prctl(PR_SET_PDEATHSIG, SIGKILL);
        (void) setrlimit(RLIMIT_CORE, &no_core);
        /* A spare, setting up or waiting, not a reader at work (ps, and the tests, tell them
         * apart by the name). */
        (void) prctl(PR_SET_NAME, READER_SPARE_COMM);

        r = spare_run(&sock, sandbox, &requested, &error);
        if (r < 0 && requested)
                reader_send_error(sock, r, &error);
        reader_sandbox_exit(r < 0 ? EXIT_FAILURE : EXIT_SUCCESS);
}
