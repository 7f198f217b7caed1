/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <criterion/criterion.h>
#include <criterion/new/assert.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dropin.h"
#include "image-metadata.h"
#include "portable-bus.h"
#include "portable-error.h"
#include "portable-fixture.h"
#include "portable.h"
#include "strv.h"
#include "unit-helpers.h"

static void setup(void) {
        fixture_setup("attach");
}

static void teardown(void) {
        fixture_teardown();
}

TestSuite(attach, .init = setup, .fini = teardown, .timeout = 60);

#define ATTACHED "/etc/systemd/system.attached"

static char *const foo_matches[] = { (char *) "foo", NULL };

static const char *const foo_units[] = {
        "foo-bar.socket", "foo-link.service", "foo-shadow.service", "foo.bar.timer",
        "foo.path", "foo.service", "foo.target", "foo@.service",
};

/* Attaches <images>/foo (outside the search path) and checks success. */
static Image *attach_foo(const char *profile, PortableFlags flags, char **ret_changes) {
        _cleanup_free_ char *path = fixture_copy_image("foo", "foo", false);
        Image *image = fixture_image(path);
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_(portable_changes_done) PortableChanges changes = {};

        cr_assert(eq(int, fixture_attach(image, foo_matches, profile, flags, &changes, &error), 0), "%s",
                  strna(error.message));
        if (ret_changes)
                *ret_changes = fixture_changes(&changes);
        return image;
}

/* An attach that must fail with r and the D-Bus error name (NULL: any), leaving the host as it
 * was. */
static void attach_must_fail(const Image *image, char * const *matches, const char *profile, PortableFlags flags,
                             int r, const char *error_name) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_free_ char *before = fixture_snapshot(), *after = NULL;

        cr_assert(eq(int, fixture_attach(image, matches, profile, flags, NULL, &error), r), "%s",
                  strna(error.message));
        if (error_name)
                assert_str(error.name, error_name);
        after = fixture_snapshot();
        assert_str(after, before);
}

static char *image_file(const Image *image, const char *rel) {
        _cleanup_free_ char *p = unit_strf("%s%s", image->path, rel);
        char *data = unit_read(p);

        cr_assert(data != NULL, "%s", p);
        return data;
}

static char *link_target(const char *rel) {
        _cleanup_free_ char *p = fixture_path(rel);
        char buf[4096];
        ssize_t n = readlink(p, buf, sizeof(buf) - 1);

        cr_assert(gt(long, (long) n, 0L), "%s is not a symlink", p);
        buf[n] = '\0';
        return strdup(buf);
}

static bool is_symlink(const char *rel) {
        _cleanup_free_ char *p = fixture_path(rel);
        struct stat st;

        return lstat(p, &st) >= 0 && S_ISLNK(st.st_mode);
}

static bool is_regular(const char *rel) {
        _cleanup_free_ char *p = fixture_path(rel);
        struct stat st;

        return lstat(p, &st) >= 0 && S_ISREG(st.st_mode);
}

/* ------------------------------------------------------------------------------- success */

Test(attach, directory_image_default_profile) {
        _cleanup_free_ char *changes = NULL, *golden = NULL;
        _cleanup_(image_freep) Image *image = attach_foo("default", 0, &changes);

        golden = unit_golden("attach-foo.changes");
        assert_str(changes, golden);

        for (size_t i = 0; i < ELEMENTSOF(foo_units); i++) {
                _cleanup_free_ char *unit = unit_strf(ATTACHED "/%s", foo_units[i]),
                                    *dropin = unit_strf(ATTACHED "/%s.d/20-portable.conf", foo_units[i]);

                cr_assert(is_regular(unit), "%s", unit);
                cr_assert(is_regular(dropin), "%s", dropin);
        }

        /* Units are byte-for-byte copies; /etc in the image shadows /usr; symlinks in the image
         * resolve inside it. */
        _cleanup_free_ char *a = fixture_read(ATTACHED "/foo.service"),
                            *ea = image_file(image, "/usr/lib/systemd/system/foo.service"),
                            *b = fixture_read(ATTACHED "/foo-shadow.service"),
                            *eb = image_file(image, "/etc/systemd/system/foo-shadow.service"),
                            *c = fixture_read(ATTACHED "/foo-link.service"),
                            *ec = image_file(image, "/opt/foo/foo-link.service");
        assert_str(a, ea);
        assert_str(b, eb);
        assert_str(c, ec);

        /* Not attached: not matching the prefix, not a portable type, empty. */
        cr_assert(not(fixture_exists(ATTACHED "/foo_x.service")));
        cr_assert(not(fixture_exists(ATTACHED "/foobar.service")));
        cr_assert(not(fixture_exists(ATTACHED "/foo.mount")));
        cr_assert(not(fixture_exists(ATTACHED "/foo-empty.service")));
        cr_assert(not(fixture_exists(ATTACHED "/foo-empty.service.d")));
}

