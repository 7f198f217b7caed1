/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <criterion/criterion.h>
#include <criterion/new/assert.h>
#include <criterion/parameterized.h>
#include <string.h>

#include "image-name.h"
#include "macro.h"
#include "unit-helpers.h"

struct valid_case {
        const char *name;
        bool valid;
};

static const struct valid_case valid_cases[] = {
        { "foo", true },
        { "foo_1.2", true },
        { "foo.raw", true },
        { "foo+3-1", true },
        { "a b", true },
        { "\xc3\xbc", true },
        { ".hidden", true },
        { ".#foo", false },   /* temporary/lock files of nspawn and of our transactions */
        { ".#", false },
        { "", false },
        { ".", false },
        { "..", false },
        { "a/b", false },
        { "a\nb", false },
        { "\xff", false },
};

Test(image_name, is_valid) {
        _cleanup_free_ char *failed = NULL;

        for (size_t i = 0; i < ELEMENTSOF(valid_cases); i++)
                if (image_name_is_valid(valid_cases[i].name) != valid_cases[i].valid)
                        unit_note(&failed, "case %zu: expected %s", i, valid_cases[i].valid ? "valid" : "invalid");
        cr_assert(zero(ptr, failed), "%s", failed);
}

Test(image_name, is_valid_null) {
        cr_assert(not(image_name_is_valid(NULL)));
}

struct derive_case {
        const char *input;
        const char *expected; /* NULL: -EINVAL */
};

/* §3.3: cut at the first '_', else strip ".raw"; charset [0-9A-Za-z.-]. */
static const struct derive_case prefix_cases[] = {
        { "foo_1.2.raw", "foo" },
        { "/tmp/minimal_0", "minimal" },
        { "app.raw", "app" },
        { "/var/lib/portables/app.raw", "app" },
        { "/srv/images/foo", "foo" },
        { "/srv/images/foo/", "foo" },
        { "foo.v1.raw", "foo.v1" },
        { "foo-bar_2", "foo-bar" },
        { "foo_1.raw_2", "foo" },
        { "app", "app" },
        { "Foo.Bar-9", "Foo.Bar-9" },
        { "_foo", NULL },          /* nothing before the '_' */
        { ".raw", NULL },
        { "", NULL },
        { "/", NULL },
        { "foo bar.raw", NULL },
        { "foo:bar", NULL },
        { "f\xc3\xbc\xc3\x9f.raw", NULL },
        { "foo+1.raw", NULL },     /* '+' is outside the charset */
        /* Versioned directories stand for the images in them. */
        { "/srv/app.raw.v", "app" },
        { "/srv/app.v", "app" },
        { "/srv/app.v/", "app" },
        { "app_1.v", "app" },
        { ".v", NULL },
};

UNIT_TABLE_TEST(image_name, default_prefix, prefix_cases) {
        const struct derive_case *c = &prefix_cases[*i];
        char *prefix = NULL;
        int r;

        r = image_name_default_prefix(c->input, &prefix);
        if (!c->expected) {
                cr_assert(eq(int, r, -EINVAL), "case %zu '%s' gave '%s'", *i, c->input, strna(prefix));
                cr_assert(zero(ptr, prefix));
                return;
        }
        cr_assert(eq(int, r, 0), "case %zu '%s'", *i, c->input);
        assert_str(prefix, c->expected);
        free(prefix);
}

/* §3.3 latest: last component; unless the path ended in '/', strip .sysext.raw, .confext.raw or
 * .raw; cut at the first '_' or '+'; must be a valid image name. */
static const struct derive_case key_cases[] = {
        { "/var/lib/portables/foo_1.2.raw", "foo" },
        { "foo_1.raw", "foo" },
        { "foo_2.raw", "foo" },
        { "foo", "foo" },
        { "/x/foo", "foo" },
        { "/x/foo/", "foo" },
        { "foo.raw", "foo" },
        { "foobar", "foobar" },
        { "foobar_2.raw", "foobar" },
        { "foo+3-1.raw", "foo" },
        { "foo_1+3.raw", "foo" },
        { "app.sysext.raw", "app" },
        { "app_1.sysext.raw", "app" },
        { "app.confext.raw", "app" },
        { "/x/foo.raw/", "foo.raw" },  /* a directory named foo.raw keeps its suffix */
        { "/x/foo_1.raw/", "foo" },
        { "foo.raw.raw", "foo.raw" },  /* one suffix only */
        { "foo.squashfs", "foo.squashfs" },
        { "/tmp/a:b/c\xc3\xbc_9.raw", "c\xc3\xbc" },
        { "_1.raw", NULL },
        { "+1", NULL },
        { "", NULL },
        { "/", NULL },
        { ".#foo_1.raw", NULL },
        /* Stripping the suffix leaves nothing: -EINVAL per the contract (and systemd's
         * path_extract_image_name()). */
        { ".raw", NULL },
        { "/x/.raw", NULL },
        { ".sysext.raw", NULL },
        /* Versioned directories: the key of every version in them. */
        { "/x/foo.raw.v", "foo" },
        { "/x/foo.raw.v/", "foo" },
        { "/x/foo.v", "foo" },
        { "/x/foo.v/foo_2.raw", "foo" },
        { "/x/.v", NULL },
};

UNIT_TABLE_TEST(image_name, marker_key, key_cases) {
        const struct derive_case *c = &key_cases[*i];
        char *key = NULL;
        int r;

        r = image_name_marker_key(c->input, &key);
        if (!c->expected) {
                /* Regression: ".raw" and ".sysext.raw" used to yield the keys ".raw" and
                 * ".sysext". */
                cr_assert(eq(int, r, -EINVAL), "case %zu '%s' gave '%s'", *i, c->input, strna(key));
                cr_assert(zero(ptr, key));
                return;
        }
        cr_assert(eq(int, r, 0), "case %zu '%s'", *i, c->input);
        assert_str(key, c->expected);
        free(key);
}
