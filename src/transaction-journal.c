/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <fcntl.h>
#include <limits.h>
#include <json-c/json.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "escape.h"
#include "fd-util.h"
#include "fileio.h"
#include "path-util.h"
#include "transaction-journal.h"

#define JOURNAL_VERSION 1
/* Paths only: even ten thousand units stay far below this. */
#define JOURNAL_SIZE_MAX (64U * 1024U * 1024U)
/* Recovery reads a file this large at most to compare it: the daemon writes unit files and
 * drop-ins, far smaller. */
#define RECORDED_FILE_SIZE_MAX (64U * 1024U * 1024U)

DEFINE_TRIVIAL_CLEANUP_FUNC(struct json_object *, json_object_put);

static int add_string(struct json_object *o, const char *key, const char *value) {
        struct json_object *v;

        if (!value)
                return 0;
        v = json_object_new_string(value);
        if (!v)
                return -ENOMEM;
        if (json_object_object_add(o, key, v) < 0) {
                json_object_put(v);
                return -ENOMEM;
        }
        return 0;
}

static int add_hex(struct json_object *o, const char *key, const uint8_t *bytes, size_t n) {
        _cleanup_free_ char *hex = hexmem(bytes, n);

        return hex ? add_string(o, key, hex) : -ENOMEM;
}

static int add_digest(struct json_object *o, const TransactionStep *s) {
        uint8_t bytes[8];
        struct json_object *size;

        for (size_t i = 0; i < sizeof(bytes); i++)
                bytes[i] = (uint8_t) (s->digest >> (56 - 8 * i));
        size = json_object_new_int64((int64_t) s->size);
        if (!size || json_object_object_add(o, "size", size) < 0) {
                json_object_put(size);
                return -ENOMEM;
        }
        return add_hex(o, "digest", bytes, sizeof(bytes));
}

static struct json_object *step_to_json(const TransactionStep *s) {
        _cleanup_(json_object_putp) struct json_object *o = json_object_new_object();

        if (!o)
                return NULL;
        if (add_string(o, "kind", step_kind_to_string(s->kind)) < 0 ||
            add_string(o, "path", s->path) < 0 ||
            add_string(o, "temp", s->temp) < 0 ||
            add_string(o, "backup", s->backup) < 0)
                return NULL;
        if (s->kind == STEP_CREATE && s->target && add_string(o, "target", s->target) < 0)
                return NULL;
        if (s->kind == STEP_CREATE && !s->target && s->digest_known && add_digest(o, s) < 0)
                return NULL;
        return TAKE_PTR(o);
}

static char *journal_name_with(const char *id, const char *suffix) {
        char *name;

        if (asprintf(&name, "%s%s", id, suffix) < 0)
                return NULL;
        return name;
}

static char *journal_name(const char *id) {
        return journal_name_with(id, TRANSACTION_JOURNAL_SUFFIX);
}

int transaction_journal_parse_name(const char *name, char **ret_id, bool *ret_committed) {
        const char *suffixes[] = { TRANSACTION_JOURNAL_SUFFIX, TRANSACTION_JOURNAL_COMMITTED_SUFFIX };

        if (!name || name[0] == '.')
                return -EINVAL;
        for (size_t i = 0; i < ELEMENTSOF(suffixes); i++) {
                size_t n = strlen(name), k = strlen(suffixes[i]);

                if (n <= k || !streq(name + n - k, suffixes[i]))
                        continue;
                if (ret_id) {
                        *ret_id = strndup(name, n - k);
                        if (!*ret_id)
                                return -ENOMEM;
                }
                if (ret_committed)
                        *ret_committed = i == 1;
                return 0;
        }
        return -EINVAL;
}

int transaction_journal_save(const char *dir, const char *id, const uint8_t key[static SIPHASH_KEY_SIZE],
                             const char *description, bool committing, const TransactionStep *steps,
                             size_t n_steps) {
        _cleanup_(json_object_putp) struct json_object *root = json_object_new_object();
        _cleanup_free_ char *name = journal_name(id);
        _cleanup_close_ int dir_fd = -EBADF;
        struct json_object *array;
        const char *text;
        int r;

        if (!root || !name)
                return -ENOMEM;

        array = json_object_new_array_ext((int) n_steps);
        if (!array || json_object_object_add(root, "steps", array) < 0) {
                json_object_put(array);
                return -ENOMEM;
        }
        for (size_t i = 0; i < n_steps; i++) {
                struct json_object *o = step_to_json(&steps[i]);

                if (!o || json_object_array_add(array, o) < 0) {
                        json_object_put(o);
                        return -ENOMEM;
                }
        }
        if (json_object_object_add(root, "version", json_object_new_int(JOURNAL_VERSION)) < 0 ||
            add_string(root, "id", id) < 0 || add_string(root, "description", description) < 0 ||
            add_hex(root, "key", key, SIPHASH_KEY_SIZE) < 0 ||
            add_string(root, "state", committing ? "committing" : "applying") < 0)
                return -ENOMEM;

        text = json_object_to_json_string_ext(root, JSON_C_TO_STRING_PLAIN);
        if (!text)
                return -ENOMEM;

        dir_fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dir_fd < 0)
                return -errno;

        r = write_file_atomic_at(dir_fd, name, text, strlen(text), 0600, /* replace= */ true);
        if (r < 0)
                return r;
        return RET_NERRNO(fsync(dir_fd));
}

