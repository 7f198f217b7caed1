/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <criterion/criterion.h>
#include <criterion/new/assert.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "portable-limits.h"
#include "fd-util.h"
#include "image-read.h"
#include "os-release.h"
#include "strv.h"
#include "unit-helpers.h"

static char *tmp;

static void setup(void) {
        tmp = unit_mkdtemp("image-read");
}

static void teardown(void) {
        unit_rm_rf(tmp);
        free(tmp);
}

TestSuite(image_read, .init = setup, .fini = teardown);

static char *fixture(const char *name) {
        return unit_strf("%s/images/%s", unit_test_data(), name);
}

/* A private, writable copy of a fixture tree (for FIFOs, devices, huge files). */
static char *fixture_copy(const char *name) {
        _cleanup_free_ char *src = fixture(name);
        char *dst = unit_strf("%s/%s", tmp, name);

        unit_copy_tree(src, dst);
        return dst;
}

/* A minimal tree: an os-release and the given unit files (name, content pairs). */
static char *make_tree(const char *name) {
        char *dir = unit_strf("%s/%s", tmp, name);
        _cleanup_free_ char *osrel = unit_strf("%s/usr/lib/os-release", dir);

        unit_write(osrel, "ID=test\n");
        return dir;
}

static void put(const char *dir, const char *rel, const char *content) {
        _cleanup_free_ char *p = unit_strf("%s%s", dir, rel);
        unit_write(p, content);
}

struct read_result {
        int r;
        PortableMetadata *m;
        sd_bus_error error;
};

static struct read_result read_tree(const char *dir, char * const *matches, bool with_source) {
        struct read_result res = { .error = SD_BUS_ERROR_NULL };
        _cleanup_close_ int fd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);

        cr_assert(fd >= 0, "open(%s)", dir);
        res.r = image_read_tree(fd, dir, with_source, matches, &res.m, &res.error);
        if (res.r < 0)
                cr_assert(zero(ptr, res.m));
        else
                cr_assert(not(zero(ptr, res.m)));
        return res;
}

static void read_result_done(struct read_result *res) {
        res->m = portable_metadata_free(res->m);
        sd_bus_error_free(&res->error);
}

static char *unit_names(const PortableMetadata *m) {
        char *s = unit_strf("%s", "");

        for (size_t i = 0; i < m->n_units; i++) {
                char *n = unit_strf("%s%s%s", s, i ? " " : "", m->units[i].name);
                free(s);
                s = n;
        }
        return s;
}

static bool warnings_mention(const PortableMetadata *m, const char *needle) {
        STRV_FOREACH(w, m->warnings)
                if (strstr(*w, needle))
                        return true;
        return false;
}

static char *file_at(const char *dir, const char *rel) {
        _cleanup_free_ char *p = unit_strf("%s%s", dir, rel);
        char *data = unit_read(p);

        cr_assert(not(zero(ptr, data)), "cannot read %s", p);
        return data;
}

Test(image_read, foo_with_prefix) {
        _cleanup_free_ char *dir = fixture("foo"), *names = NULL;
        char *matches[] = { (char *) "foo", NULL };
        _cleanup_(read_result_done) struct read_result res = read_tree(dir, matches, true);

        cr_assert(eq(int, res.r, 0), "%s", strna(res.error.message));
        names = unit_names(res.m);
        /* Sorted by name; foo_x and foobar do not match "foo"; foo.mount is no portable type;
         * foo-empty.service is empty. */
        assert_str(names, "foo-bar.socket foo-link.service foo-shadow.service foo.bar.timer foo.path "
                          "foo.service foo.target foo@.service");
        cr_assert(warnings_mention(res.m, "foo-empty.service"));
}

