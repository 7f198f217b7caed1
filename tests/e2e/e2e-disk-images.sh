#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# shellcheck disable=SC2317 # the check functions are called through t_check
#
# Disk images of every layout through our portablectl and portabled on systemd 252 as PID 1 in a
# container: root, /usr only, root + /usr, root + verity (.roothash sidecar), root + verity +
# signature (signed with a key the container trusts in /etc/verity.d), two architectures,
# no-auto, and naked squashfs images with and without verity sidecars, all built here from the
# sample image's tree. For each: inspect (the layout, verity and signature as portabled checked
# them), attach (the drop-in pins the layout: RootImagePolicy=), is-attached, a start of
# sample.service by PID 1, detach, nothing left.
#
# What PID 1 can start here: a naked file system without verity data. Everything else needs what
# this container does not have: GPT images need partition device nodes (udev) for the loop device
# PID 1 sets up, verity needs device-mapper. The test requires the naked image to start and
# records, for every other layout, that and why PID 1 could not start it (see portabled(8),
# DISK IMAGES). systemd 252 does not know RootImagePolicy=: it logs "Unknown key" for it
# and ignores it, which the test checks too. Tampered images and image policies are refused by
# portabled before anything is attached.
set -euo pipefail

SOURCE_ROOT=${SOURCE_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
# shellcheck source=tests/e2e/common.sh
. "$SOURCE_ROOT/tests/e2e/common.sh"

export PATH=$PATH:/usr/sbin:/sbin
for tool in systemd-repart mksquashfs veritysetup openssl; do
        command -v "$tool" >/dev/null || e2e_skip "$tool not installed"
done
[[ "$(uname -m)" == x86_64 ]] || e2e_skip "the layouts name x86-64 and x86 partition types"

# ---- building the layouts (on the host) -------------------------------------------------------

# Where the disk images go (set once the temp dir exists).
D=""

repart() {
        local img=$1 key=$2 defs=$E2E_TMP/repart.d i=0 d
        shift 2
        rm -rf "$defs" "$img"
        mkdir -p "$defs"
        for d in "$@"; do
                printf '%b' "$d" >"$defs/$(printf %02d $i).conf"
                i=$((i + 1))
        done
        local -a keys=()
        [[ "$key" != - ]] && keys=(--private-key="$E2E_TMP/keys/$key.key" --certificate="$E2E_TMP/keys/$key.crt")
        systemd-repart --empty=create --size=auto --dry-run=no --no-pager --json=short --definitions="$defs" \
                "${keys[@]}" "$img" 2>"$E2E_TMP/repart.log" || e2e_die "repart failed: $(cat "$E2E_TMP/repart.log")"
}

data_part() { # TYPE DIR [VERITY_KEY] [EXTRA]
        local v=""
        [[ -n "${3:-}" ]] && v="Verity=data\nVerityMatchKey=$3\n"
        echo "[Partition]\nType=$1\nFormat=squashfs\nCopyFiles=$2:/\nSizeMinBytes=4M\nSizeMaxBytes=4M\n$v${4:-}"
}
hash_part() { echo "[Partition]\nType=$1-verity\nVerity=hash\nVerityMatchKey=$2\nSizeMinBytes=1M\nSizeMaxBytes=1M\n"; }
sig_part() { echo "[Partition]\nType=$1-verity-sig\nVerity=signature\nVerityMatchKey=$2\n"; }

make_key() {
        mkdir -p "$E2E_TMP/keys"
        openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout "$E2E_TMP/keys/$1.key" \
                -out "$E2E_TMP/keys/$1.crt" -days 2 -subj "/CN=$1" >/dev/null 2>&1
}

# naked_verity IMAGE: sample_1's squashfs with .verity, .roothash and a signed .roothash.p7s.
naked_verity() {
        local base=${1%.raw} hex
        cp "$E2E_IMAGES/sample_1.raw" "$1"
        hex=$(veritysetup format "$1" "$base.verity" | sed -n 's/^Root hash:[[:space:]]*//p')
        printf '%s' "$hex" >"$base.roothash"
        printf '%s' "$hex" >"$E2E_TMP/to-sign"
        openssl smime -sign -binary -noattr -in "$E2E_TMP/to-sign" -signer "$E2E_TMP/keys/vendor.crt" \
                -inkey "$E2E_TMP/keys/vendor.key" -outform DER -out "$base.roothash.p7s"
}

build_layouts() {
        local tree=$E2E_IMAGES/sample_1 root_tree=$E2E_TMP/root-tree wrong=$E2E_TMP/wrong-tree
        mkdir -p "$D"
        make_key vendor
        make_key stranger
        # The root file system of a root + /usr disk: everything but what is in /usr.
        cp -a "$tree" "$root_tree"
        rm -rf "${root_tree:?}"/usr/*
        # What must not be picked: another os-release.
        cp -a "$tree" "$wrong"
        sed -i 's/^PORTABLE_PRETTY_NAME=.*/PORTABLE_PRETTY_NAME="the wrong partition"/' "$wrong/usr/lib/os-release"

        repart "$D/sample_root.raw" - "$(data_part root "$tree")" >/dev/null
        repart "$D/sample_usr.raw" - "$(data_part usr "$tree/usr")" >/dev/null
        repart "$D/sample_rootusr.raw" - "$(data_part root "$root_tree")" "$(data_part usr "$tree/usr")" >/dev/null
        repart "$D/sample_verity.raw" - "$(data_part root "$tree" r)" "$(hash_part root r)" |
                python3 -c 'import json,sys; print([p["roothash"] for p in json.load(sys.stdin) if p.get("roothash")][0], end="")' \
                >"$D/sample_verity.roothash"
        repart "$D/sample_signed.raw" vendor "$(data_part root "$tree" r)" "$(hash_part root r)" "$(sig_part root r)" >/dev/null
        repart "$D/sample_stranger.raw" stranger "$(data_part root "$tree" r)" "$(hash_part root r)" "$(sig_part root r)" >/dev/null
        repart "$D/sample_twoarch.raw" - "$(data_part root-x86 "$wrong")" "$(data_part root "$tree")" >/dev/null
        repart "$D/sample_noauto.raw" - "$(data_part root "$wrong" "" "NoAuto=yes\nLabel=root-9\n")" \
                "$(data_part root "$tree" "" "Label=root-1\n")" >/dev/null
        naked_verity "$D/sample_naked.raw"
        cp "$E2E_IMAGES/sample_1.raw" "$D/sample_plain.raw"

        # A byte flipped in the middle of a verity-protected squashfs.
        naked_verity "$D/sample_tampered.raw"
        python3 -c 'import os,sys
with open(sys.argv[1], "r+b") as f:
    n = os.fstat(f.fileno()).st_size // 2; f.seek(n); b = f.read(1); f.seek(n); f.write(bytes([b[0] ^ 1]))' \
                "$D/sample_tampered.raw"
}

trust_vendor_key() {
        e2e_exec mkdir -p /etc/verity.d
        e2e_sh "cat >/etc/verity.d/vendor.crt" <"$E2E_TMP/keys/vendor.crt"
}

# ---- the checks -----------------------------------------------------------------------------

# What PID 1 made of each layout, one "NAME: started|not started: why" line each (the checks run
# in subshells).
starts_file() {
        echo "$E2E_TMP/pid1-starts"
}

started() {
        grep -qxF "$1: started" "$(starts_file)" 2>/dev/null
}

# The container's cgroup (v1, nested) refuses to be killed ("Failed to kill control group ...:
# Input/output error", also seen by e2e-lifecycle): a stopped service can leave its processes,
# and their mount namespace with the image, behind. Those processes are the service's, not
# portabled's: they are killed by pid, so that what is checked afterwards is what portabled left.
kill_leftovers() {
        e2e_sh "for p in \$(grep -lE ':/system.slice/$1\$' /proc/[0-9]*/cgroup 2>/dev/null | cut -d/ -f3); do kill -KILL \$p; done" || true
}

# try_start NAME IMAGE: PID 1 starts sample.service of the attached image, or fails to; which one,
# and why, is recorded. The service is stopped and forgotten afterwards either way.
try_start() {
        local name=$1 img=$2 cursor journal result why
        # The journal from here on: a start of the layout before, in the same second, said
        # "version 1 started" too, so a time is not precise enough.
        cursor=$(e2e_sh "journalctl --no-pager -n 0 --show-cursor | sed -n 's/^-- cursor: //p'")
        [[ -n "$cursor" ]] || e2e_die "no journal cursor"
        journal="journalctl --no-pager -o cat --after-cursor='$cursor' -u sample.service"
        e2e_exec timeout 60 systemctl start sample.service >/dev/null 2>&1 || true
        # Type=simple: the start job is done once forked; what counts is what the service says.
        if e2e_wait_for 15 "sample.service to log or fail" \
                e2e_sh "$journal | grep -qE 'version 1 started|Main process exited|Failed'"; then
                :
        fi
        if e2e_sh "$journal | grep -q 'version 1 started'" &&
                e2e_exec systemctl is-active --quiet sample.service; then
                assert_runs_from_image sample.service "$img"
                result="started"
        else
                why=$(e2e_sh "$journal | grep -v -e '^Starting' -e '^Started' -e '^Failed to start' -e 'Failed with result' -e 'Deactivated' -e 'Unknown key' | tail -n 2 | tr '\n' ' '" || true)
                result="not started: ${why:-see the journal}"
        fi
        e2e_exec systemctl stop sample.service >/dev/null 2>&1 || true
        kill_leftovers sample.service
        e2e_exec systemctl reset-failed sample.service >/dev/null 2>&1 || true
        echo "$name: $result" >>"$(starts_file)"
        e2e_log "PID 1 and $name: $result"
}

# Whatever an earlier failed check left attached from the disk images goes first.
reset_disks() {
        local img
        kill_leftovers sample.service
        for img in "$D"/*.raw; do
                e2e_exec "$PORTABLECTL" --no-pager --quiet detach "$img" sample >/dev/null 2>&1 || true
        done
}

# check_layout NAME DESCRIPTION POLICY: inspect shows the root (or /usr) partition as DESCRIPTION
# and the pinned POLICY (and the image's own os-release, not another partition's), attach pins it
# in the drop-in, the image is attached, PID 1 is asked to start sample.service (the outcome is
# recorded), detach leaves nothing.
check_layout() {
        local name=$1 desc=$2 policy=$3 img=$D/sample_$1.raw force=()
        [[ "$name" == usr ]] && force=(--force) # an empty root lacks the profile's mount points

        reset_disks
        pctl_ok inspect "$img" sample
        output_has "$desc"
        output_has "$policy"
        output_has "Portabled Sample 1"
        output_lacks "the wrong partition"
        pctl_ok attach "${force[@]}" "$img" sample
        e2e_exec grep -qxF "RootImagePolicy=$policy" "$ATTACHED_ETC/sample.service.d/20-portable.conf" ||
                e2e_die "20-portable.conf does not pin $policy"
        assert_state "$img" attached

        try_start "$name" "$img"
        pctl_ok detach "$img" sample
        assert_clean
}

check_plain_starts() {
        check_layout plain "root: squashfs, not protected by verity" "root=squashfs:=absent"
        started plain || e2e_die "PID 1 did not start the naked squashfs: $(grep '^plain:' "$(starts_file)")"
}

check_unknown_key_is_ignored() {
        # The warning systemd 252 gives for the setting it does not know, and nothing else.
        # "20-portable.conf:8: Unknown key 'RootImagePolicy' in section [Service], ignoring."
        e2e_sh "journalctl --no-pager -o cat | grep -q \"20-portable.conf:[0-9]*: Unknown key 'RootImagePolicy' in section \\[Service\\], ignoring\"" ||
                e2e_die "no 'Unknown key' warning from PID 1 for RootImagePolicy="
        # ... and nothing else about the drop-in.
        ! e2e_sh "journalctl --no-pager -o cat | grep '20-portable.conf' | grep -v \"Unknown key 'RootImagePolicy'\"" ||
                e2e_die "PID 1 complained about something else in 20-portable.conf"
}

check_tampered_refused() {
        reset_disks
        pctl_fail inspect "$D/sample_tampered.raw" sample
        output_has "failed verification"
        pctl_fail attach "$D/sample_tampered.raw" sample
        output_has "failed verification"
        assert_state "$D/sample_tampered.raw" detached
        assert_clean
}

check_policies() {
        reset_disks
        pctl_fail attach --image-policy=root=signed:=absent "$D/sample_verity.raw" sample
        output_has "partition 'root' is verity-protected but not signed"
        pctl_fail attach --image-policy=root=signed:=absent "$D/sample_stranger.raw" sample
        output_has "its signature is not trusted"
        pctl_ok inspect "$D/sample_stranger.raw" sample
        output_has "root hash signed by a key this host does not trust, verified"
        pctl_ok attach --image-policy=root=signed:=absent "$D/sample_signed.raw" sample
        assert_state "$D/sample_signed.raw" attached
        pctl_ok detach "$D/sample_signed.raw" sample
        assert_clean
}

e2e_setup
D=$E2E_IMAGES/disks
t_require "layouts built (systemd-repart, veritysetup, openssl)" build_layouts
t_require "the container trusts the vendor's key" trust_vendor_key

t_check "naked squashfs: inspect, attach, PID 1 starts it, detach" check_plain_starts
t_check "PID 1 ignores RootImagePolicy= with a warning" check_unknown_key_is_ignored
t_check "root partition: inspect, attach, state, detach" check_layout root "root: squashfs, not protected by verity" \
        "root=squashfs:=absent"
t_check "/usr partition only: inspect, attach (--force), state, detach" check_layout usr \
        "usr: squashfs, not protected by verity" "usr=squashfs:=absent"
t_check "root + /usr: inspect, attach, state, detach" check_layout rootusr "usr: squashfs, not protected by verity" \
        "root=squashfs:usr=squashfs:=absent"
t_check "root + verity: verified, attach, state, detach" check_layout verity \
        "root: squashfs, verity-protected, root hash not signed, verified" "root=verity+squashfs:=absent"
t_check "root + verity + signature: signed by a trusted key, attach, state, detach" check_layout signed \
        "root: squashfs, verity-protected, root hash signed by a trusted key, verified" "root=signed+squashfs:=absent"
t_check "two architectures: the native one, attach, state, detach" check_layout twoarch \
        "root: squashfs, not protected by verity" "root=squashfs:=absent"
t_check "no-auto: the other partition, attach, state, detach" check_layout noauto \
        "root: squashfs, not protected by verity" "root=squashfs:=absent"
t_check "naked squashfs with verity sidecars: signed, attach, state, detach" check_layout naked \
        "root: squashfs, verity-protected, root hash signed by a trusted key, verified" "root=signed+squashfs:=absent"
t_check "a flipped byte: inspect and attach refused, nothing attached" check_tampered_refused
t_check "image policies: unsigned and untrusted refused, signed accepted" check_policies

while read -r line; do
        t_note "PID 1 (systemd 252) and the layout $line"
done <"$(starts_file)"

t_cleanup
t_done
