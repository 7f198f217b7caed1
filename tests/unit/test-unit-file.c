/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <criterion/criterion.h>
#include <criterion/new/assert.h>
#include <criterion/parameterized.h>
#include <string.h>

#include "macro.h"
#include "unit-file.h"
#include "unit-helpers.h"

/* Every assignment as "LINE [Section] Key=Value\n". */
static int collect(const char *section, const char *key, const char *value, unsigned line, void *userdata) {
        char **acc = userdata, *n = unit_strf("%s%u [%s] %s=%s\n", *acc, line, section, key, value);

        free(*acc);
        *acc = n;
        return 0;
}

static int parse(const char *data, size_t size, char **ret, unsigned *ret_line) {
        *ret = unit_strf("%s", "");
        return unit_file_parse(data, size, collect, ret, ret_line);
}

struct parse_case {
        const char *name;
        const char *data;
        size_t size; /* 0: strlen(data) */
        const char *expected;
};

#define CASE(n, d, e) { n, d, 0, e }
#define CASE_N(n, d, e) { n, d, sizeof(d) - 1, e }

static const struct parse_case parse_cases[] = {
        CASE("empty file", "", ""),
        CASE("plain", "[Service]\nExecStart=/bin/true\n", "2 [Service] ExecStart=/bin/true\n"),
        CASE("no trailing newline", "[Service]\nExecStart=/bin/true", "2 [Service] ExecStart=/bin/true\n"),
        CASE("blanks around key and value", "  [Unit]  \n\t Description \t=\t a b \t\n",
             "2 [Unit] Description=a b\n"),
        CASE("only blanks and tabs are stripped", "[Unit]\nKey\v=x\n", "2 [Unit] Key\v=x\n"),
        CASE("first '=' splits", "[Unit]\nA=b=c\n", "2 [Unit] A=b=c\n"),
        CASE("empty value", "[Unit]\nA=\n", "2 [Unit] A=\n"),
        CASE("comments", "# c\n; c\n  # c\n[Unit]\n\t;A=1\nB=2 # not a comment\n",
             "6 [Unit] B=2 # not a comment\n"),
        CASE("lines without '=' or key are ignored", "[Unit]\nfoo\n=bar\nC=1\n", "4 [Unit] C=1\n"),
        CASE("assignments before any section are ignored", "A=1\n[Unit]\nB=2\n", "3 [Unit] B=2\n"),
        CASE("unknown and repeated sections are reported as such", "[X-Foo]\nA=1\n[Service]\nB=2\n[Service]\nC=3\n",
             "2 [X-Foo] A=1\n4 [Service] B=2\n6 [Service] C=3\n"),
        CASE("section names are taken literally", "[ Service ]\nA=1\n[service]\nB=2\n",
             "2 [ Service ] A=1\n4 [service] B=2\n"),
        CASE("continuation: the backslash becomes a space", "[Service]\nExecStart=/bin/a \\\n  -x\nB=1\n",
             "2 [Service] ExecStart=/bin/a    -x\n4 [Service] B=1\n"),
        CASE("continuation over several lines", "[Service]\nA=1\\\n2\\\n3\n", "2 [Service] A=1 2 3\n"),
        CASE("comment lines inside a continuation are skipped", "[Service]\nA=1 \\\n# x\n; y\n 2\n",
             "2 [Service] A=1   2\n"),
        CASE("an empty line ends a continuation", "[Service]\nA=1 \\\n\nB=2\n", "2 [Service] A=1\n4 [Service] B=2\n"),
        CASE("an escaped backslash does not continue", "[Service]\nA=x\\\\\nB=2\n",
             "2 [Service] A=x\\\\\n3 [Service] B=2\n"),
        CASE("a backslash after an escaped one continues", "[Service]\nA=x\\\\\\\nB=2\n",
             "2 [Service] A=x\\\\ B=2\n"),
        CASE("continuation at the end of the file", "[Service]\nA=1 \\", "2 [Service] A=1\n"),
        CASE("continuation into a section header", "[Service]\nA=1 \\\n[Socket]\nB=2\n",
             "2 [Service] A=1  [Socket]\n4 [Service] B=2\n"),
        CASE("CRLF", "[Service]\r\nA=1\r\nB=2\r\n", "2 [Service] A=1\n3 [Service] B=2\n"),
        CASE("CR alone", "[Service]\rA=1\rB=2", "2 [Service] A=1\n3 [Service] B=2\n"),
        CASE("LF CR is one terminator", "[Service]\n\rA=1\n\r\n\rB=2", "2 [Service] A=1\n4 [Service] B=2\n"),
        CASE("CRLF continuation", "[Service]\r\nA=1 \\\r\n2\r\n", "2 [Service] A=1  2\n"),
        CASE_N("NUL ends a line", "[Service]\0ExecStartPre=+/bin/sh\0", "2 [Service] ExecStartPre=+/bin/sh\n"),
        CASE_N("NUL then LF are two lines", "[Service]\0\nA=1\n", "3 [Service] A=1\n"),
        CASE_N("LF then NUL is one", "[Service]\n\0A=1\n", "2 [Service] A=1\n"),
        CASE_N("NUL in a continuation", "[Service]\nA=1\\\0B=2\n", "2 [Service] A=1 B=2\n"),
        CASE("byte order mark", "\xef\xbb\xbf[Service]\nA=1\n", "2 [Service] A=1\n"),
        CASE("byte order mark on a later line, once", "\n\xef\xbb\xbf[Service]\n\xef\xbb\xbf" "A=1\n",
             "3 [Service] \xef\xbb\xbf" "A=1\n"),
        CASE("byte order mark after blanks is not one", "[Service]\n \xef\xbb\xbf[Socket]\nA=1\n",
             "3 [Service] A=1\n"),
};