Test(image_read, os_release_through_absolute_symlink) {
        _cleanup_free_ char *dir = fixture("foo"), *expected = file_at(dir, "/usr/lib/os-release");
        _cleanup_(read_result_done) struct read_result res = read_tree(dir, (char **) image_read_no_units, false);

        cr_assert(eq(int, res.r, 0), "%s", strna(res.error.message));
        /* etc/os-release -> /usr/lib/os-release is resolved inside the image, and the name is the
         * path that was asked for. */
        assert_str(res.m->os_release.name, "/etc/os-release");
        assert_str(res.m->os_release.data, expected);
        cr_assert(eq(sz, res.m->os_release.size, strlen(expected)));
        assert_str(os_release_pairs_get(res.m->os_release_pairs, "ID"), "portabletest");
        assert_str(os_release_pairs_get(res.m->os_release_pairs, "PORTABLE_PRETTY_NAME"), "Foo test service");
        cr_assert(eq(sz, res.m->n_units, 0), "image_read_no_units reads no unit");
}

Test(image_read, unit_contents_and_sources) {
        _cleanup_free_ char *dir = fixture("foo");
        _cleanup_free_ char *svc = file_at(dir, "/usr/lib/systemd/system/foo.service"),
                            *shadow_etc = file_at(dir, "/etc/systemd/system/foo-shadow.service"),
                            *link = file_at(dir, "/opt/foo/foo-link.service"),
                            *src_svc = strdup("usr/lib/systemd/system/foo.service"),
                            *src_shadow = strdup("etc/systemd/system/foo-shadow.service");
        char *matches[] = { (char *) "foo", NULL };
        _cleanup_(read_result_done) struct read_result res = read_tree(dir, matches, true);
        const PortableFile *f;

        cr_assert(eq(int, res.r, 0));

        f = portable_metadata_find_unit(res.m, "foo.service");
        cr_assert(not(zero(ptr, (void *) f)));
        assert_str(f->data, svc);
        cr_assert(eq(sz, f->size, strlen(svc)));
        assert_str(f->source, src_svc);

        /* /etc/systemd/system shadows /usr/lib/systemd/system. */
        f = portable_metadata_find_unit(res.m, "foo-shadow.service");
        cr_assert(not(zero(ptr, (void *) f)));
        assert_str(f->data, shadow_etc);
        assert_str(f->source, src_shadow);

        /* An absolute symlink to a file that exists only in the image: read from inside, but
         * no source (it is not a regular file), so --copy=symlink copies it. */
        f = portable_metadata_find_unit(res.m, "foo-link.service");
        cr_assert(not(zero(ptr, (void *) f)));
        assert_str(f->data, link);
        cr_assert(zero(ptr, f->source));
}

/* Sources are canonical paths relative to the tree: the daemon checks them against its own view of
 * the image before it links to anything. */
Test(image_read, no_source_unless_asked) {
        _cleanup_free_ char *dir = fixture("foo");
        char *matches[] = { (char *) "foo.service", NULL };
        _cleanup_(read_result_done) struct read_result res = read_tree(dir, matches, false);

        cr_assert(eq(int, res.r, 0));
        cr_assert(eq(sz, res.m->n_units, 1));
        assert_str(res.m->units[0].name, "foo.service");
        cr_assert(zero(ptr, res.m->units[0].source));
}

Test(image_read, no_matches_reads_all_portable_units) {
        _cleanup_free_ char *dir = fixture("foo"), *names = NULL;
        _cleanup_(read_result_done) struct read_result res = read_tree(dir, NULL, false);

        cr_assert(eq(int, res.r, 0));
        names = unit_names(res.m);
        assert_str(names, "foo-bar.socket foo-link.service foo-shadow.service foo.bar.timer foo.path "
                          "foo.service foo.target foo@.service foo_x.service foobar.service");
}

Test(image_read, several_prefixes) {
        _cleanup_free_ char *dir = fixture("pfx"), *names = NULL;
        char *matches[] = { (char *) "pfx-a", (char *) "pfx-c", NULL };
        _cleanup_(read_result_done) struct read_result res = read_tree(dir, matches, false);

        cr_assert(eq(int, res.r, 0));
        names = unit_names(res.m);
        assert_str(names, "pfx-a.service pfx-c.service");
}

Test(image_read, no_matching_unit_is_not_an_error) {
        _cleanup_free_ char *dir = fixture("nounits");
        char *matches[] = { (char *) "nounits", NULL };
        _cleanup_(read_result_done) struct read_result res = read_tree(dir, matches, false);

        cr_assert(eq(int, res.r, 0));
        cr_assert(eq(sz, res.m->n_units, 0));
}

