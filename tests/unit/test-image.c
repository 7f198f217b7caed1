/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <criterion/criterion.h>
#include <criterion/new/assert.h>
#include <fcntl.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "fd-util.h"
#include "image.h"
#include "unit-helpers.h"

static char *tmp, *root;
static Host host;

static void setup(void) {
        tmp = unit_mkdtemp("image");
        root = unit_strf("%s/root", tmp);
        unit_mkdir_p(root, 0755);
        host = (Host) { .root = root };
}

static void teardown(void) {
        unit_rm_rf(tmp);
        free(root);
        free(tmp);
}

TestSuite(image, .init = setup, .fini = teardown);

static char *in_root(const char *rel) {
        return unit_strf("%s%s", root, rel);
}

static char *in_tmp(const char *rel) {
        return unit_strf("%s%s", tmp, rel);
}

/* A directory image: just enough to be a directory. */
static void make_dir_image(const char *path) {
        _cleanup_free_ char *p = unit_strf("%s/usr/lib/os-release", path);
        unit_write(p, "ID=test\n");
}

static void make_raw_image(const char *path, mode_t mode) {
        unit_write_data(path, "not really a file system", 24, mode);
}

Test(image, from_path_directory) {
        _cleanup_free_ char *p = in_tmp("/images/foo_1.2");
        _cleanup_(image_freep) Image *image = NULL;

        make_dir_image(p);
        cr_assert(eq(int, image_from_path(p, &image), 0));
        cr_assert(eq(int, image->type, IMAGE_DIRECTORY));
        assert_str(image->name, "foo_1.2");
        assert_str(image->path, p);
        cr_assert(not(image->discoverable));
        cr_assert(not(image->read_only));
        cr_assert(eq(u64, image->usage, UINT64_MAX));
        cr_assert(eq(u64, image->limit, UINT64_MAX));
        cr_assert(gt(u64, image->mtime, 0));
}

Test(image, from_path_raw) {
        _cleanup_free_ char *p = in_tmp("/images/foo_1.2.raw");
        _cleanup_(image_freep) Image *image = NULL;

        make_raw_image(p, 0644);
        cr_assert(eq(int, image_from_path(p, &image), 0));
        cr_assert(eq(int, image->type, IMAGE_RAW));
        assert_str(image->name, "foo_1.2"); /* .raw stripped, version kept (§3.3) */
        assert_str(image->path, p);
        cr_assert(not(image->read_only));
        cr_assert(eq(u64, image->limit, 24));
        cr_assert(gt(u64, image->mtime, 0));
}

Test(image, raw_without_write_bits_is_read_only) {
        _cleanup_free_ char *p = in_tmp("/ro.raw");
        _cleanup_(image_freep) Image *image = NULL;

        make_raw_image(p, 0444);
        cr_assert(eq(int, image_from_path(p, &image), 0));
        cr_assert(image->read_only);
}

Test(image, from_path_follows_symlinks) {
        _cleanup_free_ char *target = in_tmp("/store/real.raw"), *link = in_tmp("/link.raw");
        _cleanup_(image_freep) Image *image = NULL;

        make_raw_image(target, 0644);
        unit_symlink(target, link);
        cr_assert(eq(int, image_from_path(link, &image), 0));
        cr_assert(eq(int, image->type, IMAGE_RAW));
        assert_str(image->name, "link");
        assert_str(image->path, link);
}

Test(image, from_path_rejects_bad_paths) {
        Image *image = NULL;
        _cleanup_free_ char *hidden = in_tmp("/.#foo"), *dotdot = in_tmp("/x/../foo");

        make_dir_image(hidden);
        cr_assert(eq(int, image_from_path("foo", &image), -EINVAL));
        cr_assert(eq(int, image_from_path("relative/foo", &image), -EINVAL));
        cr_assert(eq(int, image_from_path(dotdot, &image), -EINVAL));
        cr_assert(eq(int, image_from_path(hidden, &image), -EINVAL));
        cr_assert(eq(int, image_from_path("/", &image), -EINVAL));
        cr_assert(zero(ptr, image));
}

