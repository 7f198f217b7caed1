#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Disk images as people ship them, built here with systemd-repart, mksquashfs, veritysetup and
# openssl, through the daemon: every Discoverable Partitions layout (root, /usr only, root +
# /usr, root + verity, root + verity + signature, two architectures, no-auto) and a naked
# squashfs with sidecars. For each: what inspect reports, the exact files attach writes (the
# drop-in pins the layout with RootImagePolicy=), detach. Then tampering (every one refused,
# host unchanged, no loop device or mount left), image policies (the caller's and the daemon's),
# the verity cache, and versioned image directories.
. "$(dirname "$0")/lib.sh"
setup

for tool in systemd-repart mksquashfs veritysetup openssl sfdisk losetup; do
        command -v "$tool" >/dev/null || PATH=$PATH:/usr/sbin:/sbin
        command -v "$tool" >/dev/null || skip_all "$tool not installed"
done
[ "$(uname -m)" = x86_64 ] || skip_all "the layouts name x86-64 and x86 partition types"

# ------------------------------------------------------------------------------------ builders

# make_tree DIR LABEL [PREFIX]: an image tree: /usr/lib/os-release (PORTABLE_PRETTY_NAME=LABEL, so
# that a test can tell which partition was picked), PREFIX.service in /usr, PREFIX-etc.socket in
# /etc (the root file system), and the mount points and files the profiles bind over.
make_tree() {
        local dir=$1 label=$2 prefix=${3:-disk}
        rm -rf "$dir"
        mkdir -p "$dir"/usr/lib/systemd/system "$dir"/etc/systemd/system "$dir"/{proc,sys,dev,run,tmp,var/tmp}
        printf 'ID=disktest\nPORTABLE_PRETTY_NAME="%s"\n' "$label" >"$dir/usr/lib/os-release"
        printf '[Service]\nExecStart=/usr/bin/true %s\n' "$prefix" >"$dir/usr/lib/systemd/system/$prefix.service"
        printf '[Socket]\nListenStream=/run/%s.sock\n' "$prefix" >"$dir/etc/systemd/system/$prefix-etc.socket"
        touch "$dir/etc/machine-id" "$dir/etc/resolv.conf"
}

# The root file system of a root + /usr disk: everything but the contents of /usr.
make_root_of() {
        rm -rf "$2"
        cp -a "$1" "$2"
        rm -rf "$2"/usr/*
}

# repart IMAGE KEY DEFINITION...: a GPT disk of the definitions (the contents of repart.d files);
# verity signature partitions signed with $T/keys/KEY (KEY "-": none). Prints repart's JSON.
repart() {
        local img=$1 key=$2 defs=$T/repart.d i=0 d
        shift 2
        rm -rf "$defs" "$img"
        mkdir -p "$defs" "$(dirname "$img")"
        for d in "$@"; do
                printf '%b' "$d" >"$defs/$(printf %02d $i).conf"
                i=$((i + 1))
        done
        local -a keys=()
        [ "$key" != - ] && keys=(--private-key="$T/keys/$key.key" --certificate="$T/keys/$key.crt")
        systemd-repart --empty=create --size=auto --dry-run=no --no-pager --json=short --definitions="$defs" \
                "${keys[@]}" "$img" 2>"$T/repart.log" || { cat "$T/repart.log" >&2; return 1; }
}

root_hash_of() { python3 -c 'import json,sys; print([p["roothash"] for p in json.load(sys.stdin) if p.get("roothash")][0])'; }

data_part() { # TYPE DIR [VERITY_KEY] [EXTRA]
        local v=
        [ -n "${3:-}" ] && v="Verity=data\nVerityMatchKey=$3\n"
        echo "[Partition]\nType=$1\nFormat=squashfs\nCopyFiles=$2:/\nSizeMinBytes=1M\nSizeMaxBytes=1M\n$v${4:-}"
}
hash_part() { echo "[Partition]\nType=$1-verity\nVerity=hash\nVerityMatchKey=$2\nSizeMinBytes=128K\nSizeMaxBytes=128K\n"; }
sig_part() { echo "[Partition]\nType=$1-verity-sig\nVerity=signature\nVerityMatchKey=$2\n"; }

make_key() {
        mkdir -p "$T/keys"
        openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout "$T/keys/$1.key" \
                -out "$T/keys/$1.crt" -days 2 -subj "/CN=$1" >/dev/null 2>&1
}

# naked IMAGE TREE [KEY]: a squashfs IMAGE with IMAGE.verity and IMAGE.roothash next to it (".raw"
# replaced), and IMAGE.roothash.p7s signed by KEY if given.
naked() {
        local img=$1 base=${1%.raw} hex
        mkdir -p "$(dirname "$img")"
        rm -f "$img" "$base".*
        mksquashfs "$2" "$img" -all-root -noappend -quiet -no-progress >/dev/null
        hex=$(veritysetup format "$img" "$base.verity" | sed -n 's/^Root hash:[[:space:]]*//p')
        printf '%s' "$hex" >"$base.roothash"
        if [ -n "${3:-}" ]; then
                printf '%s' "$hex" >"$T/to-sign"
                openssl smime -sign -binary -noattr -in "$T/to-sign" -signer "$T/keys/$3.crt" -inkey "$T/keys/$3.key" \
                        -outform DER -out "$base.roothash.p7s"
        fi
}

