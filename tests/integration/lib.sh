# SPDX-License-Identifier: LGPL-2.1-or-later
# shellcheck shell=bash
#
# Harness for the integration tests. A test script sources this file, calls `setup`, runs its
# checks with the assert_* helpers and ends with `finish`.
#
# setup makes a private temporary directory $T holding
#   $T/root      the fake host root given to the daemon as --root ($ROOT)
#   $T/images    images referenced by path, outside the search path ($IMAGES)
#   $T/bus       a private dbus-daemon of type "system" with a permissive policy
#   $T/log       dbus-daemon and portabled logs
#   $T/cwd       an empty working directory for the clients
# and starts `$PORTABLED --root=$ROOT --vendor-profile-dir=$PROFILES` on that bus. The EXIT trap stops
# both daemons, unmounts anything under $T, detaches every loop device backed by a file under $T and
# removes $T, whatever the outcome. KEEP_TMP=1 keeps $T for debugging.
#
# Output is TAP: one "ok N - name" / "not ok N - name" line per assertion, diagnostics as "# ...",
# the plan "1..N" at the end. finish exits non-zero if any assertion failed.
#
# Golden files live in tests/integration/golden/ and may contain the placeholders @ROOT@, @IMAGES@,
# @PROFILES@ and @T@ (plus any KEY=VALUE given to assert_file_eq). UPDATE_GOLDEN=1 rewrites a
# golden file from the actual output instead of comparing (review the diff before committing).

set -u
set -o pipefail
umask 022
export LC_ALL=C.UTF-8
export SYSTEMD_PAGER=cat PAGER=cat SYSTEMD_COLORS=0 SYSTEMD_LOG_COLOR=0

_lib_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
: "${SOURCE_ROOT:=$(cd "$_lib_dir/../.." && pwd)}"
: "${BUILD_ROOT:=$SOURCE_ROOT/build}"
: "${PORTABLED:=$BUILD_ROOT/portabled/portabled}"
: "${PORTABLECTL:=$BUILD_ROOT/portablectl/portablectl}"
: "${FAKE_POLKIT:=$BUILD_ROOT/tests/integration/fake-polkit}"
: "${FAKE_SYSTEMD:=$BUILD_ROOT/tests/integration/fake-systemd}"
: "${FAKE_SYSTEMD_JOBS:=$BUILD_ROOT/tests/integration/fake-systemd-jobs}"
: "${TEST_DATA:=$SOURCE_ROOT/tests/data}"
: "${PROFILES_DIR:=$SOURCE_ROOT/profiles}"
GOLDEN=$_lib_dir/golden
DEBIAN_PORTABLECTL=${DEBIAN_PORTABLECTL:-/usr/bin/portablectl}

PORTABLE_DEST=org.freedesktop.portable1
PORTABLE_PATH=/org/freedesktop/portable1
MANAGER_IFACE=org.freedesktop.portable1.Manager
IMAGE_IFACE=org.freedesktop.portable1.Image

_tap_n=0
_tap_failed=0
T=
DBUS_PID=
DAEMON_PID=
FAKE_POLKIT_PID=
FAKE_SYSTEMD_PID=

# ---------------------------------------------------------------------------------------------- TAP

diag() {
        local line
        for line in "$@"; do
                printf '%s\n' "$line" | sed 's/^/# /'
        done
}

pass() {
        _tap_n=$((_tap_n + 1))
        echo "ok $_tap_n - $1"
}

