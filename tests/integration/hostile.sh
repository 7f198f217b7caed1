#!/usr/bin/env bash
# Hostile and bad input: every attempt is refused with an error that names the image (or the bad
# argument), the host root is left exactly as it was, no host file leaks into a reply or onto the
# host, nothing hangs, and no loop device or mount is left behind.
. "$(dirname "$0")/lib.sh"
setup

# Calls that could block on a FIFO or read a device forever get a short timeout.
quick() {
        busctl --address="$BUS_ADDRESS" --timeout=15 call "$PORTABLE_DEST" "$PORTABLE_PATH" "$MANAGER_IFACE" "$@"
}

stage foo "$ROOT/var/lib/portables/foo"
for i in evil osrel-escape noosrel noid nounits special fifoosrel; do
        stage "$i" "$IMAGES/$i"
done
mkdir -p "$IMAGES/special/usr/lib/systemd/system"
mkfifo "$IMAGES/special/usr/lib/systemd/system/special-fifo.service"
mknod "$IMAGES/special/usr/lib/systemd/system/special-zero.service" c 1 5
mkdir "$IMAGES/special/usr/lib/systemd/system/special-dir.service"
ln -s special-loop.service "$IMAGES/special/usr/lib/systemd/system/special-loop.service"
mkfifo "$IMAGES/fifoosrel/usr/lib/os-release"
build_raw squashfs "$IMAGES/evil" "$IMAGES/evil.raw"
build_raw squashfs "$IMAGES/noosrel" "$IMAGES/noosrel.raw"
head -c 1048576 /dev/urandom >"$IMAGES/random.raw"
build_raw squashfs "$TEST_DATA/images/foo" "$T/full.raw"
head -c "$(($(stat -c %s "$T/full.raw") / 2))" "$T/full.raw" >"$IMAGES/truncated.raw"
: >"$IMAGES/empty.raw"
echo "plain text, not a file system" >"$IMAGES/text.raw"
echo "not an image" >"$IMAGES/notanimage"
mkfifo "$IMAGES/fifo.raw"
mknod "$IMAGES/chardev.raw" c 1 5
ln -s /etc/shadow "$IMAGES/shadow.raw"

snapshot >"$T/pristine"
SHADOW_LINE=$(head -n 1 /etc/shadow)

# refused NAME IMAGE [SUBSTRING...]: AttachImage of IMAGE (prefix derived as portablectl would) fails
# with an error naming the image and containing every SUBSTRING; the host root is unchanged.
refused() {
        local name=$1 image=$2
        shift 2
        assert_fails_with "$name: attach refused, error names the image" "$image" "$@" \
                -- quick AttachImage sassbs "$image" 1 "$(derive_prefix "$image")" default false ""
        assert_root_unchanged "$name: host root unchanged" "$T/pristine"
}

# --- unit and os-release symlinks that leave the image --------------------------------------------

refused "absolute and ../ unit symlinks to /etc/shadow" "$IMAGES/evil"
refused "absolute and ../ unit symlinks to /etc/shadow (squashfs)" "$IMAGES/evil.raw"
for img in "$IMAGES/evil" "$IMAGES/evil.raw"; do
        quick GetImageMetadata sas "$img" 0 >"$T/meta" 2>&1
        assert_not_contains "GetImageMetadata ${img##*/}: no host /etc/shadow content in the reply" \
                "$(cat "$T/meta")" "${SHADOW_LINE%%:*}:" "114 111 111 116 58"
done
assert_eq "no host /etc/shadow content anywhere under the test root" "" \
        "$(grep -rlF -- "$SHADOW_LINE" "$ROOT" 2>/dev/null)"

refused "os-release symlink escaping the image" "$IMAGES/osrel-escape" "os-release"
assert_fails_with "os-release symlink escaping the image: GetImageOSRelease refused" "$IMAGES/osrel-escape" \
        -- quick GetImageOSRelease s "$IMAGES/osrel-escape"

# --- missing or incomplete metadata ---------------------------------------------------------------

refused "missing os-release" "$IMAGES/noosrel" "os-release"
refused "missing os-release (squashfs)" "$IMAGES/noosrel.raw"
assert_fails_with "missing os-release: GetImageMetadata refused naming the image" \
        "$IMAGES/noosrel" "os-release" -- quick GetImageMetadata sas "$IMAGES/noosrel" 0
refused "os-release without ID=" "$IMAGES/noid" "ID"
assert_ok "os-release without ID=: inspecting still works" quick GetImageMetadata sas "$IMAGES/noid" 1 noid
refused "no matching unit files" "$IMAGES/nounits" "Couldn't find any matching unit files in image '$IMAGES/nounits'"

# --- special files inside the image ---------------------------------------------------------------

start=$(date +%s)
refused "FIFO, device node, directory and symlink loop as unit files" "$IMAGES/special"
assert_fails_with "special unit files: GetImageMetadata selects none of them" "$IMAGES/special" \
        -- quick GetImageMetadata sas "$IMAGES/special" 0
refused "os-release is a FIFO" "$IMAGES/fifoosrel"
assert_eq "special files were neither read nor waited on (under 20 s in all)" 1 $(($(date +%s) - start < 20))
assert_ok "the daemon still answers after the special files" mcall ListImages

# --- files that are not images --------------------------------------------------------------------

