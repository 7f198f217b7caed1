/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <criterion/criterion.h>
#include <criterion/new/assert.h>
#include <dirent.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "macro.h"
#include "transaction.h"
#include "unit-helpers.h"

static char *root;
static Transaction t;

static void setup(void) {
        root = unit_mkdtemp("transaction");
        t = (Transaction) {};
}

static void teardown(void) {
        transaction_done(&t);
        unit_rm_rf(root);
        free(root);
}

TestSuite(transaction, .init = setup, .fini = teardown);

static char *p(const char *rel) {
        return unit_strf("%s%s", root, rel);
}

static void put(const char *rel, const char *content, mode_t mode) {
        _cleanup_free_ char *path = p(rel);
        unit_write_data(path, content, strlen(content), mode);
}

static char *get(const char *rel) {
        _cleanup_free_ char *path = p(rel);
        return unit_read(path);
}

static bool exists(const char *rel) {
        _cleanup_free_ char *path = p(rel);
        struct stat st;
        return lstat(path, &st) >= 0;
}

static mode_t mode_of(const char *rel) {
        _cleanup_free_ char *path = p(rel);
        struct stat st;
        cr_assert(eq(int, lstat(path, &st), 0), "%s", path);
        return st.st_mode;
}

/* Whether any ".#..." backup or temporary file exists anywhere below the root. */
static bool has_leftovers(void) {
        _cleanup_free_ char *snap = unit_snapshot(root);
        return strstr(snap, "/.#") != NULL;
}

/* The change list, one "type path [source]" per line, paths relative to the root. */
static char *changes(void) {
        char *s = unit_strf("%s", "");

        for (size_t i = 0; i < t.changes.n; i++) {
                const PortableChange *c = &t.changes.items[i];
                const char *rel = strncmp(c->path, root, strlen(root)) == 0 ? c->path + strlen(root) : c->path;
                char *n = unit_strf("%s%s %s%s%s\n", s, portable_change_type_to_string(c->type), rel,
                                    c->source ? " " : "", strempty(c->source));
                free(s);
                s = n;
        }
        return s;
}

/* ----------------------------------------------------------------------------------- mkdir */

Test(transaction, mkdir_records_only_the_last_component) {
        _cleanup_free_ char *d = p("/a/b/c"), *ch = NULL;

        cr_assert(eq(int, transaction_mkdir(&t, d, 0755), 0));
        cr_assert(exists("/a/b/c"));
        cr_assert(eq(uint, mode_of("/a/b/c") & 07777, 0755));
        ch = changes();
        assert_str(ch, "mkdir /a/b/c\n");

        cr_assert(eq(int, transaction_commit(&t), 0));
        cr_assert(exists("/a/b/c"));
}

Test(transaction, mkdir_existing_is_silent) {
        _cleanup_free_ char *d = p("/a"), *ch = NULL;

        cr_assert(eq(int, mkdir(d, 0700), 0));
        cr_assert(eq(int, transaction_mkdir(&t, d, 0755), 0));
        ch = changes();
        assert_str(ch, "");
        cr_assert(eq(uint, mode_of("/a") & 07777, 0700), "an existing directory is left as it is");
        transaction_rollback(&t);
        cr_assert(exists("/a"), "rollback must not remove what was there before");
}

Test(transaction, mkdir_rollback_removes_only_what_it_made) {
        _cleanup_free_ char *d = p("/keep/new1/new2"), *before = NULL, *after = NULL, *keep = p("/keep");

        unit_mkdir_p(keep, 0755);
        before = unit_snapshot(root);
        cr_assert(eq(int, transaction_mkdir(&t, d, 0755), 0));
        transaction_rollback(&t);
        after = unit_snapshot(root);
        assert_str(after, before);
}

Test(transaction, mkdir_through_a_file_fails) {
        _cleanup_free_ char *d = p("/file/sub");

        put("/file", "x", 0644);
        cr_assert(lt(int, transaction_mkdir(&t, d, 0755), 0));
}

/* ------------------------------------------------------------------------------ write_file */

