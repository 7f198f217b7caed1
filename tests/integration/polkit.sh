#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Authorization through polkit. A fake polkitd (fake-polkit.c) serves org.freedesktop.PolicyKit1
# on the private bus and answers CheckAuthorization from a table. Two callers without privileges:
# alice (uid 4711), whom the table authorizes, and bob (uid 4712), whom it does not.
#  (a) alice attaches and detaches, with busctl and with our portablectl, and what she attaches is
#      byte for byte what root attaches;
#  (b) bob is refused every method that needs authorization, each with the action of the reference
#      table, and the host is unchanged; reads by name ask nobody;
#  (c) while polkit takes 3 s to answer alice, other callers are served at once;
#  (d) the ALLOW_INTERACTIVE_AUTHORIZATION flag reaches polkit as its AllowUserInteraction flag,
#      and a "challenge" answer becomes InteractiveAuthorizationRequired;
#  (e) a caller that disconnects while its query is pending leaves the daemon healthy, and its
#      request is not carried out;
#  (f) on a terminal, portablectl starts pkttyagent for itself, and stops it when done.
. "$(dirname "$0")/lib.sh"

ALICE=4711
BOB=4712

# dbus-daemon refuses connections from uids without a passwd entry. alice and bob get one in a
# private mount namespace, where the whole test runs: the host's /etc/passwd is left alone.
if [ "${PORTABLED_TEST_USERS:-}" != 1 ]; then
        [ "$(id -u)" -eq 0 ] || skip_all "needs root (mounts, setpriv)"
        for tool in setpriv unshare; do
                command -v "$tool" >/dev/null || skip_all "$tool not installed"
        done
        [ -x "$FAKE_POLKIT" ] || skip_all "fake-polkit not built at $FAKE_POLKIT"
        users=$(mktemp -d /tmp/portabled-test-users.XXXXXX)
        cp /etc/passwd /etc/group "$users/"
        printf 'alice:x:%s:%s::/nonexistent:/usr/sbin/nologin\nbob:x:%s:%s::/nonexistent:/usr/sbin/nologin\n' \
                $ALICE $ALICE $BOB $BOB >>"$users/passwd"
        printf 'alice:x:%s:\nbob:x:%s:\n' $ALICE $BOB >>"$users/group"
        # shellcheck disable=SC2016 # expanded by sh -c
        PORTABLED_TEST_USERS=1 unshare --mount --propagation private sh -c \
                'mount --bind "$1/passwd" /etc/passwd && mount --bind "$1/group" /etc/group && shift && exec "$@"' \
                sh "$users" "$0" "$@"
        rc=$?
        rm -rf "$users"
        exit "$rc"
fi

setup
ATTACH=org.freedesktop.portable1.attach-images
MANAGE=org.freedesktop.portable1.manage-images
INSPECT=org.freedesktop.portable1.inspect-images
FOO_OBJECT=$PORTABLE_PATH/image/$(bus_label foo)
RULES=$T/polkit.rules
PKLOG=$T/polkit.log

POOL=$ROOT/var/lib/portables
stage foo "$POOL/foo"
stage foo "$IMAGES/foo"
stage app0 "$IMAGES/app0"
# The bus socket and the clients' working directory live below the private test directory.
chmod o+x "$T" "$T/bus"
: >"$RULES"
: >"$PKLOG"
start_fake_polkit "$RULES" "$PKLOG" || exit 1

# ubus UID BUSCTL_ARGS...: busctl on the private bus as UID.
ubus() {
        local uid=$1
        shift
        as_user "$uid" busctl --address="$BUS_ADDRESS" --timeout=60 "$@"
}

# umcall UID [BUSCTL_OPTION...] METHOD SIGNATURE ARGS...: a Manager method as UID.
umcall() {
        local uid=$1
        shift
        local -a opts=()
        while [[ "${1:-}" == --* ]]; do
                opts+=("$1")
                shift
        done
        ubus "$uid" "${opts[@]}" call "$PORTABLE_DEST" "$PORTABLE_PATH" "$MANAGER_IFACE" "$@"
}

