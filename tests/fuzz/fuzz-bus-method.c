/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <fcntl.h>
#include <linux/fs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <systemd/sd-event.h>
#include <systemd/sd-id128.h>
#include <unistd.h>

#include "bus-access.h"
#include "bus-image.h"
#include "bus-manager.h"
#include "bus-polkit.h"
#include "fake-operation.h"
#include "fd-util.h"
#include "fuzz.h"
#include "manager.h"
#include "path-util.h"
#include "portable-bus.h"
#include "strv.h"
#include "unit-activity.h"

/* Every method of org.freedesktop.portable1 (the manager and the image objects, and the standard
 * interfaces sd-bus serves on them) with arguments the input makes up, through the daemon's own
 * vtables and handlers, over a private connection (a socketpair) in one event loop: no bus daemon,
 * no PID 1, no reader. The client end also plays polkit. Operations are not run:
 * fake-operation.c takes their place, checks what the handler hands over and answers. The host
 * is a temporary root with a few images.
 *
 * Input, one item per line:
 *   line 1   the method: "AttachImage" (the manager's), "Image.Attach" (an image object's: the
 *            next line names the image), "Manager.Properties.Get", "Image.Introspectable.Introspect",
 *            "Path.Introspectable.Introspect" (the next line is the object path); optionally
 *            " SIGNATURE" after it to send other arguments than the method takes
 *   line 2   the caller: "root" or an unprivileged "user" (the default); polkit's answer "yes",
 *            "no" (the default), "challenge", "absent", "fail" or "garbage"; "interactive";
 *            "stubfail" (starting the operation fails)
 *   then     the arguments: one line per basic value, "@ROOT@" and "@IMAGES@" standing for the
 *            fake host's root and a directory of images outside its search path; "true" or a
 *            non-zero number for true; an array a line with its length and then its elements
 *            ("ay": one line of bytes); a variant a line with its signature and then its value.
 *            Lines that are missing are empty strings, zeros, empty arrays.
 *
 * Properties: every call is answered exactly once, and nothing waits afterwards (no operation,
 * no polkit query); what a handler starts satisfies operation_start_stack()'s contract
 * (fake-operation.c); and authorization holds: a caller polkit does not authorize never starts
 * an attach, detach, reattach or remove and never succeeds with a method that changes anything,
 * never has an image or extension read that it named by path, is never refused what is open to
 * everyone, and polkit is asked exactly for the action the method needs. */

#define FOREACH_WORD(s, ...) for (const char *const *s = (const char *const[]) { __VA_ARGS__, NULL }; *s; s++)

typedef enum PolkitAnswer {
        POLKIT_NO,
        POLKIT_YES,
        POLKIT_CHALLENGE,
        POLKIT_ABSENT,
        POLKIT_FAIL,
        POLKIT_GARBAGE,
} PolkitAnswer;

typedef enum ObjectKind {
        OBJECT_MANAGER,
        OBJECT_IMAGE,
        OBJECT_PATH,
} ObjectKind;

typedef struct Method {
        ObjectKind object;
        const char *name;      /* after "Image." / "Manager." / "Path." */
        const char *interface; /* NULL: the object's own */
        const char *member;
        const char *signature;
        ImageAccess access;
        int image_arg;         /* index of the "s image" argument, or -1 */
        int extensions_arg;    /* index of the "as extensions" argument, or -1 */
} Method;

#define PROPERTIES "org.freedesktop.DBus.Properties"
#define INTROSPECTABLE "org.freedesktop.DBus.Introspectable"
#define PEER "org.freedesktop.DBus.Peer"

#define M(name, sig, access, image, ext) { OBJECT_MANAGER, name, NULL, name, sig, IMAGE_ACCESS_##access, image, ext }
#define I(name, sig, access, ext) { OBJECT_IMAGE, name, NULL, name, sig, IMAGE_ACCESS_##access, -1, ext }
#define STD(object, iface, short_iface, member, sig) \
        { object, short_iface "." member, iface, member, sig, IMAGE_ACCESS_ANY, -1, -1 }