Test(image_read, hostile_symlinks_never_leak_host_files) {
        _cleanup_free_ char *dir = fixture("evil");
        _cleanup_(read_result_done) struct read_result res = read_tree(dir, NULL, true);

        /* evil-abs.service -> /etc/shadow, evil-dotdot.service -> ../(x16)/etc/shadow: neither
         * exists inside the image, so neither is read; both are reported. */
        cr_assert(eq(int, res.r, 0), "%s", strna(res.error.message));
        cr_assert(eq(sz, res.m->n_units, 0));
        cr_assert(warnings_mention(res.m, "evil-abs.service"));
        cr_assert(warnings_mention(res.m, "evil-dotdot.service"));
}

Test(image_read, hostile_symlink_reads_the_image_copy) {
        _cleanup_free_ char *dir = make_tree("shadowed"), *secret = unit_strf("%s/outside-secret", tmp);
        char *matches[] = { (char *) "evil", NULL };

        /* The image has its own /etc/shadow: the links resolve to it, never to the host's, nor
         * to a host file named by its absolute path. */
        put(dir, "/etc/shadow", "[Service]\nExecStart=/image/copy\n");
        unit_write(secret, "[Service]\nExecStart=/host/secret\n");
        {
                _cleanup_free_ char *a = unit_strf("%s/usr/lib/systemd/system/evil-abs.service", dir),
                                    *b = unit_strf("%s/usr/lib/systemd/system/evil-dotdot.service", dir),
                                    *c = unit_strf("%s/usr/lib/systemd/system/evil-host.service", dir),
                                    *d = unit_strf("%s/usr/lib/systemd/system/evil-rel.service", dir);
                unit_symlink("/etc/shadow", a);
                unit_symlink("../../../../../../../../../../../../../../../../etc/shadow", b);
                unit_symlink(secret, c);
                unit_symlink("../../../../outside-secret", d);
        }

        _cleanup_(read_result_done) struct read_result res = read_tree(dir, matches, true);
        cr_assert(eq(int, res.r, 0));
        for (size_t i = 0; i < res.m->n_units; i++) {
                cr_assert(zero(ptr, strstr(res.m->units[i].data, "/host/secret")), "%s leaked a host file",
                          res.m->units[i].name);
                assert_str(res.m->units[i].data, "[Service]\nExecStart=/image/copy\n");
                cr_assert(zero(ptr, res.m->units[i].source));
        }
        _cleanup_free_ char *names = unit_names(res.m);
        assert_str(names, "evil-abs.service evil-dotdot.service");
}

Test(image_read, unit_directory_symlinked_out_of_the_image) {
        _cleanup_free_ char *dir = unit_strf("%s/dirlink", tmp), *outside = unit_strf("%s/outside/units", tmp);
        _cleanup_free_ char *osrel = unit_strf("%s/usr/lib/os-release", dir),
                            *host_unit = unit_strf("%s/leak.service", outside),
                            *sysdir = unit_strf("%s/usr/lib/systemd/system", dir);

        unit_write(osrel, "ID=test\n");
        unit_write(host_unit, "[Service]\nExecStart=/host\n");
        /* The unit directory itself is an absolute link to a host directory. */
        unit_symlink(outside, sysdir);

        _cleanup_(read_result_done) struct read_result res = read_tree(dir, NULL, true);
        cr_assert(eq(int, res.r, 0));
        cr_assert(eq(sz, res.m->n_units, 0), "a unit was read through a directory link out of the image");
}

Test(image_read, os_release_escape_attempt) {
        _cleanup_free_ char *dir = fixture("osrel-escape");
        _cleanup_(read_result_done) struct read_result res = read_tree(dir, NULL, false);

        /* etc/os-release -> ../(x16)/usr/lib/os-release stays inside, where there is none. */
        cr_assert(eq(int, res.r, -ENOENT));
        cr_assert(res.error.message != NULL);
        cr_assert(not(zero(ptr, strstr(res.error.message, "os-release"))));
        cr_assert(not(zero(ptr, strstr(res.error.message, dir))), "the message names the image: %s",
                  res.error.message);
}

