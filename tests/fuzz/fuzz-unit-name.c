/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <string.h>

#include "fuzz.h"
#include "image-name.h"
#include "path-util.h"
#include "strv.h"
#include "unit-match.h"

/* Unit file names come from the image's directory listings, match prefixes and image names from
 * callers. Input: the name on the first line, match prefixes on the following ones. */

static void check_unit_name(const char *name, char * const *prefixes) {
        bool plain = unit_name_is_valid(name, UNIT_NAME_PLAIN),
             template = unit_name_is_valid(name, UNIT_NAME_TEMPLATE),
             instance = unit_name_is_valid(name, UNIT_NAME_INSTANCE),
             any = unit_name_is_valid(name, UNIT_NAME_ANY);
        const char *type = unit_name_type(name);

        /* The kinds partition the valid names. */
        FUZZ_CHECK(any == (plain || template || instance));
        FUZZ_CHECK(plain + template + instance <= 1);

        if (any) {
                FUZZ_CHECK(strlen(name) <= 255);
                FUZZ_CHECK(type && type > name && type[-1] == '.');
                FUZZ_CHECK(!strchr(type, '@') && !strchr(type, '/'));
                FUZZ_CHECK(!strchr(name, '/'));
                FUZZ_CHECK(name[0] != '@'); /* ".foo.service" is valid, as in systemd */

                /* The kind is told by the first '@' alone. */
                const char *at = strchr(name, '@');
                FUZZ_CHECK(plain == !at);
                FUZZ_CHECK(template == (at && at + 1 == type - 1));
        }
        if (unit_name_is_portable_type(name))
                FUZZ_CHECK(type);

        (void) unit_name_matches_prefixes(name, prefixes);
        FUZZ_CHECK(unit_name_matches_prefixes(name, NULL));

        /* Every name matches itself and its own part before '.', '-' or '@'. */
        if (!isempty(name)) {
                char *self[] = { (char *) name, NULL };
                FUZZ_CHECK(unit_name_matches_prefixes(name, self));

                size_t n = strcspn(name, "-.@");
                if (n > 0 && name[n] != '\0') {
                        _cleanup_free_ char *prefix = strndup(name, n);
                        char *l[] = { prefix, NULL };
                        FUZZ_CHECK(prefix && unit_name_matches_prefixes(name, l));
                }
        }
}

static void check_image_name(const char *name) {
        _cleanup_free_ char *prefix = NULL, *key = NULL;

        if (image_name_is_valid(name))
                FUZZ_CHECK(filename_is_valid(name) && !startswith(name, ".#"));

        if (image_name_default_prefix(name, &prefix) >= 0) {
                FUZZ_CHECK(filename_is_valid(prefix));
                FUZZ_CHECK(strspn(prefix, "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.-") ==
                           strlen(prefix));
        }

        if (image_name_marker_key(name, &key) >= 0) {
                FUZZ_CHECK(image_name_is_valid(key));
                FUZZ_CHECK(!strpbrk(key, "/_+"));
        }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        _cleanup_strv_free_ char **lines = fuzz_split_lines(data, size, 64);

        check_unit_name(lines[0], lines + 1);
        check_image_name(lines[0]);
        return 0;
}
