#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# RepairAttachments (portablectl repair): what interrupted operations left behind and is provably
# ours goes; anything an administrator made stays, whatever its name looks like.
. "$(dirname "$0")/lib.sh"
setup

A=$ROOT/etc/systemd/system.attached
AR=$ROOT/run/systemd/system.attached
stage foo "$IMAGES/foo_1"
stage pfx "$IMAGES/pfx_1"

# mark_link PATH: gives a link the mark attach gives its /etc|/run/portables links.
mark_link() {
        python3 -c 'import os, sys; os.setxattr(sys.argv[1], "trusted.portabled.link", b"1", follow_symlinks=False)' "$1"
}

assert_ok "nothing to repair on a clean host" run_ours repair
assert_contains "it says so" "$ERR" "Nothing to repair."

# A real attachment, which repair must leave alone entirely.
mcall AttachImage sassbs "$IMAGES/foo_1" 1 foo default false "" >/dev/null
assert_eq "attach marks its image link" "1" \
        "$(python3 -c 'import os, sys; print(os.getxattr(sys.argv[1], "trusted.portabled.link", follow_symlinks=False).decode())' \
                "$ROOT/etc/portables/foo_1")"

# Leftovers of ours.
mkdir -p "$A/gone.service.d" "$AR/gone2.socket.d"
printf '# Drop-in created for image '\''/srv/gone_1.raw'\'', do not edit.\n' >"$A/gone.service.d/20-portable.conf"
ln -s /usr/lib/portabled/profile/default/service.conf "$A/gone.service.d/10-profile.conf"
printf '# Drop-in created for image '\''/srv/gone2'\'', do not edit.\n' >"$AR/gone2.socket.d/20-portable.conf"
echo backup >"$A/.#portabled-0123abcd-7"
echo backup >"$A/foo.service.d/.#portabled-0123abcd-8"
echo temp >"$A/.#portable0000abcd0001"
ln -s /srv/gone_1.raw "$ROOT/etc/portables/gone_1.raw"
mark_link "$ROOT/etc/portables/gone_1.raw"

# What an administrator made, including names that look like ours.
mkdir -p "$A/keep.service.d" "$A/mixed.service.d"
echo '[Service]' >"$A/keep.service.d/override.conf"
printf '# Drop-in created for image '\''/srv/mixed'\'', do not edit.\n' >"$A/mixed.service.d/20-portable.conf"
echo '[Service]' >"$A/mixed.service.d/50-admin.conf"
mkdir -p "$A/admin.service.d"
printf '# no marker\n' >"$A/admin.service.d/20-portable.conf"
echo mine >"$A/.#admin-note"
echo mine >"$A/.#portableNOTHEX00001"
ln -s /srv/admins.raw "$ROOT/etc/portables/admins.raw"
ln -s /srv/runtime.raw "$ROOT/run/portables/runtime.raw"

snapshot >"$T/before"

# Dry run: the list, nothing changed.
run mjson RepairAttachments t 1
assert_eq "dry run: exactly our leftovers" \
"unlink $ROOT/etc/portables/gone_1.raw
unlink $A/.#portable0000abcd0001
unlink $A/.#portabled-0123abcd-7
unlink $A/foo.service.d/.#portabled-0123abcd-8
unlink $A/gone.service.d/10-profile.conf
unlink $A/gone.service.d/20-portable.conf
unlink $AR/gone2.socket.d/20-portable.conf" "$(changes_of <"$T/run.out")"
assert_root_unchanged "dry run changes nothing" "$T/before"

assert_ok "portablectl repair --dry-run" run_ours repair --dry-run
assert_contains "--dry-run says what would go" "$OUT" "Would remove $A/.#portabled-0123abcd-7." \
        "Would remove $ROOT/etc/portables/gone_1.raw."
assert_root_unchanged "portablectl --dry-run changes nothing" "$T/before"

assert_fails_with "unknown flags are refused" "org.freedesktop.DBus.Error.InvalidArgs" -- mcall RepairAttachments t 2

# The real thing.
assert_ok "portablectl repair" run_ours repair
assert_contains "repair says what it removed" "$OUT$ERR" "Removed $A/gone.service.d." "Removed $A/.#portable0000abcd0001."
for gone in "$A/gone.service.d" "$AR/gone2.socket.d" "$A/.#portabled-0123abcd-7" "$A/foo.service.d/.#portabled-0123abcd-8" \
            "$A/.#portable0000abcd0001" "$ROOT/etc/portables/gone_1.raw"; do
        assert_eq "removed: ${gone#"$ROOT"}" "" "$(ls -d "$gone" 2>/dev/null)"
done
for kept in "$A/keep.service.d/override.conf" "$A/mixed.service.d/20-portable.conf" "$A/mixed.service.d/50-admin.conf" \
            "$A/admin.service.d/20-portable.conf" "$A/.#admin-note" "$A/.#portableNOTHEX00001" \
            "$ROOT/etc/portables/admins.raw" "$ROOT/run/portables/runtime.raw" "$ROOT/etc/portables/foo_1" \
            "$A/foo.service" "$A/foo.service.d/20-portable.conf"; do
        assert_eq "kept: ${kept#"$ROOT"}" "$kept" "$(ls -d "$kept" 2>/dev/null)"
done
assert_eq "the real attachment is untouched" 's "attached"' "$(mcall GetImageState s "$IMAGES/foo_1")"
assert_ok "a second repair finds nothing" run_ours repair
assert_contains "it says so" "$ERR" "Nothing to repair."

