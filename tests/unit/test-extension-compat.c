/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <criterion/criterion.h>
#include <criterion/new/assert.h>
#include <criterion/parameterized.h>
#include <string.h>
#include <sys/utsname.h>

#include "extension-compat.h"
#include "os-release.h"
#include "strv.h"
#include "unit-helpers.h"

TestSuite(extension_compat);

#define ROOT "ID=debian\nVERSION_ID=12\n"

/* One row per rule of extension-compat.h, an accepted and a refused case each. force does not
 * appear: in systemd it only relaxes how the release file is found (extension-release.h), never
 * these checks, and so here. */
struct compat_case {
        const char *name;
        const char *root;
        const char *extension;
        ExtensionClass class;
        const char *refusal; /* NULL: compatible; else a fragment of the message */
        const char *refusal2;
};

static const struct compat_case compat_cases[] = {
        /* 1. not empty */
        { "empty", ROOT, "", EXTENSION_SYSEXT, "extension-release file is empty", NULL },
        { "comments only", ROOT, "# nothing\n\n", EXTENSION_SYSEXT, "is empty", NULL },
        /* 2. scope */
        { "scope default", ROOT, "ID=debian\nVERSION_ID=12\n", EXTENSION_SYSEXT, NULL, NULL },
        { "scope portable", ROOT, "ID=debian\nVERSION_ID=12\nSYSEXT_SCOPE=\"system portable\"\n", EXTENSION_SYSEXT, NULL, NULL },
        { "scope system only", ROOT, "ID=debian\nVERSION_ID=12\nSYSEXT_SCOPE=\"system initrd\"\n", EXTENSION_SYSEXT,
          "SYSEXT_SCOPE=system initrd does not include 'portable'", NULL },
        { "scope empty", ROOT, "ID=debian\nVERSION_ID=12\nSYSEXT_SCOPE=\n", EXTENSION_SYSEXT, "does not include 'portable'", NULL },
        { "scope word, not substring", ROOT, "ID=debian\nVERSION_ID=12\nSYSEXT_SCOPE=portables\n", EXTENSION_SYSEXT,
          "does not include", NULL },
        { "confext scope", ROOT, "ID=debian\nVERSION_ID=12\nSYSEXT_SCOPE=system\nCONFEXT_SCOPE=portable\n", EXTENSION_CONFEXT, NULL, NULL },
        { "confext scope refused", ROOT, "ID=debian\nVERSION_ID=12\nSYSEXT_SCOPE=portable\nCONFEXT_SCOPE=initrd\n", EXTENSION_CONFEXT,
          "CONFEXT_SCOPE=initrd", NULL },
        /* 3. architecture (the host is "x86-64" in this table) */
        { "arch host", ROOT, "ID=debian\nVERSION_ID=12\nARCHITECTURE=x86-64\n", EXTENSION_SYSEXT, NULL, NULL },
        { "arch any", ROOT, "ID=debian\nVERSION_ID=12\nARCHITECTURE=_any\n", EXTENSION_SYSEXT, NULL, NULL },
        { "arch other", ROOT, "ID=debian\nVERSION_ID=12\nARCHITECTURE=arm64\n", EXTENSION_SYSEXT,
          "the extension has ARCHITECTURE=arm64, the host is x86-64", NULL },
        /* 4. ID present, _any */
        { "no ID", ROOT, "VERSION_ID=12\n", EXTENSION_SYSEXT, "has no ID=", NULL },
        { "empty ID", ROOT, "ID=\nVERSION_ID=12\n", EXTENSION_SYSEXT, "has no ID=", NULL },
        { "ID any", ROOT, "ID=_any\nVERSION_ID=1\nSYSEXT_LEVEL=9\n", EXTENSION_SYSEXT, NULL, NULL },
        { "ID any, root without ID", "VERSION_ID=12\n", "ID=_any\n", EXTENSION_SYSEXT, NULL, NULL },
        /* 5. ID equal or ID_LIKE */
        { "ID other", ROOT, "ID=fedora\nVERSION_ID=12\n", EXTENSION_SYSEXT, "the extension has ID=fedora",
          "the root image '/r.raw' has ID=debian" },
        { "ID like", "ID=ubuntu\nID_LIKE=\"debian gnu\"\nVERSION_ID=12\n", "ID=debian\nVERSION_ID=12\n", EXTENSION_SYSEXT, NULL, NULL },
        { "ID like, not substring", "ID=ubuntu\nID_LIKE=debianish\nVERSION_ID=12\n", "ID=debian\nVERSION_ID=12\n",
          EXTENSION_SYSEXT, "ID=debian", "has ID=ubuntu and ID_LIKE=debianish" },
        { "root without ID", "VERSION_ID=12\n", "ID=debian\nVERSION_ID=12\n", EXTENSION_SYSEXT, "has no ID", NULL },
        /* 6. rolling root */
        { "rolling", "ID=arch\n", "ID=arch\nVERSION_ID=2020\nSYSEXT_LEVEL=3\n", EXTENSION_SYSEXT, NULL, NULL },
        { "rolling, empty values", "ID=arch\nVERSION_ID=\nSYSEXT_LEVEL=\n", "ID=arch\nVERSION_ID=1\n", EXTENSION_SYSEXT, NULL, NULL },
        /* 7. level, else VERSION_ID */
        { "level equal", "ID=debian\nVERSION_ID=12\nSYSEXT_LEVEL=1.0\n", "ID=debian\nVERSION_ID=11\nSYSEXT_LEVEL=1.0\n",
          EXTENSION_SYSEXT, NULL, NULL },
        { "level other", "ID=debian\nVERSION_ID=12\nSYSEXT_LEVEL=1.0\n", "ID=debian\nVERSION_ID=12\nSYSEXT_LEVEL=2.0\n",
          EXTENSION_SYSEXT, "the extension has SYSEXT_LEVEL=2.0", "has SYSEXT_LEVEL=1.0" },
        { "level root only, version equal", "ID=debian\nVERSION_ID=12\nSYSEXT_LEVEL=1.0\n", "ID=debian\nVERSION_ID=12\n",
          EXTENSION_SYSEXT, NULL, NULL },
        { "level root only, version other", "ID=debian\nVERSION_ID=12\nSYSEXT_LEVEL=1.0\n", "ID=debian\nVERSION_ID=11\n",
          EXTENSION_SYSEXT, "VERSION_ID=11", "VERSION_ID=12" },
        { "level root only, no version", "ID=debian\nSYSEXT_LEVEL=1.0\n", "ID=debian\n", EXTENSION_SYSEXT, NULL, NULL },
        { "version equal", ROOT, "ID=debian\nVERSION_ID=12\n", EXTENSION_SYSEXT, NULL, NULL },
        { "version other", ROOT, "ID=debian\nVERSION_ID=11\n", EXTENSION_SYSEXT,
          "the extension has VERSION_ID=11, the root image '/r.raw' has VERSION_ID=12", NULL },
        { "version missing", ROOT, "ID=debian\n", EXTENSION_SYSEXT, "the extension has no VERSION_ID", NULL },
        { "confext level", "ID=debian\nVERSION_ID=12\nCONFEXT_LEVEL=3\nSYSEXT_LEVEL=1\n",
          "ID=debian\nVERSION_ID=11\nCONFEXT_LEVEL=3\nSYSEXT_LEVEL=2\n", EXTENSION_CONFEXT, NULL, NULL },
        { "confext level other", "ID=debian\nVERSION_ID=12\nCONFEXT_LEVEL=3\n", "ID=debian\nVERSION_ID=12\nCONFEXT_LEVEL=4\n",
          EXTENSION_CONFEXT, "CONFEXT_LEVEL=4", NULL },
        { "sysext level ignored for confext", "ID=debian\nVERSION_ID=12\nSYSEXT_LEVEL=1\n",
          "ID=debian\nVERSION_ID=11\nSYSEXT_LEVEL=1\n", EXTENSION_CONFEXT, "VERSION_ID=11", NULL },
        /* Order: the first rule that fails is the one reported. */
        { "scope before ID", ROOT, "ID=fedora\nSYSEXT_SCOPE=system\n", EXTENSION_SYSEXT, "SYSEXT_SCOPE", NULL },
        { "arch before ID", ROOT, "ID=fedora\nARCHITECTURE=s390x\n", EXTENSION_SYSEXT, "ARCHITECTURE", NULL },
        { "ID before version", ROOT, "ID=fedora\nVERSION_ID=11\n", EXTENSION_SYSEXT, "ID=fedora", NULL },
        /* Hostile values are quoted escaped. */
        { "escaped", ROOT, "ID=\"a\nb\x1b\"\n", EXTENSION_SYSEXT, "ID=a\\x0ab\\x1b", NULL },
};