static const Method methods[] = {
        M("GetImage", "s", ANY, -1, -1),
        M("ListImages", "", ANY, -1, -1),
        M("ListImageVersions", "", ANY, -1, -1),
        M("GetImageOSRelease", "s", INSPECT, 0, -1),
        M("GetImageMetadata", "sas", INSPECT, 0, -1),
        M("GetImageMetadataWithExtensions", "sasast", INSPECT, 0, 1),
        M("GetImageMetadataWithLayers", "sasast", INSPECT, 0, 1),
        M("GetImageMetadataWithOptions", "sasasta{sv}", INSPECT, 0, 1),
        M("GetImageState", "s", ANY, -1, -1),
        M("GetImageStateWithExtensions", "sast", ANY, -1, -1),
        M("AttachImage", "sassbs", ATTACH, -1, -1),
        M("AttachImageWithExtensions", "sasassst", ATTACH, -1, -1),
        M("AttachImageWithOptions", "sasassta{sv}", ATTACH, -1, -1),
        M("DetachImage", "sb", ATTACH, -1, -1),
        M("DetachImageWithExtensions", "sast", ATTACH, -1, -1),
        M("ReattachImage", "sassbs", ATTACH, -1, -1),
        M("ReattachImageWithExtensions", "sasassst", ATTACH, -1, -1),
        M("ReattachImageWithOptions", "sasassta{sv}", ATTACH, -1, -1),
        M("RemoveImage", "s", MANAGE, -1, -1),
        M("MarkImageReadOnly", "sb", MANAGE, -1, -1),
        M("SetImageLimit", "st", MANAGE, -1, -1),
        M("SetPoolLimit", "t", MANAGE, -1, -1),
        M("FinishReattach", "sb", ATTACH, -1, -1),
        M("RepairAttachments", "t", ATTACH, -1, -1),
        I("GetOSRelease", "", INSPECT, -1),
        I("GetMetadata", "as", INSPECT, -1),
        I("GetMetadataWithExtensions", "asast", INSPECT, 0),
        I("GetMetadataWithLayers", "asast", INSPECT, 0),
        I("GetState", "", ANY, -1),
        I("GetStateWithExtensions", "ast", ANY, -1),
        I("Attach", "assbs", ATTACH, -1),
        I("AttachWithExtensions", "asassst", ATTACH, -1),
        I("Detach", "b", ATTACH, -1),
        I("DetachWithExtensions", "ast", ATTACH, -1),
        I("Reattach", "assbs", ATTACH, -1),
        I("ReattachWithExtensions", "asassst", ATTACH, -1),
        I("ReattacheWithExtensions", "asassst", ATTACH, -1),
        I("Remove", "", MANAGE, -1),
        I("MarkReadOnly", "b", MANAGE, -1),
        I("SetLimit", "t", MANAGE, -1),
        STD(OBJECT_MANAGER, PROPERTIES, "Properties", "Get", "ss"),
        STD(OBJECT_MANAGER, PROPERTIES, "Properties", "GetAll", "s"),
        STD(OBJECT_MANAGER, PROPERTIES, "Properties", "Set", "ssv"),
        STD(OBJECT_MANAGER, INTROSPECTABLE, "Introspectable", "Introspect", ""),
        STD(OBJECT_MANAGER, PEER, "Peer", "Ping", ""),
        STD(OBJECT_IMAGE, PROPERTIES, "Properties", "Get", "ss"),
        STD(OBJECT_IMAGE, PROPERTIES, "Properties", "GetAll", "s"),
        STD(OBJECT_IMAGE, PROPERTIES, "Properties", "Set", "ssv"),
        STD(OBJECT_IMAGE, INTROSPECTABLE, "Introspectable", "Introspect", ""),
        STD(OBJECT_PATH, INTROSPECTABLE, "Introspectable", "Introspect", ""),
        STD(OBJECT_PATH, PROPERTIES, "Properties", "GetAll", "s"),
};

static const char *const action_of[] = {
        [IMAGE_ACCESS_INSPECT] = PORTABLE_POLKIT_ACTION_INSPECT,
        [IMAGE_ACCESS_ATTACH] = PORTABLE_POLKIT_ACTION_ATTACH,
        [IMAGE_ACCESS_MANAGE] = PORTABLE_POLKIT_ACTION_MANAGE,
};