int transaction_journal_commit(const char *dir, const char *id) {
        _cleanup_free_ char *name = journal_name(id),
                            *committed = journal_name_with(id, TRANSACTION_JOURNAL_COMMITTED_SUFFIX);
        _cleanup_close_ int dir_fd = -EBADF;
        int r;

        if (!name || !committed)
                return -ENOMEM;

        dir_fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dir_fd < 0)
                return -errno;
        if (renameat2(dir_fd, name, dir_fd, committed, RENAME_NOREPLACE) < 0)
                return -errno;
        if (fsync(dir_fd) >= 0)
                return 0;

        /* Whether the commit point is on disk is unknown: the caller rolls back, which must not
         * look committed to a recovery after a crash meanwhile. */
        r = -errno;
        if (renameat2(dir_fd, committed, dir_fd, name, RENAME_NOREPLACE) >= 0)
                (void) fsync(dir_fd);
        return r;
}

int transaction_journal_remove(const char *dir, const char *id, bool sync) {
        _cleanup_free_ char *name = journal_name(id),
                            *committed = journal_name_with(id, TRANSACTION_JOURNAL_COMMITTED_SUFFIX);
        _cleanup_close_ int dir_fd = -EBADF;

        if (!name || !committed)
                return -ENOMEM;

        dir_fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dir_fd < 0)
                return -errno;
        if (unlinkat(dir_fd, name, 0) < 0 && errno != ENOENT)
                return -errno;
        if (unlinkat(dir_fd, committed, 0) < 0 && errno != ENOENT)
                return -errno;
        return sync ? RET_NERRNO(fsync(dir_fd)) : 0;
}

void transaction_journal_done(TransactionJournal *j) {
        free(j->id);
        free(j->description);
        for (size_t i = 0; i < j->n_steps; i++)
                transaction_step_done(&j->steps[i]);
        free(j->steps);
        *j = (TransactionJournal) {};
}

static const char *get_string(struct json_object *o, const char *key) {
        struct json_object *v;

        if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_string))
                return NULL;
        return json_object_get_string(v);
}

/* A hidden file of transaction id must sit in path's directory and carry our name. */
static bool hidden_file_is_valid(const char *hidden, const char *path, const char *id) {
        _cleanup_free_ char *dir = NULL, *hidden_dir = NULL, *prefix = NULL;
        const char *name;

        if (!path_is_normalized_absolute(hidden))
                return false;
        dir = path_dirname(path);
        hidden_dir = path_dirname(hidden);
        if (!dir || !hidden_dir || !streq(dir, hidden_dir))
                return false;
        if (asprintf(&prefix, TRANSACTION_HIDDEN_PREFIX "%s-", id) < 0)
                return false;
        name = path_last_component(hidden);
        return startswith(name, prefix) && filename_is_valid(name);
}

/* What a create step put in place: its symlink target, or its size and digest. Both absent in
 * journals from before they were recorded. */
static int created_from_json(struct json_object *o, bool has_key, TransactionStep *s) {
        struct json_object *target, *size, *digest;
        uint8_t bytes[8];
        int64_t n;

        if (json_object_object_get_ex(o, "target", &target)) {
                if (!json_object_is_type(target, json_type_string) ||
                    (size_t) json_object_get_string_len(target) != strlen(json_object_get_string(target)) ||
                    isempty(json_object_get_string(target)) || json_object_get_string_len(target) >= PATH_MAX ||
                    json_object_object_get_ex(o, "digest", NULL))
                        return -EBADMSG;
                s->target = strdup(json_object_get_string(target));
                return s->target ? 0 : -ENOMEM;
        }
        if (!json_object_object_get_ex(o, "digest", &digest))
                return json_object_object_get_ex(o, "size", NULL) ? -EBADMSG : 0;
        if (!has_key || !json_object_is_type(digest, json_type_string) ||
            unhexmem_exact(json_object_get_string(digest), bytes, sizeof(bytes)) < 0 ||
            !json_object_object_get_ex(o, "size", &size) || !json_object_is_type(size, json_type_int))
                return -EBADMSG;
        n = json_object_get_int64(size);
        if (n < 0 || n > RECORDED_FILE_SIZE_MAX)
                return -EBADMSG;
        s->size = (size_t) n;
        for (size_t i = 0; i < sizeof(bytes); i++)
                s->digest = s->digest << 8 | bytes[i];
        s->digest_known = true;
        return 0;
}

