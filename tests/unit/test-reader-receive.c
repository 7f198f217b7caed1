/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <criterion/criterion.h>
#include <criterion/new/assert.h>
#include <fcntl.h>
#include <poll.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fd-util.h"
#include "portable-limits.h"
#include "reader-protocol.h"
#include "reader-receive.h"
#include "strv.h"
#include "unit-helpers.h"

/* The daemon's side of the reader protocol, fed messages by hand as a subverted child could send
 * them: the layout of raw images (P, V, L) must come first, complete and consistent, and nothing
 * of it may come after L. */

#define HASH "3f2b0c1d4e5f60718293a4b5c6d7e8f90112233445566778899aabbccddeeff0"
#define OTHER_HASH "0000000000000000000000000000000000000000000000000000000000000001"

TestSuite(reader_receive);

/* A message of type with the NUL-terminated fields (NULL-terminated list). */
static int send_msg(ReaderReceiver *rr, char type, const char *const *fields, int fd, sd_bus_error *error) {
        char buf[READER_MESSAGE_MAX];
        size_t n = 1;

        buf[0] = type;
        for (const char *const *f = fields; f && *f; f++) {
                size_t k = strlen(*f) + 1;

                cr_assert(n + k <= sizeof(buf));
                memcpy(buf + n, *f, k);
                n += k;
        }
        return reader_receiver_handle(rr, buf, n, fd, error);
}

#define MSG(rr, type, error, ...) send_msg(rr, type, (const char *const[]) { __VA_ARGS__, NULL }, -EBADF, error)

static int sealed_memfd(const char *text) {
        int fd = memfd_create("t", MFD_CLOEXEC | MFD_ALLOW_SEALING);

        cr_assert(fd >= 0);
        cr_assert(eq(long, (long) write(fd, text, strlen(text)), (long) strlen(text)));
        cr_assert(eq(int, fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL), 0));
        return fd;
}

static int send_os_release(ReaderReceiver *rr, sd_bus_error *error) {
        return send_msg(rr, READER_OS_RELEASE, (const char *const[]) { "/usr/lib/os-release", NULL },
                        sealed_memfd("ID=test\n"), error);
}

static ReaderReceiver *raw_receiver(const VerityIdentity *cached, const uint64_t *covered, size_t n) {
        ReaderReceiver *rr;

        cr_assert(eq(int, reader_receiver_new("/x/img.raw", NULL, NULL, &rr), 0));
        cr_assert(eq(int, reader_receiver_expect_layout(rr, 1024 * 1024, cached, covered, n), 0));
        return rr;
}

/* Expects a violation of the protocol naming the image and containing needle. */
static void assert_violation(int r, sd_bus_error *error, const char *needle) {
        cr_assert(eq(int, r, -EBADMSG), "got %d (%s)", r, strna(error->message));
        cr_assert(not(zero(ptr, strstr(strempty(error->message), "'/x/img.raw'"))), "%s", error->message);
        cr_assert(not(zero(ptr, strstr(error->message, needle))), "'%s' not in: %s", needle, error->message);
        sd_bus_error_free(error);
}

Test(reader_receive, good_sequence) {
        _cleanup_(reader_receiver_freep) ReaderReceiver *rr = raw_receiver(NULL, NULL, 0);
        _cleanup_(portable_metadata_freep) PortableMetadata *m = NULL;
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        const ReaderVerified *v;
        size_t n;

        cr_assert(eq(int, MSG(rr, READER_PARTITION, &error, "root", "squashfs", "signed", "trusted", HASH), 0));
        cr_assert(eq(int, MSG(rr, READER_PARTITION, &error, "usr", "erofs", "unprotected", "unsigned", ""), 0));
        cr_assert(eq(int, MSG(rr, READER_VERIFIED, &error, "root", "4096", HASH, "8192", "checked"), 0), "%s",
                  strna(error.message));
        cr_assert(eq(int, MSG(rr, READER_LAYOUT, &error, "root=signed+squashfs:usr=erofs:=absent"), 0));
        cr_assert(eq(int, send_os_release(rr, &error), 0), "%s", strna(error.message));
        cr_assert(eq(int, MSG(rr, READER_DONE, &error, NULL), 1), "%s", strna(error.message));

        v = reader_receiver_verified(rr, &n);
        cr_assert(eq(sz, n, 1));
        cr_assert(eq(int, v[0].designator, PARTITION_ROOT));
        cr_assert(eq(u64, v[0].offset, 4096));
        cr_assert(eq(u64, v[0].covered, 8192));
        cr_assert(eq(sz, v[0].root_hash_size, 32));
        cr_assert(not(v[0].cached));

        m = reader_receiver_steal(rr);
        cr_assert(not(zero(ptr, m)));
        cr_assert(not(zero(ptr, m->layout)));
        assert_str(m->layout->pinned_policy, "root=signed+squashfs:usr=erofs:=absent");
        assert_str(m->layout->partitions[PARTITION_ROOT].root_hash, HASH);
        cr_assert(m->layout->partitions[PARTITION_ROOT].verified);
        cr_assert(eq(int, m->layout->partitions[PARTITION_ROOT].signature, VERITY_SIGNATURE_TRUSTED));
        cr_assert(not(m->layout->partitions[PARTITION_USR].verified));
        assert_str(m->layout->partitions[PARTITION_USR].fstype, "erofs");
}

Test(reader_receive, nothing_before_the_layout) {
        _cleanup_(reader_receiver_freep) ReaderReceiver *rr = raw_receiver(NULL, NULL, 0);
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;

        assert_violation(send_os_release(rr, &error), &error, "before it reported the image's layout");
}

Test(reader_receive, done_before_the_layout) {
        _cleanup_(reader_receiver_freep) ReaderReceiver *rr = raw_receiver(NULL, NULL, 0);
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;

        cr_assert(eq(int, MSG(rr, READER_PARTITION, &error, "root", "squashfs", "unprotected", "unsigned", ""), 0));
        assert_violation(MSG(rr, READER_DONE, &error, NULL), &error, "before it reported the image's layout");
}

