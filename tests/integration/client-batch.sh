#!/usr/bin/env bash
# Our portablectl with a stand-in for PID 1 (fake-systemd) on the private bus, which logs every
# call: several images in one attach, detach or reattach make at most one Reload; enablement links
# are made before it; no Reload when PID 1 holds none of the units and no enablement changed, one
# when it holds one in any state; --now and --enable and --clean in the right order; dry runs change
# nothing and say what would happen, in text and JSON; manifests; globs; -H through sd-bus's ssh
# transport.
. "$(dirname "$0")/lib.sh"
setup
have_ours || skip_all "portablectl not built at $PORTABLECTL"
[ -x "$FAKE_SYSTEMD" ] || skip_all "fake-systemd not built at $FAKE_SYSTEMD"

UNITS=$T/pid1-units
CALLS=$T/pid1-calls
: >"$UNITS"
start_fake_systemd "$UNITS" "$CALLS" || exit 1

# make_image DIR NAME: a directory image whose os-release has ID=batchtest and with the units
# NAME.service (enable-able) and NAME-helper.socket.
make_image() {
        local dir=$1 name=$2
        mkdir -p "$dir/usr/lib/systemd/system" "$dir/etc"
        printf 'ID=batchtest\nPRETTY_NAME="Batch test"\n' >"$dir/usr/lib/os-release"
        printf '[Service]\nExecStart=/usr/bin/true %s\n\n[Install]\nWantedBy=multi-user.target\n' "$name" \
                >"$dir/usr/lib/systemd/system/$name.service"
        printf '[Socket]\nListenStream=/run/%s.sock\n' "$name" >"$dir/usr/lib/systemd/system/$name-helper.socket"
}

make_image "$IMAGES/alpha" alpha
make_image "$IMAGES/beta" beta
make_image "$IMAGES/gamma_1" gamma
make_image "$ROOT/var/lib/portables/delta" delta
make_image "$ROOT/var/lib/portables/epsilon" epsilon

calls() { cat "$CALLS" 2>/dev/null; }
reloads() { grep -c '^Reload$' "$CALLS" 2>/dev/null || true; }
# The calls that change something, in order, one per line (ListUnitsByPatterns and GetUnit left out).
actions() { grep -v -e '^ListUnitsByPatterns' -e '^GetUnit' "$CALLS" 2>/dev/null | cut -d' ' -f1,2 | tr '\n' ';'; }
reset_calls() { : >"$CALLS"; }

snapshot >"$T/pristine"

# ---- one reload for several images, and none when PID 1 holds none of their units ------------

reset_calls
assert_ok "attach three images at once" run_ours attach "$IMAGES/alpha" "$IMAGES/beta" "$IMAGES/gamma_1"
assert_contains "each image gets its own prefix" "$ERR" "prefix 'alpha'" "prefix 'beta'" "prefix 'gamma'"
for u in alpha.service beta.service gamma.service gamma-helper.socket; do
        assert_ok "attach three images: $u is attached" test -f "$ROOT/etc/systemd/system.attached/$u"
done
assert_eq "no unit held by PID 1: no reload" 0 "$(reloads)"
assert_contains "PID 1 is asked about the units of all three, once" "$(calls)" \
        "ListUnitsByPatterns [] [alpha-helper.socket alpha.service beta-helper.socket beta.service gamma-helper.socket gamma.service]"
assert_eq "one question from the client to PID 1" 1 "$(grep -c '^ListUnitsByPatterns \[\] ' "$CALLS")"

reset_calls
echo "beta.service not-found inactive" >"$UNITS"
assert_ok "detach three images at once, one unit held as not-found" \
        run_ours detach "$IMAGES/alpha" "$IMAGES/beta" "$IMAGES/gamma_1"
assert_eq "one reload for the batch" 1 "$(reloads)"
assert_root_unchanged "detaching the three restores the root" "$T/pristine"
: >"$UNITS"

