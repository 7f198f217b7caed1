#!/usr/bin/env bash
# portablectl check against our daemon: one line per finding with its severity, exit status 1 on
# errors, --json; os-release, which units match and why others do not, the mount points of the
# profile and of the service manager, commands present and executable in the image, paths a
# read-only service cannot write, verity, refused unit settings. The image is read by the daemon's
# reader. And --profile=PATH: the same checks as a named profile; attach copies it; files the
# daemon must not read for a caller (not root's, writable by others, not world-readable) are refused.
. "$(dirname "$0")/lib.sh"
setup
have_ours || skip_all "portablectl not built at $PORTABLECTL"

# make_tree DIR: an image tree with a command, one that is not executable, and services that use
# them; other.service does not match the prefix "web".
make_tree() {
        local d=$1
        mkdir -p "$d/usr/lib/systemd/system" "$d/usr/bin" "$d/etc"
        printf 'ID=checktest\nPRETTY_NAME="Check test"\n' >"$d/usr/lib/os-release"
        printf '#!/bin/sh\n' >"$d/usr/bin/web"
        chmod 0755 "$d/usr/bin/web"
        printf '#!/bin/sh\n' >"$d/usr/bin/helper"
        chmod 0644 "$d/usr/bin/helper"
        cat >"$d/usr/lib/systemd/system/web.service" <<'EOF'
[Service]
ExecStart=/usr/bin/web --log=/var/log/web/access.log
ExecStartPost=/usr/bin/helper
ExecStop=/usr/bin/missing-tool
ExecReload=web
EOF
        cat >"$d/usr/lib/systemd/system/web-data.service" <<'EOF'
[Service]
ExecStart=/usr/bin/web /var/lib/web-data
StateDirectory=web-data
EOF
        printf '[Service]\nExecStart=/usr/bin/web\n' >"$d/usr/lib/systemd/system/other.service"
}

make_tree "$T/web"
build_raw squashfs "$T/web" "$IMAGES/web_1.raw" || exit 1
build_raw squashfs "$T/web" "$IMAGES/bare_1.raw" bare || exit 1
# A good image: only a command that is there.
mkdir -p "$T/good/usr/lib/systemd/system" "$T/good/usr/bin"
printf 'ID=checktest\n' >"$T/good/usr/lib/os-release"
printf '#!/bin/sh\n' >"$T/good/usr/bin/good"
chmod 0755 "$T/good/usr/bin/good"
printf '[Service]\nExecStart=/usr/bin/good\nStateDirectory=good\n' >"$T/good/usr/lib/systemd/system/good.service"
build_raw squashfs "$T/good" "$IMAGES/good.raw" || exit 1
snapshot >"$T/pristine"

# line SEVERITY CHECK TEXT: the output has a finding of that severity and check containing TEXT.
has_finding() {
        local name=$1 severity=$2 check=$3 text=$4
        if grep -qF -- "$text" <<<"$(grep -E "^$severity +$check +" <<<"$OUT")"; then
                pass "$name"
        else
                fail "$name" "expected: $severity $check ...$text..." "output:" "$OUT"
        fi
}

run run_ours check "$IMAGES/web_1.raw"
assert_eq "check of an image with errors exits 1" 1 "$RC"
has_finding "os-release and its ID" ok os-release "ID=checktest (Check test)."
has_finding "a unit that matches" ok units "web.service matches prefix 'web'."
has_finding "a unit that does not, and why" info units "other.service is not attached: its name is not 'web' followed by"
has_finding "a command that is missing" error exec "web.service: ExecStop=/usr/bin/missing-tool is not in the image"
has_finding "a command that is not executable" error exec \
        "web.service: ExecStartPost=/usr/bin/helper is in the image but not an executable file"
assert_not_contains "a bare command name found in the image's search path is fine" "$OUT" "ExecReload=web"
has_finding "the commands of a good unit" ok exec "web-data.service: 1 command present and executable in the image."
has_finding "a log path on a read-only image" warning writable \
        "web.service: uses /var/log/web/access.log, which it cannot write: the image is read-only. Add LogsDirectory=web"
assert_not_contains "a state path with StateDirectory= is fine" "$OUT" "/var/lib/web-data, which"
has_finding "the mount points are there" ok mounts "all"
has_finding "no verity" warning verity "root partition (squashfs) has no verity"
assert_contains "a summary" "$OUT" "2 errors, 2 warnings."
assert_root_unchanged "check changes nothing" "$T/pristine"
assert_no_leaks "check leaves no loop device or mount" "$IMAGES/web_1.raw"

run run_ours check "$IMAGES/bare_1.raw" web
assert_eq "an image without mount points exits 1" 1 "$RC"
has_finding "a bind mount of the profile without its mount point" error mounts \
        "/etc/machine-id is missing in the image, and BindReadOnlyPaths=/etc/machine-id of profile 'default' mounts there"
