#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The org.freedesktop.portable1 bus API, spoken with busctl: introspection, Manager methods and
# properties, Image objects, object path escaping and the error names of reference §1.9.
. "$(dirname "$0")/lib.sh"
setup

POOL=$ROOT/var/lib/portables
stage foo "$POOL/foo"
stage foo "$POOL/foo_1"
build_raw squashfs "$TEST_DATA/images/foo" "$POOL/foo_sq.raw"
build_raw squashfs "$TEST_DATA/images/foo" "$POOL/foo_ro.raw"
chmod 0444 "$POOL/foo_ro.raw"
stage foo "$IMAGES/foo"
echo "not an image" >"$IMAGES/notanimage.txt"
mkdir -p "$ROOT/etc/systemd/portable/profile/custom"
printf '[Service]\nPrivateTmp=yes\n' >"$ROOT/etc/systemd/portable/profile/custom/service.conf"

# --- introspection: every method and property with its exact signature --------------------------

check_members() {
        local iface=$1 path=$2 line member kind sig result got
        bus introspect --no-pager "$PORTABLE_DEST" "$path" "$iface" >"$T/introspect" 2>&1
        while read -r member kind sig result; do
                if [ "$kind" = property ]; then
                        got=$(awk -v m=".$member" '$1 == m { print $2, $3 }' "$T/introspect")
                        assert_eq "$iface: property $member has type $sig" "$kind $sig" "$got"
                else
                        got=$(awk -v m=".$member" '$1 == m { print $2, $3, $4 }' "$T/introspect")
                        assert_eq "$iface: method $member($sig) -> $result" "$kind $sig $result" "$got"
                fi
        done
}

check_members "$MANAGER_IFACE" "$PORTABLE_PATH" <<'EOF'
GetImage method s o
ListImages method - a(ssbtttso)
GetImageOSRelease method s a{ss}
GetImageMetadata method sas saya{say}
GetImageMetadataWithExtensions method sasast saya{say}a{say}
GetImageMetadataWithLayers method sasast saya{say}a{say}a{ss}
GetImageState method s s
GetImageStateWithExtensions method sast s
AttachImage method sassbs a(sss)
AttachImageWithExtensions method sasassst a(sss)
DetachImage method sb a(sss)
DetachImageWithExtensions method sast a(sss)
ReattachImage method sassbs a(sss)a(sss)
ReattachImageWithExtensions method sasassst a(sss)a(sss)
RemoveImage method s -
MarkImageReadOnly method sb -
SetImageLimit method st -
SetPoolLimit method t -
GetImageMetadataWithOptions method sasasta{sv} saya{say}a{say}a{ss}a{sv}
AttachImageWithOptions method sasasssta{sv} a(sss)
ReattachImageWithOptions method sasasssta{sv} a(sss)a(sss)
PoolPath property s -
PoolUsage property t -
PoolLimit property t -
Profiles property as -
EOF

check_members "$IMAGE_IFACE" "$PORTABLE_PATH/image/foo" <<'EOF'
GetOSRelease method - a{ss}
GetMetadata method as saya{say}
GetMetadataWithExtensions method asast saya{say}a{say}
GetMetadataWithLayers method asast saya{say}a{say}a{ss}
GetState method - s
GetStateWithExtensions method ast s
Attach method assbs a(sss)
AttachWithExtensions method asassst a(sss)
Detach method b a(sss)
DetachWithExtensions method ast a(sss)
Reattach method assbs a(sss)a(sss)
ReattachWithExtensions method asassst a(sss)a(sss)
Remove method - -
MarkReadOnly method b -
SetLimit method t -
Name property s -
Path property s -
Type property s -
ReadOnly property b -
CreationTimestamp property t -
ModificationTimestamp property t -
Usage property t -
Limit property t -
UsageExclusive property t -
LimitExclusive property t -
EOF

# --- Manager properties ---------------------------------------------------------------------------

