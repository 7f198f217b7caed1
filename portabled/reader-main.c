/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* portabled-reader: a spare image reader (reader-spare.h), as a program of its own. The daemon
 * starts it with reader_sandbox_spawn(): pid 1 of a new PID namespace, with the socket its request
 * comes on as fd 3 and the namespaces it joins as fds 4 and 5. A fork of the daemon would do the
 * same work, but would leave the daemon to copy every page it writes to afterwards, in the middle
 * of the next call. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "reader-child.h"
#include "reader-sandbox.h"

int main(int argc, char *argv[]) {
        ReaderSandbox sandbox = READER_SANDBOX_NULL;
        struct stat st;

        if (argc != 1 || fstat(3, &st) < 0 || !S_ISSOCK(st.st_mode)) {
                fprintf(stderr, "%s is started by portabled, not by hand.\n", program_invocation_short_name);
                return EXIT_FAILURE;
        }
        /* Compiled now, while nobody waits, as the daemon does before it forks a reader. A
         * failure only means the filter is built after the request arrives. */
        (void) reader_sandbox_prepare(&sandbox);
        reader_sandbox_adopt_namespaces(&sandbox);
        reader_child_spare_main(3, &sandbox);
}
