# SPDX-License-Identifier: LGPL-2.1-or-later
# shellcheck shell=bash
#
# End-to-end test harness: boots the machine's own systemd as PID 1 in a throwaway
# systemd-nspawn container (root on tmpfs, /usr from the host, read-only) and runs commands
# inside it. Source it from a test script that uses `set -euo pipefail`:
#
#   . "$SOURCE_ROOT/tests/e2e/lib.sh"
#   e2e_init                  # temp dir + cleanup trap, skips (exit 77) if we cannot run
#   e2e_build_sample_images   # -> $E2E_IMAGES/sample_1.raw ...
#   e2e_boot                  # container up, systemd-portabled masked inside
#   e2e_start_our_daemon      # our portabled on the container's system bus
#   e2e_exec portablectl ...  # run anything inside
#
# Everything the harness creates (container, temp dir, loop devices backed by files in the
# temp dir, mounts under it) is undone by e2e_cleanup, which runs from an EXIT trap and is
# safe to call more than once.
#
# Knobs (environment):
#   E2E_TMPBASE        parent of the temp dir (default /var/tmp; must allow device nodes)
#   E2E_KEEP=1         keep the temp dir (console log, images) after the run
#   E2E_BOOT_TIMEOUT   seconds to wait for the container to boot (default 120)
#   E2E_EXEC_TIMEOUT   default time limit for one e2e_exec command (default 300)
#   E2E_LOOP_NODES     how many /dev/loopN nodes to provide inside (default 64)
#   E2E_REQUIRE_BOOT=1 a container that cannot boot is a failure, not a skip
#   E2E_NSPAWN_ARGS    more systemd-nspawn arguments, space-separated (e.g. --overlay=/usr:/usr
#                      makes /usr writable inside, on a tmpfs over the host's: see
#                      tests/e2e/e2e-debian-package.sh)

# Several helper files may source this; define everything once.
[[ -n "${E2E_LIB_LOADED:-}" ]] && return 0
E2E_LIB_LOADED=1

# Meson's "skipped" exit status.
readonly E2E_SKIP=77

E2E_NAME=${E2E_NAME:-$(basename "${BASH_SOURCE[1]:-$0}" .sh)}
E2E_TMP=""
E2E_IMAGES=""
E2E_MACHINE=""
E2E_NSPAWN_PID=""
E2E_INIT_PID=""
E2E_BOOT_SECONDS=""
E2E_CLEANED=0
E2E_BOOT_TIMEOUT=${E2E_BOOT_TIMEOUT:-120}
E2E_EXEC_TIMEOUT=${E2E_EXEC_TIMEOUT:-300}
E2E_LOOP_NODES=${E2E_LOOP_NODES:-64}

# The environment of commands run inside: the caller's environment means nothing in there
# (and colours/pagers would garble the output we grep).
readonly E2E_INNER_ENV=(
        PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
        LANG=C.UTF-8
        TERM=dumb
        SYSTEMD_PAGER=cat
        SYSTEMD_COLORS=0
        SYSTEMD_LOG_COLOR=0
)

e2e_log() {
        printf '[e2e %s %s] %s\n' "$E2E_NAME" "$(date +%T.%3N)" "$*" >&2
}

# Indent a command's output (stdin) under the log line that announced it.
e2e_indent() {
        sed 's/^/    /'
}

e2e_die() {
        e2e_log "FAIL: $*"
        [[ -z "${E2E_FAIL_REASON_FILE:-}" ]] || printf '%s\n' "$*" >>"$E2E_FAIL_REASON_FILE"
        exit 1
}

e2e_skip() {
        e2e_log "SKIP: $*"
        exit "$E2E_SKIP"
}

