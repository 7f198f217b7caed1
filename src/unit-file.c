/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "escape.h"
#include "macro.h"
#include "path-util.h"
#include "unit-file.h"

/* systemd's WHITESPACE and COMMENTS. Only these are stripped: "Key\v=" is the key "Key\v". */
#define BLANKS " \t\n\r"
#define COMMENT_CHARS "#;"
#define UTF8_BOM "\xef\xbb\xbf"

enum {
        EOL_NONE = 0,
        EOL_ZERO = 1 << 0,
        EOL_TEN = 1 << 1,
        EOL_THIRTEEN = 1 << 2,
};

static int eol_of(char c) {
        switch (c) {
        case '\0':
                return EOL_ZERO;
        case '\n':
                return EOL_TEN;
        case '\r':
                return EOL_THIRTEEN;
        default:
                return EOL_NONE;
        }
}

typedef struct Reader {
        const char *data;
        size_t size, pos;
} Reader;

/* systemd's read_line(): a line ends at EOF, or after a run of terminators in which no kind
 * repeats and nothing follows a NUL ("\r\n", "\n\r\0" are one terminator, "\n\n" two). The
 * contents are the bytes before the terminator. Returns 1 and the contents, 0 at the end, or
 * -ENOBUFS when UNIT_FILE_LINE_MAX bytes are reached. */
static int reader_line(Reader *r, const char **ret, size_t *ret_len) {
        size_t start = r->pos, n = 0, count = 0;
        int previous = EOL_NONE;

        for (;;) {
                int eol;

                if (n >= UNIT_FILE_LINE_MAX)
                        return -ENOBUFS;
                if (r->pos >= r->size)
                        break;

                eol = eol_of(r->data[r->pos]);
                if ((previous & EOL_ZERO) || (eol == EOL_NONE && previous != EOL_NONE) ||
                    (eol != EOL_NONE && (previous & eol)))
                        break;

                r->pos++;
                count++;
                if (eol != EOL_NONE)
                        previous |= eol;
                else
                        n++;
        }

        if (count == 0)
                return 0;
        *ret = r->data + start;
        *ret_len = n;
        return 1;
}

static char *strip(char *s) {
        char *end;

        s += strspn(s, BLANKS);
        end = s + strlen(s);
        while (end > s && strchr(BLANKS, end[-1]))
                end--;
        *end = '\0';
        return s;
}

/* Whether the logical line ends in a backslash that is not itself escaped, as systemd decides it:
 * a backslash escapes whatever character follows it, counted from the start of the line. */
static bool ends_escaped(const char *p) {
        bool escaped = false;

        for (; *p; p++) {
                if (escaped)
                        escaped = false;
                else if (*p == '\\')
                        escaped = true;
        }
        return escaped;
}

typedef struct Parser {
        UnitFileAssignment fn;
        void *userdata;
        char *section; /* NULL until the first section header */
        unsigned error_line;
} Parser;

static int parse_line(Parser *p, char *l, unsigned line) {
        char *e;

        l = strip(l);
        if (*l == '\0')
                return 0;

        /* Old systemd versions followed ".include PATH" to a file on the host, newer ones ignore
         * the line; neither can be checked here. */
        if (startswith(l, ".include") && strchr(BLANKS, l[strlen(".include")])) {
                p->error_line = line;
                return -ENOEXEC;
        }

        if (*l == '[') {
                size_t k = strlen(l);
                char *n;

                if (l[k - 1] != ']') {
                        p->error_line = line;
                        return -EBADMSG;
                }
                n = strndup(l + 1, k - 2);
                if (!n)
                        return -ENOMEM;
                free_and_replace(p->section, n);
                return 0;
        }

        if (!p->section)
                return 0;

        e = strchr(l, '=');
        if (!e || e == l)
                return 0;
        *e = '\0';

        return p->fn(p->section, strip(l), strip(e + 1), line, p->userdata);
}

static int parse_all(Parser *p, Reader *rd) {
        _cleanup_free_ char *continuation = NULL;
        unsigned line = 0, continuation_line = 0;
        bool bom_seen = false;
        int r;

        for (;;) {
                _cleanup_free_ char *buf = NULL;
                const char *start;
                char *l, *q;
                size_t len;

                r = reader_line(rd, &start, &len);
                if (r == -ENOBUFS) {
                        p->error_line = line + 1;
                        return r;
                }
                if (r == 0)
                        break;
                line++;

                buf = strndup(start, len);
                if (!buf)
                        return -ENOMEM;

                /* Comments are dropped before anything else, even inside a continuation. */
                l = buf + strspn(buf, BLANKS);
                if (*l != '\0' && strchr(COMMENT_CHARS, *l))
                        continue;

                l = buf;
                if (!bom_seen && startswith(buf, UTF8_BOM)) {
                        l = buf + strlen(UTF8_BOM);
                        bom_seen = true;
                }

                if (continuation) {
                        size_t a = strlen(continuation), b = strlen(l);

                        if (a + b > UNIT_FILE_LINE_MAX) {
                                p->error_line = continuation_line;
                                return -ENOBUFS;
                        }
                        q = realloc(continuation, a + b + 1);
                        if (!q)
                                return -ENOMEM;
                        memcpy(q + a, l, b + 1);
                        continuation = q;
                        l = continuation;
                }

                if (ends_escaped(l)) {
                        l[strlen(l) - 1] = ' ';
                        if (!continuation) {
                                continuation = strdup(l);
                                if (!continuation)
                                        return -ENOMEM;
                                continuation_line = line;
                        }
                        continue;
                }

                r = parse_line(p, l, continuation ? continuation_line : line);
                if (r != 0)
                        return r;
                continuation = mfree(continuation);
        }

        if (continuation)
                return parse_line(p, continuation, continuation_line);
        return 0;
}