# uicall UID METHOD SIGNATURE ARGS...: a method of the image object of foo as UID.
uicall() {
        local uid=$1
        shift
        ubus "$uid" call "$PORTABLE_DEST" "$FOO_OBJECT" "$IMAGE_IFACE" "$@"
}

# uctl UID ARGS...: our portablectl as UID.
uctl() {
        local uid=$1
        shift
        (cd "$T/cwd" && DBUS_SYSTEM_BUS_ADDRESS=$BUS_ADDRESS exec setpriv --reuid="$uid" --regid="$uid" \
                --clear-groups "$PORTABLECTL" "$@")
}

rules() {
        printf '%s\n' "$@" >"$RULES"
}

# CheckAuthorization queries so far; "agent ..." lines are agents registering.
queries() {
        grep -vc '^agent ' "$PKLOG" || true
}

last_query() {
        grep -v '^agent ' "$PKLOG" | tail -n 1
}

agents() {
        grep -c '^agent ' "$PKLOG" || true
}

# wait_for_queries N: until the fake has received N queries in all (10 s at most).
wait_for_queries() {
        local _
        for _ in $(seq 1 200); do
                [ "$(queries)" -ge "$1" ] && return 0
                sleep 0.05
        done
        return 1
}

now_ms() {
        echo $(($(date +%s%N) / 1000000))
}

attached_state() {
        mcall GetImageState s foo
}

# ---------------------------------------------------------------------------- (a) alice may

# What root attaches, to compare with what alice attaches.
assert_ok "root attaches foo" mcall AttachImage sassbs foo 1 foo default false ""
assert_eq "root's call asked polkit nothing" 0 "$(queries)"
dump_attached >"$T/attached-by-root"
assert_ok "root detaches foo" mcall DetachImage sb foo false
snapshot >"$T/pristine"

rules "$ALICE $ATTACH yes"
n=$(queries)
assert_ok "alice: AttachImage authorized by polkit" umcall $ALICE AttachImage sassbs foo 1 foo default false ""
assert_eq "alice: foo is attached" 's "attached"' "$(attached_state)"
dump_attached >"$T/attached-by-alice"
if cmp -s "$T/attached-by-root" "$T/attached-by-alice"; then
        pass "alice's attach wrote what root's writes"
else
        fail "alice's attach wrote what root's writes" "$(diff -u "$T/attached-by-root" "$T/attached-by-alice")"
fi
assert_eq "alice: one query for AttachImage" $((n + 1)) "$(queries)"
alice_query=$(last_query)
assert_contains "alice: the subject is her bus name, the action attach-images, the image foo" "$alice_query" \
        "subject=system-bus-name::1." "uid=$ALICE" "action=$ATTACH" "image=foo" "answer=yes"
assert_ok "alice: DetachImage authorized by polkit" umcall $ALICE DetachImage sb foo false
assert_eq "alice: foo is detached" 's "detached"' "$(attached_state)"
assert_contains "alice: DetachImage asked for attach-images" "$(last_query)" "uid=$ALICE" "action=$ATTACH"

assert_ok "alice: portablectl attach" uctl $ALICE --no-reload attach foo
assert_contains "alice: portablectl attach printed the change list" "$OUT$ERR" "foo.service"
assert_eq "alice: foo is attached by portablectl" 's "attached"' "$(attached_state)"
assert_ok "alice: portablectl detach" uctl $ALICE --no-reload detach foo
assert_eq "alice: foo is detached by portablectl" 's "detached"' "$(attached_state)"
assert_root_unchanged "alice: attach and detach leave the host as it was" "$T/pristine"