reset_calls
echo "alpha.service loaded inactive" >"$UNITS"
assert_ok "attach one image whose unit PID 1 holds (loaded, stopped)" run_ours attach "$IMAGES/alpha"
assert_eq "a held unit gets a reload" 1 "$(reloads)"
: >"$UNITS"
reset_calls
assert_ok "detach it, nothing held" run_ours detach "$IMAGES/alpha"
assert_eq "nothing held: no reload" 0 "$(reloads)"

reset_calls
echo "alpha.service loaded active" >"$UNITS"
assert_ok "--no-reload never reloads" run_ours attach --no-reload --force "$IMAGES/alpha"
assert_eq "--no-reload: no reload" 0 "$(reloads)"
assert_not_contains "--no-reload: PID 1 is not even asked" "$(calls)" "ListUnitsByPatterns []"
assert_ok "detach --no-reload --force" run_ours detach --no-reload --force "$IMAGES/alpha"
: >"$UNITS"
restore_skeleton

# ---- the order: enable, reload, start (upstream issue 39320) ----------------------------------

reset_calls
assert_ok "attach --enable --now two images" run_ours attach --enable --now "$IMAGES/alpha" "$IMAGES/beta"
assert_eq "enable both, one reload after the links exist, then start" \
        "EnableUnitFilesWithFlags $ROOT/etc/systemd/system.attached/alpha-helper.socket;EnableUnitFilesWithFlags $ROOT/etc/systemd/system.attached/alpha.service;EnableUnitFilesWithFlags $ROOT/etc/systemd/system.attached/beta-helper.socket;EnableUnitFilesWithFlags $ROOT/etc/systemd/system.attached/beta.service;Reload;StartUnit alpha-helper.socket;StartUnit alpha.service;StartUnit beta-helper.socket;StartUnit beta.service;" \
        "$(actions)"

reset_calls
assert_ok "detach --enable --now --clean two images" run_ours detach --enable --now --clean "$IMAGES/alpha" "$IMAGES/beta"
assert_eq "stop all, then disable and clean, then one reload" \
        "StopUnit alpha-helper.socket;StopUnit alpha.service;StopUnit beta-helper.socket;StopUnit beta.service;DisableUnitFilesWithFlags alpha-helper.socket;CleanUnit alpha-helper.socket;CleanUnit alpha-helper.socket;DisableUnitFilesWithFlags alpha.service;CleanUnit alpha.service;CleanUnit alpha.service;DisableUnitFilesWithFlags beta-helper.socket;CleanUnit beta-helper.socket;CleanUnit beta-helper.socket;DisableUnitFilesWithFlags beta.service;CleanUnit beta.service;CleanUnit beta.service;Reload;" \
        "$(actions)"
assert_contains "--clean asks for the fd store too, then falls back for systemd 252" "$(calls)" \
        "CleanUnit alpha.service all fdstore" "CleanUnit alpha.service all"
assert_root_unchanged "detach --enable --now --clean restores the root" "$T/pristine"

reset_calls
assert_ok "attach --now (no enablement): no reload when nothing is held" run_ours attach --now "$IMAGES/alpha"
assert_eq "started from disk, no reload" "StartUnit alpha-helper.socket;StartUnit alpha.service;" "$(actions)"
rm -rf "$IMAGES/alpha.moved"
mv "$IMAGES/alpha" "$IMAGES/alpha.moved"
reset_calls
assert_ok "detach --now of an image that is gone: the daemon's plan names the units" run_ours detach --now "$IMAGES/alpha"
assert_eq "its units are stopped before the detach" "StopUnit alpha-helper.socket;StopUnit alpha.service;" "$(actions)"
mv "$IMAGES/alpha.moved" "$IMAGES/alpha"
assert_root_unchanged "the detach of a gone image restores the root" "$T/pristine"

# ---- reattach of several images ----------------------------------------------------------------

