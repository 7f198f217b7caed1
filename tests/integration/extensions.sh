#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Extension images stacked on a root image (reference §3.6, §4.1, §4.2, §4.6, §4.7): attach,
# inspect, state and detach of a directory image with a directory extension, of a raw image with
# two raw extensions and of a mix; the drop-ins, markers and links written (golden files); units
# from every layer, the topmost winning; detach and state requiring the same combination, and a
# wrong one refused with the host unchanged; reattach of a whole stack in one transaction; two
# stacks on one root image; raw extensions of every file system; portablectl --extension.
. "$(dirname "$0")/lib.sh"
setup

for tool in mksquashfs mkfs.erofs mke2fs losetup; do
        command -v "$tool" >/dev/null || skip_all "$tool not installed"
done

A=$ROOT/etc/systemd/system.attached
R=$ROOT/run/systemd/system.attached
UNITS=usr/lib/systemd/system

stage foo "$IMAGES/foo"
stage app0 "$IMAGES/app0"
stage app1 "$IMAGES/app1_2"
build_raw squashfs "$TEST_DATA/images/foo" "$IMAGES/foo.raw"
# Extensions carry a part of /usr only: no mount points of their own.
build_raw squashfs "$TEST_DATA/images/app0" "$IMAGES/app0.raw" bare
build_raw squashfs "$TEST_DATA/images/app1" "$IMAGES/app1_2.raw" bare
snapshot >"$T/pristine"

# state IMAGE [EXTENSION...]: GetImageStateWithExtensions.
state() {
        local image=$1
        shift
        mcall GetImageStateWithExtensions sast "$image" $# "$@" 0
}

# --- a directory image with a directory extension ---------------------------------------------------

mjson AttachImageWithExtensions sasassst "$IMAGES/foo" 1 "$IMAGES/app0" 2 foo app0 default "" 0 | changes_of >"$T/changes"
assert_file_eq "dir + dir extension: change list" ext-dir-dir.changes "$T/changes"
assert_attached_eq "dir + dir extension: files written" ext-dir-dir.tree
assert_eq "a unit only the extension has comes from it" "$(cat "$TEST_DATA/images/app0/$UNITS/app0.service")" \
        "$(cat "$A/app0.service" 2>&1)"
assert_eq "a unit both layers have comes from the extension, on top" \
        "$(cat "$TEST_DATA/images/app0/$UNITS/foo.target")" "$(cat "$A/foo.target" 2>&1)"
assert_eq "state of the stack: attached" 's "attached"' "$(state "$IMAGES/foo" "$IMAGES/app0")"
assert_eq "state of the stack by names: attached" 's "attached"' "$(state foo app0)"
assert_eq "state of the root alone: attached (it is in use)" 's "attached"' "$(mcall GetImageState s "$IMAGES/foo")"
assert_eq "state of the extension alone: attached (it is in use)" 's "attached"' "$(mcall GetImageState s "$IMAGES/app0")"
assert_eq "state with another extension: detached" 's "detached"' "$(state "$IMAGES/foo" "$IMAGES/app1_2")"
assert_eq "state with an empty extension list is the plain state" 's "attached"' "$(state "$IMAGES/foo")"
assert_eq "Image object of the root (through its /etc/portables link): GetStateWithExtensions" 's "attached"' \
        "$(icall "$PORTABLE_PATH/image/foo" GetStateWithExtensions ast 1 "$IMAGES/app0" 0 2>&1)"

snapshot >"$T/attached"
assert_fails_with "detach of the root alone is refused, naming the stack it is attached with" \
        "org.freedesktop.systemd1.NoSuchUnit: " "'$IMAGES/foo'" "'$IMAGES/foo:$IMAGES/app0'" \
        -- mcall DetachImage sb "$IMAGES/foo" false
assert_root_unchanged "detach of the root alone: host unchanged" "$T/attached"
assert_fails_with "detach with another extension is refused" \
        "org.freedesktop.systemd1.NoSuchUnit: " "or any of its extensions '$IMAGES/app1_2'" "'$IMAGES/foo:$IMAGES/app0'" \
        -- mcall DetachImageWithExtensions sast "$IMAGES/foo" 1 "$IMAGES/app1_2" 0
assert_root_unchanged "detach with another extension: host unchanged" "$T/attached"
assert_fails_with "detach with one extension too many is refused" "org.freedesktop.systemd1.NoSuchUnit: " \
        -- mcall DetachImageWithExtensions sast "$IMAGES/foo" 2 "$IMAGES/app0" "$IMAGES/app1_2" 0
assert_root_unchanged "detach with one extension too many: host unchanged" "$T/attached"

