#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# shellcheck disable=SC2317 # the check functions are called through t_check
#
# reattach --now with our portablectl and our portabled, on a real systemd in a container.
#
#  - version 1 -> version 2 of the sample image: sample-old.service (only in v1) is stopped and
#    gone, sample-new.service (only in v2) is started, sample.service and sample-echo.socket (in
#    both) are restarted and now run version 2.
#  - the failure path: reattaching to a version that cannot be attached (a corrupt squashfs
#    file, a version without the unit files, one without an os-release ID, a path that does
#    not exist) fails, and leaves the running version attached, untouched and running.
#  - back to version 1, then detach --now leaves nothing behind.
set -euo pipefail

SOURCE_ROOT=${SOURCE_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
# shellcheck source=tests/e2e/common.sh
. "$SOURCE_ROOT/tests/e2e/common.sh"

# Broken "version 3" images, named so that they match the attached image's prefix.
make_broken_images() {
        local bad="$E2E_IMAGES/bad"
        mkdir -p "$bad/corrupt" "$bad/nounits" "$bad/noid"
        # A squashfs superblock followed by garbage: probed as squashfs, fails to mount.
        head -c 4096 "$E2E_IMAGES/sample_2.raw" >"$bad/corrupt/sample_3.raw"
        head -c 1048576 /dev/urandom >>"$bad/corrupt/sample_3.raw"
        # A version that lacks every unit file.
        cp -a "$E2E_IMAGES/sample_2" "$bad/nounits/sample_3"
        rm -rf "$bad/nounits/sample_3/usr/lib/systemd"
        # A version whose os-release has no ID=.
        cp -a "$E2E_IMAGES/sample_2" "$bad/noid/sample_3"
        rm -f "$bad/noid/sample_3/etc/os-release"
        grep -v '^ID=' "$E2E_IMAGES/sample_2/usr/lib/os-release" >"$bad/noid/sample_3/usr/lib/os-release"
        # A valid version with one more unit, whose drop-in directory will be blocked (see
        # check_reattach_fails_halfway): it fails only once the old version's files are gone.
        mkdir -p "$bad/halfway"
        cp -a "$E2E_IMAGES/sample_2" "$bad/halfway/sample_3"
        sed 's/sample-new/sample-extra/g' "$E2E_IMAGES/sample_2/usr/lib/systemd/system/sample-new.service" \
                >"$bad/halfway/sample_3/usr/lib/systemd/system/sample-extra.service"
}

# Everything in the attached tree and the image links, with contents: what must not change
# when a reattach fails.
attached_snapshot() {
        e2e_sh "cd $ATTACHED_ETC && find . /etc/portables -printf '%p %y %l\n' | sort &&
                find . -type f -print0 | sort -z | xargs -0 sha256sum"
}

check_attach_v1() {
        pctl_ok attach --now "$E2E_IMAGES/sample_1.raw"
        assert_running sample.service "sample.service: version 1 started"
        assert_running sample-old.service "sample-old.service: version 1 started"
        assert_active sample-echo.socket
        assert_http 1
        assert_echo 1 sample_1.raw
        assert_state "$E2E_IMAGES/sample_1.raw" running
        assert_state "$E2E_IMAGES/sample_2.raw" detached
}

# Invocation IDs before the reattach, to tell a restart from a unit left alone.
declare -A INVOCATION=()

check_reattach_v2() {
        local image="$E2E_IMAGES/sample_2.raw" u
        for u in sample.service sample-echo.socket sample-old.service; do
                INVOCATION[$u]=$(unit_prop "$u" InvocationID)
        done
        pctl_ok reattach --now "$image"
        output_has "Removed $ATTACHED_ETC/sample-old.service."
        output_has "/etc/portables/sample_2.raw"

        # Removed in v2: stopped and gone.
        assert_inactive sample-old.service
        assert_not_loaded sample-old.service
        # New in v2: started.
        assert_running sample-new.service "sample-new.service: version 2 started"
        # In both: restarted, now version 2 from the new image.
        assert_running sample.service "sample.service: version 2 started"
        [[ "$(unit_prop sample.service InvocationID)" != "${INVOCATION[sample.service]}" ]] ||
                e2e_die "sample.service was not restarted"
        assert_runs_from_image sample.service "$image"
        journal_has "_SYSTEMD_UNIT=sample.service PORTABLE=sample_2.raw" "sample.service: version 2 started"
        assert_active sample-echo.socket
        [[ "$(unit_prop sample-echo.socket InvocationID)" != "${INVOCATION[sample-echo.socket]}" ]] ||
                e2e_die "sample-echo.socket was not restarted"
        assert_http 2
        assert_echo 2 sample_2.raw

        e2e_exec grep -qxF "# Drop-in created for image '$image', do not edit." \
                "$ATTACHED_ETC/sample.service.d/20-portable.conf" || e2e_die "20-portable.conf not updated"
        e2e_exec test ! -e /etc/portables/sample_1.raw || e2e_die "/etc/portables/sample_1.raw left behind"
        assert_state "$image" running
        # The old version is another image now: not attached (upstream issues 33294, 39058).
        assert_state "$E2E_IMAGES/sample_1.raw" detached
        assert_state sample_1 detached
        assert_state sample running
}

# check_reattach_fails IMAGE EXPECT [bus]: reattach to IMAGE fails with a message containing
# EXPECT, and v2 stays attached and running, unchanged and not restarted. With "bus", the
# daemon's ReattachImage is called directly (our client refuses a path that does not exist
# before calling anything).
check_reattach_fails() {
        local image=$1 expect=$2 via=${3:-client} before after id_http id_new rc=0
        before=$(attached_snapshot)
        id_http=$(unit_prop sample.service InvocationID)
        id_new=$(unit_prop sample-new.service InvocationID)

        if [[ "$via" == bus ]]; then
                e2e_log "busctl call ... ReattachImage $image (must fail)"
                PCTL_OUT=$(e2e_exec busctl --system call org.freedesktop.portable1 /org/freedesktop/portable1 \
                        org.freedesktop.portable1.Manager ReattachImage sassbs "$image" 0 default false "" 2>&1) || rc=$?
                e2e_indent <<<"$PCTL_OUT" >&2
                ((rc != 0)) || e2e_die "ReattachImage of $image succeeded"
        else
                pctl_fail reattach --now "$image"
        fi
        output_has "$expect"

        after=$(attached_snapshot)
        [[ "$before" == "$after" ]] ||
                e2e_die "the attached files changed: $(diff <(echo "$before") <(echo "$after") | head -n 20)"
        assert_state "$E2E_IMAGES/sample_2.raw" running
        e2e_exec systemctl is-active --quiet sample.service || e2e_die "sample.service is not active any more"
        [[ "$(unit_prop sample.service InvocationID)" == "$id_http" ]] || e2e_die "sample.service was restarted"
        [[ "$(unit_prop sample-new.service InvocationID)" == "$id_new" ]] || e2e_die "sample-new.service was restarted"
        [[ "$(unit_prop sample.service LoadState)" == loaded ]] || e2e_die "sample.service is not loaded"
        assert_http 2
        assert_echo 2 sample_2.raw
}

# A reattach that fails while installing the new version, after the old one was taken away:
# a regular file where the drop-in directory of the new unit must go. The old version must be
# put back as it was.
check_reattach_fails_halfway() {
        local blocker="$ATTACHED_ETC/sample-extra.service.d"
        e2e_exec touch "$blocker"
        check_reattach_fails "$E2E_IMAGES/bad/halfway/sample_3" sample-extra.service
        e2e_exec test -f "$blocker" || e2e_die "$blocker is gone"
        e2e_exec test ! -e "$ATTACHED_ETC/sample-extra.service" || e2e_die "sample-extra.service was left attached"
}

check_reattach_back_to_v1() {
        pctl_ok reattach --now "$E2E_IMAGES/sample_1.raw"
        assert_inactive sample-new.service
        assert_not_loaded sample-new.service
        assert_running sample-old.service "sample-old.service: version 1 started"
        assert_running sample.service "sample.service: version 1 started"
        assert_http 1
        assert_echo 1 sample_1.raw
        assert_state "$E2E_IMAGES/sample_1.raw" running
        assert_state "$E2E_IMAGES/sample_2.raw" detached
}

check_detach() {
        pctl_ok detach --now "$E2E_IMAGES/sample_1.raw"
        assert_not_loaded sample.service
        assert_state "$E2E_IMAGES/sample_1.raw" detached
        assert_clean
}

main() {
        e2e_setup
        make_broken_images
        t_require "attach --now version 1" check_attach_v1
        t_check "reattach --now to version 2: old unit stopped, new started, common ones restarted" check_reattach_v2
        t_check "reattach to a corrupt squashfs image fails, version 2 stays attached and running" \
                check_reattach_fails "$E2E_IMAGES/bad/corrupt/sample_3.raw" "$E2E_IMAGES/bad/corrupt/sample_3.raw"
        t_check "reattach to a version without unit files fails, version 2 stays attached and running" \
                check_reattach_fails "$E2E_IMAGES/bad/nounits/sample_3" "$E2E_IMAGES/bad/nounits/sample_3"
        t_check "reattach to a version without an os-release ID fails, version 2 stays attached and running" \
                check_reattach_fails "$E2E_IMAGES/bad/noid/sample_3" "$E2E_IMAGES/bad/noid/sample_3"
        t_check "reattach to a path that does not exist fails, version 2 stays attached and running" \
                check_reattach_fails "$E2E_IMAGES/bad/sample_9.raw" "$E2E_IMAGES/bad/sample_9.raw" bus
        t_check "reattach failing half-way (drop-in directory blocked) rolls back, version 2 stays attached and running" \
                check_reattach_fails_halfway
        e2e_exec rm -f "$ATTACHED_ETC/sample-extra.service.d"
        t_check "reattach --now back to version 1" check_reattach_back_to_v1
        t_check "detach --now leaves nothing" check_detach
        t_cleanup
        t_done
}

main "$@"