has_finding "an API file system without its mount point" error mounts "/proc is missing in the image"
has_finding "PrivateTmp= of the profile without /tmp" error mounts "/var/tmp is missing in the image"

run run_ours check "$IMAGES/good.raw"
assert_eq "a good image exits 0" 0 "$RC"
assert_not_contains "and has no error or warning but verity's" "$(grep -v '^warning verity' <<<"$OUT")" "error " "warning "
run run_ours check --json=short "$IMAGES/good.raw"
assert_eq "check --json" "good.raw 0 1 default ok" "$(python3 -c '
import json, sys
j = json.loads(sys.stdin.read())
print(j["image"].rsplit("/", 1)[1], j["errors"], j["warnings"], j["profile"], j["findings"][0]["severity"])' <<<"$OUT")"

run run_ours check "$IMAGES/web_1.raw" nosuchprefix
assert_eq "prefixes that match nothing exit 1" 1 "$RC"
has_finding "and say so" error units "no unit file matches prefix 'nosuchprefix'"
run run_ours check -q "$IMAGES/web_1.raw" web other
has_finding "-q: the errors" error exec "missing-tool"
assert_not_contains "-q: no ok lines" "$OUT" "ok "

# A unit that acts on the host: attach would refuse it.
mkdir -p "$IMAGES/host"
cp -a "$T/good/." "$IMAGES/host/"
printf '[Service]\nExecStart=/usr/bin/good\nExecStartPre=+/usr/bin/good\n' >"$IMAGES/host/usr/lib/systemd/system/host.service"
run run_ours check "$IMAGES/host"
has_finding "a unit setting attach refuses" error confinement "host.service"
has_finding "a directory image has no verity to check" info verity "directory image"

run run_ours check "$IMAGES/no-such.raw"
assert_eq "check of a path that does not exist fails" 1 "$RC"

# ---- --profile=PATH --------------------------------------------------------------------------

mkdir -p "$T/profiles.local"
printf '[Service]\nBindReadOnlyPaths=/etc/tight.conf\nPrivateTmp=yes\nDynamicUser=yes\n' >"$T/profiles.local/tight.conf"
chmod 0644 "$T/profiles.local/tight.conf"
run run_ours check --profile="$T/profiles.local/tight.conf" "$IMAGES/good.raw"
assert_eq "a profile path: its mount point is missing, exit 1" 1 "$RC"
has_finding "the profile by path is checked like a named one" error mounts \
        "/etc/tight.conf is missing in the image, and BindReadOnlyPaths=/etc/tight.conf of profile '$T/profiles.local/tight.conf'"

run run_ours check --profile=no-such-profile "$IMAGES/good.raw"
assert_eq "an unknown profile name exits 1" 1 "$RC"
has_finding "and is a finding" error profile "Profile 'no-such-profile' does not exist"
has_finding "the image is still checked" ok exec "good.service"

cp "$T/profiles.local/tight.conf" "$T/profiles.local/open.conf"
chmod 0666 "$T/profiles.local/open.conf"
run run_ours check --profile="$T/profiles.local/open.conf" "$IMAGES/good.raw"
has_finding "a profile others may write is refused" error profile "must be owned by root, writable by nobody else"
cp "$T/profiles.local/tight.conf" "$T/profiles.local/secret.conf"
chmod 0640 "$T/profiles.local/secret.conf"
run run_ours attach --profile="$T/profiles.local/secret.conf" "$IMAGES/good.raw"
assert_eq "attach with a profile not everyone may read fails" 1 "$RC"
assert_contains "so that no caller reads a file through the daemon" "$ERR" "readable by everyone (it is uid 0, mode 0640)"
assert_root_unchanged "a refused profile changes nothing" "$T/pristine"

mkdir -p "$T/good-dir"
cp -a "$T/good/." "$T/good-dir/"
mkdir -p "$T/good-dir/etc" && touch "$T/good-dir/etc/tight.conf"
mv "$T/good-dir" "$IMAGES/good_2"
assert_ok "attach --dry-run --profile=PATH" run_ours attach --dry-run --profile="$T/profiles.local/tight.conf" "$IMAGES/good_2"
assert_contains "the plan copies the profile" "$OUT" \
        "Would copy $T/profiles.local/tight.conf → $ROOT/etc/systemd/system.attached/good.service.d/10-profile.conf."
assert_ok "attach --profile=PATH" run_ours attach --no-reload --profile="$T/profiles.local/tight.conf" "$IMAGES/good_2"
# copied FILE COPY: COPY is a regular file, not a link, with FILE's contents.
copied() {
        [ -f "$2" ] && [ ! -L "$2" ] && cmp -s "$1" "$2"
}
assert_ok "the profile is copied, not linked" copied "$T/profiles.local/tight.conf" \
        "$ROOT/etc/systemd/system.attached/good.service.d/10-profile.conf"
assert_ok "detach" run_ours detach --no-reload "$IMAGES/good_2"
assert_root_unchanged "attach and detach with a profile path" "$T/pristine"

finish
