/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <criterion/criterion.h>
#include <criterion/new/assert.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "portable-limits.h"
#include "fd-util.h"
#include "image-metadata.h"
#include "metadata-cache.h"
#include "image-reader.h"
#include "image-read.h"
#include "image.h"
#include "os-release.h"
#include "portable-error.h"
#include "reader-protocol.h"
#include "reader-sandbox.h"
#include "strv.h"
#include "unit-helpers.h"

#ifndef P_PIDFD
#define P_PIDFD 3
#endif

#if HAVE_VALGRIND_VALGRIND_H
#include <valgrind/valgrind.h>
#endif

/* Raw images are built at test time from the fixture trees into the test's private directory.
 * After every read, no loop device may remain bound to the image file and nothing may stay
 * mounted in our namespace. */

static char *tmp;

static void setup(void) {
        unit_skip_reader_tests_under_valgrind();
        if (geteuid() != 0)
                cr_skip_test("mounting images needs root");
        tmp = unit_mkdtemp("image-reader");
}

static void teardown(void) {
        unit_rm_rf(tmp);
        free(tmp);
}

TestSuite(image_reader, .init = setup, .fini = teardown, .timeout = 60);

static char *fixture(const char *name) {
        return unit_strf("%s/images/%s", unit_test_data(), name);
}

static bool mounted_here(void) {
        _cleanup_free_ char *mi = unit_read("/proc/self/mountinfo");

        cr_assert(mi != NULL);
        return strstr(mi, "portabled-reader") || strstr(mi, "portabled-root") || strstr(mi, tmp);
}

struct mount_result {
        int r;
        PortableMetadata *m;
        sd_bus_error error;
        char *image_path;
};

static void mount_result_done(struct mount_result *res) {
        res->m = portable_metadata_free(res->m);
        sd_bus_error_free(&res->error);
        free(res->image_path);
}

/* Reads the image at path and checks that it left nothing behind. */
static struct mount_result mount_and_read(const char *path, char * const *matches) {
        struct mount_result res = { .error = SD_BUS_ERROR_NULL, .image_path = strdup(path) };
        _cleanup_(image_freep) Image *image = NULL;

        cr_assert(eq(int, image_from_path(path, &image), 0), "image_from_path(%s)", path);
        cr_assert(eq(int, image->type, IMAGE_RAW));

        res.r = image_read_metadata(image, matches, &res.m, &res.error);
        if (res.r < 0)
                cr_assert(zero(ptr, res.m));
        else
                cr_assert(not(zero(ptr, res.m)));

        cr_assert(unit_wait_no_loop(path, 3000), "a loop device is still bound to %s", path);
        cr_assert(not(mounted_here()), "something of the image is mounted in our namespace");
        return res;
}

static char *build(const char *fstype, const char *tree, const char *name) {
        char *img = unit_strf("%s/%s", tmp, name);

        unit_make_fs_image(fstype, tree, img);
        return img;
}

static PortableMetadata *read_directory(const char *dir, char * const *matches) {
        _cleanup_close_ int fd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
        PortableMetadata *m = NULL;

        cr_assert(fd >= 0);
        cr_assert(eq(int, image_read_tree(fd, dir, false, matches, &m, NULL), 0));
        return m;
}

/* The raw image yields exactly what the same tree yields as a directory. */
static void check_same_as_directory(const char *fstype) {
        _cleanup_free_ char *tree = fixture("foo"), *img = build(fstype, tree, "foo_1.raw");
        char *matches[] = { (char *) "foo", NULL };
        _cleanup_(mount_result_done) struct mount_result res = mount_and_read(img, matches);
        _cleanup_(portable_metadata_freep) PortableMetadata *dir = read_directory(tree, matches);

        cr_assert(eq(int, res.r, 0), "%s", strna(res.error.message));
        assert_str(res.m->os_release.name, dir->os_release.name);
        assert_str(res.m->os_release.data, dir->os_release.data);
        assert_str(os_release_pairs_get(res.m->os_release_pairs, "ID"), "portabletest");

        cr_assert(eq(sz, res.m->n_units, dir->n_units));
        for (size_t i = 0; i < dir->n_units; i++) {
                assert_str(res.m->units[i].name, dir->units[i].name);
                cr_assert(eq(sz, res.m->units[i].size, dir->units[i].size), "%s", dir->units[i].name);
                assert_str(res.m->units[i].data, dir->units[i].data);
                cr_assert(zero(ptr, res.m->units[i].source), "raw images have no host source path");
        }
        /* The empty unit is reported by the reader in the child. */
        bool warned = false;
        STRV_FOREACH(w, res.m->warnings)
                warned = warned || strstr(*w, "foo-empty.service");
        cr_assert(warned);
}

Test(image_reader, squashfs) {
        check_same_as_directory("squashfs");
}

Test(image_reader, erofs) {
        check_same_as_directory("erofs");
}

Test(image_reader, ext4) {
        check_same_as_directory("ext4");
}

Test(image_reader, gpt_partitioned) {
        _cleanup_free_ char *tree = fixture("foo"), *fs = build("squashfs", tree, "fs.squashfs"),
                            *img = unit_strf("%s/disk.raw", tmp);
        const char *types[] = { UNIT_GPT_ESP, UNIT_GPT_ROOT_X86_64 };
        const char *contents[] = { NULL, fs };
        char *matches[] = { (char *) "foo.service", NULL };

        unit_make_gpt(img, 2, types, contents);
        _cleanup_(mount_result_done) struct mount_result res = mount_and_read(img, matches);
        cr_assert(eq(int, res.r, 0), "%s", strna(res.error.message));
        cr_assert(eq(sz, res.m->n_units, 1));
        assert_str(res.m->units[0].name, "foo.service");
}

