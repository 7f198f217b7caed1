/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <sys/types.h>

#include "macro.h"
#include "reader-sandbox.h"

/* A directory image is read in a moment; most of a reader's time goes into starting it: the fork,
 * its namespaces, its empty root. A spare is a reader started ahead of time, while the daemon is
 * idle, that has done all of that and waits for its image (reader-child.h,
 * reader_child_spare_main()). It serves one read, then exits like any reader; the daemon starts
 * the next one when it is idle again. Its confinement is the same as a reader's started on
 * demand: everything the image can reach is set up after the request arrives (the directory's
 * mount, the capabilities dropped, the seccomp filter), exactly as there.
 *
 * The daemon owns at most one, in its manager object; the image reader takes it
 * (image-reader.h). */

typedef struct ReaderSpare ReaderSpare;

/* The program a spare runs (portabled/reader-main.c), installed next to the daemon. */
#define READER_HELPER_NAME "portabled-reader"

/* Starts the spare. With helper (the path of portabled-reader), by running it: the helper
 * compiles its own system call filter while it sets up, and the daemon's pages are not copied
 * (reader_sandbox_spawn()). Without, by forking: the child loads the filter compiled into sandbox
 * (reader_sandbox_prepare(); NULL or none: it builds the filter itself). Either way it joins the
 * sandbox's namespaces, if it has them (reader_sandbox_prepare_namespaces()), else makes its own. */
int reader_spare_start(const char *helper, const ReaderSandbox *sandbox, ReaderSpare **ret);

/* Kills a spare that was not used, and reaps it. */
ReaderSpare *reader_spare_free(ReaderSpare *s);
DEFINE_TRIVIAL_CLEANUP_FUNC(ReaderSpare *, reader_spare_free);

/* Hands the spare in *slot (if any) its request (reader-request.h) and the directory, a detached
 * clone of its mount. 1: the spare is now this image's reader, its pid, a pidfd of it and our end
 * of its socket are the caller's, and *slot is empty. 0: there was no spare, or it was gone (then
 * *slot is empty too) or the request does not fit in a message (then it stays): the caller starts
 * a reader itself. */
int reader_spare_hand_over(ReaderSpare **slot, const char *image_path, const char *image_name, bool extension,
                           bool force_extension, char * const *matches, char * const *check_paths, int tree_fd,
                           pid_t *ret_pid, int *ret_pidfd, int *ret_sock);

pid_t reader_spare_pid(const ReaderSpare *s);
