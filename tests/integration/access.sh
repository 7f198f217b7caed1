#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Access control for callers without privileges (here: uid 65534): they may list images and read
# states and metadata by name, but may not change the host, and may not make the daemon read an
# arbitrary path as root on their behalf.
. "$(dirname "$0")/lib.sh"
setup

command -v setpriv >/dev/null || skip_all "setpriv not installed"

POOL=$ROOT/var/lib/portables
stage foo "$POOL/foo"
stage foo "$IMAGES/foo"
# The socket lives below the private test directory; let the unprivileged caller reach it.
chmod o+x "$T" "$T/bus"

nobody() {
        setpriv --reuid=65534 --regid=65534 --clear-groups "$@"
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
assert_fails_with "unprivileged: AttachImage is denied" org.freedesktop.DBus.Error.AccessDenied -- \
        nobody busctl --address="$BUS_ADDRESS" call "$PORTABLE_DEST" "$PORTABLE_PATH" "$MANAGER_IFACE" \
        AttachImage sassbs foo 0 default true ""
assert_fails_with "unprivileged: Image.Detach is denied" org.freedesktop.DBus.Error.AccessDenied -- \
        nobody busctl --address="$BUS_ADDRESS" call "$PORTABLE_DEST" "$PORTABLE_PATH/image/$(bus_label foo)" "$IMAGE_IFACE" Detach b true
assert_fails_with "unprivileged: RemoveImage is denied" org.freedesktop.DBus.Error.AccessDenied -- \
        nobody busctl --address="$BUS_ADDRESS" call "$PORTABLE_DEST" "$PORTABLE_PATH" "$MANAGER_IFACE" \
        RemoveImage s foo
assert_root_unchanged "unprivileged calls changed nothing" "$T/before"
[ -d "$POOL/foo" ] && pass "the image is still there" || fail "the image is still there"

# The same calls as root go through.
assert_ok "root: GetImageMetadata by path" mcall GetImageMetadata sas "$IMAGES/foo" 0

finish