assert_eq "PoolPath is the relocated pool" "s \"$POOL\"" "$(mprop PoolPath)"
assert_eq "PoolUsage is unknown on a non-btrfs pool" "t 18446744073709551615" "$(mprop PoolUsage)"
assert_eq "PoolLimit is unknown on a non-btrfs pool" "t 18446744073709551615" "$(mprop PoolLimit)"
assert_eq "Profiles lists vendor and admin profile directories, sorted" \
        'as 5 "custom" "default" "nonetwork" "strict" "trusted"' "$(mprop Profiles)"
ln -s /dev/null "$ROOT/etc/systemd/portable/profile/nonetwork"
assert_eq "Profiles drops a profile masked by a symlink to /dev/null" \
        'as 4 "custom" "default" "strict" "trusted"' "$(mprop Profiles)"
rm "$ROOT/etc/systemd/portable/profile/nonetwork"

# --- ListImages -----------------------------------------------------------------------------------

assert_ok "ListImages succeeds" mcall ListImages
assert_eq "ListImages returns a(ssbtttso) with the 4 pool images" "a(ssbtttso) 4" "$(echo "$OUT" | cut -d' ' -f1,2)"
mjson ListImages >"$T/list.json"
assert_eq "ListImages reply type" "a(ssbtttso)" "$(pyjson 't' <"$T/list.json")"
assert_eq "ListImages: name type ro state object, by name" \
        "foo directory false detached /org/freedesktop/portable1/image/foo
foo_1 directory false detached /org/freedesktop/portable1/image/foo_5f1
foo_ro raw true detached /org/freedesktop/portable1/image/foo_5fro
foo_sq raw false detached /org/freedesktop/portable1/image/foo_5fsq" \
        "$(pyjson 'sorted("%s %s %s %s %s" % (i[0], i[1], str(i[2]).lower(), i[6], i[7]) for i in d[0])' <"$T/list.json")"
size=$(stat -c %s "$POOL/foo_sq.raw")
usage=$(($(stat -c %b "$POOL/foo_sq.raw") * 512))
mtime=$(stat -c %Y "$POOL/foo_sq.raw")
assert_eq "ListImages: raw image usage is the allocated size" "$usage" \
        "$(pyjson '[i[5] for i in d[0] if i[0] == "foo_sq"][0]' <"$T/list.json")"
assert_eq "ListImages: raw image modification time in µs" "$mtime" \
        "$(pyjson '[i[4] // 1000000 for i in d[0] if i[0] == "foo_sq"][0]' <"$T/list.json")"

# --- GetImage and object path escaping ------------------------------------------------------------

assert_eq "GetImage foo" "o \"/org/freedesktop/portable1/image/foo\"" "$(mcall GetImage s foo)"
assert_eq "GetImage foo_1 escapes '_' as _5f" "o \"/org/freedesktop/portable1/image/foo_5f1\"" "$(mcall GetImage s foo_1)"
assert_eq "GetImage foo_sq (raw, by name without .raw)" "o \"/org/freedesktop/portable1/image/foo_5fsq\"" \
        "$(mcall GetImage s foo_sq)"
assert_fails_with "GetImage of an unknown name is NoSuchImage" \
        "org.freedesktop.portable1.NoSuchImage: " "No image 'nope' found." -- mcall GetImage s nope
assert_fails_with "GetImage by path is refused with InvalidArgs" \
        "org.freedesktop.DBus.Error.InvalidArgs: " "Expected image name, not path in place of '$IMAGES/foo'" \
        -- mcall GetImage s "$IMAGES/foo"
assert_fails_with "GetImage with the .raw suffix is NoSuchImage" \
        "org.freedesktop.portable1.NoSuchImage" -- mcall GetImage s foo_sq.raw

bus tree --list "$PORTABLE_DEST" >"$T/tree" 2>&1
for label in foo foo_5f1 foo_5fsq foo_5fro; do
        assert_contains "node enumeration lists image/$label" "$(cat "$T/tree")" "/org/freedesktop/portable1/image/$label"
