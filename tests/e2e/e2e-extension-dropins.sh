#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# shellcheck disable=SC2317 # the check functions are called through t_check
#
# The drop-ins written for a root image stacked with extensions, as systemd 252 runs them. The
# golden 20-portable.conf files of the unit tests (tests/unit/golden/dropin-*.conf, which are
# byte for byte what src/dropin.c writes) are installed for a service with their image paths
# pointed at real images, and PID 1 starts it:
#   - raw root + directory extension + raw extension, forced (dropin-ext-mixed-force): the
#     service sees all three layers, ExtensionDirectories= and ExtensionImages= with the relax
#     option are accepted, and every LogExtraFields= value lands in the journal, several values
#     of one field included, each findable with journalctl FIELD=VALUE;
#   - the raw extension's release file is extension-release.app1 although the image is
#     app1_2.raw: systemd 252 finds it only with the relax option, which is why the drop-in
#     carries it for release files found by the version-stripped name. Without it
#     (dropin-ext-raw-raw-raw) the service does not start;
#   - a root image alone (dropin-raw-release): PORTABLE_ROOT= and PORTABLE_NAME_AND_VERSION=
#     make base-only services findable with journalctl PORTABLE_ROOT=.
# No drop-in makes PID 1 complain while loading it. Our daemon is not needed.
set -euo pipefail

