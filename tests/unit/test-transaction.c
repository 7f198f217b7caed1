/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <criterion/criterion.h>
#include <criterion/new/assert.h>
#include <dirent.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "fd-util.h"
#include "macro.h"
#include "strv.h"
#include "transaction-journal.h"
#include "transaction-step.h"
#include "transaction.h"
#include "unit-helpers.h"

/* Every test works in root/host (the tree under change) with its journal in root/journal. */
static char *root, *host, *journal;
static Transaction t;

static void setup(void) {
        root = unit_mkdtemp("transaction");
        host = unit_strf("%s/host", root);
        journal = unit_strf("%s/journal", root);
        unit_mkdir_p(host, 0755);
        cr_assert(eq(int, transaction_init(&t, journal, "test operation"), 0));
}

static void teardown(void) {
        transaction_done(&t);
        unit_rm_rf(root);
        free(root);
        free(host);
        free(journal);
}

TestSuite(transaction, .init = setup, .fini = teardown);

static char *p(const char *rel) {
        return unit_strf("%s%s", host, rel);
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

static char *snapshot(void) {
        return unit_snapshot(host);
}

/* Whether any ".#..." backup or temporary file exists anywhere below the tree. */
static bool has_leftovers(void) {
        _cleanup_free_ char *snap = snapshot();
        return strstr(snap, "/.#") != NULL || strncmp(snap, ".#", 2) == 0;
}

static size_t journal_files(void) {
        _cleanup_closedir_ DIR *d = opendir(journal);
        struct dirent *de;
        size_t n = 0;

        if (!d)
                return 0;
        while ((de = readdir(d)))
                if (de->d_name[0] != '.')
                        n++;
        return n;
}

static int execute(void) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        return transaction_execute(&t, &error);
}

/* The change list, one "type path [source]" per line, paths relative to the tree. */
static char *changes(void) {
        char *s = unit_strf("%s", "");

        for (size_t i = 0; i < t.changes.n; i++) {
                const PortableChange *c = &t.changes.items[i];
                const char *rel = strncmp(c->path, host, strlen(host)) == 0 ? c->path + strlen(host) : c->path;
                char *n = unit_strf("%s%s %s%s%s\n", s, portable_change_type_to_string(c->type), rel,
                                    c->source ? " " : "", strempty(c->source));
                free(s);
                s = n;
        }
        return s;
}

/* ----------------------------------------------------------------------------------- mkdir */

Test(transaction, mkdir_plans_then_creates) {
        _cleanup_free_ char *d = p("/a/b/c"), *ch = NULL;

        cr_assert(eq(int, transaction_mkdir(&t, d, 0755), 0));
        cr_assert(not(exists("/a")), "planning changes nothing");
        ch = changes();
        assert_str(ch, "mkdir /a/b/c\n");

        cr_assert(eq(int, execute(), 0));
        cr_assert(exists("/a/b/c"));
        cr_assert(eq(uint, mode_of("/a/b/c") & 07777, 0755));
        cr_assert(eq(sz, journal_files(), 0));
}

Test(transaction, mkdir_existing_is_silent) {
        _cleanup_free_ char *d = p("/a"), *ch = NULL;

        cr_assert(eq(int, mkdir(d, 0700), 0));
        cr_assert(eq(int, transaction_mkdir(&t, d, 0755), 0));
        ch = changes();
        assert_str(ch, "");
        cr_assert(eq(sz, t.n_steps, 0));
        cr_assert(eq(int, execute(), 0));
        cr_assert(eq(uint, mode_of("/a") & 07777, 0700), "an existing directory is left as it is");
}

Test(transaction, mkdir_through_a_file_fails) {
        _cleanup_free_ char *d = p("/file/sub");

        put("/file", "x", 0644);
        cr_assert(eq(int, transaction_mkdir(&t, d, 0755), -ENOTDIR));
}

/* A symlink where a parent should be is not followed, however the same parents were found for an
 * earlier directory of the same plan. */
Test(transaction, mkdir_through_a_symlink_fails) {
        _cleanup_free_ char *real = p("/real"), *link = p("/link"), *first = p("/real/a.d"),
                            *through = p("/link/b.d");

        cr_assert(eq(int, mkdir(real, 0755), 0));
        cr_assert(eq(int, symlink("real", link), 0));
        cr_assert(eq(int, transaction_mkdir(&t, first, 0755), 0));
        cr_assert(eq(int, transaction_mkdir(&t, through, 0755), -ENOTDIR));
        cr_assert(eq(int, execute(), 0));
        cr_assert(not(exists("/real/b.d")), "made through the symlink");
}

/* Siblings share their parents, which are looked at once; each sibling is still planned. */
Test(transaction, mkdir_siblings_share_their_parents) {
        _cleanup_free_ char *a = p("/top/a.d"), *b = p("/top/b.d"), *top = p("/top"), *ch = NULL;

        cr_assert(eq(int, mkdir(top, 0755), 0));
        cr_assert(eq(int, transaction_mkdir(&t, a, 0755), 0));
        cr_assert(eq(int, transaction_mkdir(&t, b, 0755), 0));
        ch = changes();
        assert_str(ch, "mkdir /top/a.d\nmkdir /top/b.d\n");
        cr_assert(eq(int, execute(), 0));
        cr_assert(holds(exists("/top/a.d") && exists("/top/b.d")));
}

Test(transaction, mkdir_twice_plans_once) {
        _cleanup_free_ char *d = p("/a/b");

        cr_assert(eq(int, transaction_mkdir(&t, d, 0755), 0));
        cr_assert(eq(int, transaction_mkdir(&t, d, 0755), 0));
        cr_assert(eq(sz, t.n_steps, 2), "/a and /a/b, once each");
}

/* ------------------------------------------------------------------------------ write_file */

Test(transaction, write_new) {
        _cleanup_free_ char *f = p("/d/f.conf"), *d = p("/d"), *c = NULL, *ch = NULL;

        unit_mkdir_p(d, 0755);
        cr_assert(eq(int, transaction_write_file(&t, f, "data\n", 5, 0640, false, PORTABLE_WRITE, NULL), 0));
        cr_assert(not(exists("/d/f.conf")));
        cr_assert(eq(int, execute(), 0));
        c = get("/d/f.conf");
        assert_str(c, "data\n");
        cr_assert(eq(uint, mode_of("/d/f.conf") & 07777, 0640));
        ch = changes();
        assert_str(ch, "write /d/f.conf\n");
        cr_assert(not(has_leftovers()));
}

Test(transaction, write_copies_the_data) {
        _cleanup_free_ char *f = p("/f"), *c = NULL;
        char buf[] = "original";

        cr_assert(eq(int, transaction_write_file(&t, f, buf, strlen(buf), 0644, false, PORTABLE_COPY, "/img/f"), 0));
        memcpy(buf, "changed!", 8);
        cr_assert(eq(int, execute(), 0));
        c = get("/f");
        assert_str(c, "original");
}

