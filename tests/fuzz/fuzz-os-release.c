/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <ctype.h>

#include "fuzz.h"
#include "os-release.h"
#include "strv.h"

/* os-release and extension-release files come from the image: the parser sees them first. The
 * input is passed as it is, without a terminating NUL (size is the contract). */

static bool key_is_valid(const char *k) {
        if (isempty(k) || isdigit((unsigned char) k[0]))
                return false;
        for (; *k; k++)
                if (!isalnum((unsigned char) *k) && *k != '_')
                        return false;
        return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        _cleanup_strv_free_ char **pairs = NULL;
        size_t n;
        int r;

        r = os_release_parse((const char *) data, size, &pairs);
        if (r < 0) {
                FUZZ_CHECK(r == -EBADMSG);
                return 0;
        }

        /* Alternating keys and values; every key a shell variable name and there only once. */
        n = strv_length(pairs);
        FUZZ_CHECK(n % 2 == 0);
        for (size_t i = 0; i < n; i += 2) {
                FUZZ_CHECK(key_is_valid(pairs[i]));
                FUZZ_CHECK(os_release_pairs_get(pairs, pairs[i]) == pairs[i + 1]);
                for (size_t j = i + 2; j < n; j += 2)
                        FUZZ_CHECK(!streq(pairs[i], pairs[j]));
        }
        return 0;
}