# Checks that must pass before touching anything; otherwise the test is skipped with the reason.
e2e_check_prereqs() {
        local tool
        [[ $EUID -eq 0 ]] || e2e_skip "must run as root (systemd-nspawn --boot and loop devices need it)"
        for tool in systemd-nspawn nsenter losetup mknod findmnt timeout; do
                command -v "$tool" >/dev/null || e2e_skip "$tool not found (apt-get install systemd-container util-linux)"
        done
        [[ -x /lib/systemd/systemd || -x /usr/lib/systemd/systemd ]] || e2e_skip "no systemd binary to boot"
        [[ -c /dev/loop-control ]] || e2e_skip "/dev/loop-control missing: no loop device support"
        # Only informative: detection is heuristic (a stray /.dockerenv says "docker" on a
        # VM), and nesting may work anyway; the boot itself is the real test.
        if systemd-detect-virt --container --quiet 2>/dev/null; then
                e2e_log "note: systemd-detect-virt reports container '$(systemd-detect-virt --container)'"
        fi
}

# e2e_init: temp dir and cleanup trap. Call once, before anything else.
e2e_init() {
        e2e_check_prereqs

        local base=${E2E_TMPBASE:-/var/tmp}
        E2E_TMP=$(mktemp -d "$base/portabled-e2e.XXXXXXXX")
        chmod 0755 "$E2E_TMP"
        E2E_IMAGES="$E2E_TMP/images"
        mkdir -p "$E2E_IMAGES"
        # Container names must be valid host names; the pid keeps parallel runs apart.
        E2E_MACHINE="e2e-$$-${E2E_TMP##*.}"
        E2E_MACHINE=${E2E_MACHINE,,}

        trap 'e2e__on_exit' EXIT
        # Turn signals into a normal exit so the EXIT trap cleans up.
        trap 'exit 130' INT
        trap 'exit 143' TERM
        trap 'exit 129' HUP
        e2e_log "temp dir $E2E_TMP, machine $E2E_MACHINE"
}

e2e__on_exit() {
        local rc=$?
        # The trap must not be cut short by set -e in whatever it calls.
        set +e
        if [[ $rc -ne 0 && $rc -ne $E2E_SKIP ]]; then
                e2e_dump_debug
        fi
        e2e_cleanup
        if [[ $rc -eq 0 ]]; then
                e2e_log "PASS"
        elif [[ $rc -ne $E2E_SKIP ]]; then
                e2e_log "exit status $rc"
        fi
        exit "$rc"
}

