#!/usr/bin/env bash
# RemoveImage (portabled/image-operations.c): refused while the image is attached in any way,
# persistent or runtime, whether the attachment names it by the same path, through a link, or
# the caller names it by a link; allowed once it is detached, and then the image goes with its
# verity side-car files (and nothing else). Attachments of another image of the same name do
# not count: RemoveImage names one file, and attachments are matched by path (attached-index.h).
. "$(dirname "$0")/lib.sh"
setup

command -v mksquashfs >/dev/null || skip_all "mksquashfs not installed"
command -v strace >/dev/null || skip_all "strace not installed"

POOL=$ROOT/var/lib/portables

# present NAME PATH: the file or directory PATH still exists.
assert_present() {
        if [ -e "$2" ] || [ -L "$2" ]; then pass "$1"; else fail "$1" "$2 is gone"; fi
}
assert_absent() {
        if [ -e "$2" ] || [ -L "$2" ]; then fail "$1" "$2 is still there"; else pass "$1"; fi
}

refused() {
        assert_fails_with "$1" "Image '$3' is not detached, refusing." -- mcall RemoveImage s "$2"
}

# removal_waits NAME IMAGE PATH: RemoveImage IMAGE in the background (REMOVE; its output in
# $T/remove.out and .err), held up by another call of the daemon that reads the image (at PATH):
# half a second later it still waits, and a new read of the image is refused meanwhile.
removal_waits() {
        SYSTEMD_LOG_LEVEL=debug mcall RemoveImage s "$2" >"$T/remove.out" 2>"$T/remove.err" &
        REMOVE=$!
        sleep 0.5
        assert_ok "$1" kill -0 "$REMOVE"
        assert_fails_with "... meanwhile the image is not read again" \
                "Image '$3' is not read now: a call to remove image waits for it" -- mcall GetImageMetadata sas "$2" 1 foo
}

# ------------------------------------------------------------------- a directory in the pool

stage foo "$POOL/foo"
attach foo "" false >/dev/null
refused "attached (persistent): RemoveImage by name is refused" foo "$POOL/foo"
refused "attached (persistent): RemoveImage by path is refused" "$POOL/foo" "$POOL/foo"
assert_present "the refused image is still there" "$POOL/foo/usr/lib/os-release"
detach foo false >/dev/null

attach foo "" true >/dev/null
refused "attached (runtime): RemoveImage is refused" foo "$POOL/foo"
assert_fails_with "portablectl remove of an attached image fails and says why" \
        "Image '$POOL/foo' is not detached, refusing." -- run_ours remove foo
assert_present "the refused image is still there" "$POOL/foo/usr/lib/os-release"
detach foo true >/dev/null

assert_ok "detached: RemoveImage succeeds" mcall RemoveImage s foo
assert_absent "detached: the directory is gone" "$POOL/foo"
assert_fails_with "the removed image is gone from the bus too" "org.freedesktop.portable1.NoSuchImage" -- \
        mcall GetImage s foo

# -------------------------------------------------------- a raw image and its side-car files

build_raw squashfs "$TEST_DATA/images/foo" "$POOL/foo_1.raw"
attach "$POOL/foo_1.raw" "" false foo >/dev/null
assert_eq "raw: attached" 's "attached"' "$(mcall GetImageState s "$POOL/foo_1.raw")"
# The side-car files appear after the attach: what matters is only that they go with the image
# (the reader would try to use them otherwise).
sidecars="foo_1.roothash foo_1.roothash.p7s foo_1.usrhash foo_1.usrhash.p7s foo_1.verity foo_1.nspawn"
others="foo_2.roothash foo_1.raw.roothash foo_1.txt foo.verity"
for f in $sidecars $others; do
        echo "$f" >"$POOL/$f"
done
refused "raw, attached: RemoveImage is refused" foo_1 "$POOL/foo_1.raw"
for f in $sidecars; do
        assert_present "raw, attached: side-car $f stays" "$POOL/$f"
done
detach "$POOL/foo_1.raw" false >/dev/null

assert_ok "raw, detached: portablectl remove succeeds" run_ours remove foo_1
assert_absent "raw, detached: the image is gone" "$POOL/foo_1.raw"
for f in $sidecars; do
        assert_absent "raw, detached: side-car $f is removed with the image" "$POOL/$f"
done
for f in $others; do
        assert_present "raw, detached: $f is not a side-car of foo_1.raw and stays" "$POOL/$f"
        rm -f "$POOL/$f"
done
assert_no_leaks "nothing left mapped or mounted" "$POOL/foo_1.raw"

# ----------------------------------------------------- which attachment names which image

# Two images named foo: the attached one outside the pool, by path (attach links it in as
# /etc/portables/foo, which shadows the pool); the one in the pool is not attached and may go.
stage foo "$IMAGES/foo"
stage foo "$POOL/foo"
attach "$IMAGES/foo" "" false >/dev/null
assert_ok "another image of the same name is attached: RemoveImage of this one succeeds" \
        mcall RemoveImage s "$POOL/foo"