assert_ok "attach two" run_ours attach "$IMAGES/alpha" "$IMAGES/gamma_1"
make_image "$IMAGES/gamma_2" gamma
rm "$IMAGES/gamma_2/usr/lib/systemd/system/gamma-helper.socket"
reset_calls
echo "gamma.service loaded active" >"$UNITS"
assert_ok "reattach --now two images" run_ours reattach --now "$IMAGES/alpha" "$IMAGES/gamma_2"
assert_eq "the unit gone is stopped, one reload, the units restarted" \
        "StopUnit gamma-helper.socket;Reload;RestartUnit alpha-helper.socket;RestartUnit alpha.service;RestartUnit gamma.service;" \
        "$(actions)"
assert_contains "gamma_2 is attached" "$(cat "$ROOT/etc/systemd/system.attached/gamma.service.d/20-portable.conf")" "$IMAGES/gamma_2"
: >"$UNITS"
assert_ok "detach both" run_ours detach "$IMAGES/alpha" "$IMAGES/gamma_2"
assert_root_unchanged "reattach and detach restore the root" "$T/pristine"

# ---- globs and names ---------------------------------------------------------------------------

assert_ok "attach by glob: every detached image in the search path" run_ours attach '*'
assert_contains "attach '*' attached both images of the pool" "$ERR" "prefix 'delta'" "prefix 'epsilon'"
assert_ok "list after attach '*'" run_ours list --no-legend
assert_eq "both attached" "delta attached;epsilon attached;" "$(echo "$OUT" | awk '{ printf "%s %s;", $1, $NF }')"
run run_ours attach 'del*'
assert_eq "a glob that matches no detached image fails" 1 "$RC"
assert_contains "and says so" "$ERR" "No detached image matches 'del*'."
assert_ok "detach by glob" run_ours detach 'd*' epsilon
assert_contains "detach 'd*' detached delta" "$ERR" "delta"
run run_ours is-attached epsilon
assert_eq "a name after an image is a prefix, as in systemd's portablectl: epsilon stays" "attached" "$OUT"
assert_ok "detach epsilon" run_ours detach epsilon
assert_root_unchanged "glob attach and detach restore the root" "$T/pristine"

# ---- dry runs ----------------------------------------------------------------------------------

reset_calls
assert_ok "attach --dry-run --enable --now" run_ours attach --dry-run --enable --now "$IMAGES/alpha" "$IMAGES/beta"
assert_root_unchanged "a dry run changes nothing" "$T/pristine"
assert_eq "a dry run makes no change through PID 1" "" "$(actions)"
assert_contains "the plan names the files, the enablement, the reload and the starts" "$OUT" \
        "Image $IMAGES/alpha:" \
        "  Would write $ROOT/etc/systemd/system.attached/alpha.service.d/20-portable.conf." \
        "  Would copy $IMAGES/alpha/usr/lib/systemd/system/alpha.service → $ROOT/etc/systemd/system.attached/alpha.service." \
        "Image $IMAGES/beta:" \
        "Would enable $ROOT/etc/systemd/system.attached/beta.service." \
        "Would reload the service manager: the enablement of units changes." \
        "Would start alpha.service."
assert_contains "and that nothing changed" "$ERR" "Dry run: nothing was changed."

assert_ok "attach --dry-run --json=short" run_ours attach --dry-run --json=short "$IMAGES/alpha"
assert_eq "the JSON plan" \
        "alpha:mkdir,mkdir,write,symlink,copy,mkdir,write,symlink,copy,symlink|conflicts=0|reload=False|enable=0" \
        "$(python3 -c '
import json, sys
p = json.loads(sys.stdin.read())
i = p["images"][0]
print("%s:%s|conflicts=%d|reload=%s|enable=%d" % (i["image"].rsplit("/", 1)[1], ",".join(c["type"] for c in i["changes"]),
      len(p["conflicts"]), p["reload"], len(p["enable"])))' <<<"$OUT")"
assert_root_unchanged "a JSON dry run changes nothing" "$T/pristine"

