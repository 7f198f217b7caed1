#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# No caller can exhaust the daemon with calls it is slow to answer: at most 16 operations of one
# user (PORTABLE_OPERATIONS_PER_USER_MAX), 48 of all unprivileged users together (the rest is
# root's) and 64 in all (PORTABLE_OPERATIONS_MAX) are in flight;
# beyond that a call is refused at once with org.freedesktop.DBus.Error.LimitsExceeded. Floods
# of GetImageMetadata on an image whose reads are held up (strace delays every reader at its
# pivot_root(), as in lifecycle.sh): the number refused is exact, other users and calls that start
# no operation are answered meanwhile, every admitted call completes, and afterwards the slots
# are free again.
. "$(dirname "$0")/lib.sh"
setup

command -v setpriv >/dev/null || skip_all "setpriv not installed"
command -v strace >/dev/null || skip_all "strace not installed"

PER_USER=16
TOTAL=64
READ_DELAY=${LIMITS_READ_DELAY:-5}

stage foo "$ROOT/var/lib/portables/foo"
# The socket lives below the private test directory; let unprivileged callers reach it.
chmod o+x "$T" "$T/bus"
snapshot >"$T/pristine"

# --time-shares=no: these are the limits of operations in flight. Under strace -f each fork of a
# reader takes the daemon up to half a second on a loaded machine, time its caller would be charged
# for (call-budget.sh tests the shares).
stop_daemon
DAEMON_WRAPPER="strace -f -o /dev/null -e trace=pivot_root -e inject=pivot_root:delay_enter=$((READ_DELAY * 1000000))" \
        start_daemon --time-shares=no || exit 1
REAL_PID=$(pgrep -P "$DAEMON_PID")

now_ms() {
        echo $(($(date +%s%N) / 1000000))
}

# flood DIR UID N: N calls of GetImageMetadata on the held-up image at once, as UID, in the
# background; each leaves DIR/<i>.rc and DIR/<i>.err (busctl's debug log, with the error name).
# FLOOD_PIDS holds the clients, FLOOD_LAUNCH_MS how long starting them took.
flood() {
        local dir=$1 uid=$2 n=$3 i start
        rm -rf "$dir"
        mkdir -p "$dir"
        FLOOD_PIDS=()
        start=$(now_ms)
        for i in $(seq 1 "$n"); do
                (
                        SYSTEMD_LOG_LEVEL=debug as_user "$uid" busctl --address="$BUS_ADDRESS" --timeout=60 call \
                                "$PORTABLE_DEST" "$PORTABLE_PATH" "$MANAGER_IFACE" GetImageMetadata sas foo 1 foo \
                                >"$dir/$i.out" 2>"$dir/$i.err"
                        echo $? >"$dir/$i.rc"
                ) &
                FLOOD_PIDS+=($!)
        done
        FLOOD_LAUNCH_MS=$(($(now_ms) - start))
}

# Waits until N calls of DIR have been answered (the refusals come at once), at most 10 s.
wait_answered() {
        local dir=$1 n=$2 i
        for i in $(seq 1 100); do
                [ "$(find "$dir" -name '*.rc' | wc -l)" -ge "$n" ] && return 0
                sleep 0.1
        done
        return 1
}

