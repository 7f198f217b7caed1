#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Our D-Bus policy, data/org.freedesktop.portable1.conf, on a bus whose defaults are those of the
# system bus (no method calls unless a policy allows them): it lets a caller without privileges
# (uid 65534) send every method of both interfaces, the *WithExtensions ones included, since the
# daemon does the authorization; the daemon, not the bus, answers each call. Methods the policy
# does not name stay refused by the bus.
. "$(dirname "$0")/lib.sh"

# lib.sh's permissive bus, replaced before setup starts it: Debian's system.conf defaults plus our
# policy file.
_bus_config() {
        cat <<EOF
<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>system</type>
  <listen>unix:path=$T/bus/system_bus_socket</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow user="*"/>
    <deny own="*"/>
    <deny send_type="method_call"/>
    <allow send_type="signal"/>
    <allow send_requested_reply="true" send_type="method_return"/>
    <allow send_requested_reply="true" send_type="error"/>
    <allow receive_type="method_call"/>
    <allow receive_type="method_return"/>
    <allow receive_type="error"/>
    <allow receive_type="signal"/>
    <allow send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.DBus"/>
    <allow send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.DBus.Introspectable"/>
  </policy>
  <include>$SOURCE_ROOT/data/org.freedesktop.portable1.conf</include>
</busconfig>
EOF
}

setup

command -v setpriv >/dev/null || skip_all "setpriv not installed"

stage foo "$ROOT/var/lib/portables/foo"
chmod o+x "$T" "$T/bus"
FOO_OBJECT=$PORTABLE_PATH/image/$(bus_label foo)

nobody() {
        as_user 65534 "$@"
}

# The bus refuses with "Rejected send message"; the daemon refuses without polkit with "polkit is
# not available". Anything but the first means the call got through.
while read -r object method signature args; do
        path=$PORTABLE_PATH iface=$MANAGER_IFACE
        if [ "$object" = image ]; then
                path=$FOO_OBJECT iface=$IMAGE_IFACE
        fi
        words=()
        eval "words=($signature $args)" # the arguments as the shell would split them ("" is empty)
        SYSTEMD_LOG_LEVEL=debug nobody busctl --address="$BUS_ADDRESS" call "$PORTABLE_DEST" "$path" "$iface" \
                "$method" "${words[@]}" >"$T/call.out" 2>"$T/call.err"
        rc=$?
        error=$(_bus_error_of "$T/call.err")
        if [[ "$error" == *"Rejected send message"* ]]; then
                fail "the bus lets $object $method through" "$error"
        elif [ "$rc" -ne 0 ] && [[ "$error" != *"polkit is not available"* ]]; then
                fail "the bus lets $object $method through" "unexpected error: $error $(cat "$T/call.err" | tail -n 3)"
        else
                pass "the bus lets $object $method through"
        fi
done <<'EOF2'
manager GetImage s foo
manager ListImages
manager ListImageVersions
manager GetImageOSRelease s foo
manager GetImageMetadata sas foo 0
manager GetImageMetadataWithExtensions sasast foo 0 0 0
manager GetImageMetadataWithLayers sasast foo 0 0 0
manager GetImageState s foo
manager GetImageStateWithExtensions sast foo 0 0
manager AttachImage sassbs foo 1 foo default true ""
manager AttachImageWithExtensions sasassst foo 0 1 foo default "" 0
manager DetachImage sb foo true
manager DetachImageWithExtensions sast foo 0 1
manager ReattachImage sassbs foo 1 foo default true ""
manager ReattachImageWithExtensions sasassst foo 0 1 foo default "" 0
manager RemoveImage s foo
manager MarkImageReadOnly sb foo true
manager SetImageLimit st foo 1000000
manager SetPoolLimit t 1000000
manager GetImageMetadataWithOptions sasasta{sv} foo 0 0 0 0
manager AttachImageWithOptions sasasssta{sv} foo 0 1 foo default "" 0 0
manager ReattachImageWithOptions sasasssta{sv} foo 0 1 foo default "" 0 0
image GetOSRelease
image GetMetadata as 0
image GetMetadataWithExtensions asast 0 0 0
image GetMetadataWithLayers asast 0 0 0
image GetState
image GetStateWithExtensions ast 0 0
image Attach assbs 1 foo default true ""
image AttachWithExtensions asassst 0 1 foo default "" 0
image Detach b true
image DetachWithExtensions ast 0 1
image Reattach assbs 1 foo default true ""
image ReattachWithExtensions asassst 0 1 foo default "" 0
image ReattacheWithExtensions asassst 0 1 foo default "" 0
image Remove
image MarkReadOnly b true
image SetLimit t 1000000
EOF2

assert_ok "properties may be read" nobody busctl --address="$BUS_ADDRESS" get-property "$PORTABLE_DEST" \
        "$PORTABLE_PATH" "$MANAGER_IFACE" PoolPath
assert_fails_with "a method the policy does not name is refused by the bus" "Rejected send message" -- \
        nobody busctl --address="$BUS_ADDRESS" call "$PORTABLE_DEST" "$PORTABLE_PATH" "$MANAGER_IFACE" Frobnicate
assert_fails_with "only root may own the name" org.freedesktop.DBus.Error.AccessDenied -- \
        nobody busctl --address="$BUS_ADDRESS" call org.freedesktop.DBus /org/freedesktop/DBus org.freedesktop.DBus \
        RequestName su org.freedesktop.portable1 0

finish
