#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# shellcheck disable=SC2317 # the check functions are called through t_check
#
# Authorization through the real polkitd, on a real systemd in a container. Our
# org.freedesktop.portable1.policy is the one polkitd knows (bind-mounted over the host's action
# directory inside the container only), and a JavaScript rule grants the user alice
# org.freedesktop.portable1.attach-images. Both users are created inside the container, whose
# root is a throwaway tmpfs.
#
#  - alice attaches and detaches the sample image with our portablectl through our portabled,
#    and the reload portablectl asks systemd for afterwards is authorized too: the policy's
#    org.freedesktop.policykit.imply annotation makes attach-images imply
#    org.freedesktop.systemd1.reload-daemon;
#  - bob is refused attach (with and without --no-ask-password) and detach, and nothing changes.
set -euo pipefail

SOURCE_ROOT=${SOURCE_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
# shellcheck source=tests/e2e/common.sh
. "$SOURCE_ROOT/tests/e2e/common.sh"

readonly RULE=/etc/polkit-1/rules.d/50-portabled-e2e.rules
readonly ACTIONS=/usr/share/polkit-1/actions
readonly ATTACH=org.freedesktop.portable1.attach-images

image() {
        echo "$E2E_IMAGES/sample_1.raw"
}

# pctl_as USER ARG...: our portablectl as USER inside the container; output in PCTL_OUT.
pctl_as() {
        local user=$1 rc=0
        shift
        e2e_log "($user) portablectl $*"
        PCTL_OUT=$(e2e_exec setpriv --reuid="$user" --regid="$user" --clear-groups \
                "$PORTABLECTL" --no-pager "$@" 2>&1) || rc=$?
        e2e_indent <<<"$PCTL_OUT" >&2
        return "$rc"
}

# What attach writes on the host, for "nothing changed" checks.
host_state() {
        e2e_sh "find $ATTACHED_ETC $ATTACHED_RUN /etc/portables /run/portables 2>/dev/null | sort"
        e2e_exec systemctl list-units --all --plain --no-legend 'sample*'
}

# ---- setting up ---------------------------------------------------------------------------

setup_users() {
        local user
        for user in alice bob; do
                e2e_exec useradd --user-group --no-create-home --shell /usr/sbin/nologin "$user"
                e2e_exec id "$user" >&2
        done
}

setup_polkit() {
        local overlay="$E2E_TMP/polkit-actions"

        # The host's actions with ours instead of whatever the host has for portable1.
        mkdir -p "$overlay"
        cp /usr/share/polkit-1/actions/*.policy "$overlay/"
        cp "$SOURCE_ROOT/data/org.freedesktop.portable1.policy" "$overlay/"
        e2e_exec mount --bind "$overlay" "$ACTIONS"

        e2e_exec mkdir -p "$(dirname "$RULE")"
        # Only attach-images: reloading systemd is implied by it (our policy's imply annotation).
        e2e_sh "cat >$RULE" <<'EOF'
// portabled e2e: alice may attach and detach portable images.
polkit.addRule(function(action, subject) {
        if (subject.user == "alice" && action.id == "org.freedesktop.portable1.attach-images")
                return polkit.Result.YES;
});
EOF
        e2e_exec systemctl restart polkit.service
        e2e_wait_for 20 "polkit on the bus" e2e_exec busctl --system status org.freedesktop.PolicyKit1 ||
                e2e_die "polkitd did not take org.freedesktop.PolicyKit1"

        # polkitd reads our policy file: the vendor is ours, not systemd's.
        local actions
        actions=$(e2e_exec pkaction --verbose --action-id "$ATTACH")
        e2e_indent <<<"$actions" >&2
        grep -q "vendor: *portabled" <<<"$actions" || e2e_die "polkitd does not use our policy file"
        grep -q "org.freedesktop.policykit.imply -> org.freedesktop.systemd1.reload-daemon" <<<"$actions" ||
                e2e_die "our attach-images action lacks the imply annotation"
}

# ---- alice --------------------------------------------------------------------------------

check_alice_attaches() {
        pctl_as alice attach "$(image)" || e2e_die "alice could not attach"
        output_has "$ATTACHED_ETC/sample.service"
        assert_state "$(image)" attached
        # portablectl's reload went through as alice, implied by attach-images; systemd knows the
        # units.
        output_lacks "Failed to reload"
        [[ "$(unit_prop sample.service LoadState)" == loaded ]] ||
                e2e_die "sample.service is $(unit_prop sample.service LoadState) after alice's attach"
        e2e_sh "journalctl --no-pager -o cat -u 'portabled-test*' | grep -qF \"Attached image '$(image)'\"" ||
                e2e_die "our daemon did not log the attach"
}

check_alice_detaches() {
        pctl_as alice detach "$(image)" || e2e_die "alice could not detach"
        output_has "Removed $ATTACHED_ETC/sample.service"
        output_lacks "Failed to reload"
        assert_state "$(image)" detached
        assert_clean
}

# ---- bob ----------------------------------------------------------------------------------

# bob_refused ARG...: `portablectl ARG...` as bob fails, names the action, and changes nothing.
bob_refused() {
        local before after
        before=$(host_state)
        if pctl_as bob "$@"; then
                e2e_die "bob may 'portablectl $*'"
        fi
        output_has "'$ATTACH'"
        after=$(host_state)
        [[ "$before" == "$after" ]] || e2e_die "bob's refused call changed the host: $(diff <(echo "$before") <(echo "$after"))"
}

check_bob_cannot_attach() {
        bob_refused attach "$(image)"
        assert_state "$(image)" detached
        bob_refused --no-ask-password attach "$(image)"
        output_has "Interactive authentication required"
        assert_state "$(image)" detached
        assert_clean
}

check_bob_cannot_detach() {
        pctl_ok attach "$(image)"
        assert_state "$(image)" attached
        bob_refused detach "$(image)"
        assert_state "$(image)" attached
        pctl_ok detach "$(image)"
        assert_clean
}

main() {
        [[ -x /usr/lib/polkit-1/polkitd ]] || e2e_skip "polkitd not installed (apt-get install polkitd)"
        e2e_setup
        t_require "users alice and bob inside the container" setup_users
        t_require "polkitd with our actions and a rule for alice" setup_polkit
        t_check "alice attaches through polkit, and may reload systemd (implied)" check_alice_attaches
        t_check "alice detaches through polkit" check_alice_detaches
        t_check "bob may not attach, and nothing changes" check_bob_cannot_attach
        t_check "bob may not detach, and nothing changes" check_bob_cannot_detach
        t_cleanup
        t_done
}

main "$@"
