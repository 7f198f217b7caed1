/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <criterion/criterion.h>
#include <criterion/new/assert.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "image-metadata.h"
#include "portable-bus.h"
#include "portable-fixture.h"
#include "portable.h"
#include "strv.h"
#include "unit-helpers.h"

/* The operations of portable.h on an image stacked with extensions: attach (portable_attach_stack),
 * detach and state with extensions, reattach of a stack. Directory images only: the reader is
 * the same for raw images, and the integration tests take raw stacks through the daemon. */

static void setup(void) {
        fixture_setup("attach-extensions");
}

static void teardown(void) {
        fixture_teardown();
}

TestSuite(attach_extensions, .init = setup, .fini = teardown, .timeout = 60);

#define ATTACHED "/etc/systemd/system.attached"

/* A stack of fixture images copied to <images>: root, then the extensions. */
typedef struct Stack {
        Image *image;
        Image *extensions[4];
        size_t n;
        PortableStack stack;
} Stack;

static void stack_done(Stack *s) {
        image_free(s->image);
        for (size_t i = 0; i < s->n; i++)
                image_free(s->extensions[i]);
}

/* stack_new("foo", "foo", "app0", "app0", NULL): fixture name, destination name pairs. */
static Stack stack_new(const char *name, const char *dest, ...) {
        Stack s = {};
        _cleanup_free_ char *path = fixture_copy_image(name, dest, false);
        va_list ap;

        s.image = fixture_image(path);
        va_start(ap, dest);
        for (const char *n = va_arg(ap, const char *); n; n = va_arg(ap, const char *)) {
                const char *d = va_arg(ap, const char *);
                _cleanup_free_ char *p = fixture_copy_image(n, d, false);

                cr_assert(lt(sz, s.n, ELEMENTSOF(s.extensions)));
                s.extensions[s.n++] = fixture_image(p);
        }
        va_end(ap);
        return s;
}

static const PortableStack *stack_of(Stack *s) {
        s->stack = (PortableStack) {
                .image = s->image,
                .extensions = (const Image * const *) s->extensions,
                .n_extensions = s->n,
        };
        return &s->stack;
}

static int attach_stack(Stack *s, char * const *matches, PortableFlags flags, char **ret_changes,
                        sd_bus_error *error) {
        _cleanup_(portable_changes_done) PortableChanges changes = {};
        int r;

        r = portable_attach_stack(&fx.host, stack_of(s), matches, "default", flags, &changes, error);
        if (r < 0) {
                cr_assert(eq(sz, changes.n, 0), "changes returned on failure");
                cr_assert(sd_bus_error_is_set(error), "failure %d without a bus error", r);
        }
        if (ret_changes)
                *ret_changes = fixture_changes(&changes);
        return r;
}

static void attach_stack_ok(Stack *s, char * const *matches, PortableFlags flags) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;

        cr_assert(eq(int, attach_stack(s, matches, flags, NULL, &error), 0), "%s", strna(error.message));
}

/* An attach that must fail with r and a message containing needle, leaving the host as it was. */
static void attach_stack_fails(Stack *s, char * const *matches, PortableFlags flags, int r, const char *needle) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_free_ char *before = fixture_snapshot(), *after = NULL;

        cr_assert(eq(int, attach_stack(s, matches, flags, NULL, &error), r), "%s", strna(error.message));
        cr_assert(strstr(error.message, needle) != NULL, "'%s' not in: %s", needle, error.message);
        after = fixture_snapshot();
        assert_str(after, before);
}

static char *const foo_app0[] = { (char *) "foo", (char *) "app0", NULL };
static char *const app1_only[] = { (char *) "app1", NULL };

