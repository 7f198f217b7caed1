/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <criterion/criterion.h>
#include <criterion/new/assert.h>
#include <errno.h>
#include <sched.h>
#include <seccomp.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fd-util.h"
#include "image-metadata.h"
#include "image-read.h"
#include "image-reader.h"
#include "image.h"
#include "reader-child.h"
#include "reader-request.h"
#include "reader-sandbox.h"
#include "reader-spare.h"
#include "strv.h"
#include "unit-helpers.h"

/* The spare reader (reader-spare.h): started before its image is known, it reads a directory
 * image exactly as a reader started on demand does, serves one read only, and leaves nothing
 * behind whether it was used, killed or never needed. The request it waits for
 * (reader-request.h) says everything a read of a directory depends on. */

/* The filter a daemon compiles ahead, which a forked spare loads, and the namespaces every spare
 * joins. */
static ReaderSandbox sandbox = { .netns_fd = -EBADF, .ipcns_fd = -EBADF };

static void setup(void) {
        unit_skip_reader_tests_under_valgrind();
        if (geteuid() != 0)
                cr_skip_test("the reader's namespaces need root");
        cr_assert(eq(int, reader_sandbox_prepare(&sandbox), 0));
        cr_assert(eq(int, reader_sandbox_prepare_namespaces(&sandbox), 1));
}

static void teardown(void) {
        reader_sandbox_done(&sandbox);
}

TestSuite(reader_spare, .init = setup, .fini = teardown, .timeout = 60);

/* Every spare test runs twice: with the spare forked from the test (as a daemon without
 * portabled-reader does), and with the spare running portabled-reader (as the daemon does). */
static const char *reader_helper(void) {
        static char path[4096];

        (void) snprintf(path, sizeof(path), "%s/portabled/" READER_HELPER_NAME, unit_build_root());
        cr_assert(eq(int, access(path, X_OK), 0), "%s is not built", path);
        return path;
}

#define SPARE_TEST(name)                                                                 \
        static void name(const char *helper);                                            \
        Test(reader_spare, name##_forked) {                                              \
                name(NULL);                                                              \
        }                                                                                \
        Test(reader_spare, name##_run_as_helper) {                                       \
                name(reader_helper());                                                   \
        }                                                                                \
        static void name(const char *helper)

static bool same_strv(char * const *a, char * const *b) {
        size_t n = strv_length((char **) a);

        if (n != strv_length((char **) b))
                return false;
        for (size_t i = 0; i < n; i++)
                if (!streq(a[i], b[i]))
                        return false;
        return true;
}

static char *fixture(const char *name) {
        return unit_strf("%s/images/%s", unit_test_data(), name);
}

static char *comm_of(pid_t pid) {
        _cleanup_free_ char *path = unit_strf("/proc/%d/comm", (int) pid);
        char *comm = unit_read(path);

        if (comm)
                comm[strcspn(comm, "\n")] = '\0';
        return comm;
}

/* Waits up to 5 s for the spare to be set up: its root is its own empty one (it pivots last),
 * and it still carries the spare's name. */
static void wait_until_waiting(pid_t pid) {
        _cleanup_free_ char *etc = unit_strf("/proc/%d/root/etc", (int) pid);

        for (unsigned i = 0; i < 500; i++) {
                _cleanup_free_ char *comm = comm_of(pid);

                if (comm && streq(comm, READER_SPARE_COMM) && access(etc, F_OK) < 0)
                        return;
                usleep(10 * 1000);
        }
        cr_fail("the spare never got ready");
}

static PortableMetadata *read_with(const Image *image, ReaderSpare **spare, char * const *matches,
                                   char * const *check_paths) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        const ImageReadRequest request = { .matches = matches, .check_paths = check_paths, .spare = spare };
        PortableMetadata *m = NULL;

        cr_assert(eq(int, image_read_metadata_request(image, &request, &m, &error), 0), "%s", strna(error.message));
        return m;
}

static void assert_same_metadata(const PortableMetadata *a, const PortableMetadata *b) {
        assert_str(a->os_release.name, b->os_release.name);
        assert_str(a->os_release.data, b->os_release.data);
        cr_assert(eq(sz, a->n_units, b->n_units));
        for (size_t i = 0; i < a->n_units; i++) {
                assert_str(a->units[i].name, b->units[i].name);
                assert_str(a->units[i].data, b->units[i].data);
                assert_str(strempty(a->units[i].source), strempty(b->units[i].source));
        }
        cr_assert(same_strv(a->missing, b->missing), "the paths found missing differ");
        cr_assert(same_strv(a->warnings, b->warnings), "the warnings differ");
}