Test(image_read, no_os_release) {
        _cleanup_free_ char *dir = fixture("noosrel");
        _cleanup_(read_result_done) struct read_result res = read_tree(dir, NULL, false);

        cr_assert(eq(int, res.r, -ENOENT));
        cr_assert(res.error.message != NULL);
}

Test(image_read, os_release_without_id_is_readable) {
        _cleanup_free_ char *dir = fixture("noid");
        _cleanup_(read_result_done) struct read_result res = read_tree(dir, NULL, false);

        /* Inspecting works; only attach insists on ID=. */
        cr_assert(eq(int, res.r, 0));
        cr_assert(zero(ptr, (void *) os_release_pairs_get(res.m->os_release_pairs, "ID")));
        cr_assert(eq(sz, res.m->n_units, 1));
}

Test(image_read, os_release_fifo_refused_without_hanging) {
        _cleanup_free_ char *dir = fixture_copy("fifoosrel"), *p = unit_strf("%s/usr/lib/os-release", dir);

        cr_assert(eq(int, mkfifo(p, 0644), 0));
        _cleanup_(read_result_done) struct read_result res = read_tree(dir, NULL, false);
        cr_assert(lt(int, res.r, 0));
        cr_assert(res.error.message != NULL);
}

Test(image_read, os_release_directory_refused) {
        _cleanup_free_ char *dir = make_tree("osdir"), *p = unit_strf("%s/etc/os-release", dir);

        unit_mkdir_p(p, 0755);
        _cleanup_(read_result_done) struct read_result res = read_tree(dir, NULL, false);
        cr_assert(lt(int, res.r, 0));
}

Test(image_read, os_release_etc_wins) {
        _cleanup_free_ char *dir = make_tree("both");

        put(dir, "/etc/os-release", "ID=etc\n");
        _cleanup_(read_result_done) struct read_result res = read_tree(dir, NULL, false);
        cr_assert(eq(int, res.r, 0));
        assert_str(res.m->os_release.name, "/etc/os-release");
        assert_str(os_release_pairs_get(res.m->os_release_pairs, "ID"), "etc");
}

Test(image_read, os_release_dangling_etc_falls_back) {
        _cleanup_free_ char *dir = make_tree("dangling"), *p = unit_strf("%s/etc/os-release", dir);

        unit_symlink("/nonexistent", p);
        _cleanup_(read_result_done) struct read_result res = read_tree(dir, NULL, false);
        cr_assert(eq(int, res.r, 0));
        assert_str(res.m->os_release.name, "/usr/lib/os-release");
}

Test(image_read, os_release_unterminated_quote) {
        _cleanup_free_ char *dir = make_tree("badquote");

        put(dir, "/usr/lib/os-release", "ID=test\nPRETTY_NAME=\"unterminated\n");
        _cleanup_(read_result_done) struct read_result res = read_tree(dir, NULL, false);
        cr_assert(eq(int, res.r, -EBADMSG));
        cr_assert(res.error.message != NULL);
}

Test(image_read, os_release_too_large) {
        _cleanup_free_ char *dir = make_tree("bigosrel"), *p = unit_strf("%s/usr/lib/os-release", dir);

        cr_assert(eq(int, truncate(p, PORTABLE_SIZE_MAX_RELEASE_FILE + 1), 0));
        _cleanup_(read_result_done) struct read_result res = read_tree(dir, NULL, false);
        cr_assert(eq(int, res.r, -EFBIG));
}

