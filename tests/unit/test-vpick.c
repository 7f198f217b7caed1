/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <criterion/criterion.h>
#include <criterion/new/assert.h>
#include <fcntl.h>
#include <limits.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fd-util.h"
#include "vpick.h"
#include "unit-helpers.h"

static char *tmp;

static void setup(void) {
        tmp = unit_mkdtemp("vpick");
}

static void teardown(void) {
        unit_rm_rf(tmp);
        free(tmp);
}

TestSuite(vpick, .init = setup, .fini = teardown);

static const char *native(void) {
        return architecture_to_string(architecture_native());
}

/* A name for an architecture that is neither native nor secondary here. */
static const char *foreign(void) {
        return architecture_native() == ARCHITECTURE_S390X || architecture_secondary() == ARCHITECTURE_S390X ? "riscv64"
                                                                                                               : "s390x";
}

/* Creates entries in dir: "name" is a regular file, "name/" a directory, "@name" a symlink to
 * the first entry. */
static char *make_dir(const char *dir_name, const char *const *entries, size_t n) {
        char *dir = unit_strf("%s/%s", tmp, dir_name);

        unit_mkdir_p(dir, 0755);
        for (size_t i = 0; i < n; i++) {
                _cleanup_free_ char *p = NULL;
                size_t l = strlen(entries[i]);

                if (entries[i][0] == '@') {
                        p = unit_strf("%s/%s", dir, entries[i] + 1);
                        unit_symlink(entries[0], p);
                } else if (entries[i][l - 1] == '/') {
                        p = unit_strf("%s/%.*s", dir, (int) l - 1, entries[i]);
                        unit_mkdir_p(p, 0755);
                } else {
                        p = unit_strf("%s/%s", dir, entries[i]);
                        unit_write(p, "image");
                }
        }
        return dir;
}

static int pick(const char *dir, const char *basename, VPickKind kinds, VPickResult *ret) {
        _cleanup_close_ int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

        cr_assert(fd >= 0);
        return vpick_pick(fd, basename, kinds, ret);
}

static void assert_picks(const char *const *entries, size_t n, VPickKind kinds, const char *expected) {
        _cleanup_free_ char *dir = make_dir("foo.v", entries, n);
        _cleanup_(vpick_result_done) VPickResult r = VPICK_RESULT_NULL;

        cr_assert(eq(int, pick(dir, "foo", kinds, &r), 1), "nothing picked, expected %s", expected);
        assert_str(r.name, expected);
        cr_assert(ge(int, r.fd, 0));
}

Test(vpick, parse_dir_names) {
        static const struct {
                const char *name, *basename;
                VPickKind kinds;
        } ok[] = {
                { "foo.raw.v", "foo", VPICK_RAW },
                { "foo.raw.v/", "foo", VPICK_RAW },
                { "foo.v", "foo", VPICK_ANY },
                { "foo.v/", "foo", VPICK_ANY },
                { "my-app.v", "my-app", VPICK_ANY },
        };
        static const char *const bad[] = { "foo", "foo.raw", ".v", ".raw.v", "foo.vv", "", "/", "a/b.v" };

        for (size_t i = 0; i < ELEMENTSOF(ok); i++) {
                _cleanup_free_ char *b = NULL;
                VPickKind k;

                cr_assert(eq(int, vpick_parse_dir_name(ok[i].name, &b, &k), 0), "%s", ok[i].name);
                assert_str(b, ok[i].basename);
                cr_assert(eq(int, k, ok[i].kinds), "%s", ok[i].name);
        }
        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                _cleanup_free_ char *b = NULL;
                VPickKind k;

                cr_assert(eq(int, vpick_parse_dir_name(bad[i], &b, &k), -EINVAL), "'%s'", bad[i]);
        }

        cr_assert(vpick_path_is_versioned("/var/lib/portables/foo.raw.v"));
        cr_assert(vpick_path_is_versioned("/tmp/app1.v/"));
        cr_assert(not(vpick_path_is_versioned("/tmp/app1.v/app1_1.raw")));
        cr_assert(not(vpick_path_is_versioned("/tmp/app1.raw")));
        cr_assert(not(vpick_path_is_versioned(NULL)));
}

