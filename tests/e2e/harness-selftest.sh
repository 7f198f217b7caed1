#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Self-test of the end-to-end harness and of the sample images, run against the reference
# implementation: Debian's systemd-portabled and /usr/bin/portablectl inside the container.
# If this passes, a failure of the same scenario with our daemon is our daemon's fault.
#
# Covers: boot, attach --now --runtime, the service running from the image with its log line
# tagged PORTABLE=, a TCP connection served through socket activation, reattach to version 2,
# detach with nothing left behind (units, links, mounts, loop devices), every profile
# (exposure reported by systemd-analyze security), the image without /etc/machine-id, and
# finally that cleanup removes everything.
set -euo pipefail

SOURCE_ROOT=${SOURCE_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
# shellcheck source=tests/e2e/lib.sh
. "$SOURCE_ROOT/tests/e2e/lib.sh"

# The reference client, not ours: this test validates the bed, not the project.
readonly PCTL=/usr/bin/portablectl
readonly HTTP_PORT=8080
readonly ECHO_PORT=7777
readonly ATTACHED=/run/systemd/system.attached

declare -A EXPOSURE=()

pctl() {
        e2e_exec "$PCTL" --no-pager "$@"
}

# pctl_ok ARGS...: run portablectl, show its output indented, die with it on failure.
pctl_ok() {
        local out
        e2e_log "portablectl $*"
        out=$(pctl "$@" 2>&1) || { e2e_indent <<<"$out" >&2; e2e_die "portablectl $1 failed"; }
        e2e_indent <<<"$out" >&2
}

# assert_active UNIT: the unit is active inside the container (waits for start-up).
assert_active() {
        e2e_wait_for 20 "$1 to be active" e2e_exec systemctl is-active --quiet "$1" ||
                e2e_die "$1 is $(e2e_exec systemctl is-active "$1" || true)"
}

# assert_running UNIT: active, has logged its start line in this invocation and is still
# active afterwards (a service that dies right after starting was briefly "active").
assert_running() {
        local id
        assert_active "$1"
        id=$(e2e_exec systemctl show -P InvocationID "$1")
        journal_has "_SYSTEMD_INVOCATION_ID=$id" "$1: version"
        sleep 0.5
        e2e_exec systemctl is-active --quiet "$1" || e2e_die "$1 stopped right after starting"
}

assert_not_loaded() {
        local state
        state=$(e2e_exec systemctl show -P LoadState "$1")
        [[ "$state" == not-found ]] || e2e_die "$1 still known to systemd (LoadState=$state)"
}

# journal_has FIELD_MATCH TEXT: a journal entry matching FIELD_MATCH contains TEXT (waits,
# since stdout lines reach the journal asynchronously).
journal_has() {
        e2e_wait_for 20 "'$2' in the journal ($1)" \
                e2e_sh "journalctl --no-pager -o cat '$1' | grep -qF -- '$2'"
}

# tcp_request PORT DATA: send DATA to 127.0.0.1:PORT inside the container, print the answer.
tcp_request() {
        e2e_sh "exec 3<>/dev/tcp/127.0.0.1/$1 && printf '$2' >&3 && timeout 5 cat <&3"
}

test_attach_v1() {
        local img="$E2E_IMAGES/sample_1.raw"
        pctl_ok attach --now --runtime "$img"

        e2e_exec test -f "$ATTACHED/sample.service" || e2e_die "sample.service not copied to $ATTACHED"
        e2e_exec grep -qxF "RootImage=$img" "$ATTACHED/sample.service.d/20-portable.conf" ||
                e2e_die "20-portable.conf lacks RootImage=$img"
        [[ "$(pctl is-attached "$img")" == running-runtime ]] ||
                e2e_die "is-attached says '$(pctl is-attached "$img")', expected running-runtime"
        assert_running sample.service
        assert_running sample-old.service
        assert_active sample-echo.socket
}

test_service_log() {
        e2e_log "checking the service's log line is tagged PORTABLE=sample_1.raw"
        journal_has PORTABLE=sample_1.raw "sample.service: version 1 started"
        # The entry really comes from the unit, with the extra field set by LogExtraFields=.
        e2e_sh "journalctl --no-pager -o verbose _SYSTEMD_UNIT=sample.service PORTABLE=sample_1.raw |
                grep -q 'MESSAGE=sample.service: version 1 started'" ||
                e2e_die "log line not attributed to sample.service with PORTABLE=sample_1.raw"
}

test_http() {
        local answer
        e2e_log "HTTP request to sample.service on 127.0.0.1:$HTTP_PORT"
        e2e_wait_for 20 "httpd to listen" e2e_sh "exec 3<>/dev/tcp/127.0.0.1/$HTTP_PORT"
        answer=$(tcp_request "$HTTP_PORT" 'GET / HTTP/1.0\r\n\r\n')
        grep -q '^HTTP/1.[01] 200' <<<"$answer" || e2e_die "unexpected HTTP answer: $answer"
        grep -q 'portabled-sample version 1' <<<"$answer" || e2e_die "wrong page: $answer"
}

# test_socket VERSION: a connection to the socket unit is served by the image's template.
test_socket() {
        local version=$1 answer
        e2e_log "socket activation on 127.0.0.1:$ECHO_PORT"
        answer=$(tcp_request "$ECHO_PORT" 'hello portable\n') || e2e_die "connection to $ECHO_PORT failed"
        [[ "$answer" == "sample-echo $version: hello portable" ]] ||
                e2e_die "echo answered '$answer', expected 'sample-echo $version: hello portable'"
        journal_has "PORTABLE=sample_$version.raw" "sample-echo@.service: version $version served one connection"
}

test_reattach_v2() {
        local img="$E2E_IMAGES/sample_2.raw"
        pctl_ok reattach --now --runtime "$img"
        assert_running sample.service
        assert_running sample-new.service
        e2e_exec systemctl is-active --quiet sample-old.service && e2e_die "sample-old.service still active"
        assert_not_loaded sample-old.service
        journal_has PORTABLE=sample_2.raw "sample.service: version 2 started"
        test_socket 2
}

# Nothing of an attachment may survive its detach: unit files, image links, mounts inside
# the container, loop devices on the host.
assert_clean() {
        e2e_sh "test ! -e $ATTACHED || test -z \"\$(ls -A $ATTACHED)\"" ||
                e2e_die "leftovers in $ATTACHED: $(e2e_exec ls -A "$ATTACHED")"
        e2e_sh "! ls /run/portables/sample* 2>/dev/null" || e2e_die "image links left in /run/portables"
        e2e_wait_for 10 "squashfs mounts to go away inside" \
                e2e_sh "! grep -q ' squashfs ' /proc/1/mountinfo" ||
                e2e_die "squashfs still mounted inside: $(e2e_sh 'grep squashfs /proc/1/mountinfo')"
        e2e_wait_for 10 "loop devices to be released" test -z "$(e2e_our_loop_devices)" ||
                e2e_die "loop devices still backed by test images: $(e2e_our_loop_devices | tr '\n' ' ')"
}

test_detach() {
        local img="$E2E_IMAGES/sample_2.raw"
        pctl_ok detach --now --runtime "$img"
        assert_not_loaded sample.service
        e2e_exec systemctl is-active --quiet sample-echo.socket && e2e_die "sample-echo.socket still active"
        [[ "$(pctl is-attached "$img")" == detached ]] || e2e_die "image still attached after detach"
        assert_clean
}

# test_profile PROFILE: attach with the profile, check the profile drop-in, that the service
# runs confined by it, record its exposure, detach.
test_profile() {
        local profile=$1 img="$E2E_IMAGES/sample_1.raw" exposure
        e2e_log "profile $profile"
        pctl_ok attach --now --runtime --quiet --profile="$profile" "$img"
        e2e_sh "readlink -f $ATTACHED/sample.service.d/10-profile.conf | grep -q '/portable/profile/$profile/service.conf$'" ||
                e2e_die "10-profile.conf does not point to the $profile profile"
        assert_running sample.service
        # Accepted connections work under every profile, even with PrivateNetwork=yes.
        test_socket 1

        exposure=$(e2e_exec systemd-analyze security --no-pager sample.service 2>/dev/null |
                sed -n 's/.*Overall exposure level for sample.service: \([0-9.]*\) \([A-Z]*\).*/\1 \2/p')
        [[ -n "$exposure" ]] || e2e_die "no exposure level from systemd-analyze security"
        EXPOSURE[$profile]=$exposure

        pctl_ok detach --now --runtime --quiet "$img"
        assert_clean
}

# An image without /etc/machine-id: every shipped profile binds the host's machine-id over
# it, and PID 1 cannot create the mount point on a read-only image. Attaching succeeds; the
# service's start job succeeds too (Type=simple), then the child fails to set up its
# namespace: exit status 226/NAMESPACE.
test_missing_mount_point() {
        local img="$E2E_IMAGES/sample-nomid_1.raw" status
        e2e_log "image without /etc/machine-id: $img"
        # The prefix derived from the file name would be "sample-nomid": name it.
        pctl_ok attach --runtime --quiet "$img" sample
        e2e_exec systemctl start sample.service || true
        e2e_wait_for 20 "sample.service to fail" e2e_exec systemctl is-failed --quiet sample.service ||
                e2e_die "sample.service is $(e2e_exec systemctl is-active sample.service || true), expected failed"
        status=$(e2e_exec systemctl show -P ExecMainStatus sample.service)
        [[ "$status" == 226 ]] || e2e_die "sample.service exit status $status, expected 226 (NAMESPACE)"
        journal_has _SYSTEMD_UNIT=sample.service "/etc/machine-id"
        e2e_log "sample.service from sample-nomid_1.raw failed as expected:"
        e2e_sh "journalctl --no-pager -o cat _SYSTEMD_UNIT=sample.service | grep machine-id" | e2e_indent >&2
        e2e_exec systemctl reset-failed sample.service || true
        pctl_ok detach --runtime --quiet "$img" sample
        assert_clean
}

# The route the real tests take to run our daemon (e2e_start_our_daemon: a transient unit
# owning the bus name), exercised with the reference daemon's binary.
test_transient_daemon() {
        local unit
        e2e_log "transient-unit daemon start, with the reference binary"
        e2e_exec systemctl mask --runtime --now --quiet systemd-portabled.service
        # shellcheck disable=SC2119 # no daemon arguments
        PORTABLED=/lib/systemd/systemd-portabled e2e_start_our_daemon
        unit=$(e2e_sh "busctl --system status org.freedesktop.portable1 | sed -n 's/^Unit=//p'")
        [[ "$unit" == portabled-test.service ]] || e2e_die "bus name owned by '$unit', not portabled-test.service"
        pctl_ok attach --now --runtime --quiet "$E2E_IMAGES/sample_1.raw"
        assert_running sample.service
        pctl_ok detach --now --runtime --quiet "$E2E_IMAGES/sample_1.raw"
        assert_clean
        e2e_exec systemctl stop portabled-test.service
}

# After e2e_cleanup: no container, no temp dir, no loop device, no mount of ours.
test_cleanup() {
        local tmp=$E2E_TMP nspawn=$E2E_NSPAWN_PID init=$E2E_INIT_PID
        e2e_log "cleanup"
        e2e_cleanup
        kill -0 "$nspawn" 2>/dev/null && e2e_die "nspawn $nspawn still running"
        kill -0 "$init" 2>/dev/null && e2e_die "container init $init still running"
        [[ "${E2E_KEEP:-0}" == 1 || ! -e "$tmp" ]] || e2e_die "$tmp still exists"
        grep -qF "$tmp/" <<<"$(losetup --list --noheadings --output BACK-FILE)" && e2e_die "loop devices left on $tmp"
        grep -qF "$tmp" <<<"$(findmnt --raw --noheadings --output TARGET)" && e2e_die "mounts left under $tmp"
        return 0
}

main() {
        local t0 p
        e2e_init
        e2e_build_sample_images
        e2e_boot
        e2e_start_reference_daemon

        t0=$(date +%s%N)
        test_attach_v1
        test_service_log
        test_http
        test_socket 1
        test_reattach_v2
        test_detach
        e2e_log "attach/reattach/detach cycle took $(e2e__seconds_since "$t0")s"

        for p in default strict nonetwork trusted; do
                test_profile "$p"
        done
        test_missing_mount_point
        test_transient_daemon

        e2e_log "boot time: ${E2E_BOOT_SECONDS}s"
        for p in default strict nonetwork trusted; do
                printf 'exposure %-9s %s\n' "$p" "${EXPOSURE[$p]}"
        done
        test_cleanup
}

main "$@"
