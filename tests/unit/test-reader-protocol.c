/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <criterion/criterion.h>
#include <criterion/new/assert.h>
#include <linux/capability.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fd-util.h"
#include "reader-protocol.h"
#include "unit-helpers.h"

#if HAVE_VALGRIND_VALGRIND_H
#include <valgrind/valgrind.h>
#endif

/* The sending side of the reader protocol (reader-protocol.h); reader-receive.h's tests cover the
 * receiving side. */

TestSuite(reader_protocol);

/* One datagram, its fields and its file descriptor, as the daemon receives it. */
static ssize_t receive(int sock, char *buf, size_t size, int *ret_fd) {
        union {
                struct cmsghdr cmsghdr;
                uint8_t buf[CMSG_SPACE(sizeof(int))];
        } control = {};
        struct iovec iov = { .iov_base = buf, .iov_len = size };
        struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = &control, .msg_controllen = sizeof(control) };
        struct cmsghdr *c;
        ssize_t n;

        n = recvmsg(sock, &mh, MSG_CMSG_CLOEXEC);
        *ret_fd = -EBADF;
        c = CMSG_FIRSTHDR(&mh);
        if (n >= 0 && c && c->cmsg_type == SCM_RIGHTS)
                memcpy(ret_fd, CMSG_DATA(c), sizeof(int));
        return n;
}

Test(reader_protocol, send_fields_and_fd) {
        _cleanup_close_ int fd = -EBADF;
        int pair[2], received;
        char buf[READER_MESSAGE_MAX];

        cr_assert(eq(int, socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, pair), 0));
        fd = memfd_create("t", MFD_CLOEXEC);
        cr_assert(fd >= 0);

        cr_assert(eq(int, reader_send(pair[1], READER_UNIT, (const char *const[]) { "foo.service", "", NULL }, fd), 0));
        cr_assert(eq(long, (long) receive(pair[0], buf, sizeof(buf), &received), 1L + 12 + 1));
        cr_assert(eq(chr, buf[0], 'U'));
        cr_assert(eq(int, strcmp(buf + 1, "foo.service"), 0));
        cr_assert(received >= 0);
        safe_close(received);
        safe_close(pair[0]);
        safe_close(pair[1]);
}

Test(reader_protocol, fields_too_long) {
        int pair[2];
        char *big = malloc(READER_MESSAGE_MAX);

        cr_assert(big != NULL);
        memset(big, 'x', READER_MESSAGE_MAX - 1);
        big[READER_MESSAGE_MAX - 1] = '\0';
        cr_assert(eq(int, socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, pair), 0));
        cr_assert(eq(int, reader_send(pair[1], READER_WARNING, (const char *const[]) { big, NULL }, -EBADF), -E2BIG));
        free(big);
        safe_close(pair[0]);
        safe_close(pair[1]);
}

#define N_IN_FLIGHT 16

/* What a reader does: without capabilities, and with an RLIMIT_NOFILE far below the number of
 * descriptors it sends before the daemon gets to receive them (the in-flight count of a user
 * covers all its processes, and every reader runs as root). The kernel answers ETOOMANYREFS once
 * more than the limit are in flight; reader_send() must wait until the receiver catches up instead
 * of failing the read. */
static int send_many(int sock) {
        struct __user_cap_header_struct header = { .version = _LINUX_CAPABILITY_VERSION_3 };
        struct __user_cap_data_struct data[2] = {};
        const struct rlimit few = { 2, 2 };
        int fds[N_IN_FLIGHT];

        for (size_t i = 0; i < N_IN_FLIGHT; i++) {
                fds[i] = memfd_create("t", MFD_CLOEXEC);
                if (fds[i] < 0)
                        return 10;
        }
        if (setrlimit(RLIMIT_NOFILE, &few) < 0 || syscall(SYS_capset, &header, data) < 0)
                return 11;
        for (size_t i = 0; i < N_IN_FLIGHT; i++)
                if (reader_send(sock, READER_UNIT, (const char *const[]) { "foo.service", "", NULL }, fds[i]) < 0)
                        return 20 + (int) i;
        return 0;
}

Test(reader_protocol, waits_while_too_many_descriptors_are_in_flight) {
        int pair[2], status, received;
        char buf[READER_MESSAGE_MAX];
        pid_t pid;

#if HAVE_VALGRIND_VALGRIND_H
        if (RUNNING_ON_VALGRIND)
                cr_skip_test("valgrind emulates RLIMIT_NOFILE and the descriptors of its guest itself");
#endif
        cr_assert(eq(int, socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, pair), 0));
        pid = fork();
        cr_assert(pid >= 0);
        if (pid == 0) {
                safe_close(pair[0]);
                _exit(send_many(pair[1]));
        }
        safe_close(pair[1]);

        /* Receive only once the sender had time to run into the limit. */
        usleep(300 * 1000);
        for (size_t i = 0; i < N_IN_FLIGHT; i++) {
                cr_assert(gt(long, (long) receive(pair[0], buf, sizeof(buf), &received), 0L), "message %zu", i);
                cr_assert(received >= 0, "message %zu carries its descriptor", i);
                safe_close(received);
        }
        cr_assert(eq(int, waitpid(pid, &status, 0), pid));
        cr_assert(eq(int, status & 0x7f, 0), "the sender was killed by signal %d", status & 0x7f);
        cr_assert(eq(int, WEXITSTATUS(status), 0), "the sender failed at message %d", WEXITSTATUS(status) - 20);
        safe_close(pair[0]);
}