Test(reader_receive, nothing_of_the_layout_after_it) {
        _cleanup_(reader_receiver_freep) ReaderReceiver *rr = raw_receiver(NULL, NULL, 0);
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;

        cr_assert(eq(int, MSG(rr, READER_PARTITION, &error, "root", "squashfs", "verity", "unsigned", HASH), 0));
        cr_assert(eq(int, MSG(rr, READER_VERIFIED, &error, "root", "0", HASH, "8192", "checked"), 0));
        cr_assert(eq(int, MSG(rr, READER_LAYOUT, &error, "root=verity+squashfs:=absent"), 0));
        /* What a child subverted by the file system it mounted might say. */
        assert_violation(MSG(rr, READER_VERIFIED, &error, "usr", "0", HASH, "8192", "checked"), &error,
                         "after it mounted the image");
}

Test(reader_receive, no_partition_after_the_layout) {
        _cleanup_(reader_receiver_freep) ReaderReceiver *rr = raw_receiver(NULL, NULL, 0);
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;

        cr_assert(eq(int, MSG(rr, READER_PARTITION, &error, "root", "squashfs", "unprotected", "unsigned", ""), 0));
        cr_assert(eq(int, MSG(rr, READER_LAYOUT, &error, "root=squashfs:=absent"), 0));
        assert_violation(MSG(rr, READER_PARTITION, &error, "usr", "squashfs", "unprotected", "unsigned", ""), &error,
                         "after it mounted the image");
}

Test(reader_receive, protected_partitions_must_be_verified_before_mounting) {
        _cleanup_(reader_receiver_freep) ReaderReceiver *rr = raw_receiver(NULL, NULL, 0);
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;

        cr_assert(eq(int, MSG(rr, READER_PARTITION, &error, "root", "squashfs", "verity", "untrusted", HASH), 0));
        assert_violation(MSG(rr, READER_LAYOUT, &error, "root=verity+squashfs:=absent"), &error,
                         "did not verify the root partition");
}

Test(reader_receive, verification_only_of_what_was_announced) {
        _cleanup_(reader_receiver_freep) ReaderReceiver *a = raw_receiver(NULL, NULL, 0), *b = raw_receiver(NULL, NULL, 0),
                                         *c = raw_receiver(NULL, NULL, 0), *d = raw_receiver(NULL, NULL, 0);
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;

        /* Not announced at all. */
        assert_violation(MSG(a, READER_VERIFIED, &error, "root", "0", HASH, "8192", "checked"), &error, "not due");

        /* Announced as unprotected. */
        cr_assert(eq(int, MSG(b, READER_PARTITION, &error, "root", "squashfs", "unprotected", "unsigned", ""), 0));
        assert_violation(MSG(b, READER_VERIFIED, &error, "root", "0", HASH, "8192", "checked"), &error, "not due");

        /* Against another root hash. */
        cr_assert(eq(int, MSG(c, READER_PARTITION, &error, "root", "squashfs", "verity", "unsigned", HASH), 0));
        assert_violation(MSG(c, READER_VERIFIED, &error, "root", "0", OTHER_HASH, "8192", "checked"), &error,
                         "another root hash");

        /* Twice. */
        cr_assert(eq(int, MSG(d, READER_PARTITION, &error, "root", "squashfs", "verity", "unsigned", HASH), 0));
        cr_assert(eq(int, MSG(d, READER_VERIFIED, &error, "root", "0", HASH, "8192", "checked"), 0));
        assert_violation(MSG(d, READER_VERIFIED, &error, "root", "0", HASH, "8192", "checked"), &error, "not due");
}

Test(reader_receive, verification_within_the_image) {
        _cleanup_(reader_receiver_freep) ReaderReceiver *rr = raw_receiver(NULL, NULL, 0);
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;

        cr_assert(eq(int, MSG(rr, READER_PARTITION, &error, "root", "squashfs", "verity", "unsigned", HASH), 0));
        assert_violation(MSG(rr, READER_VERIFIED, &error, "root", "1044480", HASH, "8192", "checked"), &error,
                         "outside the image");
}

Test(reader_receive, cached_only_if_the_daemon_said_so) {
        VerityIdentity known = { .data_offset = 0, .root_hash_size = 32 };
        uint64_t covered = 8192;
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;

        for (size_t i = 0; i < 32; i++)
                known.root_hash[i] = (uint8_t) strtoul((char[]) { HASH[2 * i], HASH[2 * i + 1], 0 }, NULL, 16);

        {
                _cleanup_(reader_receiver_freep) ReaderReceiver *rr = raw_receiver(NULL, NULL, 0);

                cr_assert(eq(int, MSG(rr, READER_PARTITION, &error, "root", "squashfs", "verity", "unsigned", HASH), 0));
                assert_violation(MSG(rr, READER_VERIFIED, &error, "root", "0", HASH, "8192", "cached"), &error,
                                 "verified before, which it was not");
        }
        {
                _cleanup_(reader_receiver_freep) ReaderReceiver *rr = raw_receiver(&known, &covered, 1);

                cr_assert(eq(int, MSG(rr, READER_PARTITION, &error, "root", "squashfs", "verity", "unsigned", HASH), 0));
                /* A covered size other than the one recorded is no longer what was verified. */
                assert_violation(MSG(rr, READER_VERIFIED, &error, "root", "0", HASH, "4096", "cached"), &error,
                                 "verified before, which it was not");
        }
        {
                _cleanup_(reader_receiver_freep) ReaderReceiver *rr = raw_receiver(&known, &covered, 1);

                cr_assert(eq(int, MSG(rr, READER_PARTITION, &error, "root", "squashfs", "verity", "unsigned", HASH), 0));
                cr_assert(eq(int, MSG(rr, READER_VERIFIED, &error, "root", "0", HASH, "8192", "cached"), 0), "%s",
                          strna(error.message));
        }
}