Test(image_read, special_files_as_units_skipped) {
        _cleanup_free_ char *dir = fixture_copy("special"), *fifo = NULL, *chr = NULL, *sock_dir = NULL;
        char *matches[] = { (char *) "special", NULL };

        fifo = unit_strf("%s/usr/lib/systemd/system/special-fifo.service", dir);
        chr = unit_strf("%s/usr/lib/systemd/system/special-zero.service", dir);
        sock_dir = unit_strf("%s/usr/lib/systemd/system/special-dir.service", dir);
        unit_mkdir_p(sock_dir, 0755);
        cr_assert(eq(int, mkfifo(fifo, 0644), 0));
        if (mknod(chr, S_IFCHR | 0644, makedev(1, 5)) < 0)
                cr_skip_test("cannot create device nodes here");

        _cleanup_(read_result_done) struct read_result res = read_tree(dir, matches, true);
        cr_assert(eq(int, res.r, 0), "%s", strna(res.error.message));
        cr_assert(eq(sz, res.m->n_units, 0));
        cr_assert(warnings_mention(res.m, "special-fifo.service"));
        cr_assert(warnings_mention(res.m, "special-zero.service"));
        cr_assert(warnings_mention(res.m, "special-dir.service"));
}

Test(image_read, symlinks_to_special_files_skipped) {
        _cleanup_free_ char *dir = make_tree("speciallinks");
        _cleanup_free_ char *fifo = unit_strf("%s/srv/fifo", dir), *l1 = unit_strf("%s/etc/systemd/system/a-fifo.service", dir),
                            *l2 = unit_strf("%s/etc/systemd/system/a-masked.service", dir),
                            *l3 = unit_strf("%s/etc/systemd/system/a-dir.service", dir),
                            *d = unit_strf("%s/srv/dir", dir);

        unit_mkdir_p(d, 0755);
        cr_assert(eq(int, mkfifo(fifo, 0644), 0));
        unit_symlink("/srv/fifo", l1);
        unit_symlink("/dev/null", l2);   /* masked, and /dev/null is not in the image */
        unit_symlink("/srv/dir", l3);

        _cleanup_(read_result_done) struct read_result res = read_tree(dir, NULL, true);
        cr_assert(eq(int, res.r, 0));
        cr_assert(eq(sz, res.m->n_units, 0));
        cr_assert(eq(sz, strv_length(res.m->warnings), 3));
}

Test(image_read, masked_in_image_with_dev_null) {
        _cleanup_free_ char *dir = make_tree("masked"), *null = unit_strf("%s/dev/null", dir),
                            *l = unit_strf("%s/etc/systemd/system/m.service", dir), *dev = unit_strf("%s/dev", dir);

        unit_mkdir_p(dev, 0755);
        if (mknod(null, S_IFCHR | 0666, makedev(1, 3)) < 0)
                cr_skip_test("cannot create device nodes here");
        unit_symlink("/dev/null", l);

        _cleanup_(read_result_done) struct read_result res = read_tree(dir, NULL, true);
        cr_assert(eq(int, res.r, 0));
        cr_assert(eq(sz, res.m->n_units, 0));
        cr_assert(warnings_mention(res.m, "m.service"));
}

Test(image_read, empty_unit_skipped_and_does_not_break_others) {
        _cleanup_free_ char *dir = make_tree("empty"), *names = NULL;

        put(dir, "/usr/lib/systemd/system/e-empty.service", "");
        put(dir, "/usr/lib/systemd/system/e.service", "[Service]\n");
        _cleanup_(read_result_done) struct read_result res = read_tree(dir, NULL, false);
        cr_assert(eq(int, res.r, 0));
        names = unit_names(res.m);
        assert_str(names, "e.service");
        cr_assert(warnings_mention(res.m, "e-empty.service"));
}

Test(image_read, huge_unit_file_refused) {
        _cleanup_free_ char *dir = make_tree("huge"), *p = unit_strf("%s/usr/lib/systemd/system/h.service", dir);

        unit_write(p, "[Service]\n");
        cr_assert(eq(int, truncate(p, (off_t) PORTABLE_SIZE_MAX_UNIT_FILE + 1), 0));
        _cleanup_(read_result_done) struct read_result res = read_tree(dir, NULL, false);
        cr_assert(eq(int, res.r, -EFBIG));
        cr_assert(res.error.message != NULL);
        cr_assert(not(zero(ptr, strstr(res.error.message, "h.service"))), "%s", res.error.message);
}