SOURCE_ROOT=${SOURCE_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
# shellcheck source=tests/e2e/common.sh
. "$SOURCE_ROOT/tests/e2e/common.sh"

readonly GOLDEN=$SOURCE_ROOT/tests/unit/golden
readonly UNIT=ext-check.service

# A tree with an extension-release file named NAME and a script saying LABEL.
make_extension_tree() {
        local dir=$1 name=$2 label=$3 extra=$4
        rm -rf "$dir"
        mkdir -p "$dir/usr/lib/extension-release.d" "$dir/usr/lib/$label"
        printf 'ID=portabled-sample\nVERSION_ID=1\n%b' "$extra" >"$dir/usr/lib/extension-release.d/extension-release.$name"
        printf '#!/bin/sh\necho "%s layer present"\n' "$label" >"$dir/usr/lib/$label/hello"
        chmod 0755 "$dir/usr/lib/$label/hello"
}

build_extensions() {
        local img=$E2E_IMAGES
        make_extension_tree "$img/app0" app0 app0 'SYSEXT_IMAGE_ID=app\n'
        mksquashfs "$img/app0" "$img/app0.raw" -all-root -noappend -quiet -no-progress >/dev/null
        # Named after the image without its version, as upstream's versioned test images are.
        make_extension_tree "$img/app1-tree" app1 app1 'SYSEXT_IMAGE_ID=app\nSYSEXT_IMAGE_VERSION=1\n'
        mksquashfs "$img/app1-tree" "$img/app1_2.raw" -all-root -noappend -quiet -no-progress >/dev/null
}

# install_dropin GOLDEN: the golden drop-in with its paths pointed at our images, for $UNIT,
# next to our default profile. The container's /etc (volatile) has no os-release: the host
# os-release bound into the service is the one attach would pick there.
install_dropin() {
        local d=$ATTACHED_RUN/$UNIT.d
        e2e_exec mkdir -p "$d"
        sed -e "s|/usr/share/minimal_0.raw|$E2E_IMAGES/sample_1.raw|g" \
                -e "s|/tmp/app1_2.raw|$E2E_IMAGES/app1_2.raw|g" \
                -e "s|/tmp/app0.raw|$E2E_IMAGES/app0.raw|g" \
                -e "s|/tmp/app0|$E2E_IMAGES/app0|g" \
                -e "s|^BindReadOnlyPaths=/etc/os-release:|BindReadOnlyPaths=/usr/lib/os-release:|" \
                "$GOLDEN/$1" | e2e_sh "cat >$d/20-portable.conf"
        # With our default profile, as attach installs it.
        e2e_exec ln -sf "$SOURCE_ROOT/profiles/default/service.conf" "$d/10-profile.conf"
        e2e_sh "cat >$ATTACHED_RUN/$UNIT" <<'EOF'
[Service]
Type=oneshot
RemainAfterExit=yes
ExecStart=/bin/sh -c 'echo "root is $(. /usr/lib/os-release; echo $ID), PORTABLE_ROOT=$PORTABLE_ROOT"; for f in /usr/lib/*/hello; do [ ! -x $f ] || $f; done'
EOF
        e2e_exec systemctl daemon-reload
}

remove_dropin() {
        e2e_exec systemctl stop "$UNIT" >/dev/null 2>&1 || true
        e2e_exec rm -rf "$ATTACHED_RUN/$UNIT" "$ATTACHED_RUN/$UNIT.d"
        e2e_exec systemctl daemon-reload
        e2e_exec systemctl reset-failed >/dev/null 2>&1 || true
}

# The fields of the entries of the unit's last invocation, one FIELD=VALUE per line.
invocation_fields() {
        local id
        id=$(unit_prop "$UNIT" InvocationID)
        e2e_sh "journalctl --no-pager -o verbose _SYSTEMD_INVOCATION_ID=$id" | sed -n 's/^    //p' | sort -u
}

# has_field FIELDS FIELD=VALUE: the line is among FIELDS, and journalctl finds the unit by it.
has_field() {
        grep -qxF -- "$2" <<<"$1" || e2e_die "journal entries lack $2; they have: $(grep PORTABLE <<<"$1" | tr '\n' ' ')"
        e2e_sh "journalctl --no-pager -o cat '$2' _SYSTEMD_UNIT=$UNIT | grep -q 'layer present\|root is'" ||
                e2e_die "journalctl $2 does not find $UNIT"
}

no_complaints_since() {
        local out
        out=$(e2e_sh "journalctl --no-pager -o cat --since=@$1 | grep -F '$UNIT.d/20-portable.conf'" || true)
        [[ -z "$out" ]] || e2e_die "PID 1 complained: $out"
}

check_stack_forced() {
        local since fields
        since=$(date +%s)
        install_dropin dropin-ext-mixed-force.service.conf
        e2e_exec systemctl start "$UNIT" || e2e_die "$UNIT failed to start: $(e2e_exec systemctl status --no-pager "$UNIT" || true)"
        journal_has "_SYSTEMD_UNIT=$UNIT" "root is portabled-sample, PORTABLE_ROOT=minimal_0.raw"
        journal_has "_SYSTEMD_UNIT=$UNIT" "app0 layer present"
        journal_has "_SYSTEMD_UNIT=$UNIT" "app1 layer present"
        fields=$(invocation_fields)
        # The golden's values (its release data is the unit test's, not these images').
        has_field "$fields" PORTABLE=app1_2.raw
        has_field "$fields" PORTABLE_ROOT=minimal_0.raw
        has_field "$fields" PORTABLE_ROOT_NAME_AND_VERSION=debian_12
        has_field "$fields" PORTABLE_EXTENSION=app0
        has_field "$fields" PORTABLE_EXTENSION=app1_2.raw
        has_field "$fields" PORTABLE_EXTENSION_NAME_AND_VERSION=app
        has_field "$fields" PORTABLE_EXTENSION_NAME_AND_VERSION=app_1
        has_field "$fields" PORTABLE_EXTENSION_NAME_AND_VERSION=conf
        no_complaints_since "$since"
        remove_dropin
}

check_stripped_name_needs_relax() {
        local since out
        since=$(date +%s)
        install_dropin dropin-ext-raw-raw-raw.service.conf
        ! e2e_exec systemctl start "$UNIT" 2>/dev/null ||
                e2e_die "$UNIT started although app1_2.raw's release file is extension-release.app1 and the relax option is absent"
        # systemd 252 says so in its own words: the second extension could not be set up.
        out=$(e2e_sh "journalctl --no-pager -o cat --since=@$since -u $UNIT")
        grep -q 'unit-extensions/1' <<<"$out" || e2e_die "$UNIT failed for another reason: $out"
        remove_dropin

        # The same drop-in with the relax option on that one extension starts.
        install_dropin dropin-ext-raw-raw-raw.service.conf
        e2e_exec sed -i "s|^ExtensionImages=$E2E_IMAGES/app1_2.raw\$|&:x-systemd.relax-extension-release-check|" \
                "$ATTACHED_RUN/$UNIT.d/20-portable.conf"
        e2e_exec grep -q relax-extension-release-check "$ATTACHED_RUN/$UNIT.d/20-portable.conf" || e2e_die "sed failed"
        e2e_exec systemctl daemon-reload
        e2e_exec systemctl start "$UNIT" || e2e_die "$UNIT does not start even with the relax option"
        journal_has "_SYSTEMD_UNIT=$UNIT" "app1 layer present"
        remove_dropin
}

check_root_alone() {
        local since fields
        since=$(date +%s)
        install_dropin dropin-raw-release.service.conf
        e2e_exec systemctl start "$UNIT" || e2e_die "$UNIT failed to start"
        journal_has "_SYSTEMD_UNIT=$UNIT" "root is portabled-sample, PORTABLE_ROOT=minimal_0.raw"
        fields=$(invocation_fields)
        has_field "$fields" PORTABLE=minimal_0.raw
        has_field "$fields" PORTABLE_ROOT=minimal_0.raw
        has_field "$fields" PORTABLE_NAME_AND_VERSION=debian_12
        ! grep -q '^PORTABLE_EXTENSION' <<<"$fields" || e2e_die "extension fields without extensions"
        no_complaints_since "$since"
        remove_dropin
}

main() {
        command -v mksquashfs >/dev/null || e2e_skip "mksquashfs not found"
        e2e_init
        e2e_build_sample_images
        build_extensions
        e2e_boot
        t_check "raw root + directory + raw extension, forced: runs on the stack, every journal field findable" \
                check_stack_forced
        t_check "a release file found by the version-stripped name needs the relax option on systemd 252" \
                check_stripped_name_needs_relax
        t_check "root image alone: PORTABLE_ROOT= and PORTABLE_NAME_AND_VERSION= in the journal" check_root_alone
        t_cleanup
        t_done
}

main "$@"
