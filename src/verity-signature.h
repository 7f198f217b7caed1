/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <errno.h>
#include <stddef.h>
#include <stdint.h>

/* Checks the PKCS#7 signature of a verity root hash against the certificates the host trusts, in
 * user space with OpenSSL's libcrypto, as upstream does when the kernel keyring cannot check it.
 *
 * The signed content is the root hash in lowercase hex, without a newline (what systemd-repart,
 * mkosi and "openssl smime -sign" over a .roothash file without newline produce), and the signature
 * is detached (DER, as in NAME.roothash.p7s or base64-decoded from a signature partition).
 *
 * Trusted certificates are the PEM files "*.crt" in /etc/verity.d, /run/verity.d,
 * /usr/local/lib/verity.d and /usr/lib/verity.d (upstream's search path), below root (NULL: "/"):
 * a name in an earlier directory hides the same name in later ones, and an empty file or a symlink
 * to /dev/null masks it. The first certificate of each file is used. As upstream, only the signer
 * has to be one of these certificates (no chains, no CA bundle, no expiry check). */

typedef enum VeritySignatureResult {
        VERITY_SIGNATURE_UNSIGNED,  /* no signature given */
        VERITY_SIGNATURE_TRUSTED,   /* signed by a trusted certificate, and the signature checks out */
        VERITY_SIGNATURE_UNTRUSTED, /* signed, correctly as far as can be told, by a key we do not trust */
        VERITY_SIGNATURE_BAD,       /* not a PKCS#7 signature, or it does not match the root hash */
        _VERITY_SIGNATURE_RESULT_MAX,
        _VERITY_SIGNATURE_RESULT_INVALID = -EINVAL,
} VeritySignatureResult;

const char *verity_signature_result_to_string(VeritySignatureResult r);
VeritySignatureResult verity_signature_result_from_string(const char *s);

/* Checks signature (NULL or size 0: unsigned) of root_hash. On success returns 0 and the verdict;
 * ret_detail (optional) gets a short human-readable reason ("signed by CN=..." / OpenSSL's error).
 * Negative errno only when the check itself could not be done (out of memory, unreadable trust
 * directory other than missing). No trusted certificates at all is not an error: every signature
 * is then UNTRUSTED or BAD. */
int verity_signature_check(const uint8_t *root_hash, size_t root_hash_size, const uint8_t *signature,
                           size_t signature_size, const char *root, VeritySignatureResult *ret,
                           char **ret_detail);