Test(transaction, write_new) {
        _cleanup_free_ char *f = p("/d/f.conf"), *d = p("/d"), *c = NULL, *ch = NULL;

        unit_mkdir_p(d, 0755);
        cr_assert(eq(int, transaction_write_file(&t, f, "data\n", 5, 0640, false, PORTABLE_WRITE, NULL), 0));
        c = get("/d/f.conf");
        assert_str(c, "data\n");
        cr_assert(eq(uint, mode_of("/d/f.conf") & 07777, 0640));
        ch = changes();
        assert_str(ch, "write /d/f.conf\n");
        cr_assert(eq(int, transaction_commit(&t), 0));
        cr_assert(not(has_leftovers()));
}

Test(transaction, write_copy_records_source) {
        _cleanup_free_ char *f = p("/f.service"), *ch = NULL;

        cr_assert(eq(int, transaction_write_file(&t, f, "[Unit]\n", 7, 0644, false, PORTABLE_COPY, "/img/f.service"), 0));
        ch = changes();
        assert_str(ch, "copy /f.service /img/f.service\n");
}

Test(transaction, write_existing_without_replace) {
        _cleanup_free_ char *f = p("/f"), *c = NULL, *ch = NULL, *before = NULL, *after = NULL;

        put("/f", "old", 0600);
        before = unit_snapshot(root);
        cr_assert(eq(int, transaction_write_file(&t, f, "new", 3, 0644, false, PORTABLE_WRITE, NULL), -EEXIST));
        ch = changes();
        assert_str(ch, "");
        after = unit_snapshot(root);
        assert_str(after, before);
        c = get("/f");
        assert_str(c, "old");
}

Test(transaction, write_over_dangling_symlink_without_replace) {
        _cleanup_free_ char *f = p("/f"), *target = p("/target");

        unit_symlink(target, f);
        cr_assert(eq(int, transaction_write_file(&t, f, "new", 3, 0644, false, PORTABLE_WRITE, NULL), -EEXIST));
        cr_assert(not(exists("/target")));
}

Test(transaction, write_replace_then_commit) {
        _cleanup_free_ char *f = p("/f"), *c = NULL, *snap = NULL;

        put("/f", "old", 0600);
        cr_assert(eq(int, transaction_write_file(&t, f, "new", 3, 0644, true, PORTABLE_WRITE, NULL), 0));
        c = get("/f");
        assert_str(c, "new");
        /* The old file is kept aside, hidden, until commit. */
        cr_assert(has_leftovers());
        cr_assert(eq(int, transaction_commit(&t), 0));
        cr_assert(not(has_leftovers()));
        snap = unit_snapshot(root);
        cr_assert(not(zero(ptr, strstr(snap, "/f f 0644 3 "))), "%s", snap);
}

Test(transaction, write_replace_then_rollback) {
        _cleanup_free_ char *f = p("/f"), *before = NULL, *after = NULL;

        put("/f", "old contents", 0600);
        before = unit_snapshot(root);
        cr_assert(eq(int, transaction_write_file(&t, f, "new", 3, 0644, true, PORTABLE_WRITE, NULL), 0));
        transaction_rollback(&t);
        after = unit_snapshot(root);
        assert_str(after, before);
}

Test(transaction, write_replace_symlink_keeps_target) {
        _cleanup_free_ char *f = p("/link"), *target = p("/target"), *c = NULL;

        put("/target", "precious", 0644);
        unit_symlink(target, f);
        cr_assert(eq(int, transaction_write_file(&t, f, "new", 3, 0644, true, PORTABLE_WRITE, NULL), 0));
        cr_assert(holds(S_ISREG(mode_of("/link"))));
        cr_assert(eq(int, transaction_commit(&t), 0));
        c = get("/target");
        assert_str(c, "precious");
}

Test(transaction, write_over_directory) {
        _cleanup_free_ char *f = p("/dir"), *before = NULL, *after = NULL;

        unit_mkdir_p(f, 0755);
        put("/dir/inside", "x", 0644);
        before = unit_snapshot(root);
        cr_assert(eq(int, transaction_write_file(&t, f, "new", 3, 0644, true, PORTABLE_WRITE, NULL), -EISDIR));
        cr_assert(eq(int, transaction_write_file(&t, f, "new", 3, 0644, false, PORTABLE_WRITE, NULL), -EEXIST));
        transaction_rollback(&t);
        after = unit_snapshot(root);
        assert_str(after, before);
}

