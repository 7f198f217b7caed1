/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <criterion/criterion.h>
#include <criterion/new/assert.h>
#include <string.h>

#include "strv.h"
#include "unit-helpers.h"
#include "unit-summary.h"

static void parse(const char *text, UnitSummary *ret) {
        cr_assert(eq(int, unit_summary_parse(text, strlen(text), ret), 0), "%s", text);
}

Test(unit_summary, settings) {
        UnitSummary u = {};
        _cleanup_free_ char *commands = NULL, *dirs = NULL, *rw = NULL, *other = NULL;

        parse("[Unit]\nDescription=x\n"
              "[Service]\n"
              "ExecStart=/usr/bin/a\n"
              "ExecStartPre=-/usr/bin/b\n"
              "StateDirectory=web web/cache\n"
              "LogsDirectory=web\n"
              "ReadWritePaths=-/srv/data /var/spool/x\n"
              "PIDFile=/run/web/pid\n"
              "WorkingDirectory=~\n"
              "PrivateTmp=yes\n"
              "DynamicUser=off\n"
              "ProtectSystem=strict\n"
              "[Install]\nWantedBy=multi-user.target\n", &u);
        commands = strv_join(u.commands, "|");
        assert_str(commands, "ExecStart\t/usr/bin/a|ExecStartPre\t-/usr/bin/b");
        dirs = strv_join(u.directories, "|");
        assert_str(dirs, "State\tweb|State\tweb/cache|Logs\tweb");
        rw = strv_join(u.read_write_paths, "|");
        assert_str(rw, "/srv/data|/var/spool/x");
        other = strv_join(u.other_paths, "|");
        assert_str(other, "/run/web/pid");
        cr_assert(eq(int, u.private_tmp, 1));
        cr_assert(eq(int, u.dynamic_user, 0));
        assert_str(u.protect_system, "strict");
        unit_summary_done(&u);
}

Test(unit_summary, resets_and_other_sections) {
        UnitSummary u = {};
        _cleanup_free_ char *commands = NULL;

        /* An empty assignment resets; [Install] and [Unit] are not read. */
        parse("[Service]\nExecStart=/a\nExecStart=\nExecStart=/b\nExecStop=/c\nStateDirectory=x\nStateDirectory=\n"
              "[Socket]\nExecStartPre=/d\n[Install]\nExecStart=/nope\n", &u);
        commands = strv_join(u.commands, "|");
        assert_str(commands, "ExecStart\t/b|ExecStop\t/c|ExecStartPre\t/d");
        cr_assert(eq(sz, strv_length(u.directories), 0));
        cr_assert(eq(int, u.private_tmp, -1));
        cr_assert(zero(ptr, u.protect_system));
        unit_summary_done(&u);
}

Test(unit_summary, commands) {
        UnitCommand *c = NULL;
        size_t n = 0;
        _cleanup_free_ char *args = NULL;

        cr_assert(eq(int, unit_commands_parse("ExecStart\t-@/usr/bin/web web \"--name=a b\" ; +/bin/setup x ; true", &c, &n), 0));
        cr_assert(eq(sz, n, 3));
        assert_str(c[0].key, "ExecStart");
        assert_str(c[0].path, "/usr/bin/web");
        cr_assert(c[0].ignore_failure);
        cr_assert(eq(int, c[0].unsandboxed, 0));
        args = strv_join(c[0].args, "|");
        assert_str(args, "web|--name=a b");
        assert_str(c[1].path, "/bin/setup");
        cr_assert(c[1].unsandboxed);
        cr_assert(eq(int, unit_command_is_checkable(&c[1]), 0));
        assert_str(c[2].path, "true");
        cr_assert(unit_command_is_checkable(&c[2]));
        unit_commands_free(c, n);
}

Test(unit_summary, candidates) {
        UnitCommand abs = { .path = (char *) "/usr/bin/x" }, bare = { .path = (char *) "x" },
                    rel = { .path = (char *) "bin/x" }, spec = { .path = (char *) "/usr/bin/%i" };
        _cleanup_strv_free_ char **a = NULL, **b = NULL, **r = NULL;

        cr_assert(eq(int, unit_command_candidates(&abs, &a), 0));
        cr_assert(eq(sz, strv_length(a), 1));
        assert_str(a[0], "/usr/bin/x");
        cr_assert(eq(int, unit_command_candidates(&bare, &b), 0));
        cr_assert(eq(sz, strv_length(b), strv_length((char **) unit_command_search_path)));
        assert_str(b[0], "/usr/local/sbin/x");
        cr_assert(eq(int, unit_command_candidates(&rel, &r), 0));
        cr_assert(eq(sz, strv_length(r), 0));
        cr_assert(eq(int, unit_command_is_checkable(&spec), 0));
}