Test(attach_extensions, units_of_every_layer_topmost_wins) {
        _cleanup_(stack_done) Stack s = stack_new("foo", "foo", "app0", "app0", NULL);
        _cleanup_free_ char *target = NULL, *app0 = NULL, *foo = NULL, *expected = NULL, *golden = NULL;

        attach_stack_ok(&s, foo_app0, 0);

        /* foo.target is in both: the extension's, on top, is attached. */
        target = fixture_read(ATTACHED "/foo.target");
        expected = unit_read(unit_strf("%s/usr/lib/systemd/system/foo.target", s.extensions[0]->path));
        assert_str(target, expected);
        cr_assert(fixture_exists(ATTACHED "/app0.service"));
        cr_assert(fixture_exists(ATTACHED "/foo.service"));

        /* The drop-in of a unit from the extension names it; one from the root names the root. */
        app0 = fixture_read(ATTACHED "/app0.service.d/20-portable.conf");
        golden = fixture_golden("attach-stack-app0.service.conf");
        assert_str(app0, golden);
        foo = fixture_read(ATTACHED "/foo.service.d/20-portable.conf");
        cr_assert(strstr(foo, "Environment=PORTABLE=foo\n") != NULL, "%s", foo);
        cr_assert(strstr(foo, "ExtensionDirectories=") != NULL, "every service runs on the whole stack: %s", foo);

        /* Both images are outside the search path: both are linked, the extension first. */
        cr_assert(fixture_exists("/etc/portables/app0"));
        cr_assert(fixture_exists("/etc/portables/foo"));
}

Test(attach_extensions, change_list_links_extensions_first) {
        _cleanup_(stack_done) Stack s = stack_new("foo", "foo", "app0", "app0", NULL);
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_free_ char *changes = NULL;
        const char *app0, *foo;

        cr_assert(eq(int, attach_stack(&s, foo_app0, 0, &changes, &error), 0), "%s", strna(error.message));
        app0 = strstr(changes, "symlink @ROOT@/etc/portables/app0 @IMAGES@/app0\n");
        foo = strstr(changes, "symlink @ROOT@/etc/portables/foo @IMAGES@/foo\n");
        cr_assert(app0 && foo && app0 < foo, "%s", changes);
}

Test(attach_extensions, layers_read_by_the_caller) {
        _cleanup_(stack_done) Stack s = stack_new("foo", "foo", "app0", "app0", NULL);
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_(portable_changes_done) PortableChanges changes = {};
        _cleanup_free_ char *with = NULL, *without = NULL;
        PortableMetadata **layers = NULL;
        PortableStack stack = *stack_of(&s);

        attach_stack_ok(&s, foo_app0, 0);
        without = fixture_snapshot();
        cr_assert(eq(int, portable_detach_with_extensions(&fx.host, s.image->path,
                                                          (char *const[]) { s.extensions[0]->path, NULL }, 0, &changes,
                                                          &error), 0), "%s", strna(error.message));
        portable_changes_done(&changes);

        /* As the daemon does it: the layers read first, then the attach. */
        cr_assert(eq(int, image_read_stack_metadata(s.image, stack.extensions, 1, foo_app0, NULL, false, &layers, &error),
                     0), "%s", strna(error.message));
        stack.layers = (const PortableMetadata * const *) layers;
        cr_assert(eq(int, portable_attach_stack(&fx.host, &stack, foo_app0, "default", 0, &changes, &error), 0), "%s",
                  strna(error.message));
        with = fixture_snapshot();
        assert_str(with, without);
        portable_metadata_free_many(layers, 2);
}

Test(attach_extensions, incompatible_extension_refused) {
        _cleanup_(stack_done) Stack s = stack_new("foo", "foo", "app0", "app0", NULL);
        _cleanup_free_ char *release = unit_strf("%s/usr/lib/extension-release.d/extension-release.app0",
                                                 s.extensions[0]->path);

        unit_write(release, "ID=portabletest\nVERSION_ID=2\n");
        attach_stack_fails(&s, foo_app0, PORTABLE_FORCE_ATTACH | PORTABLE_FORCE_EXTENSION, -ESTALE,
                           "the extension has VERSION_ID=2, the root image");
}

