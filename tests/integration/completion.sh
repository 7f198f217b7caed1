#!/usr/bin/env bash
# The bash completion of portablectl (shell-completion/bash/portablectl) against our daemon on the
# private bus: verbs, options, option values, image names from ListImages and profile names from
# the Profiles property. The completion function runs in a fresh bash with COMP_WORDS/COMP_CWORD
# set, as bash would call it.
. "$(dirname "$0")/lib.sh"
setup
have_ours || skip_all "portablectl not built at $PORTABLECTL"
COMPLETION=$SOURCE_ROOT/shell-completion/bash/portablectl

stage foo "$ROOT/var/lib/portables/foo"
stage foo "$ROOT/var/lib/portables/bar_1"

# complete WORD...: the candidates for the last WORD (may be ""), sorted, one line. The first
# word is the command as typed; "portablectl" is found through PATH.
complete_words() {
        (cd "$T/cwd" && DBUS_SYSTEM_BUS_ADDRESS=$BUS_ADDRESS PATH="$(dirname "$PORTABLECTL"):$PATH" \
                bash --norc --noprofile -c '
                        . "$1"
                        shift
                        COMP_WORDS=("$@")
                        COMP_CWORD=$(($# - 1))
                        COMP_LINE="$*"
                        COMP_POINT=${#COMP_LINE}
                        _portablectl
                        printf "%s\n" "${COMPREPLY[@]}" | LC_ALL=C sort | tr "\n" " " | sed "s/ $//"' \
                bash "$COMPLETION" "$@")
}

assert_eq "a verb from its start" "attach" "$(complete_words portablectl att)"
assert_eq "every verb" "attach check detach help inspect is-attached list read-only reattach remove repair set-limit" \
        "$(complete_words portablectl "")"
assert_eq "image names from the daemon" "bar_1 foo" "$(complete_words portablectl attach "")"
assert_eq "an image name from its start" "foo" "$(complete_words portablectl detach f)"
assert_eq "image names after options" "bar_1" "$(complete_words portablectl --now --profile strict reattach b)"
assert_eq "the client given by path asks the same daemon" "foo" "$(complete_words "$PORTABLECTL" inspect fo)"
assert_eq "nothing after a verb without arguments" "" "$(complete_words portablectl list "")"
assert_eq "read-only: the boolean after the image" "no yes" "$(complete_words portablectl read-only foo "")"
assert_eq "profile names from the daemon (--profile VALUE)" "default help nonetwork strict trusted" \
        "$(complete_words portablectl --profile "")"
assert_eq "profile names from the daemon (--profile=VALUE)" "strict" \
        "$(complete_words portablectl --profile = st)"
assert_eq "copy modes" "auto copy mixed symlink" "$(complete_words portablectl attach --copy = "" | sed 's/ help//')"
assert_eq "an option" "--no-reload" "$(complete_words portablectl --no-r)"

# Every long option the client's --help lists is completed, and nothing it does not know.
help_options=$("$PORTABLECTL" --help | grep -o -- '--[a-z][a-z-]*' | LC_ALL=C sort -u | tr '\n' ' ' | sed 's/ $//')
assert_eq "the options of --help, no more, no less" "$help_options" \
        "$(complete_words portablectl --  | tr ' ' '\n' | sed 's/=$//' | grep -- '^--' | LC_ALL=C sort -u | tr '\n' ' ' | sed 's/ $//')"
assert_eq "an option that takes a value gets its '='" "--profile=" "$(complete_words portablectl --prof)"

touch "$T/cwd/local_1.raw"
assert_eq "image arguments also complete file names" "local_1.raw" "$(complete_words portablectl attach lo)"
assert_eq "attach: after an image and a prefix, more images as paths" "./local_1.raw" \
        "$(complete_words portablectl attach foo foo ./lo)"
assert_eq "check completes image names" "foo" "$(complete_words portablectl check fo)"
rm "$T/cwd/local_1.raw"
touch "$T/cwd/web.portable"
assert_eq "--manifest completes file names" "web.portable" "$(complete_words portablectl detach --manifest = we)"
rm "$T/cwd/web.portable"

finish
