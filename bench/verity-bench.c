/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Times verity verification of one raw image the way the image reader does it: the first time in
 * full, then again through the daemon's VerityCache (the image unchanged), then after the image's
 * change time moved (a write, so the cache must miss). Usage: verity-bench IMAGE [ROUNDS] */
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "fd-util.h"
#include "image-dissect.h"
#include "verity-cache.h"
#include "verity.h"

static double now_ms(void) {
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double) ts.tv_sec * 1e3 + (double) ts.tv_nsec / 1e6;
}

/* One inspection's worth of verity work; returns the milliseconds it took, negative on failure. */
static double once(const char *path, VerityCache *cache, bool *ret_cached) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_(verity_data_done) VerityData vd = VERITY_DATA_NULL;
        _cleanup_(dissected_image_done) DissectedImage m = {};
        _cleanup_free_ char *a = strdup(path), *b = strdup(path), *node = NULL;
        _cleanup_close_ int dir_fd = -EBADF, image_fd = -EBADF;
        double start = now_ms();
        DissectHints hints;
        int r;

        *ret_cached = true;
        dir_fd = open(dirname(a), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        image_fd = open(path, O_RDONLY | O_CLOEXEC);
        if (dir_fd < 0 || image_fd < 0 || asprintf(&node, "/tmp/verity-bench-loop-%d", getpid()) < 0)
                return -1;

        r = verity_data_load(dir_fd, basename(b), image_fd, &vd, &error);
        if (r >= 0) {
                verity_data_hints(&vd, &hints);
                r = image_dissect(image_fd, path, &hints, &m, &error);
        }
        for (PartitionDesignator d = PARTITION_ROOT; r >= 0 && d <= PARTITION_USR; d++) {
                _cleanup_(verity_target_done) VerityTarget t = VERITY_TARGET_NULL;
                VerityIdentity id;
                uint64_t covered;

                r = verity_target_resolve(image_fd, &m, d, &vd, &t, &error);
                if (r <= 0)
                        continue;
                if (verity_identity_from_fd(image_fd, t.data_offset, t.root_hash, t.root_hash_size, &id) >= 0 &&
                    verity_cache_lookup(cache, &id, &covered) > 0)
                        continue;
                *ret_cached = false;
                r = verity_target_verify(image_fd, &t, path, node, &covered, &error);
                if (r >= 0)
                        (void) verity_cache_add(cache, &id, covered);
        }
        if (r < 0) {
                fprintf(stderr, "%s\n", error.message ?: strerror(-r));
                return -1;
        }
        return now_ms() - start;
}

int main(int argc, char **argv) {
        _cleanup_(verity_cache_freep) VerityCache *cache = verity_cache_new(0);
        int rounds = argc > 2 ? atoi(argv[2]) : 3;
        double t;
        bool cached;

        if (argc < 2 || rounds < 1) {
                fprintf(stderr, "Usage: %s IMAGE [ROUNDS]\n", argv[0]);
                return 2;
        }

        for (int i = 0; i < rounds; i++) {
                struct stat st;

                if (i > 0) {
                        /* Move the change time (chmod to the same mode): the cache must not hit. */
                        if (stat(argv[1], &st) < 0 || chmod(argv[1], st.st_mode & 07777) < 0)
                                return 1;
                }
                t = once(argv[1], cache, &cached);
                if (t < 0)
                        return 1;
                printf("round %d: first verification   %9.1f ms%s\n", i + 1, t, cached ? " (cache hit?!)" : "");
                t = once(argv[1], cache, &cached);
                if (t < 0)
                        return 1;
                printf("round %d: again, image unchanged %9.3f ms%s\n", i + 1, t, cached ? " (from the cache)" : " (verified again?!)");
        }
        return 0;
}