Test(vpick, parse_entries) {
        static const struct {
                const char *entry;
                VPickKind kinds;
                int r;
                VPickKind kind;
                const char *version;
                Architecture arch;
                unsigned left, done;
        } cases[] = {
                { "foo_1.2.raw", VPICK_RAW, 1, VPICK_RAW, "1.2", _ARCHITECTURE_INVALID, UINT_MAX, UINT_MAX },
                { "foo_1.2_x86-64.raw", VPICK_RAW, 1, VPICK_RAW, "1.2", ARCHITECTURE_X86_64, UINT_MAX, UINT_MAX },
                { "foo_1.2+3.raw", VPICK_RAW, 1, VPICK_RAW, "1.2", _ARCHITECTURE_INVALID, 3, 0 },
                { "foo_1.2_arm64+0-5.raw", VPICK_RAW, 1, VPICK_RAW, "1.2", ARCHITECTURE_ARM64, 0, 5 },
                { "foo_1.2+rc1.raw", VPICK_RAW, 1, VPICK_RAW, "1.2+rc1", _ARCHITECTURE_INVALID, UINT_MAX, UINT_MAX },
                { "foo_1.2_beta.raw", VPICK_RAW, 1, VPICK_RAW, "1.2_beta", _ARCHITECTURE_INVALID, UINT_MAX, UINT_MAX },
                { "foo_2", VPICK_ANY, 1, VPICK_DIRECTORY, "2", _ARCHITECTURE_INVALID, UINT_MAX, UINT_MAX },
                { "foo_2.raw", VPICK_DIRECTORY, 1, VPICK_DIRECTORY, "2.raw", _ARCHITECTURE_INVALID, UINT_MAX, UINT_MAX },
                { "foo_2", VPICK_RAW, 0 },
                { "foo.raw", VPICK_RAW, 0 },          /* no version */
                { "foo_.raw", VPICK_RAW, 0 },         /* empty version */
                /* As upstream: without a second '_' the architecture is taken for the version. */
                { "foo_x86-64.raw", VPICK_RAW, 1, VPICK_RAW, "x86-64", _ARCHITECTURE_INVALID, UINT_MAX, UINT_MAX },
                { "foobar_1.raw", VPICK_RAW, 0 },     /* another basename */
                { "fo_1.raw", VPICK_RAW, 0 },
                { "foo_1 2.raw", VPICK_RAW, 0 },      /* invalid character */
                { "foo_1~rc.raw", VPICK_RAW, 0 },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                _cleanup_free_ char *version = NULL;
                unsigned left = 42, done = 42;
                Architecture arch = 42;
                VPickKind kind = 0;
                int r;

                r = vpick_parse_entry(cases[i].entry, "foo", cases[i].kinds, &kind, &version, &arch, &left, &done);
                cr_assert(eq(int, r, cases[i].r), "%s", cases[i].entry);
                if (r == 0)
                        continue;
                cr_assert(eq(int, kind, cases[i].kind), "%s", cases[i].entry);
                assert_str(version, cases[i].version);
                cr_assert(eq(int, arch, cases[i].arch), "%s", cases[i].entry);
                cr_assert(eq(uint, left, cases[i].left), "%s", cases[i].entry);
                cr_assert(eq(uint, done, cases[i].done), "%s", cases[i].entry);
        }
}

Test(vpick, newest_version_by_version_order) {
        const char *e[] = { "foo_1.2.raw", "foo_1.10.raw", "foo_1.9.raw", "foo_1.10~rc1.raw", "bar_9.raw", "foo.raw" };

        /* 1.10 > 1.9 > 1.2 as versions, not as strings; "1.10~rc1" has an invalid character. */
        assert_picks(e, ELEMENTSOF(e), VPICK_RAW, "foo_1.10.raw");
}

Test(vpick, result_fields) {
        _cleanup_free_ char *n = unit_strf("foo_3_%s+2-1.raw", native());
        const char *e[] = { "foo_1.raw", n };
        _cleanup_free_ char *dir = make_dir("foo.raw.v", e, ELEMENTSOF(e));
        _cleanup_(vpick_result_done) VPickResult r = VPICK_RESULT_NULL;

        cr_assert(eq(int, pick(dir, "foo", VPICK_RAW, &r), 1));
        assert_str(r.name, n);
        assert_str(r.version, "3");
        cr_assert(eq(int, r.arch, architecture_native()));
        cr_assert(eq(uint, r.tries_left, 2));
        cr_assert(eq(uint, r.tries_done, 1));
        cr_assert(eq(int, r.kind, VPICK_RAW));
        cr_assert(holds(S_ISREG(r.st.st_mode)));
        cr_assert(holds(fcntl(r.fd, F_GETFD) & FD_CLOEXEC));
}

Test(vpick, foreign_architecture_never_picked) {
        _cleanup_free_ char *f = unit_strf("foo_9_%s.raw", foreign()), *n = unit_strf("foo_2_%s.raw", native());
        const char *e[] = { f, n, "foo_1.raw" };

        assert_picks(e, ELEMENTSOF(e), VPICK_RAW, n);
}

Test(vpick, only_foreign_architecture_picks_nothing) {
        _cleanup_free_ char *f = unit_strf("foo_9_%s.raw", foreign());
        const char *e[] = { f };
        _cleanup_free_ char *dir = make_dir("foo.v", e, 1);
        VPickResult r;

        cr_assert(eq(int, pick(dir, "foo", VPICK_ANY, &r), 0));
        cr_assert(zero(ptr, r.name));
        cr_assert(eq(int, r.fd, -EBADF));
}

