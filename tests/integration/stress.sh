#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# 32 clients attach, detach, reattach, inspect and list distinct and overlapping images at once
# for STRESS_SECONDS (CI: 15). Many calls fail (units of one image conflict with another's, an
# image is not attached yet...) and that is fine; what must hold afterwards: every image is
# fully attached or fully detached, nothing is left over (repair finds nothing), no mount, loop
# device, reader process or file descriptor leaked, and the daemon still answers. ListImages
# latency under the load is measured and printed.
. "$(dirname "$0")/lib.sh"
setup

SECONDS_TO_RUN=${STRESS_SECONDS:-15}
CLIENTS=${STRESS_CLIENTS:-32}
A=$ROOT/etc/systemd/system.attached
AR=$ROOT/run/systemd/system.attached

stage foo "$IMAGES/foo_1"
stage foo_2 "$IMAGES/foo_2"
stage pfx "$IMAGES/pfx_1"
build_raw squashfs "$TEST_DATA/images/foo" "$IMAGES/rawfoo_1.raw" || exit 1
build_raw squashfs "$TEST_DATA/images/pfx" "$IMAGES/rawpfx_1.raw" || exit 1
# image prefix: foo_1, foo_2 and rawfoo overlap (the same unit names); pfx and rawpfx overlap.
IMAGE_LIST=("$IMAGES/foo_1:foo" "$IMAGES/foo_2:foo" "$IMAGES/pfx_1:pfx" "$IMAGES/rawfoo_1.raw:foo" "$IMAGES/rawpfx_1.raw:pfx")
snapshot >"$T/pristine"
fds_before=$(find "/proc/$DAEMON_PID/fd" -mindepth 1 | wc -l)

client() {
        local id=$1 end=$2 entry image prefix runtime
        RANDOM=$((id * 7919))
        while [ "$(date +%s)" -lt "$end" ]; do
                entry=${IMAGE_LIST[$((RANDOM % ${#IMAGE_LIST[@]}))]}
                image=${entry%%:*}
                prefix=${entry##*:}
                if [ $((RANDOM % 2)) -eq 0 ]; then runtime=true; else runtime=false; fi
                # More attaches than detaches, so that the end state has something to check.
                op=$((RANDOM % 8))
                case $op in
                0 | 1 | 2) op=attach; bus call "$PORTABLE_DEST" "$PORTABLE_PATH" "$MANAGER_IFACE" AttachImage sassbs \
                        "$image" 1 "$prefix" default "$runtime" "" ;;
                3 | 4) op=detach; bus call "$PORTABLE_DEST" "$PORTABLE_PATH" "$MANAGER_IFACE" DetachImage sb "$image" "$runtime" ;;
                5) op=reattach; bus call "$PORTABLE_DEST" "$PORTABLE_PATH" "$MANAGER_IFACE" ReattachImage sassbs \
                        "$image" 1 "$prefix" default "$runtime" "" ;;
                6) op=inspect; bus call "$PORTABLE_DEST" "$PORTABLE_PATH" "$MANAGER_IFACE" GetImageMetadata sas "$image" 1 "$prefix" ;;
                7) op=state; bus call "$PORTABLE_DEST" "$PORTABLE_PATH" "$MANAGER_IFACE" GetImageState s "$image" ;;
                esac >/dev/null 2>&1 && echo "$op ok" || echo "$op failed"
        done >"$T/client-$id"
}

# ListImages, timed, all the while.
lister() {
        local end=$1 t0 t1
        while [ "$(date +%s)" -lt "$end" ]; do
                t0=$(date +%s%N)
                bus call "$PORTABLE_DEST" "$PORTABLE_PATH" "$MANAGER_IFACE" ListImages >/dev/null 2>&1 || echo fail
                t1=$(date +%s%N)
                echo $(((t1 - t0) / 1000000))
                sleep 0.1
        done >"$T/latencies"
}

end=$(($(date +%s) + SECONDS_TO_RUN))
pids=()
for i in $(seq 1 "$CLIENTS"); do
        client "$i" "$end" &
        pids+=($!)
done
lister "$end" &
pids+=($!)
wait "${pids[@]}"

cat "$T"/client-* | sort | uniq -c | sed 's/^ */  /' >"$T/tally"
diag "calls by outcome:" "$(cat "$T/tally")"
for op in attach detach reattach inspect state; do
        grep -q " $op ok$" "$T/tally" && pass "some $op calls succeeded under load" || fail "no $op call succeeded under load"
done

if grep -q fail "$T/latencies"; then
        fail "ListImages failed under load"
else
        pass "ListImages never failed under load ($(wc -l <"$T/latencies") calls)"
fi
read -r median p90 max < <(sort -n "$T/latencies" | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)], a[int(NR * 0.9 + 0.5)], a[NR] }')
diag "ListImages latency with $CLIENTS clients: median ${median} ms, p90 ${p90} ms, max ${max} ms"

assert_ok "the daemon still answers" mcall ListImages
assert_no_leaks "no loop device or mount left" "$IMAGES/rawfoo_1.raw" "$IMAGES/rawpfx_1.raw"
assert_eq "no reader or worker process left" "" "$(reader_processes "$DAEMON_PID")"
fds_after=$(find "/proc/$DAEMON_PID/fd" -mindepth 1 | wc -l)
assert_eq "no file descriptor leaked" "$fds_before" "$fds_after"

run mjson RepairAttachments t 1
assert_eq "nothing left over (repair --dry-run finds nothing)" "" "$(changes_of <"$T/run.out")"

# Every attachment complete: each image is attached with exactly the units it has, each with
# its drop-ins, or not at all.
checked=0
for entry in "${IMAGE_LIST[@]}"; do
        image=${entry%%:*}
        prefix=${entry##*:}
        for dir in "$A" "$AR"; do
                attached=$(grep -l -F "# Drop-in created for image '$image', do not edit." "$dir"/*.d/20-portable.conf 2>/dev/null |
                        sed 's|.*/\([^/]*\)\.d/20-portable.conf$|\1|' | sort)
                [ -n "$attached" ] || continue
                expected=$(mjson GetImageMetadata sas "$image" 1 "$prefix" | pyjson 'sorted(d[2].keys())')
                assert_eq "$(basename "$image") in $(basename "$(dirname "$dir")")/$(basename "$dir"): all its units or none" \
                        "$expected" "$attached"
                checked=$((checked + 1))
                for unit in $attached; do
                        [ -e "$dir/$unit" ] || fail "$unit of $(basename "$image") has drop-ins but no unit file"
                done
        done
done

diag "$checked attachments were left at the end and checked"

# Back to the start.
for entry in "${IMAGE_LIST[@]}"; do
        for runtime in false true; do
                mcall DetachImage sb "${entry%%:*}" "$runtime" >/dev/null 2>&1
        done
done
assert_root_unchanged "detaching everything leaves the host root as it was" "$T/pristine"

finish
