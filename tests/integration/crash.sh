#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Crash safety, by force: the daemon is killed with SIGKILL before every file-system change it
# makes during attach, detach and reattach (strace injects the signal at the Nth call of each
# system call that changes something, for N = 1, 2, ... until the operation gets through
# uninjured), then started again. After each kill the host must be exactly in the old or
# exactly in the new state, nothing hidden left behind, no journal left over; and undoing the
# operation must give the starting tree back byte for byte.
#
# Runs for a directory image and a raw image with several units, persistent and --runtime, and
# for --copy=mixed, whose copy of the image is made after the transaction: killed while it copies,
# the attachment keeps its link to the image, as when the copy fails (image-copy.h), which is the
# third acceptable state there; what the copy left is gone once the daemon is started again.
# CRASH_SCENARIOS limits which scenarios run (a regular expression on their names).
. "$(dirname "$0")/lib.sh"
setup
command -v strace >/dev/null || skip_all "strace not installed"

# The system calls by which the daemon changes the file system, the journal and durability
# included. Reads are not interesting: killed during a read, nothing has changed.
SYSCALLS=(mkdir rmdir rename renameat renameat2 unlink unlinkat symlink fchmod fsync syncfs)
SCENARIO_FILTER=${CRASH_SCENARIOS:-.}

# Lock files of images (/run/systemd/nspawn/locks) coordinate readers and are not state: a
# daemon killed while holding one leaves the file, which the next holder removes, exactly as
# with systemd's own. They are left out of the comparison.
snapshot() {
        (
                cd "$ROOT" || exit 1
                find . -mindepth 1 -path ./run/systemd/nspawn/locks/'*' -prune -o -printf '%y %m %U:%G %p -> %l\n' | sort
                find . -path ./run/systemd/nspawn/locks -prune -o -type f -exec md5sum {} + | sort -k 2
        )
}

stage foo "$IMAGES/foo_1"
stage foo_2 "$IMAGES/foo_2"
build_raw squashfs "$TEST_DATA/images/foo" "$IMAGES/rawfoo_1.raw" || exit 1
build_raw squashfs "$TEST_DATA/images/foo_2" "$IMAGES/rawfoo_2.raw" || exit 1
snapshot >"$T/pristine"

wait_for_exit() {
        local i
        for i in $(seq 1 100); do
                kill -0 "$DAEMON_PID" 2>/dev/null || return 0
                sleep 0.02
        done
        return 1
}

# Starts the daemon with injection into the Nth call of SYSCALL; returns 1 if it died during
# start-up already (then it is not running).
start_injected() {
        local follow=()
        [ -z "${STRACE_FOLLOW:-}" ] || follow=(-f -o "$T/strace.log" -e "trace=$1")
        rm -f "$T/strace.log"
        DAEMON_WRAPPER="strace ${follow[*]:--o /dev/null} -e inject=$1:signal=SIGKILL:when=$2" start_daemon 2>/dev/null && return 0
        wait "$DAEMON_PID" 2>/dev/null
        DAEMON_PID=
        return 1
}

# With STRACE_FOLLOW, whether the signal went to a child of the daemon (its worker) instead. The
# daemon may have answered before strace wrote down the death (both learn of it at once): give
# strace up to a second. Only the one run per system call that gets through waits that long.
child_killed() {
        local i
        [ -n "${STRACE_FOLLOW:-}" ] || return 1
        for i in $(seq 1 25); do
                grep -q 'killed by SIGKILL' "$T/strace.log" 2>/dev/null && return 0
                sleep 0.04
        done
        return 1
}

# After a failed scenario, the next one starts from the pristine tree again.
reset_root() {
        local image runtime
        snapshot >"$T/now"
        cmp -s "$T/now" "$T/pristine" && return 0
        stop_traced_daemon KILL
        start_daemon || exit 1
        for image in "$IMAGES/foo_1" "$IMAGES/foo_2" "$IMAGES/rawfoo_1.raw" "$IMAGES/rawfoo_2.raw"; do
                for runtime in false true; do
                        mcall DetachImage sb "$image" "$runtime" >/dev/null 2>&1
                done
        done
}

# call OP IMAGE RUNTIME: the D-Bus call of an operation.
call() {
        local op=$1 image=$2 runtime=$3
        case "$op" in
        attach) mcall AttachImage sassbs "$image" 1 foo default "$runtime" "${COPY_MODE:-}" ;;
        detach) mcall DetachImage sb "$image" "$runtime" ;;
        reattach) mcall ReattachImage sassbs "$image" 1 foo default "$runtime" "${COPY_MODE:-}" ;;
        esac
}