Test(attach, dropins_golden) {
        _cleanup_(image_freep) Image *image = attach_foo("default", 0, NULL);
        _cleanup_free_ char *svc = fixture_read(ATTACHED "/foo.service.d/20-portable.conf"),
                            *tpl = fixture_read(ATTACHED "/foo@.service.d/20-portable.conf"),
                            *sock = fixture_read(ATTACHED "/foo-bar.socket.d/20-portable.conf"),
                            *timer = fixture_read(ATTACHED "/foo.bar.timer.d/20-portable.conf"),
                            *gsvc = fixture_golden("attach-foo.service.conf"),
                            *gsock = fixture_golden("attach-foo.socket.conf");

        assert_str(svc, gsvc);
        assert_str(tpl, gsvc);
        assert_str(sock, gsock);
        assert_str(timer, gsock);
}

Test(attach, host_etc_os_release_is_bound) {
        _cleanup_free_ char *svc = NULL;

        fixture_write("/etc/os-release", "ID=host\n");
        _cleanup_(image_freep) Image *image = attach_foo("", 0, NULL);
        svc = fixture_read(ATTACHED "/foo.service.d/20-portable.conf");
        cr_assert(not(zero(ptr, strstr(svc, "\nBindReadOnlyPaths=/etc/os-release:/run/host/os-release\n"))), "%s", svc);
}

Test(attach, profile_symlinked_for_services_and_sockets_only) {
        _cleanup_(image_freep) Image *image = attach_foo("strict", 0, NULL);
        _cleanup_free_ char *t1 = link_target(ATTACHED "/foo.service.d/10-profile.conf"),
                            *t2 = link_target(ATTACHED "/foo@.service.d/10-profile.conf"),
                            *t3 = link_target(ATTACHED "/foo-bar.socket.d/10-profile.conf"),
                            *expected = unit_strf("%s/strict/service.conf", fx.profiles),
                            *expected_socket = unit_strf("%s/strict/socket.conf", fx.profiles);

        assert_str(t1, expected);
        assert_str(t2, expected);
        assert_str(t3, expected_socket);
        cr_assert(not(fixture_exists(ATTACHED "/foo.bar.timer.d/10-profile.conf")));
        cr_assert(not(fixture_exists(ATTACHED "/foo.target.d/10-profile.conf")));
}

Test(attach, profile_copied_with_prefer_copy) {
        _cleanup_free_ char *changes = NULL;
        _cleanup_(image_freep) Image *image = attach_foo("nonetwork", PORTABLE_PREFER_COPY, &changes);
        _cleanup_free_ char *copy = fixture_read(ATTACHED "/foo.service.d/10-profile.conf"),
                            *src = unit_strf("%s/nonetwork/service.conf", fx.profiles), *orig = unit_read(src);

        cr_assert(is_regular(ATTACHED "/foo.service.d/10-profile.conf"));
        assert_str(copy, orig);
        cr_assert(not(zero(ptr, strstr(changes, "copy @ROOT@" ATTACHED "/foo.service.d/10-profile.conf @PROFILES@/nonetwork/service.conf\n"))),
                  "%s", changes);
        /* Units are copies too. */
        cr_assert(is_regular(ATTACHED "/foo.service"));
}

/* Linking into a directory image is for trusted units only: others are copied, so that the image
 * cannot change a unit after it passed the confinement check. */
Test(attach, units_copied_with_prefer_symlink_unless_trusted) {
        _cleanup_free_ char *changes = NULL;
        _cleanup_(image_freep) Image *image = attach_foo("default", PORTABLE_PREFER_SYMLINK, &changes);

        cr_assert(is_regular(ATTACHED "/foo.service"));
        cr_assert(is_regular(ATTACHED "/foo-shadow.service"));
        cr_assert(not(zero(ptr, strstr(changes, "copy @ROOT@" ATTACHED "/foo.service @IMAGES@/foo/usr/lib/systemd/system/foo.service\n"))),
                  "%s", changes);
        /* The profile drop-in is still linked. */
        cr_assert(is_symlink(ATTACHED "/foo.service.d/10-profile.conf"));
}

Test(attach, units_symlinked_with_prefer_symlink) {
        _cleanup_free_ char *changes = NULL;
        _cleanup_(image_freep) Image *image = attach_foo("trusted", PORTABLE_PREFER_SYMLINK, &changes);
        _cleanup_free_ char *t = link_target(ATTACHED "/foo.service"),
                            *e = unit_strf("%s/usr/lib/systemd/system/foo.service", image->path),
                            *ts = link_target(ATTACHED "/foo-shadow.service"),
                            *es = unit_strf("%s/etc/systemd/system/foo-shadow.service", image->path);

        assert_str(t, e);
        assert_str(ts, es);
        /* A unit that is a symlink inside the image has no host path to point at: copied. */
        cr_assert(is_regular(ATTACHED "/foo-link.service"));
        /* Drop-ins are always written. */
        cr_assert(is_regular(ATTACHED "/foo.service.d/20-portable.conf"));
        cr_assert(not(zero(ptr, strstr(changes, "symlink @ROOT@" ATTACHED "/foo.service @IMAGES@/foo/usr/lib/systemd/system/foo.service\n"))),
                  "%s", changes);
}

Test(attach, no_profile) {
        _cleanup_(image_freep) Image *image = attach_foo("", 0, NULL);

        cr_assert(not(fixture_exists(ATTACHED "/foo.service.d/10-profile.conf")));
        cr_assert(is_regular(ATTACHED "/foo.service.d/20-portable.conf"));
}

