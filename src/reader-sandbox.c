/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <seccomp.h>
#include <sys/prctl.h>

#include "macro.h"
#include "reader-sandbox.h"

DEFINE_TRIVIAL_CLEANUP_FUNC(scmp_filter_ctx, seccomp_release);

/* A deny list rather than an allow list: what the C library does under the hood when reading
 * files varies between versions, what the reader must never do does not. */
static const char *const denied_syscalls[] = {
        "execve", "execveat",
        "socket", "socketpair", "connect", "bind", "listen", "accept", "accept4",
        "mount", "pivot_root", "chroot", "move_mount", "fsopen", "fsmount", "fsconfig",
        "fspick", "open_tree", "mount_setattr",
        "unshare", "setns", "clone3",
        "ptrace", "process_vm_readv", "process_vm_writev", "pidfd_getfd",
        "init_module", "finit_module", "delete_module", "kexec_load", "kexec_file_load", "bpf",
        "perf_event_open", "userfaultfd",
        "keyctl", "add_key", "request_key",
        "setuid", "setgid", "setreuid", "setregid", "setresuid", "setresgid", "setgroups",
        "mknod", "mknodat", "ioctl",
};

int reader_sandbox_enter(void) {
        _cleanup_(seccomp_releasep) scmp_filter_ctx ctx = NULL;
        int r;

        if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
                return -errno;

        ctx = seccomp_init(SCMP_ACT_ALLOW);
        if (!ctx)
                return -ENOMEM;

        for (size_t i = 0; i < ELEMENTSOF(denied_syscalls); i++) {
                int nr = seccomp_syscall_resolve_name(denied_syscalls[i]);

                if (nr == __NR_SCMP_ERROR)
                        continue; /* not on this architecture */
                r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), nr, 0);
                if (r < 0)
                        return r;
        }

        return seccomp_load(ctx);
}
