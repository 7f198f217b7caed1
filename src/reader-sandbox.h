/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Confines the image reader child once its image is mounted: from then on it only reads files
 * and sends them over the socket it already has. A seccomp filter (libseccomp) makes every system
 * call it never needs fail with EPERM: executing programs, any networking, creating sockets,
 * further mounts and namespace changes, tracing, loading kernel code, keyrings. no_new_privs is
 * set first, as seccomp requires of unprivileged callers and as a second lock in any case. */
int reader_sandbox_enter(void);
