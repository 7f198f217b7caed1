/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <systemd/sd-bus.h>

/* The images one attach, detach or reattach acts on, each with its own settings, so that several
 * are done with one reload of the service manager (portablectl(1), "Several images"):
 *
 *   IMAGE [PREFIX...] [IMAGE [PREFIX...]...]
 *
 * The first argument is an image. After it, an argument with a '/' (a path, "./foo.raw" for one
 * in the working directory) starts the next image, and so does a glob pattern ('*', '?', '['),
 * which stands for every image in the search path whose name matches (ListImages): for attach
 * the detached ones, for detach and reattach the attached ones. Any other argument is a unit
 * prefix of the image before it, as systemd's portablectl has it. Each --manifest= file adds one
 * more image with the settings it gives (portable-manifest.h). */

typedef enum BatchVerb {
        BATCH_ATTACH,
        BATCH_DETACH,
        BATCH_REATTACH,
} BatchVerb;

typedef struct ImageJob {
        char *origin;       /* the manifest it came from; NULL: the command line */
        char *image_arg;    /* as written: the default prefix is derived from it */
        char *image;        /* what the daemon gets: a name, or the resolved path */
        char **extensions;  /* resolved */
        char **prefixes;    /* as given; NULL: the default */
        char **matches;     /* what the daemon gets: prefixes, derived ones, or empty for all (detach) */
        char *profile;      /* a name, or an absolute path */
        char *copy_mode;    /* wire form: "" for auto */
        char *image_policy; /* NULL: none */
        bool runtime, enable, now, force;
} ImageJob;

typedef struct Batch {
        ImageJob *jobs;
        size_t n;
} Batch;

/* Builds the batch from the positional arguments after the verb (args, n of them) and the
 * --manifest= files, with the command line's options applied (portablectl.h). Paths are resolved
 * as image-arg.h says (detach allows missing ones); globs are expanded over bus. Fails with a
 * message when there is no image at all, or a glob matches none. */
int batch_build(sd_bus *bus, BatchVerb verb, char **args, size_t n, Batch *ret);

void batch_done(Batch *b);

/* The unit name of an attached file: the basename of a unit file path that is not inside a
 * ".d" directory and has a type portablectl acts on (systemd-jobs.h), else NULL. */
const char *attached_unit_name(const char *path);
