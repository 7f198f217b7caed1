/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <criterion/criterion.h>
#include <criterion/new/assert.h>
#include <fcntl.h>
#include <stdarg.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <sys/wait.h>
#include <unistd.h>

#include "extension-release.h"
#include "fd-util.h"
#include "portable-limits.h"
#include "reader-sandbox.h"
#include "unit-helpers.h"

#define SYSEXT_DIR "/usr/lib/extension-release.d/"
#define CONFEXT_DIR "/etc/extension-release.d/"

static char *tmp, *tree;
static int root_fd = -EBADF;

static void setup(void) {
        tmp = unit_mkdtemp("extension-release");
        tree = unit_strf("%s/tree", tmp);
        unit_mkdir_p(tree, 0755);
        root_fd = open(tree, O_PATH | O_DIRECTORY | O_CLOEXEC);
        cr_assert(root_fd >= 0);
}

static void teardown(void) {
        root_fd = safe_close(root_fd);
        unit_rm_rf(tmp);
        free(tree);
        free(tmp);
}

TestSuite(extension_release, .init = setup, .fini = teardown);

static char *at(const char *rel) {
        return unit_strf("%s%s", tree, rel);
}

static void put(const char *rel, const char *content) {
        _cleanup_free_ char *p = at(rel);
        unit_write(p, content);
}

static void link_at(const char *target, const char *rel) {
        _cleanup_free_ char *p = at(rel);
        unit_symlink(target, p);
}

/* Sets user.extension-release.strict; skips the test where the file system has no user xattrs. */
static void set_strict(const char *rel, const char *value) {
        _cleanup_free_ char *p = at(rel);

        if (setxattr(p, "user.extension-release.strict", value, strlen(value), 0) < 0) {
                if (errno == ENOTSUP || errno == EOPNOTSUPP)
                        cr_skip_test("no user xattrs on %s", tmp);
                cr_assert(false, "setxattr %s: %s", p, strerror(errno));
        }
}

struct result {
        int r;
        ExtensionRelease *release;
        sd_bus_error error;
};

static struct result lookup(const char *name, bool force) {
        struct result res = { .error = SD_BUS_ERROR_NULL };

        res.r = extension_release_read(root_fd, name, "/images/ext", force, &res.release, &res.error);
        if (res.r < 0) {
                cr_assert(zero(ptr, res.release), "output set on failure");
                cr_assert(sd_bus_error_is_set(&res.error), "error %d without a message", res.r);
        } else {
                cr_assert(not(zero(ptr, res.release)));
                cr_assert(not(sd_bus_error_is_set(&res.error)));
        }
        return res;
}

static void result_done(struct result *res) {
        res->release = extension_release_free(res->release);
        sd_bus_error_free(&res->error);
}

static void assert_found(const char *name, bool force, const char *path, ExtensionClass class,
                         ExtensionReleaseMatch match, const char *data) {
        _cleanup_(result_done) struct result res = lookup(name, force);

        cr_assert(eq(int, res.r, 0), "%s: %s", name, strna(res.error.message));
        assert_str(res.release->path, path);
        cr_assert(eq(int, res.release->class, class));
        cr_assert(eq(int, res.release->match, match));
        assert_str(res.release->data, data);
        cr_assert(eq(sz, res.release->size, strlen(data)));
}

/* Fails with r, and a message containing every one of needles (NULL-terminated). */
static void assert_refused(const char *name, bool force, int r, ...) {
        _cleanup_(result_done) struct result res = lookup(name, force);
        va_list ap;

        cr_assert(eq(int, res.r, r), "%s: %d (%s)", name, res.r, strna(res.error.message));
        va_start(ap, r);
        for (const char *n = va_arg(ap, const char *); n; n = va_arg(ap, const char *))
                cr_assert(not(zero(ptr, strstr(res.error.message, n))), "'%s' not in: %s", n, res.error.message);
        va_end(ap);
}

/* ------------------------------------------------------------------------------- exact names */

Test(extension_release, exact_sysext) {
        put(SYSEXT_DIR "extension-release.app", "ID=debian\n");
        put(SYSEXT_DIR "extension-release.other", "ID=other\n");
        assert_found("app", false, SYSEXT_DIR "extension-release.app", EXTENSION_SYSEXT, EXTENSION_RELEASE_EXACT,
                     "ID=debian\n");
}

Test(extension_release, exact_confext) {
        put(CONFEXT_DIR "extension-release.conf", "ID=_any\n");
        assert_found("conf", false, CONFEXT_DIR "extension-release.conf", EXTENSION_CONFEXT, EXTENSION_RELEASE_EXACT,
                     "ID=_any\n");
}

