/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <criterion/criterion.h>
#include <criterion/new/assert.h>
#include <criterion/parameterized.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "fd-util.h"
#include "os-release.h"
#include "reader-protocol.h"
#include "reader-receive.h"
#include "strv.h"
#include "unit-helpers.h"

/* The daemon's side of the reader protocol, fed by the child's side over a real socket pair: what
 * a reader of an extension layer may send, and what it may not. */

static int pair[2] = { -EBADF, -EBADF };

static void setup(void) {
        cr_assert(eq(int, socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, pair), 0));
}

static void teardown(void) {
        safe_close(pair[0]);
        safe_close(pair[1]);
}

TestSuite(reader_receive_extension, .init = setup, .fini = teardown);

#define SYSEXT_DIR "/usr/lib/extension-release.d/"
#define CONFEXT_DIR "/etc/extension-release.d/"
#define RELEASE "ID=debian\nVERSION_ID=12\nSYSEXT_IMAGE_ID=app\n"

/* A receiver for the extension image_name (NULL: a root image). */
static ReaderReceiver *receiver(const char *image_name, bool force) {
        char *matches[] = { (char *) "app", NULL };
        ReaderReceiver *rr = NULL;

        cr_assert(eq(int, reader_receiver_new("/images/ext", matches, NULL, &rr), 0));
        if (image_name)
                cr_assert(eq(int, reader_receiver_expect_extension(rr, image_name, force), 0));
        return rr;
}

static void send_release(const char *path, ExtensionClass class, ExtensionReleaseMatch match, const char *data) {
        cr_assert(eq(int, reader_send_extension_release(pair[1], path, class, match, data, strlen(data)), 0));
}

static void send_done(void) {
        cr_assert(eq(int, reader_send(pair[1], READER_DONE, NULL, -EBADF), 0));
}

/* Processes what was sent; returns what reader_receiver_process() returned, and the error. */
static int receive(ReaderReceiver *rr, sd_bus_error *error) {
        return reader_receiver_process(rr, pair[0], error);
}

static PortableMetadata *receive_all(ReaderReceiver *rr) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;

        cr_assert(eq(int, receive(rr, &error), 1), "%s", strna(error.message));
        return reader_receiver_steal(rr);
}

static void must_refuse(ReaderReceiver *rr, const char *needle) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;

        cr_assert(lt(int, receive(rr, &error), 0));
        cr_assert(error.message != NULL);
        cr_assert(strstr(error.message, "/images/ext") != NULL, "the message names the image: %s", error.message);
        cr_assert(strstr(error.message, needle) != NULL, "'%s' not in: %s", needle, error.message);
        cr_assert(zero(ptr, reader_receiver_steal(rr)));
}

Test(reader_receive_extension, extension_release_exact) {
        _cleanup_(reader_receiver_freep) ReaderReceiver *rr = receiver("app_1.2", false);
        _cleanup_(portable_metadata_freep) PortableMetadata *m = NULL;

        send_release(SYSEXT_DIR "extension-release.app_1.2", EXTENSION_SYSEXT, EXTENSION_RELEASE_EXACT, RELEASE);
        cr_assert(eq(int, reader_send_file(pair[1], READER_UNIT, "app.service", "", "[Service]\n", 10), 0));
        send_done();

        m = receive_all(rr);
        cr_assert(m->extension);
        cr_assert(eq(int, m->extension_class, EXTENSION_SYSEXT));
        cr_assert(eq(int, m->extension_match, EXTENSION_RELEASE_EXACT));
        assert_str(m->os_release.name, SYSEXT_DIR "extension-release.app_1.2");
        assert_str(m->os_release.data, RELEASE);
        assert_str(os_release_pairs_get(m->os_release_pairs, "SYSEXT_IMAGE_ID"), "app");
        cr_assert(eq(sz, m->n_units, 1));
}

