#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# While an upgrade waits to be kept or rolled back (reattach --rollback: ReattachImage with
# KEEP_PREVIOUS, then FinishReattach once the restarted units are up), its transaction is applied
# but not committed: its journal is on disk, and the previous version's files are hidden backups.
# Nothing else may act on that half-way state: a repair would take the journal for one left by a
# crash and roll it back, and the upgrade's own end would then undo it a second time, removing
# the restored files; the previous version looks detached, but removing it would leave a rollback
# pointing at nothing; and another image's attach of a unit the upgrade changed would have its files
# overwritten by a rollback. The restart of the units is held up for a few seconds by the stand-in for
# PID 1 (fake-systemd-jobs), which is the window the other calls are made in. A second daemon
# started on the same root meanwhile waits for the first to be gone.
. "$(dirname "$0")/lib.sh"
setup

[ -x "$FAKE_SYSTEMD_JOBS" ] || skip_all "fake-systemd-jobs not built at $FAKE_SYSTEMD_JOBS"
have_ours || skip_all "portablectl not built at $PORTABLECTL"

JOBS=$T/jobs.rules
SYSTEMD_LOG=$T/systemd.log
: >"$SYSTEMD_LOG"
echo "up.service 5000 done" >"$JOBS"

# The client of the upgrade under way, and other daemons this test starts; the EXIT trap stops
# them, and lib.sh's the rest.
CLIENT_PID=
SECOND_PID=
stop_helpers() {
        local pid
        for pid in $SECOND_PID $CLIENT_PID; do
                kill "$pid" 2>/dev/null
                wait "$pid" 2>/dev/null
        done
}
trap '_rc=$?; stop_helpers; (exit $_rc); _cleanup' EXIT

start_fake_systemd_jobs "$JOBS" "$SYSTEMD_LOG" || { fail "fake-systemd-jobs is on the bus"; finish; }

POOL=$ROOT/var/lib/portables
ATTACHED=$ROOT/etc/systemd/system.attached

# image_version DIR UNIT VERSION: an image in DIR whose UNIT says which version it is.
image_version() {
        mkdir -p "$1/usr/lib/systemd/system"
        printf 'ID=portabletest\nVERSION_ID=%s\n' "$3" >"$1/usr/lib/os-release"
        printf '[Unit]\nDescription=%s version %s\n\n[Service]\nExecStart=/bin/true\n' "${2%.service}" "$3" \
                >"$1/usr/lib/systemd/system/$2"
}

# start_upgrade UNIT IMAGE: `portablectl reattach --now --rollback IMAGE` in the background
# (CLIENT_PID), once it has applied the upgrade and waits for the restart of UNIT.
start_upgrade() {
        (cd "$T/cwd" && DBUS_SYSTEM_BUS_ADDRESS=$BUS_ADDRESS exec "$PORTABLECTL" reattach --now --rollback "$2") \
                >"$T/client.out" 2>"$T/client.err" &
        CLIENT_PID=$!
        for _ in $(seq 1 100); do
                grep -q "RestartUnit unit=$1" "$SYSTEMD_LOG" && return 0
                sleep 0.05
        done
        return 1
}

# start_second_daemon ROOT LOG: another portabled on the private bus (SECOND_PID).
start_second_daemon() {
        (cd / && DBUS_SYSTEM_BUS_ADDRESS=$BUS_ADDRESS exec "$PORTABLED" --root="$1" --vendor-profile-dir="$PROFILES" \
                --log-level=debug --exit-on-idle=0) >"$2" 2>&1 &
        SECOND_PID=$!
}

# Two versions of one image, each with up.service.
image_version "$POOL/up_1" up.service 1
image_version "$POOL/up_2" up.service 2

# The previous version also has up-legacy.service, which the new one dropped; another image,
# up-legacy, has a unit of that name too.
printf '[Service]\nExecStart=/bin/true\n' >"$POOL/up_1/usr/lib/systemd/system/up-legacy.service"
mkdir -p "$POOL/up-legacy/usr/lib/systemd/system"
printf 'ID=portabletest\n' >"$POOL/up-legacy/usr/lib/os-release"
printf '[Unit]\nDescription=up-legacy of its own\n\n[Service]\nExecStart=/bin/true\n' \
        >"$POOL/up-legacy/usr/lib/systemd/system/up-legacy.service"

assert_ok "attach up_1" mcall AttachImage sassbs "$POOL/up_1" 1 up default false ""
assert_contains "... its unit is attached" "$(cat "$ATTACHED/up.service")" "up version 1"

# The upgrade: the client restarts up.service and waits for the job before it keeps the new
# version.
assert_ok "the upgrade is applied, and the client waits for the restart" start_upgrade up.service "$POOL/up_2"
assert_contains "... up.service is the new version meanwhile" "$(cat "$ATTACHED/up.service")" "up version 2"

assert_fails_with "a repair meanwhile is refused" \
        "An upgrade is being verified; try again once it is kept or rolled back." -- mcall RepairAttachments t 0
assert_fails_with "... and so is removing the previous version, which looks detached" \
        "is being verified; try again once it is kept or rolled back." -- mcall RemoveImage s "$POOL/up_1"
assert_ok "... which is still there" test -f "$POOL/up_1/usr/lib/systemd/system/up.service"
assert_fails_with "another client may not abandon the upgrade" \
        "Only the client that asked for the upgrade to '$POOL/up_2' may keep or abandon it" -- \
        mcall FinishReattach sb "$POOL/up_2" false
assert_fails_with "... nor keep it" "Only the client that asked for the upgrade to '$POOL/up_2'" -- \
        mcall FinishReattach sb "$POOL/up_2" true