# The operation goes through the Image object too.
assert_ok "alice: Image.Attach" uicall $ALICE Attach assbs 1 foo default true ""
assert_ok "alice: Image.Detach" uicall $ALICE Detach b true
assert_root_unchanged "alice: Image.Attach and Image.Detach leave the host as it was" "$T/pristine"

# Root needs no rule even with polkit on the bus.
n=$(queries)
assert_ok "root: AttachImage with polkit on the bus" mcall AttachImage sassbs foo 1 foo default true ""
assert_ok "root: DetachImage with polkit on the bus" mcall DetachImage sb foo true
assert_eq "root: polkit was not asked" "$n" "$(queries)"

# ---------------------------------------------------------------------------- (b) bob may not

snapshot >"$T/before-bob"

# check_refused NAME ACTION IMAGE -- CALL...: refused with AccessDenied naming the action and the
# image, after asking polkit exactly once about that action, that image and bob.
check_refused() {
        local name=$1 action=$2 image=$3 n
        shift 4
        n=$(queries)
        assert_fails_with "bob: $name is refused" org.freedesktop.DBus.Error.AccessDenied "'$action'" \
                ${image:+"image '$image'"} -- "$@"
        if [ "$(queries)" -ne $((n + 1)) ]; then
                fail "bob: $name asked polkit once" "queries before: $n, after: $(queries)"
        else
                assert_contains "bob: $name asked polkit about $action" "$(last_query)" "uid=$BOB" \
                        "action=$action" "image=${image:--}" "answer=no"
        fi
}

rules "$ALICE * yes"
check_refused AttachImage $ATTACH foo -- umcall $BOB AttachImage sassbs foo 1 foo default false ""
check_refused AttachImageWithExtensions $ATTACH foo -- \
        umcall $BOB AttachImageWithExtensions sasassst foo 0 1 foo default "" 0
check_refused DetachImage $ATTACH foo -- umcall $BOB DetachImage sb foo false
check_refused DetachImageWithExtensions $ATTACH foo -- umcall $BOB DetachImageWithExtensions sast foo 0 0
check_refused ReattachImage $ATTACH foo -- umcall $BOB ReattachImage sassbs foo 1 foo default false ""
check_refused ReattachImageWithExtensions $ATTACH foo -- \
        umcall $BOB ReattachImageWithExtensions sasassst foo 0 1 foo default "" 0
check_refused RemoveImage $MANAGE foo -- umcall $BOB RemoveImage s foo
check_refused MarkImageReadOnly $MANAGE foo -- umcall $BOB MarkImageReadOnly sb foo true
check_refused SetImageLimit $MANAGE foo -- umcall $BOB SetImageLimit st foo 1000000
check_refused SetPoolLimit $MANAGE "" -- umcall $BOB SetPoolLimit t 1000000
check_refused "GetImageMetadata by path" $INSPECT "$IMAGES/foo" -- umcall $BOB GetImageMetadata sas "$IMAGES/foo" 0
check_refused "GetImageMetadataWithExtensions by path" $INSPECT "$IMAGES/foo" -- \
        umcall $BOB GetImageMetadataWithExtensions sasast "$IMAGES/foo" 0 0 0
check_refused "GetImageOSRelease by path" $INSPECT "$IMAGES/foo" -- umcall $BOB GetImageOSRelease s "$IMAGES/foo"
# An image by name is open to everyone, but an extension by path is read as root just the same.
check_refused "GetImageMetadataWithExtensions with an extension by path" $INSPECT "$IMAGES/app0" -- \
        umcall $BOB GetImageMetadataWithExtensions sasast foo 1 "$IMAGES/app0" 1 foo 0
check_refused "GetImageMetadataWithLayers with an extension by path" $INSPECT "$IMAGES/app0" -- \
        umcall $BOB GetImageMetadataWithLayers sasast foo 1 "$IMAGES/app0" 1 foo 0