Test(attach, runtime) {
        _cleanup_free_ char *changes = NULL, *t = NULL;
        _cleanup_(image_freep) Image *image = attach_foo("default", PORTABLE_RUNTIME, &changes);

        cr_assert(is_regular("/run/systemd/system.attached/foo.service"));
        cr_assert(not(fixture_exists("/etc/systemd/system.attached")));
        cr_assert(not(fixture_exists("/etc/portables")));
        t = link_target("/run/portables/foo");
        assert_str(t, image->path);
        cr_assert(not(zero(ptr, strstr(changes, "symlink @ROOT@/run/portables/foo @IMAGES@/foo\n"))), "%s", changes);
}

Test(attach, image_in_search_path_gets_no_link) {
        _cleanup_free_ char *path = fixture_copy_image("foo", "foo", true), *changes = NULL;
        _cleanup_(image_freep) Image *image = NULL;
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_(portable_changes_done) PortableChanges c = {};

        cr_assert(eq(int, image_find(&fx.host, "foo", &image), 0));
        cr_assert(eq(int, fixture_attach(image, foo_matches, "default", 0, &c, &error), 0), "%s", strna(error.message));
        cr_assert(not(fixture_exists("/etc/portables")));
        changes = fixture_changes(&c);
        cr_assert(zero(ptr, strstr(changes, "/etc/portables")), "%s", changes);
        /* The drop-in names the image where it is. */
        _cleanup_free_ char *svc = fixture_read(ATTACHED "/foo.service.d/20-portable.conf"),
                            *line = unit_strf("\nRootDirectory=%s\n", path);
        cr_assert(not(zero(ptr, strstr(svc, line))), "%s", svc);
}

Test(attach, existing_link_left_alone) {
        _cleanup_free_ char *other = unit_strf("%s/other", fx.tmp), *t = NULL, *link = fixture_path("/etc/portables/foo");

        /* Something else already has the name: attach goes ahead, the link stays. */
        unit_symlink(other, link);
        _cleanup_(image_freep) Image *image = attach_foo("", 0, NULL);
        t = link_target("/etc/portables/foo");
        assert_str(t, other);
}

Test(attach, all_units_without_matches) {
        _cleanup_free_ char *path = fixture_copy_image("foo", "foo", false);
        _cleanup_(image_freep) Image *image = fixture_image(path);
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;

        cr_assert(eq(int, fixture_attach(image, NULL, "", 0, NULL, &error), 0), "%s", strna(error.message));
        cr_assert(is_regular(ATTACHED "/foo_x.service"));
        cr_assert(is_regular(ATTACHED "/foobar.service"));
        cr_assert(not(fixture_exists(ATTACHED "/foo.mount")));
}

Test(attach, portable_prefixes) {
        _cleanup_free_ char *path = fixture_copy_image("pfx", "pfx", false);
        _cleanup_(image_freep) Image *image = fixture_image(path);
        char *bad[] = { (char *) "pfx-a", (char *) "pfx-c", NULL };
        char *prefix_of_allowed[] = { (char *) "pfx", NULL };
        char *good[] = { (char *) "pfx-a", (char *) "pfx-b", NULL };
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;

        /* Every match must be one of PORTABLE_PREFIXES, exactly. */
        attach_must_fail(image, bad, "default", 0, -EINVAL, SD_BUS_ERROR_INVALID_ARGS);
        attach_must_fail(image, prefix_of_allowed, "default", 0, -EINVAL, SD_BUS_ERROR_INVALID_ARGS);

        cr_assert(eq(int, fixture_attach(image, good, "default", 0, NULL, &error), 0), "%s", strna(error.message));
        cr_assert(is_regular(ATTACHED "/pfx-a.service"));
        cr_assert(is_regular(ATTACHED "/pfx-b.service"));
        cr_assert(not(fixture_exists(ATTACHED "/pfx-c.service")));
}

/* One declared prefix is a list of one, not "no list": it is enforced just the same. Quoted or
 * not, with blanks around it or not. */
Test(attach, portable_prefixes_single) {
        static const char *const declarations[] = {
                "PORTABLE_PREFIXES=pfx-a\n",
                "PORTABLE_PREFIXES=\"pfx-a\"\n",
                "PORTABLE_PREFIXES=\" pfx-a\t\"\n",
        };

        for (size_t i = 0; i < ELEMENTSOF(declarations); i++) {
                _cleanup_free_ char *dest = unit_strf("pfx%zu", i), *path = fixture_copy_image("pfx", dest, false),
                                    *osrel = unit_strf("%s/usr/lib/os-release", path),
                                    *text = unit_strf("ID=portabletest\nVERSION_ID=1\n%s", declarations[i]);
                _cleanup_(image_freep) Image *image = NULL;
                _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
                _cleanup_(portable_changes_done) PortableChanges changes = {}, detached = {};
                char *other[] = { (char *) "pfx-b", NULL };
                char *both[] = { (char *) "pfx-a", (char *) "pfx-b", NULL };
                char *shorter[] = { (char *) "pfx", NULL };
                char *good[] = { (char *) "pfx-a", NULL };

                unit_write(osrel, text);
                image = fixture_image(path);

                attach_must_fail(image, other, "default", 0, -EINVAL, SD_BUS_ERROR_INVALID_ARGS);
                attach_must_fail(image, both, "default", 0, -EINVAL, SD_BUS_ERROR_INVALID_ARGS);
                attach_must_fail(image, shorter, "default", 0, -EINVAL, SD_BUS_ERROR_INVALID_ARGS);

                cr_assert(eq(int, fixture_attach(image, good, "default", 0, &changes, &error), 0), "%s",
                          strna(error.message));
                cr_assert(is_regular(ATTACHED "/pfx-a.service"));
                cr_assert(not(fixture_exists(ATTACHED "/pfx-b.service")));
                cr_assert(eq(int, portable_detach(&fx.host, image->path, 0, &detached, &error), 0), "%s",
                          strna(error.message));
        }
}