Test(reader_receive, inconsistent_or_malformed_partitions) {
        static const char *const bad[][5] = {
                { "root", "squashfs", "signed", "untrusted", HASH },  /* signed needs a trusted signature */
                { "root", "squashfs", "verity", "trusted", HASH },    /* trusted makes it signed */
                { "root", "squashfs", "verity", "bad", HASH },        /* bad signatures end the read */
                { "root", "squashfs", "unprotected", "unsigned", HASH }, /* no hash without protection */
                { "root", "squashfs", "verity", "unsigned", "" },     /* no protection without a hash */
                { "root", "squashfs", "verity", "unsigned", "xyz" },
                { "root", "vfat", "unprotected", "unsigned", "" },    /* not a file system we mount */
                { "esp", "squashfs", "unprotected", "unsigned", "" }, /* not a data partition */
                { "root", "squashfs", "armoured", "unsigned", "" },
        };
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;

        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                _cleanup_(reader_receiver_freep) ReaderReceiver *rr = raw_receiver(NULL, NULL, 0);
                int r = MSG(rr, READER_PARTITION, &error, bad[i][0], bad[i][1], bad[i][2], bad[i][3], bad[i][4]);

                cr_assert(eq(int, r, -EBADMSG), "row %zu accepted", i);
                sd_bus_error_free(&error);
        }

        _cleanup_(reader_receiver_freep) ReaderReceiver *twice = raw_receiver(NULL, NULL, 0);
        cr_assert(eq(int, MSG(twice, READER_PARTITION, &error, "usr", "squashfs", "unprotected", "unsigned", ""), 0));
        assert_violation(MSG(twice, READER_PARTITION, &error, "usr", "squashfs", "unprotected", "unsigned", ""), &error,
                         "twice");
}

Test(reader_receive, layout_must_name_a_valid_policy) {
        _cleanup_(reader_receiver_freep) ReaderReceiver *rr = raw_receiver(NULL, NULL, 0), *none = raw_receiver(NULL, NULL, 0);
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;

        cr_assert(eq(int, MSG(rr, READER_PARTITION, &error, "root", "squashfs", "unprotected", "unsigned", ""), 0));
        assert_violation(MSG(rr, READER_LAYOUT, &error, "root=bogus"), &error, "malformed layout");
        assert_violation(MSG(none, READER_LAYOUT, &error, "root=squashfs:=absent"), &error, "no partition to mount");
}

Test(reader_receive, directories_have_no_layout) {
        _cleanup_(reader_receiver_freep) ReaderReceiver *rr = NULL;
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;

        cr_assert(eq(int, reader_receiver_new("/x/img.raw", NULL, NULL, &rr), 0));
        assert_violation(MSG(rr, READER_PARTITION, &error, "root", "squashfs", "unprotected", "unsigned", ""), &error,
                         "has none");
        assert_violation(MSG(rr, READER_LAYOUT, &error, "root=squashfs"), &error, "unexpected layout");

        /* And the files come without one. */
        _cleanup_(portable_metadata_freep) PortableMetadata *m = NULL;
        _cleanup_(reader_receiver_freep) ReaderReceiver *dir = NULL;
        cr_assert(eq(int, reader_receiver_new("/x/img.raw", NULL, NULL, &dir), 0));
        cr_assert(eq(int, send_os_release(dir, &error), 0));
        cr_assert(eq(int, MSG(dir, READER_DONE, &error, NULL), 1));
        m = reader_receiver_steal(dir);
        cr_assert(zero(ptr, m->layout));
}

Test(reader_receive, errors_pass_at_any_time) {
        _cleanup_(reader_receiver_freep) ReaderReceiver *rr = raw_receiver(NULL, NULL, 0);
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;

        cr_assert(eq(int, MSG(rr, READER_ERROR, &error, "74", "", "Image '/x/img.raw' failed verification: it is broken."),
                     -EBADMSG));
        assert_str(error.message, "Image '/x/img.raw' failed verification: it is broken.");
}

/* ======================================================================================= */

/* The whole protocol over a socket, driven by a fake reader that lies: every test plays
 * the child on one end of a SOCK_SEQPACKET pair, with messages in the format of reader-protocol.h
 * (sent with the real reader_send() where the message is well formed, by hand where it is not),
 * and the receiver reads the other end exactly as image-reader.c does.
 *
 * What a refusal must look like: a negative errno, an error message that names the image and the
 * problem, and nothing read from any file descriptor that came with the message. "Nothing read"
 * is observable from here because a passed descriptor shares its file offset with ours: every
 * file the fake reader sends has its offset parked at CANARY_OFFSET, and the receiver seeks to 0
 * and reads to the end before it accepts a file. Pipes hold data and keep their write end open,
 * so a receiver that read one would block: the suite's timeout catches that. */

#define LABEL "/srv/hostile_1"
#define CANARY_OFFSET 1
#define OS_RELEASE "ID=hostile\nPORTABLE_PREFIXES=foo\n"
#define UNIT "[Service]\nExecStart=/bin/true\n"

static int sock[2] = { -EBADF, -EBADF }; /* [0] the daemon's end, [1] the fake reader's */
static ReaderReceiver *receiver;
static char *tmp;
static sd_bus_error receive_error = SD_BUS_ERROR_NULL;

static char *const matches[] = { (char *) "foo", NULL };
static char *const check_paths[] = { (char *) "/proc", (char *) "/etc/machine-id", NULL };

static void new_receiver(void) {
        receiver = reader_receiver_free(receiver);
        sd_bus_error_free(&receive_error);
        cr_assert(eq(int, reader_receiver_new(LABEL, matches, check_paths, &receiver), 0));
}

static void new_socket(void) {
        sock[0] = safe_close(sock[0]);
        sock[1] = safe_close(sock[1]);
        cr_assert(eq(int, socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sock), 0));
}

static void setup(void) {
        tmp = unit_mkdtemp("reader-receive");
        new_socket();
        new_receiver();
}

static void teardown(void) {
        receiver = reader_receiver_free(receiver);
        sd_bus_error_free(&receive_error);
        sock[0] = safe_close(sock[0]);
        sock[1] = safe_close(sock[1]);
        unit_rm_rf(tmp);
        tmp = mfree(tmp);
}

