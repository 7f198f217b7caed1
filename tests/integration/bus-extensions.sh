#!/usr/bin/env bash
# The "as extensions" argument of the *WithExtensions methods is never ignored: with extensions
# that cannot be used (here: ones that do not exist), every method fails and nothing is
# attached or detached, rather than acting on the base image alone as if no extension had been
# named.
. "$(dirname "$0")/lib.sh"
setup

stage foo "$ROOT/var/lib/portables/foo"
snapshot >"$T/pristine"
ext=$IMAGES/no-such-extension.raw

assert_fails_with "AttachImageWithExtensions with an extension fails" "$ext" -- \
        mcall AttachImageWithExtensions sasassst foo 1 "$ext" 1 foo default "" 0
assert_root_unchanged "... and attaches nothing" "$T/pristine"
assert_fails_with "ReattachImageWithExtensions with an extension fails" "$ext" -- \
        mcall ReattachImageWithExtensions sasassst foo 1 "$ext" 1 foo default "" 0
assert_root_unchanged "... and attaches nothing" "$T/pristine"
assert_fails_with "GetImageMetadataWithExtensions with an extension fails" "$ext" -- \
        mcall GetImageMetadataWithExtensions sasast foo 1 "$ext" 1 foo 0

attach foo "" false >/dev/null
snapshot >"$T/attached"
assert_fails_with "DetachImageWithExtensions with an extension fails" "$ext" -- \
        mcall DetachImageWithExtensions sast foo 1 "$ext" 0
assert_root_unchanged "... and detaches nothing" "$T/attached"
detach foo false >/dev/null
assert_root_unchanged "the plain methods still work" "$T/pristine"

finish
