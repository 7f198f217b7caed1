/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <criterion/criterion.h>
#include <criterion/new/assert.h>
#include <criterion/parameterized.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dropin.h"
#include "fd-util.h"
#include "os-release.h"
#include "strv.h"
#include "unit-helpers.h"

static char *tmp;
static int dir_fd = -EBADF;

static void setup(void) {
        tmp = unit_mkdtemp("dropin");
        dir_fd = open(tmp, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        cr_assert(dir_fd >= 0);
}

static void teardown(void) {
        dir_fd = safe_close(dir_fd);
        unit_rm_rf(tmp);
        free(tmp);
}

TestSuite(dropin, .init = setup, .fini = teardown);

static char *content_for(ImageType type, const char *path, const char *unit, const char *host_os_release) {
        Image image = { .type = type, .name = (char *) "x", .path = (char *) path };
        char *content = NULL;

        cr_assert(eq(int, dropin_portable_content(&image, unit, host_os_release, NULL, &content), 0), "%s", path);
        cr_assert(not(zero(ptr, content)));
        return content;
}

/* ------------------------------------------------------------------- 20-portable.conf (golden) */

Test(dropin, names) {
        assert_str(DROPIN_PORTABLE_NAME, "20-portable.conf");
        assert_str(DROPIN_PROFILE_NAME, "10-profile.conf");
}

Test(dropin, golden_directory_service) {
        _cleanup_free_ char *c = content_for(IMAGE_DIRECTORY, "/var/lib/portables/foo", "foo.service", "/etc/os-release"),
                            *g = unit_golden("dropin-directory.service.conf");
        assert_str(c, g);
}

Test(dropin, golden_subvolume_is_like_directory) {
        _cleanup_free_ char *c = content_for(IMAGE_SUBVOLUME, "/var/lib/portables/foo", "foo.service", "/etc/os-release"),
                            *g = unit_golden("dropin-directory.service.conf");
        assert_str(c, g);
}

Test(dropin, golden_raw_service) {
        _cleanup_free_ char *c = content_for(IMAGE_RAW, "/var/lib/portables/foo_1.2.raw", "foo@.service",
                                             "/usr/lib/os-release"),
                            *g = unit_golden("dropin-raw.service.conf");
        assert_str(c, g);
}

Test(dropin, golden_block_service) {
        _cleanup_free_ char *c = content_for(IMAGE_BLOCK, "/dev/mapper/portable", "foo@bar.service", "/etc/os-release"),
                            *g = unit_golden("dropin-block.service.conf");
        assert_str(c, g);
}

Test(dropin, golden_marker_only_for_other_types) {
        static const char *const units[] = { "foo.socket", "foo.timer", "foo.path", "foo.target", "foo.service.socket" };
        _cleanup_free_ char *g = unit_golden("dropin-raw.socket.conf");

        for (size_t i = 0; i < ELEMENTSOF(units); i++) {
                _cleanup_free_ char *c = content_for(IMAGE_RAW, "/var/lib/portables/foo_1.2.raw", units[i], "/etc/os-release");
                assert_str(c, g);
        }
}

Test(dropin, golden_escaping) {
        /* ':' and non-ASCII bytes are \x-escaped in the marker only; '%' is doubled in the
         * settings (specifier expansion) but not in the marker (a comment). */
        _cleanup_free_ char *c = content_for(IMAGE_DIRECTORY, "/srv/a:b/\xc3\xbc%x_1", "x.service", "/etc/os-release"),
                            *g = unit_golden("dropin-escaped.service.conf");
        assert_str(c, g);
}

static const char *const unsafe_paths[] = {
        "/srv/with space/foo",
        "/srv/tab\there",
        "/srv/new\nline",
        "/srv/cr\rhere",
        "/srv/quote\"d",
        "/srv/quote'd",
        "/srv/back\\slash",
};

Test(dropin, unsafe_paths_refused_for_services) {
        for (size_t i = 0; i < ELEMENTSOF(unsafe_paths); i++) {
                Image image = { .type = IMAGE_DIRECTORY, .name = (char *) "x", .path = (char *) unsafe_paths[i] };
                char *content = NULL;

                cr_assert(eq(int, dropin_portable_content(&image, "foo.service", "/etc/os-release", NULL, &content), -EINVAL),
                          "case %zu", i);
                cr_assert(zero(ptr, content));
        }
}

Test(dropin, unsafe_paths_fine_for_markers) {
        for (size_t i = 0; i < ELEMENTSOF(unsafe_paths); i++) {
                _cleanup_free_ char *c = content_for(IMAGE_DIRECTORY, unsafe_paths[i], "foo.socket", "/etc/os-release");
                _cleanup_strv_free_ char **paths = NULL;

                /* Only the marker, on one line, and it reads back as the same path. */
                cr_assert(eq(sz, strcspn(c, "\n"), strlen(c) - 1), "marker spans lines: %s", c);
                cr_assert(eq(int, dropin_marker_parse(c, &paths), 0));
                cr_assert(eq(sz, strv_length(paths), 1));
                assert_str(paths[0], unsafe_paths[i]);
        }
}

/* --------------------------------------------------------------------------- marker parsing */

Test(dropin, parse_single) {
        _cleanup_strv_free_ char **p = NULL;

        cr_assert(eq(int, dropin_marker_parse("# Drop-in created for image '/var/lib/portables/foo.raw', do not edit.", &p), 0));
        cr_assert(eq(sz, strv_length(p), 1));
        assert_str(p[0], "/var/lib/portables/foo.raw");
}

Test(dropin, parse_with_extensions_and_rest_of_file) {
        _cleanup_strv_free_ char **p = NULL;

        cr_assert(eq(int, dropin_marker_parse("# Drop-in created for image '/usr/share/minimal_0.raw:/tmp/app0.raw:/tmp/app1', do not edit.\n"
                                               "\n[Service]\nRootImage=/usr/share/minimal_0.raw\n", &p), 0));
        cr_assert(eq(sz, strv_length(p), 3));
        assert_str(p[0], "/usr/share/minimal_0.raw");
        assert_str(p[1], "/tmp/app0.raw");
        assert_str(p[2], "/tmp/app1");
}

Test(dropin, parse_unescapes) {
        _cleanup_strv_free_ char **p = NULL;

        cr_assert(eq(int, dropin_marker_parse("# Drop-in created for image '/srv/a\\x3ab/\\xc3\\xbc:/e\\x5cx', do not edit.", &p), 0));
        cr_assert(eq(sz, strv_length(p), 2));
        assert_str(p[0], "/srv/a:b/\xc3\xbc");
        assert_str(p[1], "/e\\x");
}

Test(dropin, parse_name_instead_of_path) {
        _cleanup_strv_free_ char **p = NULL;

        /* Markers hold paths, but a bare name parses; matching decides what it means. */
        cr_assert(eq(int, dropin_marker_parse("# Drop-in created for image 'foo', do not edit.", &p), 0));
        assert_str(p[0], "foo");
}

static const char *const malformed_markers[] = {
        "",
        "\n",
        "[Service]",
        "# Drop-in created for image '/foo', do not edit",          /* no final '.' */
        "# Drop-in created for image '/foo', do not edit. ",        /* trailing blank */
        "# Drop-in created for image '/foo', do not edit.\r",       /* CRLF */
        "# Drop-in created for image '/foo', do not edit.x",
        " # Drop-in created for image '/foo', do not edit.",
        "# drop-in created for image '/foo', do not edit.",
        "# Drop-in created for image '/foo'",
        "# Drop-in created for image '",
        "# Drop-in created for image ', do not edit.",              /* prefix and suffix share the quote */
        "# Drop-in created for image '', do not edit.",             /* no path */
        "# Drop-in created for image ':/ext.raw', do not edit.",    /* no base image */
        "# Drop-in created for image '/a\\x3', do not edit.",       /* short escape */
        "# Drop-in created for image '/a\\x', do not edit.",
        "# Drop-in created for image '/a\\xzz', do not edit.",
        "# Drop-in created for image '/a\\x00b', do not edit.",     /* would be a NUL */
        "# Drop-in created for image '/a\\q', do not edit.",
        "# Drop-in created for image '/a\\', do not edit.",
        "# Drop-in created for image '/a:/b\\x4', do not edit.",    /* bad escape in an extension */
        "\n# Drop-in created for image '/foo', do not edit.",       /* not the first line */
};

Test(dropin, parse_malformed) {
        _cleanup_free_ char *failed = NULL;

        for (size_t i = 0; i < ELEMENTSOF(malformed_markers); i++) {
                char **p = (char **) 0x1;
                int r = dropin_marker_parse(malformed_markers[i], &p);

                if (r != -EBADMSG)
                        unit_note(&failed, "case %zu '%s': %d", i, malformed_markers[i], r);
                else if (p != (char **) 0x1)
                        unit_note(&failed, "case %zu: output touched on failure", i);
        }
        cr_assert(zero(ptr, failed), "%s", failed);
}

/* Every path written by dropin_portable_content() parses back to itself. */
Test(dropin, content_marker_round_trip) {
        static const char *const paths[] = {
                "/var/lib/portables/foo_1.raw",
                "/tmp/with:colons:/x.raw",
                "/tmp/\xe2\x82\xac/\xc3\xbc\xc3\xb6.raw",
                "/tmp/%n%%",
                "/tmp/quote'in'name",
                "/tmp/\x01\x1f\x7f",
                "/tmp/\xff\xfe not utf-8",
        };

        for (size_t i = 0; i < ELEMENTSOF(paths); i++) {
                _cleanup_free_ char *c = content_for(IMAGE_RAW, paths[i], "foo.socket", "/etc/os-release");
                _cleanup_strv_free_ char **p = NULL;

                cr_assert(eq(int, dropin_marker_parse(c, &p), 0), "%s", c);
                cr_assert(eq(sz, strv_length(p), 1));
                assert_str(p[0], paths[i]);
        }
}

/* -------------------------------------------------------------------------- marker matching */

struct match_case {
        const char *marker;     /* ':'-separated, unescaped */
        const char *request;
        const char *extensions; /* ':'-separated or NULL */
        bool all;
        bool any;
};

static const struct match_case match_cases[] = {
        /* Version-insensitive: foo_1.raw ~ foo_2.raw ~ foo, but not foobar (§4.6 latest). */
        { "/var/lib/portables/foo_1.raw", "foo", NULL, true, true },
        { "/var/lib/portables/foo_1.raw", "foo_2", NULL, true, true },
        { "/var/lib/portables/foo_1.raw", "/srv/foo_2.raw", NULL, true, true },
        { "/var/lib/portables/foo_1.raw", "/srv/foo", NULL, true, true },
        { "/var/lib/portables/foo_1.raw", "/srv/foo/", NULL, true, true },
        { "/var/lib/portables/foo_1.raw", "foo.raw", NULL, true, true },
        { "/var/lib/portables/foo_1.raw", "foo+3", NULL, true, true },
        { "/var/lib/portables/foo.raw", "foo", NULL, true, true },
        { "/srv/foo", "foo_1", NULL, true, true },
        { "/var/lib/portables/foo_1.raw", "foobar", NULL, false, false },
        { "/var/lib/portables/foobar_1.raw", "foo", NULL, false, false },
        { "/var/lib/portables/foobar_1.raw", "foo_1", NULL, false, false },  /* v252 would match this */
        { "/var/lib/portables/foo_1.raw", "fo", NULL, false, false },
        { "/var/lib/portables/foo_x.raw", "foo", NULL, true, true },
        { "/var/lib/portables/foo-x.raw", "foo", NULL, false, false },
        { "/srv/foo.raw/", "foo", NULL, false, false },   /* a directory named foo.raw is "foo.raw" */
        { "/srv/a:b/\xc3\xbc_1.raw", "/elsewhere/\xc3\xbc_2.raw", NULL, true, true },
        { "/srv/_1.raw", "_2", NULL, false, false },      /* invalid keys never match */
        /* Extensions: all components, in order, same count for detach; any one for state. */
        { "/base_1.raw:/ext/app_1.raw", "base", "app", true, true },
        { "/base_1.raw:/ext/app_1.raw", "base", "/x/app_3.raw", true, true },
        { "/base_1.raw:/ext/app_1.raw", "base", NULL, false, true },
        { "/base_1.raw:/ext/app_1.raw", "app", NULL, false, true },
        { "/base_1.raw:/ext/app_1.raw", "base", "other", false, true },
        { "/base_1.raw:/ext/app_1.raw", "other", "app", false, true },
        { "/base_1.raw:/ext/app_1.raw", "app", "base", false, false },
        { "/base_1.raw", "base", "app", false, true },
        { "/base_1.raw:/a.raw:/b.raw", "base", "a:b", true, true },
        { "/base_1.raw:/a.raw:/b.raw", "base", "b:a", false, true },
        { "/base_1.raw:/a.raw:/b.raw", "other", "x:y", false, false },
};

static char **split_colon(const char *s) {
        char **l = NULL;

        if (!s)
                return NULL;
        cr_assert(eq(int, strv_split(s, ":", &l), 0));
        return l;
}

UNIT_TABLE_TEST(dropin, marker_matches, match_cases) {
        const struct match_case *c = &match_cases[*i];
        _cleanup_strv_free_ char **marker = NULL, **ext = split_colon(c->extensions);

        /* Split on ':' by hand: the "a:b" directory in one case must stay whole. */
        if (strstr(c->marker, "/srv/a:b/")) {
                cr_assert(eq(int, strv_extend(&marker, c->marker), 0));
        } else
                marker = split_colon(c->marker);

        cr_assert(eq(int, dropin_marker_matches(marker, c->request, ext, MARKER_MATCH_ALL), c->all),
                  "case %zu (all): '%s' vs '%s' + '%s'", *i, c->marker, c->request, strna(c->extensions));
        cr_assert(eq(int, dropin_marker_matches(marker, c->request, ext, MARKER_MATCH_ANY), c->any),
                  "case %zu (any): '%s' vs '%s' + '%s'", *i, c->marker, c->request, strna(c->extensions));
}

Test(dropin, empty_marker_matches_nothing) {
        char *empty[] = { NULL };

        cr_assert(not(dropin_marker_matches(empty, "foo", NULL, MARKER_MATCH_ALL)));
        cr_assert(not(dropin_marker_matches(empty, "foo", NULL, MARKER_MATCH_ANY)));
        cr_assert(not(dropin_marker_matches(NULL, "foo", NULL, MARKER_MATCH_ANY)));
}

/* ------------------------------------------------------------------------- reading markers */

static void put(const char *rel, const char *content) {
        _cleanup_free_ char *p = unit_strf("%s/%s", tmp, rel);
        unit_write(p, content);
}

static int read_marker(const char *unit, char ***ret) {
        return dropin_read_marker(dir_fd, unit, ret);
}

Test(dropin, read_marker) {
        _cleanup_strv_free_ char **p = NULL;
        _cleanup_free_ char *c = content_for(IMAGE_DIRECTORY, "/var/lib/portables/foo", "foo.service", "/etc/os-release");

        put("foo.service.d/20-portable.conf", c);
        cr_assert(eq(int, read_marker("foo.service", &p), 1));
        cr_assert(eq(sz, strv_length(p), 1));
        assert_str(p[0], "/var/lib/portables/foo");
}

Test(dropin, read_marker_absent) {
        char **p = (char **) 0x1;

        cr_assert(eq(int, read_marker("foo.service", &p), 0));
        put("foo.service.d/10-profile.conf", "[Service]\n");
        cr_assert(eq(int, read_marker("foo.service", &p), 0));
        put("bar.service.d", "a file, not a directory\n");
        cr_assert(eq(int, read_marker("bar.service", &p), 0));
        cr_assert(eq(ptr, p, (char **) 0x1));
}

Test(dropin, read_marker_not_a_marker) {
        char **p = NULL;

        put("a.service.d/20-portable.conf", "[Service]\nRootDirectory=/foo\n");
        put("b.service.d/20-portable.conf", "");
        put("c.service.d/20-portable.conf", "\n# Drop-in created for image '/foo', do not edit.\n");
        put("d.service.d/20-portable.conf", "# Drop-in created for image '/foo\\x', do not edit.\n");
        cr_assert(eq(int, read_marker("a.service", &p), 0));
        cr_assert(eq(int, read_marker("b.service", &p), 0));
        cr_assert(eq(int, read_marker("c.service", &p), 0));
        cr_assert(eq(int, read_marker("d.service", &p), 0));
        cr_assert(zero(ptr, p));
}

Test(dropin, read_marker_symlink_not_followed) {
        char **p = NULL;
        _cleanup_free_ char *elsewhere = unit_strf("%s/elsewhere.conf", tmp), *link = unit_strf("%s/x.service.d/20-portable.conf", tmp);

        /* A planted link must not make someone else's unit look like ours. */
        unit_write(elsewhere, "# Drop-in created for image '/var/lib/portables/foo', do not edit.\n");
        unit_symlink(elsewhere, link);
        cr_assert(eq(int, read_marker("x.service", &p), 0));
        cr_assert(zero(ptr, p));
}

Test(dropin, read_marker_fifo_does_not_block) {
        char **p = NULL;
        _cleanup_free_ char *d = unit_strf("%s/x.service.d", tmp), *f = unit_strf("%s/20-portable.conf", d);

        unit_mkdir_p(d, 0755);
        cr_assert(eq(int, mkfifo(f, 0644), 0));
        cr_assert(eq(int, read_marker("x.service", &p), 0));
        cr_assert(zero(ptr, p));
}

Test(dropin, read_marker_long_non_ascii_path) {
        _cleanup_strv_free_ char **p = NULL;
        _cleanup_free_ char *path = unit_strf("%s", ""), *c = NULL;

        /* 30 components of 35 "ü": 2131 bytes, well within PATH_MAX, but four times as long
         * once escaped in the marker (~8.5 KiB). */
        for (int i = 0; i < 30; i++) {
                char *n = unit_strf("%s/", path);
                free(path);
                path = n;
                for (int k = 0; k < 35; k++) {
                        n = unit_strf("%s\xc3\xbc", path);
                        free(path);
                        path = n;
                }
        }
        cr_assert(lt(sz, strlen(path), 4096));
        c = content_for(IMAGE_DIRECTORY, path, "foo.service", "/etc/os-release");
        put("foo.service.d/20-portable.conf", c);

        /* Regression: only the first 8191 bytes used to be read, so such a marker was not
         * recognised and the unit could never be detached. */
        cr_assert(eq(int, read_marker("foo.service", &p), 1));
        assert_str(p[0], path);
}

Test(dropin, read_marker_huge_file) {
        _cleanup_free_ char *p = unit_strf("%s/big.service.d/20-portable.conf", tmp), *junk = malloc(4 * MIB);
        char **paths = NULL;

        /* A hostile or broken drop-in of 4 MiB without a line end: no marker, no hang. */
        cr_assert(junk != NULL);
        memset(junk, 'x', 4 * MIB);
        memcpy(junk, DROPIN_MARKER_PREFIX, strlen(DROPIN_MARKER_PREFIX));
        unit_write_data(p, junk, 4 * MIB, 0644);
        cr_assert(eq(int, read_marker("big.service", &paths), 0));
        cr_assert(zero(ptr, paths));
}

/* ------------------------------------------------------------ stacked images (extensions) */

static char **pairs(const char *s) {
        char **p = NULL;

        cr_assert(eq(int, os_release_parse(s, strlen(s), &p), 0));
        return p;
}

static Image root_dir = { .type = IMAGE_DIRECTORY, .name = (char *) "rootdir", .path = (char *) "/var/lib/portables/rootdir" };
static Image root_raw = { .type = IMAGE_RAW, .name = (char *) "minimal_0", .path = (char *) "/usr/share/minimal_0.raw" };
static Image app0_dir = { .type = IMAGE_DIRECTORY, .name = (char *) "app0", .path = (char *) "/tmp/app0" };
static Image app0_raw = { .type = IMAGE_RAW, .name = (char *) "app0", .path = (char *) "/tmp/app0.raw" };
static Image app1_raw = { .type = IMAGE_RAW, .name = (char *) "app1_2", .path = (char *) "/tmp/app1_2.raw" };

#define ROOT_OS_RELEASE "ID=debian\nVERSION_ID=12\nPORTABLE_PREFIXES=app\n"
#define APP0_RELEASE "ID=debian\nVERSION_ID=12\nSYSEXT_IMAGE_ID=app\n"
#define APP1_RELEASE "ID=debian\nSYSEXT_IMAGE_ID=app\nSYSEXT_IMAGE_VERSION=1\nCONFEXT_ID=conf\n"

static char *stack_content(const DropinStack *stack, const char *unit, size_t origin) {
        char *c = NULL;

        cr_assert(eq(int, dropin_portable_content_stack(stack, unit, origin, &c), 0), "%s", unit);
        cr_assert(not(zero(ptr, c)));
        return c;
}

Test(dropin, golden_extension_directory_on_directory) {
        _cleanup_strv_free_ char **osr = pairs(ROOT_OS_RELEASE), **r0 = pairs(APP0_RELEASE);
        const DropinLayer ext[] = { { .image = &app0_dir, .release = r0 } };
        const DropinStack s = {
                .root = { .image = &root_dir, .release = osr },
                .extensions = ext, .n_extensions = 1,
                .host_os_release = "/etc/os-release",
        };
        _cleanup_free_ char *c = stack_content(&s, "app0.service", 1), *g = unit_golden("dropin-ext-dir-dir.service.conf");

        assert_str(c, g);
}

Test(dropin, golden_two_raw_extensions_on_raw) {
        _cleanup_strv_free_ char **osr = pairs(ROOT_OS_RELEASE), **r0 = pairs(APP0_RELEASE), **r1 = pairs(APP1_RELEASE);
        const DropinLayer ext[] = { { .image = &app0_raw, .release = r0 }, { .image = &app1_raw, .release = r1 } };
        const DropinStack s = {
                .root = { .image = &root_raw, .release = osr },
                .extensions = ext, .n_extensions = 2,
                .host_os_release = "/etc/os-release",
        };
        /* A unit of the root image runs on the whole stack too, with PORTABLE= naming the root. */
        _cleanup_free_ char *c = stack_content(&s, "minimal-app0.service", 0),
                            *g = unit_golden("dropin-ext-raw-raw-raw.service.conf"),
                            *socket = stack_content(&s, "app1.socket", 2),
                            *gs = unit_golden("dropin-ext-raw-raw-raw.socket.conf");

        assert_str(c, g);
        /* Other unit types: the marker alone, naming every layer. */
        assert_str(socket, gs);
}

Test(dropin, golden_mixed_with_force) {
        _cleanup_strv_free_ char **osr = pairs(ROOT_OS_RELEASE), **r0 = pairs(APP0_RELEASE), **r1 = pairs(APP1_RELEASE);
        const DropinLayer ext[] = { { .image = &app0_dir, .release = r0 }, { .image = &app1_raw, .release = r1 } };
        const DropinStack s = {
                .root = { .image = &root_raw, .release = osr },
                .extensions = ext, .n_extensions = 2,
                .force_extension = true,
                .host_os_release = "/usr/lib/os-release",
        };
        /* The relax option goes on the raw extension only: ExtensionDirectories= has none. */
        _cleanup_free_ char *c = stack_content(&s, "app1.service", 2), *g = unit_golden("dropin-ext-mixed-force.service.conf");

        assert_str(c, g);
}

Test(dropin, golden_force_raw_extension_on_directory) {
        const DropinLayer ext[] = { { .image = &app0_raw } };
        const DropinStack s = {
                .root = { .image = &root_dir },
                .extensions = ext, .n_extensions = 1,
                .force_extension = true,
                .host_os_release = "/etc/os-release",
        };
        _cleanup_free_ char *c = stack_content(&s, "app0.service", 1), *g = unit_golden("dropin-ext-force-raw.service.conf");

        assert_str(c, g);
}

Test(dropin, golden_root_release_without_extensions) {
        _cleanup_strv_free_ char **osr = pairs(ROOT_OS_RELEASE);
        const DropinStack s = { .root = { .image = &root_raw, .release = osr }, .host_os_release = "/etc/os-release" };
        _cleanup_free_ char *c = stack_content(&s, "minimal-app0.service", 0), *g = unit_golden("dropin-raw-release.service.conf");

        assert_str(c, g);
}

Test(dropin, base_only_stack_is_the_plain_content) {
        const DropinStack s = { .root = { .image = &root_raw }, .host_os_release = "/etc/os-release" };
        _cleanup_free_ char *a = stack_content(&s, "foo.service", 0), *b = content_for(IMAGE_RAW, root_raw.path, "foo.service", "/etc/os-release");

        assert_str(a, b);
}

Test(dropin, relax_for_release_files_systemd_252_does_not_find) {
        const DropinLayer ext[] = {
                { .image = &app0_raw, .relax_release_check = true },
                { .image = &app0_dir, .relax_release_check = true },
                { .image = &app1_raw },
        };
        const DropinStack s = { .root = { .image = &root_raw }, .extensions = ext, .n_extensions = 3, .host_os_release = "/etc/os-release" };
        _cleanup_free_ char *c = stack_content(&s, "app0.service", 1);

        cr_assert(not(zero(ptr, strstr(c, "\nExtensionImages=/tmp/app0.raw:x-systemd.relax-extension-release-check\n"))), "%s", c);
        cr_assert(not(zero(ptr, strstr(c, "\nExtensionDirectories=/tmp/app0\n"))), "%s", c);
        cr_assert(not(zero(ptr, strstr(c, "\nExtensionImages=/tmp/app1_2.raw\n"))), "%s", c);
}

Test(dropin, release_values_that_are_unsafe_are_left_out) {
        /* A newline would add a setting, a blank split the value, a quote or backslash be
         * interpreted: such values are dropped, the rest of the line kept. '%' is doubled. */
        static const char *const releases[] = {
                "SYSEXT_IMAGE_ID=app\nSYSEXT_IMAGE_VERSION=\"1\\nExecStartPre=/bin/evil\"\n",
                "SYSEXT_IMAGE_ID=app\nSYSEXT_IMAGE_VERSION=\"1 2\"\n",
                "SYSEXT_IMAGE_ID=app\nSYSEXT_IMAGE_VERSION=\"1\\\"\"\n",
                "SYSEXT_IMAGE_ID=app\nSYSEXT_IMAGE_VERSION='1\\'\n",
                "SYSEXT_IMAGE_ID=app\nSYSEXT_IMAGE_VERSION=\"1\x01\"\n",
                "SYSEXT_IMAGE_ID=app\nSYSEXT_IMAGE_VERSION=\"\xff\"\n",
        };

        for (size_t i = 0; i < ELEMENTSOF(releases); i++) {
                _cleanup_strv_free_ char **r = pairs(releases[i]);
                const DropinLayer ext[] = { { .image = &app0_raw, .release = r } };
                const DropinStack s = { .root = { .image = &root_raw }, .extensions = ext, .n_extensions = 1, .host_os_release = "/etc/os-release" };
                _cleanup_free_ char *c = stack_content(&s, "app0.service", 1);

                cr_assert(not(zero(ptr, strstr(c, "\nLogExtraFields=PORTABLE_EXTENSION_NAME_AND_VERSION=app\n"))), "case %zu: %s", i, c);
                cr_assert(zero(ptr, strstr(c, "evil")), "case %zu: %s", i, c);
                cr_assert(eq(sz, strlen(c), strcspn(c, "\x01\xff\"\\")), "case %zu: %s", i, c);
        }

        _cleanup_strv_free_ char **r = pairs("SYSEXT_ID=a%b\nSYSEXT_VERSION_ID=7\n");
        const DropinLayer ext[] = { { .image = &app0_raw, .release = r } };
        const DropinStack s = { .root = { .image = &root_raw }, .extensions = ext, .n_extensions = 1, .host_os_release = "/etc/os-release" };
        _cleanup_free_ char *c = stack_content(&s, "app0.service", 1);
        cr_assert(not(zero(ptr, strstr(c, "\nLogExtraFields=PORTABLE_EXTENSION_NAME_AND_VERSION=a%%b_7\n"))), "%s", c);
}

Test(dropin, name_and_version_key_preference) {
        static const struct {
                const char *release;
                const char *line; /* NULL: no line */
        } cases[] = {
                { "ID=debian\nVERSION_ID=12\n", "PORTABLE_NAME_AND_VERSION=debian_12" },
                { "IMAGE_ID=img\nID=debian\nIMAGE_VERSION=3\nVERSION_ID=12\nBUILD_ID=b\n", "PORTABLE_NAME_AND_VERSION=img_3" },
                { "ID=debian\nBUILD_ID=b\n", "PORTABLE_NAME_AND_VERSION=debian_b" },
                { "VERSION_ID=12\n", "PORTABLE_NAME_AND_VERSION=12" },
                { "ID=debian\n", "PORTABLE_NAME_AND_VERSION=debian" },
                { "ID=\nVERSION_ID=\nNAME=x\n", NULL },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                _cleanup_strv_free_ char **r = pairs(cases[i].release);
                const DropinStack s = { .root = { .image = &root_raw, .release = r }, .host_os_release = "/etc/os-release" };
                _cleanup_free_ char *c = stack_content(&s, "a.service", 0), *want = NULL;

                if (!cases[i].line) {
                        cr_assert(zero(ptr, strstr(c, "NAME_AND_VERSION")), "case %zu: %s", i, c);
                        continue;
                }
                want = unit_strf("\nLogExtraFields=%s\n", cases[i].line);
                cr_assert(not(zero(ptr, strstr(c, want))), "case %zu: %s", i, c);
        }
}

Test(dropin, extension_paths_that_cannot_be_written) {
        Image colon_raw = { .type = IMAGE_RAW, .name = (char *) "a", .path = (char *) "/tmp/x:y/a.raw" };
        Image colon_dir = { .type = IMAGE_DIRECTORY, .name = (char *) "a", .path = (char *) "/tmp/x:y/a" };
        Image space_dir = { .type = IMAGE_DIRECTORY, .name = (char *) "a", .path = (char *) "/tmp/x y/a" };
        Image relative = { .type = IMAGE_DIRECTORY, .name = (char *) "a", .path = (char *) "tmp/a" };
        const DropinLayer bad[] = { { .image = &colon_raw } }, bad2[] = { { .image = &space_dir } },
                          bad3[] = { { .image = &relative } };
        const DropinLayer ok[] = { { .image = &colon_dir } };
        DropinStack s = { .root = { .image = &root_raw }, .extensions = bad, .n_extensions = 1, .host_os_release = "/etc/os-release" };
        _cleanup_strv_free_ char **paths = NULL;
        char *c = NULL;

        /* ExtensionImages= takes mount options after ':'. */
        cr_assert(eq(int, dropin_portable_content_stack(&s, "a.service", 1, &c), -EINVAL));
        cr_assert(zero(ptr, c));
        s.extensions = bad2;
        cr_assert(eq(int, dropin_portable_content_stack(&s, "a.service", 1, &c), -EINVAL));
        cr_assert(zero(ptr, c));
        s.extensions = bad3;
        cr_assert(eq(int, dropin_portable_content_stack(&s, "a.service", 1, &c), -EINVAL));
        cr_assert(zero(ptr, c));

        /* ExtensionDirectories= does not, and the marker escapes it. */
        s.extensions = ok;
        c = stack_content(&s, "a.service", 1);
        cr_assert(not(zero(ptr, strstr(c, "\nExtensionDirectories=/tmp/x:y/a\n"))), "%s", c);
        cr_assert(eq(int, dropin_marker_parse(c, &paths), 0));
        cr_assert(eq(sz, strv_length(paths), 2));
        assert_str(paths[1], "/tmp/x:y/a");
        free(c);

        /* Markers of other unit types never refuse a path. */
        s.extensions = bad;
        c = stack_content(&s, "a.socket", 1);
        free(c);
}

Test(dropin, origin_out_of_range) {
        const DropinLayer ext[] = { { .image = &app0_raw } };
        const DropinStack s = { .root = { .image = &root_raw }, .extensions = ext, .n_extensions = 1, .host_os_release = "/etc/os-release" };
        char *c = NULL;

        cr_assert(eq(int, dropin_portable_content_stack(&s, "a.service", 2, &c), -EINVAL));
        cr_assert(zero(ptr, c));
}

/* Written by us, read back, matched: the same combination matches, any other does not. */
Test(dropin, marker_round_trip_with_extensions) {
        Image odd = { .type = IMAGE_RAW, .name = (char *) "app2", .path = (char *) "/srv/with:colon/app2_5.raw" };
        const DropinLayer ext[] = { { .image = &app0_raw }, { .image = &app0_dir }, { .image = &odd } };
        const DropinStack s = { .root = { .image = &root_dir }, .extensions = ext, .n_extensions = 3, .host_os_release = "/etc/os-release" };
        _cleanup_strv_free_ char **marker = NULL, **same = NULL, **versions = NULL, **fewer = NULL, **other = NULL,
                                 **swapped = NULL, **more = NULL;
        _cleanup_free_ char *c = stack_content(&s, "app0.socket", 1);

        put("app0.socket.d/20-portable.conf", c);
        cr_assert(eq(int, read_marker("app0.socket", &marker), 1));
        cr_assert(eq(sz, strv_length(marker), 4));
        assert_str(marker[0], "/var/lib/portables/rootdir");
        assert_str(marker[1], "/tmp/app0.raw");
        assert_str(marker[2], "/tmp/app0");
        assert_str(marker[3], "/srv/with:colon/app2_5.raw");

        cr_assert(eq(int, strv_extend(&same, "/tmp/app0.raw"), 0));
        cr_assert(eq(int, strv_extend(&same, "/tmp/app0"), 0));
        cr_assert(eq(int, strv_extend(&same, "/srv/with:colon/app2_5.raw"), 0));
        cr_assert(dropin_marker_matches(marker, "/var/lib/portables/rootdir", same, MARKER_MATCH_ALL));
        cr_assert(dropin_marker_matches(marker, "rootdir", same, MARKER_MATCH_ANY));

        /* Names and other versions of the same layers. */
        cr_assert(eq(int, strv_split("app0:app0_3:/elsewhere/app2_6.raw", ":", &versions), 0));
        cr_assert(dropin_marker_matches(marker, "rootdir_2", versions, MARKER_MATCH_ALL));

        /* Only the root, or not all extensions: someone else's combination. */
        cr_assert(not(dropin_marker_matches(marker, "rootdir", NULL, MARKER_MATCH_ALL)));
        cr_assert(eq(int, strv_split("app0:app0", ":", &fewer), 0));
        cr_assert(not(dropin_marker_matches(marker, "rootdir", fewer, MARKER_MATCH_ALL)));
        cr_assert(eq(int, strv_split("app0:app0:app2:app3", ":", &more), 0));
        cr_assert(not(dropin_marker_matches(marker, "rootdir", more, MARKER_MATCH_ALL)));
        cr_assert(eq(int, strv_split("app0:app0:app3", ":", &other), 0));
        cr_assert(not(dropin_marker_matches(marker, "rootdir", other, MARKER_MATCH_ALL)));
        cr_assert(not(dropin_marker_matches(marker, "otherroot", same, MARKER_MATCH_ALL)));
        cr_assert(eq(int, strv_split("app2:app0:app0", ":", &swapped), 0));
        cr_assert(not(dropin_marker_matches(marker, "rootdir", swapped, MARKER_MATCH_ALL)));

        /* State queries: the root alone finds the unit. */
        cr_assert(dropin_marker_matches(marker, "rootdir", NULL, MARKER_MATCH_ANY));
        cr_assert(not(dropin_marker_matches(marker, "otherroot", NULL, MARKER_MATCH_ANY)));
}

/* The golden drop-ins are what systemd 252 reads: check them with its own parser when it is
 * there (Debian 12 ships it), so that a setting it does not know or a value it cannot parse
 * shows up as a warning. */
Test(dropin, goldens_accepted_by_systemd_analyze) {
        static const char *const goldens[] = {
                "dropin-ext-dir-dir.service.conf",
                "dropin-ext-raw-raw-raw.service.conf",
                "dropin-ext-mixed-force.service.conf",
                "dropin-ext-force-raw.service.conf",
                "dropin-raw-release.service.conf",
                "dropin-directory.service.conf",
                "dropin-raw.service.conf",
                "dropin-escaped.service.conf",
        };

        if (!unit_have_program("systemd-analyze"))
                cr_skip_test("systemd-analyze not installed");

        for (size_t i = 0; i < ELEMENTSOF(goldens); i++) {
                _cleanup_free_ char *g = unit_golden(goldens[i]), *d = unit_strf("%s/v%zu", tmp, i),
                                    *unit = unit_strf("%s/t.service", d), *dropin = unit_strf("%s/t.service.d/20-portable.conf", d),
                                    *log = unit_strf("%s/log", d), *out = NULL;

                unit_write(unit, "[Service]\nExecStart=/bin/true\n");
                unit_write(dropin, g);
                cr_assert(eq(int, unit_run("SYSTEMD_UNIT_PATH='%s': systemd-analyze verify --man=no '%s' >'%s' 2>&1", d, unit, log), 0),
                          "%s", goldens[i]);
                out = unit_read(log);
                cr_assert(not(zero(ptr, out)));
                /* Only complaints about our drop-in count: the host's own units are not ours. */
                cr_assert(zero(ptr, strstr(out, "20-portable.conf")), "%s: %s", goldens[i], out);
        }
}

/* ---------------------------------------------------------------------- pinned image policies */

Test(dropin, golden_raw_with_pinned_policy) {
        Image image = { .type = IMAGE_RAW, .name = (char *) "foo_1.2", .path = (char *) "/var/lib/portables/foo_1.2.raw" };
        _cleanup_free_ char *c = NULL, *socket = NULL, *g = unit_golden("dropin-raw-policy.service.conf"),
                            *gs = unit_golden("dropin-raw.socket.conf");

        cr_assert(eq(int, dropin_portable_content(&image, "foo.service", "/etc/os-release", "root=signed+squashfs:=absent",
                                                  &c), 0));
        assert_str(c, g);
        /* Units other than services carry the marker alone. */
        cr_assert(eq(int, dropin_portable_content(&image, "foo.socket", "/etc/os-release", "root=signed+squashfs:=absent",
                                                  &socket), 0));
        assert_str(socket, gs);
}

Test(dropin, no_policy_for_directories) {
        Image image = { .type = IMAGE_DIRECTORY, .name = (char *) "foo", .path = (char *) "/var/lib/portables/foo" };
        _cleanup_free_ char *c = NULL, *g = unit_golden("dropin-directory.service.conf");

        cr_assert(eq(int, dropin_portable_content(&image, "foo.service", "/etc/os-release", "root=squashfs:=absent", &c), 0));
        assert_str(c, g);
}

Test(dropin, unsafe_policy_refused) {
        Image image = { .type = IMAGE_RAW, .name = (char *) "foo", .path = (char *) "/var/lib/portables/foo.raw" };
        char *c = NULL;

        cr_assert(eq(int, dropin_portable_content(&image, "foo.service", "/etc/os-release", "root=squashfs\nExecStart=/x", &c),
                     -EINVAL));
        cr_assert(zero(ptr, c));
}

Test(dropin, golden_extension_policy_on_raw_extensions_only) {
        const DropinLayer ext[] = { { .image = &app0_dir }, { .image = &app1_raw } };
        const DropinStack s = {
                .root = { .image = &root_raw, .image_policy = "root=verity+squashfs:=absent" },
                .extensions = ext, .n_extensions = 2,
                .host_os_release = "/etc/os-release",
                .extension_image_policy = "root=squashfs:usr=erofs:=absent",
        };
        _cleanup_free_ char *c = stack_content(&s, "app1.service", 2), *g = unit_golden("dropin-ext-policy.service.conf");

        assert_str(c, g);
}