/* Anything that blocks on a descriptor from the fake reader hangs the test: the timeout fails it. */
TestSuite(reader_receive_socket, .init = setup, .fini = teardown, .timeout = 20);

/* ------------------------------------------------------------------------ the fake reader */

/* One datagram: size bytes of buf with n_fds descriptors attached (in one SCM_RIGHTS). */
static void send_raw(const void *buf, size_t size, const int *fds, size_t n_fds) {
        unit_send_datagram(sock[1], buf, size, fds, n_fds);
}

/* A well-formed message, through the real sender. */
static void fake_send(ReaderMessageType type, const char *const *fields, int fd) {
        cr_assert(eq(int, reader_send(sock[1], type, fields, fd), 0));
}

#define FIELDS(...) ((const char *const[]) { __VA_ARGS__, NULL })

/* A memory file holding data with the given seals, its offset parked at the canary. */
static int memfd_with(const char *data, size_t size, unsigned seals) {
        int fd = memfd_create("fake-reader", MFD_CLOEXEC | MFD_ALLOW_SEALING);

        cr_assert(fd >= 0);
        if (size > 0)
                cr_assert(eq(int, ftruncate(fd, (off_t) size), 0));
        if (data)
                cr_assert(eq(sz, (size_t) pwrite(fd, data, strlen(data), 0), strlen(data)));
        if (seals)
                cr_assert(eq(int, fcntl(fd, F_ADD_SEALS, seals), 0));
        cr_assert(eq(int, (int) lseek(fd, CANARY_OFFSET, SEEK_SET), CANARY_OFFSET));
        return fd;
}

#define ALL_SEALS (F_SEAL_WRITE | F_SEAL_GROW | F_SEAL_SHRINK | F_SEAL_SEAL)

static int sealed(const char *data) {
        return memfd_with(data, strlen(data), ALL_SEALS);
}

static void fake_os_release(void) {
        _cleanup_close_ int fd = sealed(OS_RELEASE);
        fake_send(READER_OS_RELEASE, FIELDS("/usr/lib/os-release"), fd);
}

static void fake_unit(const char *name, const char *source) {
        _cleanup_close_ int fd = sealed(UNIT);
        fake_send(READER_UNIT, FIELDS(name, source), fd);
}

/* ------------------------------------------------------------------------------- checks */

/* Receives what is queued, as image-reader.c does. */
static int receive(void) {
        return reader_receiver_process(receiver, sock[0], &receive_error);
}

static bool contains(const char *haystack, const char *needle) {
        return haystack && strstr(haystack, needle);
}

/* Refused with -err, and the message says which image and what. */
static void assert_refused(int r, int err, const char *what) {
        cr_assert(eq(int, r, -err), "expected -%s, got %d (%s)", strerrorname_np(err), r, strna(receive_error.message));
        cr_assert(contains(receive_error.message, "Image '" LABEL "'"), "the error does not name the image: %s",
                  strna(receive_error.message));
        cr_assert(contains(receive_error.message, what), "expected '%s' in: %s", what, strna(receive_error.message));
        cr_assert(zero(ptr, reader_receiver_steal(receiver)), "a refused read handed out metadata");
}

/* Neither seeked nor read: the shared offset is where the fake reader left it. */
static void assert_untouched(int fd) {
        cr_assert(eq(int, (int) lseek(fd, 0, SEEK_CUR), CANARY_OFFSET), "the receiver read a file it refused");
}

/* The receiver holds no copy of the pipe's read end: only ours is left, and once we close it
 * the write end reports an error. */
static bool pipe_closed_by_receiver(int pipe_fds[2]) {
        struct pollfd p = { .fd = pipe_fds[1], .events = POLLOUT };

        pipe_fds[0] = safe_close(pipe_fds[0]);
        cr_assert(eq(int, poll(&p, 1, 0), 1));
        return p.revents & POLLERR;
}

/* ----------------------------------------------------------------------------- baseline */

Test(reader_receive_socket, honest_reader_is_believed) {
        _cleanup_(portable_metadata_freep) PortableMetadata *m = NULL;
        _cleanup_close_ int osrel = sealed(OS_RELEASE), unit = sealed(UNIT);

        fake_send(READER_OS_RELEASE, FIELDS("/usr/lib/os-release"), osrel);
        fake_send(READER_UNIT, FIELDS("foo.service", "usr/lib/systemd/system/foo.service"), unit);
        fake_unit("foo@.service", "");
        fake_unit("foo-bar.socket", "");
        fake_send(READER_WARNING, FIELDS("Unit file 'x' is empty, ignoring."), -EBADF);
        fake_send(READER_MISSING, FIELDS("/etc/machine-id"), -EBADF);
        cr_assert(zero(ptr, reader_receiver_steal(receiver)), "metadata before 'D'");
        fake_send(READER_DONE, NULL, -EBADF);

        cr_assert(eq(int, receive(), 1), "%s", strna(receive_error.message));
        m = reader_receiver_steal(receiver);
        cr_assert(not(zero(ptr, m)));
        assert_str(m->os_release.name, "/usr/lib/os-release");
        assert_str(m->os_release.data, OS_RELEASE);
        cr_assert(eq(sz, m->n_units, 3));
        assert_str(m->units[0].name, "foo-bar.socket");
        assert_str(m->units[1].name, "foo.service");
        assert_str(m->units[1].data, UNIT);
        assert_str(m->units[1].source, "usr/lib/systemd/system/foo.service");
        cr_assert(zero(ptr, m->units[0].source), "an empty source is no source");
        assert_str(m->units[2].name, "foo@.service");
        cr_assert(eq(sz, strv_length(m->warnings), 1));
        cr_assert(eq(sz, strv_length(m->missing), 1));
        assert_str(m->missing[0], "/etc/machine-id");
        /* The canary works: an accepted file was read from the start to its end. */
        cr_assert(eq(int, (int) lseek(osrel, 0, SEEK_CUR), (int) strlen(OS_RELEASE)));
        cr_assert(eq(int, (int) lseek(unit, 0, SEEK_CUR), (int) strlen(UNIT)));
}