Test(extension_release, sysext_before_confext) {
        put(SYSEXT_DIR "extension-release.app", "SYSEXT=1\n");
        put(CONFEXT_DIR "extension-release.app", "CONFEXT=1\n");
        assert_found("app", false, SYSEXT_DIR "extension-release.app", EXTENSION_SYSEXT, EXTENSION_RELEASE_EXACT,
                     "SYSEXT=1\n");
}

Test(extension_release, versioned_exact_name) {
        /* The exact name wins over the version-stripped one. */
        put(SYSEXT_DIR "extension-release.app_1.0", "V=1\n");
        put(SYSEXT_DIR "extension-release.app", "V=0\n");
        assert_found("app_1.0", false, SYSEXT_DIR "extension-release.app_1.0", EXTENSION_SYSEXT,
                     EXTENSION_RELEASE_EXACT, "V=1\n");
}

Test(extension_release, empty_file_is_found) {
        /* Whether an empty release file is acceptable is the compatibility check's business. */
        put(SYSEXT_DIR "extension-release.app", "");
        assert_found("app", false, SYSEXT_DIR "extension-release.app", EXTENSION_SYSEXT, EXTENSION_RELEASE_EXACT, "");
}

Test(extension_release, symlink_inside_the_tree_is_followed) {
        put("/usr/share/app/release", "ID=debian\n");
        link_at("../../share/app/release", SYSEXT_DIR "extension-release.app");
        assert_found("app", false, SYSEXT_DIR "extension-release.app", EXTENSION_SYSEXT, EXTENSION_RELEASE_EXACT,
                     "ID=debian\n");
}

Test(extension_release, absolute_symlink_resolves_inside_the_tree) {
        _cleanup_free_ char *host = unit_strf("%s/host-secret", tmp);

        /* A link to a host path lands in the tree, never on the host file. */
        unit_write(host, "SECRET=1\n");
        put(host, "ID=inside\n"); /* the same path, below the tree */
        link_at(host, SYSEXT_DIR "extension-release.app");
        assert_found("app", false, SYSEXT_DIR "extension-release.app", EXTENSION_SYSEXT, EXTENSION_RELEASE_EXACT,
                     "ID=inside\n");
}

Test(extension_release, escaping_symlinks_find_nothing) {
        _cleanup_free_ char *host = unit_strf("%s/host-secret", tmp), *rel = NULL;

        unit_write(host, "SECRET=1\n");
        link_at(host, SYSEXT_DIR "extension-release.app");
        /* Enough ".." to reach / from anywhere, then down to the host file. */
        rel = unit_strf("../../../../../../../../../../../../../../../..%s", host);
        link_at(rel, CONFEXT_DIR "extension-release.app");
        assert_refused("app", false, -ENOENT, "lacks extension-release data", NULL);
        /* Forced, the fallback does not follow links either. */
        assert_refused("app", true, -ENOENT, NULL);
}

Test(extension_release, release_directory_escaping_is_confined) {
        _cleanup_free_ char *outside = unit_strf("%s/outside", tmp), *f = unit_strf("%s/extension-release.app", outside);

        unit_write(f, "SECRET=1\n");
        link_at(outside, "/usr/lib/extension-release.d");
        assert_refused("app", true, -ENOENT, NULL);
}

/* --------------------------------------------------------------------------- hostile entries */

Test(extension_release, fifo_is_refused_without_blocking) {
        _cleanup_free_ char *d = at(SYSEXT_DIR), *f = at(SYSEXT_DIR "extension-release.app");

        unit_mkdir_p(d, 0755);
        cr_assert(eq(int, mkfifo(f, 0644), 0));
        assert_refused("app", false, -EBADFD, "not a regular file", NULL);
}

Test(extension_release, fifo_candidate_is_skipped) {
        _cleanup_free_ char *d = at(SYSEXT_DIR), *f = at(SYSEXT_DIR "extension-release.other");

        unit_mkdir_p(d, 0755);
        cr_assert(eq(int, mkfifo(f, 0644), 0));
        assert_refused("app", true, -ENOENT, "extension-release.other (not a regular file)", NULL);
}

Test(extension_release, directory_is_refused) {
        _cleanup_free_ char *d = at(SYSEXT_DIR "extension-release.app");

        unit_mkdir_p(d, 0755);
        assert_refused("app", false, -EBADFD, "not a regular file", NULL);
}