/* The daemon, its fake host and the other end of its connection, made once. */
static struct {
        char *tmp, *root, *images;
        Manager *manager;
        sd_bus *client;
} g;

/* One call. */
static struct {
        bool privileged;
        PolkitAnswer polkit;
        unsigned polkit_asked;
        char *polkit_action;
        uint64_t cookie;
        bool received;         /* the daemon's end read the call */
        unsigned replies;
        bool done;
        char *error_name, *error_message;
} call;

static int privilege_check(sd_bus_message *msg, void *userdata) {
        return call.privileged;
}

/* ------------------------------------------------------------------------------- fake polkit */

static int method_check_authorization(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        const char *kind, *action;
        int r;

        call.polkit_asked++;
        r = sd_bus_message_enter_container(msg, 'r', "sa{sv}");
        if (r >= 0)
                r = sd_bus_message_read(msg, "s", &kind);
        if (r >= 0)
                r = sd_bus_message_skip(msg, "a{sv}");
        if (r >= 0)
                r = sd_bus_message_exit_container(msg);
        if (r >= 0)
                r = sd_bus_message_read(msg, "s", &action);
        FUZZ_CHECK(r >= 0);
        FUZZ_CHECK(streq(kind, "system-bus-name"));
        free(call.polkit_action);
        call.polkit_action = strdup(action);
        FUZZ_CHECK(call.polkit_action);

        switch (call.polkit) {
        case POLKIT_YES:
        case POLKIT_NO:
        case POLKIT_CHALLENGE:
                return sd_bus_reply_method_return(msg, "(bba{ss})", call.polkit == POLKIT_YES,
                                                  call.polkit == POLKIT_CHALLENGE, 0);
        case POLKIT_ABSENT:
                return sd_bus_reply_method_errorf(msg, SD_BUS_ERROR_SERVICE_UNKNOWN, "No polkit here.");
        case POLKIT_FAIL:
                return sd_bus_reply_method_errorf(msg, "org.freedesktop.PolicyKit1.Error.Failed", "Broken.");
        default:
                return sd_bus_reply_method_return(msg, "s", "not an answer");
        }
}

static const sd_bus_vtable polkit_vtable[] = {
        SD_BUS_VTABLE_START(0),
        SD_BUS_METHOD("CheckAuthorization", "(sa{sv})sa{ss}us", "(bba{ss})", method_check_authorization, 0),
        SD_BUS_VTABLE_END
};

/* Counts every answer to the current call, so that a second one would not go unnoticed. */
static int on_client_message(sd_bus_message *msg, void *userdata, sd_bus_error *ret_error) {
        uint64_t cookie;

        if (sd_bus_message_get_reply_cookie(msg, &cookie) >= 0 && cookie == call.cookie)
                call.replies++;
        return 0;
}

/* sd-bus drops a message it cannot parse without a word; dbus-daemon would have refused to pass
 * it on. Only a call that got through is owed an answer. */
static int on_server_message(sd_bus_message *msg, void *userdata, sd_bus_error *ret_error) {
        uint64_t cookie;

        if (sd_bus_message_get_cookie(msg, &cookie) >= 0 && cookie == call.cookie)
                call.received = true;
        return 0;
}

static int on_reply(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error) {
        const sd_bus_error *e = sd_bus_message_get_error(reply);

        call.done = true;
        if (e) {
                FUZZ_CHECK(e->name && e->name[0]);
                call.error_name = strdup(e->name);
                call.error_message = strdup(strempty(e->message));
                FUZZ_CHECK(call.error_name && call.error_message);
        }
        return 0;
}

/* ---------------------------------------------------------------------------------- fixture */

