/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <criterion/criterion.h>
#include <criterion/new/assert.h>
#include <criterion/parameterized.h>
#include <string.h>

#include "profile-requirements.h"
#include "strv.h"
#include "unit-helpers.h"

/* Parses data and returns the (path, setting) pairs as "path<TAB>setting" lines. */
static char *requirements(const char *data) {
        _cleanup_strv_free_ char **pairs = NULL;
        char *s = unit_strf("%s", "");

        cr_assert(eq(int, profile_requirements_parse(data, strlen(data), &pairs), 0), "parsing:\n%s", data);
        cr_assert(not(zero(ptr, pairs)));
        cr_assert(eq(sz, strv_length(pairs) % 2, 0));
        for (size_t i = 0; pairs[i]; i += 2) {
                char *n = unit_strf("%s%s\t%s\n", s, pairs[i], pairs[i + 1]);
                free(s);
                s = n;
        }
        return s;
}

static char *shipped(const char *name) {
        _cleanup_free_ char *p = unit_strf("%s/%s/service.conf", unit_profiles_dir(), name);
        char *data = unit_read(p);

        cr_assert(not(zero(ptr, data)), "%s", p);
        return data;
}

Test(profile_requirements, shipped_default) {
        _cleanup_free_ char *data = shipped("default"), *r = requirements(data);

        /* /dev/log, the journal sockets and the D-Bus socket live on the API tmpfs: not needed. */
        assert_str(r, "/proc\tMountAPIVFS=yes\n"
                      "/sys\tMountAPIVFS=yes\n"
                      "/dev\tMountAPIVFS=yes\n"
                      "/run\tMountAPIVFS=yes\n"
                      "/tmp\tDynamicUser=yes\n"
                      "/var/tmp\tDynamicUser=yes\n"
                      "/etc/machine-id\tBindReadOnlyPaths=/etc/machine-id\n"
                      "/etc/resolv.conf\tBindReadOnlyPaths=-/etc/resolv.conf\n");
}

Test(profile_requirements, shipped_trusted) {
        _cleanup_free_ char *data = shipped("trusted"), *r = requirements(data);

        assert_str(r, "/proc\tMountAPIVFS=yes\n"
                      "/sys\tMountAPIVFS=yes\n"
                      "/dev\tMountAPIVFS=yes\n"
                      "/run\tMountAPIVFS=yes\n"
                      "/tmp\tPrivateTmp=yes\n"
                      "/var/tmp\tPrivateTmp=yes\n"
                      "/etc/machine-id\tBindReadOnlyPaths=/etc/machine-id\n"
                      "/etc/resolv.conf\tBindReadOnlyPaths=-/etc/resolv.conf\n");
}

Test(profile_requirements, shipped_strict_and_nonetwork) {
        _cleanup_free_ char *a = shipped("strict"), *b = shipped("nonetwork"), *ra = requirements(a), *rb = requirements(b);

        cr_assert(not(zero(ptr, strstr(ra, "/etc/machine-id\t"))));
        cr_assert(zero(ptr, strstr(ra, "/etc/resolv.conf")));
        cr_assert(not(zero(ptr, strstr(rb, "/etc/machine-id\t"))));
        cr_assert(zero(ptr, strstr(rb, "/run/dbus")));
}

struct req_case {
        const char *data;
        const char *expected;
};

