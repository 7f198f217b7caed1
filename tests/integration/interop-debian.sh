#!/usr/bin/env bash
# Debian's portablectl (systemd 252) against our daemon: it lists, inspects, attaches and detaches
# directory and squashfs images, persistent and runtime, and the files written are the same golden
# trees as with our client; attachments made by one client are detached by the other.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/client-scenarios.sh"
setup
have_debian || skip_all "Debian's portablectl ($DEBIAN_PORTABLECTL) or unshare not available"

stage_client_images

assert_ok "debian: list" run_debian list --no-legend
assert_eq "debian: list shows foo detached" "foo directory no detached" "$(echo "$OUT" | awk '{ print $1, $2, $3, $NF }')"
assert_ok "debian: --profile=help" run_debian --profile=help
assert_eq "debian: --profile=help lists our Profiles property" "default nonetwork strict trusted" \
        "$(echo "$OUT" | grep -v 'Available unit profiles:' | tr '\n' ' ' | sed 's/ $//')"

client_scenarios run_debian debian

if have_ours; then
        snapshot >"$T/pristine2"
        assert_ok "ours attaches" run_ours attach --no-reload --runtime "$IMAGES/foo"
        assert_ok "debian sees it attached" run_debian is-attached "$IMAGES/foo"
        assert_eq "debian: is-attached attached-runtime" "attached-runtime" "$OUT"
        assert_ok "debian detaches what ours attached" run_debian detach --no-reload --runtime "$IMAGES/foo"
        assert_root_unchanged "cross detach (ours -> debian) restores the root" "$T/pristine2"

        assert_ok "debian attaches" run_debian attach --no-reload "$IMAGES/foo_squashfs.raw"
        assert_ok "ours sees it attached" run_ours is-attached "$IMAGES/foo_squashfs.raw"
        assert_eq "ours: is-attached attached" "attached" "$OUT"
        assert_ok "ours detaches what debian attached" run_ours detach --no-reload "$IMAGES/foo_squashfs.raw"
        assert_root_unchanged "cross detach (debian -> ours) restores the root" "$T/pristine2"

        for args in "inspect foo" "inspect --cat foo" "inspect $IMAGES/foo_squashfs.raw foo.service" "is-attached foo" "list --no-legend"; do
                # shellcheck disable=SC2086
                run run_debian --no-pager $args
                debian_out=$OUT
                # shellcheck disable=SC2086
                run run_ours --no-pager $args
                if [ "$args" = "list --no-legend" ]; then
                        assert_eq "'$args': same rows from both clients (name type ro state)" \
                                "$(echo "$debian_out" | awk '{ print $1, $2, $3, $NF }')" "$(echo "$OUT" | awk '{ print $1, $2, $3, $NF }')"
                else
                        # Ours says more about raw images: their partitions and the pinned policy.
                        assert_eq "'$args': same output from both clients (ours without the image layout)" \
                                "$debian_out" "$(awk '/^[^\t]/ { skip = ($0 == "Partitions:" || $0 == "Image Policy (pinned):") } !skip' <<<"$OUT")"
                fi
        done

        assert_ok "ours: attach for the change-message comparison" run_ours attach --no-reload "$IMAGES/foo"
        ours_msgs=$(echo "$ERR" | sort)
        run_ours detach --no-reload "$IMAGES/foo" >/dev/null 2>&1
        restore_skeleton
        assert_ok "debian: attach for the change-message comparison" run_debian attach --no-reload "$IMAGES/foo"
        assert_eq "attach change messages are the same from both clients" "$(echo "$ERR" | sort)" "$ours_msgs"
        run_debian detach --no-reload "$IMAGES/foo" >/dev/null 2>&1
        assert_root_unchanged "comparison attach/detach restores the root" "$T/pristine2"
fi

finish