UNIT_TABLE_TEST(extension_compat, rules, compat_cases) {
        const struct compat_case *c = &compat_cases[*i];
        _cleanup_strv_free_ char **root = NULL, **ext = NULL;
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        int r;

        cr_assert(eq(int, os_release_parse(c->root, strlen(c->root), &root), 0));
        cr_assert(eq(int, os_release_parse(c->extension, strlen(c->extension), &ext), 0));

        r = extension_compat_check(root, ext, c->class, "x86-64", "/r.raw", "/e.raw", &error);
        if (!c->refusal) {
                cr_assert(eq(int, r, 0), "%s: %s", c->name, strna(error.message));
                cr_assert(not(sd_bus_error_is_set(&error)));
                return;
        }

        cr_assert(eq(int, r, -ESTALE), "%s: %d", c->name, r);
        assert_str(error.name, "System.Error.ESTALE");
        cr_assert(not(zero(ptr, strstr(error.message, "Image /e.raw extension-release metadata does not match the root's"))),
                  "%s: %s", c->name, error.message);
        cr_assert(not(zero(ptr, strstr(error.message, c->refusal))), "%s: '%s' not in: %s", c->name, c->refusal, error.message);
        if (c->refusal2)
                cr_assert(not(zero(ptr, strstr(error.message, c->refusal2))), "%s: '%s' not in: %s", c->name, c->refusal2,
                          error.message);
}

