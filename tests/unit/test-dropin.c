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

        cr_assert(eq(int, dropin_portable_content(&image, unit, host_os_release, &content), 0), "%s", path);
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

                cr_assert(eq(int, dropin_portable_content(&image, "foo.service", "/etc/os-release", &content), -EINVAL),
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

UNIT_TABLE_PARAMETERS(dropin, marker_matches, match_cases);

static char **split_colon(const char *s) {
        char **l = NULL;

        if (!s)
                return NULL;
        cr_assert(eq(int, strv_split(s, ":", &l), 0));
        return l;
}

ParameterizedTest(size_t *i, dropin, marker_matches) {
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