static void make_host(void) {
        g.tmp = fuzz_mkdtemp("bus-method");
        FUZZ_CHECK(asprintf(&g.root, "%s/root", g.tmp) >= 0);
        FUZZ_CHECK(asprintf(&g.images, "%s/images", g.tmp) >= 0);
        fuzz_mkdir_p(g.tmp, "root");
        fuzz_mkdir_p(g.tmp, "images");

        fuzz_write_file(g.root, "usr/lib/os-release", "ID=testhost\n");
        FOREACH_WORD(d, "etc/portables", "run/portables", "usr/local/lib/portables", "etc/systemd/system",
                     "run/systemd/system", "run/systemd/nspawn/locks", "var/lib/portabled", "run/portabled")
                fuzz_mkdir_p(g.root, *d);
        fuzz_write_file(g.root, "var/lib/portables/foo/usr/lib/os-release", "ID=foo\n");
        fuzz_write_file(g.root, "var/lib/portables/foo/usr/lib/systemd/system/foo.service",
                        "[Service]\nExecStart=/x\n");
        fuzz_write_file(g.root, "var/lib/portables/bar.raw", "not a file system");
        fuzz_write_file(g.root, "var/lib/portables/ext/usr/lib/extension-release.d/extension-release.ext",
                        "ID=_any\n");
        fuzz_write_file(g.root, "var/lib/portables/app.v/app_1.raw", "one");
        fuzz_write_file(g.root, "var/lib/portables/app.v/app_2.raw", "two");
        fuzz_write_file(g.root, "usr/lib/portables/vendor/usr/lib/os-release", "ID=vendor\n");
        fuzz_write_file(g.images, "foo/usr/lib/os-release", "ID=foo\n");
        fuzz_write_file(g.images, "ext2/usr/lib/extension-release.d/extension-release.ext2", "ID=_any\n");
        fuzz_write_file(g.images, "app.raw", "not a file system");
        fuzz_write_file(g.images, "notanimage.txt", "text");
        FOREACH_WORD(p, "default", "nonetwork", "strict", "trusted") {
                _cleanup_free_ char *f = NULL;

                FUZZ_CHECK(asprintf(&f, "profiles/%s/service.conf", *p) >= 0);
                fuzz_write_file(g.tmp, f, "[Service]\nMountAPIVFS=yes\n");
        }
}

/* MarkImageReadOnly acts at once: undone after every input, and before the tree is removed
 * (an immutable directory could not be). */
