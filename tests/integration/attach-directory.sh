#!/usr/bin/env bash
# Attach and detach of a directory image in auto, copy and symlink modes, persistent and runtime,
# by name and by path: the exact files written (golden trees, reference §4.1/§4.2 v252 layout), the
# change lists, the image states, and a detach that leaves the host root exactly as it was.
. "$(dirname "$0")/lib.sh"
setup

POOL=$ROOT/var/lib/portables
stage foo "$POOL/foo"
stage foo "$IMAGES/foo"

# --- by name, auto mode, persistent ---------------------------------------------------------------

snapshot >"$T/pristine"
attach foo "" false >"$T/changes"
assert_file_eq "attach foo (by name, auto): change list" dir-auto-persistent.changes "$T/changes"
assert_attached_eq "attach foo (by name, auto): files written" dir-auto-persistent.tree
assert_eq "by-name image in the search path gets no /etc/portables link" "" "$(ls -A "$ROOT/etc/portables")"
assert_eq "GetImageState foo: attached" 's "attached"' "$(mcall GetImageState s foo)"
assert_eq "GetImageState by path of the image: attached" 's "attached"' "$(mcall GetImageState s "$POOL/foo")"
assert_eq "GetImageState of another version of foo: detached (another version is another image)" 's "detached"' \
        "$(mcall GetImageState s foo_9)"
assert_eq "GetImageState foobar: detached (different image name)" 's "detached"' "$(mcall GetImageState s foobar)"
assert_eq "Image.GetState: attached" 's "attached"' "$(icall "$PORTABLE_PATH/image/foo" GetState)"
assert_eq "ListImages shows foo attached" "attached" \
        "$(mjson ListImages | pyjson '[i[6] for i in d[0] if i[0] == "foo"][0]')"

# An enablement symlink makes the unit file state "enabled" (reference §3.9).
mkdir -p "$ROOT/etc/systemd/system/multi-user.target.wants"
ln -s "$ROOT/etc/systemd/system.attached/foo.service" "$ROOT/etc/systemd/system/multi-user.target.wants/foo.service"
assert_eq "GetImageState with foo.service enabled: enabled" 's "enabled"' "$(mcall GetImageState s foo)"
rm -r "$ROOT/etc/systemd/system/multi-user.target.wants"

assert_fails_with "detach --runtime of a persistent attachment is NoSuchUnit" \
        "org.freedesktop.systemd1.NoSuchUnit: " "No unit files associated with 'foo' found attached to the system. Image not attached?" \
        -- mcall DetachImage sb foo true
detach foo false >"$T/changes"
assert_file_eq "detach foo: change list" dir-auto-persistent.detach "$T/changes"
assert_root_unchanged "detach foo leaves the host root as it was before attach" "$T/pristine"
assert_eq "GetImageState after detach: detached" 's "detached"' "$(mcall GetImageState s foo)"
assert_fails_with "detach again is NoSuchUnit" "org.freedesktop.systemd1.NoSuchUnit: " "'foo'" \
        -- mcall DetachImage sb foo false

# --- by path, copy mode, runtime ------------------------------------------------------------------

attach "$IMAGES/foo" copy true >"$T/changes"
assert_file_eq "attach path (copy, runtime): change list" dir-copy-runtime.changes "$T/changes"
assert_attached_eq "attach path (copy, runtime): files written, /run/portables link" dir-copy-runtime.tree
for u in foo.service foo@.service foo-link.service foo-shadow.service; do
        assert_eq "copy mode: $u.d/10-profile.conf is a copy of the default profile" "" \
                "$(cmp "$ROOT/run/systemd/system.attached/$u.d/10-profile.conf" "$PROFILES/default/service.conf" 2>&1)"
done
assert_eq "GetImageState by path: attached-runtime" 's "attached-runtime"' "$(mcall GetImageState s "$IMAGES/foo")"
assert_eq "GetImageState by name: attached-runtime" 's "attached-runtime"' "$(mcall GetImageState s foo)"
assert_fails_with "persistent detach of a runtime attachment is NoSuchUnit" \
        "org.freedesktop.systemd1.NoSuchUnit" -- mcall DetachImage sb "$IMAGES/foo" false
