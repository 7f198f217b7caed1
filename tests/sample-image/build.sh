#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Build the sample portable service images used by the end-to-end tests.
#
#   build.sh OUTDIR
#
# Produces, from Debian's busybox-static package (nothing binary is kept in git):
#   OUTDIR/sample_1/  OUTDIR/sample_1.raw       version 1 (sample-old.service)
#   OUTDIR/sample_2/  OUTDIR/sample_2.raw       version 2 (sample-new.service instead)
#   OUTDIR/sample-nomid_1/ OUTDIR/sample-nomid_1.raw
#                                               version 1 without /etc/machine-id, the
#                                               "missing mount point" case of a read-only image;
#                                               attach it with the explicit prefix "sample" (the
#                                               one derived from its name, "sample-nomid",
#                                               matches no unit)
#
# Every image ships, under the prefix "sample":
#   sample.service          long-running busybox httpd on 127.0.0.1:$SAMPLE_HTTP_PORT; logs
#                           "sample.service: version N started" to stdout first; stays up
#                           (without HTTP) under profiles that forbid AF_INET
#   sample-echo.socket      TCP 127.0.0.1:$SAMPLE_ECHO_PORT, Accept=yes
#   sample-echo@.service    inetd-style: reads one line, answers "sample-echo N: LINE"
#                           (a template: "attach --now" of v252 logs that it cannot start it)
#   sample-old.service (v1) / sample-new.service (v2)   idle services for reattach tests
#
# The script is idempotent: every output is rebuilt from scratch next to its final name and
# renamed into place, timestamps are pinned, so two runs give byte-identical images.
set -euo pipefail

readonly SAMPLE_HTTP_PORT=8080
readonly SAMPLE_ECHO_PORT=7777
# Fixed timestamp for every file and for the squashfs superblock: reproducible images.
readonly EPOCH="${SOURCE_DATE_EPOCH:-1700000000}"

log() { echo "sample-image: $*" >&2; }
die() { log "error: $*"; exit 1; }

usage() {
        echo "usage: $0 OUTDIR" >&2
        exit 2
}

# Print the path of a static busybox. Prefer the one installed by busybox-static; if the
# package is not installed, fetch the .deb with apt-get (cached in OUTDIR/.cache) and
# unpack it, so the test still builds on a machine that only has apt access.
find_busybox() {
        local outdir=$1 path cache deb

        if grep -q 'ok installed' <<<"$(dpkg-query -W -f='${Status}' busybox-static 2>/dev/null)"; then
                path=$(awk '/\/busybox$/ { print; exit }' <<<"$(dpkg-query -L busybox-static)")
                if [[ -n "$path" && -x "$path" ]]; then
                        echo "$path"
                        return 0
                fi
        fi

        cache="$outdir/.cache"
        if [[ ! -x "$cache/root/bin/busybox" ]]; then
                log "busybox-static not installed, downloading the package"
                mkdir -p "$cache"
                (cd "$cache" && apt-get download busybox-static >&2) || die "cannot download busybox-static"
                local debs=("$cache"/busybox-static_*.deb)
                deb=${debs[-1]}
                rm -rf "$cache/root"
                dpkg-deb -x "$deb" "$cache/root"
        fi
        echo "$cache/root/bin/busybox"
}

# A dynamically linked busybox would need the host's libc inside the image: refuse it.
check_static() {
        local bin=$1
        if grep -q 'Requesting program interpreter' <<<"$(readelf -l "$bin" 2>/dev/null)"; then
                die "$bin is not statically linked"
        fi
}

# write_file PATH MODE: content from stdin.
write_file() {
        local path=$1 mode=$2
        mkdir -p "$(dirname "$path")"
        cat >"$path"
        chmod "$mode" "$path"
}

install_busybox() {
        local root=$1 busybox=$2 applet
        mkdir -p "$root/bin" "$root/usr/bin" "$root/usr/sbin" "$root/sbin"
        install -m 0755 "$busybox" "$root/bin/busybox"
        # Only the applets the units and the tests use; each is a relative symlink so the
        # tree stays valid wherever it is mounted.
        for applet in sh ash cat echo printf sleep nc httpd ls id env true false test \
                        head tail grep sed mkdir rm touch date hostname ps kill wc tr cut \
                        readlink stat uname whoami mount; do
                ln -sfn busybox "$root/bin/$applet"
        done
        ln -sfn ../../bin/env "$root/usr/bin/env"
}

write_os_release() {
        local root=$1 version=$2
        write_file "$root/usr/lib/os-release" 0644 <<EOF
ID=portabled-sample
VERSION_ID=$version
NAME="Portabled Sample"
PRETTY_NAME="Portabled Sample $version"
PORTABLE_PRETTY_NAME="Portabled sample service $version"
PORTABLE_PREFIXES=sample
EOF
        mkdir -p "$root/etc"
        ln -sfn ../usr/lib/os-release "$root/etc/os-release"
}