Test(transaction, write_binary_and_empty) {
        _cleanup_free_ char *a = p("/a"), *b = p("/b");
        static const char bin[] = { 'x', '\0', 'y' };
        struct stat st;

        cr_assert(eq(int, transaction_write_file(&t, a, "", 0, 0644, false, PORTABLE_WRITE, NULL), 0));
        cr_assert(eq(int, transaction_write_file(&t, b, bin, sizeof(bin), 0644, false, PORTABLE_COPY, NULL), 0));
        cr_assert(eq(int, execute(), 0));
        cr_assert(eq(int, stat(a, &st), 0));
        cr_assert(eq(i64, st.st_size, 0));
        cr_assert(eq(int, stat(b, &st), 0));
        cr_assert(eq(i64, st.st_size, 3));
}

Test(transaction, write_existing_without_replace_is_refused_at_planning) {
        _cleanup_free_ char *f = p("/f"), *c = NULL;

        put("/f", "old", 0644);
        cr_assert(eq(int, transaction_write_file(&t, f, "new", 3, 0644, false, PORTABLE_WRITE, NULL), -EEXIST));
        cr_assert(eq(int, execute(), 0));
        c = get("/f");
        assert_str(c, "old");
}

Test(transaction, write_replace) {
        _cleanup_free_ char *f = p("/f"), *c = NULL;

        put("/f", "old", 0600);
        cr_assert(eq(int, transaction_write_file(&t, f, "new", 3, 0644, true, PORTABLE_WRITE, NULL), 0));
        cr_assert(eq(int, execute(), 0));
        c = get("/f");
        assert_str(c, "new");
        cr_assert(eq(uint, mode_of("/f") & 07777, 0644));
        cr_assert(not(has_leftovers()));
}

Test(transaction, write_over_directory_or_into_nothing) {
        _cleanup_free_ char *d = p("/d"), *f = p("/missing/f");

        unit_mkdir_p(d, 0755);
        cr_assert(eq(int, transaction_write_file(&t, d, "x", 1, 0644, true, PORTABLE_WRITE, NULL), -EISDIR));
        cr_assert(eq(int, transaction_write_file(&t, f, "x", 1, 0644, false, PORTABLE_WRITE, NULL), -ENOENT));
}

Test(transaction, write_into_planned_directory) {
        _cleanup_free_ char *d = p("/new/dir"), *f = p("/new/dir/f"), *c = NULL;

        cr_assert(eq(int, transaction_mkdir(&t, d, 0755), 0));
        cr_assert(eq(int, transaction_write_file(&t, f, "x", 1, 0644, false, PORTABLE_WRITE, NULL), 0));
        cr_assert(eq(int, execute(), 0));
        c = get("/new/dir/f");
        assert_str(c, "x");
}

Test(transaction, write_name_at_name_max) {
        char name[256];
        _cleanup_free_ char *f = NULL, *c = NULL;

        /* Hidden file names must fit whatever the length of the original's name. */
        memset(name, 'u', 255);
        name[255] = '\0';
        f = unit_strf("%s/%s", host, name);
        put(f + strlen(host), "old", 0644);
        cr_assert(eq(int, transaction_write_file(&t, f, "new", 3, 0644, true, PORTABLE_WRITE, NULL), 0));
        cr_assert(eq(int, execute(), 0));
        c = unit_read(f);
        assert_str(c, "new");
}

/* --------------------------------------------------------------------------------- symlink */

Test(transaction, symlink_new_and_replace) {
        _cleanup_free_ char *l = p("/l"), *m = p("/m"), *ch = NULL;
        char target[64] = "";

        put("/m", "a file", 0644);
        cr_assert(eq(int, transaction_symlink(&t, l, "/some/where", false), 0));
        cr_assert(eq(int, transaction_symlink(&t, m, "/else", false), -EEXIST));
        cr_assert(eq(int, transaction_symlink(&t, m, "/else", true), 0));
        cr_assert(eq(int, execute(), 0));
        cr_assert(gt(i64, readlink(l, target, sizeof(target) - 1), 0));
        assert_str(target, "/some/where");
        memset(target, 0, sizeof(target));
        cr_assert(gt(i64, readlink(m, target, sizeof(target) - 1), 0));
        assert_str(target, "/else");
        ch = changes();
        assert_str(ch, "symlink /l /some/where\nsymlink /m /else\n");
        cr_assert(not(has_leftovers()));
}

/* ---------------------------------------------------------------------------------- remove */

Test(transaction, remove_file_and_symlink) {
        _cleanup_free_ char *f = p("/f"), *l = p("/l"), *ch = NULL;

        put("/f", "x", 0644);
        unit_symlink("/nowhere", l);
        cr_assert(eq(int, transaction_remove(&t, f), 0));
        cr_assert(eq(int, transaction_remove(&t, l), 0));
        cr_assert(exists("/f"), "planning removes nothing");
        cr_assert(eq(int, execute(), 0));
        cr_assert(not(exists("/f")));
        cr_assert(not(exists("/l")));
        ch = changes();
        assert_str(ch, "unlink /f\nunlink /l\n");
        cr_assert(not(has_leftovers()));
}

Test(transaction, remove_missing_or_directory) {
        _cleanup_free_ char *m = p("/missing"), *d = p("/d");

        unit_mkdir_p(d, 0755);
        cr_assert(eq(int, transaction_remove(&t, m), -ENOENT));
        cr_assert(eq(int, transaction_remove(&t, d), -EISDIR));
}

Test(transaction, remove_twice_is_refused) {
        _cleanup_free_ char *f = p("/f");

        put("/f", "x", 0644);
        cr_assert(eq(int, transaction_remove(&t, f), 0));
        cr_assert(eq(int, transaction_remove(&t, f), -ENOENT), "the plan already removed it");
}

Test(transaction, remove_tree_with_everything_below) {
        _cleanup_free_ char *tree = p("/tree"), *link = p("/tree/sub/to-outside"), *outside = p("/outside"), *ch = NULL,
                            *kept = NULL;

        put("/tree/a", "a", 0644);
        put("/tree/sub/deeper/b", "b", 0600);
        put("/outside/keep", "kept", 0644);
        unit_symlink(outside, link);
        cr_assert(eq(int, transaction_remove_tree(&t, tree), 0));
        cr_assert(exists("/tree/sub/deeper/b"), "planning removes nothing");
        cr_assert(eq(int, execute(), 0));
        cr_assert(not(exists("/tree")));
        kept = get("/outside/keep");
        assert_str(kept, "kept");
        ch = changes();
        assert_str(ch, "unlink /tree\n");
        cr_assert(not(has_leftovers()));
        cr_assert(eq(sz, journal_files(), 0));
}

Test(transaction, remove_tree_of_a_file_missing_or_planned_is_refused) {
        _cleanup_free_ char *f = p("/f"), *m = p("/missing"), *planned = p("/planned"), *d = p("/d");

        put("/f", "x", 0644);
        unit_mkdir_p(d, 0755);
        cr_assert(eq(int, transaction_remove_tree(&t, f), -ENOTDIR));
        cr_assert(eq(int, transaction_remove_tree(&t, m), -ENOENT));
        cr_assert(eq(int, transaction_mkdir(&t, planned, 0755), 0));
        cr_assert(eq(int, transaction_remove_tree(&t, planned), -ENOTDIR));
        cr_assert(eq(int, transaction_remove_tree(&t, d), 0));
        cr_assert(eq(int, transaction_remove_tree(&t, d), -ENOENT), "the plan already removed it");
        cr_assert(eq(int, transaction_remove(&t, d), -ENOENT));
}

