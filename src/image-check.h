/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stddef.h>

/* What portablectl check says about an image before it is attached: the things that make attach
 * refuse it, and the things that make its services fail at start with no better hint than
 * "No such file or directory" or status=226/NAMESPACE (upstream issues 38692, 32736, 13930).
 * Pure: the caller gathers what the daemon's reader found (GetImageMetadataWithOptions with the
 * "Profile" and "CheckPaths" options, portabled(8)); nothing here reads the image or the host.
 *
 * Each finding has a severity and names the check it comes from: "os-release", "units",
 * "confinement", "profile", "mounts", "exec", "writable", "verity", "reader". */

typedef enum CheckSeverity {
        CHECK_OK,
        CHECK_INFO,
        CHECK_WARNING,
        CHECK_ERROR,
        _CHECK_SEVERITY_MAX,
        _CHECK_SEVERITY_INVALID = -22,
} CheckSeverity;

const char *check_severity_to_string(CheckSeverity s);

typedef struct CheckFinding {
        CheckSeverity severity;
        char *check;
        char *message;
} CheckFinding;

typedef struct CheckFindings {
        CheckFinding *items;
        size_t n;
} CheckFindings;

void check_findings_done(CheckFindings *f);

/* A unit file of the image. */
typedef struct CheckUnit {
        const char *name;
        const char *data; /* size bytes, need not be NUL-terminated */
        size_t size;
} CheckUnit;

/* A data partition of a raw image, as the details' "Partitions" list it. */
typedef struct CheckPartition {
        const char *designator, *fstype, *protection, *signature;
        bool verified;
} CheckPartition;

typedef struct ImageCheckInput {
        const char *image;          /* its path, for messages */
        const char *image_type;     /* "directory", "subvolume", "raw", "block" */
        bool read_only;             /* a read-only directory (raw images always are) */
        char **os_release_pairs;    /* the image's os-release */
        const CheckUnit *units;     /* every portable unit of the image, sorted by name */
        size_t n_units;
        char **matches;             /* the unit prefixes asked for; empty: all units */
        const char *profile;        /* name or path; NULL or empty: none */
        const char *profile_error;  /* why the daemon refused the profile, or NULL */
        char **requirements;        /* (path, setting) pairs: what the profile mounts over */
        const char *profile_service;/* the profile's drop-in for services, NUL-terminated, or NULL */
        char **missing;             /* the check paths the image lacks, as asked */
        char **warnings;            /* what the reader skipped */
        const CheckPartition *partitions;
        size_t n_partitions;
} ImageCheckInput;

/* The mount points the service manager needs in the image of a service with a root image or
 * directory (MountAPIVFS=, and PrivateTmp=): to be asked about with the profile's. */
extern const char *const image_check_api_mount_points[];

/* The paths to ask the reader about for the commands (Exec*=) of the units that match: for an
 * absolute command P both "P" (present?) and IMAGE_CHECK_EXECUTABLE "P" (executable?); for a bare
 * command name the same for each directory systemd searches. Commands with specifiers or
 * variables cannot be checked before they run and are left out. */
int image_check_exec_paths(const ImageCheckInput *in, char ***ret);

/* Every finding, in the order of the checks listed above. */
int image_check_run(const ImageCheckInput *in, CheckFindings *ret);

/* Whether any finding is an error. */
bool check_findings_have_errors(const CheckFindings *f);