static const struct req_case req_cases[] = {
        { "", "" },
        { "[Service]\n", "" },
        { "# nothing\n; nothing\n", "" },
        /* Only [Service] counts. */
        { "[Unit]\nBindPaths=/u\n[Service]\nBindPaths=/s\n[Install]\nBindPaths=/i\n", "/s\tBindPaths=/s\n" },
        { "BindPaths=/before-any-section\n", "" },
        { "[ServiceX]\nBindPaths=/x\n", "" },
        /* Booleans. */
        { "[Service]\nMountAPIVFS=no\n", "" },
        { "[Service]\nMountAPIVFS=true\n", "/proc\tMountAPIVFS=true\n/sys\tMountAPIVFS=true\n/dev\tMountAPIVFS=true\n/run\tMountAPIVFS=true\n" },
        { "[Service]\nPrivateTmp=on\n", "/tmp\tPrivateTmp=on\n/var/tmp\tPrivateTmp=on\n" },
        { "[Service]\nPrivateTmp=1\n", "/tmp\tPrivateTmp=1\n/var/tmp\tPrivateTmp=1\n" },
        { "[Service]\nPrivateTmp=YES\n", "/tmp\tPrivateTmp=YES\n/var/tmp\tPrivateTmp=YES\n" },
        { "[Service]\nPrivateTmp=0\n", "" },
        { "[Service]\n  MountAPIVFS = yes\n", "/proc\tMountAPIVFS=yes\n/sys\tMountAPIVFS=yes\n/dev\tMountAPIVFS=yes\n/run\tMountAPIVFS=yes\n" },
        /* Bind mount syntax: [-][+]SRC[:DST[:OPTIONS]], several per line, continuation lines. */
        { "[Service]\nBindPaths=/a /b\n", "/a\tBindPaths=/a\n/b\tBindPaths=/b\n" },
        { "[Service]\nBindPaths=/host/x:/inside/y:rbind\n", "/inside/y\tBindPaths=/host/x:/inside/y:rbind\n" },
        { "[Service]\nBindReadOnlyPaths=-/opt/x\n", "/opt/x\tBindReadOnlyPaths=-/opt/x\n" },
        { "[Service]\nBindReadOnlyPaths=+/opt/x\n", "/opt/x\tBindReadOnlyPaths=+/opt/x\n" },
        { "[Service]\nBindReadOnlyPaths=-+/opt/x:/y\n", "/y\tBindReadOnlyPaths=-+/opt/x:/y\n" },
        { "[Service]\nBindPaths=/a \\\n\t/b\n", "/a\tBindPaths=/a\n/b\tBindPaths=/b\n" },
        { "[Service]\nBindPaths=relative\n", "" },
        { "[Service]\nBindPaths=/host:relative\n", "" },
        { "[Service]\nBindPaths=/x\nBindReadOnlyPaths=/x\n", "/x\tBindPaths=/x\n" },
        /* Destinations on a tmpfs the service manager makes are created there. */
        { "[Service]\nBindPaths=/dev/log /run/x /proc/y /sys/z\n",
          "/dev/log\tBindPaths=/dev/log\n/run/x\tBindPaths=/run/x\n/proc/y\tBindPaths=/proc/y\n/sys/z\tBindPaths=/sys/z\n" },
        { "[Service]\nBindPaths=/dev/log /run/x /runner\nMountAPIVFS=yes\n",
          "/proc\tMountAPIVFS=yes\n/sys\tMountAPIVFS=yes\n/dev\tMountAPIVFS=yes\n/run\tMountAPIVFS=yes\n/runner\tBindPaths=/runner\n" },
        { "[Service]\nBindPaths=/tmp/a /var/tmp/b /tmpfoo\nPrivateTmp=yes\n",
          "/tmp\tPrivateTmp=yes\n/var/tmp\tPrivateTmp=yes\n/tmpfoo\tBindPaths=/tmpfoo\n" },
        { "[Service]\nBindPaths=/tmp/a\n", "/tmp/a\tBindPaths=/tmp/a\n" },
        /* Settings that need nothing in the image. */
        { "[Service]\nProtectSystem=strict\nDynamicUser=no\nEnvironment=BindPaths=/x\n", "" },
};

UNIT_TABLE_TEST(profile_requirements, cases, req_cases) {
        const struct req_case *c = &req_cases[*i];
        _cleanup_free_ char *r = requirements(c->data);

        cr_assert(eq(str, r, (char *) c->expected), "case %zu:\n%s", *i, c->data);
}

/* In unit file syntax a later assignment of a boolean wins, and an empty assignment resets a
 * list setting: a drop-in that turns something off again needs nothing for it. */
static const struct req_case override_cases[] = {
        { "[Service]\nMountAPIVFS=yes\nMountAPIVFS=no\n", "" },
        { "[Service]\nPrivateTmp=yes\nPrivateTmp=no\n", "" },
        { "[Service]\nBindReadOnlyPaths=/etc/machine-id\nBindReadOnlyPaths=\n", "" },
        { "[Service]\nBindPaths=/a\nBindPaths=\nBindPaths=/b\n", "/b\tBindPaths=/b\n" },
};

UNIT_TABLE_TEST(profile_requirements, overrides, override_cases) {
        const struct req_case *c = &override_cases[*i];
        _cleanup_free_ char *r = requirements(c->data);

        /* Regression: every assignment used to only ever add, so read-only images were refused
         * for mount points the profile no longer uses. */
        cr_assert(eq(str, r, (char *) c->expected), "case %zu:\n%s", *i, c->data);
}

Test(profile_requirements, size_bounds_input) {
        static const char data[] = "[Service]\nBindPaths=/a\nBindPaths=/b\n";
        _cleanup_strv_free_ char **pairs = NULL;

        /* Only the first line of settings is within size. */
        cr_assert(eq(int, profile_requirements_parse(data, strlen("[Service]\nBindPaths=/a\n"), &pairs), 0));
        cr_assert(eq(sz, strv_length(pairs), 2));
        assert_str(pairs[0], "/a");
}