Test(transaction, remove_tree_abort_puts_it_back) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_free_ char *tree = p("/tree"), *before = NULL, *during = NULL, *after = NULL;

        put("/tree/a", "a", 0644);
        put("/tree/sub/b", "b", 0600);
        before = snapshot();
        cr_assert(eq(int, transaction_remove_tree(&t, tree), 0));
        cr_assert(eq(int, transaction_apply(&t, &error), 0), "%s", strna(error.message));
        cr_assert(not(exists("/tree")));
        during = snapshot();
        cr_assert(not(zero(ptr, strstr(during, "/.#portabled-"))), "the tree waits under a hidden name: %s", during);
        cr_assert(eq(int, transaction_abort(&t, NULL), 0));
        after = snapshot();
        assert_str(after, before);
        cr_assert(eq(sz, journal_files(), 0));
}

/* Something mounted inside the tree is not the tree's: refused at planning, before anything
 * changes. */
Test(transaction, remove_tree_with_a_mount_below_is_refused) {
        _cleanup_free_ char *tree = p("/tree"), *mnt = p("/tree/deep/mnt"), *before = NULL, *after = NULL;

        unit_private_mount_namespace();
        put("/tree/a", "a", 0644);
        unit_mkdir_p(mnt, 0755);
        cr_assert(eq(int, mount("tmpfs", mnt, "tmpfs", 0, "mode=0755"), 0));
        before = snapshot();
        cr_assert(eq(int, transaction_remove_tree(&t, tree), -EBUSY));
        cr_assert(eq(sz, t.n_steps, 0));
        cr_assert(eq(int, execute(), 0));
        after = snapshot();
        assert_str(after, before);
}

/* Something mounted inside the tree after planning is not the tree's: the cleanup stops there,
 * the caller is told, the journal stays; once it is unmounted, recovery finishes the job. */
Test(transaction, remove_tree_with_a_mount_below_is_finished_by_recovery) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_free_ char *tree = p("/tree"), *mnt = p("/tree/mnt"), *backup = NULL, *inside = NULL, *c = NULL;
        _cleanup_strv_free_ char **log = NULL;

        unit_private_mount_namespace();
        put("/tree/a", "a", 0644);
        unit_mkdir_p(mnt, 0755);
        cr_assert(eq(int, transaction_remove_tree(&t, tree), 0));
        cr_assert(eq(int, mount("tmpfs", mnt, "tmpfs", 0, "mode=0755"), 0));
        inside = unit_strf("%s/precious", mnt);
        unit_write(inside, "on tmpfs");

        cr_assert(eq(int, execute(), -EXDEV));
        cr_assert(not(exists("/tree")), "the tree is gone from its place");
        cr_assert(eq(sz, journal_files(), 1), "the journal stays for recovery");
        backup = unit_strf("%s/mnt/precious", t.steps[0].backup);
        c = unit_read(backup);
        assert_str(c, "on tmpfs");

        cr_assert(eq(int, transaction_recover(journal, &log), -EXDEV));
        cr_assert(eq(sz, journal_files(), 1), "still mounted: still there");
        strv_free(log);
        log = NULL;

        free(mnt);
        mnt = unit_strf("%s/mnt", t.steps[0].backup);
        cr_assert(eq(int, umount2(mnt, MNT_DETACH), 0));
        cr_assert(eq(int, transaction_recover(journal, &log), 1));
        cr_assert(eq(sz, journal_files(), 0));
        cr_assert(not(has_leftovers()));
}

Test(transaction, lstat_follows_the_plan) {
        _cleanup_free_ char *f = p("/f"), *d = p("/d"), *l = p("/l");
        struct stat st;

        put("/f", "x", 0644);
        cr_assert(eq(int, transaction_lstat(&t, f, &st), 0));
        cr_assert(eq(int, transaction_remove(&t, f), 0));
        cr_assert(eq(int, transaction_lstat(&t, f, &st), -ENOENT));
        cr_assert(eq(int, transaction_write_file(&t, f, "y", 1, 0644, false, PORTABLE_WRITE, NULL), 0));
        cr_assert(eq(int, transaction_lstat(&t, f, &st), 0));
        cr_assert(holds(S_ISREG(st.st_mode)));
        cr_assert(eq(int, transaction_mkdir(&t, d, 0755), 0));
        cr_assert(eq(int, transaction_lstat(&t, d, &st), 0));
        cr_assert(holds(S_ISDIR(st.st_mode)));
        cr_assert(eq(int, transaction_symlink(&t, l, "/x", false), 0));
        cr_assert(eq(int, transaction_lstat(&t, l, &st), 0));
        cr_assert(holds(S_ISLNK(st.st_mode)));
}

/* ------------------------------------------------------------------- remove_dir_if_empty */

Test(transaction, remove_dir_if_empty_after_removals) {
        _cleanup_free_ char *f = p("/d/f"), *d = p("/d"), *ch = NULL;

        put("/d/f", "x", 0644);
        cr_assert(eq(int, transaction_remove(&t, f), 0));
        cr_assert(eq(int, transaction_remove_dir_if_empty(&t, d), 0));
        cr_assert(eq(int, execute(), 0));
        cr_assert(not(exists("/d")));
        ch = changes();
        assert_str(ch, "unlink /d/f\nunlink /d\n");
}

Test(transaction, remove_dir_if_empty_keeps_what_is_not_empty) {
        _cleanup_free_ char *f = p("/d/f"), *d = p("/d"), *ch = NULL;

        put("/d/f", "x", 0644);
        put("/d/admin.conf", "mine", 0644);
        cr_assert(eq(int, transaction_remove(&t, f), 0));
        cr_assert(eq(int, transaction_remove_dir_if_empty(&t, d), 0));
        cr_assert(eq(int, execute(), 0));
        cr_assert(exists("/d/admin.conf"));
        ch = changes();
        assert_str(ch, "unlink /d/f\n");
        cr_assert(not(has_leftovers()));
}

Test(transaction, remove_dir_if_empty_nested_and_gone) {
        _cleanup_free_ char *f = p("/a/b/f"), *inner = p("/a/b"), *outer = p("/a"), *gone = p("/nothing");

        put("/a/b/f", "x", 0644);
        cr_assert(eq(int, transaction_remove(&t, f), 0));
        cr_assert(eq(int, transaction_remove_dir_if_empty(&t, inner), 0));
        cr_assert(eq(int, transaction_remove_dir_if_empty(&t, outer), 0));
        cr_assert(eq(int, transaction_remove_dir_if_empty(&t, gone), 0));
        cr_assert(eq(int, execute(), 0));
        cr_assert(not(exists("/a")));
}

/* ---------------------------------------------------------------------- whole transactions */

static void populate(void) {
        _cleanup_free_ char *l = p("/etc/systemd/system.attached/bar.service.d/10-profile.conf");

        put("/etc/systemd/system.attached/bar.service", "[Service]\nExecStart=/bar\n", 0644);
        put("/etc/systemd/system.attached/bar.service.d/20-portable.conf", "# marker\n", 0644);
        unit_symlink("/usr/lib/portabled/profile/default/service.conf", l);
        put("/etc/systemd/system.attached/keep.service.d/override.conf", "# admin\n", 0600);
        put("/etc/other", "untouched\n", 0644);
        put("/etc/portables/bar/usr/lib/os-release", "ID=bar\n", 0644);
        put("/etc/portables/bar/usr/bin/bar", "#!/bin/sh\n", 0755);
}