int unit_file_parse(const char *data, size_t size, UnitFileAssignment fn, void *userdata,
                    unsigned *ret_error_line) {
        Parser p = { .fn = fn, .userdata = userdata };
        Reader rd = { .data = data, .size = size };
        int r;

        r = parse_all(&p, &rd);
        free(p.section);
        if (ret_error_line && (r == -ENOBUFS || r == -EBADMSG || r == -ENOEXEC))
                *ret_error_line = p.error_line;
        return r;
}

static size_t utf8_encode(uint32_t c, char *out) {
        if (c < 0x80) {
                out[0] = (char) c;
                return 1;
        }
        if (c < 0x800) {
                out[0] = (char) (0xC0 | (c >> 6));
                out[1] = (char) (0x80 | (c & 0x3F));
                return 2;
        }
        if (c < 0x10000) {
                out[0] = (char) (0xE0 | (c >> 12));
                out[1] = (char) (0x80 | ((c >> 6) & 0x3F));
                out[2] = (char) (0x80 | (c & 0x3F));
                return 3;
        }
        out[0] = (char) (0xF0 | (c >> 18));
        out[1] = (char) (0x80 | ((c >> 12) & 0x3F));
        out[2] = (char) (0x80 | ((c >> 6) & 0x3F));
        out[3] = (char) (0x80 | (c & 0x3F));
        return 4;
}

/* systemd's cunescape_one(): s points after the backslash. Writes the decoded bytes to out and
 * returns how many characters of s the escape used, 0 if it is not a valid escape. */
static size_t unescape_one(const char *s, char out[static 4], size_t *ret_len) {
        static const char simple_from[] = "abfnrtv\\\"'s", simple_to[] = "\a\b\f\n\r\t\v\\\"' ";
        const char *simple = s[0] ? strchr(simple_from, s[0]) : NULL;
        uint32_t c = 0;
        size_t digits;

        if (simple) {
                out[0] = simple_to[simple - simple_from];
                *ret_len = 1;
                return 1;
        }

        switch (s[0]) {
        case 'x':
        case 'u':
        case 'U':
                digits = s[0] == 'x' ? 2 : s[0] == 'u' ? 4 : 8;
                for (size_t i = 1; i <= digits; i++) {
                        int v = unhexchar(s[i]);
                        if (v < 0)
                                return 0;
                        c = (c << 4) | (uint32_t) v;
                }
                if (c == 0 || c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF))
                        return 0;
                if (s[0] == 'x') {
                        out[0] = (char) c;
                        *ret_len = 1;
                } else
                        *ret_len = utf8_encode(c, out);
                return digits + 1;
        case '0' ... '7':
                for (size_t i = 0; i < 3; i++) {
                        if (s[i] < '0' || s[i] > '7')
                                return 0;
                        c = (c << 3) | (uint32_t) (s[i] - '0');
                }
                if (c == 0 || c > 255)
                        return 0;
                out[0] = (char) c;
                *ret_len = 1;
                return 3;
        default:
                return 0;
        }
}

int unit_file_extract_word(const char **p, char **ret) {
        const char *s = *p + strspn(*p, BLANKS);
        _cleanup_free_ char *word = NULL;
        size_t n = 0;
        char quote = 0;

        if (*s == '\0') {
                *p = s;
                *ret = NULL;
                return 0;
        }

        /* Every input character yields at most four output bytes. */
        word = malloc(strlen(s) * 4 + 1);
        if (!word)
                return -ENOMEM;

        for (; *s; s++) {
                if (*s == '\\') {
                        char out[4];
                        size_t len, used;

                        if (s[1] == '\0') {
                                word[n++] = '\\';
                                continue;
                        }
                        used = unescape_one(s + 1, out, &len);
                        if (used == 0) {
                                /* Kept verbatim, like systemd's relaxed retry does. */
                                word[n++] = '\\';
                                word[n++] = s[1];
                                s++;
                                continue;
                        }
                        memcpy(word + n, out, len);
                        n += len;
                        s += used;
                        continue;
                }

                if (quote) {
                        if (*s == quote)
                                quote = 0;
                        else
                                word[n++] = *s;
                        continue;
                }

                if (*s == '\'' || *s == '"') {
                        quote = *s;
                        continue;
                }
                if (strchr(BLANKS, *s))
                        break;
                word[n++] = *s;
        }
        word[n] = '\0';

        *p = s + strspn(s, BLANKS);
        *ret = TAKE_PTR(word);
        return 1;
}

int unit_file_command_privilege(const char *value, const char **ret) {
        _cleanup_free_ char *copy = strdup(value);
        bool expect_command = true;
        char *save = NULL;

        if (!copy)
                return -ENOMEM;

        /* Split at blanks, ignoring quotes: every word systemd starts a command with starts a
         * word here too. */
        for (char *token = strtok_r(copy, BLANKS, &save); token; token = strtok_r(NULL, BLANKS, &save)) {
                _cleanup_free_ char *word = NULL;
                const char *p = token;
                size_t bangs = 0;
                bool plus = false;
                int r;

                if (!expect_command) {
                        expect_command = streq(token, ";");
                        continue;
                }

                r = unit_file_extract_word(&p, &word);
                if (r < 0)
                        return r;
                if (r == 0 || streq(word, ";"))
                        continue;
                expect_command = false;

                for (const char *f = word; *f && strchr("-@:+!|", *f); f++) {
                        plus = plus || *f == '+';
                        bangs += *f == '!';
                }
                if (plus || bangs > 0) {
                        *ret = plus ? "+" : bangs > 1 ? "!!" : "!";
                        return 0;
                }
        }

        *ret = NULL;
        return 0;
}
