#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Corrupt, truncated and bit-flipped file systems read through the daemon: squashfs, erofs and
# ext4 images and GPT disks with an ext4 root partition, HOSTILE_FS_VARIANTS of each (CI: 250;
# more locally, e.g. HOSTILE_FS_VARIANTS=2000), made by fs-variants.py from HOSTILE_FS_SEED
# (default 1) so that a failure is made again from its seed, type and number. Every variant
# must read fine or be refused with an error naming the image, be answered within the daemon's
# read timeout, and leave no loop device, mount or reader behind; the daemon stays on the bus.
# The kernel logs file system errors meanwhile; that is expected. HOSTILE_FS_TYPES picks types.
. "$(dirname "$0")/lib.sh"
setup

for tool in mksquashfs mkfs.erofs mke2fs systemd-repart losetup; do
        command -v "$tool" >/dev/null || PATH=$PATH:/usr/sbin:/sbin
        command -v "$tool" >/dev/null || skip_all "$tool not installed"
done

N=${HOSTILE_FS_VARIANTS:-250}
SEED=${HOSTILE_FS_SEED:-1}
TYPES=${HOSTILE_FS_TYPES:-squashfs erofs ext4 gpt}
# The daemon kills a reader after 120 s (PORTABLE_READ_TIMEOUT_USEC); the client waits longer, so
# that a hang shows as the daemon's timeout error, and only a daemon that does not answer at all
# as "timeout".
export READ_CALL_TIMEOUT=${HOSTILE_FS_CALL_TIMEOUT:-150}
export BUS_ADDRESS DAEMON_PID
VARIANTS=$(dirname "$0")/fs-variants.py

loops_of_t() { losetup -n -l -O NAME,BACK-FILE 2>/dev/null | grep -F "$T/" | sort; }
mounts_of_t() { grep -hF "$T/" /proc/self/mountinfo "/proc/$DAEMON_PID/mountinfo" 2>/dev/null | sort; }

loops_before=$(losetup -n -l 2>/dev/null | wc -l)
mounts_before=$(wc -l </proc/self/mountinfo)
snapshot >"$T/pristine"

for type in $TYPES; do
        build_raw "$type" "$TEST_DATA/images/foo" "$T/$type-pristine.raw" || { fail "$type: building the image"; continue; }
        assert_ok "$type: the intact image reads fine" mcall GetImageMetadata sas "$T/$type-pristine.raw" 1 foo

        variant=$IMAGES/$type-variant.raw
        results=$T/$type.results
        start=$(date +%s)
        python3 "$VARIANTS" read "$T/$type-pristine.raw" "$SEED" "$type" "$N" "$variant" "$results"
        seconds=$(($(date +%s) - start))

        assert_eq "$type: all $N variants were read" "$N" "$(grep -vc ' daemon-gone ' "$results")"
        diag "$type: $N variants in $seconds s: $(awk '{ print $3 }' "$results" | sort | uniq -c | xargs)," \
                "slowest $(sort -k4 -n "$results" | tail -n 1 | awk '{ print $4 " ms (" $1 " " $2 ")" }')," \
                "$(awk '$3 == "error" { print $5 }' "$results" | sort | uniq -c | sort -rn | head -n 4 | xargs)"
        assert_eq "$type: the daemon survived every variant" "" "$(grep ' daemon-gone ' "$results")"
        assert_eq "$type: every variant was answered within the read timeout" "" \
                "$(awk '$3 == "timeout"' "$results" | head -n 5)"
        # Refusals name the image: the daemon's own message always does, whatever the kernel
        # or the reader said.
        assert_eq "$type: every refusal names the image" "" \
                "$(awk -v img="$variant" '$3 == "error" && index($0, img) == 0' "$results" | head -n 5)"
        assert_eq "$type: no refusal is a bare errno without a message" "" \
                "$(awk '$3 == "error" && $6 == "-"' "$results" | head -n 5)"
        assert_no_leaks "$type: no loop device or mount left" "$variant"
        assert_eq "$type: no reader process left" "" "$(reader_processes "$DAEMON_PID")"
        failed=$(awk '$3 == "timeout" || $3 == "daemon-gone" || ($3 == "error" && index($0, img) == 0) { print $1 }' \
                img="$variant" "$results" | head -n 5 | xargs)
        [ -n "$failed" ] && diag "$type: variants $failed failed; KEEP_TMP=1 keeps the image they were made from:" \
                "  python3 $VARIANTS describe $T/$type-pristine.raw $SEED $type $N   (what each variant is)"
        name_owned "$PORTABLE_DEST" || { fail "$type: the daemon is no longer on the bus"; break; }
done

assert_eq "no loop device of the test is left" "" "$(loops_of_t)"
assert_eq "no mount of the test is left" "" "$(mounts_of_t)"
# Others may use loop devices and mounts on this machine meanwhile: for information only.
diag "loop devices on the machine: $loops_before before, $(losetup -n -l 2>/dev/null | wc -l) after;" \
        "mounts in our namespace: $mounts_before before, $(wc -l </proc/self/mountinfo) after"
assert_ok "the daemon still answers" mcall ListImages
assert_root_unchanged "the host root is as it was" "$T/pristine"

finish
