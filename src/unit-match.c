/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <string.h>

#include "macro.h"
#include "path-util.h"
#include "unit-match.h"

const char *const unit_search_dirs[] = {
        "/etc/systemd/system.control",
        "/run/systemd/system.control",
        "/run/systemd/transient",
        "/run/systemd/generator.early",
        "/etc/systemd/system",
        "/etc/systemd/system.attached",
        "/run/systemd/system",
        "/run/systemd/system.attached",
        "/run/systemd/generator",
        "/usr/local/lib/systemd/system",
        "/usr/lib/systemd/system",
        "/lib/systemd/system",
        "/run/systemd/generator.late",
        NULL,
};

static const char *const unit_types[] = {
        "service", "socket", "target", "device", "mount", "automount",
        "swap", "timer", "path", "slice", "scope",
};

static const char *const portable_unit_types[] = {
        "service", "socket", "target", "timer", "path",
};

#define UNIT_NAME_MAX 255
#define VALID_UNIT_CHARS \
        "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ:-_.\\"

const char *unit_name_type(const char *name) {
        const char *dot = strrchr(name, '.');
        return dot ? dot + 1 : NULL;
}

bool unit_name_is_valid(const char *name, UnitNameKind kinds) {
        const char *dot, *at;
        bool known = false;

        if (isempty(name) || strlen(name) > UNIT_NAME_MAX)
                return false;

        dot = strrchr(name, '.');
        if (!dot || dot == name)
                return false;

        for (size_t i = 0; i < ELEMENTSOF(unit_types); i++)
                if (streq(dot + 1, unit_types[i]))
                        known = true;
        if (!known)
                return false;

        at = strchr(name, '@');
        if (at == name)
                return false;

        if (!at) {
                if (strspn(name, VALID_UNIT_CHARS) < (size_t) (dot - name))
                        return false;
                return kinds & UNIT_NAME_PLAIN;
        }

        /* The prefix must not contain '@'; an instance may contain '@' but nothing else odd. */
        if (strspn(name, VALID_UNIT_CHARS) < (size_t) (at - name))
                return false;
        for (const char *c = at + 1; c < dot; c++)
                if (!strchr(VALID_UNIT_CHARS "@", *c))
                        return false;

        if (at + 1 == dot)
                return kinds & UNIT_NAME_TEMPLATE;
        return kinds & UNIT_NAME_INSTANCE;
}

bool unit_name_is_portable_type(const char *name) {
        const char *t = unit_name_type(name);

        if (!t)
                return false;
        for (size_t i = 0; i < ELEMENTSOF(portable_unit_types); i++)
                if (streq(t, portable_unit_types[i]))
                        return true;
        return false;
}

bool unit_name_matches_prefixes(const char *name, char * const *matches) {
        if (!matches || !*matches)
                return true;

        for (char * const *m = matches; *m; m++) {
                size_t n = strlen(*m);

                if (n == 0 || strncmp(name, *m, n) != 0)
                        continue;
                if (strchr("-.@", name[n]))
                        /* Also true for name[n] == '\0': strchr() finds the terminator. */
                        return true;
        }
        return false;
}