Test(image, from_path_missing) {
        Image *image = NULL;
        _cleanup_free_ char *p = in_tmp("/nope"), *dangling = in_tmp("/dangling.raw");

        unit_symlink("/nonexistent/x.raw", dangling);
        cr_assert(eq(int, image_from_path(p, &image), -ENOENT));
        cr_assert(eq(int, image_from_path(dangling, &image), -ENOENT));
        cr_assert(zero(ptr, image));
}

Test(image, from_path_wrong_types) {
        Image *image = NULL;
        _cleanup_free_ char *noraw = in_tmp("/foo.img"), *fifo = in_tmp("/fifo.raw");

        /* A regular file must end in .raw; a FIFO must not block us. */
        make_raw_image(noraw, 0644);
        cr_assert(eq(int, mkfifo(fifo, 0644), 0));
        cr_assert(eq(int, image_from_path(noraw, &image), -EMEDIUMTYPE));
        cr_assert(eq(int, image_from_path(fifo, &image), -EMEDIUMTYPE));
        cr_assert(eq(int, image_from_path("/dev/null", &image), -EMEDIUMTYPE));
        cr_assert(zero(ptr, image));
}

Test(image, from_path_socket) {
        Image *image = NULL;
        _cleanup_free_ char *p = in_tmp("/sock.raw");
        _cleanup_close_ int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        struct sockaddr_un sa = { .sun_family = AF_UNIX };

        cr_assert(fd >= 0);
        cr_assert(lt(sz, strlen(p), sizeof(sa.sun_path)));
        strcpy(sa.sun_path, p);
        cr_assert(eq(int, bind(fd, (struct sockaddr *) &sa, sizeof(sa)), 0));

        /* "Anything else is -EMEDIUMTYPE" (reference §3.2: socket -> BadImageType).
         * Regression: open() of a socket used to fail with -ENXIO before the type check. */
        cr_assert(eq(int, image_from_path(p, &image), -EMEDIUMTYPE));
        cr_assert(zero(ptr, image));
}

Test(image, vendor_images_are_read_only) {
        _cleanup_(image_freep) Image *image = NULL;

        /* Anything under /usr counts as vendor data, whatever its permission bits. */
        if (access("/usr/lib", F_OK) < 0)
                cr_skip_test("no /usr/lib");
        cr_assert(eq(int, image_from_path("/usr/lib", &image), 0));
        cr_assert(eq(int, image->type, IMAGE_DIRECTORY));
        cr_assert(image->read_only);
}

Test(image, find_by_name_in_precedence_order) {
        _cleanup_free_ char *var = in_root("/var/lib/portables/foo"), *usr = in_root("/usr/lib/portables/foo.raw"),
                            *etc = in_root("/etc/portables/foo.raw"), *real_var = NULL;
        _cleanup_(image_freep) Image *a = NULL, *b = NULL, *c = NULL;

        make_raw_image(usr, 0644);
        cr_assert(eq(int, image_find(&host, "foo", &a), 0));
        assert_str(a->path, usr);
        cr_assert(eq(int, a->type, IMAGE_RAW));
        assert_str(a->name, "foo");
        cr_assert(a->discoverable);

        make_dir_image(var);
        cr_assert(eq(int, image_find(&host, "foo", &b), 0));
        assert_str(b->path, var);
        cr_assert(eq(int, b->type, IMAGE_DIRECTORY));

        make_raw_image(etc, 0644);
        cr_assert(eq(int, image_find(&host, "foo", &c), 0));
        assert_str(c->path, etc);
}

Test(image, find_dir_before_raw_in_same_dir) {
        _cleanup_free_ char *dir = in_root("/var/lib/portables/foo"), *raw = in_root("/var/lib/portables/foo.raw");
        _cleanup_(image_freep) Image *image = NULL;

        make_raw_image(raw, 0644);
        make_dir_image(dir);
        cr_assert(eq(int, image_find(&host, "foo", &image), 0));
        assert_str(image->path, dir);
}

Test(image, find_skips_wrong_types) {
        _cleanup_free_ char *file = in_root("/etc/portables/foo"), *rawdir = in_root("/etc/portables/bar.raw"),
                            *good = in_root("/var/lib/portables/foo.raw");
        Image *image = NULL;
        _cleanup_(image_freep) Image *found = NULL;

        /* <dir>/foo as a regular file is no image; <dir>/bar.raw as a directory neither. */
        make_raw_image(file, 0644);
        make_dir_image(rawdir);
        make_raw_image(good, 0644);
        cr_assert(eq(int, image_find(&host, "bar", &image), -ENOENT));
        cr_assert(eq(int, image_find(&host, "foo", &found), 0));
        assert_str(found->path, good);
}

