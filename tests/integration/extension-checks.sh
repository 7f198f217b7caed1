#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# What an extension must be to be stacked on a root image (reference §3.4): every compatibility
# rule with its root image, one extension it accepts and one it refuses, the refusal naming the
# field and what each side has; the release file found by another name only with force (which
# relaxes nothing else), two candidates refused (ENOTUNIQ); hostile extensions (a release file
# and unit files that are symlinks out of the image, an os-release of their own); a detach
# naming a combination that is not attached. Nothing refused may change the host.
. "$(dirname "$0")/lib.sh"
setup

command -v mksquashfs >/dev/null || skip_all "mksquashfs not installed"

A=$ROOT/etc/systemd/system.attached
UNITS=usr/lib/systemd/system
ESTALE=System.Error.ESTALE

# make_root NAME OS_RELEASE: a root image with that os-release and the foo units.
make_root() {
        stage foo "$IMAGES/$1"
        printf '%b' "$2" >"$IMAGES/$1/usr/lib/os-release"
}

# ext NAME RELEASE [CLASS]: a directory extension NAME carrying extension-release.NAME (sysext, or
# confext in /etc) with the contents RELEASE, and a unit NAME.service.
ext() {
        local dir=usr/lib/extension-release.d units=$UNITS
        if [ "${3:-sysext}" = confext ]; then
                dir=etc/extension-release.d
                units=etc/systemd/system
        fi
        rm -rf "${IMAGES:?}/$1"
        mkdir -p "$IMAGES/$1/$dir" "$IMAGES/$1/$units"
        printf '%b' "$2" >"$IMAGES/$1/$dir/extension-release.$1"
        printf '[Service]\nExecStart=/usr/bin/true %s\n' "$1" >"$IMAGES/$1/$units/$1.service"
}

attach_stack() { # ROOT EXTENSION FLAGS
        mcall AttachImageWithExtensions sasassst "$IMAGES/$1" 1 "$IMAGES/$2" 1 "$2" default "" "$3"
}

detach_stack() { # ROOT EXTENSION
        mcall DetachImageWithExtensions sast "$IMAGES/$1" 1 "$IMAGES/$2" 0 >/dev/null
}

# accepted NAME ROOT EXTENSION: attaches, its unit is there, and detaches again.
accepted() {
        assert_ok "$1: accepted" attach_stack "$2" "$3" 0
        if [ -f "$A/$3.service" ]; then pass "$1: its unit is attached"; else fail "$1: its unit is attached"; fi
        detach_stack "$2" "$3"
        assert_root_unchanged "$1: detached, the host as it was" "$T/pristine"
}

# refused NAME ROOT EXTENSION NEEDLE...: refused with ESTALE and a message naming the extension
# and containing every NEEDLE; the host unchanged.
refused() {
        local name=$1 root=$2 extension=$3
        shift 3
        assert_fails_with "$name: refused" "$ESTALE: " "Image $IMAGES/$extension extension-release metadata does not match the root's" \
                "$@" -- attach_stack "$root" "$extension" 0
        assert_root_unchanged "$name: refused, the host unchanged" "$T/pristine"
}

make_root base 'ID=portabletest\nVERSION_ID=1\n'
make_root rolling 'ID=portabletest\n'
make_root derived 'ID=derived\nID_LIKE="other portabletest"\nVERSION_ID=1\n'
make_root leveled 'ID=portabletest\nVERSION_ID=1\nSYSEXT_LEVEL=2\nCONFEXT_LEVEL=7\n'
snapshot >"$T/pristine"

# --- the compatibility rules, in their order ---------------------------------------------------------

ext ok 'ID=portabletest\nVERSION_ID=1\n'
accepted "a matching ID and VERSION_ID" base ok

ext empty ''
refused "1. an empty release file" base empty "its extension-release file is empty"

ext scope-sys 'SYSEXT_SCOPE="system initrd"\nID=portabletest\nVERSION_ID=1\n'
refused "2. SYSEXT_SCOPE without portable" base scope-sys "SYSEXT_SCOPE=system initrd does not include 'portable'"
ext scope-port 'SYSEXT_SCOPE="system portable"\nID=portabletest\nVERSION_ID=1\n'
accepted "2. SYSEXT_SCOPE with portable" base scope-port

