/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* portabled/bus-polkit.c over a private connection (a socketpair) in one event loop: the "server"
 * end serves a method that asks bus_verify_polkit_async(); the "client" end calls it and also plays
 * polkit, answering CheckAuthorization as each test says, at once or when the test decides. The
 * privilege check is replaced, since on a socketpair both ends are us. */
#include <criterion/criterion.h>
#include <criterion/new/assert.h>
#include <sys/socket.h>
#include <systemd/sd-event.h>
#include <systemd/sd-id128.h>

#include "bus-polkit.h"
#include "macro.h"
#include "strv.h"
#include "unit-helpers.h"

#define TEST_PATH "/test"
#define TEST_INTERFACE "org.example.Test"
#define TEST_ACTION "org.example.do"
#define CLIENT_NAME ":1.42"

typedef enum PolkitMode {
        POLKIT_YES,
        POLKIT_NO,
        POLKIT_CHALLENGE,
        POLKIT_FAIL,    /* a polkit error */
        POLKIT_ABSENT,  /* the bus says there is no such service */
        POLKIT_HOLD,    /* the test answers later */
} PolkitMode;

/* One call's outcome, as the client saw it. */
typedef struct CallResult {
        bool done;
        char *error_name, *error_message, *value;
} CallResult;

static struct {
        sd_event *event;
        sd_bus *server, *client;
        sd_bus_slot *server_vtable;
        PolkitRegistry *registry;
        bool privileged;
        unsigned handler_runs;
        char **handler_args; /* the argument each run of the handler read */

        /* the fake polkit */
        PolkitMode mode;
        unsigned checks;
        char *subject_kind, *subject_name, *action, *image;
        uint32_t flags;
        sd_bus_message *held;
        bool holding;
} t;

static int privilege_check(sd_bus_message *msg, void *userdata) {
        return t.privileged;
}

static int method_do(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        const char *arg;
        int r;

        t.handler_runs++;
        /* Every run reads the argument from the start: the second one only can if the message was
         * rewound. */
        r = sd_bus_message_read(msg, "s", &arg);
        if (r < 0)
                return r;
        cr_assert(eq(int, strv_extend(&t.handler_args, arg), 0));

        const char *details[] = { "image", arg, NULL };
        r = bus_verify_polkit_async(msg, TEST_ACTION, details, t.registry, error);
        if (r <= 0)
                return r < 0 ? r : 1;
        return sd_bus_reply_method_return(msg, "s", arg);
}

static int method_ping(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        return sd_bus_reply_method_return(msg, "u", (uint32_t) polkit_registry_size(t.registry));
}