Test(extension_release, symlinked_candidate_is_skipped) {
        put("/usr/share/release", "ID=debian\n");
        link_at("../../share/release", SYSEXT_DIR "extension-release.other");
        assert_refused("app", true, -ENOENT, "not a regular file", NULL);
}

Test(extension_release, huge_file) {
        _cleanup_free_ char *p = at(SYSEXT_DIR "extension-release.app"), *big = malloc(PORTABLE_SIZE_MAX_RELEASE_FILE + 1);

        cr_assert(not(zero(ptr, big)));
        memset(big, '#', PORTABLE_SIZE_MAX_RELEASE_FILE + 1);
        unit_write_data(p, big, PORTABLE_SIZE_MAX_RELEASE_FILE + 1, 0644);
        assert_refused("app", false, -EFBIG, "larger than", NULL);

        /* The limit itself is fine. */
        unit_write_data(p, big, PORTABLE_SIZE_MAX_RELEASE_FILE, 0644);
        _cleanup_(result_done) struct result res = lookup("app", false);
        cr_assert(eq(int, res.r, 0));
        cr_assert(eq(sz, res.release->size, PORTABLE_SIZE_MAX_RELEASE_FILE));
}

Test(extension_release, sparse_huge_candidate) {
        _cleanup_free_ char *p = at(SYSEXT_DIR "extension-release.app_2");
        int fd;

        /* 1 TiB that costs nothing on disk: refused by size, not by reading it. */
        unit_write(p, "");
        fd = open(p, O_WRONLY | O_CLOEXEC);
        cr_assert(fd >= 0);
        cr_assert(eq(int, ftruncate(fd, (off_t) 1 << 40), 0));
        safe_close(fd);
        assert_refused("app_2", false, -EFBIG, NULL);
}

Test(extension_release, os_release_in_extension_is_refused) {
        put(SYSEXT_DIR "extension-release.app", "ID=debian\n");
        put("/usr/lib/os-release", "ID=debian\n");
        assert_refused("app", false, -EMEDIUMTYPE, "/usr/lib/os-release", NULL);
}

Test(extension_release, os_release_link_in_extension_is_refused) {
        put(SYSEXT_DIR "extension-release.app", "ID=debian\n");
        link_at("/nowhere", "/usr/lib/os-release");
        assert_refused("app", false, -EMEDIUMTYPE, NULL);
}

Test(extension_release, etc_os_release_is_fine) {
        put(CONFEXT_DIR "extension-release.app", "ID=debian\n");
        put("/etc/os-release", "ID=debian\n");
        assert_found("app", false, CONFEXT_DIR "extension-release.app", EXTENSION_CONFEXT, EXTENSION_RELEASE_EXACT,
                     "ID=debian\n");
}

Test(extension_release, invalid_names) {
        static const char *const names[] = { "", ".", "..", "a/b", ".#app", "a\nb" };

        put(SYSEXT_DIR "extension-release.app", "ID=debian\n");
        for (size_t i = 0; i < ELEMENTSOF(names); i++)
                assert_refused(names[i], true, -EINVAL, "not a valid extension name", NULL);
}

/* ---------------------------------------------------------------------------------- fallback */

Test(extension_release, none) {
        assert_refused("app", false, -ENOENT, "'/images/ext' lacks extension-release data",
                       SYSEXT_DIR "extension-release.app", CONFEXT_DIR "extension-release.app", NULL);
        assert_refused("app", true, -ENOENT, NULL);
}

Test(extension_release, mismatched_name_is_not_enough) {
        put(SYSEXT_DIR "extension-release.app2", "ID=debian\n");
        put(SYSEXT_DIR "os-release", "ID=debian\n");
        assert_refused("app", false, -ENOENT, SYSEXT_DIR "extension-release.app2 (name does not match",
                       "--force", NULL);
}

Test(extension_release, force_accepts_the_only_candidate) {
        put(SYSEXT_DIR "extension-release.app2", "ID=debian\n");
        put(SYSEXT_DIR "README", "not a candidate\n");
        put(SYSEXT_DIR "extension-release.", "no name, not a candidate\n");
        assert_found("app10", true, SYSEXT_DIR "extension-release.app2", EXTENSION_SYSEXT, EXTENSION_RELEASE_FORCED,
                     "ID=debian\n");
}

Test(extension_release, force_with_two_candidates) {
        put(SYSEXT_DIR "extension-release.a", "ID=a\n");
        put(SYSEXT_DIR "extension-release.b", "ID=b\n");
        assert_refused("app", true, -ENOTUNIQ, SYSEXT_DIR "extension-release.a", SYSEXT_DIR "extension-release.b",
                       NULL);
}