# Scenario: name, the image to attach first (or - for none), the operation and its image, and
# how to get from the new state back to the old one. With ALTERNATIVE set, the state that snapshot
# file holds is acceptable too (and undone the same way as the new one).
run_scenario() {
        local name=$1 before=$2 op=$3 image=$4 runtime=$5 undo_op=$6 undo_image=$7
        local syscall n kills=0 ends=0 state alternatives=0 leftovers child_kills=0

        [[ "$name" =~ $SCENARIO_FILTER ]] || return 0
        reset_root

        # The two acceptable outcomes, made once without injection.
        [ "$before" = - ] || call attach "$before" "$runtime" >/dev/null
        snapshot >"$T/old"
        call "$op" "$image" "$runtime" >/dev/null 2>"$T/op.err" ||
                { fail "$name: the operation works without injection" "$(cat "$T/op.err")"; return; }
        snapshot >"$T/new"
        call "$undo_op" "$undo_image" "$runtime" >/dev/null
        snapshot >"$T/undone"
        if ! cmp -s "$T/old" "$T/undone"; then
                fail "$name: undoing the operation gives the old tree back" "$(diff -u "$T/old" "$T/undone" | head -20)"
                return
        fi

        for syscall in "${SYSCALLS[@]}"; do
                for n in $(seq 1 500); do
                        stop_traced_daemon KILL
                        if start_injected "$syscall" "$n"; then
                                call "$op" "$image" "$runtime" >/dev/null 2>&1
                                if ! kill -0 "$DAEMON_PID" 2>/dev/null || ! name_owned "$PORTABLE_DEST"; then
                                        wait_for_exit
                                elif child_killed; then
                                        # Only the worker was killed: the daemon lives on, and cleans
                                        # up after it.
                                        child_kills=$((child_kills + 1))
                                        leftovers=$(find "$ROOT" -name '.#portabled*')
                                        [ -z "$leftovers" ] ||
                                                { fail "$name: $syscall #$n: the worker was killed, and the daemon left" \
                                                        "$leftovers"; return; }
                                else
                                        # Got through: no more calls of this kind to kill at.
                                        stop_traced_daemon KILL
                                        start_daemon || exit 1
                                        state=new
                                        snapshot >"$T/now"
                                        cmp -s "$T/now" "$T/new" ||
                                                { fail "$name: $syscall #$n: uninjured run did not end in the new state" \
                                                        "$(diff -u "$T/new" "$T/now" | head -20)"; return; }
                                        call "$undo_op" "$undo_image" "$runtime" >/dev/null
                                        ends=$((ends + 1))
                                        break
                                fi
                        fi
                        stop_traced_daemon KILL
                        kills=$((kills + 1))

                        # Restart: recovery runs before the name is taken.
                        start_daemon || exit 1
                        snapshot >"$T/now"
                        if cmp -s "$T/now" "$T/old"; then
                                state=old
                        elif cmp -s "$T/now" "$T/new" ||
                                { [ -n "${ALTERNATIVE:-}" ] && cmp -s "$T/now" "$ALTERNATIVE" && alternatives=$((alternatives + 1)); }; then
                                state=new
                                call "$undo_op" "$undo_image" "$runtime" >/dev/null 2>"$T/undo.err" ||
                                        { fail "$name: killed at $syscall #$n: undo after recovery failed" \
                                                "$(cat "$T/undo.err")"; return; }
                        else
                                fail "$name: killed at $syscall #$n: neither the old nor the new state after recovery" \
                                        "against old:" "$(diff -u "$T/old" "$T/now" | tail -n +3 | head -20)" \
                                        "against new:" "$(diff -u "$T/new" "$T/now" | tail -n +3 | head -20)"
                                return
                        fi
                        snapshot >"$T/now"
                        if ! cmp -s "$T/now" "$T/old"; then
                                fail "$name: killed at $syscall #$n ($state): undoing did not give the old tree back" \
                                        "$(diff -u "$T/old" "$T/now" | tail -n +3 | head -20)"
                                return
                        fi
                done
        done
        [ "$before" = - ] || call detach "$before" "$runtime" >/dev/null
        assert_root_unchanged "$name: killed $kills times, every time the old or the new state" "$T/pristine"
        diag "$name: $kills kills over ${#SYSCALLS[@]} system calls${ALTERNATIVE:+, $alternatives of them in the alternative state}${STRACE_FOLLOW:+, $child_kills of a child of the daemon only}"
}

run_scenario "directory, persistent: attach" - attach "$IMAGES/foo_1" false detach "$IMAGES/foo_1"
run_scenario "directory, persistent: detach" "$IMAGES/foo_1" detach "$IMAGES/foo_1" false attach "$IMAGES/foo_1"
run_scenario "directory, persistent: reattach" "$IMAGES/foo_1" reattach "$IMAGES/foo_2" false reattach "$IMAGES/foo_1"
run_scenario "raw, runtime: attach" - attach "$IMAGES/rawfoo_1.raw" true detach "$IMAGES/rawfoo_1.raw"
run_scenario "raw, runtime: detach" "$IMAGES/rawfoo_1.raw" detach "$IMAGES/rawfoo_1.raw" true attach "$IMAGES/rawfoo_1.raw"
run_scenario "raw, runtime: reattach" "$IMAGES/rawfoo_1.raw" reattach "$IMAGES/rawfoo_2.raw" true reattach "$IMAGES/rawfoo_1.raw"

# --copy=mixed: the calls that make the copy of the image and put it in place, and those by which
# detach's transaction moves it aside and removes it (the rest of both transactions is the same as
# above, and is not killed at again).
SYSCALLS=(mkdirat symlinkat copy_file_range lsetxattr fchown renameat2 unlinkat)
if [[ "directory, mixed" =~ $SCENARIO_FILTER ]]; then
        reset_root
        call attach "$IMAGES/foo_1" false >/dev/null
        snapshot >"$T/linked"
        call detach "$IMAGES/foo_1" false >/dev/null
        # The copy is made by a worker, which strace follows (-f): killing it leaves the daemon
        # running, and the attach ends with the link.
        STRACE_FOLLOW=1 COPY_MODE=mixed ALTERNATIVE=$T/linked \
                run_scenario "directory, mixed: attach" - attach "$IMAGES/foo_1" false detach "$IMAGES/foo_1"
        COPY_MODE=mixed run_scenario "directory, mixed: detach" "$IMAGES/foo_1" detach "$IMAGES/foo_1" false attach "$IMAGES/foo_1"
fi

finish