Test(image, find_missing_and_invalid) {
        Image *image = NULL;

        cr_assert(eq(int, image_find(&host, "foo", &image), -ENOENT));
        cr_assert(eq(int, image_find(&host, ".#foo", &image), -EINVAL));
        cr_assert(eq(int, image_find(&host, "a/b", &image), -EINVAL));
        cr_assert(eq(int, image_find(&host, "..", &image), -EINVAL));
        cr_assert(eq(int, image_find(&host, "", &image), -EINVAL));
        cr_assert(zero(ptr, image));
}

Test(image, find_through_symlinked_search_dir) {
        _cleanup_free_ char *store = in_tmp("/store"), *pool = in_root("/var/lib/portables"), *img = NULL;
        _cleanup_(image_freep) Image *image = NULL;

        img = unit_strf("%s/foo", store);
        make_dir_image(img);
        unit_symlink(store, pool);
        cr_assert(eq(int, image_find(&host, "foo", &image), 0));
        /* Reported below the resolved search directory. */
        assert_str(image->path, img);
        cr_assert(eq(int, image_is_in_search_path(&host, image), 1));
}

Test(image, find_symlink_in_etc_portables_keeps_link_path) {
        _cleanup_free_ char *elsewhere = in_tmp("/elsewhere/app"), *link = in_root("/etc/portables/app");
        _cleanup_(image_freep) Image *image = NULL;

        make_dir_image(elsewhere);
        unit_symlink(elsewhere, link);
        cr_assert(eq(int, image_find(&host, "app", &image), 0));
        assert_str(image->path, link);
        cr_assert(eq(int, image->type, IMAGE_DIRECTORY));
}

Test(image, discover) {
        _cleanup_(image_list_done) ImageList list = {};
        _cleanup_free_ char *joined = NULL;
        static const char *const dirs[] = { "/etc/portables/", "/run/portables/", "/var/lib/portables/",
                                            "/usr/local/lib/portables/", "/usr/lib/portables/" };

        /* Shadowing: "foo" is in three directories, the first one wins. */
        _cleanup_free_ char *a = in_root("/run/portables/foo"), *b = in_root("/var/lib/portables/foo.raw"),
                            *c = in_root("/usr/lib/portables/foo"), *d = in_root("/usr/lib/portables/zed.raw"),
                            *e = in_root("/var/lib/portables/app_1.0.raw"), *f = in_root("/var/lib/portables/notes.txt"),
                            *g = in_root("/var/lib/portables/.hidden"), *h = in_root("/var/lib/portables/dir.raw"),
                            *i = in_root("/var/lib/portables/.#tmp.raw"), *j = in_root("/var/lib/portables/fifo.raw"),
                            *k = in_root("/etc/portables/linked"), *target = in_tmp("/elsewhere/linked"),
                            *l = in_root("/etc/portables/dangling");
        make_dir_image(a);
        make_raw_image(b, 0644);
        make_dir_image(c);
        make_raw_image(d, 0644);
        make_raw_image(e, 0644);
        make_raw_image(f, 0644);     /* not .raw: skipped */
        make_dir_image(g);           /* hidden: skipped */
        make_dir_image(h);           /* directory named .raw: skipped */
        make_raw_image(i, 0644);     /* ".#" names are never images */
        cr_assert(eq(int, mkfifo(j, 0644), 0)); /* FIFO: skipped, and no hang */
        make_dir_image(target);
        unit_symlink(target, k);     /* followed */
        unit_symlink("/nonexistent", l);

        cr_assert(eq(int, image_discover(&host, &list), 0));

        for (size_t n = 0; n < list.n_images; n++) {
                const char *rel = list.images[n]->path + strlen(root);
                char *s = unit_strf("%s%s%s", strempty(joined), joined ? " " : "", list.images[n]->name);

                free(joined);
                joined = s;
                cr_assert(list.images[n]->discoverable);
                bool in_dir = false;
                for (size_t m = 0; m < ELEMENTSOF(dirs); m++)
                        in_dir = in_dir || strncmp(rel, dirs[m], strlen(dirs[m])) == 0;
                cr_assert(in_dir, "%s is not in a search directory", list.images[n]->path);
        }
        assert_str(joined, "app_1.0 foo linked zed");
        assert_str(list.images[1]->path, a);
        cr_assert(eq(int, list.images[1]->type, IMAGE_DIRECTORY));
        cr_assert(eq(int, list.images[0]->type, IMAGE_RAW));
        assert_str(list.images[2]->path, k);
}

