/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <getopt.h>
#include <locale.h>
#include <stdio.h>
#include <stdlib.h>

#include "bus-call.h"
#include "image-policy.h"
#include "log.h"
#include "output.h"
#include "path-util.h"
#include "polkit-agent.h"
#include "portable-bus.h"
#include "portable-types.h"
#include "portablectl.h"
#include "strv.h"
#include "verbs.h"

bool arg_quiet = false;
bool arg_legend = true;
bool arg_ask_password = true;
bool arg_runtime = false;
bool arg_reload = true;
bool arg_cat = false;
bool arg_enable = false;
bool arg_now = false;
bool arg_no_block = false;
bool arg_force = false;
bool arg_dry_run = false;
bool arg_rollback = false;
bool arg_clean = false;
/* How long --now waits for the units to come up. */
uint64_t arg_timeout_usec = 90 * UINT64_C(1000000);
const char *arg_profile = "default";
bool arg_profile_set = false;
const char *arg_copy_mode = "";
bool arg_copy_mode_set = false;
char **arg_manifests = NULL;
bool arg_transport_remote = false;
const char *arg_host = NULL;
const char *arg_machine = NULL;
static char *arg_profile_path = NULL;
JsonFormat arg_json = JSON_FORMAT_OFF;
const char *arg_image_policy = NULL;
char **arg_extensions = NULL;

#define VERB_ANY ((unsigned) -1)

typedef struct Verb {
        const char *name;
        unsigned min_args, max_args; /* including the verb itself */
        bool is_default;
        int (*dispatch)(int argc, char *argv[]);
} Verb;

static int help(void) {
        printf("%s [OPTIONS...] COMMAND ...\n"
               "\n"
               "Attach or detach portable services from the local system.\n"
               "\n"
               "Commands:\n"
               "  list                        List available portable service images (default)\n"
               "  attach NAME|PATH [PREFIX...] [PATH|GLOB [PREFIX...]...]\n"
               "                              Attach the specified portable service images\n"
               "  detach NAME|PATH [PREFIX...] [PATH|GLOB [PREFIX...]...]\n"
               "                              Detach the specified portable service images\n"
               "  reattach NAME|PATH [PREFIX...] [PATH|GLOB [PREFIX...]...]\n"
               "                              Reattach the specified portable service images\n"
               "  check NAME|PATH [PREFIX...]\n"
               "                              Check an image before attaching it: say what\n"
               "                              would go wrong and how to fix it\n"
               "  inspect NAME|PATH [PREFIX...]\n"
               "                              Show details of the specified portable service image\n"
               "  is-attached NAME|PATH       Query if the portable service image is attached\n"
               "                              (exit status 0 if attached in any way, 1 if detached)\n"
               "  read-only NAME|PATH [BOOL]  Mark or unmark the portable service image read-only\n"
               "  remove NAME|PATH...         Remove the portable service images\n"
               "  set-limit [NAME|PATH] BYTES Set the image size quota limit; without an image,\n"
               "                              the limit of the whole image pool\n"
               "  repair                      Remove what interrupted operations left behind\n"
               "  help                        Show this help\n"
               "\n"
               "Options:\n"
               "  -h --help                   Show this help\n"
               "     --version                Show package version\n"
               "     --no-pager               Accepted for compatibility; output is never paged\n"
               "     --no-legend              Do not show the headers and footers\n"
               "     --no-ask-password        Do not ask for system passwords\n"
               "  -H --host=[USER@]HOST       Operate on remote host\n"
               "  -M --machine=CONTAINER      Operate on local container\n"
               "  -q --quiet                  Suppress informational messages\n"
               "  -p --profile=PROFILE|PATH   Pick security profile for portable service, by name\n"
               "                              or as the path of a profile file or directory\n"
               "                              (default: \"default\"; \"help\" lists the profiles)\n"
               "     --copy=auto|copy|symlink|mixed\n"
               "                              Pick copying or symlinking of resources\n"
               "     --runtime                Attach portable service until next reboot only\n"
               "     --no-reload              Don't reload the system and service manager\n"
               "     --cat                    When inspecting include unit and os-release file\n"
               "                              contents\n"
               "     --enable                 Immediately enable/disable the portable service\n"
               "                              after attach/detach\n"
               "     --now                    Immediately start/stop the portable service after\n"
               "                              attach/before detach\n"
               "     --no-block               Don't block waiting for attach --now to complete\n"
               "     --force                  Skip 'already active' check when attaching or\n"
               "                              detaching an image, and accept an extension's\n"
               "                              release file under another name\n"
               "     --timeout=SECONDS        How long --now waits for the units (default: 90)\n"
               "     --rollback               With reattach --now: if a unit of the new version does\n"
               "                              not come up, put the previous version back\n"
               "     --dry-run                Only show what attach, detach, reattach or repair\n"
               "                              would change, and what would be in the way\n"
               "     --clean                  When detaching, also remove the units' state, cache,\n"
               "                              logs, runtime directories and fd store\n"
               "     --manifest=FILE          Attach, detach or reattach the service a .portable\n"
               "                              manifest describes (may be repeated)\n"
               "     --json=short|pretty|off  Print data as JSON (list, inspect, is-attached,\n"
               "                              attach, detach, reattach, check, repair)\n"
               "     --extension=PATH         Extend the image with an additional extension image\n"
               "                              (may be repeated; later ones on top)\n"
               "     --image-policy=POLICY    Refuse raw images this image policy does not allow\n"
               "                              (attach, reattach, inspect, check)\n"
               "\n"
               "See the portablectl(1) man page for details.\n",
               program_invocation_short_name);
        return 0;
}

