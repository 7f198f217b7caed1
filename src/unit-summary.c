/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "path-util.h"
#include "strv.h"
#include "unit-file.h"
#include "unit-summary.h"

const char *const unit_command_search_path[] = {
        "/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin", NULL,
};

static const char *const exec_keys[] = {
        "ExecCondition", "ExecStartPre", "ExecStart", "ExecStartPost", "ExecReload", "ExecStop", "ExecStopPost", NULL,
};

void unit_summary_done(UnitSummary *u) {
        strv_free(u->commands);
        strv_free(u->directories);
        strv_free(u->read_write_paths);
        strv_free(u->other_paths);
        free(u->protect_system);
}

static int parse_bool(const char *v) {
        static const char *const yes[] = { "1", "yes", "y", "true", "t", "on" };
        static const char *const no[] = { "0", "no", "n", "false", "f", "off" };

        for (size_t i = 0; i < ELEMENTSOF(yes); i++) {
                if (strcasecmp(v, yes[i]) == 0)
                        return 1;
                if (strcasecmp(v, no[i]) == 0)
                        return 0;
        }
        return -1;
}

/* Removes the entries of l that start with prefix (a reset of that key). */
static void strv_remove_prefixed(char **l, const char *prefix) {
        char **w = l;

        for (char **s = l; s && *s; s++) {
                if (startswith(*s, prefix))
                        free(*s);
                else
                        *w++ = *s;
        }
        if (w)
                *w = NULL;
}

static int add_words(char ***l, const char *tag, const char *value) {
        const char *p = value;
        int r;

        for (;;) {
                _cleanup_free_ char *word = NULL;
                char *entry;

                r = unit_file_extract_word(&p, &word);
                if (r <= 0)
                        return r;
                /* "-/path": a path that may be missing; ":" separates a source from its target. */
                if (asprintf(&entry, "%s%s", strempty(tag), word[0] == '-' ? word + 1 : word) < 0)
                        return -ENOMEM;
                r = strv_consume(l, entry);
                if (r < 0)
                        return r;
        }
}

static int on_assignment(const char *section, const char *key, const char *value, unsigned line, void *userdata) {
        static const char *const dirs[] = { "StateDirectory", "LogsDirectory", "CacheDirectory", "RuntimeDirectory",
                                            "ConfigurationDirectory" };
        UnitSummary *u = userdata;
        int r;

        if (!streq(section, "Service") && !streq(section, "Socket"))
                return 0;

        for (size_t i = 0; exec_keys[i]; i++)
                if (streq(key, exec_keys[i])) {
                        _cleanup_free_ char *prefix = NULL, *entry = NULL;

                        if (asprintf(&prefix, "%s\t", key) < 0)
                                return -ENOMEM;
                        if (isempty(value)) {
                                strv_remove_prefixed(u->commands, prefix);
                                return 0;
                        }
                        if (asprintf(&entry, "%s%s", prefix, value) < 0)
                                return -ENOMEM;
                        return strv_consume(&u->commands, TAKE_PTR(entry));
                }

        for (size_t i = 0; i < ELEMENTSOF(dirs); i++)
                if (streq(key, dirs[i])) {
                        _cleanup_free_ char *tag = NULL;

                        if (asprintf(&tag, "%.*s\t", (int) (strlen(dirs[i]) - STRLEN("Directory")), dirs[i]) < 0)
                                return -ENOMEM;
                        if (isempty(value)) {
                                strv_remove_prefixed(u->directories, tag);
                                return 0;
                        }
                        return add_words(&u->directories, tag, value);
                }

        if (streq(key, "ReadWritePaths")) {
                if (isempty(value)) {
                        u->read_write_paths = strv_free(u->read_write_paths);
                        return 0;
                }
                return add_words(&u->read_write_paths, NULL, value);
        }
        if (streq(key, "PIDFile") || streq(key, "WorkingDirectory")) {
                if (isempty(value) || value[0] == '~')
                        return 0;
                r = strv_extend(&u->other_paths, value[0] == '-' ? value + 1 : value);
                return r;
        }
        if (streq(key, "PrivateTmp"))
                u->private_tmp = parse_bool(value);
        else if (streq(key, "DynamicUser"))
                u->dynamic_user = parse_bool(value);
        else if (streq(key, "ProtectSystem")) {
                char *copy = strdup(value);

                if (!copy)
                        return -ENOMEM;
                free_and_replace(u->protect_system, copy);
        }
        return 0;
}

int unit_summary_parse(const char *data, size_t size, UnitSummary *ret) {
        UnitSummary u = { .private_tmp = -1, .dynamic_user = -1 };
        int r;

        r = unit_file_parse(data, size, on_assignment, &u, NULL);
        if (r < 0) {
                unit_summary_done(&u);
                return r;
        }
        *ret = u;
        return 0;
}

/* --------------------------------------------------------------------------- the commands */

static void command_done(UnitCommand *c) {
        free(c->key);
        free(c->path);
        strv_free(c->args);
}

void unit_commands_free(UnitCommand *c, size_t n) {
        for (size_t i = 0; i < n; i++)
                command_done(&c[i]);
        free(c);
}

int unit_commands_parse(const char *entry, UnitCommand **ret, size_t *ret_n) {
        const char *tab = strchr(entry, '\t'), *p = tab + 1;
        UnitCommand *list = NULL;
        size_t n = 0;
        bool expect_command = true;
        int r;

        for (;;) {
                _cleanup_free_ char *word = NULL;

                r = unit_file_extract_word(&p, &word);
                if (r < 0)
                        goto fail;
                if (r == 0)
                        break;
                if (streq(word, ";")) {
                        expect_command = true;
                        continue;
                }
                if (!expect_command) {
                        r = strv_extend(&list[n - 1].args, word);
                        if (r < 0)
                                goto fail;
                        continue;
                }
                expect_command = false;

                UnitCommand *grown = reallocarray(list, n + 1, sizeof(UnitCommand));
                if (!grown) {
                        r = -ENOMEM;
                        goto fail;
                }
                list = grown;
                list[n] = (UnitCommand) { .key = strndup(entry, tab - entry) };
                const char *w = word;
                for (; *w && strchr("-@:+!|", *w); w++) {
                        list[n].ignore_failure = list[n].ignore_failure || *w == '-';
                        list[n].unsandboxed = list[n].unsandboxed || *w == '+';
                }
                list[n].path = strdup(w);
                n++;
                if (!list[n - 1].key || !list[n - 1].path) {
                        r = -ENOMEM;
                        goto fail;
                }
        }

        *ret = list;
        *ret_n = n;
        return 0;

fail:
        unit_commands_free(list, n);
        return r;
}

bool unit_command_is_checkable(const UnitCommand *c) {
        return !c->unsandboxed && !isempty(c->path) && !strpbrk(c->path, "%$");
}

int unit_command_candidates(const UnitCommand *c, char ***ret) {
        _cleanup_strv_free_ char **l = NULL;
        int r;

        if (c->path[0] == '/')
                r = strv_extend(&l, c->path);
        else if (strchr(c->path, '/'))
                r = 0; /* relative with a directory: systemd refuses it; attach's check says so */
        else
                for (size_t i = 0; unit_command_search_path[i]; i++) {
                        r = strv_consume(&l, path_join(unit_command_search_path[i], c->path));
                        if (r < 0)
                                break;
                }
        if (r < 0)
                return r;
        *ret = TAKE_PTR(l);
        return 0;
}