/* Many images, half of them shadowed: each name once, in name order, from the first directory
 * that has it. */
Test(image, discover_many_with_shadowing) {
        _cleanup_(image_list_done) ImageList list = {};
        _cleanup_free_ char *early = in_root("/var/lib/portables"), *late = in_root("/usr/lib/portables");
        enum { N = 600 };

        for (unsigned n = 0; n < N; n++) {
                _cleanup_free_ char *name = unit_strf("img%04u.raw", n), *p = NULL;

                /* Every other name in both directories, the rest only in the later one. */
                p = unit_strf("%s/%s", n % 2 == 0 ? early : late, name);
                make_raw_image(p, 0644);
                if (n % 2 == 0) {
                        free(p);
                        p = unit_strf("%s/%s", late, name);
                        make_raw_image(p, 0644);
                }
        }

        cr_assert(eq(int, image_discover(&host, &list), 0));
        cr_assert(eq(sz, list.n_images, (size_t) N));
        for (unsigned n = 0; n < N; n++) {
                _cleanup_free_ char *name = unit_strf("img%04u", n),
                                    *path = unit_strf("%s/%s.raw", n % 2 == 0 ? early : late, name);

                assert_str(list.images[n]->name, name);
                assert_str(list.images[n]->path, path);
        }
}

Test(image, discover_empty_root) {
        _cleanup_(image_list_done) ImageList list = {};

        cr_assert(eq(int, image_discover(&host, &list), 0));
        cr_assert(eq(sz, list.n_images, 0));
}

Test(image, in_search_path) {
        _cleanup_free_ char *inside = in_root("/var/lib/portables/foo"), *usr = in_root("/usr/lib/portables/bar.raw"),
                            *outside = in_tmp("/images/foo"), *nested = in_root("/var/lib/portables/sub/foo");
        _cleanup_(image_freep) Image *a = NULL, *b = NULL, *c = NULL, *d = NULL;

        make_dir_image(inside);
        make_raw_image(usr, 0644);
        make_dir_image(outside);
        make_dir_image(nested);

        cr_assert(eq(int, image_from_path(inside, &a), 0));
        cr_assert(eq(int, image_is_in_search_path(&host, a), 1));
        cr_assert(eq(int, image_from_path(usr, &b), 0));
        cr_assert(eq(int, image_is_in_search_path(&host, b), 1));
        cr_assert(eq(int, image_from_path(outside, &c), 0));
        cr_assert(eq(int, image_is_in_search_path(&host, c), 0));
        /* Only directly in a search directory: a subdirectory of one is not searched. */
        cr_assert(eq(int, image_from_path(nested, &d), 0));
        cr_assert(eq(int, image_is_in_search_path(&host, d), 0));
}

Test(image, acquire) {
        _cleanup_free_ char *pool = in_root("/var/lib/portables/foo.raw"), *outside = in_tmp("/images/bar");
        _cleanup_(image_freep) Image *a = NULL, *b = NULL;
        Image *c = NULL;

        make_raw_image(pool, 0644);
        make_dir_image(outside);

        cr_assert(eq(int, image_acquire(&host, "foo", &a), 0));
        assert_str(a->path, pool);
        cr_assert(a->discoverable);

        cr_assert(eq(int, image_acquire(&host, outside, &b), 0));
        assert_str(b->path, outside);
        cr_assert(not(b->discoverable));

        cr_assert(eq(int, image_acquire(&host, "bar", &c), -ENOENT));
        cr_assert(eq(int, image_acquire(&host, "./bar", &c), -EINVAL));
        cr_assert(eq(int, image_acquire(&host, "images/bar", &c), -EINVAL));
        cr_assert(eq(int, image_acquire(&host, "/images/../bar", &c), -EINVAL));
        cr_assert(eq(int, image_acquire(&host, "", &c), -EINVAL));
        cr_assert(zero(ptr, c));
}