Test(attach, portable_prefixes_error_message) {
        _cleanup_free_ char *path = fixture_copy_image("pfx", "pfx", false);
        _cleanup_(image_freep) Image *image = fixture_image(path);
        char *bad[] = { (char *) "pfx-c", NULL };
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;

        cr_assert(eq(int, fixture_attach(image, bad, "", 0, NULL, &error), -EINVAL));
        cr_assert(not(zero(ptr, strstr(error.message, "pfx-a"))), "%s", error.message);
        cr_assert(not(zero(ptr, strstr(error.message, "pfx-b"))), "%s", error.message);
        cr_assert(not(zero(ptr, strstr(error.message, "pfx-c"))), "%s", error.message);
}

/* The mount points the shipped profiles need, for read-only images. */
static void add_mount_points(const char *tree) {
        static const char *const dirs[] = { "/proc", "/sys", "/dev", "/run", "/tmp", "/var/tmp" };
        static const char *const files[] = { "/etc/machine-id", "/etc/resolv.conf" };

        for (size_t i = 0; i < ELEMENTSOF(dirs); i++) {
                _cleanup_free_ char *d = unit_strf("%s%s", tree, dirs[i]);
                unit_mkdir_p(d, 0755);
        }
        for (size_t i = 0; i < ELEMENTSOF(files); i++) {
                _cleanup_free_ char *f = unit_strf("%s%s", tree, files[i]);
                unit_write(f, "");
        }
}

static char *raw_foo_with_mount_points(const char *dest) {
        _cleanup_free_ char *tree = fixture_copy_image("foo", "foo-tree", false);
        char *img = unit_strf("%s/%s", fx.images, dest);

        if (geteuid() != 0)
                cr_skip_test("raw images need root");
        add_mount_points(tree);
        unit_make_fs_image("squashfs", tree, img);
        return img;
}

Test(attach, raw_image) {
        _cleanup_free_ char *path = raw_foo_with_mount_points("foo_1.raw"), *svc = NULL, *golden = NULL, *changes = NULL;
        _cleanup_(image_freep) Image *image = fixture_image(path);
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_(portable_changes_done) PortableChanges c = {};

        cr_assert(eq(int, fixture_attach(image, foo_matches, "default", PORTABLE_PREFER_SYMLINK, &c, &error), 0), "%s",
                  strna(error.message));
        svc = fixture_read(ATTACHED "/foo.service.d/20-portable.conf");
        golden = fixture_golden("attach-foo-raw.service.conf");
        assert_str(svc, golden);
        /* Raw images have no host path for their files: units are copied even when symlinks
         * are preferred. */
        cr_assert(is_regular(ATTACHED "/foo.service"));
        changes = fixture_changes(&c);
        cr_assert(not(zero(ptr, strstr(changes, "symlink @ROOT@/etc/portables/foo_1.raw @IMAGES@/foo_1.raw\n"))), "%s", changes);
        cr_assert(zero(ptr, strstr(changes, "symlink @ROOT@/etc/systemd/system.attached/foo.service ")), "%s", changes);
        cr_assert(unit_wait_no_loop(path, 3000));
}

/* On a read-only image, a mount point the profile needs cannot be created at start: refused,
 * naming every missing path and the setting that needs it. */
Test(attach, raw_image_lacking_mount_points) {
        _cleanup_free_ char *path = fixture_raw_image("foo", "foo_1.raw");
        _cleanup_(image_freep) Image *image = fixture_image(path);
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        static const char *const expected[] = {
                "/proc (for MountAPIVFS=yes)", "/sys (for MountAPIVFS=yes)", "/dev (for MountAPIVFS=yes)",
                "/run (for MountAPIVFS=yes)", "/etc/machine-id (for BindReadOnlyPaths=/etc/machine-id)",
        };

        attach_must_fail(image, foo_matches, "default", 0, -ENOENT, SD_BUS_ERROR_INVALID_ARGS);
        cr_assert(eq(int, fixture_attach(image, foo_matches, "strict", 0, NULL, &error), -ENOENT));
        for (size_t i = 0; i < ELEMENTSOF(expected); i++)
                cr_assert(not(zero(ptr, strstr(error.message, expected[i]))), "'%s' not in: %s", expected[i], error.message);
        /* Below the API file systems the service manager creates them itself. */
        cr_assert(zero(ptr, strstr(error.message, "/dev/log")), "%s", error.message);
        cr_assert(zero(ptr, strstr(error.message, "/run/systemd/journal")), "%s", error.message);
        cr_assert(unit_wait_no_loop(path, 3000));
}