check_refused "GetImageMetadataWithOptions with an extension by path" $INSPECT "$IMAGES/app0" -- \
        umcall $BOB GetImageMetadataWithOptions 'sasasta{sv}' foo 1 "$IMAGES/app0" 1 foo 0 0
check_refused "Image.GetMetadataWithExtensions with an extension by path" $INSPECT "$IMAGES/app0" -- \
        uicall $BOB GetMetadataWithExtensions asast 1 "$IMAGES/app0" 1 foo 0
check_refused Image.Attach $ATTACH foo -- uicall $BOB Attach assbs 1 foo default false ""
check_refused Image.AttachWithExtensions $ATTACH foo -- uicall $BOB AttachWithExtensions asassst 0 1 foo default "" 0
check_refused Image.Detach $ATTACH foo -- uicall $BOB Detach b false
check_refused Image.DetachWithExtensions $ATTACH foo -- uicall $BOB DetachWithExtensions ast 0 0
check_refused Image.Reattach $ATTACH foo -- uicall $BOB Reattach assbs 1 foo default false ""
check_refused Image.ReattachWithExtensions $ATTACH foo -- \
        uicall $BOB ReattachWithExtensions asassst 0 1 foo default "" 0
check_refused Image.ReattacheWithExtensions $ATTACH foo -- \
        uicall $BOB ReattacheWithExtensions asassst 0 1 foo default "" 0
check_refused Image.Remove $MANAGE foo -- uicall $BOB Remove
check_refused Image.MarkReadOnly $MANAGE foo -- uicall $BOB MarkReadOnly b true
check_refused Image.SetLimit $MANAGE foo -- uicall $BOB SetLimit t 1000000
assert_fails_with "bob: portablectl attach is refused" "Not authorized to perform '$ATTACH' on image" -- \
        uctl $BOB --no-reload attach foo

# Reads are open to everyone and ask nobody.
n=$(queries)
assert_ok "bob: ListImages" umcall $BOB ListImages
assert_ok "bob: GetImage" umcall $BOB GetImage s foo
assert_ok "bob: GetImageState" umcall $BOB GetImageState s foo
assert_ok "bob: GetImageStateWithExtensions" umcall $BOB GetImageStateWithExtensions sast foo 0 0
assert_ok "bob: GetImageMetadata by name" umcall $BOB GetImageMetadata sas foo 0
assert_ok "bob: GetImageOSRelease by name" umcall $BOB GetImageOSRelease s foo
assert_ok "bob: GetImageMetadataWithLayers by name" umcall $BOB GetImageMetadataWithLayers sasast foo 0 1 foo 0
assert_ok "bob: Image.GetMetadata" uicall $BOB GetMetadata as 0
assert_ok "bob: Image.GetOSRelease" uicall $BOB GetOSRelease
assert_ok "bob: Image.GetState" uicall $BOB GetState
assert_ok "bob: image property Path" ubus $BOB get-property "$PORTABLE_DEST" "$FOO_OBJECT" "$IMAGE_IFACE" Path
assert_ok "bob: portablectl list" uctl $BOB list
assert_ok "bob: portablectl inspect foo" uctl $BOB inspect foo
assert_eq "bob: reads asked polkit nothing" "$n" "$(queries)"

# A polkit that fails refuses too.
rules "$BOB $ATTACH error"
assert_fails_with "bob: a polkit error refuses" org.freedesktop.DBus.Error.AccessDenied \
        "polkit failed to check" "org.freedesktop.PolicyKit1.Error.Failed" -- \
        umcall $BOB AttachImage sassbs foo 1 foo default false ""

assert_root_unchanged "bob's calls changed nothing" "$T/before-bob"
[ -d "$POOL/foo" ] && pass "bob: the image is still there" || fail "bob: the image is still there"

# ------------------------------------------------------------------ (d) interactive or not