assert_absent "the image in the pool is gone" "$POOL/foo"
refused "the attached one, by name, is refused" foo "$ROOT/etc/portables/foo"
refused "the attached one, by path, is refused" "$IMAGES/foo" "$IMAGES/foo"
assert_present "the attached image is still there" "$IMAGES/foo/usr/lib/os-release"
detach "$IMAGES/foo" false >/dev/null
rm -rf "$IMAGES/foo"

# Attached through a link in /etc/portables, removed by the link's target, or the other way
# round: the same file, so refused.
stage foo "$IMAGES/bar"
ln -s "$IMAGES/bar" "$ROOT/etc/portables/bar"
attach bar "" false foo >/dev/null
assert_contains "the attachment records the link" "$(cat "$ROOT/etc/systemd/system.attached/foo.service.d/20-portable.conf")" \
        "$ROOT/etc/portables/bar"
refused "attached through a link: RemoveImage by the link's target is refused" "$IMAGES/bar" "$IMAGES/bar"
refused "attached through a link: RemoveImage by name is refused" bar "$ROOT/etc/portables/bar"
assert_present "the link's target is still there" "$IMAGES/bar/usr/lib/os-release"
detach bar false >/dev/null

# Attached by path, which links it in as /etc/portables/baz; removed by that link's name.
stage foo "$IMAGES/baz"
attach "$IMAGES/baz" "" false foo >/dev/null
assert_eq "attach linked the image in" "$IMAGES/baz" "$(readlink "$ROOT/etc/portables/baz")"
refused "attached by path: RemoveImage through a link to it is refused" baz "$ROOT/etc/portables/baz"
assert_present "the image is still there" "$IMAGES/baz/usr/lib/os-release"
detach "$IMAGES/baz" false >/dev/null
ln -s "$IMAGES/baz" "$ROOT/etc/portables/baz"
assert_ok "detached: removing through the link succeeds" mcall RemoveImage s baz
assert_absent "a link is removed as a link" "$ROOT/etc/portables/baz"
assert_present "... and what it points to stays" "$IMAGES/baz/usr/lib/os-release"

# Something mounted inside a directory image (a host directory, bind-mounted): refused before
# anything is removed, and removed once it is unmounted.
stage foo "$POOL/mnt"
mkdir -p "$T/host-data" "$POOL/mnt/host"
echo precious >"$T/host-data/precious"
mount --bind "$T/host-data" "$POOL/mnt/host"
assert_fails_with "a directory image with a mount inside is not removed" \
        "Image '$POOL/mnt' has a file system mounted at '" "/mnt/host', refusing to remove it: unmount it first." \
        -- mcall RemoveImage s mnt
assert_present "... nothing of it is removed" "$POOL/mnt/usr/lib/os-release"
assert_present "... and what is mounted there stays" "$T/host-data/precious"
umount "$POOL/mnt/host"
assert_ok "unmounted: the image is removed" mcall RemoveImage s mnt
assert_absent "... all of it" "$POOL/mnt"
assert_present "... and the host directory that was mounted there stays" "$T/host-data/precious"

# An attach of the image still in flight (read, and waiting for PID 1's answer, which a stopped
# stand-in holds back) keeps its shared lock until it ends. RemoveImage waits for it (no new read
# of the image starts meanwhile), and is then refused: by then the image is attached.
: >"$T/units"
start_fake_systemd "$T/units" "$T/log/pid1-calls.log"
stage foo "$POOL/busy"
kill -STOP "$FAKE_SYSTEMD_PID"
mcall AttachImage sassbs "$POOL/busy" 1 foo default false "" >"$T/attach.out" 2>"$T/attach.err" &
ATTACH=$!
sleep 1 # the image is read in milliseconds; the answer from PID 1 is what it waits for
assert_ok "the attach is still waiting" kill -0 "$ATTACH"
removal_waits "RemoveImage while an attach of the image is in flight waits for it" busy "$POOL/busy"
kill -CONT "$FAKE_SYSTEMD_PID"
wait "$ATTACH"
assert_eq "the attach then succeeds" 0 "$?"
wait "$REMOVE"
assert_eq "... and RemoveImage fails" 1 "$?"
assert_contains "... since the image is attached now" "$(_bus_error_of "$T/remove.err")" \
        "Image '$POOL/busy' is not detached, refusing."
assert_eq "... and the image is attached" 's "attached"' "$(mcall GetImageState s "$POOL/busy")"
detach "$POOL/busy" false >/dev/null

# Held up longer than RemoveImage waits (PORTABLE_EXCLUSIVE_WAIT_USEC, 10 s): refused as busy.
kill -STOP "$FAKE_SYSTEMD_PID"
mcall AttachImage sassbs "$POOL/busy" 1 foo default false "" >"$T/attach.out" 2>"$T/attach.err" &
ATTACH=$!
sleep 1
started=$(date +%s%N)
assert_fails_with "RemoveImage while an attach is held up for longer than 10 s is refused" \
        "Image '$POOL/busy' is still in use by other calls after 10 s, refusing to remove it" -- mcall RemoveImage s busy
