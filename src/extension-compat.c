/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <endian.h>
#include <stdio.h>
#include <string.h>
#include <sys/utsname.h>

#include "escape.h"
#include "extension-compat.h"
#include "os-release.h"
#include "portable-error.h"
#include "strv.h"

#define WHITESPACE " \t\n\r"

#if __BYTE_ORDER == __LITTLE_ENDIAN
#  define ENDIAN_NAME(big, little) little
#else
#  define ENDIAN_NAME(big, little) big
#endif

/* uname(2) machine -> the names of systemd's architecture table (ARCHITECTURE= in os-release(5)). */
static const struct {
        const char *machine;
        const char *name;
} machine_names[] = {
        { "x86_64", "x86-64" },
        { "i686", "x86" }, { "i586", "x86" }, { "i486", "x86" }, { "i386", "x86" },
        { "aarch64", "arm64" }, { "aarch64_be", "arm64-be" },
        { "armv8l", "arm" }, { "armv7l", "arm" }, { "armv7ml", "arm" }, { "armv6l", "arm" },
        { "armv5tel", "arm" }, { "armv5tejl", "arm" }, { "armv4l", "arm" }, { "armv4tl", "arm" },
        { "armv8b", "arm-be" }, { "armv7b", "arm-be" }, { "armv6b", "arm-be" }, { "armv5teb", "arm-be" },
        { "armv4b", "arm-be" },
        { "ppc64le", "ppc64-le" }, { "ppc64", "ppc64" }, { "ppcle", "ppc-le" }, { "ppc", "ppc" },
        { "s390x", "s390x" }, { "s390", "s390" },
        { "riscv64", "riscv64" }, { "riscv32", "riscv32" },
        { "loongarch64", "loongarch64" },
        { "mips64", ENDIAN_NAME("mips64", "mips64-le") }, { "mips", ENDIAN_NAME("mips", "mips-le") },
        { "ia64", "ia64" },
        { "parisc64", "parisc64" }, { "parisc", "parisc" },
        { "sparc64", "sparc64" }, { "sparc", "sparc" },
        { "alpha", "alpha" },
        { "sh5", "sh64" }, { "sh4", "sh" }, { "sh4a", "sh" }, { "sh3", "sh" },
        { "m68k", "m68k" },
        { "arc", "arc" }, { "arceb", "arc-be" },
};

const char *extension_architecture_from_machine(const char *machine) {
        for (size_t i = 0; i < ELEMENTSOF(machine_names); i++)
                if (streq(machine, machine_names[i].machine))
                        return machine_names[i].name;
        return NULL;
}

const char *extension_host_architecture(void) {
        struct utsname u;

        if (uname(&u) < 0)
                return NULL;
        return extension_architecture_from_machine(u.machine);
}

static const char *get(char * const *pairs, const char *key) {
        const char *v = os_release_pairs_get(pairs, key);
        return isempty(v) ? NULL : v;
}

/* Values come from untrusted images: quote them escaped, and say "unset" for absent ones. */
static char *show(const char *key, const char *value) {
        _cleanup_free_ char *e = NULL;
        char *s;

        if (!value)
                return asprintf(&s, "no %s", key) < 0 ? NULL : s;
        e = xescape(value, "");
        if (!e)
                return NULL;
        return asprintf(&s, "%s=%s", key, e) < 0 ? NULL : s;
}

static int mismatch(sd_bus_error *reterr, const char *root_label, const char *extension_label, const char *key,
                    const char *extension_value, const char *root_value) {
        _cleanup_free_ char *e = show(key, extension_value), *r = show(key, root_value);

        if (!e || !r)
                return -ENOMEM;
        return portable_error(reterr, ESTALE, NULL,
                              "Image %s extension-release metadata does not match the root's: "
                              "the extension has %s, the root image '%s' has %s.",
                              extension_label, e, root_label, r);
}

static int refuse(sd_bus_error *reterr, const char *extension_label, const char *what) {
        return portable_error(reterr, ESTALE, NULL,
                              "Image %s extension-release metadata does not match the root's: %s.",
                              extension_label, what);
}

int extension_compat_check(char * const *root_os_release, char * const *extension_release, ExtensionClass class,
                           const char *host_architecture, const char *root_label, const char *extension_label,
                           sd_bus_error *reterr) {
        const char *scope_key = class == EXTENSION_CONFEXT ? "CONFEXT_SCOPE" : "SYSEXT_SCOPE";
        const char *level_key = class == EXTENSION_CONFEXT ? "CONFEXT_LEVEL" : "SYSEXT_LEVEL";
        const char *v, *id, *root_id, *root_version, *root_level, *level;
        int r;

        if (strv_length(extension_release) == 0)
                return refuse(reterr, extension_label, "its extension-release file is empty");

        /* Unlike the others, a scope that is set but empty is not "absent": it names no scope. */
        v = os_release_pairs_get(extension_release, scope_key);
        if (v) {
                _cleanup_strv_free_ char **scopes = NULL;

                r = strv_split(v, WHITESPACE, &scopes);
                if (r < 0)
                        return r;
                if (!strv_contains(scopes, "portable")) {
                        _cleanup_free_ char *s = show(scope_key, v), *what = NULL;

                        if (!s || asprintf(&what, "%s does not include 'portable'", s) < 0)
                                return -ENOMEM;
                        return refuse(reterr, extension_label, what);
                }
        }

        v = get(extension_release, "ARCHITECTURE");
        if (v && !streq(v, "_any")) {
                const char *host = host_architecture ?: extension_host_architecture();

                if (!streq_ptr(v, host)) {
                        _cleanup_free_ char *s = show("ARCHITECTURE", v), *what = NULL;

                        if (!s || asprintf(&what, "the extension has %s, the host is %s", s, host ?: "of unknown architecture") < 0)
                                return -ENOMEM;
                        return refuse(reterr, extension_label, what);
                }
        }

        id = get(extension_release, "ID");
        if (!id)
                return refuse(reterr, extension_label, "its extension-release file has no ID=");
        if (streq(id, "_any"))
                return 0;

        root_id = get(root_os_release, "ID");
        if (!streq_ptr(id, root_id)) {
                _cleanup_strv_free_ char **like = NULL;

                const char *root_like = get(root_os_release, "ID_LIKE");

                r = strv_split(strempty(root_like), WHITESPACE, &like);
                if (r < 0)
                        return r;
                if (!strv_contains(like, id)) {
                        _cleanup_free_ char *e = show("ID", id), *i = show("ID", root_id), *l = NULL, *what = NULL;

                        if (root_like && !(l = show("ID_LIKE", root_like)))
                                return -ENOMEM;
                        if (!e || !i || asprintf(&what, "the extension has %s, the root image '%s' has %s%s%s",
                                                 e, root_label, i, l ? " and " : "", strempty(l)) < 0)
                                return -ENOMEM;
                        return refuse(reterr, extension_label, what);
                }
        }

        root_version = get(root_os_release, "VERSION_ID");
        root_level = get(root_os_release, level_key);
        if (!root_version && !root_level)
                return 0; /* a rolling release: nothing to compare */

        level = get(extension_release, level_key);
        if (root_level && level) {
                if (!streq(root_level, level))
                        return mismatch(reterr, root_label, extension_label, level_key, level, root_level);
        } else if (root_version) {
                v = get(extension_release, "VERSION_ID");
                if (!streq_ptr(v, root_version))
                        return mismatch(reterr, root_label, extension_label, "VERSION_ID", v, root_version);
        }

        return 0;
}