static int step_from_json(struct json_object *o, const char *id, bool has_key, TransactionStep *ret) {
        const char *path = get_string(o, "path"), *temp = get_string(o, "temp"), *backup = get_string(o, "backup");
        StepKind kind = step_kind_from_string(get_string(o, "kind"));
        TransactionStep s = { .kind = kind, .progress = STEP_PROGRESS_UNKNOWN };
        int r;

        if (kind < 0 || !path_is_normalized_absolute(path) || streq(path, "/"))
                return -EBADMSG;
        if ((kind == STEP_CREATE) != !!temp || ((kind == STEP_REMOVE || kind == STEP_REMOVE_TREE) && !backup) ||
            ((kind == STEP_MKDIR || kind == STEP_RMDIR) && backup))
                return -EBADMSG;
        if ((temp && !hidden_file_is_valid(temp, path, id)) || (backup && !hidden_file_is_valid(backup, path, id)))
                return -EBADMSG;

        s.path = strdup(path);
        s.temp = temp ? strdup(temp) : NULL;
        s.backup = backup ? strdup(backup) : NULL;
        if (!s.path || (temp && !s.temp) || (backup && !s.backup)) {
                transaction_step_done(&s);
                return -ENOMEM;
        }
        r = kind == STEP_CREATE ? created_from_json(o, has_key, &s) : 0;
        if (r < 0) {
                transaction_step_done(&s);
                return r;
        }
        *ret = s;
        return 0;
}

static bool id_is_valid(const char *id) {
        if (isempty(id) || strlen(id) > 64)
                return false;
        for (const char *p = id; *p; p++)
                if (!strchr("0123456789abcdef", *p))
                        return false;
        return true;
}

int transaction_journal_load(const char *dir, const char *filename, TransactionJournal *ret) {
        _cleanup_(transaction_journal_done) TransactionJournal j = {};
        _cleanup_(json_object_putp) struct json_object *root = NULL;
        _cleanup_free_ char *data = NULL, *name_id = NULL;
        _cleanup_close_ int dir_fd = -EBADF, fd = -EBADF;
        struct json_object *steps, *version;
        const char *id, *state, *description, *key;
        bool committed;
        size_t n;
        int r;

        if (transaction_journal_parse_name(filename, &name_id, &committed) < 0)
                return -EBADMSG;

        dir_fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dir_fd < 0)
                return -errno;
        fd = openat(dir_fd, filename, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
        if (fd < 0)
                return -errno;
        r = read_full_fd(fd, JOURNAL_SIZE_MAX, &data, NULL);
        if (r < 0)
                return r;

        root = json_tokener_parse(data);
        if (!root || !json_object_is_type(root, json_type_object))
                return -EBADMSG;

        if (!json_object_object_get_ex(root, "version", &version) || json_object_get_int(version) != JOURNAL_VERSION)
                return -EPROTONOSUPPORT;

        id = get_string(root, "id");
        state = get_string(root, "state");
        description = get_string(root, "description");
        if (!id_is_valid(id) || !state || (!streq(state, "applying") && !streq(state, "committing")))
                return -EBADMSG;
        /* The file name is how recovery found it: it must agree with what it says. */
        if (!streq(name_id, id))
                return -EBADMSG;

        if (!json_object_object_get_ex(root, "steps", &steps) || !json_object_is_type(steps, json_type_array))
                return -EBADMSG;
        n = json_object_array_length(steps);

        j.steps = calloc(n ?: 1, sizeof(TransactionStep));
        j.id = strdup(id);
        j.description = strdup(strempty(description));
        if (!j.steps || !j.id || !j.description)
                return -ENOMEM;
        key = get_string(root, "key");
        if (key && unhexmem_exact(key, j.key, sizeof(j.key)) < 0)
                return -EBADMSG;
        j.has_key = key != NULL;
        for (size_t i = 0; i < n; i++) {
                r = step_from_json(json_object_array_get_idx(steps, i), id, j.has_key, &j.steps[i]);
                if (r < 0)
                        return r;
                j.n_steps++;
        }
        j.committing = committed || streq(state, "committing");

        *ret = j;
        j = (TransactionJournal) {};
        return 0;
}
