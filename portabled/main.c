/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <getopt.h>
#include <malloc.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "log.h"
#include "manager.h"
#include "path-util.h"

static void help(void) {
        printf("%s [OPTIONS...]\n\n"
               "Portable service manager: serves org.freedesktop.portable1 on the system bus.\n\n"
               "  -h --help                    Show this help\n"
               "     --version                 Show package version\n"
               "     --root=DIR                Take every fixed host path (image search path, attached\n"
               "                               unit directories, /etc/portables, profile directories)\n"
               "                               under DIR\n"
               "     --vendor-profile-dir=DIR  Where our own profiles are (default: %s)\n"
               "     --log-level=LEVEL         debug, info, notice, warning, err\n"
               "     --exit-on-idle=SECONDS    Exit after this long without calls (default: 30;\n"
               "                               0: never); D-Bus activation starts it again\n"
               "     --image-policy=POLICY     Every raw image read must satisfy this image policy\n"
               "                               (systemd.image-policy(7) syntax), in addition to\n"
               "                               the one a caller gives\n"
               "     --time-shares=BOOL        Give the callers of each user other than root a\n"
               "                               share of the daemon's time, refusing the calls\n"
               "                               beyond (default: yes)\n"
               "\nThe bus is the system bus, or the one $DBUS_SYSTEM_BUS_ADDRESS names.\n",
               program_invocation_short_name, VENDOR_PROFILE_DIR);
}

typedef struct Arguments {
        const char *root;
        const char *vendor_profile_dir;
        uint64_t exit_on_idle_usec;
        const char *image_policy;
        bool time_shares;
} Arguments;

static int parse_seconds(const char *s, uint64_t *ret_usec) {
        char *end;
        unsigned long long v;

        errno = 0;
        v = strtoull(s, &end, 10);
        if (errno != 0 || end == s || *end != '\0' || s[0] == '-' || v > UINT64_MAX / 1000000)
                return -EINVAL;
        *ret_usec = (uint64_t) v * 1000000;
        return 0;
}

static int parse_level(const char *s) {
        static const char *const names[] = { "emerg", "alert", "crit", "err", "warning", "notice", "info", "debug" };

        for (int i = 0; i < (int) ELEMENTSOF(names); i++)
                if (streq(s, names[i]))
                        return i;
        return -EINVAL;
}

static int parse_argv(int argc, char *argv[], Arguments *args) {
        enum { ARG_VERSION = 0x100, ARG_ROOT, ARG_VENDOR_PROFILE_DIR, ARG_LOG_LEVEL, ARG_EXIT_ON_IDLE, ARG_IMAGE_POLICY,
               ARG_TIME_SHARES };
        static const struct option options[] = {
                { "help",               no_argument,       NULL, 'h'                    },
                { "version",            no_argument,       NULL, ARG_VERSION            },
                { "root",               required_argument, NULL, ARG_ROOT               },
                { "vendor-profile-dir", required_argument, NULL, ARG_VENDOR_PROFILE_DIR },
                { "log-level",          required_argument, NULL, ARG_LOG_LEVEL          },
                { "exit-on-idle",       required_argument, NULL, ARG_EXIT_ON_IDLE       },
                { "image-policy",       required_argument, NULL, ARG_IMAGE_POLICY       },
                { "time-shares",        required_argument, NULL, ARG_TIME_SHARES        },
                {}
        };
        int c, level;

        while ((c = getopt_long(argc, argv, "h", options, NULL)) >= 0)
                switch (c) {
                case 'h':
                        help();
                        return 0;
                case ARG_VERSION:
                        printf("portabled %s\n", PROJECT_VERSION);
                        return 0;
                case ARG_ROOT:
                        if (!path_is_normalized_absolute(optarg))
                                return log_error_errno(EINVAL, "--root= needs an absolute, normalised path: %s", optarg);
                        args->root = optarg;
                        break;
                case ARG_VENDOR_PROFILE_DIR:
                        if (!path_is_normalized_absolute(optarg))
                                return log_error_errno(EINVAL, "--vendor-profile-dir= needs an absolute, normalised path: %s",
                                                       optarg);
                        args->vendor_profile_dir = optarg;
                        break;
                case ARG_LOG_LEVEL:
                        level = parse_level(optarg);
                        if (level < 0)
                                return log_error_errno(EINVAL, "Unknown log level: %s", optarg);
                        log_set_max_level(level);
                        break;
                case ARG_EXIT_ON_IDLE:
                        if (parse_seconds(optarg, &args->exit_on_idle_usec) < 0)
                                return log_error_errno(EINVAL, "--exit-on-idle= needs a number of seconds: %s", optarg);
                        break;
                case ARG_IMAGE_POLICY:
                        args->image_policy = optarg;
                        break;
                case ARG_TIME_SHARES:
                        if (streq(optarg, "yes"))
                                args->time_shares = true;
                        else if (streq(optarg, "no"))
                                args->time_shares = false;
                        else
                                return log_error_errno(EINVAL, "--time-shares= takes yes or no: %s", optarg);
                        break;
                case '?':
                        return -EINVAL;
                default:
                        abort();
                }

        if (optind < argc)
                return log_error_errno(EINVAL, "This program takes no positional arguments.");
        return 1;
}

int main(int argc, char *argv[]) {
        _cleanup_(manager_freep) Manager *m = NULL;
        Arguments args = {
                .vendor_profile_dir = VENDOR_PROFILE_DIR,
                .exit_on_idle_usec = 30 * 1000000ULL,
                .time_shares = true,
        };
        int r;

        log_parse_environment();

        /* A fixed threshold: large buffers (the reply to a listing of thousands of images) are
         * mapped on their own and given back when freed, instead of growing the heap for good
         * (glibc otherwise raises the threshold after the first such buffer is freed). */
        (void) mallopt(M_MMAP_THRESHOLD, 128 * 1024);

        r = parse_argv(argc, argv, &args);
        if (r <= 0)
                return r < 0 ? EXIT_FAILURE : EXIT_SUCCESS;

        umask(0022);

        r = manager_new(args.root, args.vendor_profile_dir, args.exit_on_idle_usec, &m);
        if (r < 0) {
                log_error_errno(r, "Failed to allocate manager: %m");
                return EXIT_FAILURE;
        }

        bus_budget_set_enabled(m->bus_budget, args.time_shares);
        if (!args.time_shares)
                log_notice("--time-shares=no: every caller may take all of the daemon's time.");

        if (args.image_policy) {
                _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;

                r = manager_set_image_policy(m, args.image_policy, &error);
                if (r < 0) {
                        log_error_errno(r, "--image-policy=%s: %s", args.image_policy,
                                        error.message ?: strerror(-r));
                        return EXIT_FAILURE;
                }
        }

        r = manager_lock_instance(m);
        if (r < 0)
                return EXIT_FAILURE;

        /* Before the name is taken: nobody may see the host half-changed by a previous run. A
         * journal that cannot be read is reported and left alone; the rest goes on. */
        (void) manager_recover(m);

        r = manager_connect_bus(m);
        if (r < 0)
                return EXIT_FAILURE;
        /* The first image read is as quick as the ones after it. */
        manager_prepare_readers_later(m);

        r = manager_run(m);
        if (r < 0) {
                log_error_errno(r, "Event loop failed: %m");
                return EXIT_FAILURE;
        }
        return EXIT_SUCCESS;
}
