#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# shellcheck disable=SC2317 # the check functions are called through t_check
#
# Every one of our profiles (default, strict, nonetwork, trusted) runs the sample service, and
# is no weaker than systemd 252's profile of the same name for the same service.
#
# For each profile, the sample image is attached with our portablectl and our portabled
# (attach --now --profile=P): the profile drop-in is ours, sample.service runs (logs its start
# line and stays up), a connection to sample-echo.socket is served where the profile allows the
# network (nonetwork and strict bind the socket in a network namespace of its own), HTTP works
# where the profile allows the network. `systemd-analyze security sample.service` gives the
# exposure level. The same is measured with systemd 252's profile (copied from
# /usr/lib/systemd/portable/profile/P to /run/systemd/portable/profile/sd252-P inside the
# container, attached the same way), and ours must not be higher. The numbers are printed as
# TAP comments ("# exposure P: ours X, systemd 252 Y").
set -euo pipefail

SOURCE_ROOT=${SOURCE_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
# shellcheck source=tests/e2e/common.sh
. "$SOURCE_ROOT/tests/e2e/common.sh"

readonly PROFILES=(default strict nonetwork trusted)
# What systemd 252's profiles measure for this service on Debian 12 (for the record; the test
# compares with what it measures itself).
declare -A EXPECTED_252=([default]=3.2 [strict]=0.9 [nonetwork]=2.0 [trusted]=9.2)
readonly SYSTEMD_PROFILES=/usr/lib/systemd/portable/profile
readonly IMAGE_NAME=sample_1.raw

# exposure UNIT: the overall exposure level systemd-analyze security gives, e.g. "2.8".
exposure() {
        e2e_exec systemd-analyze security --no-pager "$1" 2>/dev/null |
                sed -n "s/.*Overall exposure level for $1: \([0-9.]*\) .*/\1/p"
}

# measure PROFILE FILE: attach with PROFILE, wait for the service, write its exposure to FILE,
# show what is still exposed, detach.
measure() {
        local profile=$1 out=$2 image="$E2E_IMAGES/$IMAGE_NAME" value
        pctl_ok attach --now --quiet --profile="$profile" "$image"
        assert_running sample.service "sample.service: version 1 started"
        value=$(exposure sample.service)
        [[ -n "$value" ]] || e2e_die "no exposure level from systemd-analyze security"
        echo "$value" >"$out"
        e2e_log "exposure of sample.service with profile $profile: $value; exposed:"
        e2e_exec systemd-analyze security --no-pager sample.service 2>/dev/null |
                grep '✗' | sed 's/  \+/  /g' | e2e_indent >&2 || true
}

# assert_no_echo: under a profile without network the socket unit still starts, but its IP socket
# is bound in a network namespace of its own (socket.conf: PrivateNetwork=, IPAddressDeny=):
# nothing on the host reaches it and no connection instance starts.
assert_no_echo() {
        local answer
        assert_active sample-echo.socket
        answer=$(e2e_sh "timeout 5 bash -c 'exec 3<>/dev/tcp/127.0.0.1/$ECHO_PORT && printf \"x\\n\" >&3 && timeout 3 cat <&3'" 2>/dev/null) || true
        [[ -z "$answer" ]] || e2e_die "the echo socket answered '$answer' under a profile without network"
        [[ -z "$(e2e_exec systemctl list-units --all --no-legend --plain 'sample-echo@*')" ]] ||
                e2e_die "a connection instance of sample-echo@.service was started"
}

detach_clean() {
        pctl_ok detach --now --quiet "$E2E_IMAGES/$IMAGE_NAME"
        assert_clean
}

check_profile_runs() {
        local profile=$1
        measure "$profile" "$E2E_TMP/exposure.ours.$profile"
        assert_profile sample.service "$profile"
        assert_runs_from_image sample.service "$E2E_IMAGES/$IMAGE_NAME"
        case $profile in
        default | trusted) assert_echo 1 "$IMAGE_NAME" ;;
        strict | nonetwork) assert_no_echo ;;
        esac
        case $profile in
        default)
                assert_dynamic_user sample.service
                assert_http 1
                ;;
        trusted)
                assert_http 1
                ;;
        strict | nonetwork)
                assert_dynamic_user sample.service
                # No AF_INET: httpd cannot even create its socket, the service idles.
                journal_has "_SYSTEMD_UNIT=sample.service _SYSTEMD_INVOCATION_ID=$(unit_prop sample.service InvocationID)" \
                        "httpd exited"
                ;;
        esac
        detach_clean
}