/* ------------------------------------------------------------------ reader_receive() */

static size_t count_open_fds(void) {
        _cleanup_closedir_ DIR *d = opendir("/proc/self/fd");
        struct dirent *de;
        size_t n = 0;

        cr_assert_not_null(d);
        while ((de = readdir(d)))
                if (de->d_name[0] != '.')
                        n++;
        return n;
}

static void seqpacket_pair(int pair[2]) {
        cr_assert(eq(int, socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, pair), 0));
}

Test(reader_protocol, receive_returns_the_message_and_its_descriptor) {
        _cleanup_close_ int memfd = memfd_create("t", MFD_CLOEXEC), received = -EBADF;
        _cleanup_close_pair_ int pair[2] = { -EBADF, -EBADF };
        struct stat a, b;
        char buf[READER_MESSAGE_MAX];

        seqpacket_pair(pair);
        cr_assert(ge(int, memfd, 0));
        cr_assert(eq(int, reader_send(pair[1], READER_WARNING, (const char *const[]) { "careful", NULL }, memfd), 0));

        cr_assert(eq(long, (long) reader_receive(pair[0], buf, sizeof(buf), 0, &received), 1L + 8));
        cr_assert(eq(chr, buf[0], 'W'));
        cr_assert(eq(int, strcmp(buf + 1, "careful"), 0));
        cr_assert(ge(int, received, 0));
        cr_assert(eq(int, fstat(memfd, &a), 0));
        cr_assert(eq(int, fstat(received, &b), 0));
        cr_assert(eq(u64, (uint64_t) a.st_ino, (uint64_t) b.st_ino), "the very file that was sent");
}

Test(reader_protocol, receive_without_descriptor_gives_none) {
        _cleanup_close_pair_ int pair[2] = { -EBADF, -EBADF };
        char buf[READER_MESSAGE_MAX];
        int received = 42;

        seqpacket_pair(pair);
        cr_assert(eq(int, reader_send(pair[1], READER_DONE, NULL, -EBADF), 0));
        cr_assert(eq(long, (long) reader_receive(pair[0], buf, sizeof(buf), 0, &received), 1L));
        cr_assert(lt(int, received, 0));
}

Test(reader_protocol, receive_refuses_more_than_one_descriptor_and_keeps_none) {
        _cleanup_close_ int memfd = memfd_create("t", MFD_CLOEXEC);
        _cleanup_close_pair_ int pair[2] = { -EBADF, -EBADF };
        char buf[READER_MESSAGE_MAX];
        int received = 42;
        size_t before;

        seqpacket_pair(pair);
        cr_assert(ge(int, memfd, 0));
        unit_send_datagram(pair[1], "Wtwo", 4, (const int[]) { memfd, memfd, memfd }, 3);
        before = count_open_fds();

        cr_assert(eq(long, (long) reader_receive(pair[0], buf, sizeof(buf), 0, &received), (long) -EBADMSG));
        cr_assert(eq(int, received, 42), "nothing handed out");
        cr_assert(eq(sz, count_open_fds(), before), "every descriptor that came is closed again");
}

Test(reader_protocol, receive_refuses_a_message_cut_short) {
        _cleanup_close_ int memfd = memfd_create("t", MFD_CLOEXEC);
        _cleanup_close_pair_ int pair[2] = { -EBADF, -EBADF };
        char buf[8];
        int received = 42;
        size_t before;

        seqpacket_pair(pair);
        unit_send_datagram(pair[1], "Wlonger than eight bytes", 24, &memfd, 1);
        before = count_open_fds();

        cr_assert(eq(long, (long) reader_receive(pair[0], buf, sizeof(buf), 0, &received), (long) -EBADMSG));
        cr_assert(eq(sz, count_open_fds(), before), "the descriptor that came with it is closed");
}

Test(reader_protocol, receive_reports_nothing_yet_and_hang_up) {
        _cleanup_close_pair_ int pair[2] = { -EBADF, -EBADF };
        char buf[READER_MESSAGE_MAX];
        int received = -EBADF;

        seqpacket_pair(pair);
        cr_assert(eq(long, (long) reader_receive(pair[0], buf, sizeof(buf), MSG_DONTWAIT, &received), (long) -EAGAIN));
        pair[1] = safe_close(pair[1]);
        cr_assert(eq(long, (long) reader_receive(pair[0], buf, sizeof(buf), 0, &received), 0L));
}