mjson DetachImageWithExtensions sast "$IMAGES/foo" 1 "$IMAGES/app0" 0 | changes_of >"$T/changes"
assert_file_eq "dir + dir extension: detach change list" ext-dir-dir.detach "$T/changes"
assert_root_unchanged "dir + dir extension: detach leaves the host as it was" "$T/pristine"

# --- a raw image with two raw extensions, runtime ---------------------------------------------------

mjson AttachImageWithExtensions sasassst "$IMAGES/foo.raw" 2 "$IMAGES/app0.raw" "$IMAGES/app1_2.raw" 1 app1 \
        default "" 1 | changes_of >"$T/changes"
assert_file_eq "raw + two raw extensions: change list" ext-raw-raw-raw.changes "$T/changes"
# app1_2.raw carries extension-release.app1: systemd 252's service manager needs the relax option.
assert_attached_eq "raw + two raw extensions: files written" ext-raw-raw-raw.tree
assert_no_leaks "raw + two raw extensions: nothing left mapped or mounted" "$IMAGES/foo.raw" "$IMAGES/app0.raw" \
        "$IMAGES/app1_2.raw"
assert_eq "state of the stack: attached-runtime" 's "attached-runtime"' \
        "$(state "$IMAGES/foo.raw" "$IMAGES/app0.raw" "$IMAGES/app1_2.raw")"
assert_eq "state by names, the last one without its version: attached-runtime" 's "attached-runtime"' \
        "$(state foo app0 app1)"
assert_eq "state naming another version of an extension: detached" 's "detached"' "$(state foo app0 app1_1)"
assert_eq "state with the extensions in the other order: detached" 's "detached"' \
        "$(state "$IMAGES/foo.raw" "$IMAGES/app1_2.raw" "$IMAGES/app0.raw")"
snapshot >"$T/attached"
assert_fails_with "detach with the extensions in the other order is refused" "org.freedesktop.systemd1.NoSuchUnit: " \
        -- mcall DetachImageWithExtensions sast "$IMAGES/foo.raw" 2 "$IMAGES/app1_2.raw" "$IMAGES/app0.raw" 1
assert_root_unchanged "detach with the extensions in the other order: host unchanged" "$T/attached"
assert_fails_with "persistent detach of a runtime stack finds nothing" "org.freedesktop.systemd1.NoSuchUnit: " \
        -- mcall DetachImageWithExtensions sast "$IMAGES/foo.raw" 2 "$IMAGES/app0.raw" "$IMAGES/app1_2.raw" 0
assert_root_unchanged "persistent detach of a runtime stack: host unchanged" "$T/attached"
mjson DetachImageWithExtensions sast "$IMAGES/foo.raw" 2 "$IMAGES/app0.raw" "$IMAGES/app1_2.raw" 1 | changes_of >"$T/changes"
assert_file_eq "raw + two raw extensions: detach change list" ext-raw-raw-raw.detach "$T/changes"
assert_root_unchanged "raw + two raw extensions: detach leaves the host as it was" "$T/pristine"

# --- mixed: a raw image with a directory extension, symlink mode ---------------------------------------

mjson AttachImageWithExtensions sasassst "$IMAGES/foo.raw" 1 "$IMAGES/app0" 2 foo app0 default symlink 0 \
        >/dev/null
# Units of the directory extension are linked to; those of the raw image are copied.
assert_attached_eq "raw + directory extension, symlink mode: files written" ext-mixed.tree
mjson DetachImageWithExtensions sast "$IMAGES/foo.raw" 1 "$IMAGES/app0" 0 >/dev/null
assert_root_unchanged "raw + directory extension: detach leaves the host as it was" "$T/pristine"
assert_no_leaks "raw + directory extension: nothing left mapped or mounted" "$IMAGES/foo.raw"

# And a directory image with a raw extension, by the Image object of the root.
stage foo "$ROOT/var/lib/portables/foo"
snapshot >"$T/pool"
assert_ok "Image.AttachWithExtensions: a pool directory with a raw extension" \
        icall "$PORTABLE_PATH/image/foo" AttachWithExtensions asassst 1 "$IMAGES/app0.raw" 1 app0 default "" 0
assert_eq "its marker names the pool directory and the raw extension" \
        "# Drop-in created for image '$ROOT/var/lib/portables/foo:$IMAGES/app0.raw', do not edit." \
        "$(head -n 1 "$A/app0.service.d/20-portable.conf" 2>&1)"
assert_eq "ExtensionImages= for the raw extension, release file found by its exact name: no relax option" \
        "ExtensionImages=$IMAGES/app0.raw" "$(grep '^ExtensionImages=' "$A/app0.service.d/20-portable.conf" 2>&1)"
