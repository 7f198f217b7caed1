#!/usr/bin/env bash
# Which unit files of an image are picked (reference §3.5): prefix rule, unit types, empty files,
# shadowing between unit directories inside the image, symlinks resolved inside the image, and the
# PORTABLE_PREFIXES check on attach (§3.4). Read through GetImageMetadata on a directory and a
# squashfs image built from the same tree.
. "$(dirname "$0")/lib.sh"
setup

stage foo "$IMAGES/foo"
build_raw squashfs "$TEST_DATA/images/foo" "$IMAGES/foo.raw"
ALL8="foo-bar.socket foo-link.service foo-shadow.service foo.bar.timer foo.path foo.service foo.target foo@.service"

units_of() {
        local img=$1
        shift
        mjson GetImageMetadata sas "$img" $# "$@" | pyjson '" ".join(sorted(d[2]))'
}

for img in "$IMAGES/foo" "$IMAGES/foo.raw"; do
        k=${img##*/}
        assert_eq "$k: prefix foo picks foo, foo-*, foo.*, foo@ of the five unit types" "$ALL8" "$(units_of "$img" foo)"
        assert_eq "$k: no match = every portable unit (foo_x, foobar too; no .mount, no empty file)" \
                "$ALL8 foo_x.service foobar.service" "$(units_of "$img")"
        assert_eq "$k: a full unit name matches exactly that unit" "foo.service" "$(units_of "$img" foo.service)"
        assert_eq "$k: prefix foo-bar" "foo-bar.socket" "$(units_of "$img" foo-bar)"
        assert_eq "$k: prefix foo.bar" "foo.bar.timer" "$(units_of "$img" foo.bar)"
        assert_eq "$k: prefix foo@" "foo@.service" "$(units_of "$img" foo@)"
        assert_eq "$k: prefix foo_x" "foo_x.service" "$(units_of "$img" foo_x)"
        assert_eq "$k: several prefixes are a union" "foo_x.service foobar.service" "$(units_of "$img" foobar foo_x)"
        for m in fo foo.servic foo.mount foo-empty foo-empty.service "foo " ""; do
                assert_fails_with "$k: match '$m' selects nothing and names the image" \
                        "org.freedesktop.DBus.Error.InvalidArgs: " "Couldn't find any matching unit files in image '$img'" \
                        -- mcall GetImageMetadata sas "$img" 1 "$m"
        done
        mjson GetImageMetadata sas "$img" 2 foo-shadow foo-link >"$T/meta.json"
        assert_eq "$k: etc/systemd/system shadows usr/lib/systemd/system inside the image" \
                "$(cat "$TEST_DATA/images/foo/etc/systemd/system/foo-shadow.service")" \
                "$(pyjson 's(d[2]["foo-shadow.service"])' <"$T/meta.json")"
        assert_eq "$k: an absolute unit symlink resolves inside the image" \
                "$(cat "$TEST_DATA/images/foo/opt/foo/foo-link.service")" \
                "$(pyjson 's(d[2]["foo-link.service"])' <"$T/meta.json")"
done

# A unit directory that is itself a symlink inside the image is followed inside the image.
stage foo "$IMAGES/linkdir"
mv "$IMAGES/linkdir/usr/lib/systemd/system" "$IMAGES/linkdir/usr/lib/systemd/real"
ln -s /usr/lib/systemd/real "$IMAGES/linkdir/usr/lib/systemd/system"
assert_eq "a unit directory symlinked inside the image is read" "$ALL8" "$(units_of "$IMAGES/linkdir" foo)"

# PORTABLE_PREFIXES: every match must be one of the declared prefixes (exact members).
stage pfx "$IMAGES/pfx"
snapshot >"$T/pristine"
for m in pfx pfx-c pfx-a-x; do
        assert_fails_with "PORTABLE_PREFIXES: attach with match '$m' is refused" \
                "org.freedesktop.DBus.Error.InvalidArgs: " "'$m'" "$IMAGES/pfx" "pfx-a" "pfx-b" \
                -- mcall AttachImage sassbs "$IMAGES/pfx" 1 "$m" default false ""
        assert_root_unchanged "PORTABLE_PREFIXES: refused attach with '$m' wrote nothing" "$T/pristine"
done
assert_fails_with "PORTABLE_PREFIXES: one bad match among good ones is refused" \
        "org.freedesktop.DBus.Error.InvalidArgs: " "pfx-c" \
        -- mcall AttachImage sassbs "$IMAGES/pfx" 2 pfx-a pfx-c default false ""
attach "$IMAGES/pfx" "" false pfx-a pfx-b >/dev/null
assert_eq "PORTABLE_PREFIXES: attach with the declared prefixes" "pfx-a.service pfx-a.service.d pfx-b.service pfx-b.service.d" \
        "$(ls "$ROOT/etc/systemd/system.attached" 2>&1 | tr '\n' ' ' | sed 's/ $//')"
detach "$IMAGES/pfx" false >/dev/null
mjson AttachImage sassbs "$IMAGES/pfx" 0 default false "" >/dev/null
assert_eq "PORTABLE_PREFIXES: an empty match list passes and takes every unit" \
        "pfx-a.service pfx-a.service.d pfx-b.service pfx-b.service.d pfx-c.service pfx-c.service.d" \
        "$(ls "$ROOT/etc/systemd/system.attached" 2>&1 | tr '\n' ' ' | sed 's/ $//')"
detach "$IMAGES/pfx" false >/dev/null
assert_root_unchanged "PORTABLE_PREFIXES: detach leaves the root as it was" "$T/pristine"

finish