for f in random truncated empty text; do
        refused "corrupt raw image ($f)" "$IMAGES/$f.raw"
done
assert_no_leaks "corrupt raw images: no loop device or mount left" "$IMAGES"/*.raw
refused "a regular file without .raw" "$IMAGES/notanimage" "org.freedesktop.portable1.BadImageType"
refused "a FIFO named .raw" "$IMAGES/fifo.raw" "org.freedesktop.portable1.BadImageType"
refused "a character device named .raw" "$IMAGES/chardev.raw" "org.freedesktop.portable1.BadImageType"
assert_fails_with "a symlink to /etc/shadow named .raw is not read as an image" "$IMAGES/shadow.raw" \
        -- quick AttachImage sassbs "$IMAGES/shadow.raw" 1 shadow default false ""
assert_root_unchanged "symlink to /etc/shadow: host root unchanged" "$T/pristine"

# --- invalid image arguments ----------------------------------------------------------------------

for arg in "images/foo" "../foo" "." ".." ".#foo" "foo/" $'foo\001bar' "$(printf 'x%.0s' {1..256})"; do
        assert_fails_with "image argument '${arg:0:20}' is refused" \
                "org.freedesktop.DBus.Error.InvalidArgs" \
                -- quick AttachImage sassbs "$arg" 1 foo default false ""
done
for arg in "$IMAGES/../images/foo" "$IMAGES/./foo" "$IMAGES//foo"; do
        assert_fails_with "non-normalised path '$arg' is refused" \
                "org.freedesktop.DBus.Error.InvalidArgs: " "Image path '$arg' is not normalized." \
                -- quick AttachImage sassbs "$arg" 1 foo default false ""
done
assert_fails_with "an unknown name is NoSuchImage" "org.freedesktop.portable1.NoSuchImage: " "No image 'nope' found." \
        -- quick AttachImage sassbs nope 1 nope default false ""
for m in "../../etc/shadow" "/etc/shadow" "foo/../foo"; do
        assert_fails_with "match '$m' is refused as InvalidArgs naming it" "org.freedesktop.DBus.Error.InvalidArgs: " "'$m'" \
                -- quick AttachImage sassbs foo 1 "$m" default false ""
done
assert_root_unchanged "invalid arguments: host root unchanged" "$T/pristine"

# --- profiles, copy modes, flags ------------------------------------------------------------------

assert_fails_with "unknown profile: error names it and the available profiles" \
        "nosuchprofile" "default" "nonetwork" "strict" "trusted" \
        -- quick AttachImage sassbs foo 1 foo nosuchprofile false ""
for p in "../../../etc" "default/../strict" "/etc/systemd" "."; do
        assert_fails_with "profile '$p' is refused" "" -- quick AttachImage sassbs foo 1 foo "$p" false ""
done
# A profile path only through our *WithOptions methods, and a directory only if it is a profile.
assert_fails_with "profile path '/etc/systemd' is no profile" "has no service.conf" \
        -- quick AttachImageWithOptions 'sasasssta{sv}' foo 0 1 foo /etc/systemd "" 0 0
assert_fails_with "unknown copy mode is InvalidArgs" "org.freedesktop.DBus.Error.InvalidArgs: " "Unknown copy mode 'bogus'" \
        -- quick AttachImage sassbs foo 1 foo default false bogus
assert_fails_with "copy mode 'Mixed' (only 'mixed', newest systemd's, is known) is InvalidArgs" \
        "org.freedesktop.DBus.Error.InvalidArgs: " "'Mixed'" -- quick AttachImage sassbs foo 1 foo default false Mixed
assert_fails_with "copy mode 'mixed' with PORTABLE_FLAG_KEEP_PREVIOUS is InvalidArgs" \
        "org.freedesktop.DBus.Error.InvalidArgs: " "Copy mode 'mixed' and PORTABLE_FLAG_KEEP_PREVIOUS exclude each other." \
        -- quick ReattachImageWithExtensions sasassst foo 0 1 foo default mixed 4294967296
for f in 8 16 32 64 128 9223372036854775808 18446744073709551615; do
        assert_fails_with "AttachImageWithExtensions flags $f is InvalidArgs" \
                "org.freedesktop.DBus.Error.InvalidArgs: " "Invalid 'flags' parameter '$f'" \
                -- quick AttachImageWithExtensions sasassst foo 0 1 foo default "" "$f"
done
assert_fails_with "DetachImageWithExtensions flags 8 is InvalidArgs" \
        "org.freedesktop.DBus.Error.InvalidArgs: " "Invalid 'flags' parameter '8'" \
        -- quick DetachImageWithExtensions sast foo 0 8
assert_fails_with "an extension without extension-release is refused naming it" "$IMAGES/noosrel" \
        -- quick AttachImageWithExtensions sasassst foo 1 "$IMAGES/noosrel" 1 foo default "" 0
assert_fails_with "a wrong signature is refused by the bus or the daemon" "" \
        -- quick AttachImage ssbs foo foo default false
assert_root_unchanged "profiles, copy modes and flags: host root unchanged" "$T/pristine"

assert_no_leaks "hostile input: no loop device or mount left" "$IMAGES"/*.raw "$T/full.raw"
assert_ok "the daemon still answers" mcall ListImages

finish