Test(reader_receive_socket, nothing_queued_is_not_an_error) {
        cr_assert(eq(int, receive(), 0));
        fake_os_release();
        cr_assert(eq(int, receive(), 0));
        cr_assert(holds(!sd_bus_error_is_set(&receive_error)));
}

/* ------------------------------------------------------------------------------ unit names */

static const char *const bad_unit_names[] = {
        "bar.service",          /* outside the requested prefix */
        "foobar.service",       /* "foo" is a prefix only before '-', '.', '@' or the end */
        "foo_x.service",
        "foo.mount",            /* a valid unit, but not a portable type */
        "foo.device",
        "foo",                  /* no unit name at all */
        "foo.service/../x.service",
        "@foo.service",
        "foo\033[2J.service",   /* a terminal escape in the name */
        "",
};

Test(reader_receive_socket, units_not_asked_for_are_refused_unread) {
        for (size_t i = 0; i < ELEMENTSOF(bad_unit_names); i++) {
                _cleanup_close_ int fd = sealed(UNIT);

                new_socket();
                new_receiver();
                fake_os_release();
                fake_send(READER_UNIT, FIELDS(bad_unit_names[i], ""), fd);
                assert_refused(receive(), EBADMSG, "sent a unit that was not asked for");
                assert_untouched(fd);
        }
}

Test(reader_receive_socket, without_matches_every_portable_unit_is_asked_for) {
        _cleanup_close_ int mount = sealed(UNIT);

        receiver = reader_receiver_free(receiver);
        cr_assert(eq(int, reader_receiver_new(LABEL, NULL, NULL, &receiver), 0));
        fake_os_release();
        fake_unit("anything.service", "");
        fake_unit("other-name.timer", "");
        cr_assert(eq(int, receive(), 0), "%s", strna(receive_error.message));
        /* Still only portable types. */
        fake_send(READER_UNIT, FIELDS("anything.mount", ""), mount);
        assert_refused(receive(), EBADMSG, "not asked for");
        assert_untouched(mount);
}

Test(reader_receive_socket, unit_twice_is_refused) {
        _cleanup_close_ int again = sealed(UNIT);

        fake_os_release();
        fake_unit("foo.service", "");
        fake_send(READER_UNIT, FIELDS("foo.service", ""), again);
        assert_refused(receive(), EBADMSG, "sent unit 'foo.service' twice");
}

Test(reader_receive_socket, bad_sources_are_refused_unread) {
        static const char *const sources[] = {
                "/usr/lib/systemd/system/foo.service", /* absolute: would name a host path */
                "../../etc/shadow",
                "usr/lib/../../../etc/shadow",
                "usr//lib/foo.service",
                "usr/lib/./foo.service",
                "usr/lib/foo.service/",
        };

        for (size_t i = 0; i < ELEMENTSOF(sources); i++) {
                _cleanup_close_ int fd = sealed(UNIT);

                new_socket();
                new_receiver();
                fake_os_release();
                fake_send(READER_UNIT, FIELDS("foo.service", sources[i]), fd);
                assert_refused(receive(), EBADMSG, "sent an invalid source path for unit 'foo.service'");
                assert_untouched(fd);
        }
}

Test(reader_receive_socket, too_many_units) {
        fake_os_release();
        cr_assert(eq(int, receive(), 0));
        for (unsigned i = 0; i < PORTABLE_UNITS_MAX; i++) {
                _cleanup_free_ char *name = unit_strf("foo-%u.service", i);

                fake_unit(name, "");
                cr_assert(eq(int, receive(), 0), "unit %u: %s", i, strna(receive_error.message));
        }

        _cleanup_close_ int fd = sealed(UNIT);
        fake_send(READER_UNIT, FIELDS("foo-last.service", ""), fd);
        assert_refused(receive(), E2BIG, "more than 1024 matching unit files");
        assert_untouched(fd);
}

/* ---------------------------------------------------------------- what a file may come as */

static void check_unit_fd_refused(int fd, const char *what) {
        new_socket();
        new_receiver();
        fake_os_release();
        fake_send(READER_UNIT, FIELDS("foo.service", ""), fd);
        assert_refused(receive(), EBADMSG, what);
}

Test(reader_receive_socket, unit_without_contents) {
        fake_os_release();
        fake_send(READER_UNIT, FIELDS("foo.service", ""), -EBADF);
        assert_refused(receive(), EBADMSG, "sent foo.service without its contents");
}

Test(reader_receive_socket, unsealed_or_writable_memfds_are_refused_unread) {
        static const unsigned seal_sets[] = {
                0,                                             /* nothing sealed */
                F_SEAL_SEAL,                                   /* sealed against sealing only */
                F_SEAL_GROW | F_SEAL_SHRINK | F_SEAL_SEAL,     /* writable in place */
                F_SEAL_WRITE | F_SEAL_SEAL,                    /* may grow and shrink */
                F_SEAL_WRITE | F_SEAL_GROW | F_SEAL_SEAL,      /* may shrink */
                F_SEAL_WRITE | F_SEAL_SHRINK | F_SEAL_SEAL,    /* may grow */
                F_SEAL_FUTURE_WRITE | F_SEAL_GROW | F_SEAL_SHRINK, /* existing writable mappings stay */
        };

        for (size_t i = 0; i < ELEMENTSOF(seal_sets); i++) {
                _cleanup_close_ int fd = memfd_with(UNIT, strlen(UNIT), seal_sets[i]);

                check_unit_fd_refused(fd, "sent foo.service in a file that is not sealed");
                assert_untouched(fd);
        }
}