# flip_partition IMAGE N: XORs one byte in the middle of the N-th partition (from 1) with 1.
flip_partition() {
        python3 - "$1" "$2" <<'EOF'
import json, subprocess, sys
img, n = sys.argv[1], int(sys.argv[2])
p = json.loads(subprocess.check_output(["sfdisk", "-J", img]))["partitiontable"]["partitions"][n - 1]
off = p["start"] * 512 + p["size"] * 512 // 2
with open(img, "r+b") as f:
    f.seek(off); b = f.read(1); f.seek(off); f.write(bytes([b[0] ^ 1]))
EOF
}

flip_at() {
        python3 -c 'import sys
with open(sys.argv[1], "r+b") as f:
    f.seek(int(sys.argv[2])); b = f.read(1); f.seek(int(sys.argv[2])); f.write(bytes([b[0] ^ 1]))' "$1" "$2"
}

# ------------------------------------------------------------------------------------- layouts

make_key vendor
make_key stranger
mkdir -p "$ROOT/etc/verity.d"
cp "$T/keys/vendor.crt" "$ROOT/etc/verity.d/vendor.crt"

TREE=$T/tree
make_tree "$TREE" "disk image"
make_root_of "$TREE" "$T/root-tree"
make_tree "$T/wrong" "the wrong partition"

L=$IMAGES/layouts
repart "$L/root.raw" - "$(data_part root "$TREE")" >/dev/null
repart "$L/usr.raw" - "$(data_part usr "$TREE/usr")" >/dev/null
repart "$L/root-usr.raw" - "$(data_part root "$T/root-tree")" "$(data_part usr "$TREE/usr")" >/dev/null
repart "$L/verity.raw" - "$(data_part root "$TREE" r)" "$(hash_part root r)" | root_hash_of >"$T/verity.hex"
printf '%s' "$(cat "$T/verity.hex")" >"$L/verity.roothash"
repart "$L/signed.raw" vendor "$(data_part root "$TREE" r)" "$(hash_part root r)" "$(sig_part root r)" >/dev/null
repart "$L/two-arch.raw" - "$(data_part root-x86 "$T/wrong")" "$(data_part root "$TREE")" >/dev/null
repart "$L/no-auto.raw" - "$(data_part root "$T/wrong" "" "NoAuto=yes\nLabel=root-9\n")" \
        "$(data_part root "$TREE" "" "Label=root-1\n")" >/dev/null
naked "$L/naked.raw" "$TREE" vendor

snapshot >"$T/pristine"