count_ok() { grep -lx 0 "$1"/*.rc 2>/dev/null | wc -l; }
count_limited() { grep -l "error-name=org.freedesktop.DBus.Error.LimitsExceeded" "$1"/*.err 2>/dev/null | wc -l; }

# check_flood NAME DIR N ADMITTED: every client answered; ADMITTED succeeded with the metadata, the
# others were refused with LimitsExceeded and a message that says so.
check_flood() {
        local name=$1 dir=$2 n=$3 admitted=$4 f
        wait "${FLOOD_PIDS[@]}"
        assert_eq "$name: every call was answered" "$n" "$(find "$dir" -name '*.rc' | wc -l)"
        assert_eq "$name: $admitted calls were admitted and succeeded" "$admitted" "$(count_ok "$dir")"
        assert_eq "$name: the other $((n - admitted)) were refused with LimitsExceeded" "$((n - admitted))" \
                "$(count_limited "$dir")"
        f=$(grep -l "error-name=org.freedesktop.DBus.Error.LimitsExceeded" "$dir"/*.err | head -n 1)
        [ -n "$f" ] && diag "$name: $(_bus_error_of "$f")"
        f=$(grep -lx 0 "$dir"/*.rc | head -n 1)
        [ -n "$f" ] && assert_contains "$name: an admitted call got the metadata" "$(cat "${f%.rc}.out")" "foo.service"
}

# --- one unprivileged user floods ---------------------------------------------------------------

N=$((PER_USER + 8))
flood "$T/user" 65534 "$N"
diag "started $N clients as uid 65534 in ${FLOOD_LAUNCH_MS} ms"
if [ "$FLOOD_LAUNCH_MS" -ge $((READ_DELAY * 1000 - 1000)) ]; then
        skip_all "starting the clients took ${FLOOD_LAUNCH_MS} ms, too close to the ${READ_DELAY} s reads to count"
fi
wait_answered "$T/user" $((N - PER_USER)) || fail "per user: the calls over the limit were not refused at once"
assert_eq "per user: the calls over the limit are refused at once" "$((N - PER_USER))" "$(count_limited "$T/user")"
assert_contains "per user: the error names the user and the limit" \
        "$(_bus_error_of "$(grep -l LimitsExceeded "$T/user"/*.err | head -n 1)")" "user 65534" "at most $PER_USER"
# Meanwhile: another user, root, and calls that start no operation are answered.
assert_ok "per user: another unprivileged user is answered meanwhile" as_user 1 busctl --address="$BUS_ADDRESS" \
        --timeout=30 call "$PORTABLE_DEST" "$PORTABLE_PATH" "$MANAGER_IFACE" GetImageState s foo
assert_ok "per user: root's ListImages is answered meanwhile" mcall ListImages
assert_ok "per user: the flooding user's GetImage (no operation) is answered" as_user 65534 busctl \
        --address="$BUS_ADDRESS" --timeout=30 call "$PORTABLE_DEST" "$PORTABLE_PATH" "$MANAGER_IFACE" GetImage s foo
check_flood "per user" "$T/user" "$N" "$PER_USER"

# The slots are free again: a second burst is admitted in full.
flood "$T/user2" 65534 "$PER_USER"
check_flood "per user, once the first burst is done" "$T/user2" "$PER_USER" "$PER_USER"

# --- unprivileged users together ------------------------------------------------------------------

# Four users flood at once, each within its own limit: together they get the unprivileged share
# (PORTABLE_OPERATIONS_UNPRIVILEGED_MAX) and no more, and root is still admitted meanwhile.
SHARE=48
started=$(now_ms)
ALL_PIDS=()
for uid in 65534 1 2 3; do
        flood "$T/share-$uid" "$uid" "$PER_USER"
        ALL_PIDS+=("${FLOOD_PIDS[@]}")
done
FLOOD_LAUNCH_MS=$(($(now_ms) - started))
diag "started $((4 * PER_USER)) clients as 4 users in ${FLOOD_LAUNCH_MS} ms"
if [ "$FLOOD_LAUNCH_MS" -ge $((READ_DELAY * 1000 - 1500)) ]; then
        skip_all "starting the clients took ${FLOOD_LAUNCH_MS} ms, too close to the ${READ_DELAY} s reads to count"
fi
shared_limited() { cat "$T"/share-*/*.err | grep -c "error-name=org.freedesktop.DBus.Error.LimitsExceeded"; }
for _ in $(seq 1 100); do
        [ "$(shared_limited)" -ge $((4 * PER_USER - SHARE)) ] && break
        sleep 0.05
done
assert_eq "unprivileged share: the calls beyond it are refused at once" "$((4 * PER_USER - SHARE))" "$(shared_limited)"
assert_contains "unprivileged share: the error names the share" \
        "$(_bus_error_of "$(grep -l LimitsExceeded "$T"/share-*/*.err | head -n 1)")" \
        "Too many operations of unprivileged users in flight (at most $SHARE at once)"
mcall GetImageMetadata sas foo 1 foo >"$T/root-in-share.out" 2>"$T/root-in-share.err" &
ROOT_CALL=$!
wait "${ALL_PIDS[@]}"
assert_eq "unprivileged share: $SHARE calls of the four users were admitted and succeeded" "$SHARE" \
        "$(cat "$T"/share-*/*.rc | grep -cx 0)"
wait "$ROOT_CALL"
assert_eq "unprivileged share: root's call meanwhile was admitted and succeeded" 0 "$?"
assert_contains "... with the metadata" "$(cat "$T/root-in-share.out")" "foo.service"

# --- root fills the daemon ------------------------------------------------------------------------

N=$((TOTAL + 8))
flood "$T/all" 0 "$N"
diag "started $N clients as root in ${FLOOD_LAUNCH_MS} ms"
if [ "$FLOOD_LAUNCH_MS" -ge $((READ_DELAY * 1000 - 1000)) ]; then
        skip_all "starting the clients took ${FLOOD_LAUNCH_MS} ms, too close to the ${READ_DELAY} s reads to count"
fi
wait_answered "$T/all" $((N - TOTAL)) || fail "in all: the calls over the limit were not refused at once"
assert_eq "in all: the calls over the limit are refused at once" "$((N - TOTAL))" "$(count_limited "$T/all")"
assert_contains "in all: the error names the limit" \
        "$(_bus_error_of "$(grep -l LimitsExceeded "$T/all"/*.err | head -n 1)")" "at most $TOTAL"
assert_fails_with "in all: one more operation, of another user, is refused at once" \
        org.freedesktop.DBus.Error.LimitsExceeded -- \
        as_user 1 busctl --address="$BUS_ADDRESS" --timeout=5 call "$PORTABLE_DEST" "$PORTABLE_PATH" \
        "$MANAGER_IFACE" ListImages
assert_ok "in all: calls that start no operation are answered meanwhile" as_user 1 busctl \
        --address="$BUS_ADDRESS" --timeout=30 call "$PORTABLE_DEST" "$PORTABLE_PATH" "$MANAGER_IFACE" GetImage s foo
assert_ok "in all: properties are answered meanwhile" mprop PoolPath
check_flood "in all" "$T/all" "$N" "$TOTAL"

assert_ok "afterwards: ListImages is answered" mcall ListImages
flood "$T/after" 65534 "$PER_USER"
check_flood "afterwards: a user's burst is admitted in full" "$T/after" "$PER_USER" "$PER_USER"
assert_eq "no reader process left" "" "$(reader_processes "$REAL_PID")"
assert_root_unchanged "the host root is as it was" "$T/pristine"

finish