Test(image_reader, no_units_requested) {
        _cleanup_free_ char *tree = fixture("foo"), *img = build("squashfs", tree, "foo.raw");
        _cleanup_(mount_result_done) struct mount_result res = mount_and_read(img, (char **) image_read_no_units);

        cr_assert(eq(int, res.r, 0));
        cr_assert(eq(sz, res.m->n_units, 0));
        cr_assert(not(zero(ptr, res.m->os_release.data)));
}

Test(image_reader, hostile_symlinks) {
        _cleanup_free_ char *tree = fixture("evil"), *img = build("squashfs", tree, "evil.raw");
        _cleanup_(mount_result_done) struct mount_result res = mount_and_read(img, NULL);

        /* Inside the mounted image, /etc/shadow is the image's (absent), never the host's. */
        cr_assert(eq(int, res.r, 0), "%s", strna(res.error.message));
        cr_assert(eq(sz, res.m->n_units, 0));
        cr_assert(eq(sz, strv_length(res.m->warnings), 2));
}

Test(image_reader, os_release_escape) {
        _cleanup_free_ char *tree = fixture("osrel-escape"), *img = build("erofs", tree, "osrel-escape.raw");
        _cleanup_(mount_result_done) struct mount_result res = mount_and_read(img, NULL);

        cr_assert(eq(int, res.r, -ENOENT));
        cr_assert(not(zero(ptr, strstr(res.error.message ?: "", "os-release"))), "%s", strna(res.error.message));
}

Test(image_reader, no_os_release) {
        _cleanup_free_ char *tree = fixture("noosrel"), *img = build("squashfs", tree, "noosrel.raw");
        _cleanup_(mount_result_done) struct mount_result res = mount_and_read(img, NULL);

        cr_assert(eq(int, res.r, -ENOENT));
        cr_assert(res.error.message != NULL);
}

Test(image_reader, special_files_in_image) {
        _cleanup_free_ char *tree = unit_strf("%s/special", tmp), *src = fixture("special"), *fifo = NULL,
                            *img = NULL;

        _cleanup_free_ char *unit_dir = unit_strf("%s/usr/lib/systemd/system", tree);

        unit_copy_tree(src, tree);
        fifo = unit_strf("%s/special-fifo.service", unit_dir);
        unit_mkdir_p(unit_dir, 0755);
        cr_assert(eq(int, mkfifo(fifo, 0644), 0));
        img = build("squashfs", tree, "special.raw");

        _cleanup_(mount_result_done) struct mount_result res = mount_and_read(img, NULL);
        cr_assert(eq(int, res.r, 0), "%s", strna(res.error.message));
        cr_assert(eq(sz, res.m->n_units, 0));
        cr_assert(eq(sz, strv_length(res.m->warnings), 1));
}

Test(image_reader, huge_unit_refused) {
        _cleanup_free_ char *tree = unit_strf("%s/huge", tmp), *osrel = NULL, *unit = NULL, *img = NULL;

        osrel = unit_strf("%s/usr/lib/os-release", tree);
        unit = unit_strf("%s/usr/lib/systemd/system/huge.service", tree);
        unit_write(osrel, "ID=huge\n");
        unit_write(unit, "[Service]\n");
        cr_assert(eq(int, truncate(unit, (off_t) PORTABLE_SIZE_MAX_UNIT_FILE + 4096), 0));
        img = build("squashfs", tree, "huge.raw");

        _cleanup_(mount_result_done) struct mount_result res = mount_and_read(img, NULL);
        cr_assert(eq(int, res.r, -EFBIG), "%s", strna(res.error.message));
        cr_assert(not(zero(ptr, strstr(res.error.message ?: "", "huge.service"))), "%s", strna(res.error.message));
}

Test(image_reader, garbage_is_not_an_image) {
        _cleanup_free_ char *img = unit_strf("%s/garbage.raw", tmp), *buf = malloc(MIB);

        cr_assert(buf != NULL);
        for (size_t i = 0; i < MIB; i++)
                buf[i] = (char) ((i * 2654435761u) >> 11);
        unit_write_data(img, buf, MIB, 0644);

        _cleanup_(mount_result_done) struct mount_result res = mount_and_read(img, NULL);
        cr_assert(eq(int, res.r, -EMEDIUMTYPE));
        cr_assert(res.error.message != NULL);
}

Test(image_reader, truncated_squashfs) {
        _cleanup_free_ char *tree = fixture("foo"), *full = build("squashfs", tree, "full.squashfs"),
                            *img = unit_strf("%s/cut.raw", tmp), *data = unit_read(full);
        uint64_t bytes_used = 0;

        /* Cut in the middle of what the file system uses (the super block's bytes_used, at
         * offset 40; the file itself is padded): the super block survives, the tables at the
         * end do not. Probing succeeds, mounting or reading fails, and the loop device must
         * still go away. */
        cr_assert(not(zero(ptr, data)));
        for (int i = 7; i >= 0; i--)
                bytes_used = (bytes_used << 8) | (unsigned char) data[40 + i];
        cr_assert(gt(u64, bytes_used, 96));
        unit_write_data(img, data, (size_t) bytes_used / 2, 0644);

        _cleanup_(mount_result_done) struct mount_result res = mount_and_read(img, NULL);
        cr_assert(lt(int, res.r, 0));
        cr_assert(res.error.message != NULL);
}

Test(image_reader, unsupported_file_system) {
        _cleanup_free_ char *img = unit_strf("%s/swap.raw", tmp);

        if (!unit_have_program("mkswap"))
                cr_skip_test("mkswap is not installed");
        unit_write(img, "");
        cr_assert(eq(int, truncate(img, 4 * MIB), 0));
        cr_assert(eq(int, unit_run("mkswap -q '%s' >/dev/null 2>&1", img), 0));

        _cleanup_(mount_result_done) struct mount_result res = mount_and_read(img, NULL);
        cr_assert(eq(int, res.r, -EPROTONOSUPPORT));
}