rules "$ALICE $ATTACH yes" "$BOB $MANAGE challenge"
umcall $ALICE AttachImage sassbs foo 1 foo default false "" >/dev/null
assert_contains "busctl's default allows interaction: flags=1" "$(last_query)" "uid=$ALICE" "flags=1"
umcall $ALICE --allow-interactive-authorization=no DetachImage sb foo false >/dev/null
assert_contains "--allow-interactive-authorization=no: flags=0" "$(last_query)" "uid=$ALICE" "flags=0"
uctl $ALICE --no-reload attach foo >/dev/null 2>&1
assert_contains "portablectl allows interaction: flags=1" "$(last_query)" "uid=$ALICE" "flags=1"
uctl $ALICE --no-reload --no-ask-password detach foo >/dev/null 2>&1
assert_contains "portablectl --no-ask-password: flags=0" "$(last_query)" "uid=$ALICE" "flags=0"
assert_eq "alice: attached and detached again" 's "detached"' "$(attached_state)"

assert_fails_with "a challenge without interaction is InteractiveAuthorizationRequired" \
        org.freedesktop.DBus.Error.InteractiveAuthorizationRequired "'$MANAGE'" "image 'foo'" -- \
        umcall $BOB --allow-interactive-authorization=no RemoveImage s foo
assert_fails_with "portablectl --no-ask-password: InteractiveAuthorizationRequired" \
        "Interactive authentication required to perform '$MANAGE' on image 'foo'" -- \
        uctl $BOB --no-ask-password remove foo
[ -d "$POOL/foo" ] && pass "a challenge removed nothing" || fail "a challenge removed nothing"

# -------------------------------------------------------------- (c) serving while polkit thinks

rules "$ALICE $ATTACH yes 3000" "$BOB $ATTACH no"
n=$(queries)
(
        start=$(now_ms)
        umcall $ALICE AttachImage sassbs foo 1 foo default false "" >"$T/slow.out" 2>&1
        echo "$? $(($(now_ms) - start))" >"$T/slow.status"
) &
slow=$!
if wait_for_queries $((n + 1)); then
        pass "alice's query reached polkit"
else
        fail "alice's query reached polkit"
fi
start=$(now_ms)
assert_ok "ListImages while polkit thinks about alice" umcall $BOB ListImages
elapsed=$(($(now_ms) - start))
diag "ListImages answered in ${elapsed} ms while a CheckAuthorization answer was delayed by 3 s"
[ "$elapsed" -lt 1500 ] && pass "ListImages was answered at once (${elapsed} ms)" ||
        fail "ListImages was answered at once" "took ${elapsed} ms"
start=$(now_ms)
assert_fails_with "bob's AttachImage is refused while alice's query is pending" AccessDenied -- \
        umcall $BOB AttachImage sassbs foo 1 foo default false ""
elapsed=$(($(now_ms) - start))
[ "$elapsed" -lt 1500 ] && pass "bob's query was answered at once (${elapsed} ms)" ||
        fail "bob's query was answered at once" "took ${elapsed} ms"
wait "$slow"
read -r slow_rc slow_ms <"$T/slow.status"
assert_eq "alice's delayed AttachImage succeeded" 0 "$slow_rc"
[ "$slow_ms" -ge 2500 ] && pass "alice's AttachImage waited for polkit (${slow_ms} ms)" ||
        fail "alice's AttachImage waited for polkit" "took ${slow_ms} ms: $(cat "$T/slow.out")"
assert_eq "foo is attached after the delayed answer" 's "attached"' "$(attached_state)"
assert_ok "root detaches foo" mcall DetachImage sb foo false

# ------------------------------------------------------------- (e) disconnecting mid-query

snapshot >"$T/before-disconnect"