# The images the tests attach, built from Debian packages into the temp dir (which the
# container sees at the same path).
e2e_build_sample_images() {
        local src=${SOURCE_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
        e2e_log "building sample images"
        "$src/tests/sample-image/build.sh" "$E2E_IMAGES" || e2e_die "sample image build failed"
}

# Device nodes for the container. The container has a private /dev, and systemd inside picks
# loop devices with LOOP_CTL_GET_FREE and opens /dev/loopN, so it needs loop-control and one
# node per index it may get. The host's devtmpfs nodes come and go (systemd detaches with
# LOOP_CTL_REMOVE, which deletes /dev/loopN), so we do not bind those: we mknod our own nodes
# in the temp dir, which stay valid whatever happens to the kernel device (opening a node of a
# removed index re-creates the device).
e2e__make_loop_nodes() {
        local dir="$E2E_TMP/dev" i
        if grep -qw nodev <<<"$(findmnt --noheadings --output OPTIONS --target "$E2E_TMP")"; then
                e2e_die "$E2E_TMP is on a nodev file system: set E2E_TMPBASE to a directory that allows device nodes"
        fi
        mkdir -p "$dir"
        for ((i = 0; i < E2E_LOOP_NODES; i++)); do
                mknod -m 0660 "$dir/loop$i" b 7 "$i"
        done
}

e2e__nspawn_args() {
        local i d
        local -n _args=$1
        _args=(
                --quiet
                --directory=/
                --volatile=yes
                --boot
                --machine="$E2E_MACHINE"
                # No machined on the host and our scope is not systemd's: keep our cgroup.
                --register=no
                --keep-unit
                # A console pty is needed by units with StandardInput=tty; we only read it.
                --console=read-only
                # Services listen on 127.0.0.1: keep them away from the host and other tests.
                --private-network
                --bind=/dev/loop-control
                --bind="$E2E_TMP"
        )
        for ((i = 0; i < E2E_LOOP_NODES; i++)); do
                _args+=(--bind="$E2E_TMP/dev/loop$i:/dev/loop$i")
        done
        # shellcheck disable=SC2206 # split on purpose
        if [[ -n "${E2E_NSPAWN_ARGS:-}" ]]; then
                _args+=($E2E_NSPAWN_ARGS)
        fi
        # Our build and sources at the same paths as on the host, read-only.
        for d in "${SOURCE_ROOT:-}" "${BUILD_ROOT:-}"; do
                [[ -n "$d" && -d "$d" ]] && _args+=(--bind-ro="$d")
        done
        # Kernel command line of the container's PID 1: without this, systemd-firstboot
        # asks questions on the console and the boot never finishes.
        _args+=(-- systemd.firstboot=off)
}

# Print the host pid of the container's init (the child of nspawn whose pid inside its
# namespace is 1), or nothing.
e2e__find_init_pid() {
        local child ns
        for child in $(pgrep -P "$E2E_NSPAWN_PID" 2>/dev/null); do
                ns=$(awk '/^NSpid:/ { print $NF }' "/proc/$child/status" 2>/dev/null) || continue
                if [[ "$ns" == 1 ]]; then
                        echo "$child"
                        return 0
                fi
        done
        return 1
}

# A boot failure is a skip (the machine cannot run these tests), unless E2E_REQUIRE_BOOT=1.
e2e__boot_failed() {
        e2e_log "container console (last lines):"
        tail -n 30 "$E2E_TMP/console.log" >&2 2>/dev/null || true
        if [[ "${E2E_REQUIRE_BOOT:-0}" == 1 ]]; then
                e2e_die "$*"
        fi
        e2e_skip "cannot boot a systemd container here: $*"
}

# e2e_boot: start the container and wait until systemd inside has finished booting.
e2e_boot() {
        local args=() start state deadline rc
        [[ -n "$E2E_TMP" ]] || e2e_die "e2e_init was not called"

        e2e__make_loop_nodes
        e2e__nspawn_args args
        start=$(date +%s%N)
        e2e_log "booting: systemd-nspawn ${args[*]:0:12} ... (${#args[@]} args)"
        systemd-nspawn "${args[@]}" >"$E2E_TMP/console.log" 2>&1 </dev/null &
        E2E_NSPAWN_PID=$!

        deadline=$((SECONDS + 30))
        until E2E_INIT_PID=$(e2e__find_init_pid); do
                if ! kill -0 "$E2E_NSPAWN_PID" 2>/dev/null; then
                        rc=0
                        wait "$E2E_NSPAWN_PID" 2>/dev/null || rc=$?
                        E2E_NSPAWN_PID=""
                        e2e__boot_failed "systemd-nspawn exited with status $rc before starting init"
                fi
                ((SECONDS < deadline)) || e2e__boot_failed "no init process after 30s"
                sleep 0.1
        done
        e2e_log "nspawn pid $E2E_NSPAWN_PID, container init pid $E2E_INIT_PID"

        # systemctl cannot wait for a manager whose private socket does not exist yet.
        e2e_wait_for "$E2E_BOOT_TIMEOUT" "systemd's private bus socket inside" \
                e2e_exec test -S /run/systemd/private ||
                e2e__boot_failed "PID 1 never created /run/systemd/private"
        # "degraded" is fine: some host units make no sense in a container.
        state=$(e2e_exec_timeout "$E2E_BOOT_TIMEOUT" systemctl is-system-running --wait) || true
        case "$state" in
        running | degraded) ;;
        *)
                e2e_exec systemctl --failed --no-legend >&2 || true
                e2e__boot_failed "system state '$state' after boot"
                ;;
        esac
        E2E_BOOT_SECONDS=$(e2e__seconds_since "$start")
        e2e_log "container up ($state) in ${E2E_BOOT_SECONDS}s"

        # The distribution's portabled must not take org.freedesktop.portable1: the bus name
        # is for the daemon under test. Masking also blocks D-Bus activation through the
        # dbus-org.freedesktop.portable1.service alias.
        e2e_exec systemctl mask --runtime --now --quiet systemd-portabled.service >/dev/null ||
                e2e_die "cannot mask systemd-portabled inside the container"
}