static void plan_attach_like(Transaction *tr) {
        _cleanup_free_ char *dir = p("/etc/systemd/system.attached/foo.service.d"),
                            *dropin = p("/etc/systemd/system.attached/foo.service.d/20-portable.conf"),
                            *unit = p("/etc/systemd/system.attached/foo.service"),
                            *bar = p("/etc/systemd/system.attached/bar.service"),
                            *links = p("/etc/portables"), *link = p("/etc/portables/foo");

        cr_assert(eq(int, transaction_mkdir(tr, dir, 0755), 0));
        cr_assert(eq(int, transaction_write_file(tr, dropin, "# new marker\n", 13, 0644, true, PORTABLE_WRITE, NULL), 0));
        cr_assert(eq(int, transaction_write_file(tr, unit, "[Service]\n", 10, 0644, false, PORTABLE_COPY, "/img/foo.service"), 0));
        cr_assert(eq(int, transaction_write_file(tr, bar, "[Service]\nExecStart=/bar2\n", 26, 0644, true, PORTABLE_COPY, NULL), 0));
        cr_assert(eq(int, transaction_mkdir(tr, links, 0755), 0));
        cr_assert(eq(int, transaction_symlink(tr, link, "/srv/foo", false), 0));
}

static void plan_detach_like(Transaction *tr) {
        static const char *const rels[] = {
                "/etc/systemd/system.attached/bar.service",
                "/etc/systemd/system.attached/bar.service.d/10-profile.conf",
                "/etc/systemd/system.attached/bar.service.d/20-portable.conf",
        };
        _cleanup_free_ char *d = p("/etc/systemd/system.attached/bar.service.d"), *a = p("/etc/systemd/system.attached");

        for (size_t i = 0; i < ELEMENTSOF(rels); i++) {
                _cleanup_free_ char *f = p(rels[i]);
                cr_assert(eq(int, transaction_remove(tr, f), 0));
        }
        cr_assert(eq(int, transaction_remove_dir_if_empty(tr, d), 0));
        cr_assert(eq(int, transaction_remove_dir_if_empty(tr, a), 0));
        {
                _cleanup_free_ char *copy = p("/etc/portables/bar");
                cr_assert(eq(int, transaction_remove_tree(tr, copy), 0));
        }
}

/* The reattach pattern: files removed and written again in one plan. */
static void plan_reattach_like(Transaction *tr) {
        plan_detach_like(tr);
        plan_attach_like(tr);
}

Test(transaction, reattach_like_commit) {
        _cleanup_free_ char *c = NULL;

        populate();
        plan_reattach_like(&t);
        cr_assert(eq(int, execute(), 0));
        cr_assert(not(has_leftovers()));
        c = get("/etc/systemd/system.attached/bar.service");
        assert_str(c, "[Service]\nExecStart=/bar2\n");
        cr_assert(not(exists("/etc/systemd/system.attached/bar.service.d")), "emptied drop-in dir is removed");
        cr_assert(exists("/etc/systemd/system.attached/keep.service.d/override.conf"));
        cr_assert(exists("/etc/portables/foo"));
        cr_assert(eq(sz, journal_files(), 0));
}

Test(transaction, write_then_remove_same_file) {
        _cleanup_free_ char *f = p("/f"), *before = snapshot(), *after = NULL;

        cr_assert(eq(int, transaction_write_file(&t, f, "x", 1, 0644, false, PORTABLE_WRITE, NULL), 0));
        cr_assert(eq(int, transaction_remove(&t, f), 0));
        cr_assert(eq(int, execute(), 0));
        after = snapshot();
        assert_str(after, before);
}

Test(transaction, failure_while_applying_rolls_back) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_free_ char *before = NULL, *after = NULL, *late = p("/etc/portables/foo"),
                            *late_dir = p("/etc/portables");

        populate();
        plan_reattach_like(&t);
        /* Someone takes a path the plan creates after the plan was made: the last step fails,
         * and everything before it must be undone. */
        before = snapshot();
        unit_mkdir_p(late_dir, 0755);
        unit_write(late, "someone else's\n");
        free(before);
        before = snapshot();

        cr_assert(lt(int, transaction_execute(&t, &error), 0));
        cr_assert(not(zero(ptr, strstr(strempty(error.message), "/etc/portables/foo"))), "%s", strempty(error.message));
        after = snapshot();
        assert_str(after, before);
        cr_assert(eq(sz, journal_files(), 0), "a rolled back transaction leaves no journal");
}

Test(transaction, stale_plan_is_refused) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_free_ char *f = p("/f"), *g = p("/g"), *c = NULL;

        put("/f", "old", 0644);
        put("/g", "keep", 0644);
        cr_assert(eq(int, transaction_write_file(&t, g, "new", 3, 0644, true, PORTABLE_WRITE, NULL), 0));
        cr_assert(eq(int, transaction_remove(&t, f), 0));
        cr_assert(eq(int, unlink(f), 0));
        cr_assert(eq(int, transaction_execute(&t, &error), -ESTALE));
        c = get("/g");
        assert_str(c, "keep");
        cr_assert(not(has_leftovers()));
}

Test(transaction, finish_hands_over_or_drops) {
        _cleanup_free_ char *f = p("/f"), *g = p("/g");
        PortableChanges out = {};
        Transaction other;

        cr_assert(eq(int, transaction_write_file(&t, f, "x", 1, 0644, false, PORTABLE_WRITE, NULL), 0));
        cr_assert(eq(int, transaction_finish(&t, 0, &out, NULL), 0));
        cr_assert(exists("/f"));
        cr_assert(eq(sz, out.n, 1));
        assert_str(out.items[0].path, f);
        cr_assert(eq(sz, t.changes.n, 0), "the list was handed over");
        portable_changes_done(&out);

        cr_assert(eq(int, transaction_init(&other, journal, "dropped"), 0));
        cr_assert(eq(int, transaction_write_file(&other, g, "x", 1, 0644, false, PORTABLE_WRITE, NULL), 0));
        cr_assert(eq(int, transaction_finish(&other, -EIO, &out, NULL), -EIO));
        cr_assert(not(exists("/g")), "a failed operation's plan is never applied");
        transaction_done(&other);
}

Test(transaction, empty_transaction_writes_no_journal) {
        struct stat st;

        cr_assert(eq(int, execute(), 0));
        cr_assert(eq(int, lstat(journal, &st), -1), "the journal directory is made on first use only");
}

Test(transaction, planning_after_execute_is_refused) {
        _cleanup_free_ char *f = p("/f");

        cr_assert(eq(int, execute(), 0));
        cr_assert(eq(int, transaction_write_file(&t, f, "x", 1, 0644, false, PORTABLE_WRITE, NULL), -EBUSY));
}

/* ---------------------------------------------------------------------------------- crashes */

/* Simulates a crash of a transaction planned by plan() on the populated tree: the journal is
 * written, the first n_done steps are applied, and step n_done is left half done (as far as
 * half_done_progress says). Then recovery runs as at the next start. */