assert_eq "ExtensionImagePolicy= pins what the reader found in the raw extension" \
        "ExtensionImagePolicy=root=squashfs:=absent" "$(grep '^ExtensionImagePolicy=' "$A/app0.service.d/20-portable.conf" 2>&1)"
assert_eq "Image.GetStateWithExtensions: attached" 's "attached"' \
        "$(icall "$PORTABLE_PATH/image/foo" GetStateWithExtensions ast 1 "$IMAGES/app0.raw" 0)"
assert_ok "Image.DetachWithExtensions" icall "$PORTABLE_PATH/image/foo" DetachWithExtensions ast 1 "$IMAGES/app0.raw" 0
assert_root_unchanged "Image.DetachWithExtensions leaves the host as it was" "$T/pool"
rm -rf "$ROOT/var/lib/portables/foo"

# --- inspection --------------------------------------------------------------------------------------

mjson GetImageMetadataWithExtensions sasast "$IMAGES/foo.raw" 2 "$IMAGES/app0.raw" "$IMAGES/app1_2" 2 foo app1 0 \
        >"$T/meta.json"
assert_eq "GetImageMetadataWithExtensions: the image path" "$IMAGES/foo.raw" "$(pyjson 'd[0]' <"$T/meta.json")"
assert_eq "GetImageMetadataWithExtensions: the root's os-release" \
        "$(cat "$TEST_DATA/images/foo/usr/lib/os-release")" "$(pyjson 's(d[1])' <"$T/meta.json")"
assert_eq "GetImageMetadataWithExtensions: each extension's release file, by its path, in order" \
        "$IMAGES/app0.raw $IMAGES/app1_2" "$(pyjson '" ".join(d[2])' <"$T/meta.json")"
assert_eq "GetImageMetadataWithExtensions: the release file of app1_2" \
        "$(cat "$TEST_DATA/images/app1/usr/lib/extension-release.d/extension-release.app1")" \
        "$(pyjson "s(d[2]['$IMAGES/app1_2'])" <"$T/meta.json")"
assert_eq "GetImageMetadataWithExtensions: the units of every layer" \
        "app1-web.socket app1.service foo-bar.socket foo-link.service foo-shadow.service foo.bar.timer foo.path foo.service foo.target foo@.service" \
        "$(pyjson '" ".join(d[3])' <"$T/meta.json")"
mjson GetImageMetadataWithLayers sasast "$IMAGES/foo.raw" 2 "$IMAGES/app0.raw" "$IMAGES/app1_2" 2 foo app1 0 \
        >"$T/layers.json"
assert_eq "GetImageMetadataWithLayers: the same as GetImageMetadataWithExtensions, and then..." \
        "$(pyjson 'd' <"$T/meta.json")" "$(pyjson 'd[:4]' <"$T/layers.json")"
assert_eq "...which layer each unit came from (foo.target: from app0, on top)" \
        "app1-web.socket $IMAGES/app1_2
app1.service $IMAGES/app1_2
foo-bar.socket $IMAGES/foo.raw
foo.target $IMAGES/app0.raw
foo.service $IMAGES/foo.raw" \
        "$(pyjson '[u + " " + d[4][u] for u in ("app1-web.socket", "app1.service", "foo-bar.socket", "foo.target", "foo.service")]' <"$T/layers.json")"
assert_no_leaks "inspection: nothing left mapped or mounted" "$IMAGES/foo.raw" "$IMAGES/app0.raw"

# Raw extensions of every kind a root image may be. The images are named app0_<format>.raw and
# carry extension-release.app0: found by the version-stripped name.
formats="erofs ext4"
if command -v systemd-repart >/dev/null; then
        formats+=" gpt"
else
        skip "GPT disk extension" "systemd-repart not installed"
fi
for fmt in $formats; do
        build_raw "$fmt" "$TEST_DATA/images/app0" "$IMAGES/app0_$fmt.raw" bare
        mjson GetImageMetadataWithLayers sasast "$IMAGES/foo" 1 "$IMAGES/app0_$fmt.raw" 1 app0 0 >"$T/meta.json"
        assert_eq "$fmt extension: its release file and its unit" \
                "$(cat "$TEST_DATA/images/app0/usr/lib/extension-release.d/extension-release.app0") app0.service $IMAGES/app0_$fmt.raw" \
                "$(pyjson "s(d[2]['$IMAGES/app0_$fmt.raw']).rstrip() + ' ' + ' '.join(d[3]) + ' ' + d[4]['app0.service']" <"$T/meta.json")"
        assert_no_leaks "$fmt extension: nothing left mapped or mounted" "$IMAGES/app0_$fmt.raw"
