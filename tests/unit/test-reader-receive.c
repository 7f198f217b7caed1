/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <criterion/criterion.h>
#include <criterion/new/assert.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "fd-util.h"
#include "reader-protocol.h"
#include "reader-receive.h"
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