static void make_mutable(const char *dir, const char *path) {
        _cleanup_free_ char *p = path_join(dir, path);
        _cleanup_close_ int fd = open(p, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        unsigned attrs = 0;

        if (fd >= 0 && ioctl(fd, FS_IOC_GETFLAGS, &attrs) >= 0 && (attrs & FS_IMMUTABLE_FL)) {
                attrs &= ~FS_IMMUTABLE_FL;
                (void) ioctl(fd, FS_IOC_SETFLAGS, &attrs);
        }
}

static void reset_images(void) {
        FOREACH_WORD(d, "var/lib/portables/foo", "var/lib/portables/ext", "usr/lib/portables/vendor")
                make_mutable(g.root, *d);
        FOREACH_WORD(d, "foo", "ext2")
                make_mutable(g.images, *d);
        FOREACH_WORD(f, "var/lib/portables/bar.raw", "var/lib/portables/app.v/app_1.raw",
                     "var/lib/portables/app.v/app_2.raw") {
                _cleanup_free_ char *p = path_join(g.root, *f);

                (void) chmod(p, 0644);
        }
        {
                _cleanup_free_ char *p = path_join(g.images, "app.raw");

                (void) chmod(p, 0644);
        }
}

static void make_daemon(void) {
        _cleanup_free_ char *profiles = NULL;
        sd_id128_t id;
        int fds[2];
        Manager *m;

        make_host();
        atexit(reset_images); /* runs before fuzz_mkdtemp()'s removal, registered earlier */

        m = calloc(1, sizeof(Manager));
        FUZZ_CHECK(m);
        FUZZ_CHECK(asprintf(&profiles, "%s/profiles", g.tmp) >= 0);
        m->host = (Host) {
                .root = strdup(g.root),
                .vendor_profile_dir = TAKE_PTR(profiles),
                .unit_ops = { .unit_is_active = unit_activity_is_active },
        };
        FUZZ_CHECK(m->host.root);
        FUZZ_CHECK(polkit_registry_new(&m->polkit_registry) >= 0);
        polkit_registry_set_privilege_check(m->polkit_registry, privilege_check, NULL);
        m->verity_cache = verity_cache_new(/* max_entries= */ 0);
        FUZZ_CHECK(m->verity_cache);
        FUZZ_CHECK(sd_event_new(&m->event) >= 0);

        FUZZ_CHECK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, fds) == 0);
        FUZZ_CHECK(sd_id128_randomize(&id) >= 0);
        FUZZ_CHECK(sd_bus_new(&m->bus) >= 0);
        FUZZ_CHECK(sd_bus_set_fd(m->bus, fds[0], fds[0]) >= 0);
        FUZZ_CHECK(sd_bus_set_server(m->bus, 1, id) >= 0);
        FUZZ_CHECK(sd_bus_add_filter(m->bus, NULL, on_server_message, NULL) >= 0);
        FUZZ_CHECK(bus_manager_register(m) >= 0);
        FUZZ_CHECK(bus_image_register(m) >= 0);
        FUZZ_CHECK(sd_bus_start(m->bus) >= 0);
        FUZZ_CHECK(sd_bus_attach_event(m->bus, m->event, SD_EVENT_PRIORITY_NORMAL) >= 0);

        FUZZ_CHECK(sd_bus_new(&g.client) >= 0);
        FUZZ_CHECK(sd_bus_set_fd(g.client, fds[1], fds[1]) >= 0);
        /* What a bus would stamp on the caller's messages: polkit is asked about this name. */
        FUZZ_CHECK(sd_bus_set_sender(g.client, ":1.42") >= 0);
        FUZZ_CHECK(sd_bus_add_object_vtable(g.client, NULL, POLKIT_BUS_PATH, POLKIT_BUS_INTERFACE, polkit_vtable,
                                            NULL) >= 0);
        FUZZ_CHECK(sd_bus_add_filter(g.client, NULL, on_client_message, NULL) >= 0);
        FUZZ_CHECK(sd_bus_start(g.client) >= 0);
        FUZZ_CHECK(sd_bus_attach_event(g.client, m->event, SD_EVENT_PRIORITY_NORMAL) >= 0);

        g.manager = m;
}

/* ------------------------------------------------------------------------------- arguments */

typedef struct Generator {
        char **lines;
        size_t next;
        const Method *method;
        unsigned top;     /* the top-level argument being appended */
        unsigned depth;   /* of containers */
        bool names_path;  /* an image or extension argument is a path */
} Generator;

static char *replace_all(const char *s, const char *what, const char *with) {
        char *out = strdup(s);

        FUZZ_CHECK(out);
        for (char *hit; (hit = strstr(out, what));) {
                char *joined = NULL;

                FUZZ_CHECK(asprintf(&joined, "%.*s%s%s", (int) (hit - out), out, with, hit + strlen(what)) >= 0);
                free_and_replace(out, joined);
        }
        return out;
}

static char *next_line(Generator *gen) {
        _cleanup_free_ char *line = NULL;

        if (!gen->lines[gen->next])
                return strdup("");
        line = replace_all(gen->lines[gen->next++], "@ROOT@", g.root);
        return replace_all(line, "@IMAGES@", g.images);
}

/* The length of the single complete type at s, 0 if there is none. */
static size_t type_length(const char *s, unsigned depth) {
        size_t i, n;

        if (depth > 32)
                return 0;
        switch (*s) {
        case 'a':
                n = type_length(s + 1, depth + 1);
                return n ? n + 1 : 0;
        case '(':
                for (i = 1; s[i] != ')'; i += n)
                        if (!(n = type_length(s + i, depth + 1)))
                                return 0;
                return i > 1 ? i + 1 : 0;
        case '{':
                if (!(n = type_length(s + 1, depth + 1)) || !strchr("ybnqiuxtdsogh", s[1]))
                        return 0;
                i = 1 + n;
                if (!(n = type_length(s + i, depth + 1)))
                        return 0;
                return s[i + n] == '}' ? i + n + 1 : 0;
        default:
                return *s && strchr("ybnqiuxtdsoghv", *s) ? 1 : 0;
        }
}