# Mount points and bind targets. The image is mounted read-only, so PID 1 cannot create
# anything in it: whatever the profiles mount or bind over must already exist.
#  - MountAPIVFS=yes: /proc /sys /dev (and /run, which gets a tmpfs)
#  - PrivateTmp=yes: /tmp /var/tmp
#  - BindReadOnlyPaths=/etc/machine-id and -/etc/resolv.conf: regular files
#  - BindPaths=/run (trusted) and the sockets under /run: /run and, in case /run is not
#    replaced by a tmpfs, the directory chain of /run/systemd/journal and /run/dbus
#  - StateDirectory=/CacheDirectory=/LogsDirectory= with DynamicUser: /var/lib /var/cache /var/log
#  - BindReadOnlyPaths=HOSTOS:/run/host/os-release (20-portable.conf): under /run
make_mount_points() {
        local root=$1 with_machine_id=$2 d
        for d in proc sys dev run tmp var/tmp var/lib var/cache var/log \
                        run/systemd/journal run/dbus run/host home root; do
                mkdir -p "$root/$d"
        done
        chmod 1777 "$root/tmp" "$root/var/tmp"
        chmod 0700 "$root/root"
        : >"$root/etc/resolv.conf"
        if [[ "$with_machine_id" == yes ]]; then
                : >"$root/etc/machine-id"
        fi
        # Minimal user database so tools inside do not print "unknown uid" for root.
        write_file "$root/etc/passwd" 0644 <<'EOF'
root:x:0:0:root:/root:/bin/sh
nobody:x:65534:65534:nobody:/nonexistent:/bin/false
EOF
        write_file "$root/etc/group" 0644 <<'EOF'
root:x:0:
nogroup:x:65534:
EOF
}

write_payload() {
        local root=$1 version=$2
        write_file "$root/usr/share/sample/www/index.html" 0644 <<EOF
portabled-sample version $version
EOF
        write_file "$root/usr/lib/sample/sample-httpd" 0755 <<EOF
#!/bin/sh
# Announce ourselves on stdout (the journal), then serve HTTP in the foreground.
echo "sample.service: version $version started, pid \$\$, uid \$(id -u)"
httpd -f -v -p 127.0.0.1:$SAMPLE_HTTP_PORT -h /usr/share/sample/www
# Profiles without AF_INET (strict, nonetwork) make httpd fail at once: stay up anyway, so
# the service can be tested under every profile.
echo "sample.service: httpd exited with status \$?, idling without HTTP"
exec sleep 2147483647
EOF
        write_file "$root/usr/lib/sample/sample-echo" 0755 <<EOF
#!/bin/sh
# inetd-style: stdin/stdout are the accepted connection. Answer one line and exit.
IFS= read -r line || line=""
echo "sample-echo $version: \$line"
echo "sample-echo@.service: version $version served one connection" >&2
EOF
        write_file "$root/usr/lib/sample/sample-idle" 0755 <<EOF
#!/bin/sh
echo "\$1: version $version started"
exec sleep 2147483647
EOF
}

write_units() {
        local root=$1 version=$2 unitdir="$1/usr/lib/systemd/system"
        mkdir -p "$unitdir"

        write_file "$unitdir/sample.service" 0644 <<EOF
[Unit]
Description=Portabled sample HTTP service (version $version)

[Service]
Type=simple
ExecStart=/usr/lib/sample/sample-httpd

[Install]
WantedBy=multi-user.target
EOF

        write_file "$unitdir/sample-echo.socket" 0644 <<EOF
[Unit]
Description=Portabled sample line echo socket (version $version)

[Socket]
ListenStream=127.0.0.1:$SAMPLE_ECHO_PORT
Accept=yes

[Install]
WantedBy=sockets.target
EOF

        write_file "$unitdir/sample-echo@.service" 0644 <<EOF
[Unit]
Description=Portabled sample line echo connection (version $version)

[Service]
ExecStart=/usr/lib/sample/sample-echo
StandardInput=socket
StandardOutput=socket
StandardError=journal
EOF

        # The unit that changes between versions: reattach must stop the one that went away
        # and start the one that appeared.
        local extra
        if [[ "$version" == 1 ]]; then extra=sample-old; else extra=sample-new; fi
        write_file "$unitdir/$extra.service" 0644 <<EOF
[Unit]
Description=Portabled sample idle service only in version $version

[Service]
ExecStart=/usr/lib/sample/sample-idle $extra.service

[Install]
WantedBy=multi-user.target
EOF
}

# build_tree DIR VERSION WITH_MACHINE_ID
build_tree() {
        local dir=$1 version=$2 with_machine_id=$3 busybox=$4
        local tmp="$dir.tmp.$$"

        rm -rf "$tmp"
        mkdir -p "$tmp"
        install_busybox "$tmp" "$busybox"
        write_os_release "$tmp" "$version"
        make_mount_points "$tmp" "$with_machine_id"
        write_payload "$tmp" "$version"
        write_units "$tmp" "$version"

        # Pin timestamps (symlinks included) so the images are reproducible.
        find "$tmp" -exec touch -h -d "@$EPOCH" {} +
        chmod 0755 "$tmp"

        rm -rf "$dir"
        mv "$tmp" "$dir"
}

# make_squashfs DIR RAW
make_squashfs() {
        local dir=$1 raw=$2 tmp="$2.tmp.$$"
        rm -f "$tmp"
        mksquashfs "$dir" "$tmp" -all-root -noappend -quiet -no-progress \
                -mkfs-time "$EPOCH" -all-time "$EPOCH" >/dev/null
        mv -f "$tmp" "$raw"
}

main() {
        [[ $# -eq 1 ]] || usage
        local outdir=$1 busybox
        command -v mksquashfs >/dev/null || die "mksquashfs not found (apt-get install squashfs-tools)"

        mkdir -p "$outdir"
        outdir=$(realpath "$outdir")
        busybox=$(find_busybox "$outdir")
        check_static "$busybox"

        build_tree "$outdir/sample_1" 1 yes "$busybox"
        build_tree "$outdir/sample_2" 2 yes "$busybox"
        build_tree "$outdir/sample-nomid_1" 1 no "$busybox"

        make_squashfs "$outdir/sample_1" "$outdir/sample_1.raw"
        make_squashfs "$outdir/sample_2" "$outdir/sample_2.raw"
        make_squashfs "$outdir/sample-nomid_1" "$outdir/sample-nomid_1.raw"

        log "built sample_1, sample_2 and sample-nomid_1 in $outdir"
}

main "$@"
