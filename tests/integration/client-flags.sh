#!/usr/bin/env bash
# What our portablectl sends for each flag combination of attach, detach and reattach: the
# portable1 call (plain or *WithExtensions, runtime, copy mode, flags, profile, matches) and the
# calls to the service manager (Reload, Enable/DisableUnitFilesWithFlags and their flags,
# Start/Stop/RestartUnit), in order, captured from the private bus by `busctl monitor`. The
# service manager is tests/integration/fake-systemd-jobs, whose jobs take as long as a test says:
# --now must wait for them (at most --timeout=), --no-block must not, detach --now stops before
# it detaches, reattach --now --rollback puts the previous version back when the new one fails.
# Also: every verb refuses surplus and missing arguments without calling anything.
. "$(dirname "$0")/lib.sh"
setup

[ -x "$FAKE_SYSTEMD_JOBS" ] || skip_all "fake-systemd-jobs not built at $FAKE_SYSTEMD_JOBS"
have_ours || skip_all "portablectl not built at $PORTABLECTL"

SYSTEMD_IFACE=org.freedesktop.systemd1.Manager
JOBS=$T/jobs.rules
SYSTEMD_LOG=$T/systemd.log
MONITOR=$T/monitor.json
: >"$JOBS"
: >"$SYSTEMD_LOG"

MONITOR_PID=
stop_monitor() {
        [ -n "$MONITOR_PID" ] || return 0
        kill "$MONITOR_PID" 2>/dev/null
        wait "$MONITOR_PID" 2>/dev/null
}
trap '_rc=$?; stop_monitor; (exit $_rc); _cleanup' EXIT

start_fake_systemd_jobs "$JOBS" "$SYSTEMD_LOG" || { fail "fake-systemd-jobs is on the bus"; finish; }
busctl --address="$BUS_ADDRESS" monitor --json=short >"$MONITOR" 2>"$T/log/monitor.log" &
MONITOR_PID=$!

# mark NAME: a call everybody can see in the monitor's stream; returns once the monitor has it.
# The call is made again until it is seen: the monitor may not have joined the bus yet when the
# first one is made (a repeated mark is harmless to calls()).
mark() {
        local i j
        for i in $(seq 1 25); do
                mcall GetImageState s "mark-$1" >/dev/null 2>&1
                for j in 1 2 3 4; do
                        grep -q "\"mark-$1\"" "$MONITOR" && return 0
                        sleep 0.05
                done
        done
        echo "the monitor did not see mark-$1" >&2
        return 1
}

mark start || { fail "busctl monitor sees the bus" "$(cat "$T/log/monitor.log")"; finish; }
DAEMON_NAME=$(bus call org.freedesktop.DBus /org/freedesktop/DBus org.freedesktop.DBus GetNameOwner s "$PORTABLE_DEST" |
        sed 's/^s "\(.*\)"$/\1/')

# calls FROM TO: the portable1 and systemd1 method calls between two marks that the daemon did
# not make itself (it asks which units run), ";"-separated: "Member arg arg ...", strings as they
# are ('' when empty), arrays as [a,b], $ROOT as @ROOT@.
calls() {
        python3 - "$MONITOR" "mark-$1" "mark-$2" "$ROOT" "$DAEMON_NAME" <<'PY'
import json, sys
path, start, end, root, daemon = sys.argv[1:]
ifaces = ("org.freedesktop.portable1.Manager", "org.freedesktop.systemd1.Manager")
def show(v):
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, list):
        return "[" + ",".join(show(x) for x in v) + "]"
    if isinstance(v, dict):  # a{sv}: {key=value,...}, the variants' values
        return "{" + ",".join(f"{k}={show(x['data'] if isinstance(x, dict) and 'data' in x else x)}"
                              for k, x in sorted(v.items())) + "}"
    if isinstance(v, str):
        return v.replace(root, "@ROOT@") if v else "''"
    return str(v)
out, inside = [], False
with open(path) as f:
    for line in f:
        try:
            m = json.loads(line)
        except ValueError:
            continue
        if m.get("type") != "method_call" or m.get("interface") not in ifaces or m.get("sender") == daemon:
            continue
        data = m.get("payload", {}).get("data", [])
        if m.get("member") == "GetImageState" and data in ([start], [end]):
            if data == [end]:
                break
            inside = True
            continue
        if inside:
            out.append(" ".join([m["member"]] + [show(x) for x in data]))
print(" ; ".join(out))
PY
}