Test(image_reader, image_deleted_before_read) {
        _cleanup_free_ char *tree = fixture("foo"), *img = build("squashfs", tree, "gone.raw");
        _cleanup_(image_freep) Image *image = NULL;
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        PortableMetadata *m = NULL;

        cr_assert(eq(int, image_from_path(img, &image), 0));
        cr_assert(eq(int, unlink(img), 0));
        cr_assert(eq(int, image_read_metadata(image, NULL, &m, &error), -ENOENT));
        cr_assert(zero(ptr, m));
}

Test(image_reader, many_reads_leave_nothing_behind) {
        _cleanup_free_ char *tree = fixture("pfx"), *img = build("erofs", tree, "pfx.raw");

        for (int i = 0; i < 5; i++) {
                _cleanup_(mount_result_done) struct mount_result res = mount_and_read(img, NULL);
                cr_assert(eq(int, res.r, 0));
                cr_assert(eq(sz, res.m->n_units, 3));
        }
}

Test(image_reader, missing_paths_reported) {
        _cleanup_free_ char *tree = fixture("foo"), *img = build("squashfs", tree, "foo.raw"), *joined = NULL;
        _cleanup_(image_freep) Image *image = NULL;
        _cleanup_(portable_metadata_freep) PortableMetadata *m = NULL;
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        char *check[] = { (char *) "/proc", (char *) "/usr/lib", (char *) "/etc/os-release", (char *) "/etc/machine-id", NULL };

        cr_assert(eq(int, image_from_path(img, &image), 0));
        cr_assert(eq(int, image_read_metadata_full(image, (char **) image_read_no_units, check, &m, &error), 0), "%s",
                  strna(error.message));
        /* /etc/os-release is an absolute link, resolved inside the mounted image. */
        joined = strv_join(m->missing, " ");
        assert_str(joined, "/proc /etc/machine-id");
        cr_assert(unit_wait_no_loop(img, 3000));
}

/* What was verified must be what was read: a raw image file that changes after the daemon opened
 * it is refused, however far the reader got. */
Test(image_reader, image_modified_while_read) {
        _cleanup_free_ char *tree = fixture("foo"), *img = build("squashfs", tree, "foo.raw");
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_(image_reader_freep) ImageReader *reader = NULL;
        _cleanup_(image_freep) Image *image = NULL;
        PortableMetadata *m = NULL;
        char *matches[] = { (char *) "foo", NULL };
        const ImageReadRequest request = { .matches = matches };
        struct timespec pause = { .tv_nsec = 20 * 1000 * 1000 };

        cr_assert(eq(int, image_from_path(img, &image), 0));
        cr_assert(eq(int, image_reader_start(image, &request, &reader, &error), 0), "%s", strna(error.message));
        /* The change time moves (timestamps are coarse: wait a little first). */
        (void) nanosleep(&pause, NULL);
        cr_assert(eq(int, chmod(img, 0600), 0));
        while (image_reader_process(reader) == 0)
                (void) nanosleep(&pause, NULL);

        cr_assert(eq(int, image_reader_result(reader, &m, &error), -ESTALE), "%s", strna(error.message));
        cr_assert(zero(ptr, m));
        cr_assert(not(zero(ptr, strstr(strempty(error.message), "was modified while it was being read"))), "%s",
                  error.message);
        cr_assert(unit_wait_no_loop(img, 3000));
}

/* ------------------------------------------------------ reader children that lie or fail */

/* image_reader_adopt() takes over a child we fork ourselves: the "reader" below runs the given
 * function instead of reading an image, and the ImageReader is driven exactly as the daemon
 * drives it (poll the socket and the pidfd, image_reader_process(), image_reader_result()).
 * What the daemon must make of each: the result, an error naming the image, and an end within
 * a few seconds whatever the child does (children that misbehave and then hang are killed). */

#define FAKE_IMAGE "/srv/fake_1.raw"

static void adopted_setup(void) {
        unit_skip_reader_tests_under_valgrind(); /* pidfd_open() */
}

TestSuite(image_reader_adopted, .init = adopted_setup, .timeout = 60);

typedef void (*FakeReader)(int sock);

static ImageReader *adopt_as(ImageType type, FakeReader fake) {
        const Image image = { .type = type, .name = (char *) "fake_1", .path = (char *) FAKE_IMAGE };
        static char *const matches[] = { (char *) "foo", NULL };
        const ImageReadRequest request = { .matches = matches };
        ImageReader *r = NULL;
        int pair[2], pidfd;
        pid_t pid;

        cr_assert(eq(int, socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, pair), 0));
        pid = fork();
        cr_assert(ge(int, pid, 0));
        if (pid == 0) {
                (void) prctl(PR_SET_PDEATHSIG, SIGKILL);
                close(pair[0]);
                fake(pair[1]);
                _exit(EXIT_SUCCESS);
        }
        close(pair[1]);
        pidfd = (int) syscall(SYS_pidfd_open, pid, 0);
        cr_assert(ge(int, pidfd, 0));
        cr_assert(eq(int, image_reader_adopt(&image, &request, pid, pidfd, pair[0], &r), 0));
        return r;
}

static ImageReader *adopt(FakeReader fake) {
        return adopt_as(IMAGE_RAW, fake);
}

static uint64_t now_ms(void) {
        struct timespec ts;

        cr_assert(eq(int, clock_gettime(CLOCK_MONOTONIC, &ts), 0));
        return (uint64_t) ts.tv_sec * 1000 + (uint64_t) ts.tv_nsec / 1000000;
}

/* Drives the read as the daemon's event loop does, for at most timeout_ms; false if it did not
 * end by then. */
