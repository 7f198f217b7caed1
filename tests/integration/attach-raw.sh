#!/usr/bin/env bash
# Attach and detach of raw images built at test time from tests/data/images/foo: squashfs, erofs
# and ext4 file systems and a GPT disk with a root partition, in auto, copy and symlink modes,
# persistent and runtime. Checks the exact files written, that unit files are always copied from
# raw images, and that no loop device or mount is left.
. "$(dirname "$0")/lib.sh"
setup

for tool in mksquashfs mkfs.erofs mke2fs losetup; do
        command -v "$tool" >/dev/null || skip_all "$tool not installed"
done

snapshot >"$T/pristine"

formats="squashfs erofs ext4"
if command -v systemd-repart >/dev/null; then
        formats+=" gpt"
else
        skip "GPT disk image" "systemd-repart not installed"
fi
for fmt in $formats; do
        img=$IMAGES/foo_$fmt.raw
        build_raw "$fmt" "$TEST_DATA/images/foo" "$img"
        fs=$fmt
        [ "$fmt" = gpt ] && fs=ext4
        # The drop-in pins what the reader found: the file system, nothing else present.
        subst=(IMAGE="$img" IMAGEFILE="${img##*/}" POLICY="root=$fs:=absent")

        mjson GetImageMetadata sas "$img" 1 foo >"$T/meta.json"
        assert_eq "$fmt: GetImageMetadata finds the same units as in the tree" \
                "foo-bar.socket foo-link.service foo-shadow.service foo.bar.timer foo.path foo.service foo.target foo@.service" \
                "$(pyjson '" ".join(d[2])' <"$T/meta.json")"
        assert_eq "$fmt: os-release read through the image's own /etc/os-release symlink" \
                "$(cat "$TEST_DATA/images/foo/usr/lib/os-release")" "$(pyjson 's(d[1])' <"$T/meta.json")"
        assert_eq "$fmt: an absolute unit symlink is resolved inside the image" \
                "$(cat "$TEST_DATA/images/foo/opt/foo/foo-link.service")" "$(pyjson 's(d[2]["foo-link.service"])' <"$T/meta.json")"
        assert_no_leaks "$fmt: nothing left mapped or mounted after GetImageMetadata" "$img"

        attach "$img" "" false >"$T/changes"
        assert_file_eq "$fmt: attach (auto, persistent): change list" raw-auto-persistent.changes "$T/changes" "${subst[@]}"
        assert_attached_eq "$fmt: attach (auto, persistent): files written" raw-auto-persistent.tree "${subst[@]}"
        assert_no_leaks "$fmt: nothing left mapped or mounted after attach" "$img"
        assert_eq "$fmt: GetImageState: attached" 's "attached"' "$(mcall GetImageState s "$img")"
        assert_eq "$fmt: image reachable by name through its /etc/portables link" 's "raw"' \
                "$(iprop "$PORTABLE_PATH/image/$(bus_label "foo_$fmt")" Type 2>&1)"
        detach "$img" false >/dev/null
        assert_root_unchanged "$fmt: detach leaves the host root as it was" "$T/pristine"
        assert_no_leaks "$fmt: nothing left mapped or mounted after detach" "$img"
done

img=$IMAGES/foo_squashfs.raw
subst=(IMAGE="$img" IMAGEFILE="${img##*/}" POLICY="root=squashfs:=absent")

attach "$img" symlink true >/dev/null
assert_attached_eq "squashfs: symlink mode copies unit files of raw images, /run/portables link" \
        raw-symlink-runtime.tree "${subst[@]}"
assert_eq "squashfs: GetImageState: attached-runtime" 's "attached-runtime"' "$(mcall GetImageState s "$img")"
detach "$img" true >/dev/null
assert_root_unchanged "squashfs: runtime detach leaves the host root as it was" "$T/pristine"