/* A string that is the image argument, or one of the extensions. */
static void note_image_argument(Generator *gen, const char *s) {
        const Method *mt = gen->method;

        if (!mt || s[0] != '/')
                return;
        if ((gen->depth == 0 && (int) gen->top == mt->image_arg) ||
            (gen->depth == 1 && (int) gen->top == mt->extensions_arg))
                gen->names_path = true;
}

static int append_value(Generator *gen, sd_bus_message *m, const char *type, size_t n);

static int append_container(Generator *gen, sd_bus_message *m, char kind, const char *contents, size_t n_contents,
                            unsigned count) {
        _cleanup_free_ char *c = strndup(contents, n_contents);
        int r;

        FUZZ_CHECK(c);
        r = sd_bus_message_open_container(m, kind, c);
        if (r < 0)
                return r;
        gen->depth++;
        for (unsigned i = 0; i < count; i++)
                for (size_t k = 0; k < n_contents;) {
                        size_t len = kind == 'a' || kind == 'v' ? n_contents : type_length(c + k, gen->depth);

                        r = append_value(gen, m, c + k, len);
                        if (r < 0)
                                return r;
                        k += len;
                }
        gen->depth--;
        return sd_bus_message_close_container(m);
}

static int append_value(Generator *gen, sd_bus_message *m, const char *type, size_t n) {
        _cleanup_free_ char *line = NULL;

        if (gen->depth > 32)
                return -E2BIG;
        switch (type[0]) {
        case 'a':
                line = next_line(gen);
                if (type[1] == 'y')
                        return sd_bus_message_append_array(m, 'y', line, strlen(line));
                return append_container(gen, m, 'a', type + 1, n - 1, MIN(strtoul(line, NULL, 0), 64UL));
        case '(':
                return append_container(gen, m, 'r', type + 1, n - 2, 1);
        case '{':
                return append_container(gen, m, 'e', type + 1, n - 2, 1);
        case 'v':
                line = next_line(gen);
                if (type_length(line, gen->depth) != strlen(line) || isempty(line))
                        return -EINVAL;
                return append_container(gen, m, 'v', line, strlen(line), 1);
        }

        line = next_line(gen);
        switch (type[0]) {
        case 's':
                note_image_argument(gen, line);
                return sd_bus_message_append_basic(m, 's', line);
        case 'o':
        case 'g':
                return sd_bus_message_append_basic(m, type[0], line);
        case 'b': {
                int b = streq(line, "true") || strtol(line, NULL, 0) != 0;
                return sd_bus_message_append_basic(m, 'b', &b);
        }
        case 'y': {
                uint8_t v = (uint8_t) strtoul(line, NULL, 0);
                return sd_bus_message_append_basic(m, 'y', &v);
        }
        case 'n':
        case 'q': {
                uint16_t v = (uint16_t) strtoul(line, NULL, 0);
                return sd_bus_message_append_basic(m, type[0], &v);
        }
        case 'i':
        case 'u': {
                uint32_t v = (uint32_t) strtoul(line, NULL, 0);
                return sd_bus_message_append_basic(m, type[0], &v);
        }
        case 'x':
        case 't': {
                uint64_t v = strtoull(line, NULL, 0);
                return sd_bus_message_append_basic(m, type[0], &v);
        }
        case 'd': {
                double v = strtod(line, NULL);
                return sd_bus_message_append_basic(m, 'd', &v);
        }
        case 'h':
                /* No method takes a file descriptor (sd-bus refuses the call for its signature
                 * before any handler runs), and passing one would make the client wait,
                 * synchronously, for its own end of the connection. */
                return -EOPNOTSUPP;
        default:
                return -EINVAL;
        }
}

static int append_arguments(Generator *gen, sd_bus_message *m, const char *signature) {
        for (size_t k = 0; signature[k]; gen->top++) {
                size_t n = type_length(signature + k, 0);
                int r;

                if (n == 0)
                        return -EINVAL;
                r = append_value(gen, m, signature + k, n);
                if (r < 0)
                        return r;
                k += n;
        }
        return 0;
}

/* ------------------------------------------------------------------------------------ a call */

