/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stddef.h>
#include <stdint.h>

/* The libFuzzer entry point every tests/fuzz/fuzz-<target>.c defines. It must not leak, must
 * return 0, and abort()s (through FUZZ_CHECK) when a property of the code under test does not
 * hold, so that a wrong answer counts as a crash just like a memory error does. The same file is
 * linked either with libFuzzer (-Dfuzzers=true, clang) or with replay-main.c, which feeds it the
 * committed corpus and every input that ever crashed it (tests/fuzz/regressions/<target>/). */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Stops the run, naming the property that failed. */
#define FUZZ_CHECK(expr)                                                                        \
        do {                                                                                    \
                if (!(expr))                                                                    \
                        fuzz_check_failed(#expr, __FILE__, __LINE__);                           \
        } while (0)

__attribute__((noreturn)) void fuzz_check_failed(const char *expr, const char *file, int line);

/* A NUL-terminated copy of data[0..size), cut at the first NUL byte (the functions under test
 * take C strings). Never NULL: aborts on OOM, which libFuzzer reports separately anyway. */
char *fuzz_strndup(const uint8_t *data, size_t size);

/* Splits data at '\n' into at most max C strings (each cut at a NUL byte); the last one takes
 * the rest of the input. Returns a NULL-terminated list for strv_free(). */
char **fuzz_split_lines(const uint8_t *data, size_t size, size_t max);

/* A private directory for a target's fixed test tree: mkdtemp() under $TMPDIR (tests/fuzz/run
 * points that into the build directory, so that nothing is left in /tmp when a run is killed
 * on a crash), removed again at normal exit. Never NULL. */
char *fuzz_mkdtemp(const char *tag);

/* Tree builders for those fixed trees; path is relative to root, parent directories are created.
 * They abort on failure (the fixture is broken, not the code under test). */
void fuzz_mkdir_p(const char *root, const char *path);
void fuzz_write_file(const char *root, const char *path, const char *content);
void fuzz_symlink(const char *root, const char *path, const char *target);
