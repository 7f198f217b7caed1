/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <dirent.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "fd-util.h"
#include "path-util.h"
#include "portable.h"
#include "strv.h"
#include "transaction-step.h"

int portable_transaction_init(Transaction *t, const Host *host, PortableFlags flags, const char *verb,
                              const char *image) {
        _cleanup_free_ char *dir = host_journal_dir(host, flags & PORTABLE_RUNTIME), *description = NULL;

        if (!dir || asprintf(&description, "%s %s", verb, image) < 0)
                return -ENOMEM;
        return transaction_init(t, dir, description);
}

/* Whether dir would be empty at the commit point of the plan: nothing planned to be created below
 * it, and everything in it now planned away, or a directory found to go before it (removed, an
 * earlier RMDIR step of the plan). Hidden files of transactions do not count: they are gone by
 * then. */
static int dir_would_be_empty(Transaction *t, const char *dir, char * const *removed) {
        _cleanup_closedir_ DIR *d = NULL;
        size_t len = strlen(dir);
        struct dirent *de;

        for (size_t i = 0; i < t->changes.n; i++) {
                const PortableChange *c = &t->changes.items[i];

                if (c->type != PORTABLE_UNLINK && c->type != PORTABLE_CONFLICT &&
                    strncmp(c->path, dir, len) == 0 && c->path[len] == '/')
                        return false;
        }

        d = opendir(dir);
        if (!d)
                return errno == ENOENT ? true : -errno;
        while ((de = readdir(d))) {
                _cleanup_free_ char *p = NULL;
                struct stat st;

                if (streq(de->d_name, ".") || streq(de->d_name, "..") || startswith(de->d_name, ".#portabled-"))
                        continue;
                p = path_join(dir, de->d_name);
                if (!p)
                        return -ENOMEM;
                if (transaction_lstat(t, p, &st) != -ENOENT && !strv_contains(removed, p))
                        return false;
        }
        return true;
}

int portable_transaction_plan_rmdirs(Transaction *t) {
        _cleanup_strv_free_ char **removed = NULL;
        int r;

        /* In the order commit removes them: a directory's emptied subdirectories first. */
        for (size_t i = 0; i < t->n_steps; i++) {
                const TransactionStep *s = &t->steps[i];

                if (s->kind != STEP_RMDIR)
                        continue;
                r = dir_would_be_empty(t, s->path, removed);
                if (r < 0)
                        return r;
                if (r > 0) {
                        r = portable_changes_add(&t->changes, PORTABLE_UNLINK, s->path, NULL);
                        if (r >= 0)
                                r = strv_extend(&removed, s->path);
                        if (r < 0)
                                return r;
                }
        }
        return 0;
}

int portable_transaction_finish(Transaction *t, int r, PortableFlags flags, PortableChanges *ret_changes,
                                sd_bus_error *reterr) {
        if (r < 0 || !(flags & PORTABLE_DRY_RUN))
                return transaction_finish(t, r, ret_changes, reterr);

        /* A dry run ends here: the plan is the answer, and nothing of it is applied. The
         * directories that executing would remove are reported as it would report them. */
        r = portable_transaction_plan_rmdirs(t);
        if (r < 0)
                return r;
        *ret_changes = t->changes;
        t->changes = (PortableChanges) {};
        return 0;
}
