#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Many attach/detach cycles of a raw image (each reads the image in a fresh reader) and of a
# directory image (read by the spare reader the daemon keeps, whose exit is reaped from its event
# loop), with inspections and listings in between, must leave no loop device, no mount, no file
# descriptor and no reader process behind, and must not make the daemon grow: RSS grows by less than 1 MiB from the
# end of a warm-up to the end. LEAK_CYCLES sets the count (CI: 100; tests/integration/leak.sh
# with LEAK_CYCLES=1000 is the full run).
. "$(dirname "$0")/lib.sh"
setup

CYCLES=${LEAK_CYCLES:-100}
WARMUP=10
build_raw squashfs "$TEST_DATA/images/foo" "$IMAGES/foo_1.raw" || exit 1
cp -a "$TEST_DATA/images/foo" "$IMAGES/foo_2"
snapshot >"$T/pristine"

rss_kb() {
        awk '/^VmRSS:/ { print $2 }' "/proc/$DAEMON_PID/status"
}

fd_count() {
        find "/proc/$DAEMON_PID/fd" -mindepth 1 | wc -l
}

cycle_of() {
        mcall AttachImage sassbs "$1" 1 foo default "$2" "" >/dev/null &&
                mcall GetImageMetadata sas "$1" 1 foo >/dev/null &&
                mcall ListImages >/dev/null &&
                mcall GetImageState s "$1" >/dev/null &&
                mcall DetachImage sb "$1" "$2" >/dev/null
}

cycle() {
        cycle_of "$IMAGES/foo_1.raw" "$1" && cycle_of "$IMAGES/foo_2" "$1"
}

failures=0
for i in $(seq 1 "$WARMUP"); do
        cycle false || failures=$((failures + 1))
done
rss_start=$(rss_kb)
fds_start=$(fd_count)
start=$(date +%s)
for i in $(seq 1 "$CYCLES"); do
        # Persistent and runtime in turn.
        if [ $((i % 2)) -eq 0 ]; then runtime=true; else runtime=false; fi
        cycle "$runtime" || failures=$((failures + 1))
done
seconds=$(($(date +%s) - start))
rss_end=$(rss_kb)
fds_end=$(fd_count)

assert_eq "$CYCLES cycles of attach, inspect, list, state, detach all succeed" 0 "$failures"
diag "RSS after warm-up ${rss_start} kB, after $CYCLES cycles ${rss_end} kB; fds ${fds_start} -> ${fds_end}; ${seconds} s"
growth=$((rss_end - rss_start))
if grep -q libasan <<<"$(ldd "$PORTABLED" 2>/dev/null)"; then
        # AddressSanitizer keeps freed memory in quarantine (256 MiB): RSS says nothing here, and
        # LeakSanitizer checks the daemon's heap when it exits instead.
        skip "RSS does not grow" "AddressSanitizer holds freed memory (${growth} kB more)"
else
        [ "$growth" -lt 1024 ] && pass "RSS grew by less than 1 MiB (${growth} kB)" ||
                fail "RSS grew by ${growth} kB over $CYCLES cycles"
fi
assert_eq "no file descriptor leaked" "$fds_start" "$fds_end"
assert_no_leaks "no loop device or mount left" "$IMAGES/foo_1.raw"
assert_eq "no reader process left" "" "$(reader_processes "$DAEMON_PID")"
assert_root_unchanged "the host root is as it was" "$T/pristine"

finish
