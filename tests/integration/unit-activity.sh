#!/usr/bin/env bash
# What the daemon asks PID 1 before an attach, against a stand-in for PID 1 (fake-systemd) that
# logs every call: with matches, one ListUnitsByPatterns for the prefix patterns, sent while the
# image is read, whose answer covers every unit of the image, so that an active unit (or an active
# instance of a template) of the image is refused as before; without matches, one question with
# the image's unit names, once they are known. A detach asks by the prefix of the image's name at
# once, without listing every attachment first, and asks again by name about units of the
# attachment the prefix does not cover.
. "$(dirname "$0")/lib.sh"
setup
[ -x "$FAKE_SYSTEMD" ] || skip_all "fake-systemd not built at $FAKE_SYSTEMD"

UNITS=$T/pid1-units
CALLS=$T/pid1-calls
: >"$UNITS"
start_fake_systemd "$UNITS" "$CALLS" || exit 1

# foo: foo.service, foo-bar.socket, foo@.service, foo.target, foo.bar.timer, foo-shadow.service
# (and units the prefix "foo" does not match: foo_x.service, foobar.service).
stage foo "$ROOT/var/lib/portables/foo"
snapshot >"$T/pristine"

STATES="activating active reloading deactivating"
queries() { grep "^ListUnitsByPatterns \[$STATES\] " "$CALLS" 2>/dev/null; }

# refused_while_active UNIT: PID 1 runs UNIT; attaching foo is refused, and nothing is written.
refused_while_active() {
        local active=$1 unit=$2
        echo "$active loaded active" >"$UNITS"
        : >"$CALLS"
        assert_fails_with "$active active: attach refused" \
                "'$unit' is active already, refusing." \
                -- mcall AttachImage sassbs foo 1 foo default false ""
        assert_root_unchanged "$active active: nothing written" "$T/pristine"
        assert_eq "$active active: one question to PID 1, by prefix" \
                "ListUnitsByPatterns [$STATES] [foo foo.* foo-* foo@*]" "$(queries)"
}
refused_while_active foo.service foo.service
refused_while_active foo-bar.socket foo-bar.socket
refused_while_active foo.bar.timer foo.bar.timer
# A template is active while any instance of it is.
refused_while_active foo@web.service foo@.service

# Units the prefix does not cover are not the image's: running, they change nothing.
printf 'foobar.service loaded active\nfoo_x.service loaded active\nbar.service loaded active\n' >"$UNITS"
: >"$CALLS"
assert_ok "units outside the prefix run: attach goes ahead" mcall AttachImage sassbs foo 1 foo default false ""
assert_eq "one question, asked once" 1 "$(queries | wc -l)"
assert_ok "detach" mcall DetachImage sb foo false
assert_root_unchanged "detach leaves nothing behind" "$T/pristine"

# Without matches every unit of the image counts: PID 1 is asked by name once they are known.
# (The image's units that no prefix would take are attached then too: foo_x, foobar.)
echo "foobar.service loaded active" >"$UNITS"
: >"$CALLS"
assert_fails_with "no matches: an active unit of the image is refused" \
        "'foobar.service' is active already, refusing." \
        -- mcall AttachImage sassbs foo 0 default false ""
assert_root_unchanged "no matches: nothing written" "$T/pristine"
assert_contains "no matches: the question names the units" "$(queries)" "foobar.service" "foo.service" "foo@*.service"
assert_eq "no matches: one question" 1 "$(queries | wc -l)"

# --- detach ---------------------------------------------------------------------------------------

# Attached with matches: every unit is one the prefix covers, one question answers for all.
: >"$UNITS"
assert_ok "attach foo with matches" mcall AttachImage sassbs foo 1 foo default false ""
snapshot >"$T/attached"
echo "foo-bar.socket loaded active" >"$UNITS"
: >"$CALLS"
assert_fails_with "detach while foo-bar.socket runs is refused" \
        "Unit file 'foo-bar.socket' is active, can't detach." \
        -- mcall DetachImage sb foo false
assert_root_unchanged "refused detach: nothing removed" "$T/attached"
assert_eq "detach: one question to PID 1, by the image name's prefix" \
        "ListUnitsByPatterns [$STATES] [foo foo.* foo-* foo@*]" "$(queries)"
echo "foo@web.service loaded active" >"$UNITS"
assert_fails_with "detach while an instance of foo@.service runs is refused" \
        "Unit file 'foo@.service' is active, can't detach." \
        -- mcall DetachImage sb foo false
: >"$UNITS"
: >"$CALLS"
assert_ok "detach with nothing running" mcall DetachImage sb foo false
assert_root_unchanged "detach leaves nothing behind" "$T/pristine"
assert_eq "detach: still one question" 1 "$(queries | wc -l)"

# Attached without matches, foo has units the prefix does not cover (foobar, foo_x): they are
# asked about by name before anything is decided.
assert_ok "attach foo without matches" mcall AttachImage sassbs foo 0 default false ""
snapshot >"$T/attached"
echo "foobar.service loaded active" >"$UNITS"
: >"$CALLS"
assert_fails_with "detach while foobar.service (outside the prefix) runs is refused" \
        "Unit file 'foobar.service' is active, can't detach." \
        -- mcall DetachImage sb foo false
assert_root_unchanged "refused detach: nothing removed" "$T/attached"
assert_eq "detach: the prefix first, then the units it missed by name" 2 "$(queries | wc -l)"
assert_contains "detach: the second question names the units outside the prefix" \
        "$(queries | tail -n 1)" "foobar.service" "foo_x.service"
: >"$UNITS"
assert_ok "detach with nothing running" mcall DetachImage sb foo false
assert_root_unchanged "detach leaves nothing behind" "$T/pristine"

# An image whose name makes no prefix ("+" is no prefix character): its units are found in the
# attached directory first and asked about by name, as before.
stage foo "$ROOT/var/lib/portables/foo+x"
assert_ok "attach foo+x with matches" mcall AttachImage sassbs foo+x 1 foo default false ""
snapshot >"$T/attached"
echo "foo.service loaded active" >"$UNITS"
: >"$CALLS"
assert_fails_with "detach foo+x while foo.service runs is refused" \
        "Unit file 'foo.service' is active, can't detach." \
        -- mcall DetachImage sb foo+x false
assert_root_unchanged "refused detach of foo+x: nothing removed" "$T/attached"
assert_eq "detach foo+x: one question" 1 "$(queries | wc -l)"
assert_contains "detach foo+x: asked by the units' names" "$(queries)" "foo.service" "foo-bar.socket"
assert_not_contains "detach foo+x: not by a prefix" "$(queries)" "foo.*"
: >"$UNITS"
assert_ok "detach foo+x with nothing running" mcall DetachImage sb foo+x false
rm -rf "$ROOT/var/lib/portables/foo+x"
assert_root_unchanged "detach of foo+x leaves nothing behind" "$T/pristine"

finish