Test(image_read, unit_of_exactly_4mib_accepted) {
        _cleanup_free_ char *dir = make_tree("big"), *p = unit_strf("%s/usr/lib/systemd/system/b.service", dir);

        unit_write(p, "[Service]\n");
        cr_assert(eq(int, truncate(p, (off_t) PORTABLE_SIZE_MAX_UNIT_FILE), 0));
        _cleanup_(read_result_done) struct read_result res = read_tree(dir, NULL, false);
        cr_assert(eq(int, res.r, 0));
        cr_assert(eq(sz, res.m->n_units, 1));
        cr_assert(eq(sz, res.m->units[0].size, PORTABLE_SIZE_MAX_UNIT_FILE));
}

Test(image_read, invalid_names_and_types_ignored) {
        _cleanup_free_ char *dir = make_tree("names"), *names = NULL;

        put(dir, "/usr/lib/systemd/system/ok.service", "[Service]\n");
        put(dir, "/usr/lib/systemd/system/ok.mount", "[Mount]\n");
        put(dir, "/usr/lib/systemd/system/ok.slice", "[Slice]\n");
        put(dir, "/usr/lib/systemd/system/bad name.service", "[Service]\n");
        put(dir, "/usr/lib/systemd/system/ok.service.d/override.conf", "[Service]\n");
        put(dir, "/usr/lib/systemd/system/README", "text\n");
        put(dir, "/usr/lib/systemd/system/ok@.service", "[Service]\n");
        put(dir, "/usr/lib/systemd/system/ok@inst.service", "[Service]\n");
        put(dir, "/usr/lib/systemd/user/user.service", "[Service]\n");

        _cleanup_(read_result_done) struct read_result res = read_tree(dir, NULL, false);
        cr_assert(eq(int, res.r, 0));
        names = unit_names(res.m);
        assert_str(names, "ok.service ok@.service ok@inst.service");
}

Test(image_read, every_search_dir_and_priority) {
        _cleanup_free_ char *dir = make_tree("prio");

        /* The same unit in /lib and in /etc/systemd/system.control: the latter wins. Units
         * found only in low-priority directories are still found. */
        put(dir, "/lib/systemd/system/p.service", "[Service]\n# lib\n");
        put(dir, "/etc/systemd/system.control/p.service", "[Service]\n# control\n");
        put(dir, "/run/systemd/generator.late/late.service", "[Service]\n");
        put(dir, "/usr/local/lib/systemd/system/local.service", "[Service]\n");

        _cleanup_(read_result_done) struct read_result res = read_tree(dir, NULL, false);
        cr_assert(eq(int, res.r, 0));
        _cleanup_free_ char *names = unit_names(res.m);
        assert_str(names, "late.service local.service p.service");
        assert_str(portable_metadata_find_unit(res.m, "p.service")->data, "[Service]\n# control\n");
}

Test(image_read, unit_directory_is_a_file) {
        _cleanup_free_ char *dir = make_tree("filedir");

        put(dir, "/etc/systemd/system", "not a directory\n");
        put(dir, "/usr/lib/systemd/system/u.service", "[Service]\n");
        _cleanup_(read_result_done) struct read_result res = read_tree(dir, NULL, false);
        cr_assert(eq(int, res.r, 0));
        cr_assert(eq(sz, res.m->n_units, 1));
}

Test(image_read, bus_error_left_alone_when_null) {
        _cleanup_free_ char *dir = fixture("noosrel");
        _cleanup_close_ int fd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
        PortableMetadata *m = NULL;

        cr_assert(eq(int, image_read_tree(fd, dir, false, NULL, &m, /* reterr= */ NULL), -ENOENT));
        cr_assert(zero(ptr, m));
}