Test(attach, raw_image_lacking_mount_points_forced_or_unconfined) {
        _cleanup_free_ char *path = fixture_raw_image("foo", "foo_1.raw");
        _cleanup_(image_freep) Image *image = fixture_image(path);
        _cleanup_(sd_bus_error_free) sd_bus_error e1 = SD_BUS_ERROR_NULL, e2 = SD_BUS_ERROR_NULL;

        cr_assert(eq(int, fixture_attach(image, foo_matches, "", 0, NULL, &e1), 0), "%s", strna(e1.message));
        cr_assert(is_regular(ATTACHED "/foo.service"));
        cr_assert(eq(int, fixture_attach(image, foo_matches, "default", PORTABLE_FORCE_ATTACH, NULL, &e2), 0), "%s",
                  strna(e2.message));
        cr_assert(is_symlink(ATTACHED "/foo.service.d/10-profile.conf"));
}

/* The daemon reads the image with the paths its profile mounts when the call comes, and the
 * profile is read again when the files are written. A profile changed in between is taken as it
 * is then: a path only the old one needed is not held against the image. */
static void attach_after_profile_change(const char *service_conf) {
        _cleanup_free_ char *path = fixture_copy_image("foo", "foo", false),
                            *conf = fixture_path("/etc/systemd/portable/profile/plain/service.conf");
        _cleanup_(image_freep) Image *image = fixture_image(path);
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_(portable_metadata_freep) PortableMetadata *metadata = NULL;
        _cleanup_(portable_changes_done) PortableChanges changes = {};
        char *check_paths[] = { (char *) "/var/lib/only-the-old-profile-mounts-this", NULL };

        cr_assert(eq(int, image_read_metadata_full(image, foo_matches, check_paths, &metadata, &error), 0), "%s",
                  strna(error.message));
        cr_assert(eq(sz, strv_length(metadata->missing), 1));
        image->read_only = true; /* else the service manager would create the path itself */

        fixture_write("/etc/systemd/portable/profile/plain/socket.conf", "[Socket]\n");
        if (service_conf)
                fixture_write("/etc/systemd/portable/profile/plain/service.conf", service_conf);
        else
                cr_assert(eq(int, symlink("/dev/null", conf), 0));

        cr_assert(eq(int, portable_attach(&fx.host, image, metadata, foo_matches, "plain", 0, &changes, &error), 0), "%s",
                  strna(error.message));
        cr_assert(is_regular(ATTACHED "/foo.service"));
}

Test(attach, profile_masked_after_the_image_was_read) {
        attach_after_profile_change(NULL);
}

Test(attach, profile_changed_after_the_image_was_read) {
        attach_after_profile_change("[Service]\nNoNewPrivileges=yes\n");
}

Test(attach, raw_image_without_services_needs_no_mount_points) {
        _cleanup_free_ char *path = fixture_raw_image("foo", "foo_1.raw");
        _cleanup_(image_freep) Image *image = fixture_image(path);
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        char *matches[] = { (char *) "foo-bar", NULL };

        cr_assert(eq(int, fixture_attach(image, matches, "default", 0, NULL, &error), 0), "%s", strna(error.message));
        cr_assert(is_regular(ATTACHED "/foo-bar.socket"));
}

Test(attach, read_only_directory_lacking_mount_points) {
        _cleanup_free_ char *path = fixture_copy_image("foo", "foo", false);
        _cleanup_(image_freep) Image *image = NULL;

        if (unit_run("chattr +i '%s' 2>/dev/null", path) != 0)
                cr_skip_test("cannot make a directory immutable here");
        image = fixture_image(path);
        cr_assert(image->read_only);
        attach_must_fail(image, foo_matches, "default", 0, -ENOENT, SD_BUS_ERROR_INVALID_ARGS);
}

Test(attach, writable_directory_needs_no_mount_points) {
        /* The service manager creates missing mount points in a writable tree itself. */
        _cleanup_(image_freep) Image *image = attach_foo("strict", 0, NULL);
        cr_assert(not(image->read_only));
}

/* Image paths with ':' and non-ASCII bytes are written escaped into the marker. */
Test(attach, path_with_colon_and_non_ascii) {
        _cleanup_free_ char *path = fixture_copy_image("foo", "a:b-\xc3\xbc", false), *svc = NULL, *line = NULL;
        _cleanup_(image_freep) Image *image = fixture_image(path);
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_strv_free_ char **marker = NULL;

        cr_assert(eq(int, fixture_attach(image, foo_matches, "default", 0, NULL, &error), 0), "%s", strna(error.message));
        svc = fixture_read(ATTACHED "/foo.service.d/20-portable.conf");
        line = unit_strf("# Drop-in created for image '%s/a\\x3ab-\\xc3\\xbc', do not edit.\n", fx.images);
        cr_assert(eq(int, strncmp(svc, line, strlen(line)), 0), "%s", svc);
        cr_assert(eq(int, dropin_marker_parse(svc, &marker), 0));
        assert_str(marker[0], path);
}

/* ------------------------------------------------------------------------------- refusals */

Test(attach, unknown_profile_is_an_error) {
        _cleanup_free_ char *path = fixture_copy_image("foo", "foo", false);
        _cleanup_(image_freep) Image *image = fixture_image(path);
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;

        attach_must_fail(image, foo_matches, "defualt", 0, -ENOENT, SD_BUS_ERROR_INVALID_ARGS);
        cr_assert(eq(int, fixture_attach(image, foo_matches, "defualt", 0, NULL, &error), -ENOENT));
        /* The message tells what exists. */
        cr_assert(not(zero(ptr, strstr(error.message, "defualt"))), "%s", error.message);
        cr_assert(not(zero(ptr, strstr(error.message, "default"))), "%s", error.message);
}

