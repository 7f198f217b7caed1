/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <criterion/criterion.h>
#include <criterion/new/assert.h>
#include <criterion/redirect.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "unit-helpers.h"

static void redirect(void) {
        cr_redirect_stderr();
        unsetenv("PORTABLE_LOG_LEVEL");
        unsetenv("SYSTEMD_LOG_LEVEL");
        log_set_max_level(LOG_INFO);
}

Test(log, errno_message_and_return, .init = redirect) {
        _cleanup_free_ char *expected = unit_strf("cannot open foo: %s\n", strerror(ENOENT));

        errno = EPERM;
        cr_assert(eq(int, log_error_errno(-ENOENT, "cannot open %s: %m", "foo"), -ENOENT));
        cr_assert(eq(int, errno, EPERM), "errno is preserved");
        cr_assert(eq(int, log_error_errno(ENOENT, "cannot open %s: %m", "foo"), -ENOENT), "either sign");
        fflush(stderr);
        _cleanup_free_ char *both = unit_strf("%s%s", expected, expected);
        cr_assert_stderr_eq_str(both);
}

Test(log, zero_error, .init = redirect) {
        cr_assert(eq(int, log_internal(LOG_ERR, 0, "plain"), 0));
        fflush(stderr);
        cr_assert_stderr_eq_str("plain\n");
}

Test(log, threshold, .init = redirect) {
        log_set_max_level(LOG_WARNING);
        cr_assert(eq(int, log_get_max_level(), LOG_WARNING));
        log_info("hidden");
        log_debug("hidden");
        cr_assert(eq(int, log_debug_errno(-EIO, "hidden %m"), -EIO), "suppressed messages still return the error");
        log_warning("shown");
        log_error("shown too");
        fflush(stderr);
        cr_assert_stderr_eq_str("shown\nshown too\n");
}

Test(log, environment, .init = redirect) {
        setenv("SYSTEMD_LOG_LEVEL", "debug", 1);
        log_parse_environment();
        cr_assert(eq(int, log_get_max_level(), LOG_DEBUG));

        /* Ours wins over systemd's; names are case-insensitive. */
        setenv("PORTABLE_LOG_LEVEL", "ERR", 1);
        log_parse_environment();
        cr_assert(eq(int, log_get_max_level(), LOG_ERR));

        /* Nonsense changes nothing. */
        setenv("PORTABLE_LOG_LEVEL", "loud", 1);
        log_parse_environment();
        cr_assert(eq(int, log_get_max_level(), LOG_ERR));
}
