/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <string.h>

#include "fuzz.h"
#include "path-util.h"
#include "portable-bus.h"
#include "strv.h"
#include "unit-file-check.h"
#include "unit-file.h"
#include "unit-match.h"

/* Unit files come from images and are handed to the host's service manager; the confinement
 * check (unit-file-check.h) is what keeps an image inside RootImage= and its profile. Input: the
 * unit's name on the first line (foo.service unless it is a valid unit name), the unit file after
 * it. Properties:
 *   - the answer is 0, or -EPERM with PORTABLE_ERROR_UNIT_NOT_CONFINED and a message naming the
 *     unit, and the same every time;
 *   - a file systemd would refuse to load (unit_file_parse() fails) is refused;
 *   - appending a violation after the file cannot make it pass: a file that passed is then
 *     refused at that line, one that was refused is refused with the same message (the first
 *     violation stays the first);
 *   - an Exec*= command with a privilege prefix (unit_file_command_privilege()) is refused in a
 *     service unit. */

#define VIOLATION "\n\n[Unit]\nFailureAction=reboot\n"

static const char *const image_units[] = {
        "foo.service", "foo@.service", "foo-helper.service", "foo.socket", "foo.timer", "foo.path", "foo.target", NULL,
};

typedef struct Outcome {
        int r;
        char *message;
} Outcome;

static void outcome_done(Outcome *o) {
        o->message = mfree(o->message);
}

static Outcome check(const char *unit, char * const *units, const char *data, size_t size) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        Outcome o = {};
        _cleanup_free_ char *head = NULL;

        o.r = unit_file_check_confined(unit, data, size, units, &error);
        if (o.r == -ENOMEM)
                abort(); /* libFuzzer's -rss_limit_mb reports real memory trouble itself */
        if (o.r == 0) {
                FUZZ_CHECK(!sd_bus_error_is_set(&error));
                return o;
        }
        FUZZ_CHECK(o.r == -EPERM);
        FUZZ_CHECK(sd_bus_error_has_name(&error, PORTABLE_ERROR_UNIT_NOT_CONFINED));
        FUZZ_CHECK(error.message);
        FUZZ_CHECK(asprintf(&head, "Unit '%s'", unit) >= 0);
        FUZZ_CHECK(startswith(error.message, head));
        o.message = strdup(error.message);
        FUZZ_CHECK(o.message);
        return o;
}

static int ignore_assignment(const char *section, const char *key, const char *value, unsigned line, void *userdata) {
        FUZZ_CHECK(section && key && value && line >= 1);
        FUZZ_CHECK(!isempty(key) && !strchr(key, '='));
        return 0;
}

/* Every word of s is found, and each step makes progress. */
static void check_words(const char *s) {
        for (const char *p = s;;) {
                _cleanup_free_ char *word = NULL;
                const char *before = p;
                int r = unit_file_extract_word(&p, &word);

                FUZZ_CHECK(r >= 0);
                if (r == 0) {
                        FUZZ_CHECK(!word);
                        break;
                }
                FUZZ_CHECK(word && p > before && p <= s + strlen(s));
        }
}

/* The first line of the file as the command of an ExecStart= line in a service. */
static void check_exec_prefix(const char *data, char * const *units) {
        _cleanup_(outcome_done) Outcome o = {};
        _cleanup_free_ char *value = strndup(data, strcspn(data, "\n\r")), *unit_file = NULL;
        const char *prefix = NULL;

        FUZZ_CHECK(value);
        FUZZ_CHECK(unit_file_command_privilege(value, &prefix) >= 0);
        check_words(value);
        if (!prefix)
                return;
        FUZZ_CHECK(streq(prefix, "+") || streq(prefix, "!") || streq(prefix, "!!"));
        FUZZ_CHECK(asprintf(&unit_file, "[Service]\nExecStart=%s\n", value) >= 0);
        o = check("foo.service", units, unit_file, strlen(unit_file));
        FUZZ_CHECK(o.r == -EPERM);
}

int LLVMFuzzerTestOneInput(const uint8_t *input, size_t size) {
        _cleanup_(outcome_done) Outcome first = {}, again = {}, appended = {};
        _cleanup_strv_free_ char **units = NULL;
        _cleanup_free_ char *name = NULL, *data = NULL, *longer = NULL, *text = NULL;
        const uint8_t *nl = memchr(input, '\n', size);
        size_t n_name = nl ? (size_t) (nl - input) : size, n_data = nl ? size - n_name - 1 : 0;
        const char *unit;
        int r;

        name = fuzz_strndup(input, n_name);
        unit = unit_name_is_valid(name, UNIT_NAME_ANY) ? name : "foo.service";
        units = strv_copy((char **) image_units);
        FUZZ_CHECK(units);
        if (!strv_contains(units, unit))
                FUZZ_CHECK(strv_extend(&units, unit) >= 0);

        /* The unit file as it is: NUL bytes and all, no terminator. */
        data = malloc(n_data ?: 1);
        FUZZ_CHECK(data);
        memcpy(data, nl ? (const char *) nl + 1 : "", n_data);

        first = check(unit, units, data, n_data);
        again = check(unit, units, data, n_data);
        FUZZ_CHECK(first.r == again.r && streq_ptr(first.message, again.message));

        r = unit_file_parse(data, n_data, ignore_assignment, NULL, NULL);
        FUZZ_CHECK(r == 0 || r == -ENOBUFS || r == -EBADMSG || r == -ENOEXEC);
        if (r < 0)
                FUZZ_CHECK(first.r == -EPERM);

        longer = malloc(n_data + strlen(VIOLATION));
        FUZZ_CHECK(longer);
        memcpy(longer, data, n_data);
        memcpy(longer + n_data, VIOLATION, strlen(VIOLATION));
        appended = check(unit, units, longer, n_data + strlen(VIOLATION));
        FUZZ_CHECK(appended.r == -EPERM);
        if (first.r == 0)
                FUZZ_CHECK(strstr(appended.message, ": FailureAction= is 'reboot'"));
        else
                FUZZ_CHECK(streq(first.message, appended.message));

        /* A C string from here on: cut at the first NUL byte. */
        text = fuzz_strndup((const uint8_t *) data, n_data);
        check_exec_prefix(text, units);
        return 0;
}