Test(extension_compat, no_error_object) {
        _cleanup_strv_free_ char **root = NULL, **ext = NULL;

        cr_assert(eq(int, os_release_parse(ROOT, strlen(ROOT), &root), 0));
        cr_assert(eq(int, os_release_parse("ID=x\n", 5, &ext), 0));
        cr_assert(eq(int, extension_compat_check(root, ext, EXTENSION_SYSEXT, "x86-64", "r", "e", NULL), -ESTALE));
        cr_assert(eq(int, extension_compat_check(root, NULL, EXTENSION_SYSEXT, "x86-64", "r", "e", NULL), -ESTALE));
        /* A root without os-release data at all does not crash anything (systemd#23448). */
        cr_assert(eq(int, extension_compat_check(NULL, ext, EXTENSION_SYSEXT, "x86-64", "r", "e", NULL), -ESTALE));
}

Test(extension_compat, host_architecture) {
        _cleanup_strv_free_ char **root = NULL, **ext = NULL;
        _cleanup_free_ char *rel = NULL;
        const char *host = extension_host_architecture();
        struct utsname u;

        cr_assert(eq(int, uname(&u), 0));
        if (!host)
                cr_skip_test("machine '%s' has no systemd architecture name here", u.machine);
        assert_str(host, extension_architecture_from_machine(u.machine));

        /* NULL means the host's architecture. */
        rel = unit_strf("ID=debian\nVERSION_ID=12\nARCHITECTURE=%s\n", host);
        cr_assert(eq(int, os_release_parse(ROOT, strlen(ROOT), &root), 0));
        cr_assert(eq(int, os_release_parse(rel, strlen(rel), &ext), 0));
        cr_assert(eq(int, extension_compat_check(root, ext, EXTENSION_SYSEXT, NULL, "r", "e", NULL), 0));
        cr_assert(eq(int, extension_compat_check(root, ext, EXTENSION_SYSEXT, "not-this", "r", "e", NULL), -ESTALE));
}

Test(extension_compat, architecture_names) {
        static const char *const map[][2] = {
                { "x86_64", "x86-64" }, { "i686", "x86" }, { "i386", "x86" }, { "aarch64", "arm64" },
                { "aarch64_be", "arm64-be" }, { "armv7l", "arm" }, { "armv7b", "arm-be" }, { "ppc64le", "ppc64-le" },
                { "ppc64", "ppc64" }, { "s390x", "s390x" }, { "riscv64", "riscv64" }, { "loongarch64", "loongarch64" },
        };

        for (size_t i = 0; i < ELEMENTSOF(map); i++)
                assert_str(extension_architecture_from_machine(map[i][0]), map[i][1]);
        cr_assert(holds(extension_architecture_from_machine("x86-64") == NULL));
        cr_assert(holds(extension_architecture_from_machine("") == NULL));
}

Test(extension_compat, unknown_host_architecture) {
        _cleanup_strv_free_ char **root = NULL, **ext = NULL;
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        const char *rel = "ID=debian\nVERSION_ID=12\nARCHITECTURE=x86-64\n";

        /* The mapping misses nothing systemd knows on this host, but if it did, the extension
         * is refused rather than accepted blindly. */
        cr_assert(eq(int, os_release_parse(ROOT, strlen(ROOT), &root), 0));
        cr_assert(eq(int, os_release_parse(rel, strlen(rel), &ext), 0));
        cr_assert(eq(int, extension_compat_check(root, ext, EXTENSION_SYSEXT, "", "r", "e", &error), -ESTALE));
        cr_assert(not(zero(ptr, strstr(error.message, "ARCHITECTURE=x86-64"))), "%s", error.message);
}
