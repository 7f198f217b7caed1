/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdio.h>
#include <strings.h>

#include "image-name.h"
#include "path-util.h"
#include "portable-error.h"
#include "portable-manifest.h"
#include "strv.h"
#include "unit-file.h"

#define MANIFEST_SECTION "Portable"

typedef struct ParseState {
        const char *path;
        char *dir;
        PortableManifest *m;
        sd_bus_error *reterr;
        unsigned seen;        /* bit per single-valued key: given once only */
} ParseState;

static int parse_bool(const char *s) {
        static const char *const yes[] = { "1", "yes", "y", "true", "t", "on" };
        static const char *const no[] = { "0", "no", "n", "false", "f", "off" };

        for (size_t i = 0; i < ELEMENTSOF(yes); i++) {
                if (strcasecmp(s, yes[i]) == 0)
                        return 1;
                if (strcasecmp(s, no[i]) == 0)
                        return 0;
        }
        return -EINVAL;
}

/* A name stays a name (the search path is asked); anything with a slash is a path, relative ones
 * taken from the manifest's directory. */
static int name_or_path(ParseState *s, const char *value, char **ret) {
        char *p;

        if (!strchr(value, '/'))
                p = strdup(value);
        else if (value[0] == '/')
                p = strdup(value);
        else
                p = path_join(s->dir, value);
        if (!p)
                return -ENOMEM;
        *ret = p;
        return 0;
}

static int error_at(ParseState *s, unsigned line, const char *key, const char *problem, const char *value) {
        return portable_error(s->reterr, EINVAL, SD_BUS_ERROR_INVALID_ARGS, "Manifest '%s', line %u: %s= %s: '%s'.",
                              s->path, line, key, problem, value);
}

/* Words of a list setting; an empty value resets the list. */
static int parse_words(ParseState *s, const char *key, const char *value, unsigned line, bool paths, char ***list) {
        const char *p = value;
        int r;

        if (isempty(value)) {
                *list = strv_free(*list);
                return 0;
        }
        for (;;) {
                _cleanup_free_ char *word = NULL, *resolved = NULL;

                r = unit_file_extract_word(&p, &word);
                if (r < 0)
                        return r;
                if (r == 0)
                        return 0;
                if (paths) {
                        if (!strchr(word, '/') && !image_name_is_valid(word))
                                return error_at(s, line, key, "not an image name or path", word);
                        r = name_or_path(s, word, &resolved);
                } else {
                        if (!image_name_is_valid(word))
                                return error_at(s, line, key, "not a valid unit prefix", word);
                        resolved = TAKE_PTR(word);
                }
                if (r < 0)
                        return r;
                r = strv_consume(list, TAKE_PTR(resolved));
                if (r < 0)
                        return r;
        }
}

static int set_once(ParseState *s, unsigned bit, const char *key, unsigned line) {
        if (s->seen & (1U << bit))
                return portable_error(s->reterr, EINVAL, SD_BUS_ERROR_INVALID_ARGS,
                                      "Manifest '%s', line %u: %s= is given more than once.", s->path, line, key);
        s->seen |= 1U << bit;
        return 0;
}

