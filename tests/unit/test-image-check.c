/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <criterion/criterion.h>
#include <criterion/new/assert.h>
#include <string.h>

#include "image-check.h"
#include "os-release.h"
#include "portable-metadata.h"
#include "strv.h"
#include "unit-helpers.h"

#define UNIT(n, d) { .name = (n), .data = (d), .size = sizeof(d) - 1 }

static const CheckUnit units[] = {
        UNIT("other.service", "[Service]\nExecStart=/usr/bin/web\n"),
        UNIT("web-data.service", "[Service]\nExecStart=/usr/bin/web /var/lib/web-data\nStateDirectory=web-data\n"),
        UNIT("web.service", "[Service]\n"
                            "ExecStart=/usr/bin/web --log=/var/log/web/access.log\n"
                            "ExecStartPost=-/usr/bin/helper\n"
                            "ExecStop=/usr/bin/missing-tool ; /usr/bin/web stop\n"
                            "ExecReload=web\n"
                            "ExecStartPre=/usr/bin/%i-setup\n"
                            "PIDFile=/run/web/pid\n"),
};

static char **pairs(const char *text) {
        char **l = NULL;

        cr_assert(eq(int, os_release_parse(text, strlen(text), &l), 0));
        return l;
}

/* The input every test starts from: a raw image with the units above, prefix "web". */
static ImageCheckInput input(char **os_release, char **matches, char **missing) {
        return (ImageCheckInput) {
                .image = "/x/web_1.raw",
                .image_type = "raw",
                .os_release_pairs = os_release,
                .units = units,
                .n_units = ELEMENTSOF(units),
                .matches = matches,
                .profile = "default",
                .profile_service = "[Service]\nDynamicUser=yes\nPrivateTmp=yes\n",
                .missing = missing,
        };
}

/* The finding of check whose message contains text, or NULL. */
static const CheckFinding *find(const CheckFindings *f, const char *check, const char *text) {
        for (size_t i = 0; i < f->n; i++)
                if (streq(f->items[i].check, check) && strstr(f->items[i].message, text))
                        return &f->items[i];
        return NULL;
}

static void assert_finding(const CheckFindings *f, CheckSeverity s, const char *check, const char *text) {
        const CheckFinding *x = find(f, check, text);

        cr_assert(not(zero(ptr, (void *) x)), "no %s finding with '%s'", check, text);
        cr_assert(eq(int, x->severity, s), "%s: severity %s", x->message, check_severity_to_string(x->severity));
}

Test(image_check, exec_paths_of_the_matching_units) {
        _cleanup_strv_free_ char **os = pairs("ID=t\n"), **matches = strv_copy((char *[]) { (char *) "web", NULL });
        _cleanup_strv_free_ char **paths = NULL;
        ImageCheckInput in = input(os, matches, NULL);

        cr_assert(eq(int, image_check_exec_paths(&in, &paths), 0));
        cr_assert(strv_contains(paths, "/usr/bin/web"));
        cr_assert(strv_contains(paths, IMAGE_CHECK_EXECUTABLE "/usr/bin/web"));
        cr_assert(strv_contains(paths, "/usr/bin/helper"));
        cr_assert(strv_contains(paths, "/usr/bin/missing-tool"));
        /* A bare name: every directory of systemd's search path. */
        cr_assert(strv_contains(paths, "/usr/local/sbin/web"));
        cr_assert(strv_contains(paths, IMAGE_CHECK_EXECUTABLE "/bin/web"));
        /* Specifiers are only known when the command runs. */
        for (char **p = paths; *p; p++)
                cr_assert(zero(ptr, strstr(*p, "%i")), "%s", *p);
        /* Every path once. */
        for (char **p = paths; *p; p++)
                for (char **q = p + 1; *q; q++)
                        cr_assert(strcmp(*p, *q) != 0, "%s twice", *p);
}

Test(image_check, findings) {
        _cleanup_strv_free_ char **os = pairs("ID=checktest\nPRETTY_NAME=\"Check test\"\n"),
                                 **matches = strv_copy((char *[]) { (char *) "web", NULL }),
                                 **missing = strv_copy((char *[]) {
                                         (char *) "/usr/bin/missing-tool", (char *) IMAGE_CHECK_EXECUTABLE "/usr/bin/missing-tool",
                                         (char *) IMAGE_CHECK_EXECUTABLE "/usr/bin/helper",
                                         (char *) "/usr/local/sbin/web", (char *) IMAGE_CHECK_EXECUTABLE "/usr/local/sbin/web",
                                         NULL });
        _cleanup_(check_findings_done) CheckFindings f = {};
        ImageCheckInput in = input(os, matches, missing);

        cr_assert(eq(int, image_check_run(&in, &f), 0));
        assert_finding(&f, CHECK_OK, "os-release", "ID=checktest (Check test).");
        assert_finding(&f, CHECK_OK, "units", "web.service matches prefix 'web'.");
        assert_finding(&f, CHECK_OK, "units", "web-data.service matches");
        assert_finding(&f, CHECK_INFO, "units", "other.service is not attached");
        assert_finding(&f, CHECK_ERROR, "exec", "web.service: ExecStop=/usr/bin/missing-tool is not in the image");
        /* '-': a failure is ignored, so only a warning. */
        assert_finding(&f, CHECK_WARNING, "exec", "ExecStartPost=/usr/bin/helper is in the image but not an executable");
        assert_finding(&f, CHECK_INFO, "exec", "ExecStartPre=/usr/bin/%i-setup uses specifiers");
        cr_assert(zero(ptr, (void *) find(&f, "exec", "ExecReload=web")), "web is found in /usr/bin");
        assert_finding(&f, CHECK_OK, "exec", "web-data.service: 1 command present");
        assert_finding(&f, CHECK_WARNING, "writable", "uses /var/log/web/access.log, which it cannot write");
        assert_finding(&f, CHECK_WARNING, "writable", "Add LogsDirectory=web");
        assert_finding(&f, CHECK_WARNING, "writable", "uses /run/web/pid");
        assert_finding(&f, CHECK_WARNING, "writable", "Add RuntimeDirectory=web");
        cr_assert(zero(ptr, (void *) find(&f, "writable", "/var/lib/web-data")), "StateDirectory= covers it");
        assert_finding(&f, CHECK_INFO, "verity", "raw image");
        cr_assert(check_findings_have_errors(&f));
}

