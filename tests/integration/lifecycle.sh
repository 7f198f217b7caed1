#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The daemon's life cycle and its responsiveness: other callers are answered while an image is
# being read (its reader is stopped with SIGSTOP, the slowest read there is); SIGTERM in the
# middle of an operation answers it and exits cleanly; losing the bus makes it exit; being idle
# makes it exit, but not while an operation is under way.
. "$(dirname "$0")/lib.sh"
setup

stage foo "$ROOT/var/lib/portables/foo"
build_raw squashfs "$TEST_DATA/images/foo" "$IMAGES/foo_1.raw" || exit 1
snapshot >"$T/pristine"

# Image reads that take a while, without a slow disk: strace holds every reader child at its
# pivot_root() (a call only the reader makes) for READ_DELAY seconds. DAEMON_PID is then strace's;
# REAL_PID is the daemon's.
READ_DELAY=3
start_slow_daemon() {
        DAEMON_WRAPPER="strace -f -o /dev/null -e trace=pivot_root -e inject=pivot_root:delay_enter=$((READ_DELAY * 1000000))" \
                start_daemon "$@" || return 1
        REAL_PID=$(pgrep -P "$DAEMON_PID")
}

now_ms() {
        echo $(($(date +%s%N) / 1000000))
}

# --- other callers are answered while an image is read --------------------------------------

stop_daemon
start_slow_daemon || exit 1
start=$(now_ms)
mcall GetImageMetadata sas "$IMAGES/foo_1.raw" 1 foo >"$T/slow.out" 2>"$T/slow.err" &
slow=$!
sleep 0.5
t0=$(now_ms)
assert_ok "ListImages is answered while an image is being read" mcall ListImages
latency=$(($(now_ms) - t0))
assert_ok "GetImageState is answered too" mcall GetImageState s foo
diag "ListImages latency during a ${READ_DELAY} s image read: ${latency} ms"
[ "$latency" -lt 1000 ] && pass "ListImages took less than 1 s (${latency} ms) during the read" ||
        fail "ListImages took ${latency} ms while an image was read"
wait "$slow"
assert_eq "the slow read completes" 0 "$?"
elapsed=$(($(now_ms) - start))
[ "$elapsed" -ge $((READ_DELAY * 1000)) ] && pass "the read really took ${READ_DELAY} s or more (${elapsed} ms)" ||
        fail "the read was not held up (${elapsed} ms): the test proves nothing"
assert_contains "and answers with the image" "$(cat "$T/slow.out")" "foo.service"
assert_no_leaks "no mount or loop device left after the reads" "$IMAGES/foo_1.raw"

# --- SIGTERM while an operation waits ------------------------------------------------------

# The reader of the read above may not be reaped yet: the attach's is another one.
earlier_readers=$(daemon_children portabled-read)
mcall AttachImage sassbs "$IMAGES/foo_1.raw" 1 foo default false "" >"$T/term.out" 2>"$T/term.err" &
client=$!
# shellcheck disable=SC2086 # one pid per word
assert_ok "the attach waits for its reader" wait_for_daemon_child portabled-read $earlier_readers
kill -TERM "$REAL_PID"
for i in $(seq 1 100); do kill -0 "$REAL_PID" 2>/dev/null || break; sleep 0.05; done
wait "$DAEMON_PID"
assert_eq "SIGTERM: the daemon exits cleanly" 0 "$?"
DAEMON_PID=
wait "$client"
assert_eq "SIGTERM: the waiting attach is answered with an error" 1 "$?"
assert_contains "SIGTERM: the error says why" "$(cat "$T/term.err")" "shutting down"
assert_root_unchanged "SIGTERM: nothing was attached" "$T/pristine"
assert_no_leaks "SIGTERM: the reader and its mount are gone" "$IMAGES/foo_1.raw"
start_daemon || exit 1

# --- idle exit -------------------------------------------------------------------------------

stop_daemon
start_slow_daemon --exit-on-idle=1 || exit 1
# Busy: a read held up for READ_DELAY seconds keeps it alive past its idle time.
mcall GetImageMetadata sas "$IMAGES/foo_1.raw" 1 foo >/dev/null 2>&1 &
slow=$!
sleep 2
kill -0 "$REAL_PID" 2>/dev/null && pass "no idle exit while an operation waits" ||
        fail "the daemon exited while an operation was waiting"
wait "$slow"
assert_eq "the held-up read still completes" 0 "$?"
for i in $(seq 1 100); do kill -0 "$REAL_PID" 2>/dev/null || break; sleep 0.05; done
if kill -0 "$REAL_PID" 2>/dev/null; then
        fail "idle: the daemon is still running after 5 s without calls"
else
        wait "$DAEMON_PID"
        assert_eq "idle: the daemon exits by itself, cleanly" 0 "$?"
        assert_eq "idle: and gave its name back" 1 "$(name_owned "$PORTABLE_DEST" && echo 0 || echo 1)"
fi
DAEMON_PID=
start_daemon || exit 1

# --- losing the bus --------------------------------------------------------------------------

bus_pid=$DBUS_PID
kill -TERM "$bus_pid"
wait "$bus_pid" 2>/dev/null
DBUS_PID=
for i in $(seq 1 100); do kill -0 "$DAEMON_PID" 2>/dev/null || break; sleep 0.05; done
if kill -0 "$DAEMON_PID" 2>/dev/null; then
        fail "the daemon lingers after its bus went away"
else
        pass "the daemon exits when its bus goes away"
        wait "$DAEMON_PID" 2>/dev/null
        DAEMON_PID=
fi
# Everything after this needs a bus and a daemon again.
rm -f "$T/bus/system_bus_socket"
start_bus || exit 1
start_daemon || exit 1
assert_root_unchanged "the host root is as it was" "$T/pristine"

finish