static bool drive(ImageReader *r, unsigned timeout_ms) {
        uint64_t deadline = now_ms() + timeout_ms;

        for (;;) {
                struct pollfd p[2] = {
                        { .fd = image_reader_socket_fd(r), .events = POLLIN },
                        { .fd = image_reader_pidfd(r), .events = POLLIN },
                };
                uint64_t now = now_ms();

                if (image_reader_process(r) > 0)
                        return true;
                if (now >= deadline)
                        return false;
                cr_assert(ge(int, poll(p, 2, (int) (deadline - now)), 0));
        }
}

typedef struct AdoptedResult {
        int r;
        PortableMetadata *m;
        sd_bus_error error;
} AdoptedResult;

static void adopted_result_done(AdoptedResult *res) {
        res->m = portable_metadata_free(res->m);
        sd_bus_error_free(&res->error);
}

/* Runs a fake reader to its end, which must come within 5 s. */
static AdoptedResult run_fake(FakeReader fake) {
        _cleanup_(image_reader_freep) ImageReader *r = adopt(fake);
        AdoptedResult res = { .error = SD_BUS_ERROR_NULL };

        cr_assert(drive(r, 5000), "the read did not end: the daemon would wait for a child that lies");
        res.r = image_reader_result(r, &res.m, &res.error);
        if (res.r < 0)
                cr_assert(zero(ptr, res.m));
        return res;
}

static void assert_failed(const AdoptedResult *res, int err, const char *message) {
        cr_assert(eq(int, res->r, -err), "expected -%s, got %d (%s)", strerrorname_np(err), res->r,
                  strna(res->error.message));
        cr_assert(not(zero(ptr, strstr(strempty(res->error.message), message))), "expected '%s' in: %s", message,
                  strna(res->error.message));
        cr_assert(not(zero(ptr, strstr(strempty(res->error.message), "Image '" FAKE_IMAGE "'"))),
                  "the error does not name the image: %s", strna(res->error.message));
}

static void send_os_release(int sock) {
        static const char data[] = "ID=fake\n";

        if (reader_send_file(sock, READER_OS_RELEASE, "/usr/lib/os-release", NULL, data, strlen(data)) < 0)
                _exit(EXIT_FAILURE);
}

static void send_unit(int sock, const char *name, const char *source) {
        static const char data[] = "[Service]\nExecStart=/bin/true\n";

        if (reader_send_file(sock, READER_UNIT, name, source, data, strlen(data)) < 0)
                _exit(EXIT_FAILURE);
}

static void send_done(int sock) {
        if (reader_send(sock, READER_DONE, NULL, -EBADF) < 0)
                _exit(EXIT_FAILURE);
}

_noreturn_ static void hang(void) {
        for (;;)
                pause();
}

static void honest(int sock) {
        send_os_release(sock);
        send_unit(sock, "foo.service", "usr/lib/systemd/system/foo.service");
        send_done(sock);
}

Test(image_reader_adopted, honest_child) {
        _cleanup_(adopted_result_done) AdoptedResult res = run_fake(honest);

        cr_assert(eq(int, res.r, 0), "%s", strna(res.error.message));
        assert_str(res.m->os_release.data, "ID=fake\n");
        cr_assert(eq(sz, res.m->n_units, 1));
        assert_str(res.m->units[0].name, "foo.service");
        /* A source is only believed once it is found in a directory image we opened ourselves. */
        cr_assert(zero(ptr, res.m->units[0].source));
}

static void lies_about_units(int sock) {
        send_os_release(sock);
        send_unit(sock, "bar.service", "");
        send_done(sock);
        hang();
}

Test(image_reader_adopted, child_sending_units_not_asked_for) {
        _cleanup_(adopted_result_done) AdoptedResult res = run_fake(lies_about_units);

        assert_failed(&res, EBADMSG, "the image reader sent a unit that was not asked for");
}

static void sends_pipe(int sock) {
        int p[2];

        /* The write end stays open here: a daemon that read the pipe would wait for ever. */
        if (pipe2(p, O_CLOEXEC) < 0 || write(p[1], "[Service]\n", 10) != 10)
                _exit(EXIT_FAILURE);
        send_os_release(sock);
        if (reader_send(sock, READER_UNIT, (const char *const[]) { "foo.service", "", NULL }, p[0]) < 0)
                _exit(EXIT_FAILURE);
        send_done(sock);
        hang();
}

Test(image_reader_adopted, child_sending_a_pipe) {
        _cleanup_(adopted_result_done) AdoptedResult res = run_fake(sends_pipe);

        assert_failed(&res, EBADMSG, "sent foo.service as something other than a memory file");
}

static void sends_writable_memfd(int sock) {
        int fd = memfd_create("foo.service", MFD_CLOEXEC | MFD_ALLOW_SEALING);

        /* Sealed against growing and shrinking, but writable: it could change after the check. */
        if (fd < 0 || write(fd, "[Service]\n", 10) != 10 || fcntl(fd, F_ADD_SEALS, F_SEAL_GROW | F_SEAL_SHRINK) < 0)
                _exit(EXIT_FAILURE);
        send_os_release(sock);
        if (reader_send(sock, READER_UNIT, (const char *const[]) { "foo.service", "", NULL }, fd) < 0)
                _exit(EXIT_FAILURE);
        send_done(sock);
        hang();
}

Test(image_reader_adopted, child_sending_a_writable_file) {
        _cleanup_(adopted_result_done) AdoptedResult res = run_fake(sends_writable_memfd);

        assert_failed(&res, EBADMSG, "sent foo.service in a file that is not sealed");
}

static void reports_missing_paths_not_asked_about(int sock) {
        send_os_release(sock);
        if (reader_send(sock, READER_MISSING, (const char *const[]) { "/etc/machine-id", NULL }, -EBADF) < 0)
                _exit(EXIT_FAILURE);
        send_done(sock);
}