# e2e__seconds_since NANOSECONDS: elapsed time as "S.mm".
e2e__seconds_since() {
        local ms=$((($(date +%s%N) - $1) / 1000000))
        printf '%d.%02d' $((ms / 1000)) $((ms % 1000 / 10))
}

# e2e_exec_timeout SECONDS CMD...: run CMD inside the container in all its namespaces,
# stdout/stderr passed through, exit status returned.
e2e_exec_timeout() {
        local limit=$1
        shift
        [[ -n "$E2E_INIT_PID" ]] || e2e_die "container not running"
        timeout --kill-after=10 "$limit" \
                nsenter --target "$E2E_INIT_PID" --all -- env -i "${E2E_INNER_ENV[@]}" "$@"
}

# e2e_exec CMD...: as above with the default time limit.
e2e_exec() {
        e2e_exec_timeout "$E2E_EXEC_TIMEOUT" "$@"
}

# e2e_sh SCRIPT: run a shell snippet inside (bash from the host's /usr).
e2e_sh() {
        e2e_exec bash -c "$1"
}

# e2e_wait_for SECONDS DESCRIPTION CMD...: retry CMD (on the host; wrap with e2e_exec for
# the inside) until it succeeds.
e2e_wait_for() {
        local limit=$1 what=$2 deadline
        shift 2
        deadline=$((SECONDS + limit))
        until "$@" >/dev/null 2>&1; do
                ((SECONDS < deadline)) || { e2e_log "timed out after ${limit}s waiting for $what"; return 1; }
                sleep 0.2
        done
}

# Wait until org.freedesktop.portable1 is owned on the container's system bus.
e2e__wait_bus_name() {
        e2e_wait_for "${1:-30}" "org.freedesktop.portable1 on the bus" \
                e2e_exec busctl --system status org.freedesktop.portable1
}

# e2e_start_our_daemon [ARG...]: run the portabled under test inside, as a transient unit
# that owns the bus name. Skips if it has not been built. E2E_DAEMON_ENV ("VAR=value ...")
# is put in the unit's environment, e.g. E2E_DAEMON_ENV=SYSTEMD_LOG_LEVEL=debug.
e2e_start_our_daemon() {
        local bin=${PORTABLED:-${BUILD_ROOT:-}/portabled/portabled}
        local props=(-p Type=dbus -p BusName=org.freedesktop.portable1)
        [[ -x "$bin" ]] || e2e_skip "portabled binary not built ($bin)"
        [[ -n "${E2E_DAEMON_ENV:-}" ]] && props+=(-p "Environment=$E2E_DAEMON_ENV")
        e2e_log "starting $bin as portabled-test.service"
        e2e_exec systemd-run --quiet --unit=portabled-test "${props[@]}" "$bin" "$@" ||
                e2e_die "cannot start our portabled"
        e2e__wait_bus_name 30 || e2e_die "our portabled did not take org.freedesktop.portable1"
}

# e2e_start_reference_daemon: Debian's systemd-portabled instead (harness self-test only).
e2e_start_reference_daemon() {
        e2e_log "unmasking and starting systemd-portabled (reference implementation)"
        e2e_exec systemctl unmask --runtime --quiet systemd-portabled.service
        e2e_exec systemctl start systemd-portabled.service || e2e_die "cannot start systemd-portabled"
        e2e__wait_bus_name 30 || e2e_die "systemd-portabled did not take org.freedesktop.portable1"
}

# Host loop devices whose backing file lies in our temp dir, one "/dev/loopN" per line.
e2e_our_loop_devices() {
        [[ -n "$E2E_TMP" ]] || return 0
        losetup --list --noheadings --raw --output NAME,BACK-FILE 2>/dev/null |
                awk -v dir="$E2E_TMP/" 'index($2, dir) == 1 { print $1 }'
}

# Host mount points under our temp dir, deepest first.
e2e_our_mounts() {
        [[ -n "$E2E_TMP" ]] || return 0
        findmnt --raw --noheadings --output TARGET 2>/dev/null |
                awk -v dir="$E2E_TMP" 'index($1, dir) == 1' | sort -r
}