Test(reader_receive_extension, extension_release_stripped_confext) {
        _cleanup_(reader_receiver_freep) ReaderReceiver *rr = receiver("app_1.2", false);
        _cleanup_(portable_metadata_freep) PortableMetadata *m = NULL;

        send_release(CONFEXT_DIR "extension-release.app", EXTENSION_CONFEXT, EXTENSION_RELEASE_STRIPPED, RELEASE);
        send_done();

        m = receive_all(rr);
        cr_assert(eq(int, m->extension_class, EXTENSION_CONFEXT));
        cr_assert(eq(int, m->extension_match, EXTENSION_RELEASE_STRIPPED));
}

Test(reader_receive_extension, extension_release_xattr_any_name) {
        _cleanup_(reader_receiver_freep) ReaderReceiver *rr = receiver("app_1.2", false);
        _cleanup_(portable_metadata_freep) PortableMetadata *m = NULL;

        send_release(SYSEXT_DIR "extension-release.whatever", EXTENSION_SYSEXT, EXTENSION_RELEASE_XATTR, RELEASE);
        send_done();
        m = receive_all(rr);
        cr_assert(eq(int, m->extension_match, EXTENSION_RELEASE_XATTR));
}

Test(reader_receive_extension, extension_release_forced_only_with_force) {
        _cleanup_(reader_receiver_freep) ReaderReceiver *forced = receiver("app", true);
        _cleanup_(portable_metadata_freep) PortableMetadata *m = NULL;

        send_release(SYSEXT_DIR "extension-release.other", EXTENSION_SYSEXT, EXTENSION_RELEASE_FORCED, RELEASE);
        send_done();
        m = receive_all(forced);
        cr_assert(eq(int, m->extension_match, EXTENSION_RELEASE_FORCED));
}

Test(reader_receive_extension, extension_release_forced_without_force_refused) {
        _cleanup_(reader_receiver_freep) ReaderReceiver *rr = receiver("app", false);

        send_release(SYSEXT_DIR "extension-release.other", EXTENSION_SYSEXT, EXTENSION_RELEASE_FORCED, RELEASE);
        must_refuse(rr, "unexpected release file");
}

/* Each row: a release file the child claims to have found, which it cannot have found so. */
static const struct {
        const char *path;
        ExtensionClass class;
        ExtensionReleaseMatch match;
} lies[] = {
        { SYSEXT_DIR "extension-release.other", EXTENSION_SYSEXT, EXTENSION_RELEASE_EXACT },       /* not the name */
        { SYSEXT_DIR "extension-release.app_2", EXTENSION_SYSEXT, EXTENSION_RELEASE_STRIPPED },    /* not stripped */
        { SYSEXT_DIR "extension-release.app_1", EXTENSION_SYSEXT, EXTENSION_RELEASE_STRIPPED },    /* exact, not stripped */
        { SYSEXT_DIR "extension-release.app_1", EXTENSION_SYSEXT, EXTENSION_RELEASE_XATTR },       /* the exact one exists */
        { CONFEXT_DIR "extension-release.app_1", EXTENSION_SYSEXT, EXTENSION_RELEASE_EXACT },      /* class and directory */
        { SYSEXT_DIR "extension-release.app_1", EXTENSION_CONFEXT, EXTENSION_RELEASE_EXACT },
        { "/etc/os-release", EXTENSION_SYSEXT, EXTENSION_RELEASE_XATTR },                          /* not a release dir */
        { SYSEXT_DIR "../../../etc/shadow", EXTENSION_SYSEXT, EXTENSION_RELEASE_XATTR },
        { SYSEXT_DIR "extension-release.", EXTENSION_SYSEXT, EXTENSION_RELEASE_XATTR },            /* no name */
        { SYSEXT_DIR "extension-release.a/b", EXTENSION_SYSEXT, EXTENSION_RELEASE_XATTR },
        { SYSEXT_DIR "sub/extension-release.app_1", EXTENSION_SYSEXT, EXTENSION_RELEASE_EXACT },
        { "/usr/lib/extension-release.dx/extension-release.app_1", EXTENSION_SYSEXT, EXTENSION_RELEASE_EXACT },
};