assert_contains "... which is still waiting: up.service is still the new version" \
        "$(cat "$ATTACHED/up.service")" "up version 2"
assert_fails_with "attaching another image with a unit the upgrade took away is refused" \
        "An upgrade of '$POOL/up_2', which changed units of '$POOL/up-legacy', is being verified" -- \
        mcall AttachImage sassbs "$POOL/up-legacy" 1 up-legacy default false ""
assert_ok "... up-legacy.service is still the previous version's backup, not attached" \
        test ! -e "$ATTACHED/up-legacy.service"

# A second daemon on the same root, as bus activation starts one once the first gave its name
# back at an idle exit while it still had work at hand, waits for the first to be gone instead
# of recovering the journal of its upgrade.
start_second_daemon "$ROOT" "$T/log/second.log"
for _ in $(seq 1 100); do
        grep -q "waiting until it is done" "$T/log/second.log" && break
        sleep 0.05
done
assert_contains "a second daemon on the same root waits for the first" "$(cat "$T/log/second.log")" \
        "Another portabled runs on this root; waiting until it is done."
assert_not_contains "... and recovers nothing meanwhile" "$(cat "$T/log/second.log")" "Interrupted operation"
kill "$SECOND_PID"
for _ in $(seq 1 40); do
        kill -0 "$SECOND_PID" 2>/dev/null || break
        sleep 0.05
done
if kill -0 "$SECOND_PID" 2>/dev/null; then
        fail "... and stops within 2 s when told to" "it still runs"
else
        pass "... and stops within 2 s when told to"
fi
wait "$SECOND_PID" 2>/dev/null
SECOND_PID=
assert_contains "... saying so" "$(cat "$T/log/second.log")" "Stopped while waiting for the other portabled."

wait "$CLIENT_PID"
assert_eq "the client keeps the upgrade once the restart is done" 0 "$?"
CLIENT_PID=
assert_contains "... with FinishReattach" "$(cat "$T/client.err" "$T/client.out")" "up.service"
assert_ok "up.service is attached" test -f "$ATTACHED/up.service"
assert_contains "... as the new version" "$(cat "$ATTACHED/up.service")" "up version 2"
assert_contains "... with its drop-in" "$(cat "$ATTACHED/up.service.d/20-portable.conf")" "$POOL/up_2"
assert_eq "up_2 is attached, and up.service runs" 's "running"' "$(mcall GetImageState s "$POOL/up_2")"
assert_eq "no hidden backup or journal is left" "" \
        "$(find "$ROOT/etc" "$ROOT/var/lib/portabled" -name '.#*' 2>/dev/null)"

# With nothing waiting, all go through.
assert_ok "the upgrade dropped up-legacy.service: up-legacy attaches now" \
        mcall AttachImage sassbs "$POOL/up-legacy" 1 up-legacy default false ""
assert_contains "... with its own unit" "$(cat "$ATTACHED/up-legacy.service")" "up-legacy of its own"
assert_ok "... and detaches" mcall DetachImage sb "$POOL/up-legacy" false
assert_ok "once the upgrade is kept, a repair runs" mcall RepairAttachments t 0
: >"$JOBS"
assert_ok "detach --now up_2" run_ours detach --now "$POOL/up_2"
assert_ok "... and up_1 may be removed" mcall RemoveImage s "$POOL/up_1"
assert_ok "... it is gone" test ! -e "$POOL/up_1"

# By name: the client reattaches "app", which resolves to the newest version in app.v/. While the
# upgrade waits, a newer version still appears, so that the name now resolves to that one: the
# client's FinishReattach("app") still finds the upgrade it waits on.
image_version "$POOL/app.v/app_1" app.service 1
assert_ok "attach app (version 1)" mcall AttachImage sassbs app 1 app default false ""
image_version "$POOL/app.v/app_2" app.service 2
echo "app.service 5000 done" >"$JOBS"
assert_ok "reattach app: the upgrade waits for the restart" start_upgrade app.service app
assert_contains "... of app to version 2" "$(cat "$ATTACHED/app.service")" "app version 2"
image_version "$POOL/app.v/app_3" app.service 3
wait "$CLIENT_PID"
assert_eq "a version 3 appeared meanwhile: the client still keeps its upgrade" 0 "$?"
CLIENT_PID=
assert_contains "... app.service is version 2" "$(cat "$ATTACHED/app.service")" "app version 2"
assert_contains "... from app_2" "$(cat "$ATTACHED/app.service.d/20-portable.conf")" "$POOL/app.v/app_2"
assert_eq "no hidden backup or journal is left" "" \
        "$(find "$ROOT/etc" "$ROOT/var/lib/portabled" -name '.#*' 2>/dev/null)"
: >"$JOBS"
assert_ok "detach --now app" run_ours detach --now "$POOL/app.v/app_2"

assert_eq "the runtime journal directory, made at start for the instance lock, is root's alone" 700 \
        "$(stat -c %a "$ROOT/run/portabled")"
# A root without /run at all: the daemon makes what it needs and starts.
stop_daemon
mkdir -p "$T/bare-root"
start_second_daemon "$T/bare-root" "$T/log/bare.log"
for _ in $(seq 1 200); do
        name_owned "$PORTABLE_DEST" && break
        sleep 0.05
done
assert_ok "on a root without /run the daemon starts" name_owned "$PORTABLE_DEST"
kill "$SECOND_PID"
wait "$SECOND_PID" 2>/dev/null
SECOND_PID=
start_daemon || exit 1

finish
