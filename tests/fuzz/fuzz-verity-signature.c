/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <ctype.h>
#include <errno.h>
#include <json-c/json.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "fd-util.h"
#include "fuzz.h"
#include "verity.h"

/* The verity signature partition of a GPT image is JSON the image's author wrote, and the reader
 * parses it before it has dropped anything (reader-receive.h says why that phase must not be
 * subverted). Input: the partition's bytes. It is read twice: as the partition table says, and as
 * a table that claims more than the image holds.
 *
 * Properties: a refusal names the image; an accepted partition holds, before its first NUL, one
 * JSON object (json-c's plain parser agrees) whose "rootHash" is the hash returned, in hex,
 * between 16 and 64 bytes, and whose "signature" decoded to something. */

#define LABEL "/images/fuzz_1.raw"

static char *lowercase_trimmed(const char *s) {
        char *t;
        size_t n;

        s += strspn(s, " \t\r\n");
        t = strdup(s);
        FUZZ_CHECK(t);
        for (n = strlen(t); n > 0 && strchr(" \t\r\n", t[n - 1]); n--)
                t[n - 1] = '\0';
        for (char *c = t; *c; c++)
                *c = (char) tolower((unsigned char) *c);
        return t;
}

static void check_accepted(const uint8_t *data, size_t size, const uint8_t *hash, size_t hash_size,
                           size_t sig_size) {
        _cleanup_free_ char *text = fuzz_strndup(data, size), *hex = NULL, *expected = NULL;
        json_object *o, *h;

        FUZZ_CHECK(hash_size >= 16 && hash_size <= 64);
        FUZZ_CHECK(sig_size > 0);

        o = json_tokener_parse(text);
        FUZZ_CHECK(o && json_object_is_type(o, json_type_object));
        FUZZ_CHECK(json_object_object_get_ex(o, "rootHash", &h) && json_object_is_type(h, json_type_string));
        hex = verity_root_hash_to_hex(hash, hash_size);
        expected = lowercase_trimmed(json_object_get_string(h));
        FUZZ_CHECK(hex && streq(hex, expected));
        json_object_put(o);
}

static void read_partition(int fd, const uint8_t *data, size_t size, uint64_t claimed) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_free_ uint8_t *hash = NULL, *sig = NULL;
        size_t hash_size = 0, sig_size = 0;
        int r;

        r = verity_signature_partition_read(fd, 0, claimed, LABEL, &hash, &hash_size, &sig, &sig_size, &error);
        if (r >= 0) {
                FUZZ_CHECK(r == 0 && hash && sig);
                check_accepted(data, size, hash, hash_size, sig_size);
        } else if (r != -ENOMEM && r != -EOPNOTSUPP) {
                FUZZ_CHECK(sd_bus_error_is_set(&error));
                FUZZ_CHECK(error.message && strstr(error.message, "'" LABEL "'"));
        }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        _cleanup_close_ int fd = memfd_create("fuzz", MFD_CLOEXEC);

        FUZZ_CHECK(fd >= 0);
        FUZZ_CHECK(size == 0 || write(fd, data, size) == (ssize_t) size);

        read_partition(fd, data, size, size);
        read_partition(fd, data, size, (uint64_t) size + 4096);
        return 0;
}
