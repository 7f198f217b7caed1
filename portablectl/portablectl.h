/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stdint.h>

/* The command line of portablectl, parsed once in main.c and read by the verbs. */

typedef enum JsonFormat {
        JSON_FORMAT_OFF,
        JSON_FORMAT_SHORT,
        JSON_FORMAT_PRETTY,
} JsonFormat;

extern bool arg_quiet;
extern bool arg_legend;
extern bool arg_ask_password;
extern bool arg_runtime;
extern bool arg_reload;
extern bool arg_cat;
extern bool arg_enable;
extern bool arg_now;
extern bool arg_no_block;
extern bool arg_force;
extern bool arg_dry_run;
extern bool arg_rollback;
/* detach --clean: the units' state, cache, logs and fd store go too. */
extern bool arg_clean;
extern uint64_t arg_timeout_usec;
/* A profile name, or (ours only) an absolute path to a profile. */
extern const char *arg_profile;
/* Whether --profile= / --copy= were given: they then override what a manifest says. */
extern bool arg_profile_set;
extern bool arg_copy_mode_set;
/* --manifest=, in order: each adds an image with its settings (batch.h). */
extern char **arg_manifests;
/* -H/-M: the bus is another machine's; image paths mean nothing there. */
extern bool arg_transport_remote;
extern const char *arg_host;
extern const char *arg_machine;
/* What goes on the wire as "s copy_mode": "" for auto. */
extern const char *arg_copy_mode;
extern JsonFormat arg_json;
/* --image-policy=: NULL unless given; then our *WithOptions methods carry it (portabled(8)). */
extern const char *arg_image_policy;
/* --extension=, in the order given, as the user wrote them (image_arg_resolve() them). */
extern char **arg_extensions;
