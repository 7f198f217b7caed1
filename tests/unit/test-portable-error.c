/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <criterion/criterion.h>
#include <criterion/new/assert.h>
#include <string.h>

#include "portable-bus.h"
#include "portable-error.h"
#include "unit-helpers.h"

Test(portable_error, named) {
        _cleanup_(sd_bus_error_free) sd_bus_error e = SD_BUS_ERROR_NULL;

        cr_assert(eq(int, portable_error(&e, EEXIST, SYSTEMD_ERROR_UNIT_EXISTS, "Unit file '%s' exists.", "foo.service"),
                     -EEXIST));
        assert_str(e.name, SYSTEMD_ERROR_UNIT_EXISTS);
        assert_str(e.message, "Unit file 'foo.service' exists.");
}

Test(portable_error, negative_errno_and_percent_m) {
        _cleanup_(sd_bus_error_free) sd_bus_error e = SD_BUS_ERROR_NULL;
        _cleanup_free_ char *expected = unit_strf("cannot open: %s", strerror(ENOENT));

        /* Either sign; %m is the error given, not whatever errno held. */
        errno = EPERM;
        cr_assert(eq(int, portable_error(&e, -ENOENT, NULL, "cannot open: %m"), -ENOENT));
        assert_str(e.message, expected);
        /* Without a name, one derived from the errno. */
        cr_assert(eq(int, sd_bus_error_get_errno(&e), ENOENT));
        cr_assert(e.name != NULL);
}

Test(portable_error, zero_becomes_eio) {
        _cleanup_(sd_bus_error_free) sd_bus_error e = SD_BUS_ERROR_NULL;

        cr_assert(eq(int, portable_error(&e, 0, NULL, "x"), -EIO));
        cr_assert(eq(int, portable_error(NULL, 0, NULL, "x"), -EIO));
}

Test(portable_error, null_error_only_returns) {
        cr_assert(eq(int, portable_error(NULL, EBUSY, SYSTEMD_ERROR_UNIT_EXISTS, "busy"), -EBUSY));
}

Test(portable_error, first_error_wins) {
        _cleanup_(sd_bus_error_free) sd_bus_error e = SD_BUS_ERROR_NULL;

        /* The innermost, most specific message is kept when callers add their own. */
        cr_assert(eq(int, portable_error(&e, ENOENT, SD_BUS_ERROR_INVALID_ARGS, "inner"), -ENOENT));
        cr_assert(eq(int, portable_error(&e, EIO, NULL, "outer"), -EIO));
        assert_str(e.message, "inner");
        assert_str(e.name, SD_BUS_ERROR_INVALID_ARGS);
}