Test(image_reader_adopted, child_reporting_paths_not_asked_about) {
        _cleanup_(adopted_result_done) AdoptedResult res = run_fake(reports_missing_paths_not_asked_about);

        assert_failed(&res, EBADMSG, "reported a path that was not asked about");
}

static void says_more_after_done(int sock) {
        send_os_release(sock);
        send_done(sock);
        send_unit(sock, "foo.service", "");
}

Test(image_reader_adopted, child_sending_more_after_done) {
        _cleanup_(adopted_result_done) AdoptedResult res = run_fake(says_more_after_done);

        assert_failed(&res, EBADMSG, "sent more after it was done");
}

static void breaks_the_sandbox(int sock) {
        if (reader_sandbox_lock_down(NULL) < 0)
                _exit(100);
        /* Not on the allow-list: the filter kills the process. */
        (void) socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        send_os_release(sock);
        send_done(sock);
}

Test(image_reader_adopted, child_killed_by_the_seccomp_filter) {
        if (geteuid() != 0)
                cr_skip_test("the lock-down drops capabilities only root has");
#if HAVE_VALGRIND_VALGRIND_H
        if (RUNNING_ON_VALGRIND)
                cr_skip_test("the seccomp filter is not installed under valgrind");
#endif
        _cleanup_(adopted_result_done) AdoptedResult res = run_fake(breaks_the_sandbox);

        assert_failed(&res, ECHILD, "the image reader was killed by signal SIGSYS");
        cr_assert(not(zero(ptr, strstr(res.error.message, "system call the reader may not make"))), "%s",
                  res.error.message);
}

static void crashes(int sock) {
        send_os_release(sock);
        /* SIGABRT rather than SIGSEGV, which AddressSanitizer would turn into its own report. */
        (void) raise(SIGABRT);
}

Test(image_reader_adopted, child_crashing) {
        _cleanup_(adopted_result_done) AdoptedResult res = run_fake(crashes);

        assert_failed(&res, ECHILD, "the image reader was killed by signal SIGABRT (it crashed)");
}

static void quits_without_done(int sock) {
        send_os_release(sock);
        send_unit(sock, "foo.service", "");
}

Test(image_reader_adopted, child_exiting_without_done) {
        _cleanup_(adopted_result_done) AdoptedResult res = run_fake(quits_without_done);

        assert_failed(&res, EPIPE, "the image reader failed without saying why (exit status 0)");
}

static void done_but_failing(int sock) {
        send_os_release(sock);
        send_done(sock);
        _exit(3);
}

Test(image_reader_adopted, child_saying_done_but_failing) {
        _cleanup_(adopted_result_done) AdoptedResult res = run_fake(done_but_failing);

        assert_failed(&res, EPIPE, "the image reader failed without saying why (exit status 3)");
}

static void hangs_up_and_lingers(int sock) {
        send_os_release(sock);
        close(sock);
        hang();
}

/* A child that hung up is left to end by itself (its end is what it has to say); one that does
 * not end is the caller's timeout to deal with. */
Test(image_reader_adopted, child_hanging_up_and_lingering) {
        _cleanup_(image_reader_freep) ImageReader *r = adopt(hangs_up_and_lingers);
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        PortableMetadata *m = NULL;

        cr_assert(not(drive(r, 300)));
        image_reader_kill(r, "reading took longer than 0.3 s");
        cr_assert(drive(r, 5000));
        cr_assert(eq(int, image_reader_result(r, &m, &error), -ETIMEDOUT));
        assert_str(error.message, "Image '" FAKE_IMAGE "': reading took longer than 0.3 s.");
}

static void answers_then_lingers(int sock) {
        honest(sock);
        close(sock);
        hang();
}

/* A directory reader that said all and hung up is done, whatever it does next: nothing of the
 * host waits for its exit. The child is handed over to be reaped, and killed. */
Test(image_reader_adopted, directory_reader_is_done_once_it_said_all_and_hung_up) {
        _cleanup_(image_reader_freep) ImageReader *r = adopt_as(IMAGE_DIRECTORY, answers_then_lingers);
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_(portable_metadata_freep) PortableMetadata *m = NULL;
        _cleanup_close_ int pidfd = -EBADF;
        siginfo_t si = {};

        cr_assert(drive(r, 5000), "a complete answer waited for the child's exit");
        cr_assert(eq(int, image_reader_result(r, &m, &error), 0), "%s", strna(error.message));
        assert_str(m->os_release.data, "ID=fake\n");
        cr_assert(eq(sz, m->n_units, 1));

        pidfd = image_reader_take_child(r);
        cr_assert(ge(int, pidfd, 0), "the lingering child was not handed over");
        cr_assert(eq(int, waitid(P_PIDFD, (id_t) pidfd, &si, WEXITED), 0));
        cr_assert(eq(int, si.si_code, CLD_KILLED), "the child was not killed");
        cr_assert(eq(int, image_reader_take_child(r), -EBADF), "handed over twice");
}

/* A raw image's reader holds a loop device until it is gone: its answer waits for the exit. */
Test(image_reader_adopted, raw_reader_is_done_only_once_it_exited) {
        _cleanup_(image_reader_freep) ImageReader *r = adopt(answers_then_lingers);

        cr_assert(not(drive(r, 300)), "the answer did not wait for the child to exit");
}

static void hangs_up_and_dies(int sock) {
        send_os_release(sock);
        close(sock);
        usleep(200 * 1000);
        (void) raise(SIGXCPU);
}

Test(image_reader_adopted, child_hanging_up_then_killed_by_a_signal) {
        _cleanup_(adopted_result_done) AdoptedResult res = run_fake(hangs_up_and_dies);

        assert_failed(&res, ECHILD, "the image reader was killed by signal SIGXCPU (it used too much CPU time)");
}