UNIT_TABLE_TEST(unit_file, parse_table, parse_cases) {
        const struct parse_case *c = &parse_cases[*i];
        _cleanup_free_ char *out = NULL;
        size_t size = c->size ?: strlen(c->data);

        cr_assert(eq(int, parse(c->data, size, &out, NULL), 0), "%s", c->name);
        cr_assert(eq(str, out, (char *) c->expected), "%s", c->name);
}

struct error_case {
        const char *name;
        const char *data;
        int error;
        unsigned line;
};

static const struct error_case error_cases[] = {
        { "section header without ']'", "[Unit]\nA=1\n[Service\nExecStartPre=+/bin/sh\n", -EBADMSG, 3 },
        { "section header with trailing text", "[Service] x\n", -EBADMSG, 1 },
        { "section header in a continuation", "[Unit]\n \\\n[Service\n", -EBADMSG, 2 },
        { ".include", "[Service]\n.include /etc/shadow\n", -ENOEXEC, 2 },
        { ".include alone", "\n\n.include\n", -ENOEXEC, 3 },
};

UNIT_TABLE_TEST(unit_file, errors, error_cases) {
        const struct error_case *c = &error_cases[*i];
        _cleanup_free_ char *out = NULL;
        unsigned line = 0;

        cr_assert(eq(int, parse(c->data, strlen(c->data), &out, &line), c->error), "%s", c->name);
        cr_assert(eq(u32, line, c->line), "%s", c->name);
}

Test(unit_file, dot_include_prefix_is_a_key) {
        _cleanup_free_ char *out = NULL;

        cr_assert(eq(int, parse("[Unit]\n.included=1\n", 19, &out, NULL), 0));
        assert_str(out, "2 [Unit] .included=1\n");
}

/* systemd refuses a line of LONG_LINE_MAX bytes; one byte less is fine. */
Test(unit_file, long_lines) {
        size_t n = UNIT_FILE_LINE_MAX + 16;
        _cleanup_free_ char *data = malloc(n), *out = NULL;
        const char *head = "[Unit]\nDescription=";
        size_t h = strlen(head);
        unsigned line = 0;

        cr_assert(not(zero(ptr, data)));
        memcpy(data, head, h);
        memset(data + h, 'x', n - h);

        /* Line 2 is 12 + (UNIT_FILE_LINE_MAX - 1 - 12) bytes. */
        data[7 + UNIT_FILE_LINE_MAX - 1] = '\n';
        cr_assert(eq(int, parse(data, 7 + UNIT_FILE_LINE_MAX, &out, &line), 0));
        cr_assert(eq(sz, strlen(out), strlen("2 [Unit] Description=\n") + UNIT_FILE_LINE_MAX - 1 - 12));

        free(out);
        data[7 + UNIT_FILE_LINE_MAX - 1] = 'x';
        data[7 + UNIT_FILE_LINE_MAX] = '\n';
        cr_assert(eq(int, parse(data, 7 + UNIT_FILE_LINE_MAX + 1, &out, &line), -ENOBUFS));
        cr_assert(eq(u32, line, 2));
}

