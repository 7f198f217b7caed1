/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <criterion/criterion.h>
#include <criterion/new/assert.h>
#include <sys/socket.h>
#include <unistd.h>

#include "sender-creds.h"

/* portabled/sender-creds.c: the credentials of a call's sender are asked for once per call and
 * kept for that call only; privilege is granted on what the bus says, never on what was read from
 * /proc. */

static struct {
        sd_bus *server, *client;
} t;

static void setup(void) {
        int fds[2];
        sd_id128_t id;

        cr_assert(eq(int, socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds), 0));
        cr_assert(eq(int, sd_id128_randomize(&id), 0));
        cr_assert(eq(int, sd_bus_new(&t.server), 0));
        cr_assert(eq(int, sd_bus_set_fd(t.server, fds[0], fds[0]), 0));
        cr_assert(eq(int, sd_bus_set_server(t.server, 1, id), 0));
        cr_assert(eq(int, sd_bus_new(&t.client), 0));
        cr_assert(eq(int, sd_bus_set_fd(t.client, fds[1], fds[1]), 0));
        cr_assert(eq(int, sd_bus_start(t.server), 0));
        cr_assert(eq(int, sd_bus_start(t.client), 0));
}

static void teardown(void) {
        t.client = sd_bus_close_unref(t.client);
        t.server = sd_bus_close_unref(t.server);
}

TestSuite(sender_creds, .init = setup, .fini = teardown, .timeout = 30);

/* A call from the client, as the server receives it. */
static sd_bus_message *next_call(void) {
        sd_bus_message *m = NULL;

        cr_assert(ge(int, sd_bus_call_method_async(t.client, NULL, NULL, "/test", "test.Iface", "Do", NULL, NULL, NULL), 0));
        for (unsigned i = 0; i < 1000 && !m; i++) {
                cr_assert(ge(int, sd_bus_process(t.client, NULL), 0));
                cr_assert(ge(int, sd_bus_process(t.server, &m), 0));
                if (m && !sd_bus_message_is_method_call(m, "test.Iface", "Do"))
                        m = sd_bus_message_unref(m);
                if (!m)
                        cr_assert(ge(int, sd_bus_wait(t.server, 10 * 1000), 0));
        }
        cr_assert(not(zero(ptr, m)), "the call never arrived");
        return m;
}

Test(sender_creds, asked_once_per_call_and_kept_for_that_call_only) {
        sd_bus_message *first = next_call(), *second = next_call();
        sd_bus_creds *a = NULL, *b = NULL, *c = NULL;
        SenderCreds s = {};
        uid_t uid;

        cr_assert(eq(int, sender_creds_query(&s, first, &a), 0));
        cr_assert(eq(int, sender_creds_query(&s, first, &b), 0));
        cr_assert(eq(ptr, a, b), "asked twice for the same call");
        cr_assert(eq(int, sd_bus_creds_get_euid(a, &uid), 0));
        cr_assert(eq(u32, (uint32_t) uid, (uint32_t) geteuid()));
        /* Our own user on the other end, as the socket says. */
        cr_assert(eq(int, sender_creds_is_privileged(a), 1));

        cr_assert(eq(int, sender_creds_query(&s, second, &c), 0));
        cr_assert(eq(ptr, s.message, second), "the answer for another call was kept");

        sender_creds_done(&s);
        cr_assert(zero(ptr, s.message));
        cr_assert(zero(ptr, s.creds));
        sd_bus_message_unref(first);
        sd_bus_message_unref(second);
}

/* Credentials read from /proc may describe another process by the time they are read. */
Test(sender_creds, credentials_read_from_proc_are_never_privileged) {
        sd_bus_creds *creds = NULL;

        cr_assert(eq(int, sd_bus_creds_new_from_pid(&creds, 0, SD_BUS_CREDS_UID | SD_BUS_CREDS_EUID |
                                                                   SD_BUS_CREDS_EFFECTIVE_CAPS),
                     0));
        cr_assert(not(zero(u64, sd_bus_creds_get_augmented_mask(creds) & SD_BUS_CREDS_EUID)));
        /* Root with every capability, as /proc says, which is no proof. */
        cr_assert(eq(int, sender_creds_is_privileged(creds), 0));
        sd_bus_creds_unref(creds);
}
