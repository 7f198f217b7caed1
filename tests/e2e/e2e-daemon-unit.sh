#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# shellcheck disable=SC2317 # the check functions are called through t_check
#
# Our daemon as the real portabled.service, under the sandbox of data/portabled.service.in.
#
#  - The unit is built from the template (ExecStart= is the build's portabled) and installed in
#    the container; `systemd-analyze verify` has nothing to say about it, and the running daemon
#    really has the bounding set, no_new_privs, seccomp, read-only mounts and private network.
#  - Everything works under it: list, inspect, attach --now (a request is served by the image),
#    is-attached, detach, for a squashfs image (persistent attach) and a directory image
#    (runtime attach with enablement); inspecting images in another user's private home
#    directory and in /tmp; marking images read-only (a directory, a file of another user) and removing an
#    image tree owned by another user. A probe unit with the same sandbox runs what the raw
#    image reader is meant to do in its child (namespaces, tmpfs, mknod, loop, mount,
#    rlimits, dropping every capability). The daemon survives all of it.
#  - Every capability in the bounding set is needed: without it, an operation that needs it
#    fails. A capability without such a probe fails the test. The same for every right in
#    DeviceAllow=, where PID 1 in the container enforces device access lists.
#  - `systemd-analyze security` gives our unit a lower (better) exposure than systemd 252's
#    systemd-portabled.service; both scores and the settings that differ are printed.
#
# E2E_SECCOMP_KILL=1 runs both units with a drop-in that resets SystemCallErrorNumber=, so that a
# system call outside the filter kills the process instead of failing with EPERM: for checking
# that nothing relies on a call the filter refuses.
set -euo pipefail

