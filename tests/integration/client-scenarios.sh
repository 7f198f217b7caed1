# SPDX-License-Identifier: LGPL-2.1-or-later
# shellcheck shell=bash
# Attach/detach scenarios driven through a portablectl binary, shared by portablectl.sh (our
# client) and interop-debian.sh (Debian's). Sourced after lib.sh and setup; expects the images
# staged by stage_client_images. The files written must match the same golden trees as the
# busctl-driven tests.

stage_client_images() {
        stage foo "$ROOT/var/lib/portables/foo"
        stage foo "$IMAGES/foo"
        stage foo "$IMAGES/foo_1"
        stage foo_2 "$IMAGES/foo_2"
        build_raw squashfs "$TEST_DATA/images/foo" "$IMAGES/foo_squashfs.raw"
}

# client_scenarios CLIENT LABEL: CLIENT is run_ours or run_debian.
client_scenarios() {
        local c=$1 l=$2
        local raw=$IMAGES/foo_squashfs.raw
        snapshot >"$T/pristine"

        assert_ok "$l: inspect foo" "$c" --no-pager inspect foo
        printf '%s\n' "$OUT" >"$T/inspect.out"
        assert_file_eq "$l: inspect foo output" inspect-foo.txt "$T/inspect.out"
        assert_contains "$l: inspect reports the derived prefix" "$ERR" "(Matching unit files with prefix 'foo'.)"
        assert_ok "$l: inspect --cat foo with two prefixes" "$c" --no-pager inspect --cat foo foo.service foo.bar
        printf '%s\n' "$OUT" >"$T/inspect.out"
        assert_file_eq "$l: inspect --cat output" inspect-cat-foo.txt "$T/inspect.out"

        assert_ok "$l: attach --no-reload foo" "$c" attach --no-reload foo
        assert_attached_eq "$l: attach foo: files written" dir-auto-persistent.tree
        assert_contains "$l: attach prints the changes" "$ERR" \
                "Written $ROOT/etc/systemd/system.attached/foo.service.d/20-portable.conf." \
                "Created symlink $ROOT/etc/systemd/system.attached/foo.service.d/10-profile.conf"
        assert_ok "$l: is-attached foo" "$c" is-attached foo
        assert_eq "$l: is-attached foo prints attached" "attached" "$OUT"
        assert_ok "$l: detach --no-reload foo" "$c" detach --no-reload foo
        assert_root_unchanged "$l: detach foo restores the root" "$T/pristine"

        assert_ok "$l: attach --no-reload --runtime --copy=copy path" "$c" attach --no-reload --runtime --copy=copy "$IMAGES/foo"
        assert_attached_eq "$l: attach --runtime --copy=copy: files written" dir-copy-runtime.tree
        assert_ok "$l: is-attached path" "$c" is-attached "$IMAGES/foo"
        assert_eq "$l: is-attached prints attached-runtime" "attached-runtime" "$OUT"
        assert_ok "$l: detach --no-reload --runtime path" "$c" detach --no-reload --runtime "$IMAGES/foo"
        assert_root_unchanged "$l: runtime detach restores the root" "$T/pristine"

        assert_ok "$l: attach --no-reload --copy=symlink path" "$c" attach --no-reload --copy=symlink "$IMAGES/foo"
        assert_attached_eq "$l: attach --copy=symlink: files written" dir-symlink-persistent.tree
        assert_ok "$l: detach --no-reload path" "$c" detach --no-reload "$IMAGES/foo"
        assert_root_unchanged "$l: detach after --copy=symlink restores the root" "$T/pristine"

        assert_ok "$l: attach --no-reload squashfs" "$c" attach --no-reload "$raw"
        assert_attached_eq "$l: attach squashfs: files written" raw-auto-persistent.tree IMAGE="$raw" IMAGEFILE="${raw##*/}" \
                POLICY="root=squashfs:=absent"
        assert_ok "$l: detach --no-reload squashfs" "$c" detach --no-reload "$raw"
        assert_root_unchanged "$l: detach squashfs restores the root" "$T/pristine"
        assert_no_leaks "$l: squashfs attach/detach leaves no loop device or mount" "$raw"

        assert_ok "$l: attach --no-reload foo_1" "$c" attach --no-reload "$IMAGES/foo_1"
        assert_contains "$l: prefix derived from foo_1 is foo" "$ERR" "(Matching unit files with prefix 'foo'.)"
        assert_ok "$l: reattach --no-reload foo_2" "$c" reattach --no-reload "$IMAGES/foo_2"
        assert_attached_eq "$l: reattach to foo_2: files written" reattach-v2.tree
        assert_ok "$l: detach --no-reload foo_2" "$c" detach --no-reload "$IMAGES/foo_2"
        assert_root_unchanged "$l: detach after reattach restores the root" "$T/pristine"

        run "$c" attach --no-reload nope
        assert_eq "$l: attach of an unknown image exits 1" 1 "$RC"
        assert_contains "$l: attach of an unknown image says why" "$ERR" "No image 'nope' found."
        run "$c" attach --no-reload "$IMAGES/foo" -
        assert_eq "$l: attach with '-' (all units) exits 1" 1 "$RC"
        assert_contains "$l: attach with '-' is refused" "$ERR" "Refusing all unit file match."
        run "$c" attach --no-reload "$IMAGES/missing"
        assert_eq "$l: attach of a missing path exits 1" 1 "$RC"
        run "$c" attach --no-reload --copy=bogus foo
        assert_eq "$l: --copy=bogus exits 1" 1 "$RC"
        run "$c" attach --no-reload --profile=nosuchprofile foo
        assert_eq "$l: unknown profile exits 1" 1 "$RC"
        assert_contains "$l: unknown profile names the available ones" "$ERR" "nosuchprofile" "default" "trusted"
        assert_root_unchanged "$l: refused commands leave the root as it was" "$T/pristine"

        assert_ok "$l: attach without --no-reload succeeds with no service manager on the bus" "$c" attach foo
        assert_attached_eq "$l: attach with reload: files written" dir-auto-persistent.tree
        assert_ok "$l: detach without --no-reload" "$c" detach foo
        assert_root_unchanged "$l: detach with reload restores the root" "$T/pristine"
}