# Last words from the container when a test fails: what failed and the end of the journal.
e2e_dump_debug() {
        [[ -n "$E2E_INIT_PID" ]] && kill -0 "$E2E_INIT_PID" 2>/dev/null || return 0
        e2e_log "---- failed units inside the container ----"
        e2e_exec_timeout 20 systemctl --failed --no-legend >&2 || true
        e2e_log "---- last 80 journal lines inside the container ----"
        e2e_exec_timeout 20 journalctl --no-pager -n 80 -o short-monotonic >&2 || true
}

# Stop the container: a polite halt first (nspawn turns SIGTERM into a halt request to
# PID 1), then a second SIGTERM (immediate termination), then SIGKILL for both nspawn and
# the container's init (which takes the whole pid namespace with it).
e2e__stop_container() {
        local pid=$E2E_NSPAWN_PID i
        [[ -n "$pid" ]] || return 0
        if kill -0 "$pid" 2>/dev/null; then
                e2e_log "stopping container (nspawn pid $pid)"
                kill -TERM "$pid" 2>/dev/null
                for ((i = 0; i < 200; i++)); do
                        kill -0 "$pid" 2>/dev/null || break
                        sleep 0.1
                done
                if kill -0 "$pid" 2>/dev/null; then
                        e2e_log "container did not halt in 20s, terminating"
                        kill -TERM "$pid" 2>/dev/null
                        sleep 3
                fi
                if kill -0 "$pid" 2>/dev/null; then
                        kill -KILL "$pid" ${E2E_INIT_PID:+"$E2E_INIT_PID"} 2>/dev/null
                fi
        fi
        wait "$pid" 2>/dev/null
        # The init of a SIGKILLed nspawn could survive it for a moment.
        if [[ -n "$E2E_INIT_PID" ]] && kill -0 "$E2E_INIT_PID" 2>/dev/null; then
                kill -KILL "$E2E_INIT_PID" 2>/dev/null
                for ((i = 0; i < 50; i++)); do kill -0 "$E2E_INIT_PID" 2>/dev/null || break; sleep 0.1; done
        fi
        E2E_NSPAWN_PID=""
        E2E_INIT_PID=""
}

# e2e_cleanup: idempotent; leaves nothing behind whether the test passed or not.
e2e_cleanup() {
        local dev mnt i
        ((E2E_CLEANED)) && return 0
        # Best effort from here on: one failing step must not stop the others ("local -"
        # keeps set +e to this function), and a second Ctrl-C must not leave half of it
        # undone. Every step is idempotent, so a re-run after an interruption is fine.
        local -
        set +e
        trap '' INT TERM HUP

        e2e__stop_container

        for mnt in $(e2e_our_mounts); do
                e2e_log "unmounting leftover $mnt"
                umount --lazy "$mnt" 2>/dev/null
        done

        # Loop devices still attached to our images: autoclear ones go away when the last
        # mount in the dead namespaces is released, which can lag a little.
        for ((i = 0; i < 30; i++)); do
                [[ -z "$(e2e_our_loop_devices)" ]] && break
                sleep 0.1
        done
        for dev in $(e2e_our_loop_devices); do
                e2e_log "detaching leftover loop device $dev"
                losetup --detach "$dev" 2>/dev/null
        done

        # nspawn cannot remove this when the host's /run is not a tmpfs.
        if [[ -n "$E2E_MACHINE" && -d "/run/systemd/nspawn/propagate/$E2E_MACHINE" ]]; then
                rmdir "/run/systemd/nspawn/propagate/$E2E_MACHINE"
        fi

        if [[ -n "$E2E_TMP" && -d "$E2E_TMP" ]]; then
                if [[ "${E2E_KEEP:-0}" == 1 ]]; then
                        e2e_log "keeping $E2E_TMP (E2E_KEEP=1)"
                else
                        rm -rf --one-file-system "$E2E_TMP"
                fi
        fi
        E2E_CLEANED=1
        trap 'exit 130' INT
        trap 'exit 143' TERM
        trap 'exit 129' HUP
        return 0
}