Test(transaction, write_into_missing_directory) {
        _cleanup_free_ char *f = p("/missing/f");

        cr_assert(eq(int, transaction_write_file(&t, f, "x", 1, 0644, false, PORTABLE_WRITE, NULL), -ENOENT));
        cr_assert(eq(sz, t.changes.n, 0));
}

Test(transaction, write_empty_and_binary) {
        static const char bin[] = { 0, 1, 2, '\xff' };
        _cleanup_free_ char *a = p("/empty"), *b = p("/bin"), *snap = NULL;

        cr_assert(eq(int, transaction_write_file(&t, a, "", 0, 0644, false, PORTABLE_WRITE, NULL), 0));
        cr_assert(eq(int, transaction_write_file(&t, b, bin, sizeof(bin), 0644, false, PORTABLE_COPY, NULL), 0));
        cr_assert(eq(int, transaction_commit(&t), 0));
        snap = unit_snapshot(root);
        cr_assert(not(zero(ptr, strstr(snap, "/empty f 0644 0 "))));
        cr_assert(not(zero(ptr, strstr(snap, "/bin f 0644 4 "))));
}

/* --------------------------------------------------------------------------------- symlink */

Test(transaction, symlink_new_and_existing) {
        _cleanup_free_ char *l = p("/l"), *ch = NULL;
        char target[64] = {};

        cr_assert(eq(int, transaction_symlink(&t, l, "/some/where", false), 0));
        cr_assert(gt(long, (long) readlink(l, target, sizeof(target) - 1), 0L));
        assert_str(target, "/some/where");
        cr_assert(eq(int, transaction_symlink(&t, l, "/else", false), -EEXIST));
        ch = changes();
        assert_str(ch, "symlink /l /some/where\n");
}

Test(transaction, symlink_replace_rollback) {
        _cleanup_free_ char *l = p("/l"), *before = NULL, *after = NULL;

        put("/l", "a regular file", 0644);
        before = unit_snapshot(root);
        cr_assert(eq(int, transaction_symlink(&t, l, "/new", true), 0));
        cr_assert(holds(S_ISLNK(mode_of("/l"))));
        transaction_rollback(&t);
        after = unit_snapshot(root);
        assert_str(after, before);
}

/* ---------------------------------------------------------------------------------- remove */

Test(transaction, remove_then_commit) {
        _cleanup_free_ char *f = p("/f"), *ch = NULL;

        put("/f", "bye", 0644);
        cr_assert(eq(int, transaction_remove(&t, f), 0));
        cr_assert(not(exists("/f")));
        ch = changes();
        assert_str(ch, "unlink /f\n");
        cr_assert(eq(int, transaction_commit(&t), 0));
        cr_assert(not(exists("/f")));
        cr_assert(not(has_leftovers()));
}

Test(transaction, remove_then_rollback) {
        _cleanup_free_ char *f = p("/f"), *l = p("/l"), *before = NULL, *after = NULL;

        put("/f", "keep me", 0604);
        unit_symlink("/nowhere", l);
        before = unit_snapshot(root);
        cr_assert(eq(int, transaction_remove(&t, f), 0));
        cr_assert(eq(int, transaction_remove(&t, l), 0));
        transaction_rollback(&t);
        after = unit_snapshot(root);
        assert_str(after, before);
}

Test(transaction, remove_symlink_not_target) {
        _cleanup_free_ char *l = p("/l"), *target = p("/target"), *c = NULL;

        put("/target", "precious", 0644);
        unit_symlink(target, l);
        cr_assert(eq(int, transaction_remove(&t, l), 0));
        cr_assert(eq(int, transaction_commit(&t), 0));
        cr_assert(not(exists("/l")));
        c = get("/target");
        assert_str(c, "precious");
}

