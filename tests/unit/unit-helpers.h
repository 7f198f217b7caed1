/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* Helpers shared by the unit tests: private temporary roots, small file-system builders, tree
 * snapshots for "nothing changed" checks and golden files. They abort the test (cr_assert) when
 * the test machinery itself fails, so that a test body only asserts the behaviour under test. */

/* Creates a private directory /tmp/portabled-unit-<tag>-XXXXXX, removed when the process exits
 * at the latest (a test that skips itself ends without its .fini). Never returns NULL. */
char *unit_mkdtemp(const char *tag);
/* The same on a file system that is not volatile, if the machine has one (/var/tmp where /tmp is
 * a tmpfs, as in the mutation runs): for what only differs where fsync() means something. */
char *unit_mkdtemp_durable(const char *tag);

/* Skips the test unless it runs as root; otherwise moves it into a mount namespace of its own, from
 * which nothing propagates back: what it mounts goes away with it. */
void unit_private_mount_namespace(void);

/* Removes a tree created by unit_mkdtemp() (never follows symlinks, never crosses mounts, clears
 * the immutable attribute where needed). Refuses any other path. NULL is a no-op. */
void unit_rm_rf(const char *path);

/* $TEST_DATA, $PROFILES_DIR, $SOURCE_ROOT, with fallbacks to the source tree. */
const char *unit_test_data(void);
const char *unit_profiles_dir(void);
const char *unit_source_root(void);

/* The build tree ($BUILD_ROOT, or the one the tests were built in). */
const char *unit_build_root(void);

/* asprintf() that never fails (aborts the test instead). */
char *unit_strf(const char *format, ...) __attribute__((format(printf, 1, 2)));

/* mkdir -p. */
void unit_mkdir_p(const char *path, mode_t mode);

/* Writes a file (creating parent directories), with the given mode. */
void unit_write(const char *path, const char *content);
void unit_write_data(const char *path, const void *data, size_t size, mode_t mode);

/* Creates a symlink path -> target (creating parent directories). */
void unit_symlink(const char *target, const char *path);

/* Reads a whole file; NULL if it cannot be read. */
char *unit_read(const char *path);
/* The target of the symlink path (a namespace's "net:[4026531840]" too); the test fails if it is
 * none. */
char *unit_readlink(const char *path);

/* Runs a shell command line; returns its exit status (or -1). Output goes to the test's log. */
int unit_run(const char *format, ...) __attribute__((format(printf, 1, 2)));

/* Whether a program is found in $PATH. */
bool unit_have_program(const char *name);

/* Whether the test runs under valgrind (which preloads its own library into every process). */
bool unit_running_on_valgrind(void);

/* Skips the current test under valgrind, for tests that run the image reader: valgrind 3.19
 * does not implement open_tree() and pidfd_open(), and cannot run a process under the reader's
 * seccomp allow-list (its own system calls would be refused). Those tests run in the plain and
 * the ASan/UBSan builds. Call it first thing in the suite's init. */
void unit_skip_reader_tests_under_valgrind(void);

/* cp -a src dst (dst must not exist). */
void unit_copy_tree(const char *src, const char *dst);

/* A canonical, sorted description of every entry below root: relative path, type, permission
 * bits, and content (regular files, as size and hash) or target (symlinks). Directory times are
 * left out: two snapshots are equal iff the trees hold the same things. */
char *unit_snapshot(const char *root);

/* Reads tests/unit/golden/<name>. */
char *unit_golden(const char *name);

/* Replaces every occurrence of needle in s by replacement; returns a new string. */
char *unit_replace(const char *s, const char *needle, const char *replacement);

/* Whether a loop device backed by file exists (losetup -j). */
bool unit_loop_backed_by(const char *file);

/* Waits up to timeout_ms for no loop device to be backed by file; true if none remains. */
bool unit_wait_no_loop(const char *file, unsigned timeout_ms);

/* String equality with Criterion's diff output. Criterion's str tag is a plain char *, which
 * string literals are not under -Wwrite-strings; and a NULL actual fails instead of crashing. */
#define assert_str(actual, expected)                                                            \
        do {                                                                                    \
                const char *_actual_ = (actual), *_expected_ = (expected);                      \
                cr_assert(_actual_ != NULL, "%s is NULL", #actual);                             \
                cr_assert(eq(str, (char *) _actual_, (char *) _expected_), "%s", #actual);      \
        } while (0)

/* A table test: one test that runs its body once for every row of a static table, in order, in
 * one process. Criterion's ParameterizedTest would run each row in a process of its own, which
 * costs about a second and a half per row under valgrind (most of it valgrind starting up), and
 * most of the unit suite's processes were table rows. The body gets the row's index as `*i`:
 *
 *         UNIT_TABLE_TEST(suite, name, table) { const struct x *c = &table[*i]; ... }
 *
 * The first failed assertion ends the test; unit_table_fini() then names the row it failed in (a
 * row that crashes the process is not named: run the test under a debugger). */
typedef void (*unit_table_row_fn)(size_t *i);
void unit_table_run(const char *table, size_t n_rows, unit_table_row_fn row);
void unit_table_fini(void);
/* The table whose run a failure left (and the row in *ret_row), or NULL: what unit_table_fini()
 * reports. */
const char *unit_table_unfinished(size_t *ret_row);

#define UNIT_TABLE_TEST(suite, name, table)                                                     \
        static void suite##_##name##_row(size_t *i);                                            \
        Test(suite, name, .fini = unit_table_fini) {                                            \
                unit_table_run(#table, sizeof(table) / sizeof((table)[0]), suite##_##name##_row); \
        }                                                                                       \
        static void suite##_##name##_row(size_t *i)

/* Appends a note to *acc ("; "-separated): for table tests that check every row and report all
 * failing ones at once (one process per row would make the suite slow). */
void unit_note(char **acc, const char *format, ...) __attribute__((format(printf, 2, 3)));

/* cr_assert() pastes the first token of its argument: an expression starting with '(' or with a
 * function-like macro (S_ISREG(), WIFEXITED()) does not compile. cr_assert(holds(...)) does. */
static inline bool holds(bool b) {
        return b;
}

/* Builds a read-only file system image of dir at out: "squashfs" or "erofs" (with the tools), or
 * "ext4". Skips the test if the tool is missing. */
void unit_make_fs_image(const char *fstype, const char *dir, const char *out);

/* Writes a GPT disk image at out with n partitions, each of the given type GUID and holding the
 * contents of the given file (or 1 MiB of zeros for NULL), starting at 1 MiB and 1 MiB aligned.
 * Primary and backup headers are valid, with a protective MBR. */
#define MIB (1024u * 1024u)
#define UNIT_GPT_ROOT_X86_64 "4f68bce3-e8cd-4db1-96e7-fbcaf984b709"
#define UNIT_GPT_LINUX_GENERIC "0fc63daf-8483-4772-8e79-3d69d8477de4"
#define UNIT_GPT_SWAP "0657fd6d-a4ab-43c4-84e5-0933c84b4f4f"
#define UNIT_GPT_ESP "c12a7328-f81f-11d2-ba4b-00a0c93ec93b"
void unit_make_gpt(const char *out, size_t n, const char *const *types, const char *const *contents);

/* Sends one datagram on sock: size bytes of buf with n_fds (at most 16) descriptors attached in
 * one SCM_RIGHTS, bypassing the reader protocol's sender (which attaches at most one). */
void unit_send_datagram(int sock, const void *buf, size_t size, const int *fds, size_t n_fds);