static void crash_while_applying(void (*plan)(Transaction *), size_t n_done, StepProgress half_done_progress) {
        for (size_t i = 0; i < n_done; i++)
                cr_assert(eq(int, transaction_step_apply(&t.steps[i]), 0), "step %zu", i);

        if (n_done < t.n_steps && half_done_progress != STEP_NOT_STARTED) {
                TransactionStep *s = &t.steps[n_done];

                /* Replay the step up to the given point by hand. */
                if (s->kind == STEP_CREATE) {
                        if (s->target)
                                cr_assert(eq(int, symlink(s->target, s->temp), 0));
                        else
                                unit_write_data(s->temp, s->data, s->size, s->mode);
                        if (half_done_progress >= STEP_MOVED_ASIDE && s->backup)
                                cr_assert(eq(int, rename(s->path, s->backup), 0));
                }
        }
        (void) plan;
}

static void check_crash_recovery(void (*plan)(Transaction *)) {
        _cleanup_free_ char *before = NULL;

        populate();
        before = snapshot();
        plan(&t);
        cr_assert(gt(sz, t.n_steps, 3));

        for (size_t n_done = 0; n_done <= t.n_steps; n_done++)
                for (StepProgress half = STEP_NOT_STARTED; half <= STEP_MOVED_ASIDE; half++) {
                        _cleanup_strv_free_ char **log = NULL;
                        _cleanup_free_ char *after = NULL;

                        if (half != STEP_NOT_STARTED && (n_done == t.n_steps || t.steps[n_done].kind != STEP_CREATE))
                                continue;

                        cr_assert(eq(int, mkdir(journal, 0700) >= 0 || errno == EEXIST, 1));
                        cr_assert(eq(int, transaction_journal_save(journal, t.id, t.key, t.description, false, t.steps, t.n_steps), 0));
                        crash_while_applying(plan, n_done, half);

                        cr_assert(eq(int, transaction_recover(journal, &log), 1), "crash after %zu steps (+%d)", n_done, half);
                        after = snapshot();
                        cr_assert(eq(str, after, before), "crash after %zu steps (+%d): not the old state", n_done, half);
                        cr_assert(eq(sz, journal_files(), 0));
                        cr_assert(not(zero(ptr, strstr(strempty(log ? log[0] : NULL), "rolled back"))));
                        cr_assert(eq(sz, strv_length(log), 1), "crash after %zu steps (+%d): a file left alone", n_done, half);
                }
}

Test(transaction, crash_while_attaching_rolls_back) {
        check_crash_recovery(plan_attach_like);
}

Test(transaction, crash_while_detaching_rolls_back) {
        check_crash_recovery(plan_detach_like);
}

Test(transaction, crash_while_reattaching_rolls_back) {
        check_crash_recovery(plan_reattach_like);
}

static size_t step_index(const char *rel) {
        _cleanup_free_ char *path = p(rel);

        for (size_t i = 0; i < t.n_steps; i++)
                if (streq(t.steps[i].path, path))
                        return i;
        cr_fatal("no step for %s", rel);
        return SIZE_MAX;
}

/* The daemon died before a create step renamed its file into place (temp_written: after writing
 * the temporary file), and something else took the free path before the next start: recovery
 * undoes everything else, and leaves that file, which is not ours, alone. With the temporary file
 * still there, even a file with the very contents the step would have written is not ours. */
static void check_foreign_file_survives(const char *rel, bool symlink_it, bool temp_written) {
        _cleanup_free_ char *before = NULL, *path = p(rel), *after = NULL, *found = NULL, *same = NULL,
                            *expected_log = NULL;
        _cleanup_strv_free_ char **log = NULL;
        const char *content;
        size_t i;

        populate();
        before = snapshot();
        plan_attach_like(&t);
        i = step_index(rel);
        cr_assert(eq(int, t.steps[i].kind, STEP_CREATE));
        cr_assert(zero(ptr, t.steps[i].backup), "the path was free when planned");

        cr_assert(eq(int, mkdir(journal, 0700), 0));
        cr_assert(eq(int, transaction_journal_save(journal, t.id, t.key, t.description, false, t.steps, t.n_steps), 0));
        crash_while_applying(plan_attach_like, i, temp_written ? STEP_TEMP_WRITTEN : STEP_NOT_STARTED);
        if (temp_written)
                content = same = t.steps[i].target ? strdup(t.steps[i].target) : strndup(t.steps[i].data, t.steps[i].size);
        else /* a target as long as ours, which the length alone does not tell apart */
                content = symlink_it ? "/srv/fox" : "[Service]\nExecStart=/admin\n";
        cr_assert(not(zero(ptr, (void *) content)));
        if (symlink_it)
                cr_assert(eq(int, symlink(content, path), 0));
        else
                put(rel, content, 0644);

        cr_assert(eq(int, transaction_recover(journal, &log), 1));
        cr_assert(eq(sz, journal_files(), 0));
        cr_assert(eq(sz, strv_length(log), 2));
        expected_log = unit_strf("Interrupted operation 'test operation' (%s): left %s in place, which it did not write.",
                                 t.id, path);
        assert_str(log[1], expected_log);
        found = symlink_it ? unit_readlink(path) : get(rel);
        assert_str(found, content);
        cr_assert(eq(int, unlink(path), 0));
        after = snapshot();
        assert_str(after, before);
}

Test(transaction, crash_leaves_a_file_that_took_the_free_path) {
        check_foreign_file_survives("/etc/systemd/system.attached/foo.service", false, false);
}

Test(transaction, crash_leaves_a_file_that_took_the_free_path_beside_our_temporary_file) {
        check_foreign_file_survives("/etc/systemd/system.attached/foo.service", false, true);
}

Test(transaction, crash_leaves_a_symlink_that_took_the_free_path) {
        check_foreign_file_survives("/etc/portables/foo", true, false);
}

Test(transaction, crash_leaves_a_symlink_that_took_the_free_path_beside_our_temporary_link) {
        check_foreign_file_survives("/etc/portables/foo", true, true);
}

/* Contents that differ only slightly, or a file of the same size, are not ours either; the very
 * file the step wrote is, and goes. */
Test(transaction, crash_recovery_compares_contents) {
        _cleanup_free_ char *before = NULL, *after = NULL, *found = NULL;
        const char *rel = "/etc/systemd/system.attached/foo.service";
        size_t i;

        populate();
        before = snapshot();
        plan_attach_like(&t);
        i = step_index(rel);
        cr_assert(eq(int, mkdir(journal, 0700), 0));
        cr_assert(eq(int, transaction_journal_save(journal, t.id, t.key, t.description, false, t.steps, t.n_steps), 0));

        crash_while_applying(plan_attach_like, i + 1, STEP_NOT_STARTED);
        put(rel, "[Servicf]\n", 0644); /* the same size */
        cr_assert(eq(int, transaction_recover(journal, NULL), 1));
        found = get(rel);
        assert_str(found, "[Servicf]\n");
        cr_assert(eq(int, unlink(t.steps[i].path), 0));

        cr_assert(eq(int, transaction_journal_save(journal, t.id, t.key, t.description, false, t.steps, t.n_steps), 0));
        crash_while_applying(plan_attach_like, i + 1, STEP_NOT_STARTED);
        cr_assert(eq(int, transaction_recover(journal, NULL), 1));
        after = snapshot();
        assert_str(after, before);
}

