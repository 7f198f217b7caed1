#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# An operation fails, and so does undoing it (src/transaction.c): strace makes the third rename of
# a detach (renameat2(), a file moved to its hidden backup) fail with EIO, and every rename back
# (rename(), only undo uses it) as well. The journal must then stay with the backups it names:
# the caller is told both failures and where the journal is, nothing changes the attachments
# until the operation is recovered (by portablectl repair, or at the next start, which may fail
# again and keeps the journal again), and recovery gives back exactly the attached state.
. "$(dirname "$0")/lib.sh"
setup
command -v strace >/dev/null || skip_all "strace not installed"

JOURNALS=$ROOT/var/lib/portabled
journals() { find "$JOURNALS" -maxdepth 1 -name '*.journal' 2>/dev/null | sort; }
hidden_files() { find "$ROOT/etc/systemd/system.attached" -name '.#portabled-*' | sort; }

stage foo "$ROOT/var/lib/portables/foo"
stage foo_2 "$ROOT/var/lib/portables/bar"
snapshot >"$T/pristine"
attach foo "" false >/dev/null || fail "foo is attached"
snapshot >"$T/attached"

# --- the detach fails, and so does its undo ------------------------------------------------------

stop_daemon
DAEMON_WRAPPER="strace -o /dev/null -e trace=renameat2,rename -e inject=renameat2:error=EIO:when=3 -e inject=rename:error=EIO" \
        start_daemon || exit 1
assert_fails_with "the detach fails" "Failed to remove '$ROOT/etc/systemd/system.attached/" \
        "Input/output error; undoing the changes made so far failed too (Input/output error)" \
        "the journal $JOURNALS/" "'portablectl repair' or the next start of the daemon undoes the rest" \
        -- mcall DetachImage sb foo false
assert_eq "... its journal stays" 1 "$(journals | wc -l)"
assert_contains "... with the backups it names" "$(hidden_files | head -n 1)" "/.#portabled-"
assert_not_contains "... which repair's dry run does not count as orphans" \
        "$(mcall RepairAttachments t 1)" ".#portabled-"
assert_fails_with "a second detach is refused meanwhile" \
        "An earlier operation was neither finished nor undone in full (journal $JOURNALS/" \
        "nothing is changed until 'portablectl repair' has recovered it" -- mcall DetachImage sb foo false
assert_fails_with "... and so is attaching another image" "An earlier operation was neither finished nor undone" \
        -- mcall AttachImage sassbs bar 1 foo default false ""
assert_eq "... which changed nothing" 1 "$(journals | wc -l)"

# --- the next start cannot undo it either ----------------------------------------------------------

# Its recovery renames each backup back: the first N renames fail (one per backup), later ones
# work, so that repair can then finish the job in the same daemon.
backups=$(hidden_files | wc -l)
stop_traced_daemon TERM
DAEMON_WRAPPER="strace -o /dev/null -e trace=rename -e inject=rename:error=EIO:when=1..$backups" start_daemon || exit 1
assert_contains "recovery at start fails too, and says so" "$(cat "$T/log/portabled.log")" \
        "could not be rolled back (Input/output error); journal $JOURNALS/"
assert_eq "... the journal stays" 1 "$(journals | wc -l)"
assert_fails_with "... and the detach is still refused" "An earlier operation was neither finished nor undone" \
        -- mcall DetachImage sb foo false

# --- repair, once renames work again ---------------------------------------------------------------

assert_ok "repair recovers the operation" mcall RepairAttachments t 0
assert_eq "... the journal is gone" 0 "$(journals | wc -l)"
assert_eq "... and so are the backups" "" "$(hidden_files)"
snapshot >"$T/repaired"
if cmp -s "$T/attached" "$T/repaired"; then pass "... and the host is exactly as attached"; else
        fail "... and the host is exactly as attached" "$(diff -u "$T/attached" "$T/repaired" | tail -n +3 | head -n 40)"
fi
assert_ok "the detach now succeeds" mcall DetachImage sb foo false
assert_root_unchanged "... and the host is as before the attach" "$T/pristine"
stop_traced_daemon TERM
start_daemon || exit 1

finish