SOURCE_ROOT=${SOURCE_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
# shellcheck source=tests/e2e/common.sh
. "$SOURCE_ROOT/tests/e2e/common.sh"

readonly UNIT=portabled.service
readonly UNIT_FILE=/etc/systemd/system/$UNIT
readonly PROBE_UNIT=portabled-reader-probe.service
readonly POOL=/var/lib/portables
# A user whose private home directory holds images; and who owns some images in the pool.
readonly OTHER_UID=4242
readonly OTHER_HOME=/home/e2e-other

# Bit numbers of the capabilities, as in <linux/capability.h>.
readonly CAPS=(
        CAP_CHOWN CAP_DAC_OVERRIDE CAP_DAC_READ_SEARCH CAP_FOWNER CAP_FSETID CAP_KILL CAP_SETGID
        CAP_SETUID CAP_SETPCAP CAP_LINUX_IMMUTABLE CAP_NET_BIND_SERVICE CAP_NET_BROADCAST
        CAP_NET_ADMIN CAP_NET_RAW CAP_IPC_LOCK CAP_IPC_OWNER CAP_SYS_MODULE CAP_SYS_RAWIO
        CAP_SYS_CHROOT CAP_SYS_PTRACE CAP_SYS_PACCT CAP_SYS_ADMIN CAP_SYS_BOOT CAP_SYS_NICE
        CAP_SYS_RESOURCE CAP_SYS_TIME CAP_SYS_TTY_CONFIG CAP_MKNOD CAP_LEASE CAP_AUDIT_WRITE
        CAP_AUDIT_CONTROL CAP_SETFCAP CAP_MAC_OVERRIDE CAP_MAC_ADMIN CAP_SYSLOG CAP_WAKE_ALARM
        CAP_BLOCK_SUSPEND CAP_AUDIT_READ CAP_PERFMON CAP_BPF CAP_CHECKPOINT_RESTORE
)

# What shows that a capability is needed: a probe that succeeds with the unit's bounding set
# and fails without that one capability.
declare -A CAP_PROBE=(
        [CAP_SYS_ADMIN]=probe_raw_inspect
        [CAP_MKNOD]=probe_raw_inspect
        [CAP_DAC_OVERRIDE]=probe_remove_foreign_tree
        [CAP_FOWNER]=probe_read_only_foreign_file
        [CAP_LINUX_IMMUTABLE]=probe_read_only_directory
        [CAP_SETPCAP]=probe_reader_sequence
)

# The capabilities named by CapabilityBoundingSet= in the template, one per line.
unit_caps() {
        sed -n 's/^CapabilityBoundingSet=//p' "$SOURCE_ROOT/data/portabled.service.in" | tr ' ' '\n' | sed '/^$/d'
}

# caps_of_mask HEX: the names of the bits set, one per line.
caps_of_mask() {
        local mask=$((16#$1)) i
        for ((i = 0; i < ${#CAPS[@]}; i++)); do
                ((mask & (1 << i))) && echo "${CAPS[i]}"
        done
        return 0
}

main_pid() {
        unit_prop "$UNIT" MainPID
}

# ---- installing the unit --------------------------------------------------------------------

# unit_from_template: the template with ExecStart= pointing at the build's daemon.
unit_from_template() {
        sed "s|@PORTABLED@|$PORTABLED --vendor-profile-dir=$SOURCE_ROOT/profiles --exit-on-idle=0|" \
                "$SOURCE_ROOT/data/portabled.service.in"
}

start_unit() {
        e2e_exec systemctl start "$UNIT" || e2e_die "cannot start $UNIT"
        e2e__wait_bus_name 30 || e2e_die "$UNIT did not take org.freedesktop.portable1"
        assert_active "$UNIT"
}

restart_unit() {
        e2e_exec systemctl daemon-reload
        e2e_exec systemctl restart "$UNIT" || e2e_die "cannot restart $UNIT"
        e2e__wait_bus_name 30 || e2e_die "$UNIT did not take org.freedesktop.portable1 again"
}

# seccomp_kill_dropin UNIT: with E2E_SECCOMP_KILL=1, calls outside the filter kill.
seccomp_kill_dropin() {
        [[ "${E2E_SECCOMP_KILL:-0}" == 1 ]] || return 0
        e2e_exec mkdir -p "/run/systemd/system/$1.d"
        e2e_sh "printf '[Service]\nSystemCallErrorNumber=\n' >/run/systemd/system/$1.d/10-seccomp-kill.conf"
        e2e_log "$1: system calls outside the filter kill (E2E_SECCOMP_KILL=1)"
}

check_install_and_start() {
        unit_from_template >"$E2E_TMP/$UNIT"
        e2e_exec cp "$E2E_TMP/$UNIT" "$UNIT_FILE"
        seccomp_kill_dropin "$UNIT"
        e2e_exec systemctl daemon-reload
        start_unit
        [[ "$(e2e_sh "busctl --system status org.freedesktop.portable1 | sed -n 's/^Unit=//p'")" == "$UNIT" ]] ||
                e2e_die "org.freedesktop.portable1 is not owned by $UNIT"
        main_pid >"$E2E_TMP/main-pid"
        e2e_log "$UNIT running, main pid $(cat "$E2E_TMP/main-pid")"
}

check_verify() {
        local out
        # The man pages are not installed in the container: check them in the source tree.
        out=$(e2e_exec systemd-analyze verify --man=no "$UNIT_FILE" 2>&1) || {
                e2e_indent <<<"$out" >&2
                e2e_die "systemd-analyze verify failed"
        }
        [[ -z "$out" ]] || { e2e_indent <<<"$out" >&2; e2e_die "systemd-analyze verify has warnings"; }
        local page name section
        for page in $(unit_from_template | sed -n 's/^Documentation=//p'); do
                # man:NAME(SECTION) -> man/NAME.SECTION
                name=${page#man:}
                section=${name#*(}
                name=${name%%(*}
                [[ -f "$SOURCE_ROOT/man/$name.${section%)}" ]] || e2e_die "Documentation= names $page, not in man/"
        done
}

# ---- the sandbox as applied ------------------------------------------------------------------

# assert_mount_mode PID PATH ro|rw: PATH is mounted read-only/read-write in PID's namespace.
assert_mount_mode() {
        local opts
        opts=$(e2e_exec findmnt --task "$1" --noheadings --output OPTIONS --target "$2") ||
                e2e_die "no mount for $2 in the namespace of pid $1"
        [[ "${opts%%,*}" == "$3" ]] || e2e_die "$2 is mounted $opts for the daemon, expected $3"
}

check_sandbox_applied() {
        local pid status bnd want got p opts
        pid=$(main_pid)
        status=$(e2e_exec cat "/proc/$pid/status")
        bnd=$(sed -n 's/^CapBnd:[[:space:]]*//p' <<<"$status")
        want=$(unit_caps | sort)
        got=$(caps_of_mask "$bnd" | sort)
        [[ "$got" == "$want" ]] || e2e_die "bounding set of the daemon: $(tr '\n' ' ' <<<"$got"), expected $(tr '\n' ' ' <<<"$want")"
        [[ "$(sed -n 's/^CapEff:[[:space:]]*//p' <<<"$status")" == "$bnd" ]] || e2e_die "effective set differs from the bounding set"
        grep -q '^NoNewPrivs:[[:space:]]*1$' <<<"$status" || e2e_die "no_new_privs is not set"
        grep -q '^Seccomp:[[:space:]]*2$' <<<"$status" || e2e_die "no seccomp filter"

        for p in / /etc /usr /home /tmp /var/tmp "$E2E_IMAGES" /etc/systemd/system /run/systemd/system; do
                assert_mount_mode "$pid" "$p" ro
        done
        for p in "$ATTACHED_ETC" "$ATTACHED_RUN" /etc/portables /run/portables "$POOL" /var/lib/portabled /run/portabled; do
                assert_mount_mode "$pid" "$p" rw
        done
        [[ "$(e2e_exec readlink "/proc/$pid/ns/net")" != "$(e2e_exec readlink /proc/1/ns/net)" ]] ||
                e2e_die "the daemon shares PID 1's network namespace"
        opts=$(e2e_exec findmnt --task "$pid" --noheadings --output OPTIONS --mountpoint /proc)
        [[ ",$opts," == *,hidepid=invisible,* && ",$opts," == *,subset=pid,* ]] ||
                e2e_die "/proc of the daemon is mounted $opts"
}

# ---- operations under the sandbox -----------------------------------------------------------

# Pool copies of the sample images (container-local: marking read-only sets the immutable
# attribute, which must not end up in the host's temp dir).
check_list() {
        e2e_exec cp "$E2E_IMAGES/sample_1.raw" "$POOL/sample_1.raw"
        e2e_exec cp -a "$E2E_IMAGES/sample_2" "$POOL/sample_2"
        pctl_ok list
        grep -Eq '^sample_1 +raw ' <<<"$PCTL_OUT" || e2e_die "list does not show $POOL/sample_1.raw"
        grep -Eq '^sample_2 +directory ' <<<"$PCTL_OUT" || e2e_die "list does not show $POOL/sample_2"
}

check_inspect() {
        pctl_ok inspect --cat "$1"
        output_has "sample.service"
        output_has "Portabled Sample $2"
        output_has "ID=portabled-sample"
}

check_attach_now() {
        local image=$1 dir=$2
        shift 2
        pctl_ok attach --now "$@" "$image"
        output_has "$dir/sample.service"
        assert_running sample.service "sample.service: version 1 started"
        assert_runs_from_image sample.service "$image"
        assert_http 1
        assert_echo 1 "$(basename "$image")"
}

check_state() {
        assert_state "$1" "$2"
}

check_detach() {
        local image=$1
        shift
        pctl_ok detach --now "$@" "$image"
        assert_state "$image" detached
        assert_clean
}

scenario() {
        local image=$1 kind=$2 dir=$3 state=$4
        shift 4
        t_check "$kind: inspect" check_inspect "$image" 1
        t_check "$kind: attach --now${*:+ $*} serves a request from the image" check_attach_now "$image" "$dir" "$@"
        t_check "$kind: is-attached $state" check_state "$image" "$state"
        t_check "$kind: detach --now${*:+ $*} leaves nothing" check_detach "$image" "$@"
}

# Images in a private home directory of another user (mode 0700, files 0600).
check_foreign_home() {
        e2e_sh "mkdir -p $OTHER_HOME && cp '$E2E_IMAGES/sample_1.raw' $OTHER_HOME/ && cp -a '$E2E_IMAGES/sample_1' $OTHER_HOME/ &&
                chown -R $OTHER_UID:$OTHER_UID $OTHER_HOME && chmod go-rwx $OTHER_HOME $OTHER_HOME/sample_1.raw"
        check_inspect "$OTHER_HOME/sample_1.raw" 1
        check_inspect "$OTHER_HOME/sample_1" 1
        pctl_ok attach "$OTHER_HOME/sample_1.raw"
        assert_state "$OTHER_HOME/sample_1.raw" attached
        pctl_ok detach "$OTHER_HOME/sample_1.raw"
        assert_clean
}

# An image in /tmp: there is no PrivateTmp=. (The name gives the prefix "sample".)
check_tmp() {
        e2e_exec cp "$E2E_IMAGES/sample_1.raw" /tmp/sample_1.raw
        check_inspect /tmp/sample_1.raw 1
        e2e_exec rm -f /tmp/sample_1.raw
}

probe_raw_inspect() {
        pctl inspect "$E2E_IMAGES/sample_1.raw" >/dev/null 2>&1
}

# Removing a directory image whose directories belong to another user.
probe_remove_foreign_tree() {
        e2e_sh "rm -rf $POOL/foreign-tree && cp -a '$E2E_IMAGES/sample_1' $POOL/foreign-tree && chown -R $OTHER_UID:$OTHER_UID $POOL/foreign-tree"
        pctl remove foreign-tree >/dev/null 2>&1 && ! e2e_exec test -e "$POOL/foreign-tree"
}

# Marking a raw image of another user read-only and back (chmod).
probe_read_only_foreign_file() {
        local mode
        e2e_sh "rm -f $POOL/foreign-file.raw && cp '$E2E_IMAGES/sample_1.raw' $POOL/foreign-file.raw &&
                chown $OTHER_UID:$OTHER_UID $POOL/foreign-file.raw && chmod 0644 $POOL/foreign-file.raw"
        pctl read-only foreign-file yes >/dev/null 2>&1 || return 1
        mode=$(e2e_exec stat -c %a "$POOL/foreign-file.raw")
        [[ "$mode" == 444 ]] || e2e_die "foreign-file.raw has mode $mode after read-only yes"
        pctl read-only foreign-file no >/dev/null 2>&1 || return 1
        mode=$(e2e_exec stat -c %a "$POOL/foreign-file.raw")
        [[ "$mode" == 644 ]] || e2e_die "foreign-file.raw has mode $mode after read-only no"
        e2e_exec rm -f "$POOL/foreign-file.raw"
}

# Marking a directory image read-only and back (the immutable attribute).
probe_read_only_directory() {
        pctl read-only sample_2 yes >/dev/null 2>&1 || return 1
        grep -q '^[^ ]*i' <<<"$(e2e_exec lsattr -d "$POOL/sample_2")" || e2e_die "$POOL/sample_2 is not immutable"
        pctl read-only sample_2 no >/dev/null 2>&1 || return 1
        ! grep -q '^[^ ]*i' <<<"$(e2e_exec lsattr -d "$POOL/sample_2")" || e2e_die "$POOL/sample_2 is still immutable"
}

check_probe() {
        "$1" || e2e_die "$1 failed under the sandbox"
}

check_remove_raw() {
        pctl_ok remove sample_1
        ! e2e_exec test -e "$POOL/sample_1.raw" || e2e_die "$POOL/sample_1.raw still there"
}

# ---- the reader child's sequence ------------------------------------------------------------

# What the raw image reader does in its child, with util-linux tools instead of our code, run as
# a service with exactly our unit's sandbox: it shows that the sandbox lets the child do it.
write_reader_probe() {
        cat >"$E2E_TMP/reader-probe" <<'EOF'
#!/bin/bash
# reader-probe IMAGE: mount IMAGE like the raw image reader and read it without capabilities.
set -euo pipefail
image=$1
exec unshare --mount --net --ipc --uts --propagation slave -- bash -euo pipefail -c '
        image=$1
        mount -n -t tmpfs -o mode=0700,nosuid,noexec tmpfs /tmp
        nr=$(losetup --find)
        nr=${nr#/dev/loop}
        mknod -m 0600 /tmp/loop b 7 "$nr"
        losetup --read-only /tmp/loop "$image"
        # (No autoclear with losetup: detach by hand, also when a step fails.)
        trap "umount -n /tmp/root 2>/dev/null; losetup --detach /tmp/loop 2>/dev/null" EXIT
        mkdir /tmp/root
        mount -n -t squashfs -o ro,nosuid,nodev,noexec /tmp/loop /tmp/root
        ulimit -n 64 -c 0
        setpriv --no-new-privs --inh-caps=-all --bounding-set=-all -- \
                bash -c "grep -E \"^Cap(Eff|Prm|Bnd):\" /proc/self/status; grep ^ID= /tmp/root/usr/lib/os-release"
        echo "reader-probe: done"
' reader-probe "$image"
EOF
        chmod 0755 "$E2E_TMP/reader-probe"
}

install_probe_unit() {
        write_reader_probe
        unit_from_template |
                sed -e "s|^ExecStart=.*|ExecStart=$E2E_TMP/reader-probe $E2E_IMAGES/sample_1.raw|" \
                    -e 's/^Type=dbus$/Type=oneshot/' -e '/^BusName=/d' -e '/^WatchdogSec=/d' \
                    -e 's/^Description=.*/Description=Sandbox probe with the unit of portabled/' \
                    >"$E2E_TMP/$PROBE_UNIT"
        # Straight to a file: the journal may not have the lines yet when the unit has finished.
        echo "StandardOutput=truncate:$E2E_TMP/reader-probe.out" >>"$E2E_TMP/$PROBE_UNIT"
        e2e_exec cp "$E2E_TMP/$PROBE_UNIT" "/etc/systemd/system/$PROBE_UNIT"
        seccomp_kill_dropin "$PROBE_UNIT"
        e2e_exec systemctl daemon-reload
}

probe_reader_sequence() {
        local out caps rc=0
        rm -f "$E2E_TMP/reader-probe.out"
        e2e_exec systemctl start "$PROBE_UNIT" >/dev/null 2>&1 || rc=$?
        out=$(cat "$E2E_TMP/reader-probe.out" 2>/dev/null) || true
        e2e_indent <<<"$out" >&2
        ((rc == 0)) || return 1
        grep -q '^reader-probe: done$' <<<"$out" || return 1
        grep -qx 'ID=portabled-sample' <<<"$out" || e2e_die "the reader probe did not read the image"
        caps=$(grep -E '^Cap(Eff|Prm|Bnd):' <<<"$out") || e2e_die "the reader probe did not show its capabilities"
        if [[ $(wc -l <<<"$caps") != 3 ]] || grep -Eqv ':[[:space:]]*0+$' <<<"$caps"; then
                e2e_die "the reader probe kept capabilities"
        fi
}

# ---- the daemon survived --------------------------------------------------------------------

check_survived() {
        local pid
        pid=$(main_pid)
        [[ "$pid" == "$(cat "$E2E_TMP/main-pid")" ]] ||
                e2e_die "$UNIT main pid is $pid, was $(cat "$E2E_TMP/main-pid"): the daemon was restarted"
        [[ "$(unit_prop "$UNIT" NRestarts)" == 0 ]] || e2e_die "$UNIT was restarted"
        [[ "$(unit_prop "$UNIT" Result)" == success ]] || e2e_die "$UNIT result: $(unit_prop "$UNIT" Result)"
}

# ---- every capability is needed -------------------------------------------------------------

# check_cap_needed CAP: with CAP dropped from both units' bounding sets, its probe must fail.
check_cap_needed() {
        local cap=$1 probe=${CAP_PROBE[$1]:-} rc=0 d
        [[ -n "$probe" ]] || e2e_die "nothing shows that $cap is needed: add a probe to CAP_PROBE or drop it from the unit"
        "$probe" || e2e_die "$probe fails even with $cap"
        for d in "/run/systemd/system/$UNIT.d" "/run/systemd/system/$PROBE_UNIT.d"; do
                e2e_exec mkdir -p "$d"
                e2e_sh "printf '[Service]\nCapabilityBoundingSet=~$cap\n' >$d/50-without-cap.conf"
        done
        restart_unit
        grep -qx "$cap" <<<"$(caps_of_mask "$(e2e_exec sed -n 's/^CapBnd:[[:space:]]*//p' "/proc/$(main_pid)/status")")" &&
                e2e_die "the drop-in did not take $cap away"
        # (A subshell: an e2e_die in the probe must not skip the restoring below.)
        ("$probe") || rc=$?
        e2e_exec rm -f "/run/systemd/system/$UNIT.d/50-without-cap.conf" "/run/systemd/system/$PROBE_UNIT.d/50-without-cap.conf"
        restart_unit
        ((rc != 0)) || e2e_die "$probe works without $cap: it is not needed"
        e2e_log "$cap: $probe fails without it"
}

# ---- every device right is needed ----------------------------------------------------------

# Whether PID 1 inside enforces device access lists: it cannot where the host has cgroup v1
# controllers it does not delegate (the container's systemd then has no device controller).
device_policy_enforced() {
        ! e2e_exec systemd-run --quiet --wait --pipe -p DevicePolicy=strict head -c1 /dev/zero >/dev/null 2>&1
}

# check_device_right_needed DEVICE RIGHT: with RIGHT taken from the unit's DeviceAllow=DEVICE,
# reading a raw image fails.
check_device_right_needed() {
        local dev=$1 right=$2 d="/run/systemd/system/$UNIT.d" ldev lrights rc=0
        probe_raw_inspect || e2e_die "probe_raw_inspect fails with the unit's device rights"
        {
                printf '[Service]\nDeviceAllow=\n'
                unit_from_template | sed -n 's/^DeviceAllow=//p' | while read -r ldev lrights; do
                        if [[ "$ldev" == "$dev" ]]; then
                                lrights=${lrights//$right/}
                                [[ -n "$lrights" ]] || continue
                        fi
                        echo "DeviceAllow=$ldev $lrights"
                done
        } >"$E2E_TMP/50-device.conf"
        e2e_exec mkdir -p "$d"
        e2e_exec cp "$E2E_TMP/50-device.conf" "$d/50-device.conf"
        restart_unit
        (probe_raw_inspect) || rc=$?
        e2e_exec rm -f "$d/50-device.conf"
        restart_unit
        ((rc != 0)) || e2e_die "reading a raw image works without '$right' on $dev"
}

# ---- exposure ------------------------------------------------------------------------------

# measure TAG ARG...: `systemd-analyze security ARG...`: the overall exposure level to
# exposure.TAG, the table as JSON to security.TAG.json.
measure() {
        local tag=$1 value
        shift
        value=$(e2e_exec systemd-analyze security --no-pager "$@" 2>/dev/null |
                sed -n 's/.*Overall exposure level for [^:]*: \([0-9.]*\) .*/\1/p')
        [[ -n "$value" ]] || e2e_die "no exposure level from systemd-analyze security $*"
        echo "$value" >"$E2E_TMP/exposure.$tag"
        e2e_exec systemd-analyze security --no-pager --json=short "$@" >"$E2E_TMP/security.$tag.json" 2>/dev/null ||
                e2e_die "systemd-analyze security --json=short $* failed"
}

# Our unit as PID 1 has loaded it, and its file offline: the same.
check_measure_ours() {
        measure ours "$UNIT"
        measure ours-offline --offline=yes "$UNIT_FILE"
        [[ "$(cat "$E2E_TMP/exposure.ours")" == "$(cat "$E2E_TMP/exposure.ours-offline")" ]] ||
                e2e_die "$UNIT: $(cat "$E2E_TMP/exposure.ours") loaded, $(cat "$E2E_TMP/exposure.ours-offline") offline"
}

# systemd-portabled.service cannot be measured loaded: systemd-analyze security asks PID 1 for
# the settings of a loaded unit, the unit is masked, and unmasked PID 1 refuses to load it next to
# ours ("Two services allocated for the same bus name"). Its file is measured offline, which
# gives the same as loaded for ours (above).
check_measure_reference() {
        local file
        for file in /usr/lib/systemd/system/systemd-portabled.service /lib/systemd/system/systemd-portabled.service ""; do
                [[ -n "$file" ]] || e2e_die "systemd-portabled.service not found in the container"
                e2e_exec test -f "$file" && break
        done
        measure 252 --offline=yes "$file"
}

# The settings on which the two units differ: name, ours, systemd 252 ("-" = not exposed).
security_diff() {
        python3 - "$E2E_TMP/security.ours.json" "$E2E_TMP/security.252.json" <<'EOF'
import json, sys

def load(path):
    return {e["name"]: e for e in json.load(open(path))}

def show(e):
    if e is None:
        return "n/a"
    return e["exposure"] if e.get("exposure") else "-"

ours, ref = load(sys.argv[1]), load(sys.argv[2])
print("%-58s %6s %11s" % ("setting", "ours", "systemd-252"))
for name in list(ours) + [n for n in ref if n not in ours]:
    a, b = show(ours.get(name)), show(ref.get(name))
    if a != b:
        print("%-58s %6s %11s" % (name, a, b))
EOF
}

check_lower() {
        local ours ref
        ours=$(cat "$E2E_TMP/exposure.ours" 2>/dev/null) || e2e_die "our unit was not measured"
        ref=$(cat "$E2E_TMP/exposure.252" 2>/dev/null) || e2e_die "systemd-portabled.service was not measured"
        awk -v a="$ours" -v b="$ref" 'BEGIN { exit !(a < b) }' ||
                e2e_die "exposure of $UNIT $ours is not lower than systemd-portabled.service's $ref"
}

main() {
        local cap dev rights i
        [[ -x "$PORTABLECTL" ]] || e2e_skip "portablectl not built ($PORTABLECTL)"
        [[ -x "$PORTABLED" ]] || e2e_skip "portabled not built ($PORTABLED)"
        e2e_init
        e2e_build_sample_images
        e2e_boot

        t_require "$UNIT from data/portabled.service.in starts and owns the bus name" check_install_and_start
        t_check "systemd-analyze verify has no warnings" check_verify
        t_check "the running daemon has the unit's sandbox" check_sandbox_applied

        t_check "list shows the pool's images" check_list
        scenario "$E2E_IMAGES/sample_1.raw" raw "$ATTACHED_ETC" running
        scenario "$E2E_IMAGES/sample_1" directory "$ATTACHED_RUN" running-runtime --runtime --enable
        t_check "images in another user's private home directory" check_foreign_home
        t_check "an image in /tmp" check_tmp
        t_check "read-only: a directory image (immutable attribute)" check_probe probe_read_only_directory
        t_check "read-only: a raw image of another user" check_probe probe_read_only_foreign_file
        t_check "remove: a directory image owned by another user" check_probe probe_remove_foreign_tree
        t_check "remove: a raw image" check_remove_raw
        install_probe_unit
        t_check "the raw image reader's sequence works under the unit's sandbox" check_probe probe_reader_sequence
        t_check "the daemon ran all of it without a restart" check_survived

        for cap in $(unit_caps); do
                t_check "$cap is needed" check_cap_needed "$cap"
        done

        if device_policy_enforced; then
                while read -r dev rights; do
                        for ((i = 0; i < ${#rights}; i++)); do
                                t_check "DeviceAllow=$dev: '${rights:i:1}' is needed" check_device_right_needed "$dev" "${rights:i:1}"
                        done
                done < <(unit_from_template | sed -n 's/^DeviceAllow=//p')
        else
                t_note "PID 1 in the container does not enforce device access lists (cgroup v1 host): DeviceAllow= not checked"
        fi

        t_check "exposure of $UNIT measured" check_measure_ours
        t_check "exposure of systemd-portabled.service (systemd 252) measured" check_measure_reference
        if [[ -s "$E2E_TMP/security.ours.json" && -s "$E2E_TMP/security.252.json" ]]; then
                security_diff | while IFS= read -r line; do t_note "$line"; done
        fi
        t_note "exposure: $UNIT $(cat "$E2E_TMP/exposure.ours" 2>/dev/null || echo n/a)," \
                "systemd-portabled.service $(cat "$E2E_TMP/exposure.252" 2>/dev/null || echo n/a)"
        t_check "$UNIT is less exposed than systemd-portabled.service" check_lower

        if ((T_FAILED > 0)); then
                e2e_log "---- journal of $UNIT ----"
                e2e_exec_timeout 20 journalctl --no-pager -n 60 -o short-monotonic -u "$UNIT" -u "$PROBE_UNIT" >&2 || true
        fi
        t_cleanup
        t_done
}

main "$@"