done

# --- reattach of a whole stack ------------------------------------------------------------------------

stage app1 "$IMAGES/app1_1"
rm "$IMAGES/app1_1/$UNITS/app1-web.socket"
sed -i 's/^Description=.*/Description=app1 service, version 1/' "$IMAGES/app1_1/$UNITS/app1.service"
mjson AttachImageWithExtensions sasassst "$IMAGES/foo" 1 "$IMAGES/app1_1" 1 app1 default "" 0 >/dev/null
snapshot >"$T/v1"

# A new extension version that does not fit the root: refused, the old stack stays as it was.
stage app1 "$IMAGES/app1_3"
sed -i 's/^VERSION_ID=.*/VERSION_ID=9/' "$IMAGES/app1_3/usr/lib/extension-release.d/extension-release.app1"
assert_fails_with "reattach to an incompatible extension version is refused" "VERSION_ID=9" "VERSION_ID=1" \
        -- mcall ReattachImageWithExtensions sasassst "$IMAGES/foo" 1 "$IMAGES/app1_3" 1 app1 default "" 0
assert_root_unchanged "refused reattach: the old stack is attached exactly as it was" "$T/v1"
assert_fails_with "reattach with the extension left out finds nothing to replace" "org.freedesktop.systemd1.NoSuchUnit" \
        -- mcall ReattachImage sassbs "$IMAGES/foo" 1 app1 default false ""
assert_root_unchanged "reattach without the extension: the old stack is attached exactly as it was" "$T/v1"

mjson ReattachImageWithExtensions sasassst "$IMAGES/foo" 1 "$IMAGES/app1_2" 1 app1 default "" 0 >"$T/reattach.json"
assert_eq "reattach: removed for good, the old extension's link" "unlink $ROOT/etc/portables/app1_1" \
        "$(pyjson 'sorted(" ".join(c).rstrip() for c in d[0])' <"$T/reattach.json")"
assert_eq "reattach: updated, the units of the new stack and the links of its images" \
"copy $A/app1-web.socket $IMAGES/app1_2/$UNITS/app1-web.socket
copy $A/app1.service $IMAGES/app1_2/$UNITS/app1.service
symlink $ROOT/etc/portables/app1_2 $IMAGES/app1_2
symlink $ROOT/etc/portables/foo $IMAGES/foo" \
        "$(pyjson 'sorted(" ".join(c).rstrip() for c in d[1] if c[0] in ("copy", "symlink") and not c[1].endswith(".conf"))' <"$T/reattach.json")"
assert_eq "reattach: the markers name the new stack" \
        "# Drop-in created for image '$IMAGES/foo:$IMAGES/app1_2', do not edit." \
        "$(head -n 1 "$A/app1.service.d/20-portable.conf" 2>&1)"
assert_eq "reattach: the unit is the new version's" "$(cat "$IMAGES/app1_2/$UNITS/app1.service")" "$(cat "$A/app1.service")"
assert_eq "reattach: the new stack is attached" 's "attached"' "$(state "$IMAGES/foo" "$IMAGES/app1_2")"
assert_eq "reattach: the old stack is not" 's "detached"' "$(state "$IMAGES/foo" "$IMAGES/app1_1")"
mjson DetachImageWithExtensions sast "$IMAGES/foo" 1 "$IMAGES/app1_2" 0 >/dev/null
assert_root_unchanged "reattach, then detach: the host as it was" "$T/pristine"

# --- two stacks on one root image -----------------------------------------------------------------------

mjson AttachImageWithExtensions sasassst "$IMAGES/foo" 1 "$IMAGES/app0" 1 app0 default "" 1 >/dev/null
mjson AttachImageWithExtensions sasassst "$IMAGES/foo" 1 "$IMAGES/app1_2" 1 app1 default "" 1 >/dev/null
assert_eq "two stacks: ListImages shows the root and both extensions, attached" \
        "app0 attached-runtime
app1_2 attached-runtime
foo attached-runtime" \
        "$(mjson ListImages | pyjson '[i[0] + " " + i[6] for i in d[0]]')"
assert_fails_with "two stacks: a detach of the root alone names one of them" "org.freedesktop.systemd1.NoSuchUnit: " \
        "$IMAGES/foo:" -- mcall DetachImage sb "$IMAGES/foo" true
mjson DetachImageWithExtensions sast "$IMAGES/foo" 1 "$IMAGES/app0" 1 | changes_of >"$T/changes"
assert_eq "two stacks: detaching one removes its units and its extension's link, not the root's link" \
        "unlink $ROOT/run/portables/app0