static int verb_help(int argc, char *argv[]) {
        return help();
}

static int dump_profiles(void) {
        _cleanup_bus_ sd_bus *bus = NULL;
        _cleanup_bus_error_ sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_strv_free_ char **profiles = NULL;
        int r;

        r = portable_bus_connect(&bus);
        if (r < 0)
                return r;

        r = sd_bus_get_property_strv(bus, PORTABLE_BUS_NAME, PORTABLE_BUS_PATH, PORTABLE_BUS_MANAGER_INTERFACE,
                                     "Profiles", &error, &profiles);
        if (r < 0)
                return log_error_errno(r, "Failed to acquire list of profiles: %s", bus_error_message(&error, r));

        if (arg_json != JSON_FORMAT_OFF) {
                struct json_object *array = json_object_new_array();

                STRV_FOREACH(p, profiles)
                        if (array)
                                json_object_array_add(array, json_object_new_string(*p));
                return json_print_and_put(array);
        }

        if (arg_legend && !arg_quiet)
                log_info("Available unit profiles:");

        STRV_FOREACH(p, profiles)
                puts(*p);

        return 0;
}

static int parse_copy_mode(const char *s) {
        PortableCopyMode m;

        if (streq(s, "help")) {
                for (PortableCopyMode i = 0; i < _PORTABLE_COPY_MODE_MAX; i++)
                        puts(portable_copy_mode_to_string(i));
                return 0;
        }

        m = isempty(s) ? _PORTABLE_COPY_MODE_INVALID : portable_copy_mode_from_string(s);
        if (m < 0)
                return log_error_errno(-EINVAL, "Failed to parse --copy= argument: %s", s);

        /* Auto is the empty string on the wire. */
        arg_copy_mode = m == PORTABLE_COPY_AUTO ? "" : portable_copy_mode_to_string(m);
        return 1;
}

static int parse_json(const char *s) {
        if (streq(s, "help")) {
                puts("short\npretty\noff");
                return 0;
        }
        if (streq(s, "short"))
                arg_json = JSON_FORMAT_SHORT;
        else if (streq(s, "pretty"))
                arg_json = JSON_FORMAT_PRETTY;
        else if (streq(s, "off"))
                arg_json = JSON_FORMAT_OFF;
        else
                return log_error_errno(-EINVAL, "Failed to parse --json= argument: %s", s);
        return 1;
}