static int on_assignment(const char *section, const char *key, const char *value, unsigned line, void *userdata) {
        static const char *const booleans[] = { "Runtime", "Enable", "Now", "Force" };
        static const char *const modes[] = { "auto", "copy", "symlink", "mixed" };
        ParseState *s = userdata;
        PortableManifest *m = s->m;
        int r;

        if (!streq(section, MANIFEST_SECTION))
                return portable_error(s->reterr, EINVAL, SD_BUS_ERROR_INVALID_ARGS,
                                      "Manifest '%s', line %u: unknown section [%s] (the only one is [" MANIFEST_SECTION "]).",
                                      s->path, line, section);

        if (streq(key, "ExtensionImages"))
                return parse_words(s, key, value, line, /* paths= */ true, &m->extension_images);
        if (streq(key, "Prefixes"))
                return parse_words(s, key, value, line, /* paths= */ false, &m->prefixes);

        if (streq(key, "RootImage")) {
                r = set_once(s, 0, key, line);
                if (r < 0)
                        return r;
                if (!strchr(value, '/') && !image_name_is_valid(value))
                        return error_at(s, line, key, "not an image name or path", value);
                return name_or_path(s, value, &m->root_image);
        }
        if (streq(key, "Profile")) {
                r = set_once(s, 1, key, line);
                if (r < 0)
                        return r;
                if (!strchr(value, '/') && !filename_is_valid(value))
                        return error_at(s, line, key, "not a profile name or path", value);
                return name_or_path(s, value, &m->profile);
        }
        if (streq(key, "CopyMode")) {
                r = set_once(s, 2, key, line);
                if (r < 0)
                        return r;
                for (size_t i = 0; i < ELEMENTSOF(modes); i++)
                        if (streq(value, modes[i])) {
                                m->copy_mode = strdup(value);
                                return m->copy_mode ? 0 : -ENOMEM;
                        }
                return error_at(s, line, key, "not one of auto, copy, symlink, mixed", value);
        }
        if (streq(key, "ImagePolicy")) {
                r = set_once(s, 3, key, line);
                if (r < 0)
                        return r;
                if (isempty(value))
                        return error_at(s, line, key, "empty", value);
                m->image_policy = strdup(value);
                return m->image_policy ? 0 : -ENOMEM;
        }
        for (size_t i = 0; i < ELEMENTSOF(booleans); i++) {
                int *field[] = { &m->runtime, &m->enable, &m->now, &m->force };

                if (!streq(key, booleans[i]))
                        continue;
                r = set_once(s, 4 + i, key, line);
                if (r < 0)
                        return r;
                r = parse_bool(value);
                if (r < 0)
                        return error_at(s, line, key, "not a boolean", value);
                *field[i] = r;
                return 0;
        }

        return portable_error(s->reterr, EINVAL, SD_BUS_ERROR_INVALID_ARGS,
                              "Manifest '%s', line %u: unknown setting %s= (known: RootImage, ExtensionImages, Prefixes, "
                              "Profile, CopyMode, ImagePolicy, Runtime, Enable, Now, Force).", s->path, line, key);
}

int portable_manifest_parse(const char *path, const char *data, size_t size, PortableManifest *ret,
                            sd_bus_error *reterr) {
        PortableManifest m = { .runtime = -1, .enable = -1, .now = -1, .force = -1 };
        ParseState s = { .path = path, .m = &m, .reterr = reterr };
        unsigned line = 0;
        int r;

        if (!path || path[0] != '/')
                return -EINVAL;
        s.dir = path_dirname(path);
        if (!s.dir)
                return -ENOMEM;

        r = unit_file_parse(data, size, on_assignment, &s, &line);
        free(s.dir);
        if (r == -ENOBUFS || r == -EBADMSG || r == -ENOEXEC)
                r = portable_error(reterr, EINVAL, SD_BUS_ERROR_INVALID_ARGS, "Manifest '%s', line %u: %s.", path, line,
                                   r == -ENOBUFS ? "line too long" :
                                   r == -EBADMSG ? "section header without ']'" : ".include is not supported");
        if (r >= 0 && !m.root_image)
                r = portable_error(reterr, EINVAL, SD_BUS_ERROR_INVALID_ARGS,
                                   "Manifest '%s' names no image: RootImage= is missing in [" MANIFEST_SECTION "].", path);
        if (r < 0) {
                portable_manifest_done(&m);
                return r;
        }

        *ret = m;
        return 0;
}

void portable_manifest_done(PortableManifest *m) {
        m->root_image = mfree(m->root_image);
        m->extension_images = strv_free(m->extension_images);
        m->prefixes = strv_free(m->prefixes);
        m->profile = mfree(m->profile);
        m->copy_mode = mfree(m->copy_mode);
        m->image_policy = mfree(m->image_policy);
}
