#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Times verity verification of a 100 MiB image: once in full, then again from the daemon's cache,
# in the library and through portabled ("inspect", first and second time).
# Builds a naked squashfs with .verity/.roothash sidecars (mksquashfs, veritysetup) and, as root,
# the same data as a GPT root + root-verity image (systemd-repart; the partition is verified
# through a loop device). For comparison, "veritysetup verify" on the naked image.
# Usage: bench/verity.sh [BUILD_DIR] [SIZE_MIB]
set -euo pipefail

build=${1:-build}
size=${2:-100}
bench=$build/bench/verity-bench
export PATH=$PATH:/usr/sbin:/sbin
[ -x "$bench" ] || { echo "build first: meson compile -C $build" >&2; exit 1; }

work=$(mktemp -d /tmp/verity-bench.XXXXXX)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/tree/usr/lib"
echo ID=bench >"$work/tree/usr/lib/os-release"
head -c "${size}M" /dev/urandom >"$work/tree/usr/lib/payload"

echo "== naked squashfs, ${size} MiB, sidecars"
mksquashfs "$work/tree" "$work/naked.raw" -quiet -noappend -all-root -no-progress >/dev/null
veritysetup format "$work/naked.raw" "$work/naked.verity" | awk '/Root hash/ {print $3}' | tr -d '\n' >"$work/naked.roothash"
drop_caches() {
        sync
        echo 3 >/proc/sys/vm/drop_caches 2>/dev/null || echo "(cannot drop the page cache: first rounds read from memory)"
}
drop_caches
"$bench" "$work/naked.raw" 2
drop_caches
start=$(date +%s%N)
veritysetup verify "$work/naked.raw" "$work/naked.verity" "$(cat "$work/naked.roothash")"
echo "veritysetup verify (cold cache, for comparison): $(( ($(date +%s%N) - start) / 1000000 )) ms"

if [ "$(id -u)" -eq 0 ] && command -v systemd-repart >/dev/null; then
        echo "== GPT root + root-verity, ${size} MiB (loop device)"
        mkdir -p "$work/repart.d"
        # systemd 252's repart cannot size a squashfs partition by its contents (no Minimize=).
        printf '[Partition]\nType=root\nFormat=squashfs\nCopyFiles=%s:/\nVerity=data\nVerityMatchKey=root\nSizeMinBytes=%sM\n' \
                "$work/tree" $((size + size / 16 + 4)) >"$work/repart.d/10-root.conf"
        printf '[Partition]\nType=root-verity\nVerity=hash\nVerityMatchKey=root\n' >"$work/repart.d/20-verity.conf"
        systemd-repart --empty=create --size=auto --dry-run=no --json=short --definitions="$work/repart.d" \
                "$work/gpt.raw" 2>/dev/null |
                python3 -c 'import json,sys; print(next(p["roothash"] for p in json.load(sys.stdin) if p.get("roothash")), end="")' \
                >"$work/gpt.roothash"
        drop_caches
        "$bench" "$work/gpt.raw" 2
fi

# Through the daemon, as users see it: "inspect" (GetImageMetadata) of the naked verity image on a
# private bus, the first time (verified in full by the reader child) and the second time (the
# daemon's cache vouches for the unchanged image). Uses the integration harness (private bus,
# --root under a temporary directory); needs root for the loop devices.
if [ "$(id -u)" -eq 0 ] && command -v dbus-daemon >/dev/null && command -v busctl >/dev/null; then
        echo "== inspect through portabled, ${size} MiB naked squashfs with verity sidecars"
        (
                set +e # the harness checks what it runs itself
                export BUILD_ROOT=$(cd "$build" && pwd)
                . "$(dirname "$0")/../tests/integration/lib.sh"
                setup >/dev/null
                mkdir -p "$work/tree/usr/lib/systemd/system"
                printf '[Service]\nExecStart=/bin/true\n' >"$work/tree/usr/lib/systemd/system/bench.service"
                img=$IMAGES/bench.raw
                mksquashfs "$work/tree" "$img" -quiet -noappend -all-root -no-progress >/dev/null
                veritysetup format "$img" "$IMAGES/bench.verity" | awk '/Root hash/ {print $3}' | tr -d '\n' \
                        >"$IMAGES/bench.roothash"
                inspect() {
                        local start=$(date +%s%N)
                        mcall GetImageMetadataWithOptions 'sasasta{sv}' "$img" 0 1 bench 0 0 >"$T/reply" ||
                                { echo "inspect failed" >&2; exit 1; }
                        echo "$1: $(( ($(date +%s%N) - start) / 1000000 )) ms"
                        # verified, and from the cache or not as expected
                        grep -q "\"root\" \"squashfs\" \"verity\" \"unsigned\" \"[0-9a-f]*\" true $2" "$T/reply" ||
                                { echo "unexpected report: $(cat "$T/reply")" >&2; exit 1; }
                }
                drop_caches
                inspect "inspect, first time (verified in full, cold page cache)" false
                inspect "inspect, second time (unchanged: the daemon's cache)" true
                touch "$img"
                inspect "inspect after touch (changed: verified again, warm page cache)" false
                _cleanup
        )
fi