Test(image, free_and_list_done_accept_empty) {
        ImageList empty = {};

        cr_assert(zero(ptr, image_free(NULL)));
        image_list_done(&empty);
        cr_assert(eq(sz, empty.n_images, 0));
}

/* ---------------------------------------------------------------------- versioned directories */

Test(image, from_path_of_a_versioned_directory_is_its_newest_entry) {
        _cleanup_free_ char *v = in_tmp("/images/app.raw.v"), *one = unit_strf("%s/app_1.9.raw", v),
                            *two = unit_strf("%s/app_1.10.raw", v), *other = unit_strf("%s/other_9.raw", v),
                            *dir_entry = unit_strf("%s/app_3.raw", v);
        _cleanup_(image_freep) Image *image = NULL;

        make_raw_image(one, 0644);
        make_raw_image(two, 0644);
        make_raw_image(other, 0644);
        make_dir_image(dir_entry); /* a directory in a .raw.v/: not a candidate */
        cr_assert(eq(int, image_from_path(v, &image), 0));
        assert_str(image->path, two);
        assert_str(image->name, "app_1.10");
        cr_assert(eq(int, image->type, IMAGE_RAW));
}

Test(image, from_path_of_a_plain_versioned_directory_takes_directories_too) {
        _cleanup_free_ char *v = in_tmp("/images/app.v"), *raw = unit_strf("%s/app_1.raw", v),
                            *dir = unit_strf("%s/app_2", v);
        _cleanup_(image_freep) Image *image = NULL;

        make_raw_image(raw, 0644);
        make_dir_image(dir);
        cr_assert(eq(int, image_from_path(v, &image), 0));
        assert_str(image->path, dir);
        cr_assert(eq(int, image->type, IMAGE_DIRECTORY));
}

Test(image, from_path_of_an_empty_versioned_directory) {
        _cleanup_free_ char *v = in_tmp("/images/app.raw.v"), *stray = unit_strf("%s/README", v);
        Image *image = NULL;

        unit_write(stray, "nothing to see\n");
        cr_assert(eq(int, image_from_path(v, &image), -ENOENT));
        cr_assert(zero(ptr, image));
}

Test(image, find_and_discover_versioned_directories) {
        _cleanup_free_ char *v = in_root("/var/lib/portables/app.raw.v"), *one = unit_strf("%s/app_1.raw", v),
                            *two = unit_strf("%s/app_2.raw", v), *plain = in_root("/usr/lib/portables/app.raw"),
                            *empty = in_root("/var/lib/portables/none.v"), *dv = in_root("/usr/lib/portables/tree.v"),
                            *tree = unit_strf("%s/tree_5", dv);
        _cleanup_(image_freep) Image *image = NULL, *t = NULL;
        _cleanup_(image_list_done) ImageList list = {};
        Image *none = NULL;

        make_raw_image(one, 0644);
        make_raw_image(two, 0644);
        make_raw_image(plain, 0644);
        unit_mkdir_p(empty, 0755);
        make_dir_image(tree);

        /* By name: the newest version, named as asked, and it shadows later directories. */
        cr_assert(eq(int, image_find(&host, "app", &image), 0));
        assert_str(image->path, two);
        assert_str(image->name, "app");
        cr_assert(image->discoverable);
        cr_assert(eq(int, image_is_in_search_path(&host, image), 1));
        cr_assert(eq(int, image_find(&host, "tree", &t), 0));
        assert_str(t->path, tree);
        cr_assert(eq(int, image_find(&host, "none", &none), -ENOENT));

        /* Listed once, as the directory's image. */
        cr_assert(eq(int, image_discover(&host, &list), 0));
        cr_assert(eq(sz, list.n_images, 2));
        assert_str(list.images[0]->name, "app");
        assert_str(list.images[0]->path, two);
        assert_str(list.images[1]->name, "tree");
        assert_str(list.images[1]->path, tree);
}
