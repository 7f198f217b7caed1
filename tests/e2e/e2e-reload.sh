#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# shellcheck disable=SC2317 # the check functions are called through t_check
#
# When our portablectl reloads the service manager, and when it does not, on a real systemd 252:
#
#  - attach without a reload when PID 1 holds none of the units: PID 1 reads them from disk when
#    they are first needed. systemctl cat shows the unit and both drop-ins, start runs the service
#    from the image under its profile; after stop and a detach without a reload the unit is gone
#    (not-found, start fails).
#  - a unit PID 1 holds gets a reload: one it knows only as a name (not-found, referenced by a
#    host unit's Wants=), and one loaded and stopped (kept by that reference) whose image is
#    reattached to another version: without the reload PID 1 would start the old version.
#  - attach --enable: the enablement links exist before the one reload, so PID 1 knows that
#    multi-user.target wants the service (upstream issue 39320); systemd's portablectl reloads
#    first and PID 1 does not know it until the next reload, which shows that the check can fail.
#  - several images in one attach --now and detach --now: one reload at most.
#  - our client on systemd's daemon: --dry-run, check and --profile=PATH need ours and say so
#    without changing anything; detach --now still stops the units.
#  - check of the sample image finds no error.
set -euo pipefail

SOURCE_ROOT=${SOURCE_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
# Switches between our daemon and systemd-portabled (see common.sh).
export E2E_DAEMON_SWITCHING=1
# shellcheck source=tests/e2e/common.sh
. "$SOURCE_ROOT/tests/e2e/common.sh"

# PID 1 stamps the start of loading the units at every reload.
reload_stamp() {
        unit_prop_manager UnitsLoadTimestampMonotonic
}

unit_prop_manager() {
        e2e_exec systemctl show -P "$1"
}

assert_no_reload_since() {
        local now
        now=$(reload_stamp)
        [[ "$now" == "$1" ]] || e2e_die "PID 1 reloaded (UnitsLoadStartTimestampMonotonic $1 -> $now)"
}

assert_reload_since() {
        local now
        now=$(reload_stamp)
        [[ "$now" != "$1" ]] || e2e_die "PID 1 did not reload"
}

# Our client, with its debug log (which says why it reloads or not).
pctl_debug_ok() {
        local rc=0
        e2e_log "portablectl $* (debug)"
        PCTL_OUT=$(e2e_exec env SYSTEMD_LOG_LEVEL=debug "$PORTABLECTL" --no-pager "$@" 2>&1) || rc=$?
        grep -e 'reloading\|Reloading\|Not reloading' <<<"$PCTL_OUT" | e2e_indent >&2 || true
        ((rc == 0)) || { e2e_indent <<<"$PCTL_OUT" >&2; e2e_die "'portablectl $*' failed with status $rc"; }
}

check_attach_without_reload() {
        local before
        before=$(reload_stamp)
        pctl_debug_ok attach "$E2E_IMAGES/sample_1.raw"
        output_has "Not reloading the service manager: the service manager holds none of the units"
        assert_no_reload_since "$before"
}

check_cat_shows_dropins() {
        local cat
        cat=$(e2e_exec systemctl cat sample.service)
        grep -qF "# $ATTACHED_ETC/sample.service" <<<"$cat" || e2e_die "systemctl cat lacks the unit file: $cat"
        grep -qF "# $ATTACHED_ETC/sample.service.d/10-profile.conf" <<<"$cat" || e2e_die "no 10-profile.conf: $cat"
        grep -qF "# $ATTACHED_ETC/sample.service.d/20-portable.conf" <<<"$cat" || e2e_die "no 20-portable.conf: $cat"
        grep -qxF "RootImage=$E2E_IMAGES/sample_1.raw" <<<"$cat" || e2e_die "no RootImage=: $cat"
}

check_start_on_demand() {
        e2e_exec systemctl start sample.service
        assert_running sample.service "sample.service: version 1 started"
        assert_runs_from_image sample.service "$E2E_IMAGES/sample_1.raw"
        assert_profile sample.service default
        assert_dynamic_user sample.service
        assert_http 1
        [[ "$(unit_prop sample.service NeedDaemonReload)" == no ]] || e2e_die "sample.service needs a reload"
}

check_detach_without_reload() {
        local before
        e2e_exec systemctl stop sample.service
        assert_inactive sample.service
        # Stopped and referenced by nothing: PID 1 lets it go.
        e2e_wait_for 10 "sample.service to be unloaded" \
                e2e_sh "[ -z \"\$(systemctl list-units --all --plain --no-legend sample.service)\" ]" ||
                e2e_die "sample.service is still loaded"
        before=$(reload_stamp)
        pctl_debug_ok detach "$E2E_IMAGES/sample_1.raw"
        output_has "Not reloading the service manager"
        assert_no_reload_since "$before"
}

check_gone_after_detach() {
        [[ "$(unit_prop sample.service LoadState)" == not-found ]] ||
                e2e_die "sample.service: LoadState=$(unit_prop sample.service LoadState), expected not-found"
        ! e2e_exec systemctl start sample.service 2>/dev/null || e2e_die "sample.service started after detach"
        ! e2e_exec systemctl cat sample.service >/dev/null 2>&1 || e2e_die "systemctl cat still finds sample.service"
        assert_clean
}

# A host unit that wants sample.service: PID 1 then holds sample.service, as not-found while
# no image provides it, and keeps it loaded after it stopped.
install_holder() {
        e2e_sh "mkdir -p /run/systemd/system && printf '[Unit]\nWants=sample.service\n[Service]\nType=oneshot\nRemainAfterExit=yes\nExecStart=/bin/true\n' >/run/systemd/system/holder.service"
        e2e_exec systemctl daemon-reload
        e2e_exec systemctl start holder.service
        [[ "$(unit_prop sample.service LoadState)" == not-found ]] ||
                e2e_die "sample.service: LoadState=$(unit_prop sample.service LoadState), expected not-found"
}

check_not_found_gets_reload() {
        local before
        install_holder
        before=$(reload_stamp)
        pctl_debug_ok attach "$E2E_IMAGES/sample_1.raw"
        output_has "Reloading the service manager: the service manager holds sample.service (not-found)"
        assert_reload_since "$before"
        [[ "$(unit_prop sample.service LoadState)" == loaded ]] ||
                e2e_die "sample.service: LoadState=$(unit_prop sample.service LoadState) after the reload"
        e2e_exec systemctl start sample.service
        assert_running sample.service "sample.service: version 1 started"
}

check_loaded_stopped_gets_reload() {
        local before
        e2e_exec systemctl stop sample.service
        assert_inactive sample.service
        [[ "$(unit_prop sample.service LoadState)" == loaded ]] || e2e_die "sample.service was let go"
        before=$(reload_stamp)
        pctl_debug_ok reattach "$E2E_IMAGES/sample_2.raw"
        output_has "Reloading the service manager: the service manager holds sample"
        assert_reload_since "$before"
        # Without the reload PID 1 would start version 1 from its old RootImage=.
        e2e_exec systemctl start sample.service
        assert_running sample.service "sample.service: version 2 started"
        assert_http 2
}

check_cleanup_holder() {
        e2e_exec systemctl stop holder.service sample.service
        e2e_exec rm -f /run/systemd/system/holder.service
        pctl_ok detach --now "$E2E_IMAGES/sample_2.raw"
        e2e_exec systemctl daemon-reload
        assert_clean
}

check_enable_then_reload() {
        local before
        before=$(reload_stamp)
        pctl_debug_ok attach --enable --now "$E2E_IMAGES/sample_1.raw"
        output_has "Reloading the service manager: the enablement of units changes"
        assert_reload_since "$before"
        e2e_exec test -L "$ATTACHED_ETC/multi-user.target.wants/sample.service" || e2e_die "sample.service not enabled"
        # The reload came after the link: PID 1 knows the new dependency.
        wants_sample || e2e_die "multi-user.target does not want sample.service after attach --enable (issue 39320)"
        [[ "$(unit_prop multi-user.target NeedDaemonReload)" == no ]] ||
                e2e_die "multi-user.target needs a reload after attach --enable"
        assert_running sample.service "sample.service: version 1 started"
        pctl_ok detach --enable --now "$E2E_IMAGES/sample_1.raw"
        [[ "$(unit_prop multi-user.target NeedDaemonReload)" == no ]] ||
                e2e_die "multi-user.target needs a reload after detach --enable"
        assert_clean
}

# Whether PID 1's multi-user.target has the dependency the enablement link makes.
wants_sample() {
        grep -qx sample.service <<<"$(e2e_exec systemctl show -P Wants multi-user.target | tr ' ' '\n')"
}

# systemd's client reloads before it enables: PID 1 does not know the new dependency until the
# next reload, which is what the check above would catch.
check_systemd_client_leaves_target_stale() {
        local wanted=yes
        PCTL=$SYSTEMD_PORTABLECTL pctl_ok attach --enable "$E2E_IMAGES/sample_1.raw"
        wants_sample || wanted=no
        PCTL=$SYSTEMD_PORTABLECTL pctl_ok detach --enable "$E2E_IMAGES/sample_1.raw"
        e2e_exec systemctl daemon-reload
        t_note "systemd's portablectl attach --enable: multi-user.target wants sample.service: $wanted"
        [[ "$wanted" == no ]] || e2e_die "with systemd's order PID 1 knew the dependency already"
        assert_clean
}

# Our client on systemd's daemon: what needs ours says so and changes nothing; detach --now finds
# the units through the image's metadata instead of the daemon's plan.
check_our_client_on_systemd_daemon() {
        pctl_fail attach --dry-run "$E2E_IMAGES/sample_1.raw"
        output_has "--dry-run needs portabled"
        pctl_fail check "$E2E_IMAGES/sample_1.raw"
        output_has "check needs portabled"
        e2e_sh "printf '[Service]\nPrivateTmp=yes\n' >/run/tight.conf && chmod 0644 /run/tight.conf"
        pctl_fail attach --profile=/run/tight.conf "$E2E_IMAGES/sample_1.raw"
        output_has "AttachImageWithOptions"
        assert_clean
        pctl_ok attach --now "$E2E_IMAGES/sample_1.raw"
        assert_running sample.service "sample.service: version 1 started"
        pctl_ok detach --now "$E2E_IMAGES/sample_1.raw"
        assert_inactive sample.service
        assert_clean
}

# check of the sample image: everything a service needs is there.
check_sample_passes_check() {
        pctl_ok check "$E2E_IMAGES/sample_1.raw"
        output_has "sample.service: 1 command present and executable in the image."
        output_has "0 errors"
}

# How often PID 1 reloaded since boot: it says "Reloading." each time.
reload_count() {
        e2e_sh "journalctl -b --no-pager -o cat _PID=1 | grep -cx 'Reloading.'" || true
}

check_batch_one_reload() {
        local before
        # A copy of the directory image with one idle service of another name makes a second
        # image that can be attached next to the first (the images dir is shared with the host).
        mkdir -p "$E2E_IMAGES/other"
        cp -a "$E2E_IMAGES/sample_1" "$E2E_IMAGES/other/other_1"
        rm -f "$E2E_IMAGES/other/other_1/usr/lib/systemd/system/"*
        printf '[Service]\nExecStart=/usr/lib/sample/sample-idle other.service\n\n[Install]\nWantedBy=multi-user.target\n' \
                >"$E2E_IMAGES/other/other_1/usr/lib/systemd/system/other.service"
        sed -i '/^PORTABLE_PREFIXES=/d' "$E2E_IMAGES/other/other_1/usr/lib/os-release"
        before=$(reload_stamp)
        pctl_debug_ok attach --now "$E2E_IMAGES/sample_1.raw" "$E2E_IMAGES/other/other_1"
        assert_no_reload_since "$before"
        assert_active sample.service
        assert_active other.service
        pctl_ok detach --now "$E2E_IMAGES/sample_1.raw" "$E2E_IMAGES/other/other_1"
        assert_clean

        before=$(reload_count)
        pctl_debug_ok attach --enable --now "$E2E_IMAGES/sample_1.raw" "$E2E_IMAGES/other/other_1"
        [[ "$(reload_count)" == $((before + 1)) ]] || e2e_die "$(($(reload_count) - before)) reloads for attach --enable of two images"
        assert_active sample.service
        assert_active other.service
        before=$(reload_count)
        pctl_debug_ok detach --enable --now "$E2E_IMAGES/sample_1.raw" "$E2E_IMAGES/other/other_1"
        [[ "$(reload_count)" == $((before + 1)) ]] || e2e_die "$(($(reload_count) - before)) reloads for detach --enable of two images"
        assert_clean
}

e2e_setup
t_require "attach with nothing held: no reload" check_attach_without_reload
t_check "systemctl cat shows the unit and its drop-ins" check_cat_shows_dropins
t_check "start loads the unit from disk and runs it from the image" check_start_on_demand
t_check "detach of a unit PID 1 let go: no reload" check_detach_without_reload
t_check "after detach the unit is not found" check_gone_after_detach
t_check "a unit held as not-found gets a reload" check_not_found_gets_reload
t_check "a unit held loaded and stopped gets a reload on reattach" check_loaded_stopped_gets_reload
t_check "cleanup of the held unit" check_cleanup_holder
t_check "attach --enable: enablement before the one reload (issue 39320)" check_enable_then_reload
stop_our_daemon
start_systemd_daemon
t_check "systemd's client leaves multi-user.target without the new dependency" check_systemd_client_leaves_target_stale
t_check "our client on systemd's daemon: dry runs, check and profile paths refused, detach --now works" \
        check_our_client_on_systemd_daemon
stop_systemd_daemon
start_our_daemon
t_check "two images, attach --now and detach --now: one reload at most" check_batch_one_reload
t_check "check finds nothing wrong with the sample image" check_sample_passes_check
t_cleanup
t_done