echo "alpha.service loaded active" >"$UNITS"
run run_ours attach --dry-run "$IMAGES/alpha"
assert_eq "a dry run that would be refused exits 1" 1 "$RC"
assert_contains "and names the conflict" "$OUT" "Conflict: unit alpha.service is active."
assert_contains "and says nothing changed" "$ERR" "1 conflict would refuse this; nothing was changed."
run run_ours attach --dry-run --json=short "$IMAGES/alpha"
assert_eq "the JSON of a conflict" '[{"image": "'"$IMAGES"'/alpha", "unit": "alpha.service", "reason": "active"}]' \
        "$(python3 -c 'import json, sys; print(json.dumps(json.loads(sys.stdin.read())["conflicts"]))' <<<"$OUT")"
: >"$UNITS"
assert_ok "attach alpha for real" run_ours attach --no-reload "$IMAGES/alpha"
snapshot >"$T/attached"
run run_ours attach --dry-run "$IMAGES/alpha"
assert_contains "attaching it again: its unit files exist" "$OUT" \
        "Conflict: unit file alpha.service exists on the host already." \
        "Conflict: unit file alpha-helper.socket exists on the host already."

reset_calls
echo "alpha.service loaded active" >"$UNITS"
run run_ours detach --dry-run "$IMAGES/alpha"
assert_eq "detach --dry-run of a running unit would be refused" 1 "$RC"
assert_contains "because it is active" "$OUT" "Conflict: unit alpha.service is active."
assert_ok "detach --dry-run --now: it would be stopped first" run_ours detach --dry-run --now "$IMAGES/alpha"
assert_contains "the plan of detach --now" "$OUT" \
        "  Would remove $ROOT/etc/systemd/system.attached/alpha.service." \
        "  Would remove $ROOT/etc/systemd/system.attached/alpha.service.d." \
        "Would stop alpha.service." \
        "Would reload the service manager: the service manager holds alpha.service (loaded) (checked again after stopping)."
assert_eq "a dry run stops nothing" "" "$(actions)"
: >"$UNITS"
assert_ok "reattach --dry-run" run_ours reattach --dry-run "$IMAGES/alpha"
assert_contains "reattach plans to replace the files" "$OUT" \
        "  Would write $ROOT/etc/systemd/system.attached/alpha.service.d/20-portable.conf."
assert_root_unchanged "no dry run changed anything" "$T/attached"
assert_ok "detach alpha" run_ours detach "$IMAGES/alpha"
assert_root_unchanged "detach after the dry runs restores the root" "$T/pristine"

# ---- manifests ---------------------------------------------------------------------------------

mkdir -p "$T/manifests"
cat >"$T/manifests/alpha.portable" <<EOF
# alpha, with its own settings
[Portable]
RootImage=../images/alpha
Prefixes=alpha
Profile=strict
CopyMode=copy
Runtime=yes
Enable=yes
EOF
printf '[Portable]\nRootImage=%s\n' "$IMAGES/beta" >"$T/manifests/beta.portable"
reset_calls
assert_ok "attach two manifests" run_ours attach --manifest="$T/manifests/alpha.portable" --manifest="$T/manifests/beta.portable"
assert_eq "alpha: runtime, copied strict profile" \
        "$PROFILES/strict/service.conf" \
        "$(cmp -s "$ROOT/run/systemd/system.attached/alpha.service.d/10-profile.conf" "$PROFILES/strict/service.conf" && echo "$PROFILES/strict/service.conf")"
assert_eq "alpha: the profile is a copy" "" "$(find "$ROOT/run/systemd/system.attached/alpha.service.d/10-profile.conf" -type l)"
assert_ok "beta: persistent, as no setting says otherwise" test -f "$ROOT/etc/systemd/system.attached/beta.service"
assert_eq "only alpha is enabled (in runtime mode), then one reload" \
        "EnableUnitFilesWithFlags $ROOT/run/systemd/system.attached/alpha-helper.socket;EnableUnitFilesWithFlags $ROOT/run/systemd/system.attached/alpha.service;Reload;" \
        "$(actions)"
assert_contains "runtime enablement: UNIT_FILE_PORTABLE|UNIT_FILE_RUNTIME" "$(calls)" \
        "EnableUnitFilesWithFlags $ROOT/run/systemd/system.attached/alpha.service 5"