host_arch=$(uname -m | sed -e 's/^x86_64$/x86-64/' -e 's/^aarch64$/arm64/')
other_arch=arm64
[ "$host_arch" = arm64 ] && other_arch=x86-64
ext arch-other "ARCHITECTURE=$other_arch\nID=portabletest\nVERSION_ID=1\n"
refused "3. ARCHITECTURE of another machine" base arch-other "the extension has ARCHITECTURE=$other_arch, the host is $host_arch"
ext arch-host "ARCHITECTURE=$host_arch\nID=portabletest\nVERSION_ID=1\n"
accepted "3. ARCHITECTURE of this machine" base arch-host
ext arch-any 'ARCHITECTURE=_any\nID=portabletest\nVERSION_ID=1\n'
accepted "3. ARCHITECTURE=_any" base arch-any

ext no-id 'VERSION_ID=1\n'
refused "4. no ID" base no-id "its extension-release file has no ID="
ext id-any 'ID=_any\n'
accepted "4. ID=_any, whatever the root's version" base id-any

ext id-other 'ID=otheros\nVERSION_ID=1\n'
refused "5. another ID" base id-other "the extension has ID=otheros, the root image '$IMAGES/base' has ID=portabletest"
refused "5. another ID, not among the root's ID_LIKE" derived id-other \
        "the extension has ID=otheros, the root image '$IMAGES/derived' has ID=derived and ID_LIKE=other portabletest"
accepted "5. the ID of one of the root's ID_LIKE" derived ok

ext no-version 'ID=portabletest\n'
accepted "6. a rolling root: no version to compare" rolling no-version
refused "6. a root with VERSION_ID: the extension must have it" base no-version \
        "the extension has no VERSION_ID, the root image '$IMAGES/base' has VERSION_ID=1"

ext level-2 'ID=portabletest\nVERSION_ID=99\nSYSEXT_LEVEL=2\n'
accepted "7. the same SYSEXT_LEVEL, whatever VERSION_ID" leveled level-2
ext level-3 'ID=portabletest\nVERSION_ID=1\nSYSEXT_LEVEL=3\n'
refused "7. another SYSEXT_LEVEL" leveled level-3 "the extension has SYSEXT_LEVEL=3, the root image '$IMAGES/leveled' has SYSEXT_LEVEL=2"
ext version-2 'ID=portabletest\nVERSION_ID=2\n'
refused "7. another VERSION_ID" base version-2 "the extension has VERSION_ID=2, the root image '$IMAGES/base' has VERSION_ID=1"

# A configuration extension: its release file in /etc, its own scope and level keys.
ext conf-ok 'ID=portabletest\nCONFEXT_SCOPE=portable\nCONFEXT_LEVEL=7\n' confext
accepted "confext: CONFEXT_SCOPE and CONFEXT_LEVEL" leveled conf-ok
ext conf-level 'ID=portabletest\nVERSION_ID=1\nCONFEXT_LEVEL=8\n' confext
refused "confext: another CONFEXT_LEVEL" leveled conf-level "CONFEXT_LEVEL=8" "CONFEXT_LEVEL=7"

# --- how the release file is found; force -------------------------------------------------------------

# app_1.0 carries extension-release.app: found by the name without version, no force needed.
ext app 'ID=portabletest\nVERSION_ID=1\n'
mv "$IMAGES/app" "$IMAGES/app_1.0"
mksquashfs "$IMAGES/app_1.0" "$IMAGES/app_1.0.raw" -all-root -noappend -quiet -no-progress >/dev/null
assert_ok "a release file named without the version is found" \
        mcall AttachImageWithExtensions sasassst "$IMAGES/base" 1 "$IMAGES/app_1.0.raw" 1 app default "" 0
assert_eq "...and systemd 252's service manager is told to relax its own check" \
        "ExtensionImages=$IMAGES/app_1.0.raw:x-systemd.relax-extension-release-check" \
        "$(grep '^ExtensionImages=' "$A/app.service.d/20-portable.conf" 2>&1)"
mcall DetachImageWithExtensions sast "$IMAGES/base" 1 "$IMAGES/app_1.0.raw" 0 >/dev/null
assert_root_unchanged "versioned extension: detached, the host as it was" "$T/pristine"