waited_ms=$((($(date +%s%N) - started) / 1000000))
if [ "$waited_ms" -ge 9500 ]; then pass "... after waiting ${waited_ms} ms"; else fail "... after waiting ${waited_ms} ms" "expected 10 s"; fi
assert_present "... the image is still there" "$POOL/busy/usr/lib/os-release"
kill -CONT "$FAKE_SYSTEMD_PID"
wait "$ATTACH"
assert_eq "the attach then succeeds" 0 "$?"
detach "$POOL/busy" false >/dev/null
assert_ok "once it is detached, RemoveImage succeeds" mcall RemoveImage s busy
assert_absent "... and the image is gone" "$POOL/busy"

# Reads of the image in flight (an inspect, its reader held up for 3 s at its pivot_root()):
# RemoveImage waits for them instead of being refused, so that reading an image again and again
# cannot keep it from being removed; the read in flight completes, and the image goes after it.
build_raw squashfs "$TEST_DATA/images/foo" "$POOL/read_1.raw" || exit 1
stop_daemon
DAEMON_WRAPPER="strace -f -o /dev/null -e trace=pivot_root -e inject=pivot_root:delay_enter=3000000" start_daemon || exit 1
# MarkImageReadOnly waits the same way.
mcall GetImageMetadata sas read_1 1 foo >"$T/inspect.out" 2>"$T/inspect.err" &
INSPECT=$!
sleep 0.5
started=$(date +%s%N)
assert_ok "MarkImageReadOnly while the image is inspected waits for it, and succeeds" mcall MarkImageReadOnly sb read_1 true
waited_ms=$((($(date +%s%N) - started) / 1000000))
if [ "$waited_ms" -ge 1500 ]; then pass "... after the read (${waited_ms} ms)"; else
        fail "... after the read" "it took only ${waited_ms} ms"; fi
assert_eq "... and the image is read-only" 444 "$(stat -c %a "$POOL/read_1.raw")"
wait "$INSPECT"
assert_eq "the inspect in flight succeeds" 0 "$?"
assert_ok "MarkImageReadOnly false, with nothing in flight" mcall MarkImageReadOnly sb read_1 false
assert_eq "... makes it writable" 644 "$(stat -c %a "$POOL/read_1.raw")"

mcall GetImageMetadata sas read_1 1 foo >"$T/inspect.out" 2>"$T/inspect.err" &
INSPECT=$!
sleep 0.5
started=$(date +%s%N)
removal_waits "RemoveImage while the image is inspected waits" read_1 "$POOL/read_1.raw"
wait "$INSPECT"
assert_eq "the inspect in flight succeeds" 0 "$?"
assert_contains "... with the image's units" "$(cat "$T/inspect.out")" "foo.service"
wait "$REMOVE"
assert_eq "... and then RemoveImage succeeds" 0 "$?"
waited_ms=$((($(date +%s%N) - started) / 1000000))
# The read has 2.5 s to go when the removal starts; the removal's own wait would end after 10 s.
if [ "$waited_ms" -lt 8000 ]; then pass "... as soon as the read is done (${waited_ms} ms)"; else
        fail "... as soon as the read is done" "it took ${waited_ms} ms"; fi
assert_absent "... and the image is gone" "$POOL/read_1.raw"
stop_traced_daemon TERM
start_daemon || exit 1

# The daemon stopped while its worker removes an image (the worker's first unlinkat() held up for
# 10 s by strace): the caller is told the removal was cut short, not that nothing was changed.
stage foo "$POOL/slow"
stop_daemon
DAEMON_WRAPPER="strace -f -o /dev/null -e inject=unlinkat:delay_enter=10000000:when=1" start_daemon || exit 1
SYSTEMD_LOG_LEVEL=debug mcall RemoveImage s slow >"$T/remove.out" 2>"$T/remove.err" &
REMOVE=$!
assert_ok "the worker removes the image" wait_for_daemon_child portabled-rm
worker=$OUT
# Until it is held at its first unlinkat() (263 on x86-64; elsewhere, give it a second).
if [ "$(uname -m)" = x86_64 ]; then
        for _ in $(seq 1 100); do
                [[ "$(cat "/proc/$worker/syscall" 2>/dev/null)" == "263 "* ]] && break
                sleep 0.05
        done
        assert_contains "... and is held at its first unlinkat()" "$(cat "/proc/$worker/syscall" 2>/dev/null)" "263 "
else
        sleep 1
fi
stop_traced_daemon TERM
wait "$REMOVE"
assert_eq "stopped while removing: the removal fails" 1 "$?"
assert_contains "... saying it was cut short" "$(cat "$T/remove.err")" \
        "Removing image '$POOL/slow' was cut short (the worker was stopped): it may be partly removed."
start_daemon || exit 1
assert_ok "... and a second RemoveImage finishes the job" mcall RemoveImage s slow
assert_absent "... all of it" "$POOL/slow"

finish