Test(attach, invalid_profile_names) {
        static const char *const paths[] = { "../default", "a/b" };
        _cleanup_free_ char *path = fixture_copy_image("foo", "foo", false);
        _cleanup_(image_freep) Image *image = fixture_image(path);

        /* A name with a slash is a profile path (profile.h), which must be absolute. */
        for (size_t i = 0; i < ELEMENTSOF(paths); i++)
                attach_must_fail(image, foo_matches, paths[i], 0, -EINVAL, NULL);
        attach_must_fail(image, foo_matches, "..", 0, -ENOENT, NULL);
        /* An absolute path that does not exist. */
        attach_must_fail(image, foo_matches, "/default", 0, -ENOENT, NULL);
}

Test(attach, profile_without_service_conf) {
        _cleanup_free_ char *t = NULL;

        /* A profile that exists but has only socket.conf: services get no profile drop-in. */
        fixture_write("/etc/systemd/portable/profile/sockets/socket.conf", "[Socket]\n");
        _cleanup_(image_freep) Image *image = attach_foo("sockets", 0, NULL);
        cr_assert(not(fixture_exists(ATTACHED "/foo.service.d/10-profile.conf")));
        t = link_target(ATTACHED "/foo-bar.socket.d/10-profile.conf");
        _cleanup_free_ char *e = fixture_path("/etc/systemd/portable/profile/sockets/socket.conf");
        assert_str(t, e);
}

/* A unit that would act on the host outside the image and its profile is refused with every
 * profile but "trusted" (none, forced, strict), and the host is left alone; "trusted" attaches it. */
Test(attach, unconfined_unit_refused_unless_trusted) {
        _cleanup_free_ char *path = fixture_copy_image("foo", "foo", false),
                            *unit = unit_strf("%s/usr/lib/systemd/system/foo-bar.socket", path);
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL, trusted = SD_BUS_ERROR_NULL;

        unit_write(unit, "[Socket]\nListenStream=/run/foo-bar.sock\nExecStartPre=/bin/true\n");
        _cleanup_(image_freep) Image *image = fixture_image(path);

        attach_must_fail(image, foo_matches, "default", 0, -EPERM, PORTABLE_ERROR_UNIT_NOT_CONFINED);
        attach_must_fail(image, foo_matches, "default", PORTABLE_FORCE_ATTACH, -EPERM, PORTABLE_ERROR_UNIT_NOT_CONFINED);
        attach_must_fail(image, foo_matches, "strict", PORTABLE_PREFER_COPY, -EPERM, PORTABLE_ERROR_UNIT_NOT_CONFINED);
        attach_must_fail(image, foo_matches, "", 0, -EPERM, PORTABLE_ERROR_UNIT_NOT_CONFINED);
        cr_assert(eq(int, fixture_attach(image, foo_matches, "nonetwork", 0, NULL, &error), -EPERM));
        assert_str(error.message, "Unit 'foo-bar.socket', line 3: ExecStartPre= in a socket unit runs on the host, "
                                  "outside the image and its profile; refusing (use --profile=trusted to allow it).");

        cr_assert(eq(int, fixture_attach(image, foo_matches, "trusted", 0, NULL, &trusted), 0), "%s",
                  strna(trusted.message));
        cr_assert(is_regular(ATTACHED "/foo-bar.socket"));
}

Test(attach, already_attached) {
        _cleanup_(image_freep) Image *image = attach_foo("default", 0, NULL);

        attach_must_fail(image, foo_matches, "default", 0, -EEXIST, SYSTEMD_ERROR_UNIT_EXISTS);
        /* Persistent and runtime at once is refused by the same check. */
        attach_must_fail(image, foo_matches, "default", PORTABLE_RUNTIME, -EEXIST, SYSTEMD_ERROR_UNIT_EXISTS);
}

Test(attach, host_unit_conflict) {
        _cleanup_free_ char *path = fixture_copy_image("foo", "foo", false);
        _cleanup_(image_freep) Image *image = fixture_image(path);

        fixture_write("/usr/lib/systemd/system/foo.target", "[Unit]\n# host's own\n");
        attach_must_fail(image, foo_matches, "default", 0, -EEXIST, SYSTEMD_ERROR_UNIT_EXISTS);
}

Test(attach, host_unit_conflict_forced) {
        _cleanup_free_ char *path = fixture_copy_image("foo", "foo", false), *host_unit = NULL;
        _cleanup_(image_freep) Image *image = fixture_image(path);
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;

        fixture_write("/usr/lib/systemd/system/foo.target", "[Unit]\n# host's own\n");
        cr_assert(eq(int, fixture_attach(image, foo_matches, "default", PORTABLE_FORCE_ATTACH, NULL, &error), 0), "%s",
                  strna(error.message));
        host_unit = fixture_read("/usr/lib/systemd/system/foo.target");
        assert_str(host_unit, "[Unit]\n# host's own\n");
        cr_assert(is_regular(ATTACHED "/foo.target"));
}