done
assert_eq "bus_label helper agrees with the daemon for a leading digit" "_31foo" "$(bus_label 1foo)"

# --- Image objects --------------------------------------------------------------------------------

O=$PORTABLE_PATH/image/foo_5f1
assert_eq "Image.Name" 's "foo_1"' "$(iprop "$O" Name)"
assert_eq "Image.Path" "s \"$POOL/foo_1\"" "$(iprop "$O" Path)"
assert_eq "Image.Type directory" 's "directory"' "$(iprop "$O" Type)"
assert_eq "Image.ReadOnly of a writable directory" "b false" "$(iprop "$O" ReadOnly)"
assert_eq "Image.Usage of a directory is unknown" "t 18446744073709551615" "$(iprop "$O" Usage)"
R=$PORTABLE_PATH/image/foo_5fsq
assert_eq "raw Image.Name" 's "foo_sq"' "$(iprop "$R" Name)"
assert_eq "raw Image.Path keeps .raw" "s \"$POOL/foo_sq.raw\"" "$(iprop "$R" Path)"
assert_eq "raw Image.Type" 's "raw"' "$(iprop "$R" Type)"
assert_eq "raw Image.ReadOnly of a 0644 file" "b false" "$(iprop "$R" ReadOnly)"
assert_eq "raw Image.ReadOnly of a 0444 file" "b true" "$(iprop "$PORTABLE_PATH/image/foo_5fro" ReadOnly)"
assert_eq "raw Image.Limit is the file size" "t $size" "$(iprop "$R" Limit)"
assert_eq "raw Image.Usage is the allocated size" "t $usage" "$(iprop "$R" Usage)"
assert_eq "raw Image.ModificationTimestamp" "$mtime" "$(( $(iprop "$R" ModificationTimestamp | cut -d' ' -f2) / 1000000 ))"
assert_fails_with "properties of an object for an unknown image fail" "" \
        -- iprop "$PORTABLE_PATH/image/nope" Name

assert_eq "Image.GetOSRelease ID" "portabletest" "$(ijson "$O" GetOSRelease | pyjson 'd[0]["ID"]')"
assert_eq "Image.GetState" 's "detached"' "$(icall "$O" GetState)"
ijson "$O" GetMetadata as 1 foo >"$T/meta.json"
assert_eq "Image.GetMetadata image path" "$POOL/foo_1" "$(pyjson 'd[0]' <"$T/meta.json")"
assert_eq "Image.GetMetadata units" "foo-bar.socket foo-link.service foo-shadow.service foo.bar.timer foo.path foo.service foo.target foo@.service" \
        "$(pyjson '" ".join(sorted(d[2]))' <"$T/meta.json")"

# --- GetImageOSRelease ----------------------------------------------------------------------------

for img in foo "$IMAGES/foo" foo_sq; do
        mjson GetImageOSRelease s "$img" >"$T/osr.json"
        assert_eq "GetImageOSRelease $img: os-release of the image (via its in-image symlink)" \
                'ID=portabletest PORTABLE_PRETTY_NAME=Foo test service PRETTY_NAME=Portable Test OS 1 VERSION_ID=1' \
                "$(pyjson '" ".join("%s=%s" % kv for kv in sorted(d[0].items()))' <"$T/osr.json")"
done

# --- GetImageMetadata -----------------------------------------------------------------------------

