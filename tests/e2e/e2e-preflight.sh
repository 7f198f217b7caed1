#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# shellcheck disable=SC2317 # the check functions are called through t_check
#
# Start-up errors explained before they happen. sample-nomid_1.raw is the sample image without
# /etc/machine-id; every profile binds the host's machine-id there (BindReadOnlyPaths=), and
# PID 1 cannot create the mount point on a read-only squashfs, so the service would fail with
# nothing more than "status=226/NAMESPACE". Attaching it with our portablectl and our portabled
# must be refused, with a message naming the missing path and the profile setting that needs
# it. With --force the attachment may go ahead (and the service then fails as predicted).
# Neither an image that has the mount point nor a writable directory image (where PID 1 creates
# it) is refused.
set -euo pipefail

SOURCE_ROOT=${SOURCE_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
# shellcheck source=tests/e2e/common.sh
. "$SOURCE_ROOT/tests/e2e/common.sh"

readonly MISSING=/etc/machine-id
readonly SETTING=BindReadOnlyPaths=

nomid() {
        echo "$E2E_IMAGES/sample-nomid_1.raw"
}

# check_refused ARG...: `attach ARG... IMAGE sample` is refused, explains why, leaves nothing.
check_refused() {
        local image
        image=$(nomid)
        pctl_fail attach "$@" "$image" sample
        output_has "$MISSING"
        output_has "$SETTING"
        assert_state "$image" detached
        assert_no_sample_units
        assert_clean
}

check_refused_persistent_now() {
        check_refused --now
}

check_refused_strict_runtime() {
        check_refused --now --runtime --profile=strict
}

check_refused_trusted() {
        check_refused --profile=trusted
}

# An image that has every mount point attaches without any complaint about one.
check_complete_image_not_refused() {
        local image="$E2E_IMAGES/sample_1.raw"
        pctl_ok attach --now "$image"
        ! grep -qiF -- "$MISSING" <<<"$PCTL_OUT" || e2e_die "attach of $image complains about $MISSING"
        assert_running sample.service "sample.service: version 1 started"
        pctl_ok detach --now "$image"
        assert_clean
}

# A directory image is writable: PID 1 creates the missing mount point and the service runs.
check_directory_not_refused() {
        local src="$E2E_IMAGES/sample-nomid_1" dir="$E2E_IMAGES/writable/sample-nomid_1"
        mkdir -p "$(dirname "$dir")"
        rm -rf "$dir"
        cp -a "$src" "$dir"
        [[ ! -e "$dir$MISSING" ]] || e2e_die "$dir$MISSING exists before the test"
        pctl_ok attach --now "$dir" sample
        assert_running sample.service "sample.service: version 1 started"
        pctl_ok detach --now "$dir" sample
        assert_clean
}

# --force: either still refused with the explanation, or attached, in which case the service
# fails at start-up exactly as the explanation said, and it detaches cleanly.
check_force() {
        local image rc=0 status
        image=$(nomid)
        e2e_log "portablectl attach --force $image sample"
        PCTL_OUT=$(pctl attach --force "$image" sample 2>&1) || rc=$?
        e2e_indent <<<"$PCTL_OUT" >&2
        if ((rc != 0)); then
                output_has "$MISSING"
                t_note "attach --force of sample-nomid_1.raw is refused as well"
                assert_clean
                return 0
        fi
        t_note "attach --force of sample-nomid_1.raw goes ahead"
        assert_state "$image" attached
        e2e_exec systemctl start sample.service || true
        e2e_wait_for 20 "sample.service to fail" e2e_exec systemctl is-failed --quiet sample.service ||
                e2e_die "sample.service is $(e2e_exec systemctl is-active sample.service || true), expected failed"
        status=$(unit_prop sample.service ExecMainStatus)
        [[ "$status" == 226 ]] || e2e_die "sample.service exit status $status, expected 226 (NAMESPACE)"
        e2e_exec systemctl reset-failed sample.service
        pctl_ok detach "$image" sample
        assert_clean
}

# After a failed check: nothing of it may be left for the next one.
recover() {
        local image rt
        for image in "$(nomid)" "$E2E_IMAGES/sample_1.raw" "$E2E_IMAGES/writable/sample-nomid_1"; do
                for rt in "" --runtime; do
                        pctl detach --now $rt "$image" sample >/dev/null 2>&1 || true
                done
        done
        e2e_exec systemctl reset-failed >/dev/null 2>&1 || true
}

main() {
        e2e_setup
        t_check "attach --now of an image without $MISSING is refused, naming $MISSING and $SETTING" \
                check_refused_persistent_now
        recover
        t_check "the same with --runtime --profile=strict" check_refused_strict_runtime
        recover
        t_check "the same with --profile=trusted" check_refused_trusted
        recover
        t_check "--force: refused with the explanation, or attached and failing as explained" check_force
        recover
        t_check "an image with every mount point is attached without complaint" check_complete_image_not_refused
        recover
        t_check "a writable directory image without $MISSING is not refused and runs" check_directory_not_refused
        recover
        t_cleanup
        t_done
}

main "$@"
