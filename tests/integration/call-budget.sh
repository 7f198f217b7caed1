#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# A user's callers get a quarter of the daemon's time after a burst of 1 s, all unprivileged
# callers together half after 2 s (PORTABLE_CALL_TIME_*, portabled/call-budget.h); root's calls are
# never counted. A flood of calls that start no operation (ListImageVersions over a pool of
# 4000 images) from one user, all sent at once on three connections (bus-flood; the bus refuses a
# connection more than so many unanswered calls): part of it is
# answered, the rest refused at once with org.freedesktop.DBus.Error.LimitsExceeded naming the
# share and when to try again; root's calls and another user's are answered meanwhile, and the
# flooding user is served again once the time it was told has passed. Operations are charged for
# their later work too.
. "$(dirname "$0")/lib.sh"
setup

command -v setpriv >/dev/null || skip_all "setpriv not installed"
: "${BUS_FLOOD:=$BUILD_ROOT/tests/integration/bus-flood}"
[ -x "$BUS_FLOOD" ] || skip_all "$BUS_FLOOD not built"

POOL=$ROOT/var/lib/portables
N_IMAGES=4000
FLOOD=120

# The socket lives below the private test directory; let unprivileged callers reach it.
chmod o+x "$T" "$T/bus"
build_raw squashfs "$TEST_DATA/images/foo" "$T/foo.raw" || exit 1
mkdir -p "$POOL"
python3 -c 'import os, sys
for i in range(int(sys.argv[3])):
    os.link(sys.argv[1], "%s/img%05d.raw" % (sys.argv[2], i))' "$T/foo.raw" "$POOL" "$N_IMAGES"
stage foo "$POOL/foo"

user_call() { # UID METHOD [SIGNATURE ARGS...]
        local uid=$1
        shift
        as_user "$uid" busctl --address="$BUS_ADDRESS" --timeout=60 call "$PORTABLE_DEST" "$PORTABLE_PATH" \
                "$MANAGER_IFACE" "$@"
}

now_ms() {
        echo $(($(date +%s%N) / 1000000))
}

start=$(now_ms)
assert_ok "ListImageVersions over $N_IMAGES images" user_call 65534 ListImageVersions
diag "one ListImageVersions over $N_IMAGES images: $(($(now_ms) - start)) ms, client included"

# The time between a user's calls is nobody's work: calls with pauses longer than the burst are
# never refused.
for i in 1 2 3; do
        assert_ok "a call after a pause ($i) is answered" user_call 65534 GetImage s foo
        sleep 1.2
done

# --- one user floods ----------------------------------------------------------------------------

FLOODERS=()
for k in 1 2 3; do
        as_user 65534 "$BUS_FLOOD" "$BUS_ADDRESS" "$PORTABLE_DEST" "$PORTABLE_PATH" "$MANAGER_IFACE" \
                ListImageVersions "$FLOOD" >"$T/flood$k.out" 2>"$T/flood$k.err" &
        FLOODERS+=($!)
done
# Root meanwhile: answered, however long the flood is.
sleep 0.5
start=$(now_ms)
assert_ok "root's ListImages is answered during the flood" mcall ListImages
waited=$(($(now_ms) - start))
diag "root's ListImages during the flood: $waited ms"
# Behind the user's burst (1 s of the daemon's time) and a refusal for each call after it. Without
# the budget, root waited for all the flood had sent before (15 s where this took 1).
assert_ok "... behind no more than the user's share" test "$waited" -lt 5000
assert_ok "... and so is GetImage" mcall GetImage s foo
status=0
for pid in "${FLOODERS[@]}"; do
        wait "$pid" || status=$?
done
assert_eq "every call of the flood is answered" 0 "$status"
cat "$T"/flood?.out >"$T/flood.out"
diag "floods of $FLOOD, three at once: $(tr '\n' ';' <"$T/flood.out")"

served=$(awk '$2 == "ok" { n += $1 } END { print n + 0 }' "$T/flood.out")
limited=$(awk '$2 == "org.freedesktop.DBus.Error.LimitsExceeded" { n += $1 } END { print n + 0 }' "$T/flood.out")
assert_eq "the flood is answered or refused, nothing else" "$((3 * FLOOD))" "$((served + limited))"
assert_ok "part of the flood is served" test "$served" -gt 0
assert_ok "the rest is refused at once" test "$limited" -gt 0
message=$(sed -n 's/^message: //p' "$T/flood.out" | head -n 1)
assert_contains "the refusal names the user and its share" "$message" \
        "The calls of user 65534 have had their share of the daemon's time (25%, after a burst of 1000 ms)"

assert_ok "another user's calls are answered" user_call 1 GetImage s foo
assert_ok "... and root's" mcall ListImageVersions

# The flooding user is served again after the time its refusal named (a flood of cheap calls, to
# be sure to be refused first).
as_user 65534 "$BUS_FLOOD" "$BUS_ADDRESS" "$PORTABLE_DEST" "$PORTABLE_PATH" "$MANAGER_IFACE" \
        ListImageVersions "$FLOOD" >"$T/again.out"
wait_ms=$(sed -n 's/^message: .*try again in \([0-9]*\) ms\.$/\1/p' "$T/again.out")
assert_ok "a second flood is refused in part" test -n "$wait_ms"
sleep "$(((${wait_ms:-0} + 999) / 1000))"
assert_ok "after the wait it named, the user is served again" user_call 65534 ListImageVersions

# Operations are charged for what the daemon does when they go on: ListImages makes its listing
# once the service manager has answered, after its call was admitted. Batches within the limit of
# operations in flight, until the user's share is spent.
sleep 2
spent=
for batch in $(seq 1 60); do
        as_user 65534 "$BUS_FLOOD" "$BUS_ADDRESS" "$PORTABLE_DEST" "$PORTABLE_PATH" "$MANAGER_IFACE" \
                ListImages 12 >"$T/operations.out"
        if grep -q "^message: The calls of user 65534 have had their share" "$T/operations.out"; then
                spent=$batch
                break
        fi
done
assert_ok "a user's listings are charged until its share is spent" test -n "$spent"
diag "ListImages: the share was spent in batch ${spent:-none} of 12 calls"

# --time-shares=no: nobody is refused for time.
stop_daemon
start_daemon --time-shares=no || exit 1
as_user 65534 "$BUS_FLOOD" "$BUS_ADDRESS" "$PORTABLE_DEST" "$PORTABLE_PATH" "$MANAGER_IFACE" \
        ListImageVersions "$FLOOD" >"$T/unlimited.out"
assert_eq "--time-shares=no: a flood is served in full" "$FLOOD ok" "$(cat "$T/unlimited.out")"

finish
