#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# shellcheck disable=SC2317 # the check functions are called through t_check
#
# A service whose runtime is the sample image (sample_1.raw: busybox, its sh and httpd) and whose
# program is an extension image (app_N.raw: the service's script, its unit and its web page),
# on a real systemd 252 in a container:
#  - `attach --now --extension app_1.raw sample_1.raw app` starts app.service, which runs
#    from the stack (RootImage= the base, ExtensionImages= the extension) and serves a page of
#    version 1 with the base's httpd; is-attached with and without the extension;
#  - `reattach --now` to app_2.raw restarts it on the new extension: version 2 is served;
#  - `detach --now` with the extension leaves nothing behind;
#  - across implementations: systemd-portabled detaches (and sees) a stack ours attached, and
#    ours detaches (and sees) a stack systemd-portabled attached.
set -euo pipefail

SOURCE_ROOT=${SOURCE_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
E2E_DAEMON_SWITCHING=1
# shellcheck source=tests/e2e/common.sh
. "$SOURCE_ROOT/tests/e2e/common.sh"

readonly APP_PORT=8090

# build_app VERSION: $E2E_IMAGES/app_VERSION.raw, a sysext for the sample image. Its release
# file has the image's exact name, which is what systemd 252 requires.
build_app() {
        local v=$1 tree=$E2E_IMAGES/app_$1
        rm -rf "$tree"
        mkdir -p "$tree/usr/lib/extension-release.d" "$tree/usr/lib/systemd/system" "$tree/usr/lib/app" \
                "$tree/usr/share/app/www"
        cat >"$tree/usr/lib/extension-release.d/extension-release.app_$v" <<EOF
ID=portabled-sample
VERSION_ID=1
SYSEXT_IMAGE_ID=app
SYSEXT_IMAGE_VERSION=$v
PORTABLE_PREFIXES=app
EOF
        cat >"$tree/usr/lib/systemd/system/app.service" <<EOF
[Unit]
Description=Application from an extension image (version $v)

[Service]
Type=simple
ExecStart=/usr/lib/app/app-httpd
EOF
        # sh and httpd are the base image's: only the script and the page are the extension's.
        cat >"$tree/usr/lib/app/app-httpd" <<EOF
#!/bin/sh
echo "app.service: version $v started from the extension"
exec httpd -f -v -p 127.0.0.1:$APP_PORT -h /usr/share/app/www
EOF
        chmod 0755 "$tree/usr/lib/app/app-httpd"
        echo "app version $v on the portabled sample runtime" >"$tree/usr/share/app/www/index.html"
        mksquashfs "$tree" "$E2E_IMAGES/app_$v.raw" -all-root -noappend -quiet -no-progress >/dev/null
}

BASE=
APP1=
APP2=

# assert_app_http VERSION: app.service answers with the page of VERSION.
assert_app_http() {
        local answer
        e2e_wait_for 20 "httpd to listen on $APP_PORT" e2e_sh "exec 3<>/dev/tcp/127.0.0.1/$APP_PORT" ||
                e2e_die "nothing listens on 127.0.0.1:$APP_PORT"
        answer=$(tcp_request "$APP_PORT" 'GET / HTTP/1.0\r\n\r\n')
        grep -q '^HTTP/1.[01] 200' <<<"$answer" || e2e_die "unexpected HTTP answer: $answer"
        grep -q "app version $1 on the portabled sample runtime" <<<"$answer" || e2e_die "wrong page: $answer"
}

# assert_stack_state BASE EXTENSION EXPECTED: is-attached --extension EXTENSION BASE.
assert_stack_state() {
        local bin=${PCTL:-$PORTABLECTL} state rc=0 want_rc=0
        state=$(e2e_exec "$bin" --no-pager is-attached --extension "$2" "$1") || rc=$?
        [[ "$state" == "$3" ]] || e2e_die "is-attached --extension $2 $1: '$state', expected '$3'"
        [[ "$bin" == "$PORTABLECTL" && "$3" == detached ]] && want_rc=1
        ((rc == want_rc)) || e2e_die "is-attached --extension $2 $1: exit status $rc, expected $want_rc"
}

# The stack app.service runs on, as PID 1 sees it.
assert_runs_on_stack() {
        local ext pid
        [[ "$(unit_prop app.service RootImage)" == "$BASE" ]] ||
                e2e_die "app.service: RootImage='$(unit_prop app.service RootImage)', expected $BASE"
        ext=$(unit_prop app.service ExtensionImages)
        [[ "$ext" == *"$1"* ]] || e2e_die "app.service: ExtensionImages='$ext', expected $1"
        pid=$(unit_prop app.service MainPID)
        [[ "$pid" -gt 0 ]] || e2e_die "app.service has no main process"
        # The base's os-release, the extension's program.
        e2e_exec grep -qx 'ID=portabled-sample' "/proc/$pid/root/usr/lib/os-release" ||
                e2e_die "app.service does not see the base image's os-release"
        e2e_exec test -x "/proc/$pid/root/usr/lib/app/app-httpd" || e2e_die "app.service does not see the extension"
        e2e_exec test -x "/proc/$pid/root/bin/busybox" || e2e_die "app.service does not see the base's busybox"
}

# Nothing of the app is left: no drop-in, link or unit, besides what assert_clean checks.
assert_app_clean() {
        local left
        assert_clean
        left=$(e2e_sh "find $ATTACHED_ETC $ATTACHED_RUN /etc/portables /run/portables -name 'app*' 2>/dev/null" || true)
        [[ -z "$left" ]] || e2e_die "left behind: $(tr '\n' ' ' <<<"$left")"
        assert_not_loaded app.service
}

# ---- ours: attach, serve, reattach, detach ---------------------------------------------------

check_attach_now() {
        pctl_ok attach --now --extension "$APP1" "$BASE" app
        output_has "$ATTACHED_ETC/app.service.d/20-portable.conf"
        e2e_exec grep -qxF "# Drop-in created for image '$BASE:$APP1', do not edit." \
                "$ATTACHED_ETC/app.service.d/20-portable.conf" || e2e_die "the marker does not name the stack"
        assert_running app.service "app.service: version 1 started from the extension"
        assert_runs_on_stack "$APP1"
        # Only the prefix asked for: the base's own units stay out.
        e2e_exec test ! -e "$ATTACHED_ETC/sample.service" || e2e_die "sample.service was attached too"
}

check_serves() {
        assert_app_http 1
        journal_has "PORTABLE_EXTENSION=app_1.raw" "app.service: version 1 started"
        journal_has "PORTABLE_ROOT=sample_1.raw" "app.service: version 1 started"
}

check_states() {
        assert_stack_state "$BASE" "$APP1" running
        assert_stack_state "$BASE" "$APP2" detached
        # The base alone: in use by this stack.
        assert_state "$BASE" running
}

check_detach_needs_the_extension() {
        pctl_fail detach --now "$BASE" app
        output_has "$BASE:$APP1"
        assert_active app.service
}

check_reattach_to_v2() {
        local id
        id=$(unit_prop app.service InvocationID)
        pctl_ok reattach --now --extension "$APP2" "$BASE" app
        assert_running app.service "app.service: version 2 started from the extension"
        [[ "$(unit_prop app.service InvocationID)" != "$id" ]] || e2e_die "app.service was not restarted"
        assert_runs_on_stack "$APP2"
        assert_app_http 2
        assert_stack_state "$BASE" "$APP2" running
        assert_stack_state "$BASE" "$APP1" detached
        e2e_exec test ! -e /etc/portables/app_1.raw || e2e_die "the link to app_1.raw is left"
}

check_detach_now() {
        pctl_ok detach --now --extension "$APP2" "$BASE" app
        assert_stack_state "$BASE" "$APP2" detached
        assert_app_clean
}

# ---- attached by ours, detached by systemd-portabled ------------------------------------------

check_ours_attach_for_sd() {
        pctl_ok attach --enable --now --runtime --extension "$APP1" "$BASE" app
        assert_running app.service "app.service: version 1 started from the extension"
        assert_app_http 1
        stop_our_daemon
        start_systemd_daemon
}

check_sd_recognises_ours() {
        PCTL=$SYSTEMD_PORTABLECTL assert_stack_state "$BASE" "$APP1" running-runtime
        # Our client with systemd's daemon, which has no GetImageMetadataWithLayers: the
        # extension and its unit, without where it came from.
        pctl_ok inspect --extension "$APP1" "$BASE" app
        output_has "Extension:"
        output_has "	app.service"
        output_lacks "(from "
        assert_stack_state "$BASE" "$APP1" running-runtime
}

check_sd_detaches_ours() {
        PCTL=$SYSTEMD_PORTABLECTL pctl_ok detach --enable --now --runtime --extension "$APP1" "$BASE" app
        assert_app_clean
        stop_systemd_daemon
        start_our_daemon
        assert_stack_state "$BASE" "$APP1" detached
}

# ---- attached by systemd-portabled, detached by ours ------------------------------------------

check_sd_attaches() {
        stop_our_daemon
        start_systemd_daemon
        PCTL=$SYSTEMD_PORTABLECTL pctl_ok attach --now --extension "$APP2" "$BASE" app
        assert_running app.service "app.service: version 2 started from the extension"
        assert_app_http 2
        e2e_exec grep -qxF "# Drop-in created for image '$BASE:$APP2', do not edit." \
                "$ATTACHED_ETC/app.service.d/20-portable.conf" || e2e_die "systemd's marker is not what we expect"
        stop_systemd_daemon
        start_our_daemon
}

check_ours_recognises_sd() {
        assert_stack_state "$BASE" "$APP2" running
        assert_stack_state "$BASE" "$APP1" detached
        pctl_ok inspect --extension "$APP2" "$BASE" app
        output_has "app.service (from $APP2)"
}

check_ours_detaches_sd() {
        pctl_fail detach "$BASE" app
        pctl_ok detach --now --extension "$APP2" "$BASE" app
        assert_app_clean
}

main() {
        e2e_init
        e2e_build_sample_images
        build_app 1
        build_app 2
        BASE=$E2E_IMAGES/sample_1.raw
        APP1=$E2E_IMAGES/app_1.raw
        APP2=$E2E_IMAGES/app_2.raw
        e2e_boot
        start_our_daemon

        t_require "attach --now --extension: app.service runs on the base with the extension" check_attach_now
        t_check "the extension's program serves a request with the base's httpd; journal fields" check_serves
        t_check "is-attached with the extension, with another one, and of the base alone" check_states
        t_check "detach without the extension is refused and stops nothing" check_detach_needs_the_extension
        t_check "reattach --now to the extension's version 2: restarted, serves version 2" check_reattach_to_v2
        t_check "detach --now --extension leaves nothing" check_detach_now

        t_require "ours attaches and enables a stack (runtime), then systemd-portabled takes over" check_ours_attach_for_sd
        t_check "systemd-portabled sees our stack running-runtime; our client inspects with it" check_sd_recognises_ours
        t_check "systemd-portabled detaches our stack cleanly" check_sd_detaches_ours

        t_require "systemd-portabled attaches a stack (--now), then ours takes over" check_sd_attaches
        t_check "ours sees systemd's stack running, and where each unit came from" check_ours_recognises_sd
        t_check "ours detaches systemd's stack cleanly (and not without its extension)" check_ours_detaches_sd
        t_cleanup
        t_done
}

main "$@"