/* A journal written before contents were recorded (no key, no digest, no target) is recovered as
 * it always was: the file at a created path goes. */
Test(transaction, journal_without_digests_is_recovered_as_before) {
        _cleanup_free_ char *text = NULL, *path = NULL;

        put("/etc/new.service", "[Service]\n", 0644);
        cr_assert(eq(int, mkdir(journal, 0700), 0));
        text = unit_strf("{\"version\":1,\"id\":\"00aa\",\"state\":\"applying\",\"steps\":[{\"kind\":\"create\","
                         "\"path\":\"%s/etc/new.service\",\"temp\":\"%s/etc/.#portabled-00aa-0\"}]}", host, host);
        path = unit_strf("%s/00aa.journal", journal);
        unit_write(path, text);
        cr_assert(eq(int, transaction_recover(journal, NULL), 1));
        cr_assert(not(exists("/etc/new.service")));
}

/* The tree a reattach-like plan leaves when nothing interrupts it; the root is then back to
 * empty, for the test to populate again. */
static char *reattach_reference(void) {
        Transaction clean;
        char *expected;

        populate();
        cr_assert(eq(int, transaction_init(&clean, journal, "reference"), 0));
        plan_reattach_like(&clean);
        cr_assert(eq(int, transaction_execute(&clean, NULL), 0));
        expected = snapshot();
        transaction_done(&clean);
        unit_rm_rf(root);
        unit_mkdir_p(host, 0755);
        return expected;
}

/* After the commit point, recovery completes the cleanup: the result is the new state, exactly
 * as a transaction that was not interrupted leaves it. */
Test(transaction, crash_after_commit_point_completes) {
        _cleanup_free_ char *expected = reattach_reference();

        /* Crash half-way through the cleanup. */
        populate();
        plan_reattach_like(&t);
        for (size_t i = 0; i < t.n_steps; i++)
                cr_assert(eq(int, transaction_step_apply(&t.steps[i]), 0));
        cr_assert(eq(int, mkdir(journal, 0700), 0));
        cr_assert(eq(int, transaction_journal_save(journal, t.id, t.key, t.description, true, t.steps, t.n_steps), 0));
        for (size_t i = 0; i < t.n_steps / 2; i++)
                cr_assert(ge(int, transaction_step_cleanup(&t.steps[i]), 0));

        cr_assert(eq(int, transaction_recover(journal, NULL), 1));
        {
                _cleanup_free_ char *after = snapshot();
                assert_str(after, expected);
        }
        cr_assert(eq(sz, journal_files(), 0));
}

static void set_immutable(const char *path, bool on) {
        _cleanup_close_ int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        unsigned attrs = 0;

        cr_assert(fd >= 0, "%s", path);
        cr_assert(eq(int, ioctl(fd, FS_IOC_GETFLAGS, &attrs), 0));
        SET_FLAG(attrs, FS_IMMUTABLE_FL, on);
        cr_assert(eq(int, ioctl(fd, FS_IOC_SETFLAGS, &attrs), 0), "chattr %ci %s: %m", on ? '+' : '-', path);
}

/* The immutable directory dir is writable again: one recovery, whose log says logged, ends in
 * expected, with no journal left. */
static void assert_recovers_to(const char *dir, const char *expected, const char *logged) {
        _cleanup_strv_free_ char **log = NULL;
        _cleanup_free_ char *after = NULL;

        set_immutable(dir, false);
        cr_assert(eq(int, transaction_recover(journal, &log), 1));
        cr_assert(not(zero(ptr, strstr(strempty(log ? log[0] : NULL), logged))), "%s", strna(log ? log[0] : NULL));
        after = snapshot();
        assert_str(after, expected);
        cr_assert(eq(sz, journal_files(), 0));
}

/* The commit point is passed, but a backup cannot be deleted (its directory became immutable):
 * the caller is told, not "success"; the journal stays, and the next start's recovery deletes
 * the leftovers once it can, to exactly the state a clean run leaves. */
Test(transaction, failed_cleanup_after_commit_is_reported_and_recovered) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_free_ char *expected = NULL, *dir = p("/etc/systemd/system.attached"), *c = NULL;
        Transaction clean;

        if (geteuid() != 0)
                cr_skip_test("the immutable attribute needs CAP_LINUX_IMMUTABLE");

        populate();
        cr_assert(eq(int, transaction_init(&clean, journal, "reference"), 0));
        plan_reattach_like(&clean);
        cr_assert(eq(int, transaction_execute(&clean, NULL), 0));
        expected = snapshot();
        transaction_done(&clean);
        unit_rm_rf(root);
        unit_mkdir_p(host, 0755);

        populate();
        plan_reattach_like(&t);
        cr_assert(eq(int, transaction_apply(&t, &error), 0), "%s", strna(error.message));
        set_immutable(dir, true);
        cr_assert(eq(int, transaction_commit(&t, &error), -EPERM));
        cr_assert(not(zero(ptr, strstr(strempty(error.message), "applied, but a hidden backup file could not be removed"))),
                  "%s", strna(error.message));

        /* The new state is in place; what is left is the backups and the journal. */
        c = get("/etc/systemd/system.attached/bar.service");
        assert_str(c, "[Service]\nExecStart=/bar2\n");
        cr_assert(exists("/etc/portables/foo"));
        cr_assert(has_leftovers());
        cr_assert(eq(sz, journal_files(), 1), "the journal must stay for the recovery");

        assert_recovers_to(dir, expected, "had been applied: finished removing its backups");
}

/* execute() after apply() commits (it used to report success and leave the journal and the
 * backups); after a failed apply, which was undone, it fails and changes nothing. */
Test(transaction, execute_after_apply_commits) {
        _cleanup_free_ char *expected = reattach_reference(), *after = NULL;

        populate();
        plan_reattach_like(&t);
        cr_assert(eq(int, transaction_apply(&t, NULL), 0));
        cr_assert(eq(int, transaction_execute(&t, NULL), 0));
        after = snapshot();
        assert_str(after, expected);
        cr_assert(not(has_leftovers()));
        cr_assert(eq(sz, journal_files(), 0));
}

Test(transaction, execute_after_failed_apply_fails) {
        _cleanup_free_ char *before = NULL, *after = NULL, *dir = p("/etc/systemd/system.attached");

        if (geteuid() != 0)
                cr_skip_test("the immutable attribute needs CAP_LINUX_IMMUTABLE");

        populate();
        before = snapshot();
        plan_reattach_like(&t);
        set_immutable(dir, true);
        cr_assert(lt(int, transaction_apply(&t, NULL), 0));
        set_immutable(dir, false);
        cr_assert(eq(int, transaction_execute(&t, NULL), -EINVAL));
        after = snapshot();
        assert_str(after, before);
        cr_assert(eq(sz, journal_files(), 0));
}


/* A reattach-like transaction applied (not committed), then its backups' directory dir made
 * immutable, so that nothing there can be put back; returns the tree from before the apply. */
static char *applied_then_frozen(const char *dir) {
        char *before;

        if (geteuid() != 0)
                cr_skip_test("the immutable attribute needs CAP_LINUX_IMMUTABLE");
        populate();
        before = snapshot();
        plan_reattach_like(&t);
        cr_assert(eq(int, transaction_apply(&t, NULL), 0));
        set_immutable(dir, true);
        return before;
}

