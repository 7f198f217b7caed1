/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdio.h>
#include <string.h>

#include "dropin.h"
#include "escape.h"
#include "fuzz.h"
#include "image-name.h"
#include "strv.h"

/* The marker line of 20-portable.conf is read back from the host at detach and state queries,
 * and whoever could write there could put anything in it; the paths in it come from images and
 * callers. Input: the marker line first (the parser gets the whole input and must stop at the
 * first newline itself), then an image name or path, then extension paths, one per line. */

static void check_escape_round_trip(const char *s) {
        _cleanup_free_ char *escaped = xescape(s, ":"), *back = NULL;

        FUZZ_CHECK(escaped);
        FUZZ_CHECK(!strpbrk(escaped, ":\n"));
        FUZZ_CHECK(cunescape(escaped, strlen(escaped), &back) == 0);
        FUZZ_CHECK(streq(back, s));
}

/* What attach writes, parse gives back. */
static void check_marker_round_trip(char * const *paths) {
        _cleanup_strv_free_ char **escaped = NULL, **parsed = NULL;
        _cleanup_free_ char *joined = NULL, *line = NULL;

        if (strv_length(paths) == 0 || isempty(paths[0]))
                return;

        STRV_FOREACH(p, (char **) paths)
                FUZZ_CHECK(strv_consume(&escaped, xescape(*p, ":")) >= 0);
        joined = strv_join(escaped, ":");
        FUZZ_CHECK(joined);
        FUZZ_CHECK(asprintf(&line, DROPIN_MARKER_PREFIX "%s" DROPIN_MARKER_SUFFIX "\n", joined) >= 0);

        FUZZ_CHECK(dropin_marker_parse(line, &parsed) == 0);
        FUZZ_CHECK(strv_length(parsed) == strv_length(paths));
        for (size_t i = 0; paths[i]; i++)
                FUZZ_CHECK(streq(parsed[i], paths[i]));

        /* A marker names the image it was written for, whenever its names have a key at all. */
        bool all_keys = true;
        STRV_FOREACH(p, parsed) {
                _cleanup_free_ char *key = NULL;
                all_keys = all_keys && image_name_marker_key(*p, &key) >= 0;
        }
        if (all_keys)
                FUZZ_CHECK(dropin_marker_matches(parsed, parsed[0], parsed + 1, MARKER_MATCH_ALL));
}

/* The drop-in attach writes for an image at path: whatever the path, it is the marker plus a
 * fixed set of lines, never more (no setting smuggled in through a newline), and its marker
 * parses back to the path. */
/* The number of lines of the drop-in of unit for an ordinary image path. */
static size_t reference_lines(const char *unit) {
        Image image = { .type = IMAGE_RAW, .name = (char *) "foo", .path = (char *) "/srv/foo_1.raw" };
        _cleanup_free_ char *content = NULL;
        size_t n = 0;

        FUZZ_CHECK(dropin_portable_content(&image, unit, "/etc/os-release", NULL, &content) == 0);
        for (const char *c = content; *c; c++)
                n += *c == '\n';
        return n;
}

static void check_portable_content(const char *path) {
        static const char *const units[] = { "foo.service", "foo.socket" };

        if (isempty(path))
                return;

        for (size_t u = 0; u < ELEMENTSOF(units); u++) {
                Image image = { .type = IMAGE_RAW, .name = (char *) "foo", .path = (char *) path };
                _cleanup_strv_free_ char **parsed = NULL;
                _cleanup_free_ char *content = NULL;
                size_t newlines = 0;
                int r;

                r = dropin_portable_content(&image, units[u], "/etc/os-release", NULL, &content);
                if (r < 0) {
                        FUZZ_CHECK(r == -EINVAL);
                        continue;
                }
                for (const char *c = content; *c; c++)
                        newlines += *c == '\n';
                /* However odd the path, the drop-in has the lines a plain path gives it: nothing
                 * can be smuggled in through a newline. */
                FUZZ_CHECK(newlines == reference_lines(units[u]));
                FUZZ_CHECK(dropin_marker_parse(content, &parsed) == 0);
                FUZZ_CHECK(strv_length(parsed) == 1 && streq(parsed[0], path));
        }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        _cleanup_strv_free_ char **lines = fuzz_split_lines(data, size, 16), **paths = NULL;
        _cleanup_free_ char *whole = fuzz_strndup(data, size);
        char *name = lines[1], **extensions = name ? lines + 2 : NULL;
        int r;

        r = dropin_marker_parse(whole, &paths);
        if (r < 0)
                FUZZ_CHECK(r == -EBADMSG);
        else {
                FUZZ_CHECK(strv_length(paths) > 0 && !isempty(paths[0]));
                if (name) {
                        bool all = dropin_marker_matches(paths, name, extensions, MARKER_MATCH_ALL),
                             any = dropin_marker_matches(paths, name, extensions, MARKER_MATCH_ANY);
                        FUZZ_CHECK(!all || any);
                }
        }

        STRV_FOREACH(l, lines)
                check_escape_round_trip(*l);
        if (name) {
                check_marker_round_trip(lines + 1);
                check_portable_content(name);
        }

        /* cunescape() on raw bytes, with an explicit length that may include NUL bytes. */
        _cleanup_free_ char *unescaped = NULL;
        if (cunescape((const char *) data, size, &unescaped) >= 0)
                FUZZ_CHECK(strlen(unescaped) <= size);
        return 0;
}
