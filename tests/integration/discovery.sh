#!/usr/bin/env bash
# Image discovery across the five search directories (reference §3.1): which entries are images,
# names, types, shadowing in search path order, and that changes on disk are seen at once.
. "$(dirname "$0")/lib.sh"
setup

# tiny DIR LABEL: a minimal directory image whose os-release identifies the copy.
tiny() {
        mkdir -p "$1/usr/lib/systemd/system"
        printf 'ID=portabletest\nPORTABLE_PRETTY_NAME="%s"\n' "$2" >"$1/usr/lib/os-release"
        printf '[Service]\nExecStart=/bin/true\n' >"$1/usr/lib/systemd/system/${1##*/}.service"
}
tiny_raw() {
        tiny "$T/src/$2" "$3"
        build_raw squashfs "$T/src/$2" "$1"
}

tiny "$IMAGES/alpha" "alpha via /etc/portables link"
ln -s "$IMAGES/alpha" "$ROOT/etc/portables/alpha"
tiny "$ROOT/run/portables/alpha" "alpha in /run/portables"
tiny_raw "$ROOT/var/lib/portables/alpha.raw" alpha "alpha in /var/lib/portables"
tiny "$ROOT/run/portables/beta" "beta in /run/portables"
tiny "$ROOT/var/lib/portables/beta" "beta in /var/lib/portables"
tiny_raw "$ROOT/var/lib/portables/gamma.raw" gamma "gamma in /var/lib/portables"
tiny "$ROOT/usr/local/lib/portables/gamma" "gamma in /usr/local/lib/portables"
tiny "$ROOT/usr/local/lib/portables/delta" "delta in /usr/local/lib/portables"
tiny_raw "$ROOT/usr/lib/portables/delta.raw" delta "delta in /usr/lib/portables"
tiny "$ROOT/usr/lib/portables/epsilon" "epsilon in /usr/lib/portables"
tiny_raw "$IMAGES/kappa-target.raw" kappa "kappa via symlink"
ln -s "$IMAGES/kappa-target.raw" "$ROOT/var/lib/portables/kappa.raw"
# Not images: a regular file without .raw, a FIFO named .raw, a dangling symlink.
echo "not an image" >"$ROOT/var/lib/portables/zeta.img"
mkfifo "$ROOT/var/lib/portables/theta.raw"
ln -s /nonexistent "$ROOT/etc/portables/dangling"

mjson ListImages >"$T/list.json"
assert_eq "ListImages: one entry per name, shadowed copies and non-images left out" \
        "alpha beta delta epsilon gamma kappa" "$(pyjson '" ".join(sorted(i[0] for i in d[0]))' <"$T/list.json")"
assert_eq "ListImages: types" "alpha=directory beta=directory delta=directory epsilon=directory gamma=raw kappa=raw" \
        "$(pyjson '" ".join(sorted("%s=%s" % (i[0], i[1]) for i in d[0]))' <"$T/list.json")"

pretty() { mjson GetImageOSRelease s "$1" | pyjson 'd[0]["PORTABLE_PRETTY_NAME"]'; }
assert_eq "alpha: /etc/portables wins over /run and /var/lib" "alpha via /etc/portables link" "$(pretty alpha)"
assert_eq "beta: /run/portables wins over /var/lib" "beta in /run/portables" "$(pretty beta)"
assert_eq "gamma: /var/lib/portables (raw) wins over /usr/local/lib" "gamma in /var/lib/portables" "$(pretty gamma)"
assert_eq "delta: /usr/local/lib wins over /usr/lib" "delta in /usr/local/lib/portables" "$(pretty delta)"
assert_eq "epsilon: found in /usr/lib/portables" "epsilon in /usr/lib/portables" "$(pretty epsilon)"
assert_eq "kappa: symlinked .raw in the pool is followed" "kappa via symlink" "$(pretty kappa)"

assert_eq "Path of beta" "s \"$ROOT/run/portables/beta\"" "$(iprop "$PORTABLE_PATH/image/beta" Path)"
assert_eq "Path of gamma" "s \"$ROOT/var/lib/portables/gamma.raw\"" "$(iprop "$PORTABLE_PATH/image/gamma" Path)"
assert_eq "Path of delta" "s \"$ROOT/usr/local/lib/portables/delta\"" "$(iprop "$PORTABLE_PATH/image/delta" Path)"
alpha_path=$(iprop "$PORTABLE_PATH/image/alpha" Path)
case "$alpha_path" in
"s \"$ROOT/etc/portables/alpha\"" | "s \"$IMAGES/alpha\"") pass "Path of alpha is the link or its target" ;;
*) fail "Path of alpha is the link or its target" "actual: $alpha_path" ;;
esac

assert_fails_with "GetImage of a regular file without .raw is NoSuchImage" \
        "org.freedesktop.portable1.NoSuchImage: " "zeta.img" -- mcall GetImage s zeta.img
assert_fails_with "GetImage of a FIFO named .raw is NoSuchImage" \
        "org.freedesktop.portable1.NoSuchImage: " "theta" -- mcall GetImage s theta
assert_fails_with "GetImage of a dangling link is NoSuchImage" \
        "org.freedesktop.portable1.NoSuchImage: " "dangling" -- mcall GetImage s dangling

# Changes on disk are seen by the next call.
rm "$ROOT/etc/portables/alpha"
assert_eq "removing the /etc/portables link uncovers the /run copy" "alpha in /run/portables" "$(pretty alpha)"
rm -r "$ROOT/run/portables/alpha"
assert_eq "removing the /run copy uncovers the raw pool image" "alpha in /var/lib/portables" "$(pretty alpha)"
assert_eq "alpha is now a raw image" 's "raw"' "$(iprop "$PORTABLE_PATH/image/alpha" Type)"
tiny "$ROOT/var/lib/portables/omega" "omega added later"
assert_eq "an image added to the pool is listed at once" "alpha beta delta epsilon gamma kappa omega" \
        "$(mjson ListImages | pyjson '" ".join(sorted(i[0] for i in d[0]))')"
assert_eq "GetImage omega" "o \"$PORTABLE_PATH/image/omega\"" "$(mcall GetImage s omega)"
rm -r "$ROOT/var/lib/portables/omega"
assert_fails_with "a removed image is gone at once" "org.freedesktop.portable1.NoSuchImage" -- mcall GetImage s omega
assert_no_leaks "no loop device or mount left by discovery" "$ROOT"/var/lib/portables/*.raw "$ROOT"/usr/lib/portables/*.raw "$IMAGES"/*.raw

finish