attach "$img" copy false >/dev/null
assert_attached_eq "squashfs: copy mode copies 10-profile.conf" raw-copy-persistent.tree "${subst[@]}"
detach "$img" false >/dev/null
assert_root_unchanged "squashfs: detach after copy mode" "$T/pristine"
assert_no_leaks "squashfs: nothing left mapped or mounted after symlink and copy modes" "$img"

# A read-only raw image in the pool, attached by name: RootImage= names the pool file, no link.
cp "$img" "$ROOT/var/lib/portables/foo_pool.raw"
chmod 0444 "$ROOT/var/lib/portables/foo_pool.raw"
snapshot >"$T/pristine-pool"
assert_eq "pool raw image is read-only" "b true" "$(iprop "$PORTABLE_PATH/image/foo_5fpool" ReadOnly)"
mjson AttachImage sassbs foo_pool 1 foo default true "" >/dev/null
A=$ROOT/run/systemd/system.attached
assert_eq "by-name raw image: RootImage= is the pool path" "RootImage=$ROOT/var/lib/portables/foo_pool.raw" \
        "$(grep '^RootImage=' "$A/foo.service.d/20-portable.conf" 2>&1)"
assert_eq "by-name raw image: PORTABLE= is the file name" "Environment=PORTABLE=foo_pool.raw" \
        "$(grep '^Environment=PORTABLE=' "$A/foo.service.d/20-portable.conf" 2>&1)"
assert_eq "by-name raw image: marker names the pool path" \
        "# Drop-in created for image '$ROOT/var/lib/portables/foo_pool.raw', do not edit." \
        "$(head -n 1 "$A/foo.bar.timer.d/20-portable.conf" 2>&1)"
assert_eq "by-name raw image in the search path: no /run/portables link" "" "$(ls -A "$ROOT/run/portables")"
assert_eq "by-name raw image: attached-runtime" 's "attached-runtime"' "$(mcall GetImageState s foo_pool)"
mjson DetachImage sb foo_pool true >/dev/null
assert_root_unchanged "by-name raw image: detach" "$T/pristine-pool"
assert_no_leaks "pool image: nothing left mapped or mounted" "$ROOT/var/lib/portables/foo_pool.raw"

# Concurrent reads of one raw image must not trip over each other's loop devices.
pids=()
for i in 1 2 3 4; do
        mjson GetImageMetadata sas "$img" 1 foo >"$T/par.$i" 2>&1 &
        pids+=($!)
done
wait "${pids[@]}"
ok_count=0
for i in 1 2 3 4; do
        [ "$(pyjson '" ".join(d[2])' <"$T/par.$i" 2>/dev/null | wc -w)" -eq 8 ] && ok_count=$((ok_count + 1))
done
assert_eq "4 concurrent GetImageMetadata calls on one raw image all succeed" 4 "$ok_count"
assert_no_leaks "nothing left mapped or mounted after concurrent reads" "$img"

# A read-only image without the mount points its profile binds over can not start: refused before
# anything is written, naming the image and the missing paths; FORCE_ATTACH attaches anyway.
build_raw squashfs "$TEST_DATA/images/foo" "$IMAGES/foo_bare.raw" bare
assert_fails_with "bare squashfs without /proc, /etc/machine-id...: attach refused" \
        "$IMAGES/foo_bare.raw" "/proc" "/etc/machine-id" \
        -- mcall AttachImage sassbs "$IMAGES/foo_bare.raw" 1 foo default false ""
assert_root_unchanged "bare squashfs: nothing written" "$T/pristine-pool"
assert_ok "bare squashfs: FORCE_ATTACH attaches" \
        mcall AttachImageWithExtensions sasassst "$IMAGES/foo_bare.raw" 0 1 foo default "" 2
mjson DetachImage sb "$IMAGES/foo_bare.raw" false >/dev/null
assert_root_unchanged "bare squashfs: detach" "$T/pristine-pool"
assert_no_leaks "bare squashfs: nothing left mapped or mounted" "$IMAGES/foo_bare.raw"

finish
