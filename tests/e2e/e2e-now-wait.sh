#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# shellcheck disable=SC2317 # the check functions are called through t_check
#
# --now waits for the jobs it queues, --no-block does not, with a real PID 1. The image is a
# directory copy of the sample image whose only unit, slow.service, takes a few seconds to
# start (Type=oneshot, RemainAfterExit=yes, ExecStart=sleep): while it starts it is
# "activating", then "active". What the unit is right after the client returns (asked in the
# same shell inside the container, no round trip in between) says whether the client waited.
#  - attach --now: returns after the start job is done: active, and it took the start time.
#  - attach --now --no-block: returns at once: still activating.
#  - reattach --now: returns after the restart job is done: active, with a newer start time.
#  - detach --now: stops first (the unit is gone from PID 1 afterwards), then detaches.
set -euo pipefail

SOURCE_ROOT=${SOURCE_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
# shellcheck source=tests/e2e/common.sh
. "$SOURCE_ROOT/tests/e2e/common.sh"

readonly START_SECONDS=3

image() {
        echo "$E2E_IMAGES/slow/slow_1"
}

# The sample image's tree with its units replaced by slow.service.
make_slow_image() {
        local dir
        dir=$(image)
        rm -rf "$dir"
        mkdir -p "$(dirname "$dir")"
        cp -a "$E2E_IMAGES/sample_1" "$dir"
        rm -f "$dir"/usr/lib/systemd/system/sample*
        sed -i 's/^PORTABLE_PREFIXES=.*/PORTABLE_PREFIXES=slow/' "$dir/usr/lib/os-release"
        cat >"$dir/usr/lib/systemd/system/slow.service" <<EOF
[Unit]
Description=A portable service that takes $START_SECONDS s to start

[Service]
Type=oneshot
RemainAfterExit=yes
ExecStart=/bin/sleep $START_SECONDS
EOF
}

# timed ARG...: runs our portablectl inside, then at once asks PID 1 about slow.service; sets
# RC, STATE (ActiveState) and MS (how long the client took).
timed() {
        local out
        e2e_log "portablectl $* (timed)"
        out=$(e2e_sh "start=\$(date +%s%3N); '$PORTABLECTL' --no-pager $* >/dev/null 2>&1; rc=\$?;
                      state=\$(systemctl show -P ActiveState slow.service); end=\$(date +%s%3N);
                      echo \"\$rc \$state \$((end - start))\"")
        read -r RC STATE MS <<<"$out"
        e2e_log "exit status $RC, slow.service $STATE, after $MS ms"
}

check_attach_now_waits() {
        timed attach --now "$(image)"
        ((RC == 0)) || e2e_die "attach --now failed ($RC)"
        [[ "$STATE" == active ]] || e2e_die "attach --now returned while slow.service was $STATE"
        ((MS >= START_SECONDS * 1000 - 500)) || e2e_die "attach --now returned after $MS ms, before the start could be done"
}

check_detach_now() {
        timed detach --now "$(image)"
        ((RC == 0)) || e2e_die "detach --now failed ($RC)"
        [[ "$STATE" == inactive ]] || e2e_die "detach --now returned while slow.service was $STATE"
        assert_state "$(image)" detached
}

check_attach_no_block_returns() {
        timed attach --now --no-block "$(image)"
        ((RC == 0)) || e2e_die "attach --now --no-block failed ($RC)"
        [[ "$STATE" == activating ]] || e2e_die "attach --now --no-block: slow.service was $STATE, expected activating"
        ((MS < START_SECONDS * 1000)) || e2e_die "attach --now --no-block took $MS ms: it waited"
        assert_active slow.service
}

check_reattach_now_waits() {
        local before after
        before=$(unit_prop slow.service ActiveEnterTimestampMonotonic)
        timed reattach --now "$(image)"
        ((RC == 0)) || e2e_die "reattach --now failed ($RC)"
        [[ "$STATE" == active ]] || e2e_die "reattach --now returned while slow.service was $STATE"
        after=$(unit_prop slow.service ActiveEnterTimestampMonotonic)
        ((after > before)) || e2e_die "slow.service was not restarted (active since $before, now $after)"
        ((MS >= START_SECONDS * 1000 - 500)) || e2e_die "reattach --now returned after $MS ms"
}

recover() {
        pctl detach --now "$(image)" >/dev/null 2>&1 || true
        e2e_exec systemctl reset-failed >/dev/null 2>&1 || true
}

main() {
        e2e_setup
        make_slow_image
        t_check "attach --now returns once the start job is done" check_attach_now_waits
        t_check "detach --now stops, then detaches" check_detach_now
        recover
        t_check "attach --now --no-block returns while the unit is starting" check_attach_no_block_returns
        t_check "reattach --now returns once the restart job is done" check_reattach_now_waits
        recover
        t_cleanup
        t_done
}

main "$@"
