/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Builders for the verity tests: every image, key and signature is made at test time with the
 * tools people ship images with (mksquashfs, veritysetup, systemd-repart, openssl). A builder
 * whose tool is missing skips the test; any other failure fails it. */

/* Makes sure /usr/sbin and /sbin are searched (veritysetup, sfdisk) and skips the test if one of
 * the programs (NULL-terminated) is missing. */
void vf_require(const char *program, ...);

/* Whether loop devices can be set up here (root and /dev/loop-control). */
bool vf_have_loop(void);

/* A small image tree in dir/tree: os-release (ID=vf, with the given IMAGE_VERSION), a unit, and
 * 600 KiB of random data (so that hash trees have more than one level). */
char *vf_make_tree(const char *dir, const char *version);

/* A naked squashfs image of tree at path, with a hash tree at hash_path (veritysetup format).
 * Returns the root hash in hex. */
char *vf_make_naked_verity(const char *tree, const char *path, const char *hash_path);

/* An EC key and self-signed certificate: dir/name.key, dir/name.crt (CN=name). */
void vf_make_key(const char *dir, const char *name);

/* Signs text (exactly these bytes) with dir/key.{key,crt}: detached DER PKCS#7 written to out. */
void vf_sign(const char *dir, const char *key, const char *text, const char *out);

/* Runs systemd-repart to create image from the partition definitions (one string each, the
 * contents of a repart.d file), signing verity signature partitions with dir/key if key is not
 * NULL. Returns repart's JSON output. */
char *vf_repart(const char *dir, const char *image, const char *const *definitions, size_t n, const char *key);

/* dir/name, a GPT image built by vf_repart() from definitions (which are freed), the signature
 * partitions signed by key; the root hash of its first verity-protected partition if asked. */
char *vf_gpt(const char *dir, const char *name, const char *key, char **definitions, size_t n,
             char **ret_root_hash);

/* XORs one byte of path at offset with 0x01. */
void vf_flip_byte(const char *path, uint64_t offset);

/* The size of a file. */
uint64_t vf_file_size(const char *path);