Test(attach, active_unit_refused) {
        _cleanup_free_ char *path = fixture_copy_image("foo", "foo", false);
        _cleanup_(image_freep) Image *image = fixture_image(path);

        fixture_use_fake_manager();
        fx.active[0] = "foo.path";
        attach_must_fail(image, foo_matches, "default", 0, -EBUSY, SYSTEMD_ERROR_UNIT_EXISTS);
        cr_assert(gt(uint, fx.active_calls, 0));
}

Test(attach, active_unit_forced) {
        _cleanup_free_ char *path = fixture_copy_image("foo", "foo", false);
        _cleanup_(image_freep) Image *image = fixture_image(path);
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;

        fixture_use_fake_manager();
        fx.active[0] = "foo.service";
        cr_assert(eq(int, fixture_attach(image, foo_matches, "default", PORTABLE_FORCE_ATTACH, NULL, &error), 0));
}

/* A host that cannot say yet (the daemon has not asked PID 1 about these units) hears of every
 * unit before the attach gives up, so that PID 1 is asked once about all of them. */
Test(attach, units_not_known_yet_are_all_named) {
        _cleanup_free_ char *path = fixture_copy_image("foo", "foo", false);
        _cleanup_(image_freep) Image *image = fixture_image(path);
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        unsigned n_units;

        fixture_use_fake_manager();
        cr_assert(eq(int, fixture_attach(image, foo_matches, "default", PORTABLE_DRY_RUN, NULL, &error), 0), "%s",
                  strna(error.message));
        n_units = fx.active_calls;
        cr_assert(gt(uint, n_units, 1));

        fx.active_calls = 0;
        fx.active_error = -EAGAIN;
        attach_must_fail(image, foo_matches, "default", 0, -EAGAIN, NULL);
        cr_assert(eq(uint, fx.active_calls, n_units));
}

Test(attach, service_manager_error) {
        _cleanup_free_ char *path = fixture_copy_image("foo", "foo", false);
        _cleanup_(image_freep) Image *image = fixture_image(path);

        fixture_use_fake_manager();
        fx.active_error = -EIO;
        attach_must_fail(image, foo_matches, "default", 0, -EIO, NULL);
}

Test(attach, no_id_in_os_release) {
        _cleanup_free_ char *path = fixture_copy_image("noid", "noid", false);
        _cleanup_(image_freep) Image *image = fixture_image(path);

        attach_must_fail(image, NULL, "default", 0, -ESTALE, NULL);
}

Test(attach, no_os_release) {
        _cleanup_free_ char *path = fixture_copy_image("noosrel", "noosrel", false);
        _cleanup_(image_freep) Image *image = fixture_image(path);

        attach_must_fail(image, NULL, "default", 0, -ENOENT, NULL);
}

Test(attach, no_matching_units) {
        _cleanup_free_ char *path = fixture_copy_image("nounits", "nounits", false);
        _cleanup_(image_freep) Image *image = fixture_image(path);
        char *matches[] = { (char *) "nounits", NULL };

        attach_must_fail(image, matches, "default", 0, -ENOENT, SD_BUS_ERROR_INVALID_ARGS);
}

Test(attach, hostile_image_attaches_nothing) {
        _cleanup_free_ char *path = fixture_copy_image("evil", "evil", false);
        _cleanup_(image_freep) Image *image = fixture_image(path);

        /* Its only units point at /etc/shadow: none is read, so there is nothing to attach. */
        attach_must_fail(image, NULL, "default", 0, -ENOENT, SD_BUS_ERROR_INVALID_ARGS);
}

Test(attach, unsafe_image_path) {
        _cleanup_free_ char *path = fixture_copy_image("foo", "with space", false);
        _cleanup_(image_freep) Image *image = fixture_image(path);

        attach_must_fail(image, foo_matches, "default", 0, -EINVAL, SD_BUS_ERROR_INVALID_ARGS);
}

Test(attach, attached_dir_is_a_file) {
        _cleanup_free_ char *path = fixture_copy_image("foo", "foo", false);
        _cleanup_(image_freep) Image *image = fixture_image(path);

        fixture_write(ATTACHED, "not a directory\n");
        attach_must_fail(image, foo_matches, "default", 0, -ENOTDIR, NULL);
}

/* ------------------------------------------------------------ transactional failures */

Test(attach, leftover_profile_link_rolls_back_everything) {
        _cleanup_free_ char *path = fixture_copy_image("foo", "foo", false);
        _cleanup_(image_freep) Image *image = fixture_image(path);

        /* A leftover of an earlier attachment in the way of the sixth unit (foo.service): the
         * five units before it were already written and must disappear again. */
        fixture_write("/etc/systemd/system/unrelated.service", "[Unit]\n");
        fixture_write(ATTACHED "/foo.service.d/10-profile.conf", "# leftover\n");
        attach_must_fail(image, foo_matches, "default", 0, -EEXIST, SYSTEMD_ERROR_UNIT_EXISTS);
}

Test(attach, directory_in_the_way_rolls_back_even_when_forced) {
        _cleanup_free_ char *path = fixture_copy_image("foo", "foo", false), *d = NULL;
        _cleanup_(image_freep) Image *image = fixture_image(path);

        /* Of the last unit, 20-portable.conf is a directory: even --force cannot replace it. */
        d = fixture_path(ATTACHED "/foo@.service.d/20-portable.conf/inner");
        unit_mkdir_p(d, 0755);
        fixture_write(ATTACHED "/foo@.service.d/20-portable.conf/inner/x", "x\n");
        attach_must_fail(image, foo_matches, "default", PORTABLE_FORCE_ATTACH, -EISDIR, NULL);
}