/* Undoing fails part of the way (the directory of the backups became immutable, so they cannot be
 * renamed back): the caller is told, and the journal stays with the backups it names, so that
 * they are not taken for orphans; recovery puts the old state back once it can. */
Test(transaction, failed_undo_keeps_the_journal) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_free_ char *dir = p("/etc/systemd/system.attached"), *before = applied_then_frozen(dir);

        cr_assert(eq(int, transaction_abort(&t, &error), -EPERM));
        cr_assert(not(zero(ptr, strstr(strempty(error.message), "Undoing the changes made so far failed (Operation not permitted)"))),
                  "%s", strna(error.message));
        cr_assert(not(zero(ptr, strstr(strempty(error.message), t.id))), "the message names the journal: %s",
                  strna(error.message));
        cr_assert(has_leftovers(), "the backups are still hidden");
        cr_assert(eq(sz, journal_files(), 1), "the journal must stay for the recovery");

        assert_recovers_to(dir, before, "rolled back to the previous state");
}

/* Recovery itself cannot undo everything: the journal stays, the log says so, and the next
 * recovery finishes. */
Test(transaction, failed_recovery_keeps_the_journal) {
        _cleanup_free_ char *dir = p("/etc/systemd/system.attached"), *before = applied_then_frozen(dir);
        _cleanup_strv_free_ char **log = NULL;

        /* The daemon dies here; the next start cannot change the attached directory. */
        t.executed = false;
        cr_assert(eq(int, transaction_recover(journal, &log), -EPERM));
        cr_assert(not(zero(ptr, strstr(strempty(log ? log[0] : NULL), "could not be rolled back"))), "%s",
                  strna(log ? log[0] : NULL));
        cr_assert(eq(sz, journal_files(), 1));
        cr_assert(has_leftovers());

        assert_recovers_to(dir, before, "rolled back to the previous state");
}

/* The commit point is the journal's rename to <id>.committed: a crash right after it, or during
 * the cleanup that follows, completes the operation, whatever state the document says. */
Test(transaction, crash_after_commit_rename_completes) {
        _cleanup_free_ char *expected = NULL, *committed = NULL, *applying = NULL;
        Transaction clean;

        populate();
        cr_assert(eq(int, transaction_init(&clean, journal, "reference"), 0));
        plan_reattach_like(&clean);
        cr_assert(eq(int, transaction_execute(&clean, NULL), 0));
        expected = snapshot();
        transaction_done(&clean);

        for (size_t n_cleaned = 0; n_cleaned <= 1; n_cleaned++) {
                _cleanup_strv_free_ char **log = NULL;
                _cleanup_free_ char *after = NULL;

                unit_rm_rf(root);
                unit_mkdir_p(host, 0755);
                populate();
                transaction_done(&t);
                cr_assert(eq(int, transaction_init(&t, journal, "test operation"), 0));
                plan_reattach_like(&t);
                cr_assert(eq(int, mkdir(journal, 0700), 0));
                cr_assert(eq(int, transaction_journal_save(journal, t.id, t.key, t.description, false, t.steps, t.n_steps), 0));
                for (size_t i = 0; i < t.n_steps; i++)
                        cr_assert(eq(int, transaction_step_apply(&t.steps[i]), 0));
                cr_assert(eq(int, transaction_journal_commit(journal, t.id), 0));

                free(committed);
                free(applying);
                committed = unit_strf("%s/%s.committed", journal, t.id);
                applying = unit_strf("%s/%s.journal", journal, t.id);
                cr_assert(eq(int, access(committed, F_OK), 0));
                cr_assert(eq(int, access(applying, F_OK) < 0 && errno == ENOENT, 1), "renamed, not copied");

                for (size_t i = 0; n_cleaned && i < t.n_steps / 2; i++)
                        cr_assert(ge(int, transaction_step_cleanup(&t.steps[i]), 0));

                cr_assert(eq(int, transaction_recover(journal, &log), 1));
                after = snapshot();
                assert_str(after, expected);
                cr_assert(eq(sz, journal_files(), 0));
                cr_assert(not(zero(ptr, strstr(strempty(log ? log[0] : NULL), "had been applied"))));
        }
}

/* The commit needs the journal of the transaction: without it (never saved, or already
 * committed), nothing is renamed and the caller rolls back. */
Test(transaction, commit_without_journal_fails) {
        cr_assert(eq(int, mkdir(journal, 0700), 0));
        cr_assert(eq(int, transaction_journal_commit(journal, t.id), -ENOENT));
        cr_assert(eq(sz, journal_files(), 0));
}

/* A transaction that went through leaves neither name behind. */
Test(transaction, execute_leaves_no_journal) {
        populate();
        plan_reattach_like(&t);
        cr_assert(eq(int, execute(), 0));
        cr_assert(eq(sz, journal_files(), 0));
        cr_assert(not(has_leftovers()));
}

/* The journal's directory and the missing ones above it are made on first use (the one of the
 * journal private to root); something else in its place is refused before anything changes. */
Test(transaction, journal_directory_is_made_or_refused) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_free_ char *nested = unit_strf("%s/state/lib/journal", root), *parent = unit_strf("%s/state", root),
                            *before = NULL, *after = NULL;
        Transaction u;
        struct stat st;

        populate();
        cr_assert(eq(int, transaction_init(&u, nested, "nested"), 0));
        plan_reattach_like(&u);
        cr_assert(eq(int, transaction_execute(&u, &error), 0), "%s", strna(error.message));
        transaction_done(&u);
        cr_assert(eq(int, stat(nested, &st), 0));
        cr_assert(eq(u32, st.st_mode & 07777, 0700));
        cr_assert(eq(int, stat(parent, &st), 0));
        cr_assert(eq(u32, st.st_mode & 07777, 0755));

        unit_rm_rf(root);
        unit_mkdir_p(host, 0755);
        populate();
        unit_write(journal, "not a directory\n");
        before = snapshot();
        plan_attach_like(&t);
        cr_assert(eq(int, transaction_execute(&t, &error), -ENOTDIR));
        after = snapshot();
        assert_str(after, before);
}

Test(transaction, journal_names) {
        _cleanup_free_ char *id = NULL;
        bool committed = true;

        cr_assert(eq(int, transaction_journal_parse_name("00aa.journal", &id, &committed), 0));
        assert_str(id, "00aa");
        cr_assert(not(committed));
        id = mfree(id);
        cr_assert(eq(int, transaction_journal_parse_name("00aa.committed", &id, &committed), 0));
        assert_str(id, "00aa");
        cr_assert(committed);
        cr_assert(eq(int, transaction_journal_parse_name(".#portable0001.journal", NULL, NULL), -EINVAL));
        cr_assert(eq(int, transaction_journal_parse_name(".journal", NULL, NULL), -EINVAL));
        cr_assert(eq(int, transaction_journal_parse_name("00aa.journal.tmp", NULL, NULL), -EINVAL));
        cr_assert(eq(int, transaction_journal_parse_name("00aa", NULL, NULL), -EINVAL));
}