# fail NAME [DIAGNOSTIC...]
fail() {
        _tap_n=$((_tap_n + 1))
        _tap_failed=$((_tap_failed + 1))
        echo "not ok $_tap_n - $1"
        shift
        [ $# -gt 0 ] && diag "$@"
        return 0
}

skip_all() {
        echo "1..0 # SKIP $*"
        exit 77
}

skip() {
        _tap_n=$((_tap_n + 1))
        echo "ok $_tap_n - $1 # SKIP $2"
}

# -------------------------------------------------------------------------------------- assertions

assert_eq() {
        local name=$1 expected=$2 actual=$3
        if [ "$expected" = "$actual" ]; then
                pass "$name"
        else
                fail "$name" "expected: $expected" "actual:   $actual"
        fi
}

assert_contains() {
        local name=$1 haystack=$2 needle
        shift 2
        for needle in "$@"; do
                if [[ "$haystack" != *"$needle"* ]]; then
                        fail "$name" "expected to contain: $needle" "actual: $haystack"
                        return 0
                fi
        done
        pass "$name"
}

assert_not_contains() {
        local name=$1 haystack=$2 needle
        shift 2
        for needle in "$@"; do
                if [[ "$haystack" == *"$needle"* ]]; then
                        fail "$name" "must not contain: $needle" "actual: $haystack"
                        return 0
                fi
        done
        pass "$name"
}

# run CMD...: runs a command, its stdout in $OUT, its stderr in $ERR, its exit status in $RC.
run() {
        "$@" >"$T/run.out" 2>"$T/run.err"
        RC=$?
        OUT=$(cat "$T/run.out")
        ERR=$(cat "$T/run.err")
        return 0
}

# assert_ok NAME CMD...: the command succeeds; $OUT/$ERR/$RC are set as by run.
assert_ok() {
        local name=$1
        shift
        run "$@"
        if [ "$RC" -eq 0 ]; then
                pass "$name"
        else
                fail "$name" "command: $*" "exit status $RC" "stdout: $OUT" "stderr: $ERR"
        fi
}

# The error of the last failed busctl call, as "error.Name: message", from busctl's debug log.
_bus_error_of() {
        sed -n 's/.*Got message type=error .* error-name=\([^ ]*\) error-message=\(.*\)$/\1: \2/p' "$1" | tail -n 1
}

# assert_fails_with NAME SUBSTRING... -- CMD...
# The command fails and its error contains every SUBSTRING. For busctl calls the error is
# "org.freedesktop.Error.Name: message" (taken from busctl's debug log, so the echoed call
# arguments can not satisfy the check); for other commands it is stdout + stderr. $ERRMSG holds it.
assert_fails_with() {
        local name=$1 needle
        local -a needles=()
        shift
        while [ $# -gt 0 ] && [ "$1" != "--" ]; do
                needles+=("$1")
                shift
        done
        shift
        SYSTEMD_LOG_LEVEL=debug "$@" >"$T/run.out" 2>"$T/run.err"
        RC=$?
        ERRMSG=$(_bus_error_of "$T/run.err")
        if [ -z "$ERRMSG" ]; then
                ERRMSG="$(cat "$T/run.out") $(grep -v -e '^Bus ' -e 'Sent message' -e 'Got message' "$T/run.err")"
        fi
        if [ "$RC" -eq 0 ]; then
                fail "$name" "command unexpectedly succeeded: $*" "output: $(cat "$T/run.out")"
                return 0
        fi
        for needle in "${needles[@]}"; do
                if [[ "$ERRMSG" != *"$needle"* ]]; then
                        fail "$name" "command: $*" "expected error containing: $needle" "actual error: $ERRMSG"
                        return 0
                fi
        done
        pass "$name"
}

# Placeholders of golden files, expanded on stdin.
expand_placeholders() {
        local s kv
        s=$(cat; printf x)
        s=${s%x}
        for kv in "$@"; do
                s=${s//@${kv%%=*}@/${kv#*=}}
        done
        s=${s//@IMAGES@/$IMAGES}
        s=${s//@ROOT@/$ROOT}
        s=${s//@PROFILES@/$PROFILES}
        s=${s//@T@/$T}
        printf '%s' "$s"
}

# The inverse, for UPDATE_GOLDEN=1: the longest values are replaced first.
_reverse_placeholders() {
        local s kv
        s=$(cat; printf x)
        s=${s%x}
        for kv in "$@"; do
                s=${s//${kv#*=}/@${kv%%=*}@}
        done
        s=${s//$IMAGES/@IMAGES@}
        s=${s//$ROOT/@ROOT@}
        s=${s//$PROFILES/@PROFILES@}
        s=${s//$T/@T@}
        printf '%s' "$s"
}

# assert_file_eq NAME GOLDEN ACTUAL [KEY=VALUE...]: ACTUAL (a file) equals the golden file
# (relative to tests/integration/golden/) after placeholder expansion, byte for byte.
assert_file_eq() {
        local name=$1 golden=$GOLDEN/$2 actual=$3
        shift 3
        if [ "${UPDATE_GOLDEN:-0}" = 1 ]; then
                mkdir -p "$(dirname "$golden")"
                _reverse_placeholders "$@" <"$actual" >"$golden"
                pass "$name # golden $golden updated"
                return 0
        fi
        if [ ! -f "$golden" ]; then
                fail "$name" "golden file $golden missing" "actual:" "$(cat "$actual")"
                return 0
        fi
        expand_placeholders "$@" <"$golden" >"$T/expected"
        if cmp -s "$T/expected" "$actual"; then
                pass "$name"
        else
                fail "$name" "golden: $golden" "$(diff -u "$T/expected" "$actual" | head -n 80)"
        fi
}

# --------------------------------------------------------------------------------------- snapshots

# A recursive listing of DIR (default: $ROOT): type, mode, owner, link target and content hash of
# every entry. Two snapshots are equal iff nothing was created, removed or changed.
snapshot() {
        local dir=${1:-$ROOT}
        (
                cd "$dir" || exit 1
                find . -mindepth 1 -printf '%y %m %U:%G %p -> %l\n' | sort
                find . -type f -exec md5sum {} + | sort -k 2
        )
}

# assert_root_unchanged NAME SNAPSHOT_FILE
assert_root_unchanged() {
        snapshot >"$T/snapshot.now"
        if cmp -s "$2" "$T/snapshot.now"; then
                pass "$1"
        else
                fail "$1" "host root changed:" "$(diff -u "$2" "$T/snapshot.now" | tail -n +3 | head -n 40)"
        fi
        restore_skeleton
}

# dump_attached: what attach writes, in golden-file form. For each of the attached dirs and image
# link dirs: one line per entry ("d MODE path", "f MODE path", "l path -> target"), regular file
# contents indented with "  | ". A 10-profile.conf copy is shown as "  = <profile>/<file>" when it is
# byte-identical to a profile file, so golden files do not depend on the profile texts.
dump_attached() {
        local sub p mode prof
        for sub in etc/systemd/system.attached run/systemd/system.attached etc/portables run/portables; do
                [ -e "$ROOT/$sub" ] || continue
                (cd "$ROOT" && find "$sub" -printf '%p\n' | LC_ALL=C sort) | while IFS= read -r p; do
                        if [ -L "$ROOT/$p" ]; then
                                echo "l $p -> $(readlink "$ROOT/$p")"
                        elif [ -d "$ROOT/$p" ]; then
                                echo "d $(stat -c %a "$ROOT/$p") $p"
                        elif [ -f "$ROOT/$p" ]; then
                                mode=$(stat -c %a "$ROOT/$p")
                                echo "f $mode $p"
                                if [ "${p##*/}" = 10-profile.conf ] && prof=$(_find_profile_copy "$ROOT/$p"); then
                                        echo "  = $prof"
                                        continue
                                fi
                                sed -e 's/^/  | /' -e 's/^  | $/  |/' "$ROOT/$p"
                                if [ -s "$ROOT/$p" ] && [ "$(tail -c 1 "$ROOT/$p" | od -An -c | tr -d ' ')" != '\n' ]; then
                                        echo
                                        echo "  \\ no newline at end of file"
                                fi
                        else
                                echo "? $(stat -c %F "$ROOT/$p") $p"
                        fi
                done
        done
}

_find_profile_copy() {
        local f
        for f in "$ROOT"/etc/systemd/portable/profile/*/*.conf "$ROOT"/run/systemd/portable/profile/*/*.conf \
                 "$ROOT"/usr/local/lib/systemd/portable/profile/*/*.conf \
                 "$ROOT"/usr/lib/systemd/portable/profile/*/*.conf "$PROFILES"/*/*.conf; do
                [ -f "$f" ] || continue
                if cmp -s "$1" "$f"; then
                        echo "$f"
                        return 0
                fi
        done
        return 1
}

# assert_attached_eq NAME GOLDEN [KEY=VALUE...]: dump_attached equals the golden file.
assert_attached_eq() {
        local name=$1 golden=$2
        shift 2
        dump_attached >"$T/attached.dump"
        assert_file_eq "$name" "$golden" "$T/attached.dump" "$@"
}

# ------------------------------------------------------------------------------------------ D-Bus

bus() {
        busctl --address="$BUS_ADDRESS" --timeout=60 "$@"
}

# as_user UID CMD...: CMD as UID (group UID, no supplementary groups); as ourselves for 0. The bus
# socket is below the private test directory: a test with unprivileged callers makes "$T" and
# "$T/bus" searchable for others first.
as_user() {
        local uid=$1
        shift
        if [ "$uid" -eq 0 ]; then
                "$@"
        else
                setpriv --reuid="$uid" --regid="$uid" --clear-groups "$@"
        fi
}

# mcall METHOD SIGNATURE ARGS...: call a Manager method (busctl text output).
mcall() {
        bus call "$PORTABLE_DEST" "$PORTABLE_PATH" "$MANAGER_IFACE" "$@"
}

# mjson METHOD SIGNATURE ARGS...: same, reply as busctl JSON ({"type":..., "data":[...]}).
mjson() {
        bus --json=short call "$PORTABLE_DEST" "$PORTABLE_PATH" "$MANAGER_IFACE" "$@"
}

# icall OBJECT_PATH METHOD SIGNATURE ARGS...: call an Image object method.
icall() {
        local path=$1
        shift
        bus call "$PORTABLE_DEST" "$path" "$IMAGE_IFACE" "$@"
}

ijson() {
        local path=$1
        shift
        bus --json=short call "$PORTABLE_DEST" "$path" "$IMAGE_IFACE" "$@"
}

mprop() {
        bus get-property "$PORTABLE_DEST" "$PORTABLE_PATH" "$MANAGER_IFACE" "$@"
}

iprop() {
        local path=$1
        shift
        bus get-property "$PORTABLE_DEST" "$path" "$IMAGE_IFACE" "$@"
}

# pyjson EXPR: evaluate a Python expression over busctl JSON on stdin; `d` is the "data" list,
# `t` the signature, `s(x)` turns a byte array into text. Lists print one item per line.
pyjson() {
        python3 -c '
import json, sys
j = json.load(sys.stdin)
d, t = j["data"], j["type"]
def s(b): return bytes(b).decode("utf-8", "replace")
r = eval(sys.argv[1])
if isinstance(r, (list, tuple)):
    for x in r: print(x)
elif isinstance(r, bool):
    print("true" if r else "false")
else:
    sys.stdout.write(str(r))
' "$1"
}

# changes_of: an a(sss) change list in busctl JSON on stdin (first reply argument, or the one
# given as $1) as sorted "type path source" lines.
changes_of() {
        pyjson "sorted(' '.join(c).rstrip() for c in d[${1:-0}])"
}

# attach IMAGE COPY_MODE RUNTIME [MATCH...]: AttachImage with the default profile; prints the
# change list (sorted). Without MATCH the prefix is the one portablectl would derive.
attach() {
        local image=$1 mode=$2 runtime=$3
        shift 3
        local -a matches=("$@")
        [ ${#matches[@]} -eq 0 ] && matches=("$(derive_prefix "$image")")
        mjson AttachImage sassbs "$image" ${#matches[@]} "${matches[@]}" default "$runtime" "$mode" | changes_of
}

detach() {
        mjson DetachImage sb "$1" "$2" | changes_of
}

# The unit prefix portablectl derives from an image argument (reference §2.4).
derive_prefix() {
        local b=${1##*/}
        if [[ "$b" == *_* ]]; then
                b=${b%%_*}
        else
                b=${b%.raw}
        fi
        echo "$b"
}

# The sd-bus object path label escaping of an image name.
bus_label() {
        local s=$1 out= c i
        [ -z "$s" ] && { echo _; return; }
        for ((i = 0; i < ${#s}; i++)); do
                c=${s:i:1}
                if [[ "$c" =~ [A-Za-z0-9] ]] && ! { [ "$i" -eq 0 ] && [[ "$c" =~ [0-9] ]]; }; then
                        out+=$c
                else
                        out+=$(printf '_%02x' "'$c")
                fi
        done
        echo "$out"
}

# ----------------------------------------------------------------------------------------- clients

# run_ours ARGS...: our portablectl on the private bus, from an empty working directory.
run_ours() {
        (cd "$T/cwd" && DBUS_SYSTEM_BUS_ADDRESS=$BUS_ADDRESS exec "$PORTABLECTL" "$@")
}

# run_debian ARGS...: Debian's portablectl on the private bus. It refuses to run unless
# /run/systemd/system exists, so it runs in a private mount namespace with a tmpfs on /run/systemd
# that contains system/; the host's /run/systemd is never touched.
run_debian() {
        (cd "$T/cwd" && DBUS_SYSTEM_BUS_ADDRESS=$BUS_ADDRESS exec unshare --mount --propagation private \
                sh -c 'mount -t tmpfs -o mode=0755 portabled-test /run/systemd && mkdir /run/systemd/system && exec "$0" "$@"' \
                "$DEBIAN_PORTABLECTL" "$@")
}

have_ours() { [ -x "$PORTABLECTL" ]; }
have_debian() { [ -x "$DEBIAN_PORTABLECTL" ] && command -v unshare >/dev/null; }

# ------------------------------------------------------------------------------------------ images

# stage IMAGE DEST: copy the fixture tree tests/data/images/IMAGE to DEST.
stage() {
        mkdir -p "$(dirname "$2")"
        cp -a "$TEST_DATA/images/$1" "$2"
}

# build_raw FORMAT SRC_DIR OUT [bare]: a naked file system image (squashfs, erofs or ext4) of
# SRC_DIR, or (gpt) a GPT disk with one ext4 root partition of the Discoverable Partitions
# Specification, made by systemd-repart. Like any real portable image it gets the empty mount points and files the profiles
# bind-mount over (/proc /sys /dev /run /tmp /var/tmp, /etc/machine-id, /etc/resolv.conf), unless
# "bare" is given.
build_raw() {
        local fmt=$1 src=$2 out=$3 bare=${4:-}
        local tree=$T/raw-tree
        rm -rf "$tree"
        cp -a "$src" "$tree"
        if [ "$bare" != bare ]; then
                mkdir -p "$tree"/{proc,sys,dev,run,tmp,var/tmp,etc}
                touch "$tree/etc/machine-id" "$tree/etc/resolv.conf"
        fi
        mkdir -p "$(dirname "$out")"
        rm -f "$out"
        case "$fmt" in
        squashfs) mksquashfs "$tree" "$out" -all-root -noappend -quiet -no-progress >/dev/null ;;
        erofs) mkfs.erofs --quiet --all-root "$out" "$tree" >/dev/null ;;
        ext4)
                truncate -s 8M "$out" &&
                        mke2fs -q -F -t ext4 -E root_owner=0:0 -d "$tree" "$out" >/dev/null ;;
        gpt)
                mkdir -p "$T/repart.d" &&
                        printf '[Partition]\nType=root\nFormat=ext4\nCopyFiles=/\nSizeMinBytes=16M\nSizeMaxBytes=16M\n' \
                                >"$T/repart.d/root.conf" &&
                        systemd-repart --empty=create --size=auto --dry-run=no --no-pager --root="$tree" \
                                --definitions="$T/repart.d" "$out" >/dev/null 2>&1 ;;
        *) echo "unknown format $fmt" >&2; return 1 ;;
        esac
        local rc=$?
        rm -rf "$tree"
        return $rc
}

# reader_processes PID: the children of PID that are image readers at work or on their way out,
# one pid per line. The spare the daemon keeps for the next directory image (comm portabled-spare,
# waiting) is not one of them; there is at most one, else it is listed too. Readers that are done
# are reaped from the daemon's event loop a moment after the call that used them returned: give
# them up to 2 s.
reader_processes() {
        local parent=$1 i left
        for i in $(seq 1 40); do
                left=$(ps -o pid=,comm= --ppid "$parent" 2>/dev/null |
                        awk '$2 == "portabled-spare" && !spare++ { next } { print $1 }')
                [ -z "$left" ] && return 0
                sleep 0.05
        done
        echo "$left"
}

# daemon_children NAME: the pids of the daemon's live (not exited) child processes of that name (a
# worker: the *_WORKER_COMM names of portabled/image-operations.h; a reader: READER_COMM of
# src/reader-child.h). The daemon may run under strace, whose child it is then.
daemon_children() {
        local daemon
        for daemon in "$DAEMON_PID" $(pgrep -P "$DAEMON_PID"); do
                ps -o pid=,stat=,comm= --ppid "$daemon" 2>/dev/null | awk -v name="$1" '$3 == name && $2 !~ /^[ZX]/ { print $1 }'
        done
}

# wait_for_daemon_child NAME [PID...]: waits (up to 10 s) until the daemon has a live child process
# of that name, other than the PIDs given (those of an earlier call, not reaped yet), and prints its
# pid; fails if none shows.
wait_for_daemon_child() {
        local name=$1 i pid
        shift
        for i in $(seq 1 200); do
                for pid in $(daemon_children "$name"); do
                        [[ " $* " == *" $pid "* ]] && continue
                        echo "$pid"
                        return 0
                done
                sleep 0.05
        done
        return 1
}

# assert_no_leaks NAME FILE...: no loop device is backed by FILE and nothing under $T is mounted,
# neither in our mount namespace nor in the daemon's. Loop devices are released asynchronously by
# the kernel, so give them a moment.
assert_no_leaks() {
        local name=$1 f i loops mounts
        shift
        for i in $(seq 1 30); do
                loops=
                for f in "$@"; do
                        loops+=$(losetup -n -O NAME -j "$f" 2>/dev/null)
                done
                [ -z "$loops" ] && break
                sleep 0.1
        done
        mounts=$(grep -F "$T" /proc/self/mountinfo; [ -n "$DAEMON_PID" ] && grep -F "$T" "/proc/$DAEMON_PID/mountinfo" 2>/dev/null)
        if [ -n "$loops" ] || [ -n "$mounts" ]; then
                fail "$name" "loop devices: $loops" "mounts: $mounts"
        else
                pass "$name"
        fi
}

# -------------------------------------------------------------------------------- setup / teardown

_make_profiles() {
        local p
        for p in default nonetwork strict trusted; do
                mkdir -p "$1/$p"
                printf '# test stand-in for the "%s" profile\n\n[Service]\nPrivateTmp=yes\n' "$p" >"$1/$p/service.conf"
                [ "$p" = trusted ] ||
                        printf '# test stand-in for the "%s" profile\n\n[Socket]\nIPAddressDeny=any\n' "$p" >"$1/$p/socket.conf"
        done
}

_make_root() {
        # A host has an os-release; the drop-ins bind it into the service (reference §4.2).
        mkdir -p "$ROOT"/etc "$ROOT"/usr/lib
        printf 'ID=testhost\nPRETTY_NAME="Test host"\n' >"$ROOT/usr/lib/os-release"
        ln -sfn ../usr/lib/os-release "$ROOT/etc/os-release"
        mkdir -p "$ROOT"/etc/portables "$ROOT"/run/portables "$ROOT"/var/lib/portables \
                 "$ROOT"/usr/local/lib/portables "$ROOT"/usr/lib/portables \
                 "$ROOT"/etc/systemd/system "$ROOT"/run/systemd/system \
                 "$ROOT"/usr/local/lib/systemd/system "$ROOT"/usr/lib/systemd/system \
                 "$ROOT"/run/systemd/nspawn/locks
        # The daemon's state directories (StateDirectory=, RuntimeDirectory= of its unit), where
        # the journals of its transactions live while they run.
        mkdir -p -m 0700 "$ROOT"/var/lib/portabled "$ROOT"/run/portabled
}

# restore_skeleton: re-create the directories every test root starts with, so that one daemon bug
# that removes one of them is reported once and does not fail every later comparison.
restore_skeleton() {
        _make_root
}

_bus_config() {
        cat <<EOF
<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>system</type>
  <listen>unix:path=$T/bus/system_bus_socket</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow user="*"/>
    <allow own="*"/>
    <allow send_destination="*" eavesdrop="true"/>
    <allow receive_sender="*"/>
  </policy>
</busconfig>
EOF
}

start_bus() {
        _bus_config >"$T/bus/bus.conf"
        dbus-daemon --config-file="$T/bus/bus.conf" --nofork --nopidfile --nosyslog \
                >"$T/log/dbus-daemon.log" 2>&1 &
        DBUS_PID=$!
        BUS_ADDRESS=unix:path=$T/bus/system_bus_socket
        local i
        # The socket exists a moment before dbus-daemon listens on it: wait for an answer.
        for i in $(seq 1 100); do
                [ -S "$T/bus/system_bus_socket" ] &&
                        busctl --address="$BUS_ADDRESS" call org.freedesktop.DBus /org/freedesktop/DBus \
                                org.freedesktop.DBus GetId >/dev/null 2>&1 && return 0
                sleep 0.05
        done
        echo "dbus-daemon did not start: $(cat "$T/log/dbus-daemon.log")" >&2
        return 1
}

name_owned() {
        [ "$(bus call org.freedesktop.DBus /org/freedesktop/DBus org.freedesktop.DBus NameHasOwner s "$1" 2>/dev/null)" = "b true" ]
}

# start_daemon [EXTRA_ARGS...]: DAEMON_WRAPPER (words) is put in front of the command, e.g. strace.
start_daemon() {
        local asan_options=${ASAN_OPTIONS:-}
        # LeakSanitizer cannot work under ptrace: at exit it aborts with a "fatal error" report.
        [[ "${DAEMON_WRAPPER:-}" != *strace* ]] || asan_options="${asan_options:+$asan_options:}detect_leaks=0"
        # shellcheck disable=SC2086 # the wrapper is a list of words
        (cd / && ASAN_OPTIONS=$asan_options DBUS_SYSTEM_BUS_ADDRESS=$BUS_ADDRESS exec ${DAEMON_WRAPPER:-} "$PORTABLED" --root="$ROOT" \
                --vendor-profile-dir="$PROFILES" --log-level=debug --exit-on-idle=0 "$@") >>"$T/log/portabled.log" 2>&1 &
        DAEMON_PID=$!
        local i
        for i in $(seq 1 500); do
                name_owned "$PORTABLE_DEST" && return 0
                if ! kill -0 "$DAEMON_PID" 2>/dev/null; then
                        echo "portabled exited during start-up:" >&2
                        cat "$T/log/portabled.log" >&2
                        DAEMON_PID=
                        return 1
                fi
                sleep 0.02
        done
        echo "portabled did not acquire $PORTABLE_DEST in time (500 checks, 20 ms apart)" >&2
        return 1
}

# start_fake_polkit RULES LOG: tests/integration/fake-polkit serves org.freedesktop.PolicyKit1 on
# the private bus, answering from RULES and logging every query to LOG (see fake-polkit.c).
start_fake_polkit() {
        (cd / && DBUS_SYSTEM_BUS_ADDRESS=$BUS_ADDRESS exec "$FAKE_POLKIT" "$1" "$2") >>"$T/log/fake-polkit.log" 2>&1 &
        FAKE_POLKIT_PID=$!
        local i
        for i in $(seq 1 100); do
                name_owned org.freedesktop.PolicyKit1 && return 0
                sleep 0.05
        done
        echo "fake-polkit did not acquire org.freedesktop.PolicyKit1: $(cat "$T/log/fake-polkit.log")" >&2
        return 1
}

# start_fake_systemd UNITS LOG: tests/integration/fake-systemd serves org.freedesktop.systemd1 on the
# private bus: the units in UNITS are the ones "PID 1" holds, every call is logged to LOG (see
# fake-systemd.c).
start_fake_systemd() {
        _start_systemd_stand_in "$FAKE_SYSTEMD" "$@"
}

# start_fake_systemd_jobs RULES LOG: tests/integration/fake-systemd-jobs instead, whose jobs take as
# long as RULES says (see fake-systemd-jobs.c). Either is stopped by the EXIT trap.
start_fake_systemd_jobs() {
        _start_systemd_stand_in "$FAKE_SYSTEMD_JOBS" "$@"
}

_start_systemd_stand_in() {
        (cd / && DBUS_SYSTEM_BUS_ADDRESS=$BUS_ADDRESS exec "$1" "$2" "$3") >>"$T/log/fake-systemd.log" 2>&1 &
        FAKE_SYSTEMD_PID=$!
        local i
        for i in $(seq 1 100); do
                name_owned org.freedesktop.systemd1 && return 0
                sleep 0.05
        done
        echo "$(basename "$1") did not acquire org.freedesktop.systemd1: $(cat "$T/log/fake-systemd.log")" >&2
        return 1
}

stop_fake_systemd() {
        [ -n "$FAKE_SYSTEMD_PID" ] || return 0
        kill -TERM "$FAKE_SYSTEMD_PID" 2>/dev/null
        wait "$FAKE_SYSTEMD_PID" 2>/dev/null
        FAKE_SYSTEMD_PID=
}

stop_fake_polkit() {
        [ -n "$FAKE_POLKIT_PID" ] || return 0
        kill -TERM "$FAKE_POLKIT_PID" 2>/dev/null
        wait "$FAKE_POLKIT_PID" 2>/dev/null
        FAKE_POLKIT_PID=
}

# stop_traced_daemon SIGNAL: for a daemon started under strace (DAEMON_WRAPPER="strace ..."), whose
# DAEMON_PID is strace's: sends SIGNAL to the daemon itself (strace ends with it), then waits until
# strace is gone and the bus has let go of the name, so that the next daemon can take it. KILL
# also stops a daemon started without strace (and its children).
stop_traced_daemon() {
        local i pids=()
        [ -n "$DAEMON_PID" ] || return 0
        # The daemon is strace's child (without strace, DAEMON_PID's children are its readers and
        # workers), read from /proc: crash.sh stops daemons hundreds of times. strace may have
        # given up before (it exits on some of its own errors, leaving the daemon running
        # untraced and no longer its child): then the daemon is found by its bus name.
        read -r -a pids <"/proc/$DAEMON_PID/task/$DAEMON_PID/children" 2>/dev/null
        [ ${#pids[@]} -gt 0 ] || read -r -a pids < <(bus call org.freedesktop.DBus /org/freedesktop/DBus \
                org.freedesktop.DBus GetConnectionUnixProcessID s "$PORTABLE_DEST" 2>/dev/null | awk '{ print $2 }')
        [ ${#pids[@]} -eq 0 ] || kill "-$1" "${pids[@]}" 2>/dev/null
        [ "$1" != KILL ] || kill -KILL "$DAEMON_PID" 2>/dev/null
        wait "$DAEMON_PID" 2>/dev/null
        DAEMON_PID=
        for i in $(seq 1 100); do
                name_owned "$PORTABLE_DEST" || return 0
                sleep 0.02
        done
}

stop_daemon() {
        [ -n "$DAEMON_PID" ] || return 0
        kill -TERM "$DAEMON_PID" 2>/dev/null
        local i
        for i in $(seq 1 50); do
                kill -0 "$DAEMON_PID" 2>/dev/null || break
                sleep 0.1
        done
        kill -KILL "$DAEMON_PID" 2>/dev/null
        wait "$DAEMON_PID" 2>/dev/null
        DAEMON_PID=
}

_cleanup() {
        local rc=$? mp dev file
        trap - EXIT INT TERM
        stop_daemon
        stop_fake_polkit
        stop_fake_systemd
        if [ -n "$DBUS_PID" ]; then
                kill -TERM "$DBUS_PID" 2>/dev/null
                wait "$DBUS_PID" 2>/dev/null
        fi
        if [ -n "$T" ] && [ -d "$T" ]; then
                # Deepest mount points first.
                awk -v t="$T" 'index($5, t "/") == 1 || $5 == t { print $5 }' /proc/self/mountinfo | sort -r |
                        while read -r mp; do umount -l "$mp" 2>/dev/null; done
                losetup -n -l -O NAME,BACK-FILE 2>/dev/null | while read -r dev file; do
                        case "$file" in "$T"/*) losetup -d "$dev" 2>/dev/null ;; esac
                done
                if [ "${KEEP_TMP:-0}" = 1 ]; then
                        echo "# kept $T" >&2
                else
                        rm -rf "$T"
                fi
        fi
        exit "$rc"
}

setup() {
        [ "$(id -u)" -eq 0 ] || skip_all "needs root (loop devices, mounts, unshare)"
        [ -x "$PORTABLED" ] || skip_all "portabled not built at $PORTABLED"
        local tool
        for tool in busctl dbus-daemon python3; do
                command -v "$tool" >/dev/null || skip_all "$tool not installed"
        done
        T=$(mktemp -d /tmp/portabled-test.XXXXXX)
        trap _cleanup EXIT
        trap 'exit 130' INT
        trap 'exit 143' TERM
        ROOT=$T/root
        IMAGES=$T/images
        mkdir -p "$T/bus" "$T/log" "$T/cwd" "$IMAGES"
        if [ -f "$PROFILES_DIR/default/service.conf" ]; then
                PROFILES=$PROFILES_DIR
        else
                PROFILES=$T/profiles
                _make_profiles "$PROFILES"
        fi
        _make_root
        _host_paths_state >"$T/host.before"
        start_bus || exit 1
        start_daemon || exit 1
}

# The host's own portable paths: a daemon started with --root must never touch them.
_host_paths_state() {
        local p
        for p in /etc/systemd/system.attached /run/systemd/system.attached /etc/portables /run/portables \
                 /var/lib/portables /run/systemd/system; do
                echo "== $p"
                ls -la --time-style=+ "$p" 2>&1
        done
}

# finish: the daemon must have survived every call and left the real host alone; print the plan
# and exit.
finish() {
        _host_paths_state >"$T/host.after"
        if cmp -s "$T/host.before" "$T/host.after"; then
                pass "the host's own portable paths are untouched"
        else
                fail "the host's own portable paths are untouched" "$(diff -u "$T/host.before" "$T/host.after" | tail -n +3)"
        fi
        if [ -n "$DAEMON_PID" ] && kill -0 "$DAEMON_PID" 2>/dev/null; then
                pass "portabled is still running"
        else
                fail "portabled is still running" "daemon died; log:" "$(tail -n 30 "$T/log/portabled.log")"
        fi
        echo "1..$_tap_n"
        if [ "$_tap_failed" -gt 0 ]; then
                diag "$_tap_failed of $_tap_n checks failed" "last lines of the portabled log:"
                diag "$(tail -n 40 "$T/log/portabled.log")"
                exit 1
        fi
        exit 0
}