Test(image_read, find_missing) {
        _cleanup_free_ char *dir = make_tree("missing"), *dangling = unit_strf("%s/etc/resolv.conf", dir),
                            *abs = unit_strf("%s/etc/machine-id", dir), *joined = NULL;
        _cleanup_close_ int fd = -EBADF;
        _cleanup_(portable_metadata_freep) PortableMetadata *m = NULL;
        char *paths[] = { (char *) "/proc", (char *) "/usr", (char *) "/etc/machine-id", (char *) "/etc/resolv.conf",
                          (char *) "/usr/lib/os-release/x", (char *) "/tmp", (char *) "/", NULL };

        /* An absolute link resolves in the image (to its /usr/lib/os-release: present); a
         * dangling one, or a path through a file, is missing. */
        unit_symlink("/usr/lib/os-release", abs);
        unit_symlink("/run/resolv.conf", dangling);
        fd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
        cr_assert(fd >= 0);
        cr_assert(eq(int, portable_metadata_new(&m), 0));

        cr_assert(eq(int, image_tree_find_missing(fd, paths, m), 0));
        joined = strv_join(m->missing, " ");
        assert_str(joined, "/proc /etc/resolv.conf /usr/lib/os-release/x /tmp");
}

Test(image_read, find_missing_nothing_asked) {
        _cleanup_free_ char *dir = make_tree("none");
        _cleanup_close_ int fd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
        _cleanup_(portable_metadata_freep) PortableMetadata *m = NULL;

        cr_assert(eq(int, portable_metadata_new(&m), 0));
        cr_assert(eq(int, image_tree_find_missing(fd, NULL, m), 0));
        cr_assert(eq(sz, strv_length(m->missing), 0));
}

Test(image_read, find_missing_executables) {
        _cleanup_free_ char *dir = make_tree("exec"), *run = unit_strf("%s/usr/bin/run", dir),
                            *plain = unit_strf("%s/usr/bin/plain", dir), *link = unit_strf("%s/usr/bin/link", dir),
                            *joined = NULL;
        _cleanup_close_ int fd = -EBADF;
        _cleanup_(portable_metadata_freep) PortableMetadata *m = NULL;
        char *paths[] = { (char *) "/usr/bin/plain", (char *) IMAGE_CHECK_EXECUTABLE "/usr/bin/plain",
                          (char *) IMAGE_CHECK_EXECUTABLE "/usr/bin/run", (char *) IMAGE_CHECK_EXECUTABLE "/usr/bin/link",
                          (char *) IMAGE_CHECK_EXECUTABLE "/usr/bin", (char *) IMAGE_CHECK_EXECUTABLE "/usr/bin/none",
                          (char *) "/usr/bin/none", NULL };

        unit_write_data(run, "#!/bin/sh\n", 10, 0755);
        unit_write_data(plain, "#!/bin/sh\n", 10, 0644);
        /* An absolute link, resolved inside the image, to an executable. */
        unit_symlink("/usr/bin/run", link);
        fd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
        cr_assert(fd >= 0);
        cr_assert(eq(int, portable_metadata_new(&m), 0));

        /* Reported as asked: present but not executable, a directory, missing altogether; and
         * every path after one that is present but not executable is still looked at. */
        cr_assert(eq(int, image_tree_find_missing(fd, paths, m), 0));
        joined = strv_join(m->missing, " ");
        assert_str(joined, IMAGE_CHECK_EXECUTABLE "/usr/bin/plain " IMAGE_CHECK_EXECUTABLE "/usr/bin "
                           IMAGE_CHECK_EXECUTABLE "/usr/bin/none /usr/bin/none");
}

Test(image_read, find_missing_never_looks_outside) {
        _cleanup_free_ char *dir = make_tree("outside"), *link = unit_strf("%s/proc", dir);
        _cleanup_close_ int fd = -EBADF;
        _cleanup_(portable_metadata_freep) PortableMetadata *m = NULL;
        char *paths[] = { (char *) "/proc", (char *) "/etc/passwd", NULL };

        /* /proc -> the host's /proc by absolute host path: resolved inside, so missing. */
        unit_symlink(tmp, link);
        fd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
        cr_assert(eq(int, portable_metadata_new(&m), 0));
        cr_assert(eq(int, image_tree_find_missing(fd, paths, m), 0));
        cr_assert(eq(sz, strv_length(m->missing), 2));
}

/* --- extension layers ------------------------------------------------------------------------ */

