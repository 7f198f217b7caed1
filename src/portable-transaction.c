/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdio.h>

#include "portable.h"

int portable_transaction_init(Transaction *t, const Host *host, PortableFlags flags, const char *verb,
                              const char *image) {
        _cleanup_free_ char *dir = host_journal_dir(host, flags & PORTABLE_RUNTIME), *description = NULL;

        if (!dir || asprintf(&description, "%s %s", verb, image) < 0)
                return -ENOMEM;
        return transaction_init(t, dir, description);
}