static void reports_an_error(int sock) {
        _cleanup_(sd_bus_error_free) sd_bus_error e = SD_BUS_ERROR_NULL;

        send_os_release(sock);
        reader_send_error(sock, portable_error(&e, ENOENT, SD_BUS_ERROR_INVALID_ARGS,
                                               "Image '%s': no os-release found.", FAKE_IMAGE), &e);
        hang();
}

Test(image_reader_adopted, child_reporting_an_error) {
        _cleanup_(adopted_result_done) AdoptedResult res = run_fake(reports_an_error);

        assert_failed(&res, ENOENT, "no os-release found.");
        assert_str(res.error.name, SD_BUS_ERROR_INVALID_ARGS);
}

static void hangs_silently(int sock) {
        hang();
}

Test(image_reader_adopted, child_hanging_is_killed_with_the_reason) {
        _cleanup_(image_reader_freep) ImageReader *r = adopt(hangs_silently);
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        PortableMetadata *m = NULL;

        cr_assert(not(drive(r, 200)));
        cr_assert(eq(int, image_reader_result(r, &m, &error), -EBUSY), "a result before the child is gone");
        image_reader_kill(r, "reading took longer than 0.2 s");
        cr_assert(drive(r, 5000));
        cr_assert(eq(int, image_reader_result(r, &m, &error), -ETIMEDOUT));
        assert_str(error.message, "Image '" FAKE_IMAGE "': reading took longer than 0.2 s.");
        cr_assert(zero(ptr, m));
}

/* ------------------------------------------------------------- the real reader, killed */

/* The pid behind a pidfd, from its fdinfo. */
static pid_t pid_of_pidfd(int pidfd) {
        _cleanup_free_ char *path = unit_strf("/proc/self/fdinfo/%i", pidfd), *info = unit_read(path);
        const char *p = info ? strstr(info, "\nPid:\t") : NULL;

        cr_assert(not(zero(ptr, (void *) p)), "no Pid: in %s", path);
        return (pid_t) atoi(p + strlen("\nPid:\t"));
}

/* The reader is forked straight into its own PID namespace, whose pid 1 it is; when it is killed
 * by a signal, the daemon must hear of that signal, not of an exit status. It is caught while it
 * works, which may take a few tries. */
Test(image_reader, killed_reader_is_reported_with_its_signal) {
        _cleanup_free_ char *tree = fixture("foo");
        _cleanup_(image_freep) Image *image = NULL;
        bool caught = false;

        cr_assert(eq(int, image_from_path(tree, &image), 0));
        for (int attempt = 0; attempt < 50 && !caught; attempt++) {
                _cleanup_(image_reader_freep) ImageReader *r = NULL;
                _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
                _cleanup_(portable_metadata_freep) PortableMetadata *m = NULL;
                const ImageReadRequest request = {};

                cr_assert(eq(int, image_reader_start(image, &request, &r, &error), 0), "%s", strna(error.message));
                (void) kill(pid_of_pidfd(image_reader_pidfd(r)), SIGKILL);

                cr_assert(drive(r, 10000));
                if (image_reader_result(r, &m, &error) >= 0)
                        continue; /* it was done before we got to it */
                cr_assert(not(zero(ptr, strstr(strempty(error.message), "the image reader was killed by signal SIGKILL"))),
                          "%s", strna(error.message));
                cr_assert(not(zero(ptr, strstr(error.message, tree))), "%s", error.message);
                caught = true;
        }
        cr_assert(caught, "the reader was never caught at work");
}

/* ----------------------------------------------------------------- images with many units */

/* A directory image with n unit files many-<i>.service. */
static char *many_units_tree(const char *name, unsigned n) {
        char *tree = unit_strf("%s/%s", tmp, name);
        _cleanup_free_ char *osrel = unit_strf("%s/usr/lib/os-release", tree);

        unit_write(osrel, "ID=many\n");
        for (unsigned i = 0; i < n; i++) {
                _cleanup_free_ char *unit = unit_strf("%s/usr/lib/systemd/system/many-%u.service", tree, i);
                unit_write(unit, "[Service]\nExecStart=/bin/true\n");
        }
        return tree;
}

/* As many unit files as an image may have: more than the reader may have open or in flight at
 * once (its RLIMIT_NOFILE), and enough for qsort() to ask the kernel how much memory there is. */
Test(image_reader, as_many_units_as_allowed) {
        _cleanup_free_ char *tree = many_units_tree("many", PORTABLE_UNITS_MAX);
        _cleanup_(image_freep) Image *image = NULL;
        _cleanup_(portable_metadata_freep) PortableMetadata *m = NULL;
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;

        cr_assert(eq(int, image_from_path(tree, &image), 0));
        cr_assert(eq(int, image_read_metadata(image, NULL, &m, &error), 0), "%s", strna(error.message));
        cr_assert(eq(sz, m->n_units, PORTABLE_UNITS_MAX));
        assert_str(m->units[0].name, "many-0.service");
}

/* Readers at work side by side: the files in flight count for all processes of the user
 * together, so each must wait for its receiver rather than fail. */