UNIT_TABLE_TEST(reader_receive_extension, lying_release_paths, lies) {
        _cleanup_(reader_receiver_freep) ReaderReceiver *rr = receiver("app_1", false);

        send_release(lies[*i].path, lies[*i].class, lies[*i].match, RELEASE);
        must_refuse(rr, "unexpected release file");
}

Test(reader_receive_extension, unknown_class_or_match_refused) {
        _cleanup_(reader_receiver_freep) ReaderReceiver *rr = receiver("app", false);
        const char *fields[] = { SYSEXT_DIR "extension-release.app", "sysext", "guessed", NULL };

        /* A well-formed message with a match name the protocol does not have. */
        cr_assert(eq(int, reader_send(pair[1], READER_EXTENSION_RELEASE, fields, -EBADF), 0));
        must_refuse(rr, "unexpected release file");
}

Test(reader_receive_extension, malformed_extension_message_refused) {
        _cleanup_(reader_receiver_freep) ReaderReceiver *rr = receiver("app", false);
        const char *fields[] = { SYSEXT_DIR "extension-release.app", "sysext", NULL };

        cr_assert(eq(int, reader_send(pair[1], READER_EXTENSION_RELEASE, fields, -EBADF), 0));
        must_refuse(rr, "malformed release file message");
}

Test(reader_receive_extension, os_release_from_an_extension_refused) {
        _cleanup_(reader_receiver_freep) ReaderReceiver *rr = receiver("app", false);

        cr_assert(eq(int, reader_send_file(pair[1], READER_OS_RELEASE, "/usr/lib/os-release", NULL, RELEASE,
                                           strlen(RELEASE)), 0));
        must_refuse(rr, "unexpected release file");
}

Test(reader_receive_extension, extension_release_from_a_root_refused) {
        _cleanup_(reader_receiver_freep) ReaderReceiver *rr = receiver(NULL, false);

        send_release(SYSEXT_DIR "extension-release.app", EXTENSION_SYSEXT, EXTENSION_RELEASE_EXACT, RELEASE);
        must_refuse(rr, "unexpected release file");
}

Test(reader_receive_extension, extension_release_twice_refused) {
        _cleanup_(reader_receiver_freep) ReaderReceiver *rr = receiver("app", false);

        send_release(SYSEXT_DIR "extension-release.app", EXTENSION_SYSEXT, EXTENSION_RELEASE_EXACT, RELEASE);
        send_release(SYSEXT_DIR "extension-release.app", EXTENSION_SYSEXT, EXTENSION_RELEASE_EXACT, RELEASE);
        must_refuse(rr, "unexpected release file");
}

Test(reader_receive_extension, extension_done_without_release_refused) {
        _cleanup_(reader_receiver_freep) ReaderReceiver *rr = receiver("app", false);

        send_done();
        must_refuse(rr, "sent no extension-release");
}

Test(reader_receive_extension, extension_release_without_contents_refused) {
        _cleanup_(reader_receiver_freep) ReaderReceiver *rr = receiver("app", false);
        const char *fields[] = { SYSEXT_DIR "extension-release.app", "sysext", "exact", NULL };

        cr_assert(eq(int, reader_send(pair[1], READER_EXTENSION_RELEASE, fields, -EBADF), 0));
        must_refuse(rr, "without its contents");
}

Test(reader_receive_extension, extension_release_invalid_utf8_refused) {
        _cleanup_(reader_receiver_freep) ReaderReceiver *rr = receiver("app", false);

        send_release(SYSEXT_DIR "extension-release.app", EXTENSION_SYSEXT, EXTENSION_RELEASE_EXACT,
                     "ID=debian\nSYSEXT_IMAGE_ID=\xff\xfe\n");
        must_refuse(rr, "not valid UTF-8");
}

Test(reader_receive_extension, expect_extension_needs_a_valid_name) {
        _cleanup_(reader_receiver_freep) ReaderReceiver *rr = receiver(NULL, false);

        cr_assert(eq(int, reader_receiver_expect_extension(rr, "../x", false), -EINVAL));
        cr_assert(eq(int, reader_receiver_expect_extension(rr, "", false), -EINVAL));
}
