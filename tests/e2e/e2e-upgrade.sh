#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# shellcheck disable=SC2317 # the check functions are called through t_check
#
# Safe upgrades: reattach --now --rollback, on a real systemd in a container.
#
#  - an upgrade to a version whose service fails at start (Type=notify, exits 1 before READY=1)
#    ends with the previous version attached, running and serving, and portablectl exits
#    non-zero naming the unit and how it ended;
#  - the same for a version whose service never gets ready (--timeout=);
#  - without --rollback, the failure is still reported (exit status, unit, status);
#  - an upgrade to a working version with --rollback is kept.
set -euo pipefail

SOURCE_ROOT=${SOURCE_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
# shellcheck source=tests/e2e/common.sh
. "$SOURCE_ROOT/tests/e2e/common.sh"

# Version 3: sample.service fails at start; version 4: it never says it is ready.
make_bad_versions() {
        local v
        for v in 3 4; do
                mkdir -p "$E2E_IMAGES/bad$v"
                cp -a "$E2E_IMAGES/sample_2" "$E2E_IMAGES/bad$v/sample_$v"
        done
        cat >"$E2E_IMAGES/bad3/sample_3/usr/lib/sample/sample-httpd" <<'EOF'
#!/bin/sh
echo "sample.service: version 3 cannot start"
exit 1
EOF
        cat >"$E2E_IMAGES/bad4/sample_4/usr/lib/sample/sample-httpd" <<'EOF'
#!/bin/sh
echo "sample.service: version 4 starts forever"
exec sleep 2147483647
EOF
        for v in 3 4; do
                sed -i 's/^Type=simple$/Type=notify/' "$E2E_IMAGES/bad$v/sample_$v/usr/lib/systemd/system/sample.service"
        done
}

check_attach_v1() {
        pctl_ok attach --now "$E2E_IMAGES/sample_1.raw"
        assert_running sample.service "sample.service: version 1 started"
        assert_http 1
}

# No hidden file, no journal: the rollback left nothing of the new version.
assert_no_leftovers() {
        local left
        left=$(e2e_sh "find $ATTACHED_ETC /etc/portables /var/lib/portabled -name '.#*' -o -name '*.journal' -o -name '*.committed'" || true)
        [[ -z "$left" ]] || e2e_die "left behind: $left"
}

check_failed_upgrade_rolls_back() {
        local image=$E2E_IMAGES/bad3/sample_3 start elapsed
        start=$(date +%s)
        pctl_fail reattach --now --rollback "$image"
        elapsed=$(($(date +%s) - start))
        output_has "sample.service did not come up"
        output_has "status 1"
        output_has "Rolled back"
        assert_state "$E2E_IMAGES/sample_1.raw" running
        assert_state "$image" detached
        assert_running sample.service "sample.service: version 1 started"
        assert_http 1
        assert_echo 1 sample_1.raw
        journal_has "" "sample.service: version 3 cannot start"
        assert_no_leftovers
        e2e_log "failed upgrade rolled back in ${elapsed}s"
}

check_stuck_upgrade_rolls_back() {
        local image=$E2E_IMAGES/bad4/sample_4 start elapsed
        start=$(date +%s)
        pctl_fail reattach --now --rollback --timeout=5 "$image"
        elapsed=$(($(date +%s) - start))
        ((elapsed >= 5)) || e2e_die "gave up after ${elapsed}s, before the 5s timeout"
        output_has "did not finish within 5 s"
        output_has "Rolled back"
        assert_state "$E2E_IMAGES/sample_1.raw" running
        assert_state "$image" detached
        assert_http 1
        assert_no_leftovers
}

check_failure_without_rollback_is_reported() {
        pctl_fail reattach --now "$E2E_IMAGES/bad3/sample_3"
        output_has "sample.service did not come up"
        output_has "status 1"
        output_lacks "Rolled back"
        # No rollback was asked for: the new, broken version stays attached (its other units run).
        assert_state "$E2E_IMAGES/bad3/sample_3" running
        assert_state "$E2E_IMAGES/sample_1.raw" detached
        pctl_ok reattach --now "$E2E_IMAGES/sample_1.raw"
        assert_http 1
}

check_good_upgrade_is_kept() {
        pctl_ok reattach --now --rollback "$E2E_IMAGES/sample_2.raw"
        output_has "came up and is kept"
        assert_state "$E2E_IMAGES/sample_2.raw" running
        assert_state "$E2E_IMAGES/sample_1.raw" detached
        assert_running sample.service "sample.service: version 2 started"
        assert_http 2
        assert_no_leftovers
}

check_detach() {
        pctl_ok detach --now "$E2E_IMAGES/sample_2.raw"
        assert_clean
}

main() {
        e2e_setup
        make_bad_versions
        t_require "attach --now version 1" check_attach_v1
        t_check "reattach --now --rollback to a version that fails at start: version 1 back and serving" \
                check_failed_upgrade_rolls_back
        t_check "reattach --now --rollback to a version that never gets ready (--timeout=5)" check_stuck_upgrade_rolls_back
        t_check "reattach --now without --rollback reports the unit that failed" check_failure_without_rollback_is_reported
        t_check "reattach --now --rollback to a working version keeps it" check_good_upgrade_is_kept
        t_check "detach --now leaves nothing" check_detach
        t_cleanup
        t_done
}

main "$@"