# disconnect_mid_query UID: a call that polkit answers after 2 s, its caller killed after 0.5 s.
disconnect_mid_query() {
        local n pid
        n=$(queries)
        # Not through umcall: $! must be busctl itself, not a subshell.
        setpriv --reuid="$1" --regid="$1" --clear-groups busctl --address="$BUS_ADDRESS" call "$PORTABLE_DEST" \
                "$PORTABLE_PATH" "$MANAGER_IFACE" AttachImage sassbs foo 1 foo default false "" >/dev/null 2>&1 &
        pid=$!
        wait_for_queries $((n + 1))
        sleep 0.5
        kill -KILL "$pid" 2>/dev/null
        wait "$pid" 2>/dev/null
        # polkit answers, the daemon notices the caller is gone.
        sleep 2
}

rules "$BOB $ATTACH no 2000"
disconnect_mid_query $BOB
kill -0 "$DAEMON_PID" 2>/dev/null && pass "daemon alive after bob disconnected mid-query" ||
        fail "daemon alive after bob disconnected mid-query"
assert_ok "ListImages after bob disconnected mid-query" mcall ListImages

rules "$ALICE $ATTACH yes 2000"
disconnect_mid_query $ALICE
assert_ok "ListImages after alice disconnected mid-query" mcall ListImages
assert_eq "alice's abandoned attach was not carried out" 's "detached"' "$(attached_state)"
assert_contains "the daemon dropped the abandoned request" "$(cat "$T/log/portabled.log")" \
        "Dropping the request for '$ATTACH'" "disconnected while polkit decided"
assert_root_unchanged "abandoned requests changed nothing" "$T/before-disconnect"

# And it goes on authorizing.
rules "$ALICE $ATTACH yes"
assert_ok "alice: AttachImage after all that" umcall $ALICE AttachImage sassbs foo 1 foo default false ""
assert_ok "alice: DetachImage after all that" umcall $ALICE DetachImage sb foo false

# ------------------------------------------------------------------ (f) the agent on a terminal

# uctl_tty UID ARGS...: our portablectl as UID with a terminal on stdin (script(1) makes one).
uctl_tty() {
        local uid=$1 cmd
        shift
        cmd=$(printf '%q ' "$PORTABLECTL" "$@")
        (cd "$T/cwd" && DBUS_SYSTEM_BUS_ADDRESS=$BUS_ADDRESS exec setpriv --reuid="$uid" --regid="$uid" \
                --clear-groups script --quiet --return --command "$cmd" /dev/null)
}

if command -v script >/dev/null && [ -x /usr/bin/pkttyagent ]; then
        n=$(agents)
        assert_ok "alice on a terminal: portablectl attach" uctl_tty $ALICE --no-reload attach foo
        assert_eq "an agent registered" $((n + 1)) "$(agents)"
        assert_contains "the agent is for portablectl" "$(grep '^agent ' "$PKLOG" | tail -n 1)" \
                "subject=unix-process" "comm=portablectl"
        assert_eq "no agent left running" "" "$(pgrep -u $ALICE -x pkttyagent)"
        assert_ok "alice on a terminal: portablectl --no-ask-password detach" \
                uctl_tty $ALICE --no-ask-password --no-reload detach foo
        assert_eq "--no-ask-password starts no agent" $((n + 1)) "$(agents)"
        assert_ok "alice on a terminal: portablectl list" uctl_tty $ALICE list
        assert_eq "list starts no agent" $((n + 1)) "$(agents)"
        assert_ok "root on a terminal: portablectl attach" uctl_tty 0 --no-reload attach foo
        assert_ok "root on a terminal: portablectl detach" uctl_tty 0 --no-reload detach foo
        assert_eq "root starts no agent" $((n + 1)) "$(agents)"
        assert_ok "alice without a terminal: portablectl attach" uctl $ALICE --no-reload attach foo
        assert_ok "alice without a terminal: portablectl detach" uctl $ALICE --no-reload detach foo
        assert_eq "without a terminal no agent registers" $((n + 1)) "$(agents)"
else
        skip "the polkit agent on a terminal" "script or pkttyagent not installed"
fi

finish