Test(reader_receive_socket, other_files_are_refused_unread) {
        _cleanup_free_ char *path = unit_strf("%s/f", tmp);
        _cleanup_close_ int regular = -EBADF, dir = -EBADF, zero = -EBADF, opath = -EBADF;
        _cleanup_close_pair_ int sp[2] = { -EBADF, -EBADF };

        /* A file of a real file system cannot be sealed (and could change under us). */
        unit_write(path, UNIT);
        regular = open(path, O_RDONLY | O_CLOEXEC);
        cr_assert(regular >= 0);
        cr_assert(eq(int, (int) lseek(regular, CANARY_OFFSET, SEEK_SET), CANARY_OFFSET));
        check_unit_fd_refused(regular, "sent foo.service in a file that is not sealed");
        assert_untouched(regular);

        dir = open(tmp, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        cr_assert(dir >= 0);
        check_unit_fd_refused(dir, "sent foo.service as something other than a memory file");

        zero = open("/dev/zero", O_RDONLY | O_CLOEXEC);
        cr_assert(zero >= 0);
        check_unit_fd_refused(zero, "sent foo.service as something other than a memory file");

        /* A socket would block a read just like a pipe. */
        cr_assert(eq(int, socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp), 0));
        cr_assert(eq(int, (int) write(sp[1], "x", 1), 1));
        check_unit_fd_refused(sp[0], "sent foo.service as something other than a memory file");
        {
                char c;
                cr_assert(eq(int, (int) recv(sp[0], &c, 1, MSG_DONTWAIT), 1), "the receiver read from a socket");
        }

        /* A sealed memfd, but as an O_PATH descriptor nothing can be checked or read through. */
        {
                _cleanup_close_ int m = sealed(UNIT);
                _cleanup_free_ char *proc = unit_strf("/proc/self/fd/%i", m);

                opath = open(proc, O_PATH | O_CLOEXEC);
                cr_assert(opath >= 0);
                check_unit_fd_refused(opath, "sent foo.service in a file that is not sealed");
                assert_untouched(m);
        }
}

Test(reader_receive_socket, pipe_is_refused_without_blocking) {
        _cleanup_close_pair_ int p[2] = { -EBADF, -EBADF };
        char buf[16];

        /* The write end stays open: reading the pipe would block for ever. */
        cr_assert(eq(int, pipe2(p, O_CLOEXEC), 0));
        cr_assert(eq(int, (int) write(p[1], "data", 4), 4));
        check_unit_fd_refused(p[0], "sent foo.service as something other than a memory file");
        cr_assert(eq(int, fcntl(p[0], F_SETFL, O_NONBLOCK), 0));
        cr_assert(eq(int, (int) read(p[0], buf, sizeof(buf)), 4), "the receiver read from the pipe");
        cr_assert(pipe_closed_by_receiver(p));
}

Test(reader_receive_socket, os_release_fd_is_checked_too) {
        _cleanup_close_pair_ int p[2] = { -EBADF, -EBADF };
        _cleanup_close_ int unsealed = memfd_with(OS_RELEASE, strlen(OS_RELEASE), 0);

        cr_assert(eq(int, pipe2(p, O_CLOEXEC), 0));
        fake_send(READER_OS_RELEASE, FIELDS("/usr/lib/os-release"), p[0]);
        assert_refused(receive(), EBADMSG, "sent /usr/lib/os-release as something other than a memory file");

        new_socket();
        new_receiver();
        fake_send(READER_OS_RELEASE, FIELDS("/etc/os-release"), unsealed);
        assert_refused(receive(), EBADMSG, "sent /etc/os-release in a file that is not sealed");
        assert_untouched(unsealed);

        new_socket();
        new_receiver();
        fake_send(READER_OS_RELEASE, FIELDS("/etc/os-release"), -EBADF);
        assert_refused(receive(), EBADMSG, "sent /etc/os-release without its contents");
}

/* ------------------------------------------------------------------------------ sizes */

Test(reader_receive_socket, oversized_unit_is_refused_unread) {
        _cleanup_close_ int fd = memfd_with(UNIT, PORTABLE_SIZE_MAX_UNIT_FILE + 1, ALL_SEALS),
                            limit = memfd_with(UNIT, PORTABLE_SIZE_MAX_UNIT_FILE, ALL_SEALS);

        fake_os_release();
        fake_send(READER_UNIT, FIELDS("foo.service", ""), limit);
        cr_assert(eq(int, receive(), 0), "a unit of exactly the limit: %s", strna(receive_error.message));
        fake_send(READER_UNIT, FIELDS("foo-big.service", ""), fd);
        assert_refused(receive(), EFBIG, "foo-big.service is larger than 1048576 bytes");
        assert_untouched(fd);
}

Test(reader_receive_socket, oversized_os_release_is_refused_unread) {
        _cleanup_close_ int fd = memfd_with(OS_RELEASE, PORTABLE_SIZE_MAX_RELEASE_FILE + 1, ALL_SEALS);

        fake_send(READER_OS_RELEASE, FIELDS("/usr/lib/os-release"), fd);
        assert_refused(receive(), EFBIG, "/usr/lib/os-release is larger than 65536 bytes");
        assert_untouched(fd);
}

Test(reader_receive_socket, oversized_total_is_refused_unread) {
        size_t n = PORTABLE_SIZE_MAX_METADATA / PORTABLE_SIZE_MAX_UNIT_FILE;

        fake_os_release();
        /* n files of the largest size fill the budget but for the os-release bytes. */
        for (size_t i = 0; i + 1 < n; i++) {
                _cleanup_free_ char *name = unit_strf("foo-%zu.service", i);
                _cleanup_close_ int fd = memfd_with(UNIT, PORTABLE_SIZE_MAX_UNIT_FILE, ALL_SEALS);

                fake_send(READER_UNIT, FIELDS(name, ""), fd);
                cr_assert(eq(int, receive(), 0), "%s", strna(receive_error.message));
        }

        _cleanup_close_ int last = memfd_with(UNIT, PORTABLE_SIZE_MAX_UNIT_FILE, ALL_SEALS);
        fake_send(READER_UNIT, FIELDS("foo-last.service", ""), last);
        assert_refused(receive(), EFBIG, "release and unit files together are larger than 8388608 bytes");
        assert_untouched(last);
}