for img in foo "$IMAGES/foo" foo_sq; do
        mjson GetImageMetadata sas "$img" 1 foo >"$T/meta.json"
        case "$img" in
        foo) want=$POOL/foo ;;
        foo_sq) want=$POOL/foo_sq.raw ;;
        *) want=$img ;;
        esac
        assert_eq "GetImageMetadata $img returns the image path" "$want" "$(pyjson 'd[0]' <"$T/meta.json")"
        pyjson 's(d[1])' <"$T/meta.json" >"$T/osr"
        assert_eq "GetImageMetadata $img returns the raw os-release bytes" "" \
                "$(cmp "$T/osr" "$TEST_DATA/images/foo/usr/lib/os-release" 2>&1)"
        pyjson 's(d[2]["foo.service"])' <"$T/meta.json" >"$T/unit"
        assert_eq "GetImageMetadata $img returns the raw unit bytes" "" \
                "$(cmp "$T/unit" "$TEST_DATA/images/foo/usr/lib/systemd/system/foo.service" 2>&1)"
        assert_eq "GetImageMetadata $img returns units sorted by name" \
                "foo-bar.socket foo-link.service foo-shadow.service foo.bar.timer foo.path foo.service foo.target foo@.service" \
                "$(pyjson '" ".join(d[2])' <"$T/meta.json")"
done
assert_no_leaks "no loop device or mount left after reading a raw image" "$POOL/foo_sq.raw"

mjson GetImageMetadataWithExtensions sasast foo 0 1 foo 0 >"$T/meta.json"
assert_eq "GetImageMetadataWithExtensions without extensions: empty extension dict" "{}" \
        "$(pyjson 'str(d[2])' <"$T/meta.json")"
assert_fails_with "GetImageMetadataWithExtensions with a non-public flag is InvalidArgs" \
        "org.freedesktop.DBus.Error.InvalidArgs: " "Invalid 'flags' parameter '8'" \
        -- mcall GetImageMetadataWithExtensions sasast foo 0 1 foo 8
assert_fails_with "GetImageMetadata without matching units names the image" \
        "org.freedesktop.DBus.Error.InvalidArgs: " "Couldn't find any matching unit files in image '$POOL/foo'" \
        -- mcall GetImageMetadata sas foo 1 nomatch

# --- GetImageState --------------------------------------------------------------------------------

assert_eq "GetImageState by name" 's "detached"' "$(mcall GetImageState s foo)"
assert_eq "GetImageState by path" 's "detached"' "$(mcall GetImageState s "$IMAGES/foo")"
assert_eq "GetImageState of an unknown image is detached, not an error" 's "detached"' "$(mcall GetImageState s nope)"
assert_eq "GetImageStateWithExtensions flags 0" 's "detached"' "$(mcall GetImageStateWithExtensions sast foo 0 0)"
assert_fails_with "GetImageStateWithExtensions requires flags 0" \
        "org.freedesktop.DBus.Error.InvalidArgs: " "Invalid 'flags' parameter '1'" \
        -- mcall GetImageStateWithExtensions sast foo 0 1

# --- error names ----------------------------------------------------------------------------------

assert_fails_with "a regular file without .raw is BadImageType naming the path" \
        "org.freedesktop.portable1.BadImageType: " "$IMAGES/notanimage.txt" \
        -- mcall GetImageOSRelease s "$IMAGES/notanimage.txt"
assert_fails_with "a missing path is an error naming the path" "$IMAGES/missing" \
        -- mcall GetImageOSRelease s "$IMAGES/missing"
assert_fails_with "a relative path is InvalidArgs" \
        "org.freedesktop.DBus.Error.InvalidArgs: " "Image name 'images/foo' is not valid or not a valid path." \
        -- mcall GetImageOSRelease s images/foo
assert_fails_with "a non-normalised path is InvalidArgs" \
        "org.freedesktop.DBus.Error.InvalidArgs: " "Image path '$IMAGES/../images/foo' is not normalized." \
        -- mcall GetImageOSRelease s "$IMAGES/../images/foo"
assert_fails_with "an unknown name in GetImageOSRelease is NoSuchImage" \
        "org.freedesktop.portable1.NoSuchImage: " "No image 'nope' found." -- mcall GetImageOSRelease s nope
assert_fails_with "an empty image name is InvalidArgs" "org.freedesktop.DBus.Error.InvalidArgs" \
        -- mcall GetImageOSRelease s ""

finish
