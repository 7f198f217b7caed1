/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <criterion/criterion.h>
#include <criterion/new/assert.h>
#include <fcntl.h>
#include <sched.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fd-util.h"
#include "fileio.h"
#include "reader-sandbox.h"
#include "unit-helpers.h"

/* Runs check() in a child that entered the sandbox (the filter is per process and permanent, so
 * the test process itself must stay outside), and returns the child's exit status. */
static int in_sandbox(int (*check)(void)) {
        int status;
        pid_t pid = fork();

        cr_assert(ge(int, pid, 0));
        if (pid == 0) {
                if (reader_sandbox_enter() < 0)
                        _exit(100);
                _exit(check());
        }
        cr_assert(eq(int, waitpid(pid, &status, 0), pid));
        bool exited = WIFEXITED(status);
        cr_assert(exited, "child died abnormally");
        return WEXITSTATUS(status);
}

static int check_reading_works(void) {
        _cleanup_close_ int fd = open("/proc/self/status", O_RDONLY | O_CLOEXEC);
        _cleanup_free_ char *data = NULL;

        if (fd < 0)
                return 1;
        return read_full_fd(fd, 1 << 20, &data, NULL) < 0 ? 2 : 0;
}

static int check_socket_denied(void) {
        int fd = socket(AF_INET, SOCK_STREAM, 0);

        if (fd >= 0)
                return 1;
        return errno == EPERM ? 0 : 2;
}

static int check_exec_denied(void) {
        /* /bin/false: should the exec go through, the child exits 1 and the test fails. */
        char *argv[] = { (char *) "/bin/false", NULL }, *envp[] = { NULL };

        execve("/bin/false", argv, envp);
        return errno == EPERM ? 0 : 1;
}

static int check_unshare_denied(void) {
        return unshare(0) < 0 && errno == EPERM ? 0 : 1;
}

static int check_no_new_privs(void) {
        return prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) == 1 ? 0 : 1;
}

Test(reader_sandbox, reading_files_still_works) {
        cr_assert(eq(int, in_sandbox(check_reading_works), 0));
}

Test(reader_sandbox, no_network) {
        cr_assert(eq(int, in_sandbox(check_socket_denied), 0));
}

Test(reader_sandbox, no_exec) {
        /* valgrind carries out an execve() itself, past the point of no return: when the kernel
         * refuses it, valgrind can only exit (101). */
        if (unit_running_on_valgrind())
                cr_skip_test("valgrind cannot survive a refused execve()");
        cr_assert(eq(int, in_sandbox(check_exec_denied), 0));
}

Test(reader_sandbox, no_namespace_changes) {
        cr_assert(eq(int, in_sandbox(check_unshare_denied), 0));
}

Test(reader_sandbox, no_new_privileges) {
        cr_assert(eq(int, in_sandbox(check_no_new_privs), 0));
}