# The image: two units, one of them a template (enabled, but never started: it has no instance).
mkdir -p "$ROOT/var/lib/portables/flag/usr/lib/systemd/system"
printf 'ID=portabletest\nPORTABLE_PREFIXES=flag\n' >"$ROOT/var/lib/portables/flag/usr/lib/os-release"
printf '[Service]\nExecStart=/bin/true\n\n[Install]\nWantedBy=multi-user.target\n' \
        >"$ROOT/var/lib/portables/flag/usr/lib/systemd/system/flag.service"
printf '[Service]\nExecStart=/bin/true\n' >"$ROOT/var/lib/portables/flag/usr/lib/systemd/system/flag@.service"
snapshot >"$T/pristine"

where_attached() {
        local etc=$ROOT/etc/systemd/system.attached/flag.service run=$ROOT/run/systemd/system.attached/flag.service
        if [ -e "$etc" ] && [ -e "$run" ]; then echo both
        elif [ -e "$etc" ]; then echo etc
        elif [ -e "$run" ]; then echo run
        else echo none
        fi
}

# Stops flag.service in fake-systemd if a row started it, and waits until it is inactive.
stop_flag() {
        local rules i
        rules=$(cat "$JOBS")
        : >"$JOBS"
        bus call org.freedesktop.systemd1 /org/freedesktop/systemd1 $SYSTEMD_IFACE StopUnit ss flag.service replace >/dev/null
        for i in $(seq 1 100); do
                [ "$(bus call org.freedesktop.systemd1 /org/freedesktop/systemd1 $SYSTEMD_IFACE ListUnitsByPatterns asas \
                        3 activating active deactivating 1 flag.service)" = "a(ssssssouso) 0" ] && break
                sleep 0.05
        done
        printf '%s\n' "$rules" >"$JOBS"
}

# Puts the image in the state a row starts from: none, etc (attached) or run (attached
# --runtime), flag.service stopped. Done through busctl, outside what the row looks at.
prepare() {
        stop_flag
        case "$(where_attached)" in
        etc) mcall DetachImage sb flag false >/dev/null ;;
        run) mcall DetachImage sb flag true >/dev/null ;;
        esac
        case "$1" in
        etc) mcall AttachImage sassbs flag 1 flag default false "" >/dev/null ;;
        run) mcall AttachImage sassbs flag 1 flag default true "" >/dev/null ;;
        esac
}