static const Method *method_find(ObjectKind object, const char *name) {
        for (size_t i = 0; i < ELEMENTSOF(methods); i++)
                if (methods[i].object == object && streq(methods[i].name, name))
                        return &methods[i];
        return NULL;
}

static void parse_caller(const char *line) {
        static const char *const answers[] = {
                [POLKIT_NO] = "no",         [POLKIT_YES] = "yes",   [POLKIT_CHALLENGE] = "challenge",
                [POLKIT_ABSENT] = "absent", [POLKIT_FAIL] = "fail", [POLKIT_GARBAGE] = "garbage",
        };
        _cleanup_free_ char *copy = strdup(line);

        FUZZ_CHECK(copy);
        for (char *save = NULL, *w = strtok_r(copy, " ", &save); w; w = strtok_r(NULL, " ", &save)) {
                if (streq(w, "root"))
                        call.privileged = true;
                else if (streq(w, "stubfail"))
                        fake_operations.fail = true;
                for (size_t i = 0; i < ELEMENTSOF(answers); i++)
                        if (streq(w, answers[i]))
                                call.polkit = (PolkitAnswer) i;
        }
}

/* Builds the call; 0 if the input does not make a valid message (nothing to check). */
static int build_call(char **lines, Generator *gen, bool *ret_interactive, sd_bus_message **ret) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        _cleanup_free_ char *what = strdup(lines[0]), *path = NULL, *interface = NULL;
        const char *member, *signature, *space, *dot, *own_interface;
        ObjectKind object = OBJECT_MANAGER;

        FUZZ_CHECK(what);
        space = strchr(what, ' ');
        signature = space ? space + 1 : NULL;
        if (space)
                what[space - what] = '\0';
        parse_caller(lines[1] ?: "");
        *ret_interactive = lines[1] && strstr(lines[1], "interactive");
        gen->next = lines[1] ? 2 : 1;

        member = what;
        if (startswith(what, "Image.") || startswith(what, "Path.")) {
                _cleanup_free_ char *line = next_line(gen);

                object = what[0] == 'I' ? OBJECT_IMAGE : OBJECT_PATH;
                member = strchr(what, '.') + 1;
                if (object == OBJECT_IMAGE) {
                        if (sd_bus_path_encode(PORTABLE_BUS_IMAGE_PREFIX, line, &path) < 0)
                                return 0;
                } else
                        path = TAKE_PTR(line);
        } else {
                if (startswith(what, "Manager."))
                        member += strlen("Manager.");
                path = strdup(PORTABLE_BUS_PATH);
                FUZZ_CHECK(path);
        }

        own_interface = object == OBJECT_IMAGE ? PORTABLE_BUS_IMAGE_INTERFACE : PORTABLE_BUS_MANAGER_INTERFACE;
        gen->method = method_find(object, member);
        if (gen->method) {
                interface = strdup(gen->method->interface ?: own_interface);
                member = gen->method->member;
                signature = signature ?: gen->method->signature;
        } else if ((dot = strrchr(member, '.'))) {
                /* Some other interface, spelled out: "org.example.Iface.Member". */
                interface = strndup(member, dot - member);
                member = dot + 1;
        } else
                interface = strdup(own_interface);
        FUZZ_CHECK(interface);

        if (sd_bus_message_new_method_call(g.client, &m, PORTABLE_BUS_NAME, path, interface, member) < 0)
                return 0;
        if (append_arguments(gen, m, strempty(signature)) < 0)
                return 0;
        *ret = TAKE_PTR(m);
        return 1;
}

/* Returns false if the call never reached the daemon. */
static bool run_loop_until_answered(void) {
        sd_event *e = g.manager->event;
        unsigned i;

        for (i = 0; !call.done && i < 10000; i++) {
                int r = sd_event_run(e, 0);

                FUZZ_CHECK(r >= 0);
                if (r == 0 && !call.received && i > 100)
                        return false;
        }
        FUZZ_CHECK(call.done); /* every call is answered, without waiting for anything */
        for (i = 0; i < 10000; i++) {
                int r = sd_event_run(e, 0);

                FUZZ_CHECK(r >= 0);
                if (r == 0)
                        break;
        }
        FUZZ_CHECK(i < 10000);
        return true;
}

