/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "fd-util.h"
#include "fuzz.h"
#include "path-util.h"
#include "transaction-journal.h"

/* After a crash, recovery reads the journals it finds and undoes or finishes what they name. A
 * journal cut short by the crash, or damaged on disk, must make recovery touch nothing rather
 * than something else. Input: the bytes of <id>.journal (or <id>.committed, when the first byte
 * is odd; the rest is the file).
 *
 * Properties: what is accepted names only absolute, normalised paths other than "/", and hidden
 * files beside their path that carry this transaction's name, with the hidden files each kind of
 * step has, and what only a create step records (a target or a digest); saved again and loaded
 * back, it is the same journal. */

#define ID "0123456789abcdef"

static char *dir;

static bool hidden_file_is_beside(const char *hidden, const char *path) {
        _cleanup_free_ char *a = path_dirname(hidden), *b = path_dirname(path);
        const char *name = path_last_component(hidden);

        return a && b && streq(a, b) && startswith(name, TRANSACTION_HIDDEN_PREFIX ID "-");
}

static void check_step(const TransactionStep *s) {
        FUZZ_CHECK(s->kind >= 0 && s->kind < _STEP_KIND_MAX);
        FUZZ_CHECK(path_is_normalized_absolute(s->path) && !streq(s->path, "/"));
        FUZZ_CHECK((s->kind == STEP_CREATE) == !!s->temp);
        if (s->kind == STEP_REMOVE || s->kind == STEP_REMOVE_TREE)
                FUZZ_CHECK(s->backup);
        if (s->kind == STEP_MKDIR || s->kind == STEP_RMDIR)
                FUZZ_CHECK(!s->backup);
        FUZZ_CHECK(!s->temp || hidden_file_is_beside(s->temp, s->path));
        FUZZ_CHECK(!s->backup || hidden_file_is_beside(s->backup, s->path));
        /* What a create step made is recorded by its target or its digest, never both, and by
         * neither for the other kinds. */
        FUZZ_CHECK(!(s->target && s->digest_known));
        if (s->kind != STEP_CREATE)
                FUZZ_CHECK(!s->target && !s->digest_known);
}

static void check_same(const TransactionJournal *a, const TransactionJournal *b) {
        FUZZ_CHECK(streq(a->id, b->id) && streq(a->description, b->description));
        FUZZ_CHECK(a->committing == b->committing && a->n_steps == b->n_steps);
        for (size_t i = 0; i < a->n_steps; i++) {
                const TransactionStep *x = &a->steps[i], *y = &b->steps[i];

                FUZZ_CHECK(x->kind == y->kind && streq(x->path, y->path));
                FUZZ_CHECK(streq_ptr(x->temp, y->temp) && streq_ptr(x->backup, y->backup));
                FUZZ_CHECK(streq_ptr(x->target, y->target) && x->digest_known == y->digest_known);
                FUZZ_CHECK(!x->digest_known || (x->digest == y->digest && x->size == y->size));
        }
        FUZZ_CHECK(!a->has_key || memcmp(a->key, b->key, sizeof(a->key)) == 0);
}

static void write_journal(const char *name, const uint8_t *data, size_t size) {
        _cleanup_free_ char *path = NULL;
        _cleanup_close_ int fd = -EBADF;

        FUZZ_CHECK(asprintf(&path, "%s/%s", dir, name) >= 0);
        fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        FUZZ_CHECK(fd >= 0);
        FUZZ_CHECK(size == 0 || write(fd, data, size) == (ssize_t) size);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        _cleanup_(transaction_journal_done) TransactionJournal j = {}, again = {};
        const char *name;
        int r;

        if (size < 1)
                return 0;
        if (!dir)
                dir = fuzz_mkdtemp("journal");
        name = data[0] & 1 ? ID TRANSACTION_JOURNAL_COMMITTED_SUFFIX : ID TRANSACTION_JOURNAL_SUFFIX;
        (void) transaction_journal_remove(dir, ID, /* sync= */ false);
        write_journal(name, data + 1, size - 1);

        r = transaction_journal_load(dir, name, &j);
        if (r < 0)
                return 0;
        FUZZ_CHECK(r == 0 && streq(j.id, ID));
        if (data[0] & 1)
                FUZZ_CHECK(j.committing);
        for (size_t i = 0; i < j.n_steps; i++)
                check_step(&j.steps[i]);

        /* What recovery understood is what the daemon would have written for it. */
        FUZZ_CHECK(transaction_journal_remove(dir, ID, /* sync= */ false) >= 0);
        FUZZ_CHECK(transaction_journal_save(dir, ID, j.key, j.description, j.committing, j.steps, j.n_steps) == 0);
        FUZZ_CHECK(transaction_journal_load(dir, ID TRANSACTION_JOURNAL_SUFFIX, &again) == 0);
        check_same(&j, &again);
        return 0;
}
