#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# shellcheck disable=SC2317 # the check functions are called through t_check
#
# Interoperability with systemd 252, inside one container:
#  - systemd's own portablectl drives our portabled: attach --now, reattach --now, detach --now;
#  - an image attached (and enabled) by systemd's systemd-portabled is recognised as attached by
#    ours and detached cleanly by it;
#  - the reverse: an image attached and enabled by ours is recognised and detached cleanly by
#    systemd-portabled.
# Only one daemon owns org.freedesktop.portable1 at a time: systemd-portabled stays masked
# except for the steps that use it.
set -euo pipefail

SOURCE_ROOT=${SOURCE_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
E2E_DAEMON_SWITCHING=1
# shellcheck source=tests/e2e/common.sh
. "$SOURCE_ROOT/tests/e2e/common.sh"

# assert_bus_owner PATTERN: the unit owning the bus name matches PATTERN (our daemon runs as
# portabled-test-N.service).
assert_bus_owner() {
        local unit
        unit=$(e2e_sh "busctl --system status org.freedesktop.portable1 | sed -n 's/^Unit=//p'")
        # shellcheck disable=SC2053 # a glob
        [[ "$unit" == $1 ]] || e2e_die "org.freedesktop.portable1 is owned by '$unit', expected $1"
}

# ---- systemd's client, our daemon ---------------------------------------------------------

check_sd_client_attach() {
        local image="$E2E_IMAGES/sample_1.raw"
        assert_bus_owner "portabled-test-*.service"
        PCTL=$SYSTEMD_PORTABLECTL pctl_ok attach --now "$image"
        output_has "$ATTACHED_ETC/sample.service"
        assert_running sample.service "sample.service: version 1 started"
        assert_running sample-old.service "sample-old.service: version 1 started"
        assert_runs_from_image sample.service "$image"
        assert_http 1
        assert_echo 1 sample_1.raw
        PCTL=$SYSTEMD_PORTABLECTL assert_state "$image" running
}

check_sd_client_reattach() {
        local image="$E2E_IMAGES/sample_2.raw" id
        id=$(unit_prop sample.service InvocationID)
        PCTL=$SYSTEMD_PORTABLECTL pctl_ok reattach --now "$image"
        assert_inactive sample-old.service
        assert_not_loaded sample-old.service
        assert_running sample-new.service "sample-new.service: version 2 started"
        assert_running sample.service "sample.service: version 2 started"
        [[ "$(unit_prop sample.service InvocationID)" != "$id" ]] || e2e_die "sample.service was not restarted"
        assert_http 2
        assert_echo 2 sample_2.raw
        PCTL=$SYSTEMD_PORTABLECTL assert_state "$image" running
        PCTL=$SYSTEMD_PORTABLECTL pctl_ok list
        grep -Eq '^sample_2 +raw .* running$' <<<"$PCTL_OUT" || e2e_die "systemd's 'portablectl list' does not show sample_2 running"
}

check_sd_client_detach() {
        local image="$E2E_IMAGES/sample_2.raw"
        PCTL=$SYSTEMD_PORTABLECTL pctl_ok detach --now "$image"
        assert_not_loaded sample.service
        PCTL=$SYSTEMD_PORTABLECTL assert_state "$image" detached
        assert_clean
}

# ---- attached by systemd-portabled, detached by ours --------------------------------------

check_sd_daemon_attach() {
        local image="$E2E_IMAGES/sample_1"
        stop_our_daemon
        start_systemd_daemon
        assert_bus_owner systemd-portabled.service
        PCTL=$SYSTEMD_PORTABLECTL pctl_ok attach --enable --now "$image"
        assert_running sample.service "sample.service: version 1 started"
        assert_runs_from_image sample.service "$image"
        e2e_exec test -L "$ATTACHED_ETC/multi-user.target.wants/sample.service" ||
                e2e_die "systemd's portablectl --enable made no link in $ATTACHED_ETC"
        # systemd's 10-profile.conf points to systemd's profile, not ours.
        e2e_sh "readlink $ATTACHED_ETC/sample.service.d/10-profile.conf | grep -q '/systemd/portable/profile/default/service.conf$'" ||
                e2e_die "10-profile.conf is not systemd's default profile"
        stop_systemd_daemon
        start_our_daemon
        assert_bus_owner "portabled-test-*.service"
}

check_ours_recognises_sd_attachment() {
        local image="$E2E_IMAGES/sample_1"
        assert_state "$image" running
        pctl_ok list
        grep -Eq '^sample_1 +directory .* running$' <<<"$PCTL_OUT" || e2e_die "our 'portablectl list' does not show sample_1 running"
        e2e_exec systemctl stop sample.service sample-old.service sample-echo.socket
        assert_inactive sample.service
        # Enabled by systemd's client (links in /etc/systemd/system.attached).
        assert_state "$image" enabled
        e2e_exec systemctl start sample.service
        assert_state "$image" running
}

check_ours_detaches_sd_attachment() {
        local image="$E2E_IMAGES/sample_1"
        pctl_ok detach --enable --now "$image"
        assert_not_loaded sample.service
        assert_state "$image" detached
        assert_clean
}

# ---- attached by ours, detached by systemd-portabled --------------------------------------

check_ours_attach_for_sd() {
        local image="$E2E_IMAGES/sample_1.raw"
        pctl_ok attach --enable --now --runtime "$image"
        assert_running sample.service "sample.service: version 1 started"
        assert_state "$image" running-runtime
        stop_our_daemon
        start_systemd_daemon
        assert_bus_owner systemd-portabled.service
}

check_sd_recognises_ours() {
        local image="$E2E_IMAGES/sample_1.raw"
        PCTL=$SYSTEMD_PORTABLECTL assert_state "$image" running-runtime
        PCTL=$SYSTEMD_PORTABLECTL pctl_ok list
        grep -Eq '^sample_1 +raw .* running-runtime$' <<<"$PCTL_OUT" ||
                e2e_die "systemd's 'portablectl list' does not show sample_1 running-runtime"
        e2e_exec systemctl stop sample.service sample-old.service sample-echo.socket
        assert_inactive sample.service
        PCTL=$SYSTEMD_PORTABLECTL assert_state "$image" enabled-runtime
}

check_sd_detaches_ours() {
        local image="$E2E_IMAGES/sample_1.raw"
        PCTL=$SYSTEMD_PORTABLECTL pctl_ok detach --enable --now --runtime "$image"
        assert_not_loaded sample.service
        PCTL=$SYSTEMD_PORTABLECTL assert_state "$image" detached
        assert_clean
        stop_systemd_daemon
        start_our_daemon
        assert_state "$image" detached
}

main() {
        e2e_setup
        t_check "systemd's portablectl, our daemon: attach --now" check_sd_client_attach
        t_check "systemd's portablectl, our daemon: reattach --now to version 2" check_sd_client_reattach
        t_check "systemd's portablectl, our daemon: detach --now leaves nothing" check_sd_client_detach

        t_require "systemd-portabled attaches and enables the directory image" check_sd_daemon_attach
        t_check "our daemon recognises systemd-portabled's attachment (running, enabled)" check_ours_recognises_sd_attachment
        t_check "our daemon detaches it cleanly (detach --enable --now)" check_ours_detaches_sd_attachment

        t_require "our daemon attaches and enables the raw image (runtime)" check_ours_attach_for_sd
        t_check "systemd-portabled recognises our attachment (running-runtime, enabled-runtime)" check_sd_recognises_ours
        t_check "systemd-portabled detaches it cleanly (detach --enable --now --runtime)" check_sd_detaches_ours
        t_cleanup
        t_done
}

main "$@"