unlink $R/app0.service" \
        "$(grep -e portables -e '\.service$' "$T/changes")"
assert_eq "two stacks: the other stays attached" 's "attached-runtime"' "$(state "$IMAGES/foo" "$IMAGES/app1_2")"
assert_eq "two stacks: the root's link stays" "$IMAGES/foo" "$(readlink "$ROOT/run/portables/foo")"
mjson DetachImageWithExtensions sast "$IMAGES/foo" 1 "$IMAGES/app1_2" 1 >/dev/null
assert_root_unchanged "two stacks: both detached, the host as it was" "$T/pristine"

# --- portablectl --extension ----------------------------------------------------------------------------

assert_ok "portablectl attach --extension" run_ours --no-reload attach --extension "$IMAGES/app0" "$IMAGES/foo" foo app0
assert_contains "portablectl attach --extension: the extension's unit and link in the change list" "$ERR" \
        "$A/app0.service" "$ROOT/etc/portables/app0 → $IMAGES/app0"
assert_attached_eq "portablectl attach --extension: the same files as the D-Bus call" ext-dir-dir.tree
run run_ours is-attached --extension "$IMAGES/app0" "$IMAGES/foo"
assert_eq "portablectl is-attached --extension: attached, exit status 0" "attached 0" "$OUT $RC"
run run_ours is-attached --extension "$IMAGES/app1_2" "$IMAGES/foo"
assert_eq "portablectl is-attached with another extension: detached, exit status 1" "detached 1" "$OUT $RC"
# A relative path is resolved by the client, like the image argument.
run run_ours is-attached --extension ../images/app0 ../images/foo
assert_eq "portablectl is-attached with relative paths" "attached 0" "$OUT $RC"

run run_ours inspect --extension "$IMAGES/app0" "$IMAGES/foo" foo app0
printf '%s\n' "$OUT" >"$T/inspect"
assert_file_eq "portablectl inspect --extension: text" inspect-ext.txt "$T/inspect"
run run_ours inspect --cat --extension "$IMAGES/app0" "$IMAGES/foo" app0
printf '%s\n' "$OUT" >"$T/inspect"
assert_file_eq "portablectl inspect --cat --extension" inspect-ext-cat.txt "$T/inspect"
run run_ours --json=pretty inspect --extension "$IMAGES/app0" "$IMAGES/foo" foo app0
printf '%s\n' "$OUT" >"$T/inspect"
assert_file_eq "portablectl --json inspect --extension" inspect-ext.json "$T/inspect"
run run_ours --json=short inspect --cat --extension "$IMAGES/app0" "$IMAGES/foo" app0
assert_eq "portablectl --json inspect --cat --extension: release text and unit layers" \
        "$(cat "$TEST_DATA/images/app0/usr/lib/extension-release.d/extension-release.app0") $IMAGES/app0" \
        "$(printf '%s' "$OUT" | python3 -c 'import json, sys; j = json.load(sys.stdin); print(j["extensions"][0]["release_text"].rstrip(), j["unit_layers"]["app0.service"])')"

run run_ours --no-reload detach "$IMAGES/foo" foo app0
assert_eq "portablectl detach without the extension fails" 1 "$RC"
assert_contains "portablectl detach without the extension: says how the image is attached" "$ERR" \
        "'$IMAGES/foo:$IMAGES/app0'"
assert_ok "portablectl detach --extension" run_ours --no-reload detach --extension "$IMAGES/app0" "$IMAGES/foo" foo app0
assert_root_unchanged "portablectl detach --extension leaves the host as it was" "$T/pristine"

# --- systemd 252's portablectl with our daemon -----------------------------------------------------------

if have_debian; then
        assert_ok "debian: attach --extension" run_debian --no-reload attach --extension "$IMAGES/app0" "$IMAGES/foo" foo app0
        assert_attached_eq "debian: attach --extension writes what ours does" ext-dir-dir.tree
        run run_debian is-attached --extension "$IMAGES/app0" "$IMAGES/foo"
        assert_eq "debian: is-attached --extension" "attached" "$OUT"
        run run_debian inspect --extension "$IMAGES/app0" "$IMAGES/foo" app0
        assert_contains "debian: inspect --extension shows the extension and its unit" "$OUT" \
                "Extension:" "$IMAGES/app0" "app0.service"
        assert_ok "debian: detach --extension" run_debian --no-reload detach --extension "$IMAGES/app0" "$IMAGES/foo" foo app0
        assert_root_unchanged "debian: detach --extension leaves the host as it was" "$T/pristine"
else
        skip "systemd 252's portablectl with extensions" "Debian's portablectl or unshare not available"
fi

finish
