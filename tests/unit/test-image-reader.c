/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <criterion/criterion.h>
#include <criterion/new/assert.h>
#include <fcntl.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
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
#include "strv.h"
#include "unit-helpers.h"

/* Raw images are built at test time from the fixture trees into the test's private directory.
 * After every read, no loop device may remain bound to the image file and nothing may stay
 * mounted in our namespace. */

static char *tmp;

static void setup(void) {
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

/* The pid a pidfd refers to, from its fdinfo. */
static pid_t pid_of_pidfd(int pidfd) {
        _cleanup_free_ char *path = unit_strf("/proc/self/fdinfo/%d", pidfd), *info = unit_read(path);
        const char *p = info ? strstr(info, "\nPid:\t") : NULL;

        cr_assert(not(zero(ptr, (void *) p)), "%s", strna(info));
        return (pid_t) atoi(p + strlen("\nPid:\t"));
}

static char *ns_link(const char *path) {
        char buf[128];
        ssize_t n = readlink(path, buf, sizeof(buf) - 1);

        cr_assert(gt(sz, (size_t) (n > 0 ? n : 0), 0), "readlink(%s)", path);
        buf[n] = '\0';
        return strdup(buf);
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

        own = ns_link("/proc/self/ns/pid");
        for_children = ns_link("/proc/self/ns/pid_for_children");
        assert_str(for_children, own);
}