/* Returns > 0 to go on with a verb, 0 to exit successfully (help, version, lists), < 0 on error. */
static int parse_argv(int argc, char *argv[]) {
        enum {
                ARG_VERSION = 0x100,
                ARG_NO_PAGER,
                ARG_NO_LEGEND,
                ARG_NO_ASK_PASSWORD,
                ARG_COPY,
                ARG_RUNTIME,
                ARG_NO_RELOAD,
                ARG_CAT,
                ARG_ENABLE,
                ARG_NOW,
                ARG_NO_BLOCK,
                ARG_FORCE,
                ARG_JSON,
                ARG_EXTENSION,
                ARG_DRY_RUN,
                ARG_ROLLBACK,
                ARG_TIMEOUT,
                ARG_IMAGE_POLICY,
                ARG_CLEAN,
                ARG_MANIFEST,
        };
        static const struct option options[] = {
                { "help",            no_argument,       NULL, 'h'                 },
                { "version",         no_argument,       NULL, ARG_VERSION         },
                { "no-pager",        no_argument,       NULL, ARG_NO_PAGER        },
                { "no-legend",       no_argument,       NULL, ARG_NO_LEGEND       },
                { "no-ask-password", no_argument,       NULL, ARG_NO_ASK_PASSWORD },
                { "quiet",           no_argument,       NULL, 'q'                 },
                { "profile",         required_argument, NULL, 'p'                 },
                { "copy",            required_argument, NULL, ARG_COPY            },
                { "runtime",         no_argument,       NULL, ARG_RUNTIME         },
                { "no-reload",       no_argument,       NULL, ARG_NO_RELOAD       },
                { "cat",             no_argument,       NULL, ARG_CAT             },
                { "enable",          no_argument,       NULL, ARG_ENABLE          },
                { "now",             no_argument,       NULL, ARG_NOW             },
                { "no-block",        no_argument,       NULL, ARG_NO_BLOCK        },
                { "force",           no_argument,       NULL, ARG_FORCE           },
                { "json",            required_argument, NULL, ARG_JSON            },
                { "extension",       required_argument, NULL, ARG_EXTENSION       },
                { "dry-run",         no_argument,       NULL, ARG_DRY_RUN         },
                { "rollback",        no_argument,       NULL, ARG_ROLLBACK        },
                { "timeout",         required_argument, NULL, ARG_TIMEOUT         },
                { "image-policy",    required_argument, NULL, ARG_IMAGE_POLICY    },
                { "clean",           no_argument,       NULL, ARG_CLEAN           },
                { "manifest",        required_argument, NULL, ARG_MANIFEST        },
                { "host",            required_argument, NULL, 'H'                 },
                { "machine",         required_argument, NULL, 'M'                 },
                {}
        };
        bool list_profiles = false;
        int c, r;

        while ((c = getopt_long(argc, argv, "hH:M:qp:", options, NULL)) >= 0)
                switch (c) {
                case 'h':
                        return help();
                case ARG_VERSION:
                        printf("portablectl %s\n", PROJECT_VERSION);
                        return 0;
                case ARG_NO_PAGER:
                        /* There is no pager to turn off. */
                        break;
                case ARG_NO_LEGEND:
                        arg_legend = false;
                        break;
                case ARG_NO_ASK_PASSWORD:
                        arg_ask_password = false;
                        break;
                case 'q':
                        arg_quiet = true;
                        break;
                case 'p':
                        if (streq(optarg, "help")) {
                                list_profiles = true;
                                break;
                        }
                        arg_profile_set = true;
                        if (strchr(optarg, '/')) {
                                /* A profile of this machine, read by the daemon: made absolute here. */
                                free(arg_profile_path);
                                arg_profile_path = realpath(optarg, NULL);
                                if (!arg_profile_path)
                                        return log_error_errno(negative_errno(), "Cannot use profile '%s': %m", optarg);
                                arg_profile = arg_profile_path;
                                break;
                        }
                        if (!filename_is_valid(optarg))
                                return log_error_errno(-EINVAL, "Unit profile name not valid: %s", optarg);
                        arg_profile = optarg;
                        break;
                case ARG_COPY:
                        r = parse_copy_mode(optarg);
                        if (r <= 0)
                                return r;
                        arg_copy_mode_set = true;
                        break;
                case ARG_RUNTIME:
                        arg_runtime = true;
                        break;
                case ARG_NO_RELOAD:
                        arg_reload = false;
                        break;
                case ARG_CAT:
                        arg_cat = true;
                        break;
                case ARG_ENABLE:
                        arg_enable = true;
                        break;
                case ARG_NOW:
                        arg_now = true;
                        break;
                case ARG_NO_BLOCK:
                        arg_no_block = true;
                        break;
                case ARG_FORCE:
                        arg_force = true;
                        break;
                case ARG_JSON:
                        r = parse_json(optarg);
                        if (r <= 0)
                                return r;
                        break;
                case ARG_DRY_RUN:
                        arg_dry_run = true;
                        break;
                case ARG_ROLLBACK:
                        arg_rollback = true;
                        break;
                case ARG_TIMEOUT: {
                        char *end;
                        unsigned long long v;

                        errno = 0;
                        v = strtoull(optarg, &end, 10);
                        if (errno != 0 || end == optarg || *end || optarg[0] == '-' || v == 0 || v > UINT64_MAX / 1000000)
                                return log_error_errno(-EINVAL, "Failed to parse --timeout= argument: %s", optarg);
                        arg_timeout_usec = v * 1000000;
                        break;
                }
                case ARG_EXTENSION:
                        if (strv_extend(&arg_extensions, optarg) < 0)
                                return log_oom();
                        break;
                case ARG_IMAGE_POLICY: {
                        _cleanup_(image_policy_freep) ImagePolicy *p = NULL;
                        _cleanup_bus_error_ sd_bus_error error = SD_BUS_ERROR_NULL;

                        /* Said here rather than by the daemon: the same parser, a clearer place. */
                        r = image_policy_from_string(optarg, &p, &error);
                        if (r < 0)
                                return log_error_errno(r, "Failed to parse --image-policy= argument: %s",
                                                       bus_error_message(&error, r));
                        arg_image_policy = optarg;
                        break;
                }
                case ARG_CLEAN:
                        arg_clean = true;
                        break;
                case ARG_MANIFEST:
                        if (strv_extend(&arg_manifests, optarg) < 0)
                                return log_oom();
                        break;
                case 'H':
                        arg_host = optarg;
                        arg_machine = NULL;
                        arg_transport_remote = true;
                        break;
                case 'M':
                        arg_machine = optarg;
                        arg_host = NULL;
                        arg_transport_remote = true;
                        break;
                case '?':
                        /* getopt_long() has already said what was wrong. */
                        return -EINVAL;
                default:
                        return log_error_errno(-EINVAL, "Unhandled option '%c'.", c);
                }

        if (list_profiles) {
                r = dump_profiles();
                return r < 0 ? r : 0;
        }

        return 1;
}