Test(extension_release, version_stripped_name) {
        /* app_1.0.raw still carries extension-release.app (systemd after 252). */
        put(SYSEXT_DIR "extension-release.app", "ID=debian\n");
        assert_found("app_1.0", false, SYSEXT_DIR "extension-release.app", EXTENSION_SYSEXT,
                     EXTENSION_RELEASE_STRIPPED, "ID=debian\n");
        assert_found("app+3", false, SYSEXT_DIR "extension-release.app", EXTENSION_SYSEXT,
                     EXTENSION_RELEASE_STRIPPED, "ID=debian\n");
}

Test(extension_release, version_stripped_compares_the_whole_suffix) {
        /* The candidate's suffix is compared as it is: "app_0.9" is not "app". */
        put(SYSEXT_DIR "extension-release.app_0.9", "ID=debian\n");
        assert_refused("app_1.0", false, -ENOENT, NULL);
        /* Nor is "application". */
        put(SYSEXT_DIR "extension-release.application", "ID=debian\n");
        assert_refused("app_1.0", false, -ENOENT, NULL);
}

Test(extension_release, version_stripped_plus_another_candidate) {
        put(SYSEXT_DIR "extension-release.app", "ID=debian\n");
        put(SYSEXT_DIR "extension-release.other", "ID=debian\n");
        /* Without force only one qualifies, with force both do. */
        assert_found("app_1", false, SYSEXT_DIR "extension-release.app", EXTENSION_SYSEXT,
                     EXTENSION_RELEASE_STRIPPED, "ID=debian\n");
        assert_refused("app_1", true, -ENOTUNIQ, NULL);
}

Test(extension_release, xattr_strict_false) {
        put(SYSEXT_DIR "extension-release.app2", "ID=debian\n");
        set_strict(SYSEXT_DIR "extension-release.app2", "false");
        assert_found("app1", false, SYSEXT_DIR "extension-release.app2", EXTENSION_SYSEXT, EXTENSION_RELEASE_XATTR,
                     "ID=debian\n");
        /* The most specific reason is reported, also under force. */
        assert_found("app1", true, SYSEXT_DIR "extension-release.app2", EXTENSION_SYSEXT, EXTENSION_RELEASE_XATTR,
                     "ID=debian\n");
}

Test(extension_release, xattr_values) {
        static const struct {
                const char *value;
                bool accepted;
        } cases[] = {
                { "false", true }, { "0", true }, { "no", true }, { "OFF", true }, { "n", true }, { "F", true },
                { "true", false }, { "1", false }, { "yes", false }, { "", false }, { "maybe", false },
                { "false ", false }, { "fals", false },
        };

        put(SYSEXT_DIR "extension-release.app2", "ID=debian\n");
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                _cleanup_(result_done) struct result res = { .error = SD_BUS_ERROR_NULL };

                set_strict(SYSEXT_DIR "extension-release.app2", cases[i].value);
                res = lookup("app1", false);
                cr_assert(eq(int, res.r, cases[i].accepted ? 0 : -ENOENT), "'%s'", cases[i].value);
        }
}

Test(extension_release, xattr_with_nul_is_not_a_boolean) {
        _cleanup_free_ char *p = at(SYSEXT_DIR "extension-release.app2");

        put(SYSEXT_DIR "extension-release.app2", "ID=debian\n");
        set_strict(SYSEXT_DIR "extension-release.app2", "false");
        cr_assert(eq(int, setxattr(p, "user.extension-release.strict", "0\0", 2, 0), 0));
        assert_refused("app1", false, -ENOENT, NULL);
}

Test(extension_release, two_xattr_candidates) {
        /* The wrongly named file without xattr is ignored, the two that may stand in clash. */
        put(SYSEXT_DIR "extension-release.wrongext_somethingwrong.txt", "");
        put(SYSEXT_DIR "extension-release.a", "ID=a\n");
        put(SYSEXT_DIR "extension-release.b", "ID=b\n");
        set_strict(SYSEXT_DIR "extension-release.a", "0");
        set_strict(SYSEXT_DIR "extension-release.b", "false");
        assert_refused("wrongext", false, -ENOTUNIQ, "could stand in", NULL);
}