detach "$IMAGES/foo" true >"$T/changes"
assert_file_eq "detach path --runtime: change list" dir-copy-runtime.detach "$T/changes"
assert_root_unchanged "runtime detach leaves the host root as it was" "$T/pristine"

# --- by path, symlink mode, persistent ------------------------------------------------------------

# Under a profile other than "trusted" the unit files are copied all the same: a link would let
# whoever can write the image change a unit after it was checked. The profile is linked.
attach "$IMAGES/foo" symlink false >"$T/changes"
assert_file_eq "attach path (symlink): change list" dir-symlink-persistent.changes "$T/changes"
assert_attached_eq "attach path (symlink): unit files copied, profile linked" dir-symlink-persistent.tree
assert_eq "symlink mode: the in-image symlink foo-link.service resolves to the in-image target" \
        "$(cat "$TEST_DATA/images/foo/opt/foo/foo-link.service")" \
        "$(cat "$ROOT/etc/systemd/system.attached/foo-link.service" 2>&1)"
detach "$IMAGES/foo" false >/dev/null
assert_root_unchanged "detach after symlink mode leaves the host root as it was" "$T/pristine"

# Trusted units are linked into the image, as asked.
mcall AttachImage sassbs "$IMAGES/foo" 1 foo trusted false symlink >/dev/null
assert_eq "symlink mode, trusted profile: the unit file links into the image" \
        "$IMAGES/foo/usr/lib/systemd/system/foo.service" "$(readlink "$ROOT/etc/systemd/system.attached/foo.service")"
detach "$IMAGES/foo" false >/dev/null
assert_root_unchanged "detach after trusted symlink mode leaves the host root as it was" "$T/pristine"

# --- by path, auto mode, runtime; detach by name ------------------------------------------------

attach "$IMAGES/foo" "" true >/dev/null
assert_attached_eq "attach path (auto, runtime): files written" dir-auto-runtime-path.tree
assert_eq "a copy of the same image elsewhere is told apart: detached" 's "detached"' \
        "$(mcall GetImageState s "$POOL/foo")"
assert_eq "the image attached by path: attached-runtime" 's "attached-runtime"' \
        "$(mcall GetImageState s "$IMAGES/foo")"
detach foo true >/dev/null
assert_root_unchanged "detach by name of an image attached by path" "$T/pristine"

# --- the Image object methods ---------------------------------------------------------------------

O=$PORTABLE_PATH/image/foo
bus --json=short call "$PORTABLE_DEST" "$O" "$IMAGE_IFACE" Attach assbs 1 foo default false "" | changes_of >"$T/changes"
assert_file_eq "Image.Attach: same change list as AttachImage" dir-auto-persistent.changes "$T/changes"
assert_attached_eq "Image.Attach: same files as AttachImage" dir-auto-persistent.tree
bus --json=short call "$PORTABLE_DEST" "$O" "$IMAGE_IFACE" Detach b false | changes_of >"$T/changes"
assert_file_eq "Image.Detach: same change list as DetachImage" dir-auto-persistent.detach "$T/changes"
assert_root_unchanged "Image.Detach leaves the host root as it was" "$T/pristine"

# --- flags of AttachImageWithExtensions ------------------------------------------------------------

mjson AttachImageWithExtensions sasassst foo 0 1 foo default "" 1 >/dev/null
assert_eq "AttachImageWithExtensions flag RUNTIME attaches to /run" 's "attached-runtime"' "$(mcall GetImageState s foo)"
mjson DetachImageWithExtensions sast foo 0 1 >/dev/null
assert_root_unchanged "DetachImageWithExtensions flag RUNTIME" "$T/pristine"

# --- profiles -------------------------------------------------------------------------------------

