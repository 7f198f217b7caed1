/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "fuzz.h"
#include "host.h"
#include "path-util.h"
#include "profile-requirements.h"
#include "profile.h"
#include "strv.h"
#include "unit-match.h"

/* Profiles are admin-supplied unit file snippets; attach parses the service one to learn which
 * mount points the image must have. Input: the drop-in. Its first line also serves as a profile
 * name and as a unit name for the lookup in a fixed tree of profile directories, where names
 * must never lead out of those directories. */

static const char *const requirement_keys[] = {
        "MountAPIVFS", "PrivateTmp", "DynamicUser", "BindPaths", "BindReadOnlyPaths",
};

static void check_requirements(const uint8_t *data, size_t size) {
        _cleanup_strv_free_ char **pairs = NULL;
        size_t n;
        int r;

        r = profile_requirements_parse((const char *) data, size, &pairs);
        if (r < 0) {
                FUZZ_CHECK(r == -ENOMEM);
                return;
        }

        /* (absolute path, "Key=value") pairs, each path once, each key one that asks for it. */
        n = strv_length(pairs);
        FUZZ_CHECK(n % 2 == 0);
        for (size_t i = 0; i < n; i += 2) {
                const char *eq = strchr(pairs[i + 1], '=');
                bool known = false;
                size_t n_key;

                FUZZ_CHECK(pairs[i][0] == '/');
                FUZZ_CHECK(!strchr(pairs[i], ':'));
                FUZZ_CHECK(eq);
                n_key = (size_t) (eq - pairs[i + 1]);
                for (size_t k = 0; k < ELEMENTSOF(requirement_keys); k++)
                        if (strlen(requirement_keys[k]) == n_key && strneq(pairs[i + 1], requirement_keys[k], n_key))
                                known = true;
                FUZZ_CHECK(known);
                for (size_t j = i + 2; j < n; j += 2)
                        FUZZ_CHECK(!streq(pairs[i], pairs[j]));
        }
}

static Host host;

static void make_tree(void) {
        char *root = fuzz_mkdtemp("profile");

        fuzz_write_file(root, "vendor/default/service.conf", "[Service]\nMountAPIVFS=yes\n");
        fuzz_write_file(root, "vendor/strict/service.conf", "[Service]\nPrivateTmp=yes\n");
        fuzz_write_file(root, "usr/lib/systemd/portable/profile/trusted/service.conf", "[Service]\n");
        fuzz_write_file(root, "usr/lib/systemd/portable/profile/trusted/socket.conf", "[Socket]\n");
        fuzz_symlink(root, "etc/systemd/portable/profile/strict", "/dev/null");
        fuzz_mkdir_p(root, "run/systemd/portable/profile/default");
        fuzz_symlink(root, "run/systemd/portable/profile/default/timer.conf", "/dev/null");
        fuzz_write_file(root, "secret/service.conf", "[Service]\n");

        host = (Host) { .root = root, .vendor_profile_dir = path_join(root, "vendor") };
        FUZZ_CHECK(host.vendor_profile_dir);
}

/* A profile by name is found in the profile directories under the root, never elsewhere. */
static void check_found(int r, const char *path, const char *type) {
        _cleanup_free_ char *suffix = NULL;
        struct stat st;

        if (r <= 0) {
                FUZZ_CHECK(r == 0 || r == -ENOENT || r == -EINVAL);
                return;
        }
        FUZZ_CHECK(asprintf(&suffix, "/%s.conf", type) >= 0);
        FUZZ_CHECK(startswith(path, host.root));
        FUZZ_CHECK(!strstr(path, "/../") && !strstr(path, "/secret/"));
        FUZZ_CHECK(endswith(path, suffix));
        FUZZ_CHECK(stat(path, &st) == 0 && S_ISREG(st.st_mode));
}

/* A profile by path may be anywhere on the host (the caller names it), but only as the file
 * itself or its <type>.conf, a regular file that only root can have written; a path that breaks
 * the rules is refused, with the error of whatever broke them. */
static void check_found_by_path(int r, const char *profile, const char *found, const char *type) {
        _cleanup_free_ char *in_dir = NULL;
        struct stat st;

        if (r <= 0) {
                FUZZ_CHECK(r == 0 || r == -ENOENT || r == -EINVAL || r == -ENOTDIR || r == -ENAMETOOLONG ||
                           r == -ELOOP || r == -EPERM || r == -EACCES);
                return;
        }
        FUZZ_CHECK(asprintf(&in_dir, "%s/%s.conf", profile, type) >= 0);
        FUZZ_CHECK(streq(found, profile) || streq(found, in_dir));
        FUZZ_CHECK(lstat(found, &st) == 0 && S_ISREG(st.st_mode));
        FUZZ_CHECK(st.st_uid == 0 && !(st.st_mode & (S_IWGRP | S_IWOTH)));
}

static void check_lookup(const char *line) {
        _cleanup_free_ char *a = NULL, *b = NULL;
        const char *type;
        int r;

        if (!host.root)
                make_tree();

        r = profile_find_dropin(&host, line, "foo.service", &a);
        if (profile_is_path(line))
                check_found_by_path(r, line, a, "service");
        else
                check_found(r, a, "service");

        r = profile_find_dropin(&host, "default", line, &b);
        type = unit_name_type(line);
        if (r > 0)
                FUZZ_CHECK(type);
        check_found(r, b, type);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        _cleanup_strv_free_ char **lines = fuzz_split_lines(data, size, 2);

        check_requirements(data, size);
        check_lookup(lines[0]);
        return 0;
}