static const Verb verbs[] = {
        { "help",        1,        VERB_ANY, false, verb_help        },
        { "list",        1,        1,        true,  verb_list        },
        /* One argument less with --manifest=: batch.h says when there is no image at all. */
        { "attach",      1,        VERB_ANY, false, verb_attach      },
        { "detach",      1,        VERB_ANY, false, verb_detach      },
        { "reattach",    1,        VERB_ANY, false, verb_reattach    },
        { "check",       2,        VERB_ANY, false, verb_check       },
        { "inspect",     2,        VERB_ANY, false, verb_inspect     },
        { "is-attached", 2,        2,        false, verb_is_attached },
        { "read-only",   2,        3,        false, verb_read_only   },
        { "remove",      2,        VERB_ANY, false, verb_remove      },
        { "set-limit",   2,        3,        false, verb_set_limit   },
        { "repair",      1,        1,        false, verb_repair      },
};

static int dispatch_verb(int argc, char *argv[]) {
        const Verb *verb = NULL;
        unsigned n = (unsigned) argc;

        if (argc == 0) {
                static char *default_argv[] = { NULL, NULL };

                for (size_t i = 0; i < ELEMENTSOF(verbs); i++)
                        if (verbs[i].is_default) {
                                default_argv[0] = (char *) verbs[i].name;
                                return verbs[i].dispatch(1, default_argv);
                        }
                return log_error_errno(-EINVAL, "No verb given.");
        }

        for (size_t i = 0; i < ELEMENTSOF(verbs); i++)
                if (streq(argv[0], verbs[i].name)) {
                        verb = &verbs[i];
                        break;
                }
        if (!verb)
                return log_error_errno(-EINVAL, "Unknown command verb '%s'. See '%s --help'.", argv[0],
                                       program_invocation_short_name);

        if (verb->min_args != VERB_ANY && n < verb->min_args)
                return log_error_errno(-EINVAL, "Too few arguments for '%s'.", verb->name);
        if (verb->max_args != VERB_ANY && n > verb->max_args)
                return log_error_errno(-EINVAL, "Too many arguments for '%s'.", verb->name);

        return verb->dispatch(argc, argv);
}

int main(int argc, char *argv[]) {
        int r;

        /* Only what the output depends on: the character set (UTF-8 glyphs), the time stamps of
         * list and inspect, and the C library's messages. Loading every category of a locale
         * costs a tenth of the whole start-up, which attach and detach pay once each. */
        (void) setlocale(LC_CTYPE, "");
        (void) setlocale(LC_TIME, "");
        (void) setlocale(LC_MESSAGES, "");
        log_parse_environment();

        r = parse_argv(argc, argv);
        if (r > 0)
                r = dispatch_verb(argc - optind, argv + optind);
        polkit_agent_close();
        arg_extensions = strv_free(arg_extensions);
        arg_manifests = strv_free(arg_manifests);
        arg_profile_path = mfree(arg_profile_path);
        if (r < 0)
                return EXIT_FAILURE;
        return r; /* is-attached: 1 when detached */
}