Test(transaction, recovery_is_idempotent) {
        _cleanup_free_ char *before = NULL, *after = NULL;

        populate();
        before = snapshot();
        plan_reattach_like(&t);
        cr_assert(eq(int, mkdir(journal, 0700), 0));
        cr_assert(eq(int, transaction_journal_save(journal, t.id, t.key, t.description, false, t.steps, t.n_steps), 0));
        crash_while_applying(plan_reattach_like, t.n_steps / 2, STEP_NOT_STARTED);
        /* Recovery itself "crashes" after undoing: the journal is still there. */
        for (size_t i = t.n_steps; i > t.n_steps / 2; i--)
                transaction_step_undo(&t.steps[i - 1], NULL, t.key);
        cr_assert(eq(int, transaction_recover(journal, NULL), 1));
        cr_assert(eq(int, transaction_recover(journal, NULL), 0));
        after = snapshot();
        assert_str(after, before);
}

Test(transaction, damaged_journal_touches_nothing) {
        _cleanup_free_ char *before = NULL, *after = NULL, *path = NULL;
        _cleanup_strv_free_ char **log = NULL;

        populate();
        plan_reattach_like(&t);
        cr_assert(eq(int, mkdir(journal, 0700), 0));
        cr_assert(eq(int, transaction_journal_save(journal, t.id, t.key, t.description, false, t.steps, t.n_steps), 0));
        crash_while_applying(plan_reattach_like, 3, STEP_NOT_STARTED);
        before = snapshot();

        path = unit_strf("%s/%s.journal", journal, t.id);
        unit_write(path, "{\"version\": 1, \"id\": \"");
        cr_assert(lt(int, transaction_recover(journal, &log), 0));
        after = snapshot();
        assert_str(after, before);
        cr_assert(not(zero(ptr, strstr(strempty(log ? log[0] : NULL), "cannot be read"))));
        cr_assert(eq(sz, journal_files(), 1), "left in place for an administrator to look at");
}

/* A journal is trusted only as far as it names our own hidden files next to their paths. */
static const char *const foreign_journals[] = {
        /* backup in another directory */
        "{\"version\":1,\"id\":\"00aa\",\"state\":\"applying\",\"steps\":[{\"kind\":\"remove\",\"path\":\"@H@/etc/other\",\"backup\":\"@H@/.#portabled-00aa-1\"}]}",
        /* backup without our name */
        "{\"version\":1,\"id\":\"00aa\",\"state\":\"committing\",\"steps\":[{\"kind\":\"remove\",\"path\":\"@H@/etc/other\",\"backup\":\"@H@/etc/important\"}]}",
        /* relative path */
        "{\"version\":1,\"id\":\"00aa\",\"state\":\"applying\",\"steps\":[{\"kind\":\"mkdir\",\"path\":\"etc\"}]}",
        /* id that does not match the file name */
        "{\"version\":1,\"id\":\"00bb\",\"state\":\"applying\",\"steps\":[]}",
        /* unknown state */
        "{\"version\":1,\"id\":\"00aa\",\"state\":\"whatever\",\"steps\":[]}",
        /* future version */
        "{\"version\":2,\"id\":\"00aa\",\"state\":\"applying\",\"steps\":[]}",
        /* create without temp */
        "{\"version\":1,\"id\":\"00aa\",\"state\":\"applying\",\"steps\":[{\"kind\":\"create\",\"path\":\"@H@/etc/other\"}]}",
        /* a digest without the key it was made with */
        "{\"version\":1,\"id\":\"00aa\",\"state\":\"applying\",\"steps\":[{\"kind\":\"create\",\"path\":\"@H@/etc/other\",\"temp\":\"@H@/etc/.#portabled-00aa-0\",\"size\":10,\"digest\":\"0011223344556677\"}]}",
        /* a digest that is not 16 lowercase hex digits */
        "{\"version\":1,\"id\":\"00aa\",\"key\":\"0123456789abcdef0123456789abcdef\",\"state\":\"applying\",\"steps\":[{\"kind\":\"create\",\"path\":\"@H@/etc/other\",\"temp\":\"@H@/etc/.#portabled-00aa-0\",\"size\":10,\"digest\":\"0011223344556677AA\"}]}",
        "{\"version\":1,\"id\":\"00aa\",\"key\":\"0123456789abcdef0123456789abcdef\",\"state\":\"applying\",\"steps\":[{\"kind\":\"create\",\"path\":\"@H@/etc/other\",\"temp\":\"@H@/etc/.#portabled-00aa-0\",\"size\":10,\"digest\":\"00112233445566ZZ\"}]}",
        /* a digest without a size, a negative size */
        "{\"version\":1,\"id\":\"00aa\",\"key\":\"0123456789abcdef0123456789abcdef\",\"state\":\"applying\",\"steps\":[{\"kind\":\"create\",\"path\":\"@H@/etc/other\",\"temp\":\"@H@/etc/.#portabled-00aa-0\",\"digest\":\"0011223344556677\"}]}",
        "{\"version\":1,\"id\":\"00aa\",\"key\":\"0123456789abcdef0123456789abcdef\",\"state\":\"applying\",\"steps\":[{\"kind\":\"create\",\"path\":\"@H@/etc/other\",\"temp\":\"@H@/etc/.#portabled-00aa-0\",\"size\":-1,\"digest\":\"0011223344556677\"}]}",
        /* a target and a digest; an empty target */
        "{\"version\":1,\"id\":\"00aa\",\"key\":\"0123456789abcdef0123456789abcdef\",\"state\":\"applying\",\"steps\":[{\"kind\":\"create\",\"path\":\"@H@/etc/other\",\"temp\":\"@H@/etc/.#portabled-00aa-0\",\"target\":\"/srv\",\"size\":1,\"digest\":\"0011223344556677\"}]}",
        "{\"version\":1,\"id\":\"00aa\",\"key\":\"0123456789abcdef0123456789abcdef\",\"state\":\"applying\",\"steps\":[{\"kind\":\"create\",\"path\":\"@H@/etc/other\",\"temp\":\"@H@/etc/.#portabled-00aa-0\",\"target\":\"\"}]}",
        /* a key that is not 32 hex digits */
        "{\"version\":1,\"id\":\"00aa\",\"key\":\"00\",\"state\":\"applying\",\"steps\":[]}",
};

Test(transaction, foreign_journals_are_refused) {
        _cleanup_free_ char *before = NULL, *path = NULL;

        populate();
        put("/etc/important", "precious\n", 0644);
        before = snapshot();
        cr_assert(eq(int, mkdir(journal, 0700), 0));

        /* Under either name: a committed journal is checked just the same. */
        for (size_t k = 0; k < 2; k++) {
                free(path);
                path = unit_strf("%s/00aa%s", journal, k == 0 ? ".journal" : ".committed");
                for (size_t i = 0; i < ELEMENTSOF(foreign_journals); i++) {
                        _cleanup_free_ char *text = unit_replace(foreign_journals[i], "@H@", host), *after = NULL;

                        unit_write(path, text);
                        cr_assert(lt(int, transaction_recover(journal, NULL), 0), "journal %zu (%s) accepted", i, path);
                        after = snapshot();
                        cr_assert(eq(str, after, before), "journal %zu (%s) changed the tree", i, path);
                }
                cr_assert(eq(int, unlink(path), 0));
        }
}