SPARE_TEST(reads_a_directory_as_a_reader_started_on_demand_does) {
        _cleanup_free_ char *tree = fixture("foo");
        _cleanup_(image_freep) Image *image = NULL;
        _cleanup_(reader_spare_freep) ReaderSpare *spare = NULL;
        _cleanup_(portable_metadata_freep) PortableMetadata *on_demand = NULL, *from_spare = NULL;
        char *matches[] = { (char *) "foo", NULL };
        char *check[] = { (char *) "/usr/lib/os-release", (char *) "/not/in/the/image", NULL };
        pid_t pid;

        cr_assert(eq(int, image_from_path(tree, &image), 0));
        cr_assert(eq(int, reader_spare_start(helper, &sandbox, &spare), 0));
        pid = reader_spare_pid(spare);
        wait_until_waiting(pid);

        from_spare = read_with(image, &spare, matches, check);
        cr_assert(zero(ptr, spare), "the spare was not used, or kept after its one read");
        cr_assert(eq(int, kill(pid, 0), -1), "the spare outlived its read");
        on_demand = read_with(image, NULL, matches, check);

        assert_same_metadata(from_spare, on_demand);
        cr_assert(gt(sz, from_spare->n_units, 0));
        cr_assert(strv_contains(from_spare->missing, "/not/in/the/image"));
        cr_assert(not(strv_contains(from_spare->missing, "/usr/lib/os-release")));
}

/* A spare joins the network and IPC namespaces the daemon made for the readers (given as fds 4
 * and 5 to portabled-reader), instead of making its own. */
SPARE_TEST(joins_the_readers_namespaces) {
        _cleanup_(reader_spare_freep) ReaderSpare *spare = NULL;
        _cleanup_free_ char *net_fd = unit_strf("/proc/self/fd/%d", sandbox.netns_fd),
                            *ipc_fd = unit_strf("/proc/self/fd/%d", sandbox.ipcns_fd),
                            *want_net = unit_readlink(net_fd), *want_ipc = unit_readlink(ipc_fd),
                            *net = NULL, *ipc = NULL, *net_path = NULL, *ipc_path = NULL;
        pid_t pid;

        cr_assert(eq(int, reader_spare_start(helper, &sandbox, &spare), 0));
        pid = reader_spare_pid(spare);
        wait_until_waiting(pid);
        net_path = unit_strf("/proc/%d/ns/net", (int) pid);
        ipc_path = unit_strf("/proc/%d/ns/ipc", (int) pid);
        net = unit_readlink(net_path);
        ipc = unit_readlink(ipc_path);
        assert_str(net, want_net);
        assert_str(ipc, want_ipc);
}

/* Every unit when no prefix is given: "all" on the wire, not an empty list. */
SPARE_TEST(reads_every_unit_without_matches) {
        _cleanup_free_ char *tree = fixture("foo");
        _cleanup_(image_freep) Image *image = NULL;
        _cleanup_(reader_spare_freep) ReaderSpare *spare = NULL;
        _cleanup_(portable_metadata_freep) PortableMetadata *on_demand = NULL, *from_spare = NULL;

        cr_assert(eq(int, image_from_path(tree, &image), 0));
        cr_assert(eq(int, reader_spare_start(helper, &sandbox, &spare), 0));
        from_spare = read_with(image, &spare, NULL, NULL);
        on_demand = read_with(image, NULL, NULL, NULL);
        assert_same_metadata(from_spare, on_demand);
}

/* A spare that died meanwhile is not the read's problem: a reader is started on demand. */
SPARE_TEST(dead_spare_is_replaced_by_a_reader_on_demand) {
        _cleanup_free_ char *tree = fixture("foo");
        _cleanup_(image_freep) Image *image = NULL;
        _cleanup_(reader_spare_freep) ReaderSpare *spare = NULL;
        _cleanup_(portable_metadata_freep) PortableMetadata *m = NULL;
        char *matches[] = { (char *) "foo", NULL };
        pid_t pid;

        cr_assert(eq(int, image_from_path(tree, &image), 0));
        cr_assert(eq(int, reader_spare_start(helper, &sandbox, &spare), 0));
        pid = reader_spare_pid(spare);
        wait_until_waiting(pid);
        cr_assert(eq(int, kill(pid, SIGKILL), 0));
        /* Gone, not reaped: its socket is closed. */
        for (unsigned i = 0; i < 500; i++) {
                siginfo_t si = {};

                if (waitid(P_PID, (id_t) pid, &si, WEXITED | WNOHANG | WNOWAIT) == 0 && si.si_pid == pid)
                        break;
                usleep(10 * 1000);
        }

        m = read_with(image, &spare, matches, NULL);
        cr_assert(zero(ptr, spare), "a dead spare was kept");
        cr_assert(gt(sz, m->n_units, 0));
}

