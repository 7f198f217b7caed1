#!/usr/bin/env bash
# Our portablectl against our daemon: list, inspect, attach/detach/reattach/is-attached in every
# copy mode, profile and copy-mode help, error exits. The files written must match the golden trees
# of the busctl-driven tests.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/client-scenarios.sh"
setup
have_ours || skip_all "portablectl not built at $PORTABLECTL"

assert_ok "list with no images" run_ours list
assert_eq "list with no images says so" "No images." "$OUT"

stage_client_images
assert_ok "list" run_ours list
assert_eq "list header" "NAME TYPE RO CRTIME MTIME USAGE STATE" "$(echo "$OUT" | head -n 1 | tr -s ' ')"
assert_eq "list footer" "1 images listed." "$(echo "$OUT" | tail -n 1)"
assert_ok "list --no-legend" run_ours list --no-legend
assert_eq "list --no-legend: one row, name type ro ... state" "foo directory no detached" \
        "$(echo "$OUT" | awk '{ print $1, $2, $3, $NF }')"
assert_ok "--profile=help" run_ours --profile=help
assert_eq "--profile=help lists the Profiles property" "default nonetwork strict trusted" \
        "$(echo "$OUT" | grep -v 'Available unit profiles:' | tr '\n' ' ' | sed 's/ $//')"
assert_ok "--copy=help" run_ours --copy=help
assert_eq "--copy=help lists the copy modes" "auto copy symlink mixed" "$(echo "$OUT" | tr '\n' ' ' | sed 's/ $//')"
run run_ours is-attached foo
assert_eq "is-attached of a detached image prints detached" "detached" "$OUT"
assert_eq "is-attached of a detached image exits 1 (documented, unlike systemd's)" 1 "$RC"

client_scenarios run_ours ours

snapshot >"$T/pristine2"
assert_ok "attach -q" run_ours attach -q --no-reload foo
assert_eq "attach -q prints nothing" "" "$OUT$ERR"
assert_ok "is-attached -q" run_ours is-attached -q foo
assert_eq "is-attached -q prints nothing" "" "$OUT"
assert_ok "detach -q" run_ours detach -q --no-reload foo
assert_root_unchanged "detach -q restores the root" "$T/pristine2"

touch "$T/cwd/foo"
assert_ok "inspect by name with a same-named file in the working directory" run_ours inspect foo
assert_contains "ambiguous invocation is warned about" "$ERR" "Ambiguous invocation"
rm "$T/cwd/foo"

finish