/* libFuzzer takes every byte of this section that changes as coverage (elsewhere it is an
 * ordinary array): the combinations of method, caller and outcome the properties tell apart and
 * the daemon's code does not (an extension named by path takes the code path of one named by
 * name), so that an input that reaches a new one is kept and mutated further. */
static uint8_t outcome_counters[ELEMENTSOF(methods) * 8] __attribute__((section("__libfuzzer_extra_counters"), used));

static void check_authorization(const Generator *gen) {
        const Method *mt = gen->method;
        bool authorized = call.privileged || call.polkit == POLKIT_YES;
        bool started = fake_operations.started > 0;

        if (!mt)
                return;
        outcome_counters[(size_t) (mt - methods) * 8 + gen->names_path * 4 + authorized * 2 + started]++;

        if (call.polkit_asked > 0) {
                FUZZ_CHECK(!call.privileged);
                FUZZ_CHECK(mt->access != IMAGE_ACCESS_ANY);
                FUZZ_CHECK(streq(call.polkit_action, action_of[mt->access]));
        }
        if (mt->access == IMAGE_ACCESS_ANY) {
                FUZZ_CHECK(call.polkit_asked == 0);
                FUZZ_CHECK(!streq_ptr(call.error_name, SD_BUS_ERROR_ACCESS_DENIED));
                return;
        }
        if (authorized)
                return;

        if (mt->access == IMAGE_ACCESS_INSPECT) {
                /* Images in the search path are there to be looked at; a path is read as root. */
                if (started)
                        FUZZ_CHECK(!gen->names_path);
                return;
        }
        /* Attach, detach, reattach, remove, read-only, limits, repair. */
        FUZZ_CHECK(!started);
        FUZZ_CHECK(call.error_name);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        _cleanup_(sd_bus_slot_unrefp) sd_bus_slot *slot = NULL;
        _cleanup_strv_free_ char **lines = NULL;
        Generator gen = {};
        bool interactive = false;

        if (!g.manager)
                make_daemon();

        free(call.polkit_action);
        free(call.error_name);
        free(call.error_message);
        call = (typeof(call)) {};
        fake_operations = (FakeOperations) {};

        lines = fuzz_split_lines(data, size, 4096);
        gen.lines = lines;
        if (build_call(lines, &gen, &interactive, &m) <= 0)
                return 0;
        FUZZ_CHECK(sd_bus_message_set_allow_interactive_authorization(m, interactive) >= 0);

        /* sd-bus may still refuse to seal what it let us append (a signature too long, say). */
        if (sd_bus_call_async(g.client, &slot, m, on_reply, NULL, 0) < 0)
                return 0;
        FUZZ_CHECK(sd_bus_message_get_cookie(m, &call.cookie) >= 0);
        if (!run_loop_until_answered())
                return 0;

        /* FUZZ_BUS_VERBOSE=1: what each input led to, for writing seeds. */
        if (getenv("FUZZ_BUS_VERBOSE"))
                fprintf(stderr, "  -> %s%s%s%s%s\n", call.error_name ?: "method return",
                        call.error_message ? ": " : "", strempty(call.error_message),
                        call.polkit_action ? "; polkit asked for " : "", strempty(call.polkit_action));

        FUZZ_CHECK(call.replies == 1);
        FUZZ_CHECK(fake_operations.attempted <= 1);
        FUZZ_CHECK((fake_operations.started == 1) == streq_ptr(call.error_name, FAKE_OPERATION_STARTED));
        if (fake_operations.attempted > 0 && fake_operations.fail)
                FUZZ_CHECK(call.error_name); /* the handler answers with the failure */
        check_authorization(&gen);

        /* Neither end dropped the connection (on a bus the daemon would exit), and nothing is left
         * waiting. */
        FUZZ_CHECK(sd_bus_is_open(g.manager->bus) > 0);
        FUZZ_CHECK(sd_bus_is_open(g.client) > 0);
        FUZZ_CHECK(g.manager->n_operations == 0);
        FUZZ_CHECK(polkit_registry_size(g.manager->polkit_registry) == 0);
        reset_images();
        return 0;
}