# Flag values: RUNTIME=1 FORCE_ATTACH=2 FORCE_EXTENSION=4 KEEP_PREVIOUS=4294967296 DRY_RUN=8589934592
# (portable1; detach --now/--enable first asks our daemon for its plan with a dry run;
# --force sets both FORCE_* flags, as systemd's client does); UNIT_FILE_RUNTIME=1
# UNIT_FILE_PORTABLE=4 (systemd1). Auto copy mode is '' on the wire. Rows: ARGS | BEFORE | CALLS |
# AFTER, where BEFORE and AFTER say where flag.service is attached (none, etc, run).
E=@ROOT@/etc/systemd/system.attached
R=@ROOT@/run/systemd/system.attached
table=$(cat <<EOF
attach flag | none | AttachImage flag [flag] default false '' ; ListUnitsByPatterns [] [flag.service,flag@*.service] ; Reload | etc
attach --runtime flag | none | AttachImage flag [flag] default true '' ; ListUnitsByPatterns [] [flag.service,flag@*.service] ; Reload | run
attach --copy=copy flag | none | AttachImage flag [flag] default false copy ; ListUnitsByPatterns [] [flag.service,flag@*.service] ; Reload | etc
attach --copy=symlink --runtime flag | none | AttachImage flag [flag] default true symlink ; ListUnitsByPatterns [] [flag.service,flag@*.service] ; Reload | run
attach --copy=auto flag | none | AttachImage flag [flag] default false '' ; ListUnitsByPatterns [] [flag.service,flag@*.service] ; Reload | etc
attach --profile=strict flag | none | AttachImage flag [flag] strict false '' ; ListUnitsByPatterns [] [flag.service,flag@*.service] ; Reload | etc
attach flag flag | none | AttachImage flag [flag] default false '' ; ListUnitsByPatterns [] [flag.service,flag@*.service] ; Reload | etc
attach --force flag | none | AttachImageWithExtensions flag [] [flag] default '' 6 ; ListUnitsByPatterns [] [flag.service,flag@*.service] ; Reload | etc
attach --force --runtime flag | none | AttachImageWithExtensions flag [] [flag] default '' 7 ; ListUnitsByPatterns [] [flag.service,flag@*.service] ; Reload | run
attach --runtime --force --copy=copy flag | none | AttachImageWithExtensions flag [] [flag] default copy 7 ; ListUnitsByPatterns [] [flag.service,flag@*.service] ; Reload | run
attach --no-reload flag | none | AttachImage flag [flag] default false '' | etc
attach --image-policy=root=verity+squashfs flag | none | AttachImageWithOptions flag [] [flag] default '' 0 {ImagePolicy=root=verity+squashfs} ; ListUnitsByPatterns [] [flag.service,flag@*.service] ; Reload | etc
attach --image-policy=* --force --runtime --copy=copy flag | none | AttachImageWithOptions flag [] [flag] default copy 7 {ImagePolicy=*} ; ListUnitsByPatterns [] [flag.service,flag@*.service] ; Reload | run
attach --no-reload --runtime --copy=symlink flag | none | AttachImage flag [flag] default true symlink | run
attach --enable flag | none | AttachImage flag [flag] default false '' ; EnableUnitFilesWithFlags [$E/flag.service] 4 ; EnableUnitFilesWithFlags [$E/flag@.service] 4 ; ListUnitsByPatterns [] [flag.service,flag@*.service] ; Reload | etc
attach --enable --runtime flag | none | AttachImage flag [flag] default true '' ; EnableUnitFilesWithFlags [$R/flag.service] 5 ; EnableUnitFilesWithFlags [$R/flag@.service] 5 ; ListUnitsByPatterns [] [flag.service,flag@*.service] ; Reload | run
attach --now flag | none | AttachImage flag [flag] default false '' ; ListUnitsByPatterns [] [flag.service,flag@*.service] ; Reload ; StartUnit flag.service replace | etc
attach --now --no-block --runtime flag | none | AttachImage flag [flag] default true '' ; ListUnitsByPatterns [] [flag.service,flag@*.service] ; Reload ; StartUnit flag.service replace | run
attach --enable --now --no-reload --force --runtime --copy=copy flag | none | AttachImageWithExtensions flag [] [flag] default copy 7 ; EnableUnitFilesWithFlags [$R/flag.service] 5 ; EnableUnitFilesWithFlags [$R/flag@.service] 5 ; StartUnit flag.service replace | run
detach flag | etc | DetachImage flag false ; ListUnitsByPatterns [] [flag.service,flag@*.service] ; Reload | none
detach --runtime flag | run | DetachImage flag true ; ListUnitsByPatterns [] [flag.service,flag@*.service] ; Reload | none
detach --copy=copy --profile=strict flag | etc | DetachImage flag false ; ListUnitsByPatterns [] [flag.service,flag@*.service] ; Reload | none
detach --force flag | etc | DetachImageWithExtensions flag [] 6 ; ListUnitsByPatterns [] [flag.service,flag@*.service] ; Reload | none
detach --force --runtime flag | run | DetachImageWithExtensions flag [] 7 ; ListUnitsByPatterns [] [flag.service,flag@*.service] ; Reload | none
detach --no-reload flag | etc | DetachImage flag false | none
detach --now flag | etc | DetachImageWithExtensions flag [] 8589934594 ; StopUnit flag.service replace ; DetachImage flag false ; ListUnitsByPatterns [] [flag.service,flag@*.service] ; Reload | none
detach --now --no-block flag | etc | DetachImageWithExtensions flag [] 8589934594 ; StopUnit flag.service replace ; DetachImage flag false ; ListUnitsByPatterns [] [flag.service,flag@*.service] ; Reload | none
detach --enable flag | etc | DetachImageWithExtensions flag [] 8589934594 ; DisableUnitFilesWithFlags [flag.service] 4 ; DisableUnitFilesWithFlags [flag@.service] 4 ; DetachImage flag false ; ListUnitsByPatterns [] [flag.service,flag@*.service] ; Reload | none
detach --enable --now --runtime --force --no-reload flag | run | DetachImageWithExtensions flag [] 8589934599 ; StopUnit flag.service replace ; DisableUnitFilesWithFlags [flag.service] 5 ; DisableUnitFilesWithFlags [flag@.service] 5 ; DetachImageWithExtensions flag [] 7 | none
reattach flag | etc | ReattachImage flag [flag] default false '' ; ListUnitsByPatterns [] [flag.service,flag@*.service] ; Reload | etc
reattach --runtime --copy=symlink flag | run | ReattachImage flag [flag] default true symlink ; ListUnitsByPatterns [] [flag.service,flag@*.service] ; Reload | run
reattach --force flag | etc | ReattachImageWithExtensions flag [] [flag] default '' 6 ; ListUnitsByPatterns [] [flag.service,flag@*.service] ; Reload | etc
reattach --force --runtime --copy=copy --profile=strict flag | run | ReattachImageWithExtensions flag [] [flag] strict copy 7 ; ListUnitsByPatterns [] [flag.service,flag@*.service] ; Reload | run
reattach --no-reload flag | etc | ReattachImage flag [flag] default false '' | etc
reattach --image-policy=root=squashfs --runtime flag | run | ReattachImageWithOptions flag [] [flag] default '' 1 {ImagePolicy=root=squashfs} ; ListUnitsByPatterns [] [flag.service,flag@*.service] ; Reload | run
reattach --now --rollback flag | etc | ReattachImageWithExtensions flag [] [flag] default '' 4294967296 ; Reload ; RestartUnit flag.service replace ; FinishReattach flag true | etc
reattach --now --rollback --runtime --force --no-reload flag | run | ReattachImageWithExtensions flag [] [flag] default '' 4294967303 ; Reload ; RestartUnit flag.service replace ; FinishReattach flag true | run
reattach --now flag | etc | ReattachImage flag [flag] default false '' ; ListUnitsByPatterns [] [flag.service,flag@*.service] ; Reload ; RestartUnit flag.service replace | etc
reattach --enable --now --no-block --runtime flag | run | ReattachImage flag [flag] default true '' ; EnableUnitFilesWithFlags [$R/flag.service] 5 ; EnableUnitFilesWithFlags [$R/flag@.service] 5 ; ListUnitsByPatterns [] [flag.service,flag@*.service] ; Reload ; RestartUnit flag.service replace | run
EOF
)