/* Never used: freeing it kills and reaps it. */
SPARE_TEST(unused_spare_is_killed_and_reaped) {
        ReaderSpare *spare = NULL;
        pid_t pid;

        cr_assert(eq(int, reader_spare_start(helper, &sandbox, &spare), 0));
        pid = reader_spare_pid(spare);
        cr_assert(gt(int, pid, 0));
        wait_until_waiting(pid);
        reader_spare_free(spare);
        cr_assert(eq(int, kill(pid, 0), -1));
        cr_assert(eq(int, errno, ESRCH), "the spare is still there, or a zombie");
}

static char *ns_of(pid_t pid, const char *ns) {
        _cleanup_free_ char *path = unit_strf("/proc/%d/ns/%s", (int) pid, ns);
        char buf[128];
        ssize_t n = readlink(path, buf, sizeof(buf) - 1);

        cr_assert(gt(int, (int) n, 0), "readlink(%s)", path);
        buf[n] = '\0';
        return strdup(buf);
}

/* While it waits, it is already confined as far as it can be without its image: namespaces of
 * its own, pid 1 of its PID namespace, nothing of the host in its root. */
SPARE_TEST(waiting_spare_is_already_in_its_own_namespaces) {
        _cleanup_(reader_spare_freep) ReaderSpare *spare = NULL;
        _cleanup_free_ char *status = NULL, *status_path = NULL, *root = NULL, *exe = NULL;
        struct stat its_program, expected;
        pid_t pid;

        cr_assert(eq(int, reader_spare_start(helper, &sandbox, &spare), 0));
        pid = reader_spare_pid(spare);
        wait_until_waiting(pid);

        static const char *const namespaces[] = { "mnt", "net", "ipc", "uts" };
        for (size_t i = 0; i < ELEMENTSOF(namespaces); i++) {
                _cleanup_free_ char *ours = ns_of(getpid(), namespaces[i]), *its = ns_of(pid, namespaces[i]);

                cr_assert(holds(!streq(ours, its)), "the spare shares our %s namespace", namespaces[i]);
        }
        status_path = unit_strf("/proc/%d/status", (int) pid);
        status = unit_read(status_path);
        cr_assert(not(zero(ptr, strstr(strempty(status), "\nNSpid:\t"))));
        cr_assert(not(zero(ptr, strstr(strstr(status, "\nNSpid:\t"), "\t1\n"))), "not pid 1 of its own namespace");

        /* Its root holds the empty image mount point and its procfs, nothing else. */
        root = unit_strf("/proc/%d/root/etc", (int) pid);
        cr_assert(not(eq(int, access(root, F_OK), 0)), "the host's /etc is visible to the spare");

        /* It runs the program it was meant to: the helper, or a copy of us. */
        exe = unit_strf("/proc/%d/exe", (int) pid);
        cr_assert(eq(int, stat(exe, &its_program), 0));
        cr_assert(eq(int, stat(helper ?: "/proc/self/exe", &expected), 0));
        cr_assert(eq(u64, (uint64_t) its_program.st_ino, (uint64_t) expected.st_ino));
        cr_assert(eq(u64, (uint64_t) its_program.st_dev, (uint64_t) expected.st_dev));
}

/* ---------------------------------------------------------------------- the request message */

static int round_trip(const char *path, const char *name, bool extension, bool force, char * const *matches,
                      char * const *check, ReaderRequest *ret) {
        _cleanup_close_pair_ int pair[2] = { -EBADF, -EBADF };
        _cleanup_close_ int dir = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC), received = -EBADF;
        int r;

        cr_assert(ge(int, dir, 0));
        cr_assert(eq(int, socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, pair), 0));
        r = reader_request_send(pair[0], path, name, extension, force, matches, check, dir);
        if (r < 0)
                return r;
        r = reader_request_receive(pair[1], ret, &received);
        cr_assert(eq(int, r, 1));
        cr_assert(ge(int, received, 0), "the directory did not come along");
        return 0;
}

Test(reader_request, round_trip_keeps_every_field) {
        _cleanup_(reader_request_done) ReaderRequest a = {}, b = {}, c = {};
        char *matches[] = { (char *) "foo", (char *) "bar", NULL };
        char *check[] = { (char *) "/etc/resolv.conf", (char *) "/usr/bin/x y", NULL };
        char *empty[] = { NULL };

        cr_assert(eq(int, round_trip("/srv/foo_1", "foo_1", false, false, matches, check, &a), 0));
        assert_str(a.image_path, "/srv/foo_1");
        assert_str(a.image_name, "foo_1");
        cr_assert(holds(!a.extension && !a.force_extension));
        cr_assert(same_strv(a.matches, matches));
        cr_assert(same_strv(a.check_paths, check));

        /* No matches (every unit) is not an empty list of them (os-release alone). */
        cr_assert(eq(int, round_trip("/srv/ext", "ext", true, true, NULL, NULL, &b), 0));
        cr_assert(zero(ptr, b.matches));
        cr_assert(holds(b.extension && b.force_extension));
        cr_assert(eq(sz, strv_length(b.check_paths), 0));

        cr_assert(eq(int, round_trip("/srv/ext", "ext", true, false, (char **) image_read_no_units, empty, &c), 0));
        cr_assert(holds(c.extension && !c.force_extension));
        cr_assert(same_strv(c.matches, (char **) image_read_no_units));
}