Test(image_check, mount_points) {
        _cleanup_strv_free_ char **os = pairs("ID=t\n"), **matches = strv_copy((char *[]) { (char *) "web", NULL }),
                                 **req = strv_copy((char *[]) { (char *) "/etc/machine-id",
                                                                (char *) "BindReadOnlyPaths=/etc/machine-id", NULL }),
                                 **missing = strv_copy((char *[]) { (char *) "/etc/machine-id", (char *) "/tmp", NULL });
        _cleanup_(check_findings_done) CheckFindings f = {}, g = {};
        ImageCheckInput in = input(os, matches, missing);

        in.requirements = req;
        cr_assert(eq(int, image_check_run(&in, &f), 0));
        assert_finding(&f, CHECK_ERROR, "mounts",
                       "/etc/machine-id is missing in the image, and BindReadOnlyPaths=/etc/machine-id of profile 'default'");
        assert_finding(&f, CHECK_ERROR, "mounts", "/tmp is missing in the image: the service manager mounts a private /tmp");

        /* A writable directory: the service manager makes what is missing. */
        in.image_type = "directory";
        cr_assert(eq(int, image_check_run(&in, &g), 0));
        assert_finding(&g, CHECK_INFO, "mounts", "/etc/machine-id is missing in the image");
        assert_finding(&g, CHECK_INFO, "mounts", "/tmp is missing");
}

Test(image_check, os_release_and_prefixes) {
        _cleanup_strv_free_ char **os = pairs("PRETTY_NAME=x\nPORTABLE_PREFIXES=app\n"),
                                 **matches = strv_copy((char *[]) { (char *) "web", NULL });
        _cleanup_(check_findings_done) CheckFindings f = {}, g = {};
        ImageCheckInput in = input(os, matches, NULL);

        cr_assert(eq(int, image_check_run(&in, &f), 0));
        assert_finding(&f, CHECK_ERROR, "os-release", "os-release has no ID=");
        assert_finding(&f, CHECK_ERROR, "units", "prefix 'web' is not one of PORTABLE_PREFIXES=app");

        in.os_release_pairs = NULL;
        in.matches = (char *[]) { (char *) "nothing", NULL };
        cr_assert(eq(int, image_check_run(&in, &g), 0));
        assert_finding(&g, CHECK_ERROR, "os-release", "no os-release");
        assert_finding(&g, CHECK_ERROR, "units", "no unit file matches prefix 'nothing'");
}

Test(image_check, verity_and_profile_error) {
        static const CheckPartition parts[] = {
                { .designator = "root", .fstype = "squashfs", .protection = "signed", .signature = "trusted", .verified = true },
                { .designator = "usr", .fstype = "erofs", .protection = "unprotected", .signature = "unsigned" },
        };
        _cleanup_strv_free_ char **os = pairs("ID=t\n"), **matches = strv_copy((char *[]) { (char *) "web", NULL });
        _cleanup_(check_findings_done) CheckFindings f = {};
        ImageCheckInput in = input(os, matches, NULL);

        in.partitions = parts;
        in.n_partitions = ELEMENTSOF(parts);
        in.profile = NULL;
        in.profile_error = "Profile 'x' does not exist.";
        cr_assert(eq(int, image_check_run(&in, &f), 0));
        assert_finding(&f, CHECK_OK, "verity", "root partition (squashfs): verity verified, signed by a trusted key.");
        assert_finding(&f, CHECK_WARNING, "verity", "usr partition (erofs) has no verity");
        assert_finding(&f, CHECK_ERROR, "profile", "Profile 'x' does not exist.");
}

Test(image_check, confinement_unless_trusted) {
        static const CheckUnit host[] = { UNIT("web.service", "[Service]\nExecStart=+/usr/bin/web\n") };
        _cleanup_strv_free_ char **os = pairs("ID=t\n"), **matches = strv_copy((char *[]) { (char *) "web", NULL });
        _cleanup_(check_findings_done) CheckFindings f = {}, g = {};
        ImageCheckInput in = input(os, matches, NULL);

        in.units = host;
        in.n_units = 1;
        cr_assert(eq(int, image_check_run(&in, &f), 0));
        assert_finding(&f, CHECK_ERROR, "confinement", "web.service");
        assert_finding(&f, CHECK_INFO, "exec", "runs on the host");

        in.profile = "trusted";
        cr_assert(eq(int, image_check_run(&in, &g), 0));
        cr_assert(zero(ptr, (void *) find(&g, "confinement", "")));
}