# renamed carries extension-release.original: only force accepts it.
ext original 'ID=portabletest\nVERSION_ID=1\n'
mv "$IMAGES/original" "$IMAGES/renamed"
mv "$IMAGES/renamed/$UNITS/original.service" "$IMAGES/renamed/$UNITS/renamed.service"
mksquashfs "$IMAGES/renamed" "$IMAGES/renamed.raw" -all-root -noappend -quiet -no-progress >/dev/null
assert_fails_with "another release file name: refused without force, saying what was found and how to accept it" \
        "Image '$IMAGES/renamed.raw' lacks extension-release data" "extension-release.original" "--force" \
        -- mcall AttachImageWithExtensions sasassst "$IMAGES/base" 1 "$IMAGES/renamed.raw" 1 renamed default "" 0
assert_root_unchanged "another release file name without force: the host unchanged" "$T/pristine"
assert_fails_with "FORCE_ATTACH alone does not relax it" "lacks extension-release data" \
        -- mcall AttachImageWithExtensions sasassst "$IMAGES/base" 1 "$IMAGES/renamed.raw" 1 renamed default "" 2
assert_ok "FORCE_EXTENSION accepts it" \
        mcall AttachImageWithExtensions sasassst "$IMAGES/base" 1 "$IMAGES/renamed.raw" 1 renamed default "" 4
assert_eq "...with the relax option in the drop-in" \
        "ExtensionImages=$IMAGES/renamed.raw:x-systemd.relax-extension-release-check" \
        "$(grep '^ExtensionImages=' "$A/renamed.service.d/20-portable.conf" 2>&1)"
assert_ok "inspection with FORCE_EXTENSION shows it" \
        mcall GetImageMetadataWithExtensions sasast "$IMAGES/base" 1 "$IMAGES/renamed.raw" 1 renamed 4
mcall DetachImageWithExtensions sast "$IMAGES/base" 1 "$IMAGES/renamed.raw" 0 >/dev/null
assert_root_unchanged "forced extension: detached, the host as it was" "$T/pristine"
assert_fails_with "force relaxes the name, not the compatibility rules" "$ESTALE: " "VERSION_ID=2" \
        -- mcall AttachImageWithExtensions sasassst "$IMAGES/base" 1 "$IMAGES/version-2" 1 version-2 default "" 6
assert_root_unchanged "force and an incompatible extension: the host unchanged" "$T/pristine"

# Two files that could stand in for the missing one: refused even with force.
ext two 'ID=portabletest\nVERSION_ID=1\n'
mv "$IMAGES/two" "$IMAGES/twins"
cp "$IMAGES/twins/usr/lib/extension-release.d/extension-release.two" "$IMAGES/twins/usr/lib/extension-release.d/extension-release.three"
assert_fails_with "two candidate release files: ENOTUNIQ, naming both" "org.freedesktop.DBus.Error.InvalidArgs: " \
        "extension-release.two" "extension-release.three" "refusing" \
        -- mcall AttachImageWithExtensions sasassst "$IMAGES/base" 1 "$IMAGES/twins" 1 two default "" 4
assert_root_unchanged "two candidate release files: the host unchanged" "$T/pristine"

# --- hostile extensions ---------------------------------------------------------------------------------

stage evil-rel "$IMAGES/evil-rel"
build_raw squashfs "$TEST_DATA/images/evil-rel" "$IMAGES/evil-rel.raw" bare
for e in "$IMAGES/evil-rel" "$IMAGES/evil-rel.raw"; do
        assert_fails_with "${e##*/}: a release file linked out of the image is not the host's: refused" \
                "Image '$e' lacks extension-release data" \
                -- mcall AttachImageWithExtensions sasassst "$IMAGES/base" 1 "$e" 1 evil-rel default "" 4
        assert_not_contains "${e##*/}: nothing of the host's os-release in the message" "$ERRMSG" "Test host"
done
assert_root_unchanged "release file linked out of the image: the host unchanged" "$T/pristine"

