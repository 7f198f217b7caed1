/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "log.h"
#include "verbs.h"

int verb_check(int argc, char *argv[]) {
        return log_error_errno(-EOPNOTSUPP, "check: not yet");
}