Test(unit_file, long_continuation) {
        size_t half = UNIT_FILE_LINE_MAX / 2 + 8, n = 7 + 2 * (half + 2);
        _cleanup_free_ char *data = malloc(n), *out = NULL;
        unsigned line = 0;

        cr_assert(not(zero(ptr, data)));
        memcpy(data, "[Unit]\n", 7);
        memset(data + 7, 'x', n - 7);
        data[7 + half] = '\\';
        data[7 + half + 1] = '\n';
        data[n - 1] = '\n';
        cr_assert(eq(int, parse(data, n, &out, &line), -ENOBUFS));
        cr_assert(eq(u32, line, 2));
}

static int stop_at_second(const char *section, const char *key, const char *value, unsigned line, void *userdata) {
        unsigned *seen = userdata;

        return ++*seen == 2 ? 7 : 0;
}

Test(unit_file, callback_stops_parsing) {
        unsigned seen = 0;

        cr_assert(eq(int, unit_file_parse("[A]\na=1\nb=2\nc=3\n", 16, stop_at_second, &seen, NULL), 7));
        cr_assert(eq(u32, seen, 2));
}

struct word_case {
        const char *input;
        const char *words; /* each word followed by '|' */
};

static const struct word_case word_cases[] = {
        { "", "" },
        { "   \t ", "" },
        { "a b\tc", "a|b|c|" },
        { "'a b' \"c d\"", "a b|c d|" },
        { "x'a b'y", "xa by|" },
        { "\"+/bin/sh\" -c", "+/bin/sh|-c|" },
        { "\\x2b/bin/sh", "+/bin/sh|" },
        { "\\053\\041", "+!|" },
        { "\\u002b\\U0000002b", "++|" },
        { "\\u00e9", "\xc3\xa9|" },
        { "a\\sb \\\\ \\\"", "a b|\\|\"|" },
        { "'\\x2b'", "+|" },
        { "\\q\\x0g\\x00", "\\q\\x0g\\x00|" },
        { "\\", "\\|" },
        { "'unterminated", "unterminated|" },
        { "a\\", "a\\|" },
};

UNIT_TABLE_TEST(unit_file, extract_word, word_cases) {
        const struct word_case *c = &word_cases[*i];
        _cleanup_free_ char *acc = unit_strf("%s", "");
        const char *p = c->input;
        char *word;
        int r, n = 0;

        while ((r = unit_file_extract_word(&p, &word)) > 0) {
                char *j = unit_strf("%s%s|", acc, word);

                free(word);
                free(acc);
                acc = j;
                cr_assert(lt(int, ++n, 10), "no progress on '%s'", c->input);
        }
        cr_assert(eq(int, r, 0));
        cr_assert(zero(ptr, word));
        cr_assert(eq(str, acc, (char *) c->words), "input '%s'", c->input);
}

struct privilege_case {
        const char *line;
        const char *prefix; /* NULL: none */
};

static const struct privilege_case privilege_cases[] = {
        { "/bin/true", NULL },
        { "-@:|/bin/true x", NULL },
        { "+/bin/sh", "+" },
        { "!/bin/sh", "!" },
        { "!!/bin/sh", "!!" },
        { "-!/bin/sh", "!" },
        { "@-+/bin/sh sh", "+" },
        { "|:!!/bin/sh", "!!" },
        { "\"+/bin/sh\" -c x", "+" },
        { "'-'+/bin/sh", "+" },
        { "\\x2b/bin/sh", "+" },
        { "\\041/bin/sh", "!" },
        { "\\u002b/bin/sh", "+" },
        { "/bin/true ; +/bin/sh", "+" },
        { "/bin/true ; ; !/bin/sh", "!" },
        { "\";\" +/bin/sh", "+" },
        { "; +/bin/sh", "+" },
        { "/bin/chmod +x f ; /bin/echo !", NULL },
        { "/usr/bin/find . -exec rm {} \\; +x", NULL },
        { "/bin/sh -c 'a; +b'", NULL },
        { "\\q+/bin/sh", NULL },
        { "", NULL },
};

UNIT_TABLE_TEST(unit_file, command_privilege, privilege_cases) {
        const struct privilege_case *c = &privilege_cases[*i];
        const char *prefix = (const char *) 1;

        cr_assert(eq(int, unit_file_command_privilege(c->line, &prefix), 0));
        if (c->prefix)
                cr_assert(eq(str, (char *) strna(prefix), (char *) c->prefix), "%s", c->line);
        else
                cr_assert(zero(ptr, (void *) prefix), "%s: %s", c->line, prefix);
}
