/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdio.h>
#include <string.h>

#include "macro.h"
#include "path-util.h"
#include "strv.h"
#include "unit-match.h"
#include "unit-names.h"

#define INSTANCE_STR "\x01"

char *unit_names_stem(const char *unit) {
        const char *at = strchr(unit, '@'), *dot = strrchr(unit, '.');
        size_t n = at ? (size_t) (at - unit) : dot ? (size_t) (dot - unit) : strlen(unit);

        return strndup(unit, n);
}

int unit_names_init(UnitNames *n, const char *unit, char * const *image_units) {
        const char *type = strrchr(unit, '.'), *at = strchr(unit, '@');
        size_t name_len = type ? (size_t) (type - unit) : strlen(unit);
        int r;

        *n = (UnitNames) { .self = unit, .image_units = image_units };

        n->prefix = unit_names_stem(unit);
        if (!n->prefix)
                return -ENOMEM;
        if (!at || at >= unit + name_len) {
                n->unit = strdup(unit);
                n->name = strndup(unit, name_len);
                n->instance = strdup("");
        } else if (at + 1 == unit + name_len) {
                /* A template: its %n, %N and %i are those of the instance that will be started. */
                if (asprintf(&n->unit, "%s@" INSTANCE_STR "%s", n->prefix, strempty(type)) < 0)
                        n->unit = NULL;
                if (asprintf(&n->name, "%s@" INSTANCE_STR, n->prefix) < 0)
                        n->name = NULL;
                n->instance = strdup(INSTANCE_STR);
        } else {
                n->unit = strdup(unit);
                n->name = strndup(unit, name_len);
                n->instance = strndup(at + 1, (size_t) (unit + name_len - at - 1));
        }
        if (!n->unit || !n->name || !n->instance)
                return -ENOMEM;

        for (size_t i = 0; image_units && image_units[i]; i++) {
                r = strv_consume(&n->stems, unit_names_stem(image_units[i]));
                if (r < 0)
                        return r;
        }
        /* The unit itself is the image's, attached or not. */
        return strv_extend(&n->stems, n->prefix);
}

void unit_names_done(UnitNames *n) {
        n->stems = strv_free(n->stems);
        n->unit = mfree(n->unit);
        n->name = mfree(n->name);
        n->prefix = mfree(n->prefix);
        n->instance = mfree(n->instance);
}

bool unit_names_owns(const UnitNames *n, const char *name) {
        /* Empty stems would match everything: they are never a name. */
        for (char **s = n->stems; s && *s; s++) {
                char *one[] = { *s, NULL };

                if (!isempty(*s) && !isempty(name) && unit_name_matches_prefixes(name, one))
                        return true;
        }
        return false;
}

bool unit_names_is_image_unit(const UnitNames *n, const char *unit) {
        const char *at = strchr(unit, '@'), *dot = strrchr(unit, '.');
        _cleanup_free_ char *template = NULL;

        if (streq(unit, n->self) || strv_contains(n->image_units, unit))
                return true;
        if (!at || !dot || dot < at || memchr(unit, UNIT_NAMES_INSTANCE, (size_t) (at - unit)))
                return false;
        if (asprintf(&template, "%.*s@%s", (int) (at - unit), unit, dot) < 0)
                return false;
        return streq(template, n->self) || strv_contains(n->image_units, template);
}

static bool component_ok(const char *s, size_t len) {
        /* A component with the instance in it is fine: should the instance be "." or "..",
         * systemd refuses the path as not normalized, and binding a socket on a directory fails. */
        return len > 0 && !(len == 1 && s[0] == '.') && !(len == 2 && s[0] == '.' && s[1] == '.');
}

bool unit_names_owns_relative_path(const UnitNames *n, const char *path, size_t max_depth) {
        size_t depth = 0;

        for (const char *p = path;;) {
                size_t len = strcspn(p, "/");

                if (!component_ok(p, len) || (max_depth > 0 && ++depth > max_depth))
                        return false;
                if (p == path) {
                        _cleanup_free_ char *first = strndup(p, len);

                        if (!first || !unit_names_owns(n, first))
                                return false;
                }
                if (p[len] == '\0')
                        return true;
                p += len + 1;
        }
}

bool unit_names_owns_runtime_path(const UnitNames *n, const char *path) {
        const char *rest = NULL;

        if (startswith(path, "/run/"))
                rest = path + strlen("/run/");
        else if (startswith(path, "/var/run/"))
                rest = path + strlen("/var/run/");
        return rest && unit_names_owns_relative_path(n, rest, 2);
}

int unit_names_expand(const UnitNames *n, const char *s, char **ret, char *ret_bad) {
        _cleanup_free_ char *out = strdup("");
        const char *last_dash = strrchr(n->prefix, '-');

        if (!out)
                return -ENOMEM;
        if (strchr(s, UNIT_NAMES_INSTANCE)) {
                *ret_bad = UNIT_NAMES_INSTANCE;
                return -EBADR;
        }

        for (; *s; s++) {
                char literal[2] = { *s, 0 }, *joined;
                const char *add = literal;

                if (*s == '%')
                        switch (*++s) {
                        case '%': add = "%"; break;
                        case 'n': add = n->unit; break;
                        case 'N': add = n->name; break;
                        case 'p': add = n->prefix; break;
                        case 'i': add = n->instance; break;
                        case 'j': add = last_dash ? last_dash + 1 : n->prefix; break;
                        case 't': add = "/run"; break;
                        case 'S': add = "/var/lib"; break;
                        case 'C': add = "/var/cache"; break;
                        case 'L': add = "/var/log"; break;
                        case 'E': add = "/etc"; break;
                        case 'T': add = "/tmp"; break;
                        case 'V': add = "/var/tmp"; break;
                        case 'h': add = "/root"; break;
                        default:
                                *ret_bad = *s ?: '%';
                                return -EBADR;
                        }

                if (asprintf(&joined, "%s%s", out, add) < 0)
                        return -ENOMEM;
                free_and_replace(out, joined);
        }

        *ret = TAKE_PTR(out);
        return 0;
}
