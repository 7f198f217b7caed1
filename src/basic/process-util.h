/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <sys/types.h>

/* First thing in a child just forked from parent: it is killed when the parent dies, even if the
 * parent died before that could be arranged (the child is then a reaper's, and ends at once); and
 * it takes the name comm (at most 15 characters; none if NULL), which ps and the tests see.
 * Returns 0, or -ESRCH if the parent is gone already: the child should _exit() then. */
int child_tie_to_parent(pid_t parent, const char *comm);
