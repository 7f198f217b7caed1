#!/usr/bin/env bash
# Conflict checks on attach (reference §4.1 step 4, §4.5): a unit of the same name anywhere in the
# host's unit search path or already attached is refused with UnitExists before anything is written;
# FORCE_ATTACH bypasses the check.
. "$(dirname "$0")/lib.sh"
setup

stage foo "$ROOT/var/lib/portables/foo"
stage foo_2 "$IMAGES/foo_2"
snapshot >"$T/pristine"

host_unit_conflict() {
        local dir=$1 unit=$2
        mkdir -p "$ROOT/$dir"
        printf '[Service]\nExecStart=/bin/true\n' >"$ROOT/$dir/$unit"
        snapshot >"$T/before"
        assert_fails_with "host unit $dir/$unit: attach refused with UnitExists" \
                "org.freedesktop.systemd1.UnitExists: " "Unit file '$unit' exists on the host already, refusing." \
                -- mcall AttachImage sassbs foo 1 foo default false ""
        assert_root_unchanged "host unit $dir/$unit: nothing written" "$T/before"
        assert_fails_with "host unit $dir/$unit: runtime attach refused too" \
                "org.freedesktop.systemd1.UnitExists: " "'$unit'" \
                -- mcall AttachImage sassbs foo 1 foo default true ""
        assert_root_unchanged "host unit $dir/$unit: nothing written by the runtime attempt" "$T/before"
        rm "$ROOT/$dir/$unit"
}
host_unit_conflict etc/systemd/system foo.service
host_unit_conflict run/systemd/system foo-bar.socket
host_unit_conflict usr/lib/systemd/system foo@.service
host_unit_conflict usr/local/lib/systemd/system foo.bar.timer
host_unit_conflict etc/systemd/system foo.target
assert_root_unchanged "conflict checks leave the root as it was" "$T/pristine"

# An instance on the host does not conflict with the template, nor does an unrelated name.
printf '[Service]\nExecStart=/bin/true\n' >"$ROOT/etc/systemd/system/foo@x.service"
printf '[Service]\nExecStart=/bin/true\n' >"$ROOT/etc/systemd/system/foobar.service"
snapshot >"$T/with-host-units"
assert_ok "host units foo@x.service and foobar.service do not conflict" \
        mcall AttachImage sassbs foo 1 foo default false ""
mjson DetachImage sb foo false >/dev/null
assert_root_unchanged "detach with unrelated host units" "$T/with-host-units"

# FORCE_ATTACH skips the check; the attached files are written next to the host unit.
printf '[Service]\nExecStart=/bin/host\n' >"$ROOT/etc/systemd/system/foo.service"
snapshot >"$T/with-host-foo"
assert_ok "FORCE_ATTACH attaches despite the host unit" \
        mcall AttachImageWithExtensions sasassst foo 0 1 foo default "" 2
assert_eq "FORCE_ATTACH: the attached unit is the image's" "$(cat "$TEST_DATA/images/foo/usr/lib/systemd/system/foo.service")" \
        "$(cat "$ROOT/etc/systemd/system.attached/foo.service" 2>&1)"
assert_eq "FORCE_ATTACH: the host unit is untouched" "$(printf '[Service]\nExecStart=/bin/host')" \
        "$(cat "$ROOT/etc/systemd/system/foo.service")"
mjson DetachImage sb foo false >/dev/null
assert_root_unchanged "detach after FORCE_ATTACH leaves the host unit alone" "$T/with-host-foo"
rm "$ROOT/etc/systemd/system/foo.service" "$ROOT/etc/systemd/system/foo@x.service" "$ROOT/etc/systemd/system/foobar.service"

# Units already attached conflict: the same image again, runtime next to persistent, another image.
mjson AttachImage sassbs foo 1 foo default false "" >/dev/null
snapshot >"$T/attached"
assert_fails_with "attaching the same image twice is UnitExists" \
        "org.freedesktop.systemd1.UnitExists: " "exists on the host already" \
        -- mcall AttachImage sassbs foo 1 foo default false ""
assert_fails_with "runtime attach next to a persistent one is UnitExists" \
        "org.freedesktop.systemd1.UnitExists: " "exists on the host already" \
        -- mcall AttachImage sassbs foo 1 foo default true ""
assert_fails_with "another image with a unit of the same name is UnitExists" \
        "org.freedesktop.systemd1.UnitExists: " "Unit file 'foo.service' exists on the host already" \
        -- mcall AttachImage sassbs "$IMAGES/foo_2" 1 foo.service default false ""
assert_root_unchanged "refused attaches leave the attached files as they were" "$T/attached"
assert_ok "another image with different unit names attaches next to it" \
        mcall AttachImage sassbs "$IMAGES/foo_2" 1 foo-new default false ""
mjson DetachImage sb "$IMAGES/foo_2" false >/dev/null
assert_root_unchanged "detach by path of foo_2 detaches foo_2 alone, foo stays attached" "$T/attached"
mjson DetachImage sb foo false >/dev/null
assert_root_unchanged "then detach of foo leaves the root as it was" "$T/pristine"

# Detach of something that is not attached.
assert_fails_with "detach of an image that is not attached is NoSuchUnit naming it" \
        "org.freedesktop.systemd1.NoSuchUnit: " "No unit files associated with 'foo' found attached to the system. Image not attached?" \
        -- mcall DetachImage sb foo false
assert_fails_with "detach of a deleted image path is NoSuchUnit, not an image lookup error" \
        "org.freedesktop.systemd1.NoSuchUnit: " "$IMAGES/gone" -- mcall DetachImage sb "$IMAGES/gone" false
assert_root_unchanged "failed detaches leave the root as it was" "$T/pristine"

# A deleted image can still be detached (the drop-in markers are all that is needed).
stage foo "$IMAGES/foo_tmp"
mjson AttachImage sassbs "$IMAGES/foo_tmp" 1 foo default false "" >/dev/null
rm -r "$IMAGES/foo_tmp"
assert_ok "detach of an attached image whose directory was deleted" mcall DetachImage sb "$IMAGES/foo_tmp" false
assert_root_unchanged "detach of a deleted image cleans everything up" "$T/pristine"

finish
