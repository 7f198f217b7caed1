/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stddef.h>

/* What a unit file (or a profile drop-in) says about where its commands and its data live, read
 * with unit-file.h exactly as systemd reads the [Service] and [Socket] sections: the Exec*=
 * command lines, the directories systemd makes for it (StateDirectory= and friends),
 * ReadWritePaths=, PIDFile=, WorkingDirectory=, PrivateTmp=, DynamicUser= and ProtectSystem=.
 * Lists accumulate and an empty assignment resets them, as in systemd. For portablectl check
 * (image-check.h). */

typedef struct UnitSummary {
        char **commands;         /* "Key\tvalue" of every Exec*= line, in order */
        char **directories;      /* "State\tX", "Logs\tX", "Cache\tX", "Runtime\tX", "Configuration\tX" */
        char **read_write_paths;
        char **other_paths;      /* PIDFile=, WorkingDirectory= */
        int private_tmp;         /* -1: not set */
        int dynamic_user;        /* -1: not set */
        char *protect_system;    /* NULL: not set */
} UnitSummary;

/* Parses size bytes of data. The errors of unit_file_parse(). */
int unit_summary_parse(const char *data, size_t size, UnitSummary *ret);
void unit_summary_done(UnitSummary *u);

/* One command of an Exec*= line. */
typedef struct UnitCommand {
        char *key;           /* "ExecStart" */
        char *path;          /* the executable as written, its prefixes ("-@:+!|") removed */
        bool ignore_failure; /* '-' */
        bool unsandboxed;    /* '+': runs on the host, outside the image */
        char **args;         /* the other words, unquoted */
} UnitCommand;

/* The commands of one "Key\tvalue" entry of UnitSummary.commands: systemd separates them by a
 * lone ";". */
int unit_commands_parse(const char *entry, UnitCommand **ret, size_t *ret_n);
void unit_commands_free(UnitCommand *c, size_t n);

/* Whether the executable can be looked for before the command runs: not '+' (the host's), no
 * specifiers or variables. */
bool unit_command_is_checkable(const UnitCommand *c);

/* Where the executable may be: the path itself, or for a bare name each directory of
 * unit_command_search_path; none for a relative path with a directory (systemd refuses it). */
int unit_command_candidates(const UnitCommand *c, char ***ret);

/* Where systemd looks for a command given without a path. */
extern const char *const unit_command_search_path[];