static const sd_bus_vtable server_vtable[] = {
        SD_BUS_VTABLE_START(0),
        SD_BUS_METHOD("Do", "s", "s", method_do, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD("Ping", "", "u", method_ping, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_VTABLE_END
};

static int polkit_reply(sd_bus_message *call, PolkitMode mode) {
        switch (mode) {
        case POLKIT_YES:
        case POLKIT_NO:
        case POLKIT_CHALLENGE:
                return sd_bus_reply_method_return(call, "(bba{ss})", mode == POLKIT_YES, mode == POLKIT_CHALLENGE, 0);
        case POLKIT_FAIL:
                return sd_bus_reply_method_errorf(call, "org.freedesktop.PolicyKit1.Error.Failed", "It broke.");
        case POLKIT_ABSENT:
                return sd_bus_reply_method_errorf(call, SD_BUS_ERROR_SERVICE_UNKNOWN, "No polkit here.");
        default:
                cr_fail("cannot answer with mode %d", mode);
                return -EINVAL;
        }
}

static int method_check_authorization(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        const char *kind, *key, *name = NULL, *action, *cancel, *value;

        t.checks++;
        cr_assert(eq(int, sd_bus_message_enter_container(msg, 'r', "sa{sv}"), 1));
        cr_assert(eq(int, sd_bus_message_read(msg, "s", &kind), 1));
        cr_assert(eq(int, sd_bus_message_enter_container(msg, 'a', "{sv}"), 1));
        while (sd_bus_message_enter_container(msg, 'e', "sv") > 0) {
                cr_assert(eq(int, sd_bus_message_read(msg, "s", &key), 1));
                if (streq(key, "name"))
                        cr_assert(eq(int, sd_bus_message_read(msg, "v", "s", &name), 1));
                else
                        cr_assert(eq(int, sd_bus_message_skip(msg, "v"), 1));
                cr_assert(eq(int, sd_bus_message_exit_container(msg), 1));
        }
        cr_assert(eq(int, sd_bus_message_exit_container(msg), 1));
        cr_assert(eq(int, sd_bus_message_exit_container(msg), 1));
        cr_assert(eq(int, sd_bus_message_read(msg, "s", &action), 1));
        cr_assert(eq(int, sd_bus_message_enter_container(msg, 'a', "{ss}"), 1));
        while (sd_bus_message_read(msg, "{ss}", &key, &value) > 0)
                if (streq(key, "image")) {
                        free(t.image);
                        t.image = strdup(value);
                }
        cr_assert(eq(int, sd_bus_message_exit_container(msg), 1));
        cr_assert(eq(int, sd_bus_message_read(msg, "us", &t.flags, &cancel), 1));

        /* What the last query asked. */
        free(t.subject_kind);
        free(t.subject_name);
        free(t.action);
        t.subject_kind = strdup(kind);
        t.subject_name = name ? strdup(name) : NULL;
        t.action = strdup(action);

        if (t.mode == POLKIT_HOLD) {
                t.held = sd_bus_message_ref(msg);
                t.holding = true;
                return 1;
        }
        return polkit_reply(msg, t.mode);
}

static const sd_bus_vtable polkit_vtable[] = {
        SD_BUS_VTABLE_START(0),
        SD_BUS_METHOD("CheckAuthorization", "(sa{sv})sa{ss}us", "(bba{ss})", method_check_authorization,
                      SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_VTABLE_END
};

static void setup(void) {
        int fds[2];
        sd_id128_t id;

        memset(&t, 0, sizeof(t));
        cr_assert(eq(int, sd_event_new(&t.event), 0));
        cr_assert(eq(int, socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, fds), 0));
        cr_assert(eq(int, sd_id128_randomize(&id), 0));

        cr_assert(eq(int, sd_bus_new(&t.server), 0));
        cr_assert(eq(int, sd_bus_set_fd(t.server, fds[0], fds[0]), 0));
        cr_assert(eq(int, sd_bus_set_server(t.server, 1, id), 0));
        cr_assert(ge(int, sd_bus_add_object_vtable(t.server, &t.server_vtable, TEST_PATH, TEST_INTERFACE,
                                                   server_vtable, NULL), 0));
        cr_assert(eq(int, sd_bus_start(t.server), 0));
        cr_assert(eq(int, sd_bus_attach_event(t.server, t.event, SD_EVENT_PRIORITY_NORMAL), 0));

        cr_assert(eq(int, sd_bus_new(&t.client), 0));
        cr_assert(eq(int, sd_bus_set_fd(t.client, fds[1], fds[1]), 0));
        /* What a bus would stamp on the caller's messages. */
        cr_assert(ge(int, sd_bus_set_sender(t.client, CLIENT_NAME), 0));
        cr_assert(ge(int, sd_bus_add_object_vtable(t.client, NULL, POLKIT_BUS_PATH, POLKIT_BUS_INTERFACE,
                                                   polkit_vtable, NULL), 0));
        cr_assert(eq(int, sd_bus_start(t.client), 0));
        cr_assert(eq(int, sd_bus_attach_event(t.client, t.event, SD_EVENT_PRIORITY_NORMAL), 0));

        cr_assert(eq(int, polkit_registry_new(&t.registry), 0));
        polkit_registry_set_privilege_check(t.registry, privilege_check, NULL);
}

static void teardown(void) {
        t.registry = polkit_registry_free(t.registry);
        sd_bus_message_unref(t.held);
        sd_bus_slot_unref(t.server_vtable);
        sd_bus_flush_close_unref(t.client);
        sd_bus_flush_close_unref(t.server);
        sd_event_unref(t.event);
        strv_free(t.handler_args);
        free(t.subject_kind);
        free(t.subject_name);
        free(t.action);
        free(t.image);
}

TestSuite(bus_polkit, .init = setup, .fini = teardown, .timeout = 30);

static int on_reply(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error) {
        CallResult *result = userdata;
        const char *s;

        result->done = true;
        if (sd_bus_message_is_method_error(reply, NULL)) {
                const sd_bus_error *e = sd_bus_message_get_error(reply);

                result->error_name = strdup(e->name);
                result->error_message = strdup(strempty(e->message));
        } else if (sd_bus_message_read(reply, "s", &s) > 0)
                result->value = strdup(s);
        return 0;
}

static void result_done(CallResult *result) {
        free(result->error_name);
        free(result->error_message);
        free(result->value);
}

/* Runs the loop until *flag is set (or 5 s pass: a failure). */
static void run_until(const bool *flag) {
        bool done = *flag;

        for (unsigned i = 0; i < 500 && !done; i++) {
                cr_assert(ge(int, sd_event_run(t.event, 10 * 1000), 0));
                done = *flag;
        }
        cr_assert(done, "timed out");
}

/* Runs whatever is ready, without waiting for anything in particular. */
static void run_idle(void) {
        for (unsigned i = 0; i < 50; i++)
                cr_assert(ge(int, sd_event_run(t.event, 1000), 0));
}

static void call_do(const char *arg, CallResult *result) {
        *result = (CallResult) {};
        cr_assert(ge(int, sd_bus_call_method_async(t.client, NULL, NULL, TEST_PATH, TEST_INTERFACE, "Do", on_reply,
                                                   result, "s", arg), 0));
}

static void do_and_wait(const char *arg, CallResult *result) {
        call_do(arg, result);
        run_until(&result->done);
}

Test(bus_polkit, privileged_callers_ask_nobody) {
        CallResult r;

        t.privileged = true;
        t.mode = POLKIT_NO;
        do_and_wait("foo", &r);
        cr_assert(zero(ptr, r.error_name), "%s: %s", r.error_name, r.error_message);
        assert_str(r.value, "foo");
        cr_assert(eq(u32, t.checks, 0));
        cr_assert(eq(u32, t.handler_runs, 1));
        cr_assert(eq(sz, polkit_registry_size(t.registry), 0));
        result_done(&r);
}

Test(bus_polkit, authorized_runs_the_handler_again_with_the_same_arguments) {
        CallResult r;

        t.mode = POLKIT_YES;
        do_and_wait("foo", &r);
        cr_assert(zero(ptr, r.error_name), "%s: %s", r.error_name, r.error_message);
        assert_str(r.value, "foo");

        cr_assert(eq(u32, t.checks, 1));
        assert_str(t.subject_kind, "system-bus-name");
        assert_str(t.subject_name, CLIENT_NAME);
        assert_str(t.action, TEST_ACTION);
        assert_str(t.image, "foo");
        cr_assert(eq(u32, t.flags, 0));

        /* Dispatched twice, reading "foo" both times; the answer is forgotten once used. */
        cr_assert(eq(u32, t.handler_runs, 2));
        cr_assert(eq(sz, strv_length(t.handler_args), 2));
        assert_str(t.handler_args[0], "foo");
        assert_str(t.handler_args[1], "foo");
        cr_assert(eq(sz, polkit_registry_size(t.registry), 0));
        result_done(&r);
}

Test(bus_polkit, interactive_flag_is_passed_on) {
        CallResult r;

        cr_assert(eq(int, sd_bus_set_allow_interactive_authorization(t.client, true), 0));
        t.mode = POLKIT_YES;
        do_and_wait("foo", &r);
        cr_assert(zero(ptr, r.error_name));
        cr_assert(eq(u32, t.flags, 1));
        result_done(&r);
}

Test(bus_polkit, denied_names_action_and_image) {
        CallResult r;

        t.mode = POLKIT_NO;
        do_and_wait("foo", &r);
        assert_str(r.error_name, SD_BUS_ERROR_ACCESS_DENIED);
        assert_str(r.error_message, "Not authorized to perform '" TEST_ACTION "' on image 'foo'.");
        cr_assert(zero(ptr, r.value));
        cr_assert(eq(sz, polkit_registry_size(t.registry), 0));
        result_done(&r);
}

Test(bus_polkit, challenge_is_interactive_authorization_required) {
        CallResult r;

        t.mode = POLKIT_CHALLENGE;
        do_and_wait("foo", &r);
        assert_str(r.error_name, SD_BUS_ERROR_INTERACTIVE_AUTHORIZATION_REQUIRED);
        cr_assert(not(zero(ptr, strstr(r.error_message, "'" TEST_ACTION "' on image 'foo'"))), "%s",
                  r.error_message);
        cr_assert(eq(sz, polkit_registry_size(t.registry), 0));
        result_done(&r);
}

Test(bus_polkit, polkit_error_denies) {
        CallResult r;

        t.mode = POLKIT_FAIL;
        do_and_wait("foo", &r);
        assert_str(r.error_name, SD_BUS_ERROR_ACCESS_DENIED);
        cr_assert(not(zero(ptr, strstr(r.error_message, "org.freedesktop.PolicyKit1.Error.Failed: It broke."))), "%s",
                  r.error_message);
        result_done(&r);
}

Test(bus_polkit, no_polkit_denies) {
        CallResult r;

        t.mode = POLKIT_ABSENT;
        do_and_wait("foo", &r);
        assert_str(r.error_name, SD_BUS_ERROR_ACCESS_DENIED);
        cr_assert(not(zero(ptr, strstr(r.error_message, "polkit is not available"))), "%s", r.error_message);
        cr_assert(eq(sz, polkit_registry_size(t.registry), 0));
        result_done(&r);
}

typedef struct PingResult {
        bool done;
        uint32_t pending;
} PingResult;

static int on_ping(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error) {
        PingResult *result = userdata;

        cr_assert(eq(int, sd_bus_message_read(reply, "u", &result->pending), 1));
        result->done = true;
        return 0;
}

/* Pings the server and returns how many queries it has pending. */
static uint32_t ping(void) {
        PingResult result = {};

        cr_assert(ge(int, sd_bus_call_method_async(t.client, NULL, NULL, TEST_PATH, TEST_INTERFACE, "Ping", on_ping,
                                                   &result, ""), 0));
        run_until(&result.done);
        return result.pending;
}

/* Calls Do(arg) and runs the loop until the fake polkit holds the query. */
static void call_do_held(const char *arg, CallResult *result) {
        t.mode = POLKIT_HOLD;
        call_do(arg, result);
        run_until(&t.holding);
        cr_assert(not(result->done));
        cr_assert(eq(sz, polkit_registry_size(t.registry), 1));
}

static void answer_held(PolkitMode mode) {
        cr_assert(ge(int, polkit_reply(t.held, mode), 0));
        t.held = sd_bus_message_unref(t.held);
        t.holding = false;
}

Test(bus_polkit, serves_others_while_polkit_thinks) {
        CallResult r;

        call_do_held("foo", &r);

        /* The loop goes on: other calls are answered while the query is pending. */
        cr_assert(eq(u32, ping(), 1));
        cr_assert(eq(u32, ping(), 1));
        cr_assert(not(r.done));
        cr_assert(eq(u32, t.handler_runs, 1));

        answer_held(POLKIT_YES);
        run_until(&r.done);
        cr_assert(zero(ptr, r.error_name), "%s: %s", r.error_name, r.error_message);
        assert_str(r.value, "foo");
        cr_assert(eq(u32, t.handler_runs, 2));
        cr_assert(eq(u32, ping(), 0));
        result_done(&r);
}

Test(bus_polkit, answers_go_to_their_own_calls) {
        CallResult a, b;

        call_do_held("a", &a);
        answer_held(POLKIT_NO);
        call_do_held("b", &b);
        answer_held(POLKIT_YES);
        run_until(&a.done);
        run_until(&b.done);
        assert_str(a.error_name, SD_BUS_ERROR_ACCESS_DENIED);
        cr_assert(not(zero(ptr, strstr(a.error_message, "image 'a'"))), "%s", a.error_message);
        cr_assert(zero(ptr, b.error_name), "%s: %s", b.error_name, b.error_message);
        assert_str(b.value, "b");
        cr_assert(eq(sz, polkit_registry_size(t.registry), 0));
        result_done(&a);
        result_done(&b);
}

Test(bus_polkit, answer_is_dropped_when_the_call_does_not_come_back) {
        CallResult r;

        call_do_held("foo", &r);

        /* The object goes away while polkit thinks: sd-bus answers the call itself when it is
         * dispatched again, and the handler never collects the answer. */
        t.server_vtable = sd_bus_slot_unref(t.server_vtable);
        answer_held(POLKIT_YES);
        run_until(&r.done);
        cr_assert(not(zero(ptr, r.error_name)));
        cr_assert(eq(u32, t.handler_runs, 1));
        run_idle();
        cr_assert(eq(sz, polkit_registry_size(t.registry), 0));
        result_done(&r);
}

Test(bus_polkit, freeing_the_registry_cancels_pending_queries) {
        CallResult r;

        call_do_held("foo", &r);
        t.registry = polkit_registry_free(t.registry);

        /* A late answer finds nobody waiting: the call is not dispatched again. */
        answer_held(POLKIT_YES);
        run_idle();
        cr_assert(not(r.done));
        cr_assert(eq(u32, t.handler_runs, 1));
        cr_assert(eq(u32, ping(), 0));
        result_done(&r);
}

/* A daemon on its way out asks polkit nothing more: a caller who would need it is told at once
 * to call again; privileged callers are still served. */
Test(bus_polkit, closed_registry_refuses_at_once) {
        CallResult r, privileged;

        t.mode = POLKIT_YES;
        polkit_registry_close(t.registry);
        do_and_wait("foo", &r);
        assert_str(r.error_name, SD_BUS_ERROR_FAILED);
        cr_assert(not(zero(ptr, strstr(strempty(r.error_message), "call again"))), "%s", r.error_message);
        cr_assert(eq(u32, t.checks, 0), "polkit was asked");
        cr_assert(eq(sz, polkit_registry_size(t.registry), 0));

        t.privileged = true;
        do_and_wait("bar", &privileged);
        cr_assert(zero(ptr, privileged.error_name), "%s: %s", privileged.error_name, privileged.error_message);
        assert_str(privileged.value, "bar");
        result_done(&r);
        result_done(&privileged);
}