Test(reader_receive_socket, oversized_message_is_refused) {
        _cleanup_free_ char *big = malloc(READER_MESSAGE_MAX + 1);
        _cleanup_close_pair_ int p[2] = { -EBADF, -EBADF };

        cr_assert(not(zero(ptr, big)));
        cr_assert(eq(int, pipe2(p, O_CLOEXEC), 0));
        big[0] = READER_WARNING;
        memset(big + 1, 'x', READER_MESSAGE_MAX - 1);
        big[READER_MESSAGE_MAX] = '\0';
        send_raw(big, READER_MESSAGE_MAX + 1, &p[0], 1);
        assert_refused(receive(), EBADMSG, "sent an oversized message");
        cr_assert(pipe_closed_by_receiver(p), "the descriptor of a refused message was kept");

        /* Exactly the maximum is fine. */
        new_socket();
        new_receiver();
        big[READER_MESSAGE_MAX - 1] = '\0';
        send_raw(big, READER_MESSAGE_MAX, NULL, 0);
        cr_assert(eq(int, receive(), 0), "%s", strna(receive_error.message));
}

/* Every descriptor of a message with several is closed, also those beyond what the receiver
 * makes room for. */
static void check_many_fds(size_t n) {
        int pipes[16][2], ends[16];

        cr_assert(le(sz, n, ELEMENTSOF(ends)));
        new_socket();
        new_receiver();
        fake_os_release();
        for (size_t i = 0; i < n; i++) {
                cr_assert(eq(int, pipe2(pipes[i], O_CLOEXEC), 0));
                ends[i] = pipes[i][0];
        }
        send_raw("U" "foo.service\0", STRLEN("U" "foo.service") + 2, ends, n);
        assert_refused(receive(), EBADMSG, "sent an oversized message");
        for (size_t i = 0; i < n; i++) {
                cr_assert(pipe_closed_by_receiver(pipes[i]), "descriptor %zu of %zu was kept", i, n);
                safe_close(pipes[i][1]);
        }
}

Test(reader_receive_socket, several_fds_are_refused_and_closed) {
        check_many_fds(2);
        check_many_fds(8);
        check_many_fds(16);
}

/* ------------------------------------------------------------------------- release files */

Test(reader_receive_socket, unexpected_release_files) {
        _cleanup_close_ int passwd = sealed("root:x:0:0::/:/bin/sh\n"), again = sealed(OS_RELEASE);

        fake_send(READER_OS_RELEASE, FIELDS("/etc/passwd"), passwd);
        assert_refused(receive(), EBADMSG, "sent an unexpected release file");
        assert_untouched(passwd);

        new_socket();
        new_receiver();
        fake_os_release();
        fake_send(READER_OS_RELEASE, FIELDS("/etc/os-release"), again);
        assert_refused(receive(), EBADMSG, "sent an unexpected release file");
        assert_untouched(again);
}

Test(reader_receive_socket, os_release_contents_are_checked) {
        _cleanup_close_ int bad_utf8 = sealed("ID=x\nNAME=\"\xff\xfe\"\n"), quote = sealed("ID=\"x\n");

        fake_send(READER_OS_RELEASE, FIELDS("/usr/lib/os-release"), bad_utf8);
        assert_refused(receive(), EILSEQ, "the value of NAME in /usr/lib/os-release is not valid UTF-8");

        new_socket();
        new_receiver();
        fake_send(READER_OS_RELEASE, FIELDS("/usr/lib/os-release"), quote);
        assert_refused(receive(), EBADMSG, "/usr/lib/os-release is malformed");
}

Test(reader_receive_socket, done_without_os_release) {
        fake_unit("foo.service", "");
        fake_send(READER_DONE, NULL, -EBADF);
        assert_refused(receive(), EBADMSG, "sent no os-release");
}

/* ---------------------------------------------------------------------- missing paths */

Test(reader_receive_socket, missing_paths_not_asked_about) {
        fake_os_release();
        fake_send(READER_MISSING, FIELDS("/etc/shadow"), -EBADF);
        assert_refused(receive(), EBADMSG, "reported a path that was not asked about");

        new_socket();
        new_receiver();
        fake_os_release();
        fake_send(READER_MISSING, FIELDS("/proc"), -EBADF);
        fake_send(READER_MISSING, FIELDS("/proc"), -EBADF);
        assert_refused(receive(), EBADMSG, "reported a path that was not asked about");

        /* Without check paths, nothing may be reported missing. */
        new_socket();
        receiver = reader_receiver_free(receiver);
        cr_assert(eq(int, reader_receiver_new(LABEL, matches, NULL, &receiver), 0));
        fake_os_release();
        fake_send(READER_MISSING, FIELDS("/proc"), -EBADF);
        assert_refused(receive(), EBADMSG, "reported a path that was not asked about");
}

/* ---------------------------------------------------------------- malformed messages */

typedef struct Malformed {
        const char *bytes;
        size_t size;
        int err;
        const char *what;
} Malformed;

#define M(s, err, what) { s, sizeof(s) - 1, err, what }

static const Malformed malformed[] = {
        M("U" "foo.service\0" "usr/lib/foo.service", EBADMSG, "sent a malformed message"), /* unterminated */
        M("U" "foo.service", EBADMSG, "sent a malformed message"),
        M("U" "foo.service\0", EBADMSG, "sent a malformed unit message"),
        M("U" "foo.service\0\0\0", EBADMSG, "sent a malformed unit message"),
        M("U", EBADMSG, "sent a malformed unit message"),
        M("O" "/etc/os-release\0\0", EBADMSG, "sent a malformed release file message"),
        M("O", EBADMSG, "sent a malformed release file message"),
        M("D" "\0", EBADMSG, "sent a malformed end message"),
        M("W", EBADMSG, "sent a malformed warning"),
        M("W" "one\0two\0", EBADMSG, "sent a malformed warning"),
        M("W" "\xc3\x28\0", EBADMSG, "sent a malformed warning"),
        M("M", EBADMSG, "reported a path that was not asked about"),
        M("M" "/proc\0/proc\0", EBADMSG, "reported a path that was not asked about"),
        M("E" "2\0\0", EBADMSG, "sent a garbled error"),
        M("E" "2\0not a bus name\0message\0", EBADMSG, "sent a garbled error"),
        M("E" "2\0\0\xff\0", EBADMSG, "sent a garbled error"),
        M("Q" "whatever\0", EBADMSG, "sent an unknown message"),
        M("\0", EBADMSG, "sent an unknown message"),
};

