#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# --copy=mixed copies the image in a worker once the attach is committed (image-operations.c):
# while it copies, the daemon answers other callers; it refuses to change that image's attachment
# and to repair (which removes what copies cut short left); and the attach is answered once the
# copy is in place. The worker's first copy_file_range() is held up for 10 s (strace), which is the
# window the other calls are made in (even under ASan on a busy machine); once, the daemon is
# killed in that window instead.
. "$(dirname "$0")/lib.sh"
setup
command -v strace >/dev/null || skip_all "strace not installed"

stage foo "$IMAGES/foo_1"
P=$ROOT/etc/portables
snapshot_root() { (cd "$ROOT" && find . | sort); }
snapshot_root >"$T/pristine"

# Restarts the daemon under strace, which holds up its worker's first copy_file_range() for 10 s.
start_daemon_holding_copies() {
        stop_daemon
        DAEMON_WRAPPER="strace -f -o /dev/null -e inject=copy_file_range:delay_enter=10000000:when=1" start_daemon || exit 1
}

# Attaches foo_1 with --copy=mixed in the background (ATTACH), and waits for its worker to copy.
attach_and_wait_for_the_worker() {
        mcall AttachImage sassbs "$IMAGES/foo_1" 1 foo default false mixed >"$T/attach.out" 2>"$T/attach.err" &
        ATTACH=$!
        assert_ok "$1" wait_for_daemon_child portabled-copy
        for _ in $(seq 1 200); do
                [ -e "$P/.#portabled-copy-foo_1" ] && break
                sleep 0.05
        done
        assert_ok "... it has begun the copy" test -d "$P/.#portabled-copy-foo_1"
}

start_daemon_holding_copies
attach_and_wait_for_the_worker "the worker is copying"

assert_ok "meanwhile ListImages is answered" mcall ListImages
assert_eq "... and GetImageState: the units are attached already" 's "attached"' "$(mcall GetImageState s "$IMAGES/foo_1")"
assert_fails_with "detaching the image being copied is refused" "is being copied for --copy=mixed" \
        -- mcall DetachImage sb "$IMAGES/foo_1" false
assert_fails_with "... by name too" "is being copied for --copy=mixed" -- mcall DetachImage sb foo false
assert_fails_with "... and so is a repair" "An image is being copied for --copy=mixed" -- mcall RepairAttachments t 0
assert_ok "all that while the attach was not answered yet" kill -0 "$ATTACH"
assert_ok "the link is still there" test -L "$P/foo_1"

wait "$ATTACH"
assert_eq "then the attach succeeds" 0 "$?"
assert_contains "... and says the image was copied" "$(cat "$T/attach.out")" "\"copy\" \"$P/foo_1\" \"$IMAGES/foo_1\""
assert_ok "the entry is a copy now" test -d "$P/foo_1" -a ! -L "$P/foo_1"
assert_eq "no hidden copy left" "" "$(ls -A "$P" | grep '^\.#' || true)"

stop_traced_daemon TERM
start_daemon || exit 1

# The daemon stopped while its worker copies: it stops the worker, removes the half copy, and
# answers the attach (committed already) with the link.
start_daemon_holding_copies
mcall DetachImage sb "$IMAGES/foo_1" false >/dev/null
attach_and_wait_for_the_worker "the worker is copying, and the daemon gets SIGTERM"
stop_traced_daemon TERM
wait "$ATTACH"
assert_eq "the attach succeeds" 0 "$?"
assert_contains "... saying the image is linked" "$(cat "$T/attach.out")" "\"symlink\" \"$P/foo_1\" \"$IMAGES/foo_1\""
assert_eq "... and the daemon left nothing else in $P" "foo_1" "$(ls -A "$P")"
assert_ok "... the link" test -L "$P/foo_1"
start_daemon || exit 1

# The daemon killed while its worker copies: the worker goes with it (PR_SET_PDEATHSIG), and the
# next start removes the half copy; the attachment keeps its link. strace now and then gives up
# holding the worker ("dispatch_event: pid N has delayed wait data set already") and exits, and the
# worker then finishes its copy: that attempt proves nothing, and is made again.
killed_while_copying() {
        start_daemon_holding_copies
        mcall DetachImage sb "$IMAGES/foo_1" false >/dev/null
        local worker held=1 gave_up
        gave_up=$(grep -c 'delayed wait data' "$T/log/portabled.log")
        attach_and_wait_for_the_worker "the worker is copying again"
        # strace still holds the worker (a strace that gave up is a zombie until waited for, so
        # kill -0 would not tell), and the worker has not put its copy in place.
        worker=$(daemon_children portabled-copy)
        [ -n "$worker" ] && [ "$(awk '/^TracerPid:/ { print $2 }' "/proc/$worker/status" 2>/dev/null)" = "$DAEMON_PID" ] &&
                [ -L "$P/foo_1" ] && held=0
        stop_traced_daemon KILL
        wait "$ATTACH" 2>/dev/null
        # strace may still have let go of the worker between that look and the kill.
        [ "$(grep -c 'delayed wait data' "$T/log/portabled.log")" = "$gave_up" ] || held=1
        start_daemon || exit 1
        return "$held"
}
for attempt in 1 2 3; do
        killed_while_copying && break
        diag "attempt $attempt: strace stopped holding the worker before the daemon was killed; again"