Test(transaction, remove_missing_and_directory) {
        _cleanup_free_ char *m = p("/missing"), *d = p("/dir");

        unit_mkdir_p(d, 0755);
        cr_assert(eq(int, transaction_remove(&t, m), -ENOENT));
        cr_assert(eq(int, transaction_remove(&t, d), -EISDIR));
        cr_assert(exists("/dir"));
        cr_assert(eq(sz, t.changes.n, 0));
}

Test(transaction, remove_long_name) {
        _cleanup_free_ char *name = malloc(256), *f = NULL;

        /* A unit name may be 255 bytes long: removing such a file must work too. */
        cr_assert(not(zero(ptr, name)));
        memset(name, 'a', 255);
        strcpy(name + 255 - strlen(".service"), ".service");
        f = unit_strf("%s/%s", root, name);
        unit_write(f, "[Unit]\n");

        /* Regression: the backup name used to be ".#<name>.portabled-<pid>-<n>", beyond
         * NAME_MAX for names longer than ~225 bytes (ENAMETOOLONG). */
        cr_assert(eq(int, transaction_remove(&t, f), 0));
        cr_assert(eq(int, transaction_commit(&t), 0));
        cr_assert(ne(int, access(f, F_OK), 0));
}

/* ------------------------------------------------------------------- remove_dir_if_empty */

Test(transaction, remove_dir_if_empty_at_commit) {
        _cleanup_free_ char *d = p("/d"), *f = p("/d/f"), *ch = NULL;

        put("/d/f", "x", 0644);
        cr_assert(eq(int, transaction_remove(&t, f), 0));
        cr_assert(eq(int, transaction_remove_dir_if_empty(&t, d), 0));
        /* Nothing happens to the directory before commit. */
        cr_assert(exists("/d"));
        cr_assert(eq(int, transaction_commit(&t), 0));
        cr_assert(not(exists("/d")));
        ch = changes();
        assert_str(ch, "unlink /d/f\nunlink /d\n");
}

Test(transaction, remove_dir_if_empty_keeps_nonempty) {
        _cleanup_free_ char *d = p("/d"), *f = p("/d/f"), *ch = NULL, *c = NULL;

        put("/d/f", "x", 0644);
        put("/d/admin.conf", "mine", 0644);
        cr_assert(eq(int, transaction_remove(&t, f), 0));
        cr_assert(eq(int, transaction_remove_dir_if_empty(&t, d), 0));
        cr_assert(eq(int, transaction_commit(&t), 0));
        c = get("/d/admin.conf");
        assert_str(c, "mine");
        ch = changes();
        assert_str(ch, "unlink /d/f\n");
}

Test(transaction, remove_dir_if_empty_nested_and_missing) {
        _cleanup_free_ char *outer = p("/outer"), *inner = p("/outer/inner"), *f = p("/outer/inner/f"), *gone = p("/gone"),
                            *ch = NULL;

        put("/outer/inner/f", "x", 0644);
        cr_assert(eq(int, transaction_remove(&t, f), 0));
        cr_assert(eq(int, transaction_remove_dir_if_empty(&t, inner), 0));
        cr_assert(eq(int, transaction_remove_dir_if_empty(&t, outer), 0));
        cr_assert(eq(int, transaction_remove_dir_if_empty(&t, gone), 0));
        cr_assert(eq(int, transaction_commit(&t), 0));
        cr_assert(not(exists("/outer")));
        ch = changes();
        assert_str(ch, "unlink /outer/inner/f\nunlink /outer/inner\nunlink /outer\n");
}

Test(transaction, remove_dir_if_empty_rollback_is_noop) {
        _cleanup_free_ char *d = p("/d"), *before = NULL, *after = NULL;

        unit_mkdir_p(d, 0755);
        before = unit_snapshot(root);
        cr_assert(eq(int, transaction_remove_dir_if_empty(&t, d), 0));
        transaction_rollback(&t);
        after = unit_snapshot(root);
        assert_str(after, before);
}

/* ------------------------------------------------------------------ whole transactions */

/* An attach-like and a detach-like transaction over a populated tree: rollback restores the
 * exact previous tree, commit leaves no backup behind. */