Test(reader_receive_socket, malformed_messages) {
        for (size_t i = 0; i < ELEMENTSOF(malformed); i++) {
                const Malformed *c = &malformed[i];

                new_socket();
                new_receiver();
                fake_os_release();
                send_raw(c->bytes, c->size, NULL, 0);
                cr_assert(eq(int, receive(), -c->err), "message %zu: %s", i, strna(receive_error.message));
                cr_assert(contains(receive_error.message, c->what), "message %zu: expected '%s' in %s", i, c->what,
                          strna(receive_error.message));
                cr_assert(contains(receive_error.message, LABEL), "message %zu: %s", i, strna(receive_error.message));
        }
}

Test(reader_receive_socket, empty_message_or_hangup_ends_the_read) {
        /* On a SOCK_SEQPACKET socket an empty datagram reads like the end of the stream. */
        fake_os_release();
        send_raw("", 0, NULL, 0);
        assert_refused(receive(), EPIPE, "the image reader ended without finishing");

        new_socket();
        new_receiver();
        fake_os_release();
        fake_unit("foo.service", "");
        sock[1] = safe_close(sock[1]);
        assert_refused(receive(), EPIPE, "the image reader ended without finishing");
}

Test(reader_receive_socket, files_where_none_is_due_are_refused_unread) {
        static const ReaderMessageType types[] = { READER_WARNING, READER_MISSING, READER_ERROR, READER_DONE };
        static const char *const payloads[] = { "W" "text\0", "M" "/proc\0", "E" "5\0\0failed\0", "D" };
        static const size_t sizes[] = { 6, 7, 11, 1 };

        for (size_t i = 0; i < ELEMENTSOF(types); i++) {
                _cleanup_close_ int fd = sealed(UNIT);
                _cleanup_close_pair_ int p[2] = { -EBADF, -EBADF };

                cr_assert(eq(int, payloads[i][0], (int) types[i]));
                new_socket();
                new_receiver();
                fake_os_release();
                send_raw(payloads[i], sizes[i], &fd, 1);
                assert_refused(receive(), EBADMSG, "sent a file where none was due");
                assert_untouched(fd);

                /* ... and the descriptor is not kept. */
                cr_assert(eq(int, pipe2(p, O_CLOEXEC), 0));
                new_socket();
                new_receiver();
                fake_os_release();
                send_raw(payloads[i], sizes[i], &p[0], 1);
                assert_refused(receive(), EBADMSG, "sent a file where none was due");
                cr_assert(pipe_closed_by_receiver(p), "message type '%c'", (char) types[i]);
        }
}

Test(reader_receive_socket, hanging_up_after_done_is_the_end) {
        fake_os_release();
        fake_send(READER_DONE, NULL, -EBADF);
        cr_assert(eq(int, receive(), 1));
        cr_assert(eq(int, receive(), 0), "nothing queued yet");
        sock[1] = safe_close(sock[1]);
        cr_assert(eq(int, receive(), 1), "%s", strna(receive_error.message));
        cr_assert(holds(!sd_bus_error_is_set(&receive_error)));
}

Test(reader_receive_socket, nothing_after_done) {
        _cleanup_close_ int fd = sealed(UNIT);

        fake_os_release();
        fake_send(READER_DONE, NULL, -EBADF);
        cr_assert(eq(int, receive(), 1));
        fake_send(READER_UNIT, FIELDS("foo.service", ""), fd);
        cr_assert(eq(int, receive(), -EBADMSG));
        cr_assert(contains(receive_error.message, "Image '" LABEL "': the image reader sent more after it was done."), "%s",
                  strna(receive_error.message));
        assert_untouched(fd);
}

/* ---------------------------------------------------------------------- warnings, errors */

Test(reader_receive_socket, warnings_are_capped) {
        _cleanup_(portable_metadata_freep) PortableMetadata *m = NULL;

        fake_os_release();
        for (unsigned i = 0; i < PORTABLE_WARNINGS_MAX + 10; i++) {
                _cleanup_free_ char *w = unit_strf("warning %u", i);

                fake_send(READER_WARNING, FIELDS(w), -EBADF);
                cr_assert(eq(int, receive(), 0));
        }
        fake_send(READER_DONE, NULL, -EBADF);
        cr_assert(eq(int, receive(), 1));
        m = reader_receiver_steal(receiver);
        cr_assert(eq(sz, strv_length(m->warnings), PORTABLE_WARNINGS_MAX + 1));
        assert_str(m->warnings[PORTABLE_WARNINGS_MAX - 1], "warning 63");
        assert_str(m->warnings[PORTABLE_WARNINGS_MAX], "(further warnings left out)");
}

Test(reader_receive_socket, errors_of_the_reader) {
        /* The reader's own failure is passed on as it said it, with a sane errno. */
        fake_send(READER_ERROR, FIELDS("2", "org.freedesktop.DBus.Error.InvalidArgs", "Image '" LABEL "': no os-release"),
                 -EBADF);
        cr_assert(eq(int, receive(), -ENOENT));
        assert_str(receive_error.name, "org.freedesktop.DBus.Error.InvalidArgs");
        assert_str(receive_error.message, "Image '" LABEL "': no os-release");

        static const char *const bad_errnos[] = { "0", "-5", "4096", "99999999999999999999", "12abc", "" };
        for (size_t i = 0; i < ELEMENTSOF(bad_errnos); i++) {
                new_socket();
                new_receiver();
                fake_send(READER_ERROR, FIELDS(bad_errnos[i], "", "failed"), -EBADF);
                cr_assert(eq(int, receive(), -EIO), "errno '%s'", bad_errnos[i]);
                assert_str(receive_error.message, "failed");
        }
}