n=0
while IFS='|' read -r args before expected after; do
        args=$(echo $args) before=$(echo $before) expected=$(echo "$expected" | sed 's/^ *//; s/ *$//') after=$(echo $after)
        n=$((n + 1))
        prepare "$before"
        mark "row$n-begin"
        # shellcheck disable=SC2086 # the arguments are words
        run run_ours $args
        mark "row$n-end"
        if [ "$RC" -ne 0 ]; then
                fail "portablectl $args: succeeds" "exit status $RC" "stderr: $ERR"
                continue
        fi
        assert_eq "portablectl $args: the calls it makes" "$expected" "$(calls "row$n-begin" "row$n-end")"
        assert_eq "portablectl $args: flag.service is attached in: $after" "$after" "$(where_attached)"
done <<<"$table"
prepare none
assert_root_unchanged "after the table, the root is as it was" "$T/pristine"

# ------------------------------------------------------------------ waiting for the jobs

# job_removed_ms UNIT: when fake-systemd sent the last JobRemoved for UNIT (waits for it).
job_removed_ms() {
        local i line
        for i in $(seq 1 100); do
                line=$(grep " JobRemoved unit=$1 " "$SYSTEMD_LOG" | tail -n 1)
                [ -n "$line" ] && { echo "${line%% *}"; return 0; }
                sleep 0.05
        done
        return 1
}

# timed ARGS...: runs our portablectl; sets STARTED and ENDED (ms) besides RC/OUT/ERR.
timed() {
        : >"$SYSTEMD_LOG"
        STARTED=$(date +%s%3N)
        run run_ours "$@"
        ENDED=$(date +%s%3N)
}

echo "flag.service 1500 done" >"$JOBS"

prepare none
timed attach --now flag
removed=$(job_removed_ms flag.service)
assert_eq "attach --now with a slow start: succeeds" 0 "$RC"
if [ -n "$removed" ] && [ "$ENDED" -ge "$removed" ]; then
        pass "attach --now returns only after the start job is done ($((ENDED - STARTED)) ms)"
else
        fail "attach --now returns only after the start job is done" \
                "returned at $ENDED, job removed at ${removed:-never}, started at $STARTED"
fi

prepare none
timed attach --now --no-block flag
removed=$(job_removed_ms flag.service)
if [ -n "$removed" ] && [ "$ENDED" -lt "$removed" ]; then
        pass "attach --now --no-block returns before the start job is done ($((ENDED - STARTED)) ms)"
else
        fail "attach --now --no-block returns before the start job is done" \
                "returned at $ENDED, job removed at ${removed:-never}, started at $STARTED"
fi

prepare etc
timed reattach --now flag
removed=$(job_removed_ms flag.service)
if [ -n "$removed" ] && [ "$ENDED" -ge "$removed" ]; then
        pass "reattach --now returns only after the restart job is done"
else
        fail "reattach --now returns only after the restart job is done" "returned at $ENDED, job removed at ${removed:-never}"
fi

