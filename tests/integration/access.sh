#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Access control for callers without privileges (here: uid 65534): they may list images and read
# states and metadata by name, but may not change the host, and may not make the daemon read an
# arbitrary path as root on their behalf. There is no polkit on this bus, so only root may
# (polkit.sh tests the authorization through polkit).
. "$(dirname "$0")/lib.sh"
setup

command -v setpriv >/dev/null || skip_all "setpriv not installed"

POOL=$ROOT/var/lib/portables
stage foo "$POOL/foo"
stage foo "$IMAGES/foo"
# The socket lives below the private test directory; let the unprivileged caller reach it.
chmod o+x "$T" "$T/bus"

nobody() {
        as_user 65534 "$@"
}

snapshot >"$T/before"

assert_ok "unprivileged: ListImages" nobody busctl --address="$BUS_ADDRESS" call "$PORTABLE_DEST" "$PORTABLE_PATH" \
        "$MANAGER_IFACE" ListImages
assert_contains "unprivileged: ListImages lists the pool image" "$OUT" '"foo"'
assert_ok "unprivileged: GetImageState" nobody busctl --address="$BUS_ADDRESS" call "$PORTABLE_DEST" "$PORTABLE_PATH" \
        "$MANAGER_IFACE" GetImageState s foo
assert_ok "unprivileged: GetImageMetadata by name" nobody busctl --address="$BUS_ADDRESS" call "$PORTABLE_DEST" \
        "$PORTABLE_PATH" "$MANAGER_IFACE" GetImageMetadata sas foo 0

assert_fails_with "unprivileged: GetImageMetadata by path is denied" org.freedesktop.DBus.Error.AccessDenied -- \
        nobody busctl --address="$BUS_ADDRESS" call "$PORTABLE_DEST" "$PORTABLE_PATH" "$MANAGER_IFACE" \
        GetImageMetadata sas "$IMAGES/foo" 0
assert_fails_with "unprivileged: GetImageOSRelease by path is denied" org.freedesktop.DBus.Error.AccessDenied -- \
        nobody busctl --address="$BUS_ADDRESS" call "$PORTABLE_DEST" "$PORTABLE_PATH" "$MANAGER_IFACE" \
        GetImageOSRelease s "$IMAGES/foo"
assert_fails_with "unprivileged: AttachImage is denied, polkit being absent" org.freedesktop.DBus.Error.AccessDenied \
        "'org.freedesktop.portable1.attach-images' on image 'foo'" "polkit is not available" -- \
        nobody busctl --address="$BUS_ADDRESS" call "$PORTABLE_DEST" "$PORTABLE_PATH" "$MANAGER_IFACE" \
        AttachImage sassbs foo 0 default true ""

# Every method that changes the host, through the Manager and the image object.
FOO_OBJECT=$PORTABLE_PATH/image/$(bus_label foo)
while read -r object method signature args; do
        path=$PORTABLE_PATH iface=$MANAGER_IFACE
        if [ "$object" = image ]; then
                path=$FOO_OBJECT iface=$IMAGE_IFACE
        fi
        words=()
        eval "words=($signature $args)" # the arguments as the shell would split them ("" is empty)
        assert_fails_with "unprivileged: $object $method is denied" org.freedesktop.DBus.Error.AccessDenied -- \
                nobody busctl --address="$BUS_ADDRESS" call "$PORTABLE_DEST" "$path" "$iface" "$method" \
                "${words[@]}"
done <<'EOF2'
manager AttachImageWithExtensions sasassst foo 0 1 foo default "" 0
manager DetachImage sb foo true
manager DetachImageWithExtensions sast foo 0 1
manager ReattachImage sassbs foo 1 foo default true ""
manager ReattachImageWithExtensions sasassst foo 0 1 foo default "" 0
manager RemoveImage s foo
manager MarkImageReadOnly sb foo true
manager SetImageLimit st foo 1000000
manager SetPoolLimit t 1000000
image Attach assbs 1 foo default true ""
image AttachWithExtensions asassst 0 1 foo default "" 0
image Detach b true
image DetachWithExtensions ast 0 1
image Reattach assbs 1 foo default true ""
image ReattachWithExtensions asassst 0 1 foo default "" 0
image ReattacheWithExtensions asassst 0 1 foo default "" 0
image Remove
image MarkReadOnly b true
image SetLimit t 1000000
EOF2
assert_root_unchanged "unprivileged calls changed nothing" "$T/before"
[ -d "$POOL/foo" ] && pass "the image is still there" || fail "the image is still there"

# The same calls as root go through.
assert_ok "root: GetImageMetadata by path" mcall GetImageMetadata sas "$IMAGES/foo" 0
assert_ok "root: AttachImage without polkit" mcall AttachImage sassbs foo 1 foo default true ""
assert_eq "root: foo is attached" 's "attached-runtime"' "$(mcall GetImageState s foo)"
assert_ok "root: DetachImage without polkit" mcall DetachImage sb foo true
assert_eq "root: foo is detached" 's "detached"' "$(mcall GetImageState s foo)"

finish
