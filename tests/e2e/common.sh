# SPDX-License-Identifier: LGPL-2.1-or-later
# shellcheck shell=bash
#
# What the e2e-*.sh tests share on top of lib.sh: TAP output, our client and daemon inside the
# container, and assertions about units, images and leftovers. Source it from a test script
# that uses `set -euo pipefail`; it sources lib.sh itself.
#
# Every check runs through t_check DESCRIPTION FUNCTION [ARG...]: the function runs in a
# subshell with `set -e`, so any failing command or e2e_die fails that check only; the check
# is reported as "ok N - ..." or "not ok N - ..." on stdout, and t_done prints the plan and
# exits non-zero if anything failed. t_require is the same for steps everything after
# depends on: a failure there stops the test ("Bail out!").

[[ -n "${E2E_COMMON_LOADED:-}" ]] && return 0
E2E_COMMON_LOADED=1

SOURCE_ROOT=${SOURCE_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
BUILD_ROOT=${BUILD_ROOT:-$SOURCE_ROOT/build}
PORTABLED=${PORTABLED:-$BUILD_ROOT/portabled/portabled}
PORTABLECTL=${PORTABLECTL:-$BUILD_ROOT/portablectl/portablectl}
E2E_NAME=${E2E_NAME:-$(basename "$0" .sh)}
# shellcheck source=tests/e2e/lib.sh
. "$SOURCE_ROOT/tests/e2e/lib.sh"

# systemd's own client, for the interoperability scenarios only.
# shellcheck disable=SC2034 # used by the scripts that source this
readonly SYSTEMD_PORTABLECTL=/usr/bin/portablectl
readonly HTTP_PORT=8080
readonly ECHO_PORT=7777
readonly ATTACHED_ETC=/etc/systemd/system.attached
readonly ATTACHED_RUN=/run/systemd/system.attached
# Where systemd puts DynamicUser= users.
readonly DYNAMIC_UID_MIN=61184 DYNAMIC_UID_MAX=65519

T_N=0
T_FAILED=0
T_FAILURES=()
T_START=$(date +%s%N)

# ---- TAP ----------------------------------------------------------------------------------

# t_run FUNCTION [ARG...]: run it with errexit in a subshell; return its status.
t__run() {
        local rc
        set +e
        (
                set -e
                "$@"
        )
        rc=$?
        set -e
        return "$rc"
}

t_check() {
        local desc=$1 start rc=0 since
        shift
        T_N=$((T_N + 1))
        start=$(date +%s%N)
        since=$(date +%s)
        e2e_log "---- $T_N: $desc"
        # e2e_die in the check's subshell leaves its reason here, for the summary at the end.
        E2E_FAIL_REASON_FILE=$(mktemp)
        export E2E_FAIL_REASON_FILE
        t__run "$@" || rc=$?
        local reason
        reason=$(tail -n 1 "$E2E_FAIL_REASON_FILE" 2>/dev/null || true)
        rm -f "$E2E_FAIL_REASON_FILE"
        unset E2E_FAIL_REASON_FILE
        if ((rc == 0)); then
                echo "ok $T_N - $desc ($(e2e__seconds_since "$start")s)"
        else
                echo "not ok $T_N - $desc ($(e2e__seconds_since "$start")s)"
                T_FAILED=$((T_FAILED + 1))
                T_FAILURES+=("$T_N - $desc${reason:+: $reason}")
                # The daemon's view of the failure, while the container is still up.
                if [[ -n "$E2E_INIT_PID" ]]; then
                        e2e_exec_timeout 20 journalctl --no-pager -n 25 -o short-monotonic --since="@$since" \
                                -u 'portabled-test*.service' -u systemd-portabled.service 2>/dev/null |
                                sed 's/^/# /' || true
                fi
        fi
        return 0
}

t_require() {
        local before=$T_FAILED
        t_check "$@"
        if ((T_FAILED > before)); then
                echo "Bail out! $1"
                t_done
        fi
}

# t_note TEXT: a TAP comment (shows up in the test log).
t_note() {
        echo "# $*"
}

t_done() {
        echo "1..$T_N"
        t_note "$E2E_NAME: $((T_N - T_FAILED))/$T_N passed in $(e2e__seconds_since "$T_START")s" \
                "(container boot ${E2E_BOOT_SECONDS:-n/a}s)"
        if ((T_FAILED > 0)); then
                local f
                for f in "${T_FAILURES[@]}"; do
                        t_note "FAILED: $f"
                        # Again on stderr: a CI log that keeps only its tail still says why.
                        e2e_log "FAILED: $f"
                done
                exit 1
        fi
        exit 0
}

# ---- setting up ---------------------------------------------------------------------------

# Container up with our daemon on its bus: the usual start of every e2e-*.sh.
e2e_setup() {
        [[ -x "$PORTABLECTL" ]] || e2e_skip "portablectl not built ($PORTABLECTL)"
        [[ -x "$PORTABLED" ]] || e2e_skip "portabled not built ($PORTABLED)"
        e2e_init
        e2e_build_sample_images
        e2e_boot
        start_our_daemon
}

# Our daemon runs as a transient unit. By default that is lib.sh's portabled-test.service
# (Type=dbus, BusName=). Tests that switch between our daemon and systemd-portabled set
# E2E_DAEMON_SWITCHING=1: then every start is a new unit, portabled-test-N.service, of
# Type=simple without BusName=, because PID 1 refuses to start systemd-portabled.service
# while any loaded unit (even a stopped one it has not garbage-collected yet) claims the
# same bus name ("Two services allocated for the same bus name").
start_our_daemon() {
        local unit
        if [[ "${E2E_DAEMON_SWITCHING:-0}" != 1 ]]; then
                e2e_start_our_daemon --vendor-profile-dir="$SOURCE_ROOT/profiles" --exit-on-idle=0
                return
        fi
        [[ -x "$PORTABLED" ]] || e2e_skip "portabled binary not built ($PORTABLED)"
        unit="portabled-test-$(date +%s%N).service"
        e2e_log "starting $PORTABLED as $unit"
        e2e_exec systemd-run --quiet --unit="$unit" -p Type=simple \
                "$PORTABLED" --vendor-profile-dir="$SOURCE_ROOT/profiles" --exit-on-idle=0 ||
                e2e_die "cannot start our portabled"
        e2e_wait_for 30 "org.freedesktop.portable1 on the bus" \
                e2e_exec busctl --system status org.freedesktop.portable1 ||
                e2e_die "our portabled did not take org.freedesktop.portable1"
}

stop_our_daemon() {
        e2e_exec systemctl stop 'portabled-test*.service'
        e2e_wait_for 10 "the bus name to be released" \
                eval '! e2e_exec busctl --system status org.freedesktop.portable1' ||
                e2e_die "org.freedesktop.portable1 still owned after stopping our daemon"
}

# systemd's daemon: unmasked and started for one step, stopped and masked again afterwards.
start_systemd_daemon() {
        e2e_start_reference_daemon
}

stop_systemd_daemon() {
        e2e_exec systemctl stop systemd-portabled.service
        e2e_exec systemctl mask --runtime --quiet systemd-portabled.service
        e2e_wait_for 10 "the bus name to be released" \
                eval '! e2e_exec busctl --system status org.freedesktop.portable1' ||
                e2e_die "org.freedesktop.portable1 still owned after stopping systemd-portabled"
}

# ---- running the clients ------------------------------------------------------------------

# Output of the last pctl_ok/pctl_fail (stdout and stderr together).
PCTL_OUT=""

# pctl ARG...: our portablectl inside the container.
pctl() {
        e2e_exec "$PORTABLECTL" --no-pager "$@"
}

# pctl_ok ARG...: run our portablectl, show its output, die with it unless it succeeds.
# PCTL=/path selects another client (systemd's, for the interoperability tests).
pctl_ok() {
        local bin=${PCTL:-$PORTABLECTL} rc=0
        e2e_log "$(basename "$bin") $*"
        PCTL_OUT=$(e2e_exec "$bin" --no-pager "$@" 2>&1) || rc=$?
        e2e_indent <<<"$PCTL_OUT" >&2
        ((rc == 0)) || e2e_die "'portablectl $*' failed with status $rc"
}

# pctl_fail ARG...: the command must fail (non-zero exit).
pctl_fail() {
        local bin=${PCTL:-$PORTABLECTL} rc=0
        e2e_log "$(basename "$bin") $* (must fail)"
        PCTL_OUT=$(e2e_exec "$bin" --no-pager "$@" 2>&1) || rc=$?
        e2e_indent <<<"$PCTL_OUT" >&2
        ((rc != 0)) || e2e_die "'portablectl $*' succeeded, expected a failure"
}

# output_has TEXT: the last client output contains TEXT.
output_has() {
        grep -qF -- "$1" <<<"$PCTL_OUT" || e2e_die "output of portablectl lacks '$1'"
}

output_lacks() {
        ! grep -qF -- "$1" <<<"$PCTL_OUT" || e2e_die "output of portablectl has '$1'"
}

# assert_state IMAGE EXPECTED: `is-attached IMAGE` prints EXPECTED. Our client exits 1 for
# "detached" and 0 otherwise (portablectl(1), EXIT STATUS); systemd's always exits 0.
assert_state() {
        local bin=${PCTL:-$PORTABLECTL} state rc=0 want_rc=0
        state=$(e2e_exec "$bin" --no-pager is-attached "$1") || rc=$?
        [[ "$state" == "$2" ]] || e2e_die "is-attached $1: '$state' (exit status $rc), expected '$2'"
        [[ "$bin" == "$PORTABLECTL" && "$2" == detached ]] && want_rc=1
        ((rc == want_rc)) || e2e_die "is-attached $1: '$state' with exit status $rc, expected $want_rc"
        e2e_log "is-attached $(basename "$1"): $state"
}

# ---- units --------------------------------------------------------------------------------

unit_prop() {
        e2e_exec systemctl show -P "$2" "$1"
}

assert_active() {
        e2e_wait_for 20 "$1 to be active" e2e_exec systemctl is-active --quiet "$1" ||
                e2e_die "$1 is $(e2e_exec systemctl is-active "$1" || true), expected active"
}

assert_inactive() {
        e2e_wait_for 20 "$1 to stop" eval "! e2e_exec systemctl is-active --quiet '$1'" ||
                e2e_die "$1 is still $(e2e_exec systemctl is-active "$1" || true)"
}

# journal_has MATCH TEXT: an entry matching the journalctl MATCH(es) contains TEXT (waits:
# stdout lines reach the journal asynchronously).
journal_has() {
        e2e_wait_for 20 "'$2' in the journal ($1)" \
                e2e_sh "journalctl --no-pager -o cat $1 | grep -qF -- '$2'" ||
                e2e_die "no journal entry matching '$1' with '$2'"
}

# assert_running UNIT TEXT: active, logged TEXT in this invocation, still active after that
# (a service that dies right after starting was briefly "active").
assert_running() {
        local id
        assert_active "$1"
        id=$(unit_prop "$1" InvocationID)
        journal_has "_SYSTEMD_INVOCATION_ID=$id" "$2"
        sleep 0.3
        e2e_exec systemctl is-active --quiet "$1" || e2e_die "$1 stopped right after starting"
}

assert_not_loaded() {
        local state
        e2e_wait_for 10 "$1 to be unloaded" \
                e2e_sh "[ \"\$(systemctl show -P LoadState '$1')\" = not-found ]" ||
                e2e_die "$1 still known to systemd (LoadState=$(unit_prop "$1" LoadState))"
}

# No unit named sample* is loaded. A unit systemd only knows as a name without a unit file
# (LoadState=not-found, e.g. after `systemctl show` of a detached unit) is not loaded.
loaded_sample_units() {
        e2e_exec systemctl list-units --all --plain --no-legend 'sample*' | awk '$2 != "not-found"'
}

assert_no_sample_units() {
        e2e_wait_for 10 "sample units to be unloaded" none_of loaded_sample_units ||
                e2e_die "units still loaded: $(loaded_sample_units | tr '\n' ';')"
}

# assert_runs_from_image UNIT IMAGE: the unit's root is the image (RootImage= for a raw image,
# RootDirectory= for a directory) and its main process sees the image's file system.
assert_runs_from_image() {
        local unit=$1 image=$2 prop pid
        if [[ -d "$image" ]]; then prop=RootDirectory; else prop=RootImage; fi
        [[ "$(unit_prop "$unit" "$prop")" == "$image" ]] ||
                e2e_die "$unit: $prop='$(unit_prop "$unit" "$prop")', expected '$image'"
        pid=$(unit_prop "$unit" MainPID)
        [[ "$pid" -gt 0 ]] || e2e_die "$unit has no main process"
        e2e_exec grep -qx 'ID=portabled-sample' "/proc/$pid/root/usr/lib/os-release" ||
                e2e_die "$unit (pid $pid) does not see the image's /usr/lib/os-release"
        # The host's os-release is in the image at /run/host/os-release.
        e2e_exec test -s "/proc/$pid/root/run/host/os-release" ||
                e2e_die "$unit (pid $pid) has no /run/host/os-release"
        e2e_log "$unit runs from $image ($prop=, pid $pid)"
}

# assert_dynamic_user UNIT: DynamicUser=yes and the main process runs as a dynamic uid.
assert_dynamic_user() {
        local unit=$1 pid uid
        [[ "$(unit_prop "$unit" DynamicUser)" == yes ]] || e2e_die "$unit: DynamicUser is not set"
        pid=$(unit_prop "$unit" MainPID)
        # (No awk inside: the container's /etc has no alternatives links.)
        uid=$(e2e_exec cat "/proc/$pid/status" | awk '/^Uid:/ { print $2 }')
        ((uid >= DYNAMIC_UID_MIN && uid <= DYNAMIC_UID_MAX)) ||
                e2e_die "$unit runs as uid $uid, not a dynamic user"
        e2e_log "$unit runs as dynamic uid $uid"
}

# assert_profile UNIT PROFILE: the profile drop-in is ours for PROFILE.
assert_profile() {
        local dropin target
        dropin=$(e2e_sh "ls -d $ATTACHED_ETC/$1.d/10-profile.conf $ATTACHED_RUN/$1.d/10-profile.conf 2>/dev/null | head -n1")
        [[ -n "$dropin" ]] || e2e_die "$1 has no 10-profile.conf"
        target=$(e2e_exec readlink -f "$dropin")
        [[ "$target" == "$SOURCE_ROOT/profiles/$2/service.conf" ]] ||
                e2e_die "$dropin -> $target, expected our $2 profile"
}

# ---- talking to the services --------------------------------------------------------------

# tcp_request PORT DATA: send DATA (printf format) to 127.0.0.1:PORT inside, print the answer.
tcp_request() {
        e2e_sh "exec 3<>/dev/tcp/127.0.0.1/$1 && printf '$2' >&3 && timeout 5 cat <&3"
}

# assert_http VERSION: sample.service answers HTTP with the page of VERSION.
assert_http() {
        local answer
        e2e_wait_for 20 "httpd to listen on $HTTP_PORT" e2e_sh "exec 3<>/dev/tcp/127.0.0.1/$HTTP_PORT" ||
                e2e_die "nothing listens on 127.0.0.1:$HTTP_PORT"
        answer=$(tcp_request "$HTTP_PORT" 'GET / HTTP/1.0\r\n\r\n')
        grep -q '^HTTP/1.[01] 200' <<<"$answer" || e2e_die "unexpected HTTP answer: $answer"
        grep -q "portabled-sample version $1" <<<"$answer" || e2e_die "wrong page: $answer"
}

# assert_echo VERSION IMAGE_BASENAME: a connection to sample-echo.socket is served by the
# image's sample-echo@.service, whose log line carries PORTABLE=IMAGE_BASENAME.
assert_echo() {
        local answer token
        token="hello-$RANDOM$RANDOM"
        answer=$(tcp_request "$ECHO_PORT" "$token\\n") || e2e_die "connection to $ECHO_PORT failed"
        [[ "$answer" == "sample-echo $1: $token" ]] ||
                e2e_die "echo answered '$answer', expected 'sample-echo $1: $token'"
        journal_has "PORTABLE=$2" "sample-echo@.service: version $1 served one connection"
}

# ---- leftovers ----------------------------------------------------------------------------

# none_of CMD...: CMD prints nothing.
none_of() {
        [[ -z "$("$@")" ]]
}

# Mounts of an image in any mount namespace inside the container (the services', the
# daemon's, PID 1's): squashfs file systems, or anything mounted from or onto the images dir.
inner_image_mounts() {
        e2e_sh "cat /proc/[0-9]*/mountinfo 2>/dev/null" |
                awk -v imgs="$E2E_IMAGES" '
                        { split($0, halves, " - "); split(halves[2], fs, " ") }
                        fs[1] == "squashfs" || index($5, imgs) == 1 || $4 ~ /\/images\/sample/ { print $5 " (" fs[1] ")" }' |
                sort -u
}

# assert_clean: nothing of the sample images is left: no file or link in either attached
# tree (enablement links included) or in /etc|/run/portables, no unit loaded, no mount in any
# namespace, no loop device backed by an image.
assert_clean() {
        local left
        left=$(e2e_sh "find $ATTACHED_ETC $ATTACHED_RUN /etc/portables /run/portables -name 'sample*' 2>/dev/null; \
                       grep -rls 'Drop-in created for image' $ATTACHED_ETC $ATTACHED_RUN 2>/dev/null" || true)
        [[ -z "$left" ]] || e2e_die "left behind: $(tr '\n' ' ' <<<"$left")"
        assert_no_sample_units
        e2e_wait_for 10 "image mounts to go away" none_of inner_image_mounts ||
                e2e_die "still mounted inside: $(inner_image_mounts | tr '\n' ' ')"
        e2e_wait_for 10 "loop devices to be released" none_of e2e_our_loop_devices ||
                e2e_die "loop devices still backed by test images: $(e2e_our_loop_devices | tr '\n' ' ')"
}

# The last check of every test. e2e_cleanup runs in the parent shell (the subshell of a check
# would lose its bookkeeping), then the leftovers are checked.
# After e2e_cleanup: no container, no temp dir, no loop device, no mount of ours on the host.
t_cleanup() {
        local tmp=$E2E_TMP nspawn=$E2E_NSPAWN_PID init=$E2E_INIT_PID
        e2e_cleanup
        t_check "cleanup leaves no container, temp dir, loop device or mount" \
                check_cleanup_after "$tmp" "$nspawn" "$init"
}

check_cleanup_after() {
        local tmp=$1 nspawn=$2 init=$3
        ! kill -0 "$nspawn" 2>/dev/null || e2e_die "nspawn $nspawn still running"
        ! kill -0 "$init" 2>/dev/null || e2e_die "container init $init still running"
        [[ "${E2E_KEEP:-0}" == 1 || ! -e "$tmp" ]] || e2e_die "$tmp still exists"
        ! grep -qF "$tmp/" <<<"$(losetup --list --noheadings --output BACK-FILE)" || e2e_die "loop devices left on $tmp"
        ! grep -qF "$tmp" <<<"$(findmnt --raw --noheadings --output TARGET)" || e2e_die "mounts left under $tmp"
}
