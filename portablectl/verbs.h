/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Every verb gets the verb itself in argv[0] and returns a negative errno on failure (already
 * logged), 0 on success; only is-attached returns a positive value (1 = detached), which becomes
 * the exit status. */

int verb_list(int argc, char *argv[]);
int verb_attach(int argc, char *argv[]);
int verb_reattach(int argc, char *argv[]);
int verb_detach(int argc, char *argv[]);
int verb_inspect(int argc, char *argv[]);
int verb_is_attached(int argc, char *argv[]);
int verb_read_only(int argc, char *argv[]);
int verb_remove(int argc, char *argv[]);
int verb_set_limit(int argc, char *argv[]);
int verb_repair(int argc, char *argv[]);
int verb_check(int argc, char *argv[]);