# detach --now waits for the stop even with --no-block: a unit still running cannot be detached.
prepare etc
mark detach-begin
timed detach --now --no-block flag
mark detach-end
removed=$(job_removed_ms flag.service)
detach_sent=$(python3 - "$MONITOR" <<'PY'
import json, sys
for line in open(sys.argv[1]):
    try:
        m = json.loads(line)
    except ValueError:
        continue
    if m.get("type") == "method_call" and m.get("member") == "DetachImage":
        t = m.get("timestamp-realtime", 0) // 1000
print(t)
PY
)
if [ -n "$removed" ] && [ "$detach_sent" -ge "$removed" ]; then
        pass "detach --now --no-block stops and waits before it detaches"
else
        fail "detach --now --no-block stops and waits before it detaches" \
                "DetachImage sent at $detach_sent, stop job removed at ${removed:-never}"
fi

# --timeout= bounds the wait: the client gives up on a job that takes longer, and says so.
echo "flag.service 3000 done" >"$JOBS"
prepare none
timed attach --now --timeout=1 flag
removed=$(job_removed_ms flag.service)
assert_eq "attach --now --timeout=1 with a 3 s start: exit status 1" 1 "$RC"
assert_contains "attach --now --timeout=1: says which unit did not come up" "$ERR" "Unit flag.service did not come up"
if [ -n "$removed" ] && [ "$ENDED" -lt "$removed" ] && [ $((ENDED - STARTED)) -ge 900 ]; then
        pass "attach --now --timeout=1 waits about 1 s, not for the job ($((ENDED - STARTED)) ms)"
else
        fail "attach --now --timeout=1 waits about 1 s, not for the job" \
                "started at $STARTED, returned at $ENDED, job removed at ${removed:-never}"
fi

# A job that fails is reported, and the exit status says so; the attach itself has happened.
echo "flag.service 0 failed" >"$JOBS"
prepare none
timed attach --now flag
assert_eq "attach --now with a failing start: exit status 1" 1 "$RC"
assert_contains "attach --now with a failing start: the failure is reported" "$ERR" \
        "Job for flag.service (StartUnit) failed with result 'failed'." "Unit flag.service did not come up"
assert_eq "attach --now with a failing start: attached all the same" etc "$(where_attached)"

# reattach --now --rollback with a restart that fails: the daemon is told to put the previous
# version back (FinishReattach keep=false), what it took away is stopped, and what it put back
# is restarted.
prepare etc
mark rollback-begin
timed reattach --now --rollback flag
mark rollback-end
assert_eq "reattach --now --rollback with a failing restart: exit status 1" 1 "$RC"
assert_eq "reattach --now --rollback with a failing restart: the calls it makes" \
        "ReattachImageWithExtensions flag [] [flag] default '' 4294967296 ; Reload ; RestartUnit flag.service replace ; GetUnit flag.service ; FinishReattach flag false ; StopUnit flag.service replace ; Reload ; RestartUnit flag.service replace" \
        "$(calls rollback-begin rollback-end)"
: >"$JOBS"
prepare none

# -------------------------------------------------------------- surplus and missing arguments

n=0
while IFS='|' read -r args message; do
        args=$(echo $args) message=$(echo "$message" | sed 's/^ *//; s/ *$//')
        n=$((n + 1))
        mark "args$n-begin"
        # shellcheck disable=SC2086 # the arguments are words
        run run_ours $args
        mark "args$n-end"
        assert_eq "portablectl $args: exit status 1" 1 "$RC"
        assert_contains "portablectl $args: says why" "$ERR" "$message"
        assert_eq "portablectl $args: calls nothing" "" "$(calls "args$n-begin" "args$n-end")"
done <<'EOF'
list extra | Too many arguments for 'list'.
is-attached flag extra | Too many arguments for 'is-attached'.
read-only flag yes extra | Too many arguments for 'read-only'.
set-limit flag 1G extra | Too many arguments for 'set-limit'.
repair extra | Too many arguments for 'repair'.
attach --rollback flag | --rollback is for reattach --now, which waits for the units.
reattach --rollback flag | --rollback is for reattach --now, which waits for the units.
reattach --now --no-block --rollback flag | --rollback is for reattach --now, which waits for the units.
reattach --now --rollback --copy=mixed flag | --rollback and --copy=mixed exclude each other.
attach | No image given: name one, or a --manifest=.
detach | No image given: name one, or a --manifest=.
reattach | No image given: name one, or a --manifest=.
inspect | Too few arguments for 'inspect'.
is-attached | Too few arguments for 'is-attached'.
read-only | Too few arguments for 'read-only'.
remove | Too few arguments for 'remove'.
set-limit | Too few arguments for 'set-limit'.
frobnicate flag | Unknown command verb 'frobnicate'.
EOF
assert_root_unchanged "refused command lines changed nothing" "$T/pristine"

finish