# check_layout NAME POLICY PARTITIONS GOLDEN [FLAGS]: inspect through our method (the partitions
# as "designator:fstype:protection:signature:verified" words, the pinned policy), through
# portablectl, attach (the files written must equal GOLDEN with the image and POLICY filled in),
# detach (the host as it was), nothing left mapped or mounted.
check_layout() {
        local name=$1 policy=$2 parts=$3 golden=$4 flags=${5:-0} img=$L/$1.raw
        local subst=(IMAGE="$img" IMAGEFILE="${img##*/}" POLICY="$policy")

        mjson GetImageMetadataWithOptions 'sasasta{sv}' "$img" 0 1 disk 0 0 >"$T/meta.json"
        assert_eq "$name: the partitions found and how they are protected" "$parts" \
                "$(pyjson '" ".join(":".join([p[0], p[1], p[2], p[3], str(p[5]).lower()]) for p in d[5]["Partitions"]["data"])' <"$T/meta.json")"
        assert_eq "$name: the pinned image policy" "$policy" "$(pyjson 'd[5]["PinnedImagePolicy"]["data"]' <"$T/meta.json")"
        assert_eq "$name: the right partition was read" "disk image" \
                "$(pyjson '[l.split("=", 1)[1].strip(chr(34)) for l in s(d[1]).splitlines() if l.startswith("PORTABLE_PRETTY_NAME=")][0]' <"$T/meta.json")"
        assert_ok "$name: portablectl inspect" run_ours inspect "$img" disk
        assert_contains "$name: portablectl inspect shows the layout and the policy" "$OUT" "Partitions:" \
                "Image Policy (pinned):" "	$policy"

        if [ "$flags" = 0 ]; then
                mjson AttachImage sassbs "$img" 1 disk default false "" >/dev/null
        else
                mjson AttachImageWithExtensions sasassst "$img" 0 1 disk default "" "$flags" >/dev/null
        fi
        assert_attached_eq "$name: attach: files written" "$golden" "${subst[@]}"
        assert_eq "$name: attached" 's "attached"' "$(mcall GetImageState s "$img")"
        mjson DetachImage sb "$img" false >/dev/null
        assert_root_unchanged "$name: detach leaves the host as it was" "$T/pristine"
        assert_no_leaks "$name: nothing left mapped or mounted" "$img"
}

check_layout root "root=squashfs:=absent" "root:squashfs:unprotected:unsigned:false" disk-root.tree
# /usr alone has an empty root: none of the mount points a profile binds over; --force attaches.
check_layout usr "usr=squashfs:=absent" "usr:squashfs:unprotected:unsigned:false" disk-usr.tree 2
check_layout root-usr "root=squashfs:usr=squashfs:=absent" \
        "root:squashfs:unprotected:unsigned:false usr:squashfs:unprotected:unsigned:false" disk-root.tree
check_layout verity "root=verity+squashfs:=absent" "root:squashfs:verity:unsigned:true" disk-root.tree
check_layout signed "root=signed+squashfs:=absent" "root:squashfs:signed:trusted:true" disk-root.tree
check_layout two-arch "root=squashfs:=absent" "root:squashfs:unprotected:unsigned:false" disk-root.tree
check_layout no-auto "root=squashfs:=absent" "root:squashfs:unprotected:unsigned:false" disk-root.tree
check_layout naked "root=signed+squashfs:=absent" "root:squashfs:signed:trusted:true" disk-root.tree

assert_ok "portablectl inspect of the signed image" run_ours inspect "$L/signed.raw" disk
assert_contains "inspect says the root hash is signed by a trusted key and was verified" "$OUT" \
        "root: squashfs, verity-protected, root hash signed by a trusted key, verified"
assert_ok "portablectl inspect --json" run_ours inspect --json=short "$L/signed.raw" disk
assert_eq "inspect --json: partitions and policy" "root signed trusted True root=signed+squashfs:=absent" \
        "$(python3 -c 'import json,sys; j=json.load(sys.stdin); p=j["partitions"][0]; print(p["designator"], p["protection"], p["signature"], p["verified"], j["image_policy"])' <<<"$OUT")"

# ---------------------------------------------------------------------------- the verity cache

