#!/usr/bin/env bash
# Reattach to a new version of a directory image (reference §4.7): which units go, which are
# updated, the files afterwards, the /etc/portables links, the states, and failure modes.
. "$(dirname "$0")/lib.sh"
setup

stage foo "$IMAGES/foo_1"
stage foo_2 "$IMAGES/foo_2"
A=$ROOT/etc/systemd/system.attached
snapshot >"$T/pristine"

assert_fails_with "reattach without an attachment is NoSuchUnit" \
        "org.freedesktop.systemd1.NoSuchUnit: " "'$IMAGES/foo_2'" \
        -- mcall ReattachImage sassbs "$IMAGES/foo_2" 1 foo default false ""
assert_root_unchanged "failed reattach wrote nothing" "$T/pristine"

mjson AttachImage sassbs "$IMAGES/foo_1" 1 foo default false "" >/dev/null
assert_eq "foo_1 attached" 's "attached"' "$(mcall GetImageState s "$IMAGES/foo_1")"
snapshot >"$T/v1"

assert_fails_with "reattach to a missing image fails" "$IMAGES/foo_3" \
        -- mcall ReattachImage sassbs "$IMAGES/foo_3" 1 foo default false ""
assert_root_unchanged "reattach to a missing image leaves the old attachment alone" "$T/v1"
assert_fails_with "reattach with an unknown copy mode fails" "org.freedesktop.DBus.Error.InvalidArgs: " "bogus" \
        -- mcall ReattachImage sassbs "$IMAGES/foo_2" 1 foo default false bogus
assert_root_unchanged "reattach with a bad copy mode leaves the old attachment alone" "$T/v1"

mjson ReattachImage sassbs "$IMAGES/foo_2" 1 foo default false "" >"$T/reattach.json"
assert_eq "reattach reply type" "a(sss)a(sss)" "$(pyjson 't' <"$T/reattach.json")"
# Removed: units that are gone in v2 and the old image link; the drop-in entries of units kept in
# v2 are not reported as removed (reference §4.7).
assert_eq "reattach: removed units and link" \
"unlink $ROOT/etc/portables/foo_1
unlink $A/foo-bar.socket
unlink $A/foo-link.service
unlink $A/foo-shadow.service
unlink $A/foo.bar.timer
unlink $A/foo.path
unlink $A/foo@.service" \
        "$(pyjson 'sorted(" ".join(c).rstrip() for c in d[0] if not c[1].endswith((".d", ".conf", "system.attached")))' <"$T/reattach.json")"
assert_not_contains "reattach: kept units are not reported removed" \
        "$(pyjson '[c[1] for c in d[0]]' <"$T/reattach.json")" "$A/foo.service" "$A/foo.target"
assert_eq "reattach: updated units and link" \
"copy $A/foo-new.service $IMAGES/foo_2/usr/lib/systemd/system/foo-new.service
copy $A/foo.service $IMAGES/foo_2/usr/lib/systemd/system/foo.service
copy $A/foo.target $IMAGES/foo_2/usr/lib/systemd/system/foo.target
symlink $ROOT/etc/portables/foo_2 $IMAGES/foo_2" \
        "$(pyjson 'sorted(" ".join(c).rstrip() for c in d[1] if c[0] in ("copy", "symlink") and not c[1].endswith(".conf"))' <"$T/reattach.json")"
assert_attached_eq "reattach: files of version 2" reattach-v2.tree
assert_eq "after reattach: foo_2 attached" 's "attached"' "$(mcall GetImageState s "$IMAGES/foo_2")"

# Reattach detaches from the directory selected by the runtime flag, so a runtime reattach of a
# persistent attachment finds nothing.
assert_fails_with "runtime reattach of a persistent attachment is NoSuchUnit" \
        "org.freedesktop.systemd1.NoSuchUnit" -- mcall ReattachImage sassbs "$IMAGES/foo_1" 1 foo default true ""
mjson ReattachImage sassbs "$IMAGES/foo_1" 1 foo default false "" >/dev/null
assert_root_unchanged "reattach back to version 1 gives the same files as attaching it" "$T/v1"

# ReattachImageWithExtensions with flags; bad flags refused.
assert_fails_with "ReattachImageWithExtensions with a non-public flag is InvalidArgs" \
        "org.freedesktop.DBus.Error.InvalidArgs: " "Invalid 'flags' parameter '64'" \
        -- mcall ReattachImageWithExtensions sasassst "$IMAGES/foo_2" 0 1 foo default "" 64
assert_ok "ReattachImageWithExtensions to version 2" \
        mcall ReattachImageWithExtensions sasassst "$IMAGES/foo_2" 0 1 foo default "" 0
assert_attached_eq "ReattachImageWithExtensions: files of version 2" reattach-v2.tree

mjson DetachImage sb "$IMAGES/foo_2" false >/dev/null
assert_root_unchanged "detach after reattach leaves the root as it was" "$T/pristine"

finish
