/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdlib.h>

#include "child-reaper.h"
#include "fd-util.h"
#include "pidfd-util.h"

struct ExitingChild {
        Manager *manager;
        sd_event_source *source; /* owns the pidfd */
        ExitingChild *prev, *next;
};

/* 1 once reaped (or found reaped already), 0 while it still runs (only without wait). */
static int reap(int pidfd, bool wait) {
        return pidfd_reap(pidfd, wait, NULL) != 0;
}

static void exiting_child_free(ExitingChild *c) {
        Manager *m = c->manager;

        if (c->prev)
                c->prev->next = c->next;
        else
                m->exiting_children = c->next;
        if (c->next)
                c->next->prev = c->prev;
        sd_event_source_disable_unref(c->source);
        free(c);
}

static int on_child_exit(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        if (reap(fd, /* wait= */ false) > 0)
                exiting_child_free(userdata);
        return 0;
}

void manager_reap_later(Manager *m, int pidfd) {
        ExitingChild *c;
        int r;

        if (pidfd < 0)
                return;
        if (reap(pidfd, /* wait= */ false) > 0) {
                safe_close(pidfd);
                return;
        }

        c = calloc(1, sizeof(ExitingChild));
        if (!c)
                goto reap_now;
        r = sd_event_add_io(m->event, &c->source, pidfd, EPOLLIN, on_child_exit, c);
        if (r < 0 || sd_event_source_set_io_fd_own(c->source, true) < 0) {
                c->source = sd_event_source_disable_unref(c->source);
                free(c);
                goto reap_now;
        }
        c->manager = m;
        c->next = m->exiting_children;
        if (c->next)
                c->next->prev = c;
        m->exiting_children = c;
        return;

reap_now:
        (void) reap(pidfd, /* wait= */ true);
        safe_close(pidfd);
}

void manager_reap_all(Manager *m) {
        while (m->exiting_children) {
                ExitingChild *c = m->exiting_children;

                (void) reap(sd_event_source_get_io_fd(c->source), /* wait= */ true);
                exiting_child_free(c);
        }
}