assert_ok "reattach by the same manifests" run_ours reattach --manifest="$T/manifests/alpha.portable" --manifest="$T/manifests/beta.portable"
assert_ok "detach by the same manifests" run_ours detach --manifest="$T/manifests/alpha.portable" --manifest="$T/manifests/beta.portable"
assert_root_unchanged "manifests attach, reattach and detach cleanly" "$T/pristine"

printf '[Portable]\nRootImage=%s\nEnable=perhaps\n' "$IMAGES/beta" >"$T/manifests/bad.portable"
run run_ours attach --manifest="$T/manifests/bad.portable"
assert_eq "a malformed manifest is refused" 1 "$RC"
assert_contains "naming the file, the line and the value" "$ERR" \
        "Manifest '$T/manifests/bad.portable', line 3: Enable= not a boolean: 'perhaps'."
run run_ours attach
assert_eq "attach without any image fails" 1 "$RC"
assert_contains "and says what is missing" "$ERR" "No image given"

# ---- --copy=mixed: the image entry is a copy -------------------------------------------------

build_raw squashfs "$IMAGES/beta" "$IMAGES/zeta.raw" || exit 1
assert_ok "attach --copy=mixed a directory and a raw image" run_ours attach --copy=mixed "$IMAGES/alpha" "$IMAGES/zeta.raw" beta
assert_contains "mixed: the change list says copied" "$ERR" "Copied $IMAGES/alpha → $ROOT/etc/portables/alpha." \
        "Copied $IMAGES/zeta.raw → $ROOT/etc/portables/zeta.raw."
# is_copy_of ORIGINAL COPY: COPY is a file or directory (no link) with the same contents.
is_copy_of() {
        [ ! -L "$2" ] && [ -e "$2" ] && diff -r "$1" "$2" >/dev/null
}
assert_ok "mixed: the directory image is copied" is_copy_of "$IMAGES/alpha" "$ROOT/etc/portables/alpha"
assert_ok "mixed: the raw image is copied" is_copy_of "$IMAGES/zeta.raw" "$ROOT/etc/portables/zeta.raw"
assert_ok "mixed: the profile is linked" test -L "$ROOT/etc/systemd/system.attached/alpha.service.d/10-profile.conf"
assert_contains "mixed: the drop-in names the original" \
        "$(cat "$ROOT/etc/systemd/system.attached/alpha.service.d/20-portable.conf")" "RootDirectory=$IMAGES/alpha"
assert_eq "mixed: no hidden file left" "" "$(find "$ROOT" -name '.#portabled*')"
assert_ok "detach the mixed images" run_ours detach "$IMAGES/alpha" "$IMAGES/zeta.raw"
assert_root_unchanged "detaching removes the copies" "$T/pristine"
assert_ok "attach --copy=mixed --dry-run" run_ours attach --copy=mixed --dry-run "$IMAGES/alpha"
assert_contains "the plan says the image would be copied" "$OUT" "Would copy $IMAGES/alpha → $ROOT/etc/portables/alpha."
assert_root_unchanged "a mixed dry run changes nothing" "$T/pristine"

# A file system mounted inside the image is not the image's to copy: the image is linked instead,
# and the user is told so and where to find why.
mkdir -p "$T/host-data" "$IMAGES/alpha/host"
echo "the host's" >"$T/host-data/precious"
mount --bind "$T/host-data" "$IMAGES/alpha/host"
assert_ok "attach --copy=mixed an image with a mount inside" run_ours attach --copy=mixed "$IMAGES/alpha"
assert_contains "... the client says so, after the change lines" "$ERR" \
        "Created symlink $ROOT/etc/portables/alpha → $IMAGES/alpha.
Image $IMAGES/alpha could not be copied to $ROOT/etc/portables/alpha (--copy=mixed) and is linked there instead; portabled's log says why."
assert_contains "... and the daemon's log says why" "$(cat "$T/log/portabled.log")" \
        "Image '$IMAGES/alpha' has a file system mounted inside it, which is not the image's to copy: linked it at $ROOT/etc/portables/alpha instead of copying it."