Test(reader_request, too_large_for_one_message_is_refused_before_sending) {
        _cleanup_strv_free_ char **many = NULL;
        ReaderRequest unused = {};

        for (unsigned i = 0; i < 400; i++)
                cr_assert(eq(int, strv_extend(&many, "/a/rather/long/path/to/check/in/the/image"), 0));
        cr_assert(eq(int, round_trip("/srv/foo", "foo", false, false, NULL, many, &unused), -E2BIG));
}

static int parse(const char *buf, size_t size) {
        _cleanup_(reader_request_done) ReaderRequest r = {};

        return reader_request_parse(buf, size, &r);
}

#define PARSE(literal) parse(literal, sizeof(literal) - 1)

Test(reader_request, malformed_requests_are_refused) {
        cr_assert(eq(int, PARSE("R/p\0n\0\0all\0"), 0));
        cr_assert(eq(int, PARSE("R/p\0n\0\0" "1\0foo\0"), 0));
        cr_assert(eq(int, PARSE("X/p\0n\0\0all\0"), -EBADMSG), "another message type");
        cr_assert(eq(int, PARSE("R/p\0n\0\0"), -EBADMSG), "no match count");
        cr_assert(eq(int, PARSE("R/p\0n\0bogus\0all\0"), -EBADMSG), "unknown flags");
        cr_assert(eq(int, PARSE("R\0n\0\0all\0"), -EBADMSG), "no image path");
        cr_assert(eq(int, PARSE("R/p\0n\0\0" "2\0foo\0"), -EBADMSG), "more matches counted than sent");
        cr_assert(eq(int, PARSE("R/p\0n\0\0-1\0"), -EBADMSG), "negative count");
        cr_assert(eq(int, PARSE("R/p\0n\0\0" "1x\0foo\0"), -EBADMSG), "count with garbage");
        cr_assert(eq(int, PARSE("R/p\0n\0\0all"), -EBADMSG), "last field not terminated");
        cr_assert(eq(int, parse("", 0), -EBADMSG));
}

/* A daemon that cannot make the readers' namespaces still gets its spare, which then makes its
 * own (here a filter refuses exactly the unshare() the daemon makes them with). Runs in a child:
 * the filter stays with the process. */
SPARE_TEST(spare_started_when_the_namespaces_cannot_be_made) {
        int status;
        pid_t pid = fork();

        cr_assert(ge(int, pid, 0));
        if (pid == 0) {
                ReaderSandbox own = READER_SANDBOX_NULL;
                ReaderSpare *spare = NULL;
                scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);
                char want_not[64], net[64], path[64];
                ssize_t n;
                int r;

                if (!ctx ||
                    seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(unshare), 1,
                                     SCMP_A0(SCMP_CMP_EQ, CLONE_NEWNET | CLONE_NEWIPC)) < 0 ||
                    seccomp_load(ctx) < 0)
                        _exit(10);
                seccomp_release(ctx);

                r = image_reader_prepare(&own, &spare, helper);
                if (r != -EPERM)
                        _exit(11);
                if (!spare)
                        _exit(12); /* the namespaces failed, and the spare went with them */
                if (own.netns_fd >= 0 || own.ipcns_fd >= 0)
                        _exit(13);

                /* Set up all the same, in a network namespace of its own. */
                for (unsigned i = 0; i < 500; i++) {
                        _cleanup_free_ char *comm = comm_of(reader_spare_pid(spare));
                        _cleanup_free_ char *etc = unit_strf("/proc/%d/root/etc", (int) reader_spare_pid(spare));

                        if (comm && streq(comm, READER_SPARE_COMM) && access(etc, F_OK) < 0)
                                break;
                        usleep(10 * 1000);
                }
                n = readlink("/proc/self/ns/net", want_not, sizeof(want_not) - 1);
                if (n <= 0)
                        _exit(14);
                want_not[n] = '\0';
                (void) snprintf(path, sizeof(path), "/proc/%d/ns/net", (int) reader_spare_pid(spare));
                n = readlink(path, net, sizeof(net) - 1);
                if (n <= 0)
                        _exit(14);
                net[n] = '\0';
                spare = reader_spare_free(spare);
                reader_sandbox_done(&own);
                _exit(streq(want_not, net) ? 15 : 0);
        }
        cr_assert(eq(int, waitpid(pid, &status, 0), pid));
        cr_assert(eq(int, status, 0), "child status %d (exit %d)", status, WIFEXITED(status) ? WEXITSTATUS(status) : -1);
}