Test(attach, rollback_with_runtime_and_copy) {
        _cleanup_free_ char *path = fixture_copy_image("foo", "foo", false), *d = NULL;
        _cleanup_(image_freep) Image *image = fixture_image(path);

        d = fixture_path("/run/systemd/system.attached/foo.target.d/20-portable.conf");
        unit_mkdir_p(d, 0755);
        attach_must_fail(image, foo_matches, "trusted", PORTABLE_RUNTIME | PORTABLE_PREFER_COPY, -EISDIR, NULL);
}

Test(attach, force_replaces_leftovers_atomically) {
        _cleanup_free_ char *path = fixture_copy_image("foo", "foo", false), *snap = NULL, *t = NULL, *unit = NULL,
                            *expected = NULL;
        _cleanup_(image_freep) Image *image = fixture_image(path);
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;

        fixture_write(ATTACHED "/foo.service.d/10-profile.conf", "# leftover\n");
        fixture_write(ATTACHED "/foo.service.d/20-portable.conf", "# leftover\n");
        fixture_write(ATTACHED "/foo.service", "# leftover\n");
        cr_assert(eq(int, fixture_attach(image, foo_matches, "default", PORTABLE_FORCE_ATTACH, NULL, &error), 0), "%s",
                  strna(error.message));

        t = link_target(ATTACHED "/foo.service.d/10-profile.conf");
        expected = unit_strf("%s/default/service.conf", fx.profiles);
        assert_str(t, expected);
        unit = fixture_read(ATTACHED "/foo.service");
        cr_assert(zero(ptr, strstr(unit, "leftover")));
        /* No backup left behind. */
        snap = fixture_snapshot();
        cr_assert(zero(ptr, strstr(snap, "/.#")), "%s", snap);
}

Test(attach, leftover_unit_file_without_force) {
        _cleanup_free_ char *path = fixture_copy_image("foo", "foo", false);
        _cleanup_(image_freep) Image *image = fixture_image(path);

        /* A unit file in the attached dir is a unit "that exists". */
        fixture_write(ATTACHED "/foo.target", "# leftover\n");
        attach_must_fail(image, foo_matches, "default", 0, -EEXIST, SYSTEMD_ERROR_UNIT_EXISTS);
}

Test(attach, attach_in_caller_transaction) {
        _cleanup_free_ char *path = fixture_copy_image("foo", "foo", false), *before = fixture_snapshot(), *after = NULL;
        _cleanup_(image_freep) Image *image = fixture_image(path);
        _cleanup_(transaction_done) Transaction t = {};
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;

        /* The step alone only plans: nothing happens until the caller executes the plan. */
        cr_assert(eq(int, transaction_init(&t, NULL, "attach"), 0));
        cr_assert(eq(int, portable_attach_in(&t, &fx.host, image, NULL, foo_matches, "default", 0, &error), 0), "%s",
                  strna(error.message));
        cr_assert(gt(sz, t.changes.n, 0));
        after = fixture_snapshot();
        assert_str(after, before);
        cr_assert(eq(int, transaction_execute(&t, &error), 0), "%s", strna(error.message));
        cr_assert(is_regular(ATTACHED "/foo.service"));
}

/* ------------------------------------------------------------------------------- dry runs */

Test(attach, dry_run_plans_exactly_what_attach_does) {
        _cleanup_free_ char *path = fixture_copy_image("foo", "foo", false), *before = fixture_snapshot(),
                            *after = NULL, *changes = NULL, *golden = unit_golden("attach-foo.changes");
        _cleanup_(image_freep) Image *image = fixture_image(path);
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_(portable_changes_done) PortableChanges c = {};

        cr_assert(eq(int, fixture_attach(image, foo_matches, "default", PORTABLE_DRY_RUN, &c, &error), 0), "%s",
                  strna(error.message));
        changes = fixture_changes(&c);
        assert_str(changes, golden);
        after = fixture_snapshot();
        assert_str(after, before);
}

Test(attach, dry_run_lists_every_conflict) {
        _cleanup_free_ char *path = fixture_copy_image("foo", "foo", false), *before = NULL, *after = NULL,
                            *changes = NULL;
        _cleanup_(image_freep) Image *image = fixture_image(path);
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_(portable_changes_done) PortableChanges c = {};

        fixture_write("/usr/lib/systemd/system/foo.target", "[Unit]\n# host's own\n");
        fixture_use_fake_manager();
        fx.active[0] = "foo.path";
        fx.active[1] = "foo.service";
        before = fixture_snapshot();

        /* Not the first refusal: all of them, and nothing else is planned. */
        cr_assert(eq(int, fixture_attach(image, foo_matches, "default", PORTABLE_DRY_RUN, &c, &error), 0), "%s",
                  strna(error.message));
        changes = fixture_changes(&c);
        assert_str(changes, "conflict foo.path active\nconflict foo.service active\nconflict foo.target exists\n");
        after = fixture_snapshot();
        assert_str(after, before);
}