Test(extension_release, one_xattr_candidate_among_wrong_ones) {
        /* Upstream's regression test: a wrongly named file next to the xattr-tagged one. */
        put(SYSEXT_DIR "extension-release.wrongext_somethingwrong.txt", "");
        put(SYSEXT_DIR "extension-release.app0", "ID=debian\n");
        set_strict(SYSEXT_DIR "extension-release.app0", "false");
        assert_found("wrongext", false, SYSEXT_DIR "extension-release.app0", EXTENSION_SYSEXT,
                     EXTENSION_RELEASE_XATTR, "ID=debian\n");
}

Test(extension_release, confext_fallback) {
        put(CONFEXT_DIR "extension-release.conf", "ID=debian\n");
        assert_found("conf_2", false, CONFEXT_DIR "extension-release.conf", EXTENSION_CONFEXT,
                     EXTENSION_RELEASE_STRIPPED, "ID=debian\n");
}

Test(extension_release, ambiguous_sysext_does_not_fall_through_to_confext) {
        put(SYSEXT_DIR "extension-release.a", "ID=a\n");
        put(SYSEXT_DIR "extension-release.b", "ID=b\n");
        put(CONFEXT_DIR "extension-release.app", "ID=c\n");
        assert_refused("app", true, -ENOTUNIQ, NULL);
}

Test(extension_release, needs_relax) {
        ExtensionRelease r = {};

        r.match = EXTENSION_RELEASE_EXACT;
        cr_assert(not(extension_release_needs_relax(&r)));
        r.match = EXTENSION_RELEASE_XATTR;
        cr_assert(not(extension_release_needs_relax(&r)));
        r.match = EXTENSION_RELEASE_STRIPPED;
        cr_assert(extension_release_needs_relax(&r));
        r.match = EXTENSION_RELEASE_FORCED;
        cr_assert(extension_release_needs_relax(&r));
}

Test(extension_release, class_names) {
        assert_str(extension_class_to_string(EXTENSION_SYSEXT), "sysext");
        assert_str(extension_class_to_string(EXTENSION_CONFEXT), "confext");
        cr_assert(holds(extension_class_to_string(_EXTENSION_CLASS_MAX) == NULL));
}

/* ---------------------------------------------------------------------------------- sandbox */

/* It runs in the image reader child, after reader_sandbox_lock_down(): everything it needs (the
 * xattr through /proc/self/fd included) must still work there. The check runs in a child of
 * its own, which reports through its exit status (the filter would not let the test process
 * talk to Criterion any more). */
Test(extension_release, works_in_the_reader_sandbox) {
        int status;
        pid_t pid;

        unit_skip_reader_tests_under_valgrind();

        put(SYSEXT_DIR "extension-release.app2", "ID=debian\n");
        set_strict(SYSEXT_DIR "extension-release.app2", "false");

        pid = fork();
        cr_assert(ge(int, pid, 0));
        if (pid == 0) {
                _cleanup_(extension_release_freep) ExtensionRelease *rel = NULL;

                if (reader_sandbox_lock_down(NULL) < 0)
                        _exit(10);
                if (extension_release_read(root_fd, "app1", "app1", false, &rel, NULL) < 0)
                        reader_sandbox_exit(11);
                reader_sandbox_exit(rel->match == EXTENSION_RELEASE_XATTR && streq(rel->data, "ID=debian\n") ? 0 : 12);
        }
        cr_assert(eq(int, waitpid(pid, &status, 0), pid));
        cr_assert(holds(WIFEXITED(status)), "killed by signal %d", WIFSIGNALED(status) ? WTERMSIG(status) : 0);
        cr_assert(eq(int, WEXITSTATUS(status), 0));
}

/* ------------------------------------------------------------------------------ string tables */

Test(extension_release, string_tables_round_trip) {
        for (ExtensionClass c = 0; c < _EXTENSION_CLASS_MAX; c++)
                cr_assert(eq(int, extension_class_from_string(extension_class_to_string(c)), c));
        for (ExtensionReleaseMatch m = 0; m < _EXTENSION_RELEASE_MATCH_MAX; m++)
                cr_assert(eq(int, extension_release_match_from_string(extension_release_match_to_string(m)), m));
        assert_str(extension_release_match_to_string(EXTENSION_RELEASE_STRIPPED), "stripped");
        assert_str(extension_class_release_dir(EXTENSION_CONFEXT), "/etc/extension-release.d");
        cr_assert(eq(int, extension_class_from_string("sysextx"), _EXTENSION_CLASS_INVALID));
        cr_assert(eq(int, extension_release_match_from_string(NULL), _EXTENSION_RELEASE_MATCH_INVALID));
        cr_assert(zero(ptr, (void *) extension_release_match_to_string(_EXTENSION_RELEASE_MATCH_MAX)));
}