assert_ok "... it is linked, not copied" test -L "$ROOT/etc/portables/alpha"
assert_eq "... no half copy left" "" "$(find "$ROOT" -name '.#portabled*')"
assert_ok "detach it" run_ours detach "$IMAGES/alpha"
assert_ok "again with --quiet" run_ours attach --copy=mixed --quiet "$IMAGES/alpha"
assert_contains "... which keeps the warning" "$ERR" "Image $IMAGES/alpha could not be copied"
assert_not_contains "... and drops the change lines" "$ERR" "Created symlink"
assert_ok "detach it" run_ours detach "$IMAGES/alpha"
umount "$IMAGES/alpha/host"
rmdir "$IMAGES/alpha/host"
assert_eq "what was mounted there is untouched" "the host's" "$(cat "$T/host-data/precious")"
assert_root_unchanged "and the host is as before" "$T/pristine"
assert_ok "a copy that works: no warning" run_ours attach --copy=mixed "$IMAGES/alpha"
assert_not_contains "... none" "$ERR" "could not be copied"
assert_ok "detach it again" run_ours detach "$IMAGES/alpha"

# ---- a batch that fails half-way ---------------------------------------------------------------

assert_ok "attach beta alone" run_ours attach --no-reload "$IMAGES/beta"
run run_ours attach "$IMAGES/alpha" "$IMAGES/beta" "$IMAGES/gamma_1"
assert_eq "a batch with an image that is attached already fails" 1 "$RC"
assert_contains "naming the image" "$ERR" "Attaching '$IMAGES/beta' failed"
assert_ok "what came before it stays attached" test -f "$ROOT/etc/systemd/system.attached/alpha.service"
assert_ok "what came after it was not tried" test ! -e "$ROOT/etc/systemd/system.attached/gamma.service"
assert_ok "detach alpha and beta" run_ours detach "$IMAGES/alpha" "$IMAGES/beta"
assert_root_unchanged "the half batch detaches cleanly" "$T/pristine"

# ---- -H: sd-bus's own ssh transport, with an "ssh" that bridges to the private bus --------------

if command -v systemd-stdio-bridge >/dev/null; then
        mkdir -p "$T/bin"
        cat >"$T/bin/ssh" <<EOF
#!/bin/sh
echo "\$@" >"$T/ssh-args"
exec systemd-stdio-bridge --bus-path="$BUS_ADDRESS"
EOF
        chmod +x "$T/bin/ssh"
        run env PATH="$T/bin:$PATH" "$PORTABLECTL" -H admin@far.example list --no-legend
        assert_eq "-H: list over the ssh transport" 0 "$RC"
        assert_eq "-H: ssh is asked for the host and the bridge" "-xT -- admin@far.example systemd-stdio-bridge" \
                "$(cat "$T/ssh-args")"
        assert_contains "-H: the images of the far side" "$OUT" "delta" "epsilon"
        run env PATH="$T/bin:$PATH" "$PORTABLECTL" -H far.example attach "$IMAGES/alpha"
        assert_eq "-H: image paths are refused" 1 "$RC"
        assert_contains "-H: with the reason" "$ERR" "not supported when connecting to remote systems"
        run env PATH="$T/bin:$PATH" "$PORTABLECTL" -H far.example attach --now delta
        assert_eq "-H: attach --now by name" 0 "$RC"
        run env PATH="$T/bin:$PATH" "$PORTABLECTL" -H far.example detach --now delta
        assert_eq "-H: detach --now by name" 0 "$RC"
        assert_root_unchanged "-H: attach and detach by name" "$T/pristine"
else
        skip "-H over the ssh transport" "systemd-stdio-bridge not installed"
fi
run "$PORTABLECTL" -M no-such-container-here list
assert_eq "-M: a container that does not exist fails" 1 "$RC"
assert_contains "-M: naming the container" "$ERR" "Failed to connect to the system bus of container no-such-container-here"

finish