static void populate(void) {
        _cleanup_free_ char *l = p("/etc/systemd/system.attached/bar.service.d/10-profile.conf");

        put("/etc/systemd/system.attached/bar.service", "[Service]\nExecStart=/bar\n", 0644);
        put("/etc/systemd/system.attached/bar.service.d/20-portable.conf", "# marker\n", 0644);
        unit_symlink("/usr/lib/portabled/profile/default/service.conf", l);
        put("/etc/systemd/system.attached/keep.service.d/override.conf", "# admin\n", 0600);
        put("/etc/other", "untouched\n", 0644);
}

static void attach_like(void) {
        _cleanup_free_ char *dir = p("/etc/systemd/system.attached/foo.service.d"),
                            *dropin = p("/etc/systemd/system.attached/foo.service.d/20-portable.conf"),
                            *unit = p("/etc/systemd/system.attached/foo.service"),
                            *bar = p("/etc/systemd/system.attached/bar.service"),
                            *links = p("/etc/portables"), *link = p("/etc/portables/foo");

        cr_assert(eq(int, transaction_mkdir(&t, dir, 0755), 0));
        cr_assert(eq(int, transaction_write_file(&t, dropin, "# new marker\n", 13, 0644, true, PORTABLE_WRITE, NULL), 0));
        cr_assert(eq(int, transaction_write_file(&t, unit, "[Service]\n", 10, 0644, false, PORTABLE_COPY, "/img/foo.service"), 0));
        cr_assert(eq(int, transaction_write_file(&t, bar, "[Service]\nExecStart=/bar2\n", 26, 0644, true, PORTABLE_COPY, NULL), 0));
        cr_assert(eq(int, transaction_mkdir(&t, links, 0755), 0));
        cr_assert(eq(int, transaction_symlink(&t, link, "/srv/foo", false), 0));
}

static void detach_like(void) {
        static const char *const rels[] = {
                "/etc/systemd/system.attached/bar.service",
                "/etc/systemd/system.attached/bar.service.d/10-profile.conf",
                "/etc/systemd/system.attached/bar.service.d/20-portable.conf",
        };
        _cleanup_free_ char *d = p("/etc/systemd/system.attached/bar.service.d"), *a = p("/etc/systemd/system.attached");

        for (size_t i = 0; i < ELEMENTSOF(rels); i++) {
                _cleanup_free_ char *f = p(rels[i]);
                cr_assert(eq(int, transaction_remove(&t, f), 0));
        }
        cr_assert(eq(int, transaction_remove_dir_if_empty(&t, d), 0));
        cr_assert(eq(int, transaction_remove_dir_if_empty(&t, a), 0));
}

Test(transaction, attach_like_rollback_restores_exact_tree) {
        _cleanup_free_ char *before = NULL, *after = NULL;

        populate();
        before = unit_snapshot(root);
        attach_like();
        transaction_rollback(&t);
        after = unit_snapshot(root);
        assert_str(after, before);
}

Test(transaction, attach_like_into_empty_root_rollback) {
        _cleanup_free_ char *before = NULL, *after = NULL, *bar = p("/etc/systemd/system.attached/bar.service");

        /* Every directory up to the root was created by the transaction: all must go. */
        before = unit_snapshot(root);
        {
                _cleanup_free_ char *dir = p("/etc/systemd/system.attached/foo.service.d"),
                                    *f = p("/etc/systemd/system.attached/foo.service.d/20-portable.conf");
                cr_assert(eq(int, transaction_mkdir(&t, dir, 0755), 0));
                cr_assert(eq(int, transaction_write_file(&t, f, "x", 1, 0644, false, PORTABLE_WRITE, NULL), 0));
        }
        transaction_rollback(&t);
        after = unit_snapshot(root);
        assert_str(after, before);
}

Test(transaction, detach_like_rollback_restores_exact_tree) {
        _cleanup_free_ char *before = NULL, *after = NULL;

        populate();
        before = unit_snapshot(root);
        detach_like();
        transaction_rollback(&t);
        after = unit_snapshot(root);
        assert_str(after, before);
}