static struct read_result read_extension(const char *dir, const char *name, bool force, char * const *matches) {
        struct read_result res = { .error = SD_BUS_ERROR_NULL };
        _cleanup_close_ int fd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);

        cr_assert(fd >= 0, "open(%s)", dir);
        res.r = image_read_extension_tree(fd, name, dir, force, /* want_sources= */ true, matches, &res.m, &res.error);
        if (res.r < 0)
                cr_assert(zero(ptr, res.m));
        else
                cr_assert(not(zero(ptr, res.m)));
        return res;
}

Test(image_read, extension_release_and_units) {
        _cleanup_free_ char *dir = fixture("app0");
        char *matches[] = { (char *) "app0", (char *) "foo", NULL };
        _cleanup_(read_result_done) struct read_result res = read_extension(dir, "app0", false, matches);

        cr_assert(eq(int, res.r, 0), "%s", strna(res.error.message));
        cr_assert(res.m->extension);
        cr_assert(eq(int, res.m->extension_class, EXTENSION_SYSEXT));
        cr_assert(eq(int, res.m->extension_match, EXTENSION_RELEASE_EXACT));
        assert_str(res.m->os_release.name, "/usr/lib/extension-release.d/extension-release.app0");
        assert_str(os_release_pairs_get(res.m->os_release_pairs, "SYSEXT_IMAGE_ID"), "app");
        cr_assert(eq(sz, res.m->n_units, 2));
        assert_str(res.m->units[0].name, "app0.service");
        assert_str(res.m->units[0].source, "usr/lib/systemd/system/app0.service");
        assert_str(res.m->units[1].name, "foo.target");
}

Test(image_read, extension_release_by_stripped_name) {
        _cleanup_free_ char *dir = fixture("app1");
        _cleanup_(read_result_done) struct read_result res = read_extension(dir, "app1_2", false, NULL);

        cr_assert(eq(int, res.r, 0), "%s", strna(res.error.message));
        cr_assert(eq(int, res.m->extension_match, EXTENSION_RELEASE_STRIPPED));
        cr_assert(eq(sz, res.m->n_units, 2));
}

Test(image_read, extension_ignores_an_os_release_lookup) {
        /* An extension has no os-release, and reading it as one must not want one. */
        _cleanup_free_ char *dir = fixture_copy("app0");
        _cleanup_(read_result_done) struct read_result plain = read_tree(dir, NULL, false);

        cr_assert(eq(int, plain.r, -ENOENT));
}

Test(image_read, extension_without_release_refused) {
        _cleanup_free_ char *dir = make_tree("noext");
        _cleanup_(read_result_done) struct read_result res = read_extension(dir, "noext", true, NULL);

        cr_assert(eq(int, res.r, -ENOENT), "%s", strna(res.error.message));
        cr_assert(strstr(res.error.message, dir) != NULL, "%s", res.error.message);
}

Test(image_read, extension_with_os_release_refused) {
        _cleanup_free_ char *dir = make_tree("withos");
        _cleanup_(read_result_done) struct read_result res = { .error = SD_BUS_ERROR_NULL };

        put(dir, "/usr/lib/extension-release.d/extension-release.withos", "ID=test\n");
        res = read_extension(dir, "withos", false, NULL);
        cr_assert(eq(int, res.r, -EMEDIUMTYPE), "%s", strna(res.error.message));
}

Test(image_read, extension_release_linked_out_of_the_image) {
        _cleanup_free_ char *dir = fixture("evil-rel");
        _cleanup_(read_result_done) struct read_result res = read_extension(dir, "evil-rel", true, NULL);

        cr_assert(eq(int, res.r, -ENOENT), "%s", strna(res.error.message));
        cr_assert(strstr(res.error.message, "lacks extension-release data") != NULL, "%s", res.error.message);
}

Test(image_read, extension_units_linked_out_of_the_image) {
        _cleanup_free_ char *dir = fixture("evil-units");
        _cleanup_(read_result_done) struct read_result res = read_extension(dir, "evil-units", false, NULL);

        cr_assert(eq(int, res.r, 0), "%s", strna(res.error.message));
        cr_assert(eq(sz, res.m->n_units, 0), "no host file is read as a unit");
        cr_assert(eq(sz, strv_length(res.m->warnings), 2));
}
