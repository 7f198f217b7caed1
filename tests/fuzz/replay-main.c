/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "fd-util.h"
#include "fileio.h"
#include "fuzz.h"
#include "path-util.h"
#include "strv.h"

/* Replays inputs against a fuzz target without libFuzzer, so that the committed corpus and every
 * input that once crashed a target run in the ordinary build (any compiler, any sanitizer, under
 * valgrind). Usage: fuzz-<target>-replay FILE|DIR...; a directory stands for its files. A crash
 * or a failed property aborts the run, so the test fails and names the input last printed. */

#define FUZZ_INPUT_MAX (1024U * 1024U)

static int replay_file(const char *path) {
        _cleanup_free_ char *data = NULL;
        _cleanup_close_ int fd = -EBADF;
        size_t size;
        int r;

        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0) {
                fprintf(stderr, "%s: %m\n", path);
                return -errno;
        }
        r = read_full_fd(fd, FUZZ_INPUT_MAX, &data, &size);
        if (r < 0) {
                fprintf(stderr, "%s: %s\n", path, strerror(-r));
                return r;
        }

        /* Exactly size bytes, as libFuzzer passes them: the terminating NUL read_full_fd() adds
         * would hide a read past the end from ASan and valgrind. */
        _cleanup_free_ uint8_t *copy = malloc(size ?: 1);
        if (!copy)
                return -ENOMEM;
        memcpy(copy, data, size);

        printf("%s (%zu bytes)\n", path, size);
        fflush(stdout);
        (void) LLVMFuzzerTestOneInput(copy, size);
        return 0;
}

static int replay_dir(const char *path, unsigned *n) {
        _cleanup_strv_free_ char **names = NULL;
        _cleanup_closedir_ DIR *d = opendir(path);
        struct dirent *de;
        int r;

        if (!d) {
                fprintf(stderr, "%s: %m\n", path);
                return -errno;
        }
        while ((de = readdir(d)))
                if (de->d_name[0] != '.' && strv_extend(&names, de->d_name) < 0)
                        return -ENOMEM;
        strv_sort(names);

        STRV_FOREACH(name, names) {
                _cleanup_free_ char *p = path_join(path, *name);

                if (!p)
                        return -ENOMEM;
                r = replay_file(p);
                if (r < 0)
                        return r;
                (*n)++;
        }
        return 0;
}

int main(int argc, char *argv[]) {
        unsigned n = 0;
        int r;

        for (int i = 1; i < argc; i++) {
                struct stat st;

                if (stat(argv[i], &st) < 0) {
                        fprintf(stderr, "%s: %m\n", argv[i]);
                        return EXIT_FAILURE;
                }
                if (S_ISDIR(st.st_mode))
                        r = replay_dir(argv[i], &n);
                else {
                        r = replay_file(argv[i]);
                        n++;
                }
                if (r < 0)
                        return EXIT_FAILURE;
        }

        printf("%u inputs replayed\n", n);
        return n > 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
