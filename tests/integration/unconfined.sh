#!/usr/bin/env bash
# Images whose unit files would act on the host outside the image and its profile: every class of
# such setting is refused with an error that names the unit, the line and the setting, whatever the
# profile (but "trusted"), the copy mode or --force, for directory and raw images; the host root is
# left exactly as it was. The "trusted" profile attaches them.
. "$(dirname "$0")/lib.sh"
setup

NOT_CONFINED=org.freedesktop.portable1.UnitNotConfined
FORCE_ATTACH=2

# make_image NAME UNIT CONTENT [UNIT CONTENT...]: a directory image $IMAGES/NAME with the given
# unit files (CONTENT is a printf format, so that NUL bytes and CRs can be written).
make_image() {
        local name=$1 dir=$IMAGES/$1/usr/lib/systemd/system
        shift
        mkdir -p "$dir"
        printf 'ID=test\nPRETTY_NAME="%s"\n' "$name" >"$IMAGES/$name/usr/lib/os-release"
        while [ $# -gt 0 ]; do
                # shellcheck disable=SC2059 # the content is a format on purpose
                printf "$2" >"$dir/$1"
                shift 2
        done
}

# Each image carries one class of violation; the expected error names unit, line and setting.
declare -A EXPECTED
add() {
        local name=$1 expected=$2
        shift 2
        make_image "$name" "$@"
        EXPECTED[$name]=$expected
}

add esc-plus "Unit 'esc-plus.service', line 4: ExecStartPre= has the '+' prefix" \
        esc-plus.service '[Unit]\nDescription=x\n[Service]\nExecStartPre=+/bin/sh -c "touch /pwned"\nExecStart=/bin/true\n'
add esc-bang "Unit 'esc-bang.service', line 3: ExecStart= has the '!!' prefix" \
        esc-bang.service '[Service]\nExecStart=/bin/true\nExecStart=-!!/bin/sh\n'
add esc-hidden "Unit 'esc-hidden.service', line 5: ExecStartPre= has the '+' prefix" \
        esc-hidden.service '\xef\xbb\xbf[Unit]\r\nDescription=x \\\r\n  y\0[Service]\0ExecStartPre="\\x2b/bin/sh"\n'
add esc-sock "Unit 'esc-sock.socket', line 5: ExecStartPre= in a socket unit runs on the host" \
        esc-sock.socket '[Unit]\nDescription=x\n\n[Socket]\nExecStartPre=/bin/touch /pwned\nListenStream=127.0.0.1:9\n' \
        esc-sock.service '[Service]\nExecStart=/bin/true\n'
add esc-fifo "Unit 'esc-fifo.socket', line 2: ListenFIFO= creates a FIFO on the host" \
        esc-fifo.socket '[Socket]\nListenFIFO=/etc/pwned\n'
add esc-symlink "Unit 'esc-symlink.socket', line 3: Symlinks= creates symlinks on the host" \
        esc-symlink.socket '[Socket]\nListenStream=/run/esc-symlink.sock\nSymlinks=/etc/pwned\n'
add esc-unix "Unit 'esc-unix.socket', line 2: ListenStream= '/run/systemd/private' is outside the image's names" \
        esc-unix.socket '[Socket]\nListenStream=/run/systemd/private\n'
add esc-bind "Unit 'esc-bind.service', line 3: BindPaths= mounts paths of the host into the service" \
        esc-bind.service '[Service]\nExecStart=/bin/true\nBindPaths=/etc:/etc\n'
add esc-root "Unit 'esc-root.service', line 2: RootImage= replaces the image root" \
        esc-root.service '[Service]\nRootImage=/dev/sda\n'
add esc-env "Unit 'esc-env.service', line 2: EnvironmentFile= is read by the service manager on the host" \
        esc-env.service '[Service]\nEnvironmentFile=/etc/shadow\n'
add esc-stdout "Unit 'esc-stdout.service', line 2: StandardOutput= is 'file:/etc/motd'" \
        esc-stdout.service '[Service]\nStandardOutput=file:/etc/motd\n'
add esc-pidfile "Unit 'esc-pidfile.service', line 2: PIDFile= '/etc/passwd' is outside the image's names in /run" \
        esc-pidfile.service '[Service]\nPIDFile=/etc/passwd\n'
add esc-root-user "Unit 'esc-root-user.service', line 2: User= names 'root'" \
        esc-root-user.service '[Service]\nUser=root\n'
add esc-dir "Unit 'esc-dir.service', line 2: StateDirectory= names 'mysql'" \
        esc-dir.service '[Service]\nStateDirectory=mysql\n'
add esc-reboot "Unit 'esc-reboot.service', line 2: FailureAction= is 'reboot'" \
        esc-reboot.service '[Unit]\nFailureAction=reboot\n'
add esc-onfailure "Unit 'esc-onfailure.service', line 2: OnFailure= names 'debug-shell.service'" \
        esc-onfailure.service '[Unit]\nOnFailure=debug-shell.service\n'
add esc-timer "Unit 'esc-timer.timer', line 3: Unit= names 'debug-shell.service', which is not a unit of this image" \
        esc-timer.timer '[Timer]\nOnCalendar=daily\nUnit=debug-shell.service\n'
add esc-path "Unit 'esc-path.path', line 3: MakeDirectory= creates directories on the host" \
        esc-path.path '[Path]\nPathExists=/etc/pwned/x\nMakeDirectory=yes\n'
add esc-alias "Unit 'esc-alias.service', line 4: Alias= 'sshd.service' is outside the image's names" \
        esc-alias.service '[Service]\nExecStart=/bin/true\n[Install]\nAlias=sshd.service\n'
# The unit that breaks the rule need not be the first: nothing of the image is attached.
add esc-second "Unit 'esc-second.socket', line 2: SocketUser=" \
        esc-a.service '[Service]\nExecStart=/bin/true\n' \
        esc-second.service '[Service]\nExecStart=/bin/true\n' \
        esc-second.socket '[Socket]\nSocketUser=root\nListenStream=/run/esc-second.sock\n'

build_raw squashfs "$IMAGES/esc-plus" "$IMAGES/raw/esc-plus.raw"

snapshot >"$T/pristine"

# refused NAME IMAGE PREFIX EXPECTED: attaching is refused with every profile but "trusted", with
# --force, in every copy mode; the host root stays as it was.
refused() {
        local name=$1 image=$2 prefix=$3 expected=$4 profile mode
        for profile in default nonetwork strict; do
                for mode in "" copy symlink; do
                        assert_fails_with "$name: refused ($profile${mode:+, $mode})" "$NOT_CONFINED: $expected" \
                                -- mcall AttachImage sassbs "$image" 1 "$prefix" "$profile" false "$mode"
                done
        done
        assert_fails_with "$name: refused with --force" "$NOT_CONFINED: $expected" "refusing (use --profile=trusted" \
                -- mcall AttachImageWithExtensions sasassst "$image" 0 1 "$prefix" default "" "$FORCE_ATTACH"
        assert_fails_with "$name: refused without a profile" "$NOT_CONFINED: $expected" \
                -- mcall AttachImage sassbs "$image" 1 "$prefix" "" true ""
        assert_root_unchanged "$name: host root unchanged" "$T/pristine"
}

# trusted NAME IMAGE PREFIX: the trusted profile attaches it; detaching restores the root.
trusted() {
        local name=$1 image=$2 prefix=$3
        assert_ok "$name: attached with the trusted profile" mcall AttachImage sassbs "$image" 1 "$prefix" trusted false ""
        assert_eq "$name: attached" 's "attached"' "$(mcall GetImageState s "$image")"
        assert_ok "$name: detached" mcall DetachImage sb "$image" false
        assert_root_unchanged "$name: detach restores the root" "$T/pristine"
}

for name in $(printf '%s\n' "${!EXPECTED[@]}" | sort); do
        refused "$name" "$IMAGES/$name" "$name" "${EXPECTED[$name]}"
done
refused "squashfs image" "$IMAGES/raw/esc-plus.raw" esc-plus "${EXPECTED[esc-plus]}"
assert_no_leaks "squashfs image: no loop device or mount left" "$IMAGES/raw/esc-plus.raw"

for name in esc-plus esc-sock esc-unix esc-root-user esc-timer esc-alias; do
        trusted "$name" "$IMAGES/$name" "$name"
done
trusted "squashfs image" "$IMAGES/raw/esc-plus.raw" esc-plus

# --- the client ----------------------------------------------------------------------------------

if have_ours; then
        run run_ours attach --no-reload "$IMAGES/esc-sock"
        assert_eq "portablectl attach: exit status 1" 1 "$RC"
        assert_contains "portablectl attach: the message names unit, line, setting and the way out" "$ERR" \
                "Unit 'esc-sock.socket', line 5: ExecStartPre= in a socket unit runs on the host, outside the image and its profile; refusing (use --profile=trusted to allow it)."
        run run_ours attach --no-reload --force "$IMAGES/esc-sock"
        assert_eq "portablectl attach --force: still refused" 1 "$RC"
        assert_root_unchanged "portablectl: host root unchanged" "$T/pristine"
        assert_ok "portablectl attach --profile=trusted" run_ours attach --no-reload --profile=trusted "$IMAGES/esc-sock"
        assert_ok "portablectl detach" run_ours detach --no-reload "$IMAGES/esc-sock"
        assert_root_unchanged "portablectl: detach restores the root" "$T/pristine"
else
        skip "portablectl refusals" "portablectl not built"
fi

# Nothing outside the test root was touched by any of it.
assert_eq "no /pwned, /etc/pwned on the machine" "" "$(ls -d /pwned /etc/pwned 2>/dev/null)"

finish