Test(vpick, same_version_native_over_secondary_over_none) {
        _cleanup_free_ char *n = unit_strf("foo_2_%s.raw", native()), *s = NULL;
        const char *e[] = { "foo_2.raw", n, NULL };
        size_t k = 2;

        if (architecture_secondary() >= 0) {
                s = unit_strf("foo_2_%s.raw", architecture_to_string(architecture_secondary()));
                e[k++] = s;
        }
        assert_picks(e, k, VPICK_RAW, n);
}

Test(vpick, secondary_over_no_architecture) {
        _cleanup_free_ char *s = NULL;
        const char *e[2] = { "foo_2.raw" };

        if (architecture_secondary() < 0)
                cr_skip_test("no secondary architecture here");
        s = unit_strf("foo_2_%s.raw", architecture_to_string(architecture_secondary()));
        e[1] = s;
        assert_picks(e, 2, VPICK_RAW, s);
}

Test(vpick, tries) {
        /* An exhausted entry loses even to an older one. */
        const char *a[] = { "foo_3+0.raw", "foo_2+1.raw" };
        assert_picks(a, ELEMENTSOF(a), VPICK_RAW, "foo_2+1.raw");

        /* No counter counts as "tries left". */
        teardown();
        setup();
        const char *b[] = { "foo_3+0-3.raw", "foo_1.raw" };
        assert_picks(b, ELEMENTSOF(b), VPICK_RAW, "foo_1.raw");

        /* Same version: more tries left, then fewer done. */
        teardown();
        setup();
        const char *c[] = { "foo_2+1-0.raw", "foo_2+3-4.raw", "foo_2+3-2.raw" };
        assert_picks(c, ELEMENTSOF(c), VPICK_RAW, "foo_2+3-2.raw");

        /* Everything exhausted: still the newest. */
        teardown();
        setup();
        const char *d[] = { "foo_2+0.raw", "foo_5+0.raw" };
        assert_picks(d, ELEMENTSOF(d), VPICK_RAW, "foo_5+0.raw");
}

Test(vpick, kinds_and_types) {
        /* foo.raw.v: only .raw regular files (the newer directory does not count). */
        const char *a[] = { "foo_1.raw", "foo_2.raw/", "foo_3/" };
        assert_picks(a, ELEMENTSOF(a), VPICK_RAW, "foo_1.raw");

        /* foo.v: directories too. */
        teardown();
        setup();
        const char *b[] = { "foo_1.raw", "foo_3/", "foo_2" };
        assert_picks(b, ELEMENTSOF(b), VPICK_ANY, "foo_3");

        /* A regular file without .raw is not an image. */
        teardown();
        setup();
        const char *c[] = { "foo_1.raw", "foo_2" };
        assert_picks(c, ELEMENTSOF(c), VPICK_ANY, "foo_1.raw");
}

Test(vpick, symlinks_are_followed) {
        const char *e[] = { "foo_1.raw", "@foo_7.raw" };
        _cleanup_free_ char *dir = make_dir("foo.raw.v", e, ELEMENTSOF(e));
        _cleanup_(vpick_result_done) VPickResult r = VPICK_RESULT_NULL;

        cr_assert(eq(int, pick(dir, "foo", VPICK_RAW, &r), 1));
        assert_str(r.name, "foo_7.raw");
        cr_assert(holds(S_ISREG(r.st.st_mode)));
}

Test(vpick, empty_and_invalid) {
        const char *e[] = { "README", "foo.raw", "foo_.raw" };
        _cleanup_free_ char *dir = make_dir("foo.raw.v", e, ELEMENTSOF(e));
        VPickResult r;

        cr_assert(eq(int, pick(dir, "foo", VPICK_RAW, &r), 0));
        cr_assert(eq(int, pick(dir, "", VPICK_RAW, &r), -EINVAL));
        cr_assert(eq(int, pick(dir, "a/b", VPICK_RAW, &r), -EINVAL));
}

/* What ListImageVersions and the attached-image index learn from a path alone. */
Test(vpick, version_of_entry_path) {
        static const struct {
                const char *path, *version;
        } cases[] = {
                { "/var/lib/portables/foo.raw.v/foo_1.10.raw", "1.10" },
                { "/srv/foo.v/foo_2", "2" },
                { "/srv/foo.v/foo_2.raw", "2" },
                { "/srv/foo.raw.v/bar_2.raw", NULL }, /* another image's entry */
                { "/srv/foo.raw.v/foo_2", NULL },     /* a .raw.v/ holds .raw files only */
                { "/srv/foo.raw.v/foo_.raw", NULL },  /* no version */
                { "/srv/images/foo_2.raw", NULL },    /* not in a versioned directory */
                { "/foo_2.raw", NULL },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                _cleanup_free_ char *version = NULL;
                int r = vpick_version_of_entry_path(cases[i].path, &version);

                cr_assert(eq(int, r, cases[i].version ? 1 : 0), "%s", cases[i].path);
                if (cases[i].version)
                        assert_str(version, cases[i].version);
                else
                        cr_assert(zero(ptr, version), "%s", cases[i].path);
        }
}