Test(transaction, detach_then_attach_rollback) {
        _cleanup_free_ char *before = NULL, *after = NULL;

        /* The reattach pattern: files removed and written again in one transaction. */
        populate();
        before = unit_snapshot(root);
        detach_like();
        attach_like();
        transaction_rollback(&t);
        after = unit_snapshot(root);
        assert_str(after, before);
}

Test(transaction, detach_then_attach_commit) {
        _cleanup_free_ char *c = NULL;

        populate();
        detach_like();
        attach_like();
        cr_assert(eq(int, transaction_commit(&t), 0));
        cr_assert(not(has_leftovers()));
        c = get("/etc/systemd/system.attached/bar.service");
        assert_str(c, "[Service]\nExecStart=/bar2\n");
        cr_assert(not(exists("/etc/systemd/system.attached/bar.service.d")), "emptied drop-in dir is removed");
        cr_assert(exists("/etc/systemd/system.attached/keep.service.d/override.conf"));
        cr_assert(exists("/etc/portables/foo"));
}

Test(transaction, rollback_after_failed_step) {
        _cleanup_free_ char *before = NULL, *after = NULL, *ok = p("/etc/new"), *bad = p("/nonexistent/dir/file");

        populate();
        before = unit_snapshot(root);
        cr_assert(eq(int, transaction_write_file(&t, ok, "x", 1, 0644, false, PORTABLE_WRITE, NULL), 0));
        cr_assert(lt(int, transaction_write_file(&t, bad, "x", 1, 0644, false, PORTABLE_WRITE, NULL), 0));
        transaction_rollback(&t);
        after = unit_snapshot(root);
        assert_str(after, before);
}

Test(transaction, write_then_remove_same_file) {
        _cleanup_free_ char *f = p("/f"), *before = NULL, *after = NULL;

        before = unit_snapshot(root);
        cr_assert(eq(int, transaction_write_file(&t, f, "x", 1, 0644, false, PORTABLE_WRITE, NULL), 0));
        cr_assert(eq(int, transaction_remove(&t, f), 0));
        transaction_rollback(&t);
        after = unit_snapshot(root);
        assert_str(after, before);
}

Test(transaction, commit_twice_and_done_after_commit) {
        _cleanup_free_ char *f = p("/f");

        cr_assert(eq(int, transaction_write_file(&t, f, "x", 1, 0644, false, PORTABLE_WRITE, NULL), 0));
        cr_assert(eq(int, transaction_commit(&t), 0));
        cr_assert(eq(int, transaction_commit(&t), 0));
        /* After commit, a rollback undoes nothing. */
        transaction_rollback(&t);
        cr_assert(exists("/f"));
}

Test(transaction, done_on_empty) {
        Transaction empty = {};

        transaction_done(&empty);
        transaction_rollback(&empty);
        cr_assert(eq(int, transaction_commit(&empty), 0));
}

Test(transaction, finish_commits_on_success) {
        _cleanup_free_ char *f = p("/f"), *ch = NULL;
        PortableChanges out = {};

        cr_assert(eq(int, transaction_write_file(&t, f, "x", 1, 0644, false, PORTABLE_WRITE, NULL), 0));
        cr_assert(eq(int, transaction_finish(&t, 0, &out), 0));
        cr_assert(exists("/f"));
        cr_assert(eq(sz, out.n, 1));
        assert_str(out.items[0].path, f);
        /* The list was handed over. */
        cr_assert(eq(sz, t.changes.n, 0));
        portable_changes_done(&out);
}

Test(transaction, finish_rolls_back_on_error) {
        _cleanup_free_ char *f = p("/f"), *g = p("/g"), *before = NULL, *after = NULL;
        PortableChanges out = {};

        put("/g", "old", 0644);
        before = unit_snapshot(root);
        cr_assert(eq(int, transaction_write_file(&t, f, "x", 1, 0644, false, PORTABLE_WRITE, NULL), 0));
        cr_assert(eq(int, transaction_remove(&t, g), 0));
        cr_assert(eq(int, transaction_finish(&t, -EIO, &out), -EIO));
        cr_assert(eq(sz, out.n, 0));
        cr_assert(zero(ptr, out.items));
        after = unit_snapshot(root);
        assert_str(after, before);
}