Test(attach_extensions, prefixes_of_every_layer) {
        _cleanup_(stack_done) Stack s = stack_new("foo", "foo", "app1", "app1_2", NULL);

        /* app1 declares PORTABLE_PREFIXES=app1: foo, which the root does not declare, is refused. */
        attach_stack_fails(&s, foo_app0, 0, -EINVAL, "(Acceptable prefix matches are: app1)");
        attach_stack_ok(&s, app1_only, 0);
}

Test(attach_extensions, no_unit_anywhere) {
        _cleanup_(stack_done) Stack s = stack_new("foo", "foo", "app0", "app0", NULL);
        char *const none[] = { (char *) "nothing", NULL };
        _cleanup_free_ char *needle = unit_strf("or any of its extensions '%s'", s.extensions[0]->path);

        attach_stack_fails(&s, none, 0, -ENOENT, needle);
}

Test(attach_extensions, an_image_twice_refused) {
        _cleanup_(stack_done) Stack s = stack_new("foo", "foo", "app0", "app0", NULL);

        s.extensions[s.n++] = fixture_image(s.extensions[0]->path);
        attach_stack_fails(&s, foo_app0, 0, -EINVAL, "given more than once");
        image_free(s.extensions[--s.n]);
        s.extensions[s.n++] = fixture_image(s.image->path);
        attach_stack_fails(&s, foo_app0, 0, -EINVAL, "given as its own extension");
}

Test(attach_extensions, release_name_forced) {
        _cleanup_(stack_done) Stack s = stack_new("foo", "foo", "app0", "renamed", NULL);

        /* renamed carries extension-release.app0: only force finds it. */
        attach_stack_fails(&s, foo_app0, 0, -ENOENT, "lacks extension-release data");
        attach_stack_ok(&s, foo_app0, PORTABLE_FORCE_EXTENSION);
}

Test(attach_extensions, detach_needs_the_same_stack) {
        _cleanup_(stack_done) Stack s = stack_new("foo", "foo", "app0", "app0", NULL);
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_(portable_changes_done) PortableChanges changes = {};
        _cleanup_free_ char *attached = NULL, *after = NULL, *stack = NULL;
        char *const other[] = { (char *) "/elsewhere/app0", NULL };

        attach_stack_ok(&s, foo_app0, 0);
        attached = fixture_snapshot();

        /* The root alone, or another extension: nothing detached, and the message says how the root is attached. */
        stack = unit_strf("'%s:%s'", s.image->path, s.extensions[0]->path);
        cr_assert(eq(int, portable_detach(&fx.host, s.image->path, 0, &changes, &error), -ENOENT));
        assert_str(error.name, SYSTEMD_ERROR_NO_SUCH_UNIT);
        cr_assert(strstr(error.message, stack) != NULL, "%s", error.message);
        sd_bus_error_free(&error);
        cr_assert(eq(int, portable_detach_with_extensions(&fx.host, s.image->path, other, 0, &changes, &error), -ENOENT));
        cr_assert(strstr(error.message, "or any of its extensions '/elsewhere/app0'") != NULL, "%s", error.message);
        sd_bus_error_free(&error);
        after = fixture_snapshot();
        assert_str(after, attached);

        /* By name, versionless: the same stack. */
        cr_assert(eq(int, portable_detach_with_extensions(&fx.host, "foo", (char *const[]) { (char *) "app0", NULL }, 0,
                                                          &changes, &error), 0), "%s", strna(error.message));
        cr_assert(not(fixture_exists(ATTACHED)));
        cr_assert(not(fixture_exists("/etc/portables/foo")));
        cr_assert(not(fixture_exists("/etc/portables/app0")));
}

