/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "fd-util.h"
#include "reader-protocol.h"
#include "reader-request.h"
#include "strv.h"

void reader_request_done(ReaderRequest *r) {
        r->image_path = mfree(r->image_path);
        r->image_name = mfree(r->image_name);
        r->matches = strv_free(r->matches);
        r->check_paths = strv_free(r->check_paths);
}

static const char *flags_to_string(bool extension, bool force_extension) {
        if (!extension)
                return "";
        return force_extension ? "force-extension" : "extension";
}

int reader_request_send(int sock, const char *image_path, const char *image_name, bool extension,
                        bool force_extension, char * const *matches, char * const *check_paths, int tree_fd) {
        size_t n_matches = strv_length((char **) matches), n_check = strv_length((char **) check_paths);
        _cleanup_free_ const char **fields = calloc(4 + n_matches + n_check + 1, sizeof(char *));
        char count[32];
        size_t n = 0;

        if (!fields)
                return -ENOMEM;
        if (!image_path || !image_name || tree_fd < 0)
                return -EINVAL;

        if (matches)
                snprintf(count, sizeof(count), "%zu", n_matches);
        else
                strcpy(count, "all");
        fields[n++] = image_path;
        fields[n++] = image_name;
        fields[n++] = flags_to_string(extension, force_extension);
        fields[n++] = count;
        for (size_t i = 0; i < n_matches; i++)
                fields[n++] = matches[i];
        for (size_t i = 0; i < n_check; i++)
                fields[n++] = check_paths[i];
        fields[n] = NULL;

        return reader_send(sock, (ReaderMessageType) READER_REQUEST, fields, tree_fd);
}

/* The fields of buf after the type byte; every one NUL-terminated. */
static int split_fields(const char *buf, size_t size, char ***ret) {
        _cleanup_strv_free_ char **l = NULL;
        size_t i = 1;

        while (i < size) {
                const char *end = memchr(buf + i, '\0', size - i);
                int r;

                if (!end)
                        return -EBADMSG;
                r = strv_extend(&l, buf + i);
                if (r < 0)
                        return r;
                i = (size_t) (end - buf) + 1;
        }
        *ret = TAKE_PTR(l);
        return 0;
}

/* l[from, to) as a new list; an empty list for from == to. */
static char **strv_slice(char **l, size_t from, size_t to) {
        char **s = calloc(to - from + 1, sizeof(char *));

        if (!s)
                return NULL;
        for (size_t i = from; i < to; i++) {
                s[i - from] = strdup(l[i]);
                if (!s[i - from])
                        return strv_free(s);
        }
        return s;
}

int reader_request_parse(const char *buf, size_t size, ReaderRequest *ret) {
        _cleanup_strv_free_ char **fields = NULL;
        _cleanup_(reader_request_done) ReaderRequest req = {};
        size_t n_fields, n_matches, first_check;
        char *end;
        int r;

        if (size < 1 || buf[0] != READER_REQUEST)
                return -EBADMSG;
        r = split_fields(buf, size, &fields);
        if (r < 0)
                return r;
        n_fields = strv_length(fields);
        if (n_fields < 4 || isempty(fields[0]) || isempty(fields[1]))
                return -EBADMSG;

        if (streq(fields[2], "extension"))
                req.extension = true;
        else if (streq(fields[2], "force-extension"))
                req.extension = req.force_extension = true;
        else if (!isempty(fields[2]))
                return -EBADMSG;

        if (streq(fields[3], "all"))
                first_check = 4;
        else {
                unsigned long long v;

                errno = 0;
                v = strtoull(fields[3], &end, 10);
                if (errno != 0 || end == fields[3] || *end != '\0' || fields[3][0] == '-' || v > n_fields - 4)
                        return -EBADMSG;
                n_matches = (size_t) v;
                first_check = 4 + n_matches;
                req.matches = strv_slice(fields, 4, first_check);
                if (!req.matches)
                        return -ENOMEM;
        }
        req.check_paths = strv_slice(fields, first_check, n_fields);
        req.image_path = strdup(fields[0]);
        req.image_name = strdup(fields[1]);
        if (!req.check_paths || !req.image_path || !req.image_name)
                return -ENOMEM;

        *ret = req;
        req = (ReaderRequest) {};
        return 0;
}

int reader_request_receive(int sock, ReaderRequest *ret, int *ret_tree_fd) {
        char buf[READER_MESSAGE_MAX];
        _cleanup_close_ int fd = -EBADF;
        ssize_t n;
        int r;

        n = reader_receive(sock, buf, sizeof(buf), /* flags= */ 0, &fd);
        if (n <= 0)
                return (int) n;
        if (fd < 0)
                return -EBADMSG;

        r = reader_request_parse(buf, (size_t) n, ret);
        if (r < 0)
                return r;
        *ret_tree_fd = TAKE_FD(fd);
        return 1;
}