# Reading an unchanged image again takes the daemon's word for the verification; a changed one is
# checked again.
cp "$L/signed.raw" "$IMAGES/cached.raw"
cached_of() {
        mjson GetImageMetadataWithOptions 'sasasta{sv}' "$1" 0 1 disk 0 0 | pyjson 'd[5]["Partitions"]["data"][0][6]'
}
first=$(cached_of "$IMAGES/cached.raw")
second=$(cached_of "$IMAGES/cached.raw")
assert_eq "first read of an image: verified, not from the cache" false "$first"
assert_eq "second read of the unchanged image: verified earlier" true "$second"
assert_ok "portablectl inspect says so" run_ours inspect "$IMAGES/cached.raw" disk
assert_contains "inspect: verified (unchanged since an earlier check)" "$OUT" "verified (unchanged since an earlier check)"
touch "$IMAGES/cached.raw"
assert_eq "a touched image is verified again" false "$(cached_of "$IMAGES/cached.raw")"

# ------------------------------------------------------------------------------------ tampering

# refused NAME IMAGE NEEDLE...: inspect and attach fail naming the image and NEEDLE; nothing is
# written, nothing left mapped or mounted.
refused() {
        local name=$1 img=$2
        shift 2
        assert_fails_with "$name: inspect refused" "$img" "$@" -- mcall GetImageMetadata sas "$img" 1 disk
        assert_fails_with "$name: attach refused" "$img" "$@" -- mcall AttachImage sassbs "$img" 1 disk default false ""
        assert_fails_with "$name: portablectl attach refused" "$img" "$@" -- run_ours attach --no-reload "$img" disk
        assert_root_unchanged "$name: nothing written" "$T/pristine"
        assert_no_leaks "$name: nothing left mapped or mounted" "$img"
}

T_=$IMAGES/tampered
mkdir -p "$T_"
cp "$L/verity.raw" "$L/verity.roothash" "$L/signed.raw" "$T_/"
flip_partition "$T_/verity.raw" 1
flip_partition "$T_/signed.raw" 1
refused "byte flipped in the data of a root + verity disk" "$T_/verity.raw" "failed verification" "root file system"
refused "byte flipped in the data of a signed disk" "$T_/signed.raw" "failed verification"
naked "$T_/naked.raw" "$TREE" vendor
flip_at "$T_/naked.raw" $(($(stat -c %s "$T_/naked.raw") / 2))
refused "byte flipped in a naked squashfs" "$T_/naked.raw" "failed verification"

naked "$T_/wrong-hash.raw" "$TREE"
printf '%s' "$(tr 0123456789abcdef 123456789abcdef0 <"$T_/wrong-hash.roothash")" >"$T_/wrong-hash.roothash"
refused "a wrong root hash (naked)" "$T_/wrong-hash.raw" "failed verification" "does not match its root hash"
cp "$L/verity.raw" "$T_/gpt-wrong-hash.raw"
tr 0123456789abcdef 123456789abcdef0 <"$L/verity.roothash" >"$T_/gpt-wrong-hash.roothash"
refused "a wrong root hash (GPT: no partition has its UUID)" "$T_/gpt-wrong-hash.raw" "no root partition matches"

naked "$T_/short-tree.raw" "$TREE"
truncate -s -4096 "$T_/short-tree.verity"
refused "a truncated hash tree" "$T_/short-tree.raw" "failed verification"

repart "$T_/stranger.raw" stranger "$(data_part root "$TREE" r)" "$(hash_part root r)" "$(sig_part root r)" >/dev/null
mjson GetImageMetadataWithOptions 'sasasta{sv}' "$T_/stranger.raw" 0 1 disk 0 0 >"$T/meta.json"
assert_eq "signed by an untrusted key: verity, signature untrusted, verified" "verity untrusted true" \
        "$(pyjson '" ".join([d[5]["Partitions"]["data"][0][2], d[5]["Partitions"]["data"][0][3], str(d[5]["Partitions"]["data"][0][5]).lower()])' <"$T/meta.json")"
assert_fails_with "signed by an untrusted key, policy 'signed': refused naming the rule" "$T_/stranger.raw" \
        "partition 'root'" "not trusted" "root=signed" -- \
        mcall AttachImageWithOptions 'sasasssta{sv}' "$T_/stranger.raw" 0 1 disk default "" 0 1 ImagePolicy s "root=signed:=absent"