Test(attach_extensions, shared_root_link_stays) {
        _cleanup_(stack_done) Stack a = stack_new("foo", "foo", "app0", "app0", NULL);
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_(portable_changes_done) PortableChanges changes = {};
        _cleanup_free_ char *app1_path = fixture_copy_image("app1", "app1_2", false);
        Image *app1 = fixture_image(app1_path);
        Stack b = { .image = a.image, .extensions = { app1 }, .n = 1 };

        attach_stack_ok(&a, (char *const[]) { (char *) "app0", NULL }, 0);
        attach_stack_ok(&b, app1_only, 0);

        cr_assert(eq(int, portable_detach_with_extensions(&fx.host, a.image->path,
                                                          (char *const[]) { a.extensions[0]->path, NULL }, 0, &changes,
                                                          &error), 0), "%s", strna(error.message));
        cr_assert(not(fixture_exists("/etc/portables/app0")));
        cr_assert(fixture_exists("/etc/portables/foo"), "the other stack still uses the root");
        cr_assert(fixture_exists("/etc/portables/app1_2"));
        cr_assert(fixture_exists(ATTACHED "/app1.service"));
        cr_assert(not(fixture_exists(ATTACHED "/app0.service")));
        image_free(app1);
}

Test(attach_extensions, state_with_extensions) {
        _cleanup_(stack_done) Stack s = stack_new("foo", "foo", "app0", "app0", NULL);
        char *const app0[] = { s.extensions[0]->path, NULL };
        char *const other[] = { (char *) "app1", NULL };
        char *const empty[] = { NULL };
        PortableState st;

        attach_stack_ok(&s, foo_app0, PORTABLE_RUNTIME);
        cr_assert(eq(int, portable_get_state_with_extensions(&fx.host, s.image->path, app0, &st), 0));
        cr_assert(eq(int, st, PORTABLE_ATTACHED_RUNTIME));
        cr_assert(eq(int, portable_get_state_with_extensions(&fx.host, s.image->path, other, &st), 0));
        cr_assert(eq(int, st, PORTABLE_DETACHED));
        /* No extensions, or an empty list: any stack the image is in. */
        cr_assert(eq(int, portable_get_state_with_extensions(&fx.host, s.image->path, empty, &st), 0));
        cr_assert(eq(int, st, PORTABLE_ATTACHED_RUNTIME));
        cr_assert(eq(int, portable_get_state(&fx.host, s.extensions[0]->path, &st), 0));
        cr_assert(eq(int, st, PORTABLE_ATTACHED_RUNTIME));
}

Test(attach_extensions, reattach_replaces_the_whole_stack) {
        _cleanup_(stack_done) Stack v1 = stack_new("foo", "foo", "app1", "app1_1", NULL);
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_(portable_changes_done) PortableChanges removed = {}, updated = {};
        _cleanup_free_ char *app1_2 = fixture_copy_image("app1", "app1_2", false), *marker = NULL, *expected = NULL;
        _cleanup_free_ char *before = NULL, *after = NULL;
        Image *e2 = fixture_image(app1_2);
        Stack v2 = { .image = v1.image, .extensions = { e2 }, .n = 1 };

        attach_stack_ok(&v1, app1_only, 0);

        /* Not the same extension: nothing to replace, nothing changed. */
        before = fixture_snapshot();
        cr_assert(eq(int, portable_reattach(&fx.host, v1.image, NULL, app1_only, "default", 0, &removed, &updated, &error),
                     -ENOENT));
        after = fixture_snapshot();
        assert_str(after, before);
        sd_bus_error_free(&error);

        cr_assert(eq(int, portable_reattach_stack(&fx.host, stack_of(&v2), app1_only, "default", 0, &removed, &updated,
                                                  &error), 0), "%s", strna(error.message));
        marker = fixture_read(ATTACHED "/app1.service.d/20-portable.conf");
        expected = unit_strf("# Drop-in created for image '%s:%s', do not edit.\n", v1.image->path, e2->path);
        cr_assert(strncmp(marker, expected, strlen(expected)) == 0, "%s", marker);
        cr_assert(not(fixture_exists("/etc/portables/app1_1")));
        cr_assert(fixture_exists("/etc/portables/app1_2"));
        image_free(e2);
}