Test(image_reader, readers_side_by_side) {
        _cleanup_free_ char *tree = many_units_tree("many", 200);
        _cleanup_(image_freep) Image *image = NULL;
        ImageReader *readers[4] = {};
        bool done[ELEMENTSOF(readers)] = {};
        const ImageReadRequest request = {};
        uint64_t deadline = now_ms() + 20000;
        size_t n_done = 0;

        cr_assert(eq(int, image_from_path(tree, &image), 0));
        for (size_t i = 0; i < ELEMENTSOF(readers); i++) {
                _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
                cr_assert(eq(int, image_reader_start(image, &request, &readers[i], &error), 0), "%s", strna(error.message));
        }
        /* All four send at once; each is drained a little at a time. */
        while (n_done < ELEMENTSOF(readers)) {
                cr_assert(lt(u64, now_ms(), deadline), "the readers did not finish");
                for (size_t i = 0; i < ELEMENTSOF(readers); i++)
                        if (!done[i] && image_reader_process(readers[i]) > 0) {
                                _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
                                _cleanup_(portable_metadata_freep) PortableMetadata *m = NULL;

                                cr_assert(eq(int, image_reader_result(readers[i], &m, &error), 0), "reader %zu: %s", i,
                                          strna(error.message));
                                cr_assert(eq(sz, m->n_units, 200));
                                readers[i] = image_reader_free(readers[i]);
                                done[i] = true;
                                n_done++;
                        }
                (void) usleep(1000);
        }
}


/* Sends n descriptors (of /dev/null) into sock in messages of at most 200. */
static void send_descriptors(int sock, size_t n) {
        while (n > 0) {
                size_t k = MIN(n, (size_t) 200);
                union {
                        struct cmsghdr h;
                        uint8_t buf[CMSG_SPACE(sizeof(int) * 200)];
                } control = {};
                struct iovec iov = { .iov_base = (char[]) { 'x' }, .iov_len = 1 };
                struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = &control,
                                     .msg_controllen = CMSG_SPACE(sizeof(int) * k) };
                struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
                int null_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);

                cr_assert(null_fd >= 0);
                c->cmsg_level = SOL_SOCKET;
                c->cmsg_type = SCM_RIGHTS;
                c->cmsg_len = CMSG_LEN(sizeof(int) * k);
                for (size_t i = 0; i < k; i++)
                        memcpy(CMSG_DATA(c) + i * sizeof(int), &null_fd, sizeof(int));
                cr_assert(eq(int, (int) sendmsg(sock, &mh, 0), 1));
                safe_close(null_fd);
                n -= k;
        }
}

/* The kernel refuses to pass a descriptor while more of the user's are in flight, system-wide,
 * than the sender's RLIMIT_NOFILE, which in the reader is 64: root processes elsewhere passing
 * descriptors must delay a read, not fail it. Here a helper with every capability (so not limited
 * itself) keeps 300 in flight for a moment. */
Test(image_reader, descriptors_in_flight_elsewhere_delay_the_read) {
        _cleanup_free_ char *tree = fixture("foo");
        _cleanup_(image_freep) Image *image = NULL;
        _cleanup_(portable_metadata_freep) PortableMetadata *m = NULL;
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        int pair[2], ready[2];
        char c;
        pid_t pid;

        cr_assert(eq(int, socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, pair), 0));
        cr_assert(eq(int, pipe2(ready, O_CLOEXEC), 0));
        pid = fork();
        cr_assert(pid >= 0);
        if (pid == 0) {
                struct timespec hold = { .tv_nsec = 200 * 1000 * 1000 };

                send_descriptors(pair[0], 300);
                (void) write(ready[1], "x", 1);
                (void) nanosleep(&hold, NULL);
                _exit(0); /* closing both ends drops what is in flight */
        }
        safe_close(pair[0]);
        safe_close(pair[1]);
        safe_close(ready[1]);
        cr_assert(eq(int, (int) read(ready[0], &c, 1), 1));
        safe_close(ready[0]);

        cr_assert(eq(int, image_from_path(tree, &image), 0));
        cr_assert(eq(int, image_read_metadata(image, NULL, &m, &error), 0), "%s", strna(error.message));
        cr_assert(gt(sz, m->n_units, 0));
        cr_assert(eq(int, waitpid(pid, NULL, 0), pid));
}

/* ------------------------------------------------------------------------- metadata cache */

/* Reads path with request; says whether the answer came from the cache. */
static PortableMetadata *read_cached(const char *path, const ImageReadRequest *request, bool *ret_from_cache) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_(image_reader_freep) ImageReader *reader = NULL;
        _cleanup_(image_freep) Image *image = NULL;
        struct timespec pause = { .tv_nsec = 1000 * 1000 };
        PortableMetadata *m = NULL;

        cr_assert(eq(int, image_from_path(path, &image), 0));
        cr_assert(eq(int, image_reader_start(image, request, &reader, &error), 0), "%s", strna(error.message));
        *ret_from_cache = image_reader_from_cache(reader);
        if (*ret_from_cache) {
                cr_assert(eq(int, image_reader_socket_fd(reader), -EBADF));
                cr_assert(eq(int, image_reader_pidfd(reader), -EBADF));
                cr_assert(eq(int, image_reader_process(reader), 1), "done at once");
        }
        while (image_reader_process(reader) == 0)
                (void) nanosleep(&pause, NULL);
        cr_assert(eq(int, image_reader_result(reader, &m, &error), 0), "%s", strna(error.message));
        return m;
}

static void assert_same_metadata(const PortableMetadata *a, const PortableMetadata *b) {
        assert_str(a->os_release.data, b->os_release.data);
        cr_assert(eq(sz, a->n_units, b->n_units));
        for (size_t i = 0; i < a->n_units; i++) {
                assert_str(a->units[i].name, b->units[i].name);
                assert_str(a->units[i].data, b->units[i].data);
        }
        cr_assert(eq(sz, strv_length(a->warnings), strv_length(b->warnings)));
        cr_assert(eq(sz, strv_length(a->missing), strv_length(b->missing)));
        cr_assert(not(zero(ptr, b->layout)));
        assert_str(a->layout->partitions[0].fstype, b->layout->partitions[0].fstype);
}

/* An unchanged raw image read again with the same request is answered from the cache, with the
 * same answer; any other request, or any change of the file, is read again. */