assert_root_unchanged "untrusted key: nothing written" "$T/pristine"
assert_no_leaks "tampered images: nothing left mapped or mounted" "$T_"/*.raw

# ------------------------------------------------------------------------------- image policies

assert_ok "policy 'signed' accepts the signed image (AttachImageWithOptions)" \
        mcall AttachImageWithOptions 'sasasssta{sv}' "$L/signed.raw" 0 1 disk default "" 0 1 ImagePolicy s "root=signed+squashfs:=absent"
mjson DetachImage sb "$L/signed.raw" false >/dev/null
assert_ok "portablectl attach --image-policy=root=signed:=absent of the signed image" \
        run_ours attach --no-reload --image-policy=root=signed:=absent "$L/signed.raw" disk
assert_ok "portablectl reattach --image-policy= too" \
        run_ours reattach --no-reload --image-policy=root=signed:=absent "$L/signed.raw" disk
assert_ok "portablectl detach" run_ours detach --no-reload "$L/signed.raw" disk
assert_root_unchanged "policy accepted: attach, reattach, detach leave the host as it was" "$T/pristine"

assert_fails_with "policy 'verity' refuses an unprotected root, naming partition and rule" \
        "$L/root.raw" "partition 'root' is not protected by verity" "root=verity" -- \
        run_ours attach --no-reload --image-policy=root=verity:=absent "$L/root.raw" disk
assert_fails_with "policy 'signed' refuses a verity image without signature" "$L/verity.raw" "not signed" -- \
        run_ours inspect --image-policy=root=signed:=absent "$L/verity.raw" disk
assert_fails_with "policy '=absent' refuses /usr where only root may be" "partition 'usr'" -- \
        run_ours inspect --image-policy=root=squashfs:=absent "$L/root-usr.raw" disk
assert_fails_with "portablectl reattach --image-policy= refuses too" "not protected by verity" -- \
        run_ours reattach --no-reload --image-policy=root=verity:=absent "$L/root.raw" disk
assert_root_unchanged "policy refused: nothing written" "$T/pristine"
assert_fails_with "a malformed policy is refused by the daemon, naming it" org.freedesktop.DBus.Error.InvalidArgs "bogus" -- \
        mcall GetImageMetadataWithOptions 'sasasta{sv}' "$L/root.raw" 0 1 disk 0 1 ImagePolicy s "root=bogus"
assert_fails_with "an unknown option is refused" org.freedesktop.DBus.Error.InvalidArgs "Unknown option 'Frobnicate'" -- \
        mcall GetImageMetadataWithOptions 'sasasta{sv}' "$L/root.raw" 0 1 disk 0 1 Frobnicate s x
assert_fails_with "an option of the wrong type is refused" org.freedesktop.DBus.Error.InvalidArgs "must be a string" -- \
        mcall GetImageMetadataWithOptions 'sasasta{sv}' "$L/root.raw" 0 1 disk 0 1 ImagePolicy b true
assert_fails_with "portablectl refuses a malformed --image-policy=" "Failed to parse --image-policy=" -- \
        run_ours inspect --image-policy=root=bogus "$L/root.raw" disk

# The daemon's own policy holds whatever a caller asks for.
stop_daemon
start_daemon --image-policy=root=signed+squashfs:=absent || exit 1
assert_fails_with "daemon policy: an unsigned image is refused" "not protected by verity" -- \
        mcall GetImageMetadata sas "$L/root.raw" 1 disk
assert_fails_with "daemon policy: the caller's '*' does not lift it" "not protected by verity" -- \
        mcall GetImageMetadataWithOptions 'sasasta{sv}' "$L/root.raw" 0 1 disk 0 1 ImagePolicy s "*"
assert_ok "daemon policy: the signed image passes" mcall GetImageMetadata sas "$L/signed.raw" 1 disk
assert_ok "daemon policy: directories have no partitions to check" mcall GetImageMetadata sas "$T/tree" 1 disk
stop_daemon
start_daemon || exit 1
assert_root_unchanged "daemon policy: nothing written" "$T/pristine"

# -------------------------------------------------------------------------- versioned directories

V=$IMAGES/app.raw.v
for v in 1 2; do
        make_tree "$T/app-tree" "app version $v" app
        naked "$V/app_$v.raw" "$T/app-tree"
done
assert_ok "portablectl attach of a .raw.v directory" run_ours attach --no-reload "$V"
assert_contains "it attached the newest version" "$(cat "$ROOT/etc/systemd/system.attached/app.service.d/20-portable.conf")" \
        "RootImage=$V/app_2.raw"
assert_eq "is-attached through the directory" 's "attached"' "$(mcall GetImageState s "$V")"
make_tree "$T/app-tree" "app version 10" app
naked "$V/app_10.raw" "$T/app-tree"
assert_ok "portablectl reattach of the directory" run_ours reattach --no-reload "$V"
assert_contains "reattach upgraded to what is newest now" "$(cat "$ROOT/etc/systemd/system.attached/app.service.d/20-portable.conf")" \
        "RootImage=$V/app_10.raw" "# Drop-in created for image '$V/app_10.raw', do not edit."
assert_eq "only the new version is attached" "$(ls "$ROOT/etc/systemd/system.attached" | tr '\n' ' ')" \
        "app-etc.socket app-etc.socket.d app.service app.service.d "
assert_ok "portablectl detach of the directory" run_ours detach --no-reload "$V"
assert_root_unchanged "versioned directory: detach leaves the host as it was" "$T/pristine"

P=$ROOT/var/lib/portables/tool.raw.v
for v in 1.9 1.10; do
        make_tree "$T/tool-tree" "tool $v" tool
        naked "$P/tool_$v.raw" "$T/tool-tree"
done
snapshot >"$T/pristine-pool"
mjson ListImages >"$T/list.json"
assert_eq "ListImages: the versioned directory is one image, named after it" "tool raw" \
        "$(pyjson '" ".join("%s %s" % (i[0], i[1]) for i in d[0])' <"$T/list.json")"
assert_eq "its Path is the version picked" "s \"$P/tool_1.10.raw\"" "$(iprop "$PORTABLE_PATH/image/tool" Path)"
assert_eq "ListImageVersions: the versioned image and its version, no other image" 'a(ss) 1 "tool" "1.10"' \
        "$(mcall ListImageVersions)"
assert_ok "portablectl list" run_ours list --no-legend
assert_eq "portablectl list shows the version picked" "tool (1.10) raw" "$(echo "$OUT" | awk '{ print $1, $2, $3 }')"
assert_ok "portablectl list --json" run_ours list --json=short
assert_eq "list --json: the version" "tool 1.10" "$(python3 -c 'import json,sys; i=json.load(sys.stdin)[0]; print(i["name"], i["version"])' <<<"$OUT")"
assert_eq "pretty name of the image by name is the newest" "tool 1.10" \
        "$(mjson GetImageOSRelease s tool | pyjson 'd[0]["PORTABLE_PRETTY_NAME"]')"
assert_ok "attach by name" run_ours attach --no-reload tool
assert_contains "attach by name takes the newest version" "$(cat "$ROOT/etc/systemd/system.attached/tool.service.d/20-portable.conf")" \
        "RootImage=$P/tool_1.10.raw"
assert_eq "no /etc/portables link for an image in the pool's versioned directory" "" "$(ls -A "$ROOT/etc/portables")"
assert_ok "detach by name" run_ours detach --no-reload tool
assert_root_unchanged "versioned directory in the pool: detach" "$T/pristine-pool"
mkdir -p "$IMAGES/empty.raw.v"
assert_fails_with "an empty versioned directory is no image" org.freedesktop.portable1.NoSuchImage -- \
        mcall GetImageMetadata sas "$IMAGES/empty.raw.v" 0

assert_no_leaks "nothing left mapped or mounted at all" "$L"/*.raw "$IMAGES"/*.raw "$V"/*.raw "$P"/*.raw
finish
