/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <criterion/criterion.h>
#include <criterion/new/assert.h>
#include <criterion/parameterized.h>
#include <string.h>

#include "portable-manifest.h"
#include "strv.h"
#include "unit-helpers.h"

static int parse(const char *text, PortableManifest *m, sd_bus_error *e) {
        return portable_manifest_parse("/etc/portables/web.portable", text, strlen(text), m, e);
}

Test(portable_manifest, everything) {
        PortableManifest m = {};

        cr_assert(eq(int, parse("# a comment\n"
                                "[Portable]\n"
                                "RootImage=/var/lib/portables/web_1.2.raw\n"
                                "ExtensionImages=/srv/ext/a.raw \"ext/b c.raw\"\n"
                                "ExtensionImages=app\n"
                                "Prefixes=web web-admin\n"
                                "Profile=strict\n"
                                "CopyMode=mixed\n"
                                "ImagePolicy=root=verity+signed:=absent\n"
                                "Runtime=yes\n"
                                "Enable=on\n"
                                "Now=1\n"
                                "Force=no\n", &m, NULL), 0));
        assert_str(m.root_image, "/var/lib/portables/web_1.2.raw");
        cr_assert(eq(sz, strv_length(m.extension_images), 3));
        assert_str(m.extension_images[0], "/srv/ext/a.raw");
        /* Relative to the manifest's directory; quotes as in unit files. */
        assert_str(m.extension_images[1], "/etc/portables/ext/b c.raw");
        /* A name stays a name. */
        assert_str(m.extension_images[2], "app");
        cr_assert(eq(sz, strv_length(m.prefixes), 2));
        assert_str(m.prefixes[1], "web-admin");
        assert_str(m.profile, "strict");
        assert_str(m.copy_mode, "mixed");
        assert_str(m.image_policy, "root=verity+signed:=absent");
        cr_assert(eq(int, m.runtime, 1));
        cr_assert(eq(int, m.enable, 1));
        cr_assert(eq(int, m.now, 1));
        cr_assert(eq(int, m.force, 0));
        portable_manifest_done(&m);
}

Test(portable_manifest, minimal_leaves_the_rest_unset) {
        PortableManifest m = {};

        cr_assert(eq(int, parse("[Portable]\nRootImage=web\n", &m, NULL), 0));
        assert_str(m.root_image, "web");
        cr_assert(zero(ptr, m.extension_images));
        cr_assert(zero(ptr, m.prefixes));
        cr_assert(zero(ptr, m.profile));
        cr_assert(zero(ptr, m.copy_mode));
        cr_assert(zero(ptr, m.image_policy));
        cr_assert(eq(int, m.runtime, -1));
        cr_assert(eq(int, m.enable, -1));
        cr_assert(eq(int, m.now, -1));
        cr_assert(eq(int, m.force, -1));
        portable_manifest_done(&m);
}

Test(portable_manifest, relative_root_image_and_profile_path) {
        PortableManifest m = {};

        cr_assert(eq(int, parse("[Portable]\nRootImage=./images/web.raw\nProfile=../profiles/tight.conf\n", &m, NULL), 0));
        assert_str(m.root_image, "/etc/portables/./images/web.raw");
        assert_str(m.profile, "/etc/portables/../profiles/tight.conf");
        portable_manifest_done(&m);
}

Test(portable_manifest, empty_assignment_resets_a_list) {
        PortableManifest m = {};

        cr_assert(eq(int, parse("[Portable]\nRootImage=web\nPrefixes=a b\nPrefixes=\nPrefixes=c\n", &m, NULL), 0));
        cr_assert(eq(sz, strv_length(m.prefixes), 1));
        assert_str(m.prefixes[0], "c");
        portable_manifest_done(&m);
}

struct refused_case {
        const char *text;
        const char *message; /* a part of the error */
};

static const struct refused_case refused_cases[] = {
        { "[Portable]\nProfile=default\n", "RootImage= is missing" },
        { "", "RootImage= is missing" },
        { "[Service]\nRootImage=web\n", "line 2: unknown section [Service]" },
        { "[Portable]\nRootImage=web\nRootImag=web\n", "line 3: unknown setting RootImag=" },
        { "[Portable]\nRootImage=web\nRootImage=web2\n", "line 3: RootImage= is given more than once" },
        { "[Portable]\nRootImage=web\nEnable=maybe\n", "line 3: Enable= not a boolean: 'maybe'" },
        { "[Portable]\nRootImage=web\nCopyMode=hardlink\n", "CopyMode= not one of" },
        { "[Portable]\nRootImage=web\nPrefixes=ok .#bad\n", "Prefixes= not a valid unit prefix: '.#bad'" },
        { "[Portable]\nRootImage=.#x\n", "RootImage= not an image name or path" },
        { "[Portable]\nRootImage=web\nImagePolicy=\n", "ImagePolicy= empty" },
        { "[Portable\nRootImage=web\n", "line 1: section header without ']'" },
        { "[Portable]\nRootImage=web\n.include /etc/passwd\n", "line 3: .include is not supported" },
};

UNIT_TABLE_TEST(portable_manifest, refused, refused_cases) {
        const struct refused_case *c = &refused_cases[*i];
        _cleanup_(sd_bus_error_free) sd_bus_error e = SD_BUS_ERROR_NULL;
        PortableManifest m = {};

        cr_assert(eq(int, parse(c->text, &m, &e), -EINVAL), "%s", c->text);
        cr_assert(not(zero(ptr, (void *) e.message)));
        cr_assert(not(zero(ptr, strstr(e.message, c->message))), "'%s' lacks '%s'", e.message, c->message);
        cr_assert(not(zero(ptr, strstr(e.message, "/etc/portables/web.portable"))), "%s", e.message);
        cr_assert(zero(ptr, m.root_image));
}

Test(portable_manifest, path_must_be_absolute) {
        PortableManifest m = {};

        cr_assert(eq(int, portable_manifest_parse("web.portable", "[Portable]\nRootImage=x\n", 22, &m, NULL), -EINVAL));
}