check_systemd_profile() {
        local profile=$1
        e2e_exec mkdir -p "/run/systemd/portable/profile/sd252-$profile"
        e2e_exec cp "$SYSTEMD_PROFILES/$profile/service.conf" "/run/systemd/portable/profile/sd252-$profile/service.conf"
        measure "sd252-$profile" "$E2E_TMP/exposure.252.$profile"
        detach_clean
}

check_no_weaker() {
        local profile=$1 ours ref
        ours=$(cat "$E2E_TMP/exposure.ours.$profile" 2>/dev/null) || e2e_die "no exposure measured with our $profile profile"
        ref=$(cat "$E2E_TMP/exposure.252.$profile" 2>/dev/null) || ref=${EXPECTED_252[$profile]}
        awk -v a="$ours" -v b="$ref" 'BEGIN { exit !(a <= b) }' ||
                e2e_die "our $profile profile: exposure $ours, higher (weaker) than systemd 252's $ref"
}

# check_lists_not_widened PROFILE: a unit file that sets the list settings the profile sets (deny
# lists, extra allow entries) ends up with exactly the lists of a unit that sets none: the profile
# empties each list before setting it. (Without that, SystemCallFilter=~@swap in the unit turned
# the profile's allow list into a deny list of swapon and swapoff.)
check_lists_not_widened() {
        local profile=$1 dir=/run/systemd/system unit plain wide
        local -a props=(-p CapabilityBoundingSet -p RestrictAddressFamilies -p SystemCallFilter
                        -p SystemCallArchitectures)
        # Without a deny list in the profile an allow list changes nothing.
        grep -q '^IPAddressDeny=' "$SOURCE_ROOT/profiles/$profile/service.conf" && props+=(-p IPAddressAllow -p IPAddressDeny)
        e2e_exec sh -c "cat >$dir/lists-plain.service" <<<$'[Service]\nExecStart=/bin/true'
        e2e_exec sh -c "cat >$dir/lists-wide.service" <<<$'[Service]\nExecStart=/bin/true\nSystemCallFilter=~@swap\nCapabilityBoundingSet=~CAP_SYS_MODULE\nRestrictAddressFamilies=~AF_PACKET\nSystemCallArchitectures=x86\nIPAddressAllow=any'
        for unit in lists-plain lists-wide; do
                e2e_exec mkdir -p "$dir/$unit.service.d"
                e2e_exec sh -c "cat >$dir/$unit.service.d/10-profile.conf" <"$SOURCE_ROOT/profiles/$profile/service.conf"
        done
        e2e_exec systemctl daemon-reload
        plain=$(e2e_exec systemctl show "${props[@]}" lists-plain.service)
        wide=$(e2e_exec systemctl show "${props[@]}" lists-wide.service)
        e2e_exec rm -rf "$dir/lists-plain.service" "$dir/lists-wide.service" "$dir/lists-plain.service.d" \
                "$dir/lists-wide.service.d"
        e2e_exec systemctl daemon-reload
        [[ "$plain" == "$wide" ]] || e2e_die "the unit file widened the $profile profile's lists:"$'\n'"$(diff <(echo "$plain") <(echo "$wide"))"
}

# After a failed check: make sure nothing is left attached for the next one.
recover() {
        e2e_exec "$PORTABLECTL" --no-pager detach --now --quiet "$E2E_IMAGES/$IMAGE_NAME" >/dev/null 2>&1 || true
}

main() {
        local p ours ref
        e2e_setup
        for p in "${PROFILES[@]}"; do
                t_check "profile $p: the sample service runs under our profile" check_profile_runs "$p"
                recover
                t_check "profile $p: measured with systemd 252's profile" check_systemd_profile "$p"
                recover
                ours=$(cat "$E2E_TMP/exposure.ours.$p" 2>/dev/null || echo n/a)
                ref=$(cat "$E2E_TMP/exposure.252.$p" 2>/dev/null || echo n/a)
                t_note "exposure $p: ours $ours, systemd 252 $ref (252 measured ${EXPECTED_252[$p]} when the test was written)"
                t_check "profile $p: exposure $ours no higher than systemd 252's $ref" check_no_weaker "$p"
                [[ $p == trusted ]] ||
                        t_check "profile $p: a unit file cannot widen the profile's lists" check_lists_not_widened "$p"
        done
        for p in "${PROFILES[@]}"; do
                t_note "$(printf 'exposure %-9s ours %-4s systemd-252 %s' "$p" \
                        "$(cat "$E2E_TMP/exposure.ours.$p" 2>/dev/null || echo n/a)" \
                        "$(cat "$E2E_TMP/exposure.252.$p" 2>/dev/null || echo n/a)")"
        done
        t_cleanup
        t_done
}

main "$@"