# A journal that cannot be read keeps its transaction's files: nobody can tell what they are.
echo backup >"$A/.#portabled-00aa-1"
echo '{"version": 1, "id": "00aa", "sta' >"$ROOT/var/lib/portabled/00aa.journal"
assert_ok "repair with an unreadable journal" run_ours repair --json=short
assert_eq "the unreadable journal's files stay" "$A/.#portabled-00aa-1" "$(ls -d "$A/.#portabled-00aa-1" 2>/dev/null)"
assert_eq "and so does the journal" "$ROOT/var/lib/portabled/00aa.journal" \
        "$(ls -d "$ROOT/var/lib/portabled/00aa.journal" 2>/dev/null)"
rm -f "$A/.#portabled-00aa-1" "$ROOT/var/lib/portabled/00aa.journal"

# An interrupted transaction's journal is completed first.
mcall DetachImage sb "$IMAGES/foo_1" false >/dev/null
snapshot >"$T/detached"
mkdir -p "$A"
echo '{"version": 1, "id": "00bb", "description": "test", "state": "applying", "steps": [{"kind": "mkdir", "path": "'"$A"'"}, {"kind": "create", "path": "'"$A"'/half.service", "temp": "'"$A"'/.#portabled-00bb-1"}]}' \
        >"$ROOT/var/lib/portabled/00bb.journal"
echo '[Service]' >"$A/half.service"
assert_ok "repair recovers an interrupted transaction" run_ours repair
assert_root_unchanged "the interrupted transaction is rolled back" "$T/detached"

# Copies --copy=mixed made: what a crash cut short (hidden), and a copy of an image that is no
# longer attached go; a copy still in use, and a directory without our mark, stay.
P=$ROOT/etc/portables
mark_copy() {
        python3 -c 'import os, sys; os.setxattr(sys.argv[1], "trusted.portabled.copy", sys.argv[2].encode(), follow_symlinks=False)' "$1" "$2"
}
mcall AttachImage sassbs "$IMAGES/foo_1" 1 foo default false mixed >/dev/null
assert_ok "mixed: the copy is in place" test -d "$P/foo_1" -a ! -L "$P/foo_1"
mkdir -p "$P/.#portabled-copy-half/usr/lib" "$P/orphan/etc" "$P/admins-dir"
echo half >"$P/.#portabled-copy-half/usr/lib/os-release"
echo orphan >"$P/orphan/etc/file"
mark_copy "$P/orphan" /srv/orphan
echo raw >"$P/orphan.raw"
mark_copy "$P/orphan.raw" /srv/orphan.raw
echo hidden >"$P/.#portabled-copy-half.raw"
assert_ok "repair --dry-run with leftovers of copies" run_ours repair --dry-run
assert_contains "--dry-run lists them" "$OUT" "Would remove $P/.#portabled-copy-half." "Would remove $P/orphan." \
        "Would remove $P/orphan.raw." "Would remove $P/.#portabled-copy-half.raw."
assert_ok "... and leaves them" test -d "$P/.#portabled-copy-half" -a -d "$P/orphan"
assert_ok "repair with leftovers of copies" run_ours repair
assert_contains "repair says what it removed" "$OUT$ERR" "Removed $P/.#portabled-copy-half." "Removed $P/orphan." \
        "Removed $P/orphan.raw." "Removed $P/.#portabled-copy-half.raw."
for gone in "$P/.#portabled-copy-half" "$P/orphan" "$P/orphan.raw" "$P/.#portabled-copy-half.raw"; do
        assert_eq "removed: ${gone#"$ROOT"}" "" "$(ls -d "$gone" 2>/dev/null)"
done
for kept in "$P/foo_1/usr/lib/os-release" "$P/admins-dir"; do
        assert_eq "kept: ${kept#"$ROOT"}" "$kept" "$(ls -d "$kept" 2>/dev/null)"
done
# An orphaned copy with a file system mounted inside it is not ours to remove in full: it stays.
mkdir -p "$P/orphan-mounted/host" "$T/host-data"
echo "the host's" >"$T/host-data/precious"
mark_copy "$P/orphan-mounted" /srv/orphan-mounted
mount --bind "$T/host-data" "$P/orphan-mounted/host"
assert_ok "repair with an orphaned copy that has a mount inside" run_ours repair
assert_ok "... leaves that copy" test -d "$P/orphan-mounted/host"
assert_eq "... and what is mounted there" "the host's" "$(cat "$T/host-data/precious")"
umount "$P/orphan-mounted/host"
assert_ok "unmounted, repair removes it" run_ours repair
assert_eq "... gone" "" "$(ls -d "$P/orphan-mounted" 2>/dev/null)"

assert_ok "detach the mixed attachment" mcall DetachImage sb "$IMAGES/foo_1" false
assert_eq "detach removes its copy" "" "$(ls -d "$P/foo_1" "$P/.#portabled-copy-foo_1" 2>/dev/null)"

# What a daemon killed in the middle of a copy left is gone when it starts again.
mkdir -p "$P/.#portabled-copy-killed/usr"
echo x >"$P/.#portabled-copy-killed/usr/file"
stop_daemon
start_daemon || exit 1
assert_eq "a restart removes the leftover of a copy" "" "$(ls -d "$P/.#portabled-copy-killed" 2>/dev/null)"
assert_contains "and logs it" "$(cat "$T/log/portabled.log")" \
        "Removed $P/.#portabled-copy-killed, left by an interrupted copy of an image."
rmdir "$P/admins-dir"

# Without privileges (and without polkit on this bus): refused.
chmod o+x "$T" "$T/bus"
assert_fails_with "repair needs privileges" "org.freedesktop.DBus.Error.AccessDenied" \
        -- setpriv --reuid=65534 --regid=65534 --clear-groups busctl --address="$BUS_ADDRESS" call \
        "$PORTABLE_DEST" "$PORTABLE_PATH" "$MANAGER_IFACE" RepairAttachments t 1

finish
