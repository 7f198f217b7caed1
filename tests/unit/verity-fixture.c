/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <criterion/criterion.h>
#include <criterion/new/assert.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "macro.h"
#include "unit-helpers.h"
#include "verity-fixture.h"

void vf_require(const char *program, ...) {
        const char *path = getenv("PATH");
        va_list ap;

        if (!path || !strstr(path, "/usr/sbin")) {
                _cleanup_free_ char *p = unit_strf("%s:/usr/sbin:/sbin", path ?: "/usr/bin:/bin");
                cr_assert(setenv("PATH", p, 1) == 0);
        }

        va_start(ap, program);
        for (const char *p = program; p; p = va_arg(ap, const char *))
                if (!unit_have_program(p)) {
                        va_end(ap);
                        cr_skip_test("%s is not installed", p);
                }
        va_end(ap);
}

bool vf_have_loop(void) {
        return geteuid() == 0 && access("/dev/loop-control", W_OK) == 0;
}

char *vf_make_tree(const char *dir, const char *version) {
        char *tree = unit_strf("%s/tree", dir);
        _cleanup_free_ char *osrel = unit_strf("%s/usr/lib/os-release", tree),
                            *unit = unit_strf("%s/usr/lib/systemd/system/vf.service", tree),
                            *text = unit_strf("ID=vf\nIMAGE_VERSION=%s\n", version);

        unit_write(osrel, text);
        unit_write(unit, "[Service]\nExecStart=/bin/true\n");
        /* Incompressible filler: with 600 KiB of data the hash tree has two levels. */
        cr_assert(unit_run("head -c 600K /dev/urandom >'%s/usr/lib/filler'", tree) == 0);
        unit_mkdir_p(tree, 0755);
        return tree;
}

static char *root_hash_from(const char *output) {
        _cleanup_free_ char *text = unit_read(output);
        const char *p;
        char hex[129];

        cr_assert(text != NULL);
        p = strstr(text, "Root hash:");
        cr_assert(p != NULL, "no root hash in: %s", text);
        cr_assert(sscanf(p + strlen("Root hash:"), " %128[0-9a-f]", hex) == 1);
        return unit_strf("%s", hex);
}

char *vf_make_naked_verity(const char *tree, const char *path, const char *hash_path) {
        _cleanup_free_ char *out = unit_strf("%s.format", path);

        vf_require("mksquashfs", "veritysetup", NULL);
        unit_make_fs_image("squashfs", tree, path);
        cr_assert(unit_run("veritysetup format '%s' '%s' >'%s' 2>&1", path, hash_path, out) == 0,
                  "veritysetup format failed");
        return root_hash_from(out);
}

void vf_make_key(const char *dir, const char *name) {
        vf_require("openssl", NULL);
        cr_assert(unit_run("openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes "
                           "-keyout '%s/%s.key' -out '%s/%s.crt' -days 2 -subj /CN=%s >/dev/null 2>&1",
                           dir, name, dir, name, name) == 0);
}

void vf_sign(const char *dir, const char *key, const char *text, const char *out) {
        _cleanup_free_ char *in = unit_strf("%s/.to-sign", dir);

        unit_write(in, text);
        cr_assert(unit_run("openssl smime -sign -binary -noattr -in '%s' -signer '%s/%s.crt' -inkey '%s/%s.key' "
                           "-outform DER -out '%s'", in, dir, key, dir, key, out) == 0);
        (void) unlink(in);
}

char *vf_repart(const char *dir, const char *image, const char *const *definitions, size_t n, const char *key) {
        _cleanup_free_ char *defs = unit_strf("%s/repart.d", dir), *json = unit_strf("%s/repart.json", dir),
                            *log = unit_strf("%s/repart.log", dir), *keys = NULL;
        char *out;

        vf_require("systemd-repart", NULL);
        if (!vf_have_loop())
                cr_skip_test("systemd-repart formats through loop devices: needs root and /dev/loop-control");

        (void) unit_run("rm -rf '%s'", defs);
        unit_mkdir_p(defs, 0755);
        for (size_t i = 0; i < n; i++) {
                _cleanup_free_ char *f = unit_strf("%s/%02zu.conf", defs, i);
                unit_write(f, definitions[i]);
        }
        if (key)
                keys = unit_strf("--private-key='%s/%s.key' --certificate='%s/%s.crt'", dir, key, dir, key);
        (void) unlink(image);
        if (unit_run("systemd-repart --empty=create --size=auto --dry-run=no --no-pager --json=short "
                     "--definitions='%s' %s '%s' >'%s' 2>'%s'", defs, strempty(keys), image, json, log) != 0) {
                _cleanup_free_ char *why = unit_read(log);
                cr_fatal("systemd-repart failed: %s", strna(why));
        }
        out = unit_read(json);
        cr_assert(out != NULL);
        return out;
}

void vf_flip_byte(const char *path, uint64_t offset) {
        int fd = open(path, O_RDWR | O_CLOEXEC);
        unsigned char b;

        cr_assert(fd >= 0);
        cr_assert(pread(fd, &b, 1, (off_t) offset) == 1, "offset %llu beyond %s", (unsigned long long) offset, path);
        b ^= 0x01;
        cr_assert(pwrite(fd, &b, 1, (off_t) offset) == 1);
        close(fd);
}

uint64_t vf_file_size(const char *path) {
        struct stat st;

        cr_assert(stat(path, &st) == 0, "stat(%s)", path);
        return (uint64_t) st.st_size;
}

/* The first "roothash" of systemd-repart's JSON output. */
static char *repart_root_hash(const char *json) {
        json_object *o = json_tokener_parse(json);
        char *hash = NULL;

        cr_assert(not(zero(ptr, o)), "repart output: %s", json);
        for (size_t i = 0; i < json_object_array_length(o) && !hash; i++) {
                json_object *h;

                if (json_object_object_get_ex(json_object_array_get_idx(o, i), "roothash", &h) &&
                    json_object_is_type(h, json_type_string))
                        hash = strdup(json_object_get_string(h));
        }
        json_object_put(o);
        cr_assert(not(zero(ptr, hash)));
        return hash;
}

char *vf_gpt(const char *dir, const char *name, const char *key, char **definitions, size_t n,
             char **ret_root_hash) {
        char *img = unit_strf("%s/%s", dir, name);
        _cleanup_free_ char *json = vf_repart(dir, img, (const char *const *) definitions, n, key);

        for (size_t i = 0; i < n; i++)
                free(definitions[i]);
        if (ret_root_hash)
                *ret_root_hash = repart_root_hash(json);
        return img;
}
