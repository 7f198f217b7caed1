/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "manager.h"

/* Children the daemon is done with but that may still be on their way out (an image reader whose
 * answer is complete, image_reader_take_child()): reaped from the event loop when their pidfd says
 * they are gone, instead of waiting for them in the middle of a call. */

/* Takes pidfd (the child has been killed or is exiting). If the loop cannot watch it, the child is
 * reaped here and now. */
void manager_reap_later(Manager *m, int pidfd);

/* Reaps every child still waited for, waiting for each: for the daemon's exit. */
void manager_reap_all(Manager *m);