stage evil-units "$IMAGES/evil-units"
build_raw squashfs "$TEST_DATA/images/evil-units" "$IMAGES/evil-units.raw" bare
for e in "$IMAGES/evil-units" "$IMAGES/evil-units.raw"; do
        assert_fails_with "${e##*/}: unit files linked out of the image are not read: no unit to attach" \
                "Couldn't find any matching unit files in image '$IMAGES/base' or any of its extensions '$e'" \
                -- mcall AttachImageWithExtensions sasassst "$IMAGES/base" 1 "$e" 1 evil-units default "" 0
        run mjson GetImageMetadataWithExtensions sasast "$IMAGES/base" 1 "$e" 2 foo evil-units 0
        assert_eq "${e##*/}: inspection shows no unit of it" "" \
                "$(printf '%s' "$OUT" | pyjson '" ".join(u for u in d[3] if u.startswith("evil"))' 2>&1)"
        assert_not_contains "${e##*/}: nothing of the host's files in the reply" "$OUT" "root:" "Test host"
done
assert_root_unchanged "unit files linked out of the image: the host unchanged" "$T/pristine"

ext own-osrel 'ID=portabletest\nVERSION_ID=1\n'
printf 'ID=portabletest\nVERSION_ID=1\n' >"$IMAGES/own-osrel/usr/lib/os-release"
assert_fails_with "an extension with an os-release of its own is refused" \
        "Image '$IMAGES/own-osrel' is an extension but carries its own /usr/lib/os-release" \
        -- attach_stack base own-osrel 0
assert_root_unchanged "an extension with an os-release of its own: the host unchanged" "$T/pristine"

assert_fails_with "the root image as its own extension is refused" "given as its own extension" \
        -- mcall AttachImageWithExtensions sasassst "$IMAGES/base" 1 "$IMAGES/base" 1 foo default "" 0
assert_fails_with "an extension given twice is refused" "given more than once" \
        -- mcall AttachImageWithExtensions sasassst "$IMAGES/base" 2 "$IMAGES/ok" "$IMAGES/ok" 1 ok default "" 0
assert_fails_with "an extension that does not exist is NoSuchImage" "org.freedesktop.portable1.NoSuchImage: " \
        -- mcall AttachImageWithExtensions sasassst "$IMAGES/base" 1 nosuchext 1 foo default "" 0
assert_fails_with "an extension path that is not normalised is refused" "org.freedesktop.DBus.Error.InvalidArgs: " \
        "not normalized" -- mcall AttachImageWithExtensions sasassst "$IMAGES/base" 1 "$IMAGES/../images/ok" 1 ok default "" 0
too_many=()
for _ in $(seq 1 33); do too_many+=("$IMAGES/ok"); done
assert_fails_with "more than 32 extensions are refused" "at most 32" \
        -- mcall AttachImageWithExtensions sasassst "$IMAGES/base" 33 "${too_many[@]}" 1 ok default "" 0
assert_root_unchanged "bad extension arguments: the host unchanged" "$T/pristine"
assert_no_leaks "hostile extensions: nothing left mapped or mounted" "$IMAGES"/*.raw

# --- a detach naming a combination that is not attached -----------------------------------------------------

assert_ok "attach base + ok + scope-port" \
        mcall AttachImageWithExtensions sasassst "$IMAGES/base" 2 "$IMAGES/ok" "$IMAGES/scope-port" 2 ok scope-port default "" 0
snapshot >"$T/attached"
for combination in "0" "1 $IMAGES/ok" "1 $IMAGES/scope-port" "2 $IMAGES/scope-port $IMAGES/ok" "3 $IMAGES/ok $IMAGES/scope-port $IMAGES/ok"; do
        # shellcheck disable=SC2086 # the count and the paths
        assert_fails_with "detach with extensions ($combination) is refused" "org.freedesktop.systemd1.NoSuchUnit: " \
                "'$IMAGES/base:$IMAGES/ok:$IMAGES/scope-port'" \
                -- mcall DetachImageWithExtensions sast "$IMAGES/base" $combination 0
        assert_root_unchanged "detach with extensions ($combination): the host unchanged" "$T/attached"
done
assert_ok "detach with the same combination" \
        mcall DetachImageWithExtensions sast "$IMAGES/base" 2 "$IMAGES/ok" "$IMAGES/scope-port" 0
assert_root_unchanged "the same combination: detached, the host as it was" "$T/pristine"

finish