done
assert_eq "after a restart the half copy is gone" "foo_1" "$(ls -A "$P")"
assert_ok "... and the entry is the link" test -L "$P/foo_1"
assert_contains "... which the log says" "$(cat "$T/log/portabled.log")" \
        "Removed $P/.#portabled-copy-foo_1, left by an interrupted copy of an image."
assert_eq "... the image is attached" 's "attached"' "$(mcall GetImageState s "$IMAGES/foo_1")"

# A worker the daemon cannot watch (pidfd_open() fails: no file descriptor left) must not copy
# behind its back: it is stopped at once, what it began is removed, and the attach, committed
# already, answers with what is in place: the link, or the copy if this small one was done before
# the worker could be stopped. strace, attached to the running daemon, fails every pidfd_open()
# from then on; the image is a directory, read by the spare reader made before.
assert_ok "detach foo_1" mcall DetachImage sb "$IMAGES/foo_1" false
log_lines=$(wc -l <"$T/log/portabled.log")
assert_ok "a spare reader is ready" wait_for_daemon_child portabled-spare
strace -o /dev/null -e trace=pidfd_open -e inject=pidfd_open:error=EMFILE -p "$DAEMON_PID" 2>/dev/null &
STRACE=$!
for _ in $(seq 1 100); do
        [ "$(awk '/^TracerPid:/ { print $2 }' "/proc/$DAEMON_PID/status")" = "$STRACE" ] && break
        sleep 0.05
done
assert_ok "attach --copy=mixed while pidfd_open() fails" \
        mcall AttachImage sassbs "$IMAGES/foo_1" 1 foo default false mixed
kill "$STRACE"
wait "$STRACE" 2>/dev/null
assert_eq "... no worker is left" "" "$(daemon_children portabled-copy)"
assert_eq "... nor anything of a half copy" "foo_1" "$(ls -A "$P")"
if [[ "$OUT" == *"\"copy\" \"$P/foo_1\" \"$IMAGES/foo_1\""* ]]; then
        assert_ok "... the answer says copied, and the entry is the copy" test -d "$P/foo_1" -a ! -L "$P/foo_1"
else
        assert_contains "... the answer says linked" "$OUT" "\"symlink\" \"$P/foo_1\" \"$IMAGES/foo_1\""
        assert_ok "... and the entry is the link" test -L "$P/foo_1"
fi
assert_contains "... the log says the worker did not finish" "$(tail -n +$((log_lines + 1)) "$T/log/portabled.log")" \
        "The worker copying '$IMAGES/foo_1' for --copy=mixed did not finish: what it did not copy stays linked."
assert_ok "the daemon goes on: GetImageState" mcall GetImageState s "$IMAGES/foo_1"
assert_eq "... attached" 's "attached"' "$OUT"

# Reattach to another version: the old entry goes with the transaction, the new copy is made.
stage foo_2 "$IMAGES/foo_2"
assert_ok "reattach to foo_2, --copy=mixed" mcall ReattachImage sassbs "$IMAGES/foo_2" 1 foo default false mixed
assert_contains "... the old entry is removed" "$OUT" "\"unlink\" \"$P/foo_1\""
assert_contains "... the new one is made" "$OUT" "\"copy\" \"$P/foo_2\" \"$IMAGES/foo_2\""
assert_eq "... and only it is there" "foo_2" "$(ls -A "$P")"
assert_ok "the copy holds the new version" diff -r "$IMAGES/foo_2" "$P/foo_2"
assert_ok "detach" mcall DetachImage sb "$IMAGES/foo_2" false
rm -rf "$IMAGES/foo_2"
assert_eq "the host is as it was" "$(cat "$T/pristine")" "$(snapshot_root)"

# An image whose name gives no key to tell it from others ("_x") is busy only while some copy is
# made, not for good.
mkdir -p "$IMAGES/_x/usr/lib/systemd/system"
printf 'ID=portabletest\n' >"$IMAGES/_x/usr/lib/os-release"
printf '[Service]\nExecStart=/bin/true\n' >"$IMAGES/_x/usr/lib/systemd/system/ux.service"
assert_ok "with no copy being made, an image named _x attaches" \
        mcall AttachImage sassbs "$IMAGES/_x" 1 ux default false ""
assert_ok "... and detaches" mcall DetachImage sb "$IMAGES/_x" false
rm -rf "$IMAGES/_x"
assert_eq "the host is as it was" "$(cat "$T/pristine")" "$(snapshot_root)"

finish