Test(image_reader, unchanged_raw_image_is_not_read_again) {
        _cleanup_free_ char *tree = fixture("foo"), *img = build("squashfs", tree, "foo.raw");
        _cleanup_(metadata_cache_freep) MetadataCache *cache = metadata_cache_new(0, 0);
        char *foo[] = { (char *) "foo", NULL }, *check[] = { (char *) "/proc", NULL };
        ImageReadRequest request = { .matches = foo, .metadata_cache = cache };
        _cleanup_(portable_metadata_freep) PortableMetadata *first = NULL, *again = NULL, *other = NULL,
                                                            *checked = NULL, *touched = NULL, *after = NULL;
        struct timespec times[2] = { { .tv_nsec = UTIME_NOW }, { .tv_nsec = UTIME_NOW } };
        bool from_cache;

        first = read_cached(img, &request, &from_cache);
        cr_assert(not(from_cache));
        cr_assert(eq(sz, metadata_cache_size(cache), 1));
        again = read_cached(img, &request, &from_cache);
        cr_assert(from_cache);
        assert_same_metadata(first, again);

        request.matches = NULL;
        other = read_cached(img, &request, &from_cache);
        cr_assert(not(from_cache), "other matches");
        cr_assert(gt(sz, other->n_units, first->n_units));

        request.matches = foo;
        request.check_paths = check;
        checked = read_cached(img, &request, &from_cache);
        cr_assert(not(from_cache), "other paths to check");
        request.check_paths = NULL;

        /* Any write changes the change time: a touch is enough. */
        cr_assert(eq(int, utimensat(AT_FDCWD, img, times, 0), 0));
        touched = read_cached(img, &request, &from_cache);
        cr_assert(not(from_cache), "the file changed");
        after = read_cached(img, &request, &from_cache);
        cr_assert(from_cache, "and is cached as it is now");
        cr_assert(unit_wait_no_loop(img, 3000));
}

/* A raw image with verity data next to it is never answered from the cache: what it gives
 * depends on the host's keys and on verification. */
Test(image_reader, image_with_verity_data_is_not_cached) {
        _cleanup_free_ char *tree = fixture("foo"), *img = build("squashfs", tree, "foo.raw"),
                            *sidecar = unit_strf("%s/foo.roothash", tmp);
        _cleanup_(metadata_cache_freep) MetadataCache *cache = metadata_cache_new(0, 0);
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_(image_reader_freep) ImageReader *reader = NULL;
        _cleanup_(portable_metadata_freep) PortableMetadata *first = NULL;
        _cleanup_(image_freep) Image *image = NULL;
        const ImageReadRequest request = { .metadata_cache = cache };
        bool from_cache;

        first = read_cached(img, &request, &from_cache);
        cr_assert(eq(sz, metadata_cache_size(cache), 1));

        /* Now it claims a root hash: it must be read (and here fail, it has no hash tree). */
        unit_write(sidecar, "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\n");
        cr_assert(eq(int, image_from_path(img, &image), 0));
        cr_assert(eq(int, image_reader_start(image, &request, &reader, &error), 0), "%s", strna(error.message));
        cr_assert(not(image_reader_from_cache(reader)));
        cr_assert(ge(int, image_reader_socket_fd(reader), 0));
        reader = image_reader_free(reader);
        cr_assert(unit_wait_no_loop(img, 3000));
}

/* Directory images are always read: a change deep inside shows in no time stamp of theirs. */
Test(image_reader, directory_image_is_not_cached) {
        _cleanup_free_ char *tree = fixture("foo"), *dir = unit_strf("%s/foo", tmp);
        _cleanup_(metadata_cache_freep) MetadataCache *cache = metadata_cache_new(0, 0);
        _cleanup_(portable_metadata_freep) PortableMetadata *first = NULL, *again = NULL;
        const ImageReadRequest request = { .metadata_cache = cache };
        bool from_cache;

        unit_copy_tree(tree, dir);
        first = read_cached(dir, &request, &from_cache);
        cr_assert(not(from_cache));
        again = read_cached(dir, &request, &from_cache);
        cr_assert(not(from_cache));
        cr_assert(eq(sz, metadata_cache_size(cache), 0));
}

/* The reader is pid 1 of a PID namespace of its own, started by one fork; the processes we start
 * afterwards are in ours again. */
Test(image_reader, reader_is_pid_1_of_its_own_pid_namespace) {
        _cleanup_free_ char *tree = fixture("foo"), *status = NULL, *status_path = NULL, *own = NULL,
                            *for_children = NULL;
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_(image_reader_freep) ImageReader *reader = NULL;
        _cleanup_(image_freep) Image *image = NULL;
        const ImageReadRequest request = {};
        const char *nspid;
        pid_t pid;

        cr_assert(eq(int, image_from_path(tree, &image), 0));
        cr_assert(eq(int, image_reader_start(image, &request, &reader, &error), 0), "%s", strna(error.message));
        pid = pid_of_pidfd(image_reader_pidfd(reader));

        /* Readable as long as it is not reaped, zombie or not: its pid here, then 1 in its own. */
        status_path = unit_strf("/proc/%d/status", (int) pid);
        status = unit_read(status_path);
        nspid = status ? strstr(status, "\nNSpid:\t") : NULL;
        cr_assert(not(zero(ptr, (void *) nspid)));
        {
                _cleanup_free_ char *expected = unit_strf("\nNSpid:\t%d\t1\n", (int) pid);
                cr_assert(eq(int, strncmp(nspid, expected, strlen(expected)), 0), "%.40s", nspid);
        }

        own = unit_readlink("/proc/self/ns/pid");
        for_children = unit_readlink("/proc/self/ns/pid_for_children");
        assert_str(for_children, own);
}