PROF=$ROOT/etc/systemd/portable/profile
mkdir -p "$PROF/custom"
printf '[Service]\nPrivateTmp=yes\n' >"$PROF/custom/service.conf"
printf '[Socket]\nFreeBind=no\n' >"$PROF/custom/socket.conf"
snapshot >"$T/pristine-prof"
mjson AttachImage sassbs foo 2 foo.service foo-bar custom false "" >/dev/null
A=$ROOT/etc/systemd/system.attached
assert_eq "profile with service.conf: symlinked for the service" "$PROF/custom/service.conf" \
        "$(readlink "$A/foo.service.d/10-profile.conf")"
assert_eq "profile with socket.conf: symlinked for the socket" "$PROF/custom/socket.conf" \
        "$(readlink "$A/foo-bar.socket.d/10-profile.conf")"
assert_eq "matches foo.service and foo-bar select exactly two units" "foo-bar.socket foo-bar.socket.d foo.service foo.service.d" \
        "$(ls "$A" | tr '\n' ' ' | sed 's/ $//')"
mjson DetachImage sb foo false >/dev/null
assert_root_unchanged "detach after a custom profile" "$T/pristine-prof"

mkdir -p "$PROF/default"
printf '[Service]\nPrivateNetwork=yes\n' >"$PROF/default/service.conf"
mjson AttachImage sassbs foo 1 foo.service default false copy >/dev/null
assert_eq "an admin profile in /etc overrides the vendor profile of the same name" "" \
        "$(cmp "$A/foo.service.d/10-profile.conf" "$PROF/default/service.conf" 2>&1)"
mjson DetachImage sb foo false >/dev/null
rm -r "$PROF/default"

mjson AttachImage sassbs foo 1 foo.service "" false "" >/dev/null
assert_eq "an empty profile name writes no 10-profile.conf" "20-portable.conf" "$(ls "$A/foo.service.d" 2>&1)"
mjson DetachImage sb foo false >/dev/null
assert_root_unchanged "detach after an empty profile" "$T/pristine-prof"

# --- an image path with a ':' (escaped as \x3a in the marker, reference §4.2/§7.6) -----------------

stage foo "$IMAGES/foo:colon"
mjson AttachImage sassbs "$IMAGES/foo:colon" 1 foo.service default false "" >/dev/null
assert_eq "':' in the image path is C-escaped in the marker" \
        "# Drop-in created for image '$IMAGES/foo\x3acolon', do not edit." \
        "$(head -n 1 "$A/foo.service.d/20-portable.conf" 2>&1)"
assert_eq "GetImageState of a path with ':' round-trips the escaping" 's "attached"' \
        "$(mcall GetImageState s "$IMAGES/foo:colon")"
assert_ok "detach of a path with ':'" mcall DetachImage sb "$IMAGES/foo:colon" false
assert_root_unchanged "detach of a path with ':' leaves the root as it was" "$T/pristine-prof"


# --- the spare reader runs portabled-reader, which the daemon finds next to itself -------------------

# spare_reader: the pid of the daemon's spare reader (comm portabled-spare), waiting for one.
spare_reader() {
        local i pid
        for i in $(seq 1 100); do
                pid=$(ps -o pid=,comm= --ppid "$DAEMON_PID" 2>/dev/null | awk '$2 == "portabled-spare" { print $1; exit }')
                [ -n "$pid" ] && { echo "$pid"; return 0; }
                sleep 0.05
        done
        return 1
}
helper=$(cd "$(dirname "$PORTABLED")" && pwd -P)/portabled-reader
first=$(spare_reader)
assert_eq "the daemon keeps a spare reader" "yes" "$([ -n "$first" ] && echo yes || echo no)"
assert_eq "the spare runs portabled-reader from next to the daemon" "$helper" "$(readlink "/proc/$first/exe" 2>&1)"
mjson AttachImage sassbs foo 1 foo.service default false "" >/dev/null
mjson DetachImage sb foo false >/dev/null
second=$(spare_reader)
assert_eq "an attach of a directory uses the spare, and a new one takes its place" "yes" \
        "$([ -n "$second" ] && [ "$second" != "$first" ] && echo yes || echo "no ($first, then $second)")"
assert_eq "the new spare runs portabled-reader too" "$helper" "$(readlink "/proc/$second/exe" 2>&1)"
assert_root_unchanged "attach and detach through the spare" "$T/pristine-prof"

finish
