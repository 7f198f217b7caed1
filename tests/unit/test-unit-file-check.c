/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <criterion/criterion.h>
#include <criterion/new/assert.h>
#include <criterion/parameterized.h>
#include <dirent.h>
#include <string.h>

#include "fd-util.h"
#include "path-util.h"
#include "portable-bus.h"
#include "strv.h"
#include "unit-file-check.h"
#include "unit-helpers.h"
#include "unit-match.h"

/* The units attached from the image in every case below. */
static const char *const image_units[] = {
        "foo.service", "foo@.service", "foo-helper.service", "foo.socket", "foo-bar.socket",
        "foo.timer", "foo.path", "foo.target", NULL,
};

/* Runs the check; returns NULL if the unit is accepted, else the error message (with the error
 * name and return value asserted). */
static char *check_n(const char *unit, const char *data, size_t size) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        int r;

        r = unit_file_check_confined(unit, data, size, (char * const *) image_units, &error);
        if (r == 0) {
                cr_assert(not(sd_bus_error_is_set(&error)));
                return NULL;
        }
        cr_assert(eq(int, r, -EPERM), "%s: %s", unit, strna(error.message));
        cr_assert(eq(str, (char *) error.name, (char *) PORTABLE_ERROR_UNIT_NOT_CONFINED));
        return unit_strf("%s", error.message);
}

static char *check(const char *unit, const char *data) {
        return check_n(unit, data, strlen(data));
}

struct refused_case {
        const char *unit;
        const char *data;
        const char *where;  /* "line N: Key=" */
        const char *reason; /* a part of the rest */
};

#define S "[Service]\n"
#define K "[Socket]\n"

static const struct refused_case refused_cases[] = {
        /* Commands that leave the sandbox, in any spelling systemd reads. */
        { "foo.service", S "ExecStartPre=+/bin/sh", "line 2: ExecStartPre=", "'+' prefix" },
        { "foo.service", S "ExecStart=!/bin/sh -c id", "line 2: ExecStart=", "'!' prefix" },
        { "foo.service", S "ExecStop=-!!/bin/sh", "line 2: ExecStop=", "'!!' prefix" },
        { "foo.service", S "ExecReload=@-+/bin/sh sh -c id", "line 2: ExecReload=", "'+' prefix" },
        { "foo.service", S "ExecStartPost=:+/bin/sh", "line 2: ExecStartPost=", "'+' prefix" },
        { "foo.service", S "ExecCondition=|+/bin/sh", "line 2: ExecCondition=", "'+' prefix" },
        { "foo.service", S "ExecStopPost=-@:!/bin/sh x", "line 2: ExecStopPost=", "'!' prefix" },
        { "foo.service", S "ExecStartPre=\"+/bin/sh\" -c id", "line 2: ExecStartPre=", "'+' prefix" },
        { "foo.service", S "ExecStartPre='-'+/bin/sh", "line 2: ExecStartPre=", "'+' prefix" },
        { "foo.service", S "ExecStartPre=\\x2b/bin/sh", "line 2: ExecStartPre=", "'+' prefix" },
        { "foo.service", S "ExecStartPre=\\053/bin/sh", "line 2: ExecStartPre=", "'+' prefix" },
        { "foo.service", S "ExecStartPre=\\u0021/bin/sh", "line 2: ExecStartPre=", "'!' prefix" },
        { "foo.service", S "ExecStart=/bin/true ; +/bin/sh", "line 2: ExecStart=", "'+' prefix" },
        { "foo.service", S "ExecStart=/bin/true ; ; !/bin/sh", "line 2: ExecStart=", "'!' prefix" },
        { "foo.service", S "ExecStart=\";\" +/bin/sh", "line 2: ExecStart=", "'+' prefix" },
        { "foo.service", S "ExecStart=/bin/true \\\n  -x ; \\\n +/bin/sh", "line 2: ExecStart=", "'+' prefix" },
        { "foo.service", S "ExecStartPre=/bin/true\n\n  ExecStartPre  =  +/bin/sh  ", "line 4: ExecStartPre=", "'+' prefix" },
        { "foo.service", S "ExecFutureHook=+/bin/sh", "line 2: ExecFutureHook=", "'+' prefix" },
        { "foo.service", S "RootDirectoryStartOnly=yes", "line 2: RootDirectoryStartOnly=", "host's file system" },
        { "foo.service", S "PermissionsStartOnly=true", "line 2: PermissionsStartOnly=", "full privileges" },
        { "foo.socket", K "ExecStartPre=/bin/true", "line 2: ExecStartPre=", "in a socket unit runs on the host" },
        { "foo.socket", K "ExecStartPost=/bin/true", "line 2: ExecStartPost=", "in a socket unit" },
        { "foo.socket", K "ExecStopPre=/bin/true", "line 2: ExecStopPre=", "in a socket unit" },
        { "foo.socket", K "ExecStopPost=-/bin/true", "line 2: ExecStopPost=", "in a socket unit" },

        /* The root the portable drop-in sets up. */
        { "foo.service", S "RootDirectory=/", "line 2: RootDirectory=", "path of the host" },
        { "foo.service", S "RootImage=/dev/sda", "line 2: RootImage=", "device of the host" },
        { "foo.service", S "RootImageOptions=root:rw", "line 2: RootImageOptions=", "writable" },
        { "foo.service", S "RootImagePolicy=*", "line 2: RootImagePolicy=", "loosens" },
        { "foo.service", S "RootHash=0123", "line 2: RootHash=", "verity" },
        { "foo.service", S "RootHashSignature=/etc/x.p7s", "line 2: RootHashSignature=", "verity" },
        { "foo.service", S "RootVerity=/etc/x.verity", "line 2: RootVerity=", "verity" },
        { "foo.service", S "RootEphemeral=yes", "line 2: RootEphemeral=", "writable copy" },
        { "foo.service", S "MountImages=/var/lib/machines/x.raw:/x", "line 2: MountImages=", "images of the host" },
        { "foo.service", S "MountImagePolicy=*", "line 2: MountImagePolicy=", "loosens" },
        { "foo.service", S "ExtensionImages=/x.raw", "line 2: ExtensionImages=", "images of the host" },
        { "foo.service", S "ExtensionImagePolicy=*", "line 2: ExtensionImagePolicy=", "loosens" },
        { "foo.service", S "ExtensionDirectories=/etc", "line 2: ExtensionDirectories=", "directories of the host" },
        { "foo.service", S "BindPaths=/etc", "line 2: BindPaths=", "paths of the host" },
        { "foo.service", S "BindReadOnlyPaths=/etc/shadow:/x", "line 2: BindReadOnlyPaths=", "paths of the host" },
        { "foo.socket", K "BindPaths=/etc", "line 2: BindPaths=", "paths of the host" },
        { "foo.service", S "NetworkNamespacePath=/proc/1/ns/net", "line 2: NetworkNamespacePath=", "namespace of the host" },
        { "foo.service", S "IPCNamespacePath=/proc/1/ns/ipc", "line 2: IPCNamespacePath=", "namespace of the host" },
        { "foo.service", S "MountFlags=shared", "line 2: MountFlags=", "appear on the host" },

        /* Files of the host read for the service. */
        { "foo.service", S "EnvironmentFile=-/etc/default/foo", "line 2: EnvironmentFile=", "on the host" },
        { "foo.service", S "LoadCredential=key:/etc/shadow", "line 2: LoadCredential=", "credentials of the host" },
        { "foo.service", S "LoadCredential=key", "line 2: LoadCredential=", "credentials of the host" },
        { "foo.service", S "LoadCredentialEncrypted=key", "line 2: LoadCredentialEncrypted=", "of the host" },
        { "foo.service", S "ImportCredential=*", "line 2: ImportCredential=", "credentials of the host" },
        { "foo.service", S "SetCredentialEncrypted=key:abc", "line 2: SetCredentialEncrypted=", "credential key" },
        { "foo.service", S "LandlockConfig=/etc/x", "line 2: LandlockConfig=", "on the host" },
        { "foo.service", S "OpenFile=/etc/shadow", "line 2: OpenFile=", "files of the host" },
        { "foo.service", S "USBFunctionDescriptors=/etc/x", "line 2: USBFunctionDescriptors=", "on the host" },
        { "foo.service", S "USBFunctionStrings=/etc/x", "line 2: USBFunctionStrings=", "on the host" },
        { "foo.service", S "PIDFile=/etc/passwd", "line 2: PIDFile=", "outside the image's names in /run" },
        { "foo.service", S "PIDFile=/run/sshd.pid", "line 2: PIDFile=", "'/run/sshd.pid'" },
        { "foo.service", S "PIDFile=/run/foo/a/b.pid", "line 2: PIDFile=", "outside the image's names" },
        { "foo.service", S "PIDFile=../etc/passwd", "line 2: PIDFile=", "outside the image's names" },
        { "foo.service", S "PIDFile=/run/foo/../systemd/x", "line 2: PIDFile=", "outside the image's names" },
        { "foo.service", S "PIDFile=%t/%H.pid", "line 2: PIDFile=", "specifier '%H'" },

        /* Standard input and output, terminals. */
        { "foo.service", S "StandardInput=tty", "line 2: StandardInput=", "terminal of the host" },
        { "foo.service", S "StandardInput=tty-force", "line 2: StandardInput=", "'tty-force'" },
        { "foo.service", S "StandardInput=tty-fail", "line 2: StandardInput=", "'tty-fail'" },
        { "foo.service", S "StandardInput=file:/etc/shadow", "line 2: StandardInput=", "file or terminal" },
        { "foo.service", S "StandardOutput=file:/etc/motd", "line 2: StandardOutput=", "file or terminal" },
        { "foo.service", S "StandardOutput=append:/etc/motd", "line 2: StandardOutput=", "'append:/etc/motd'" },
        { "foo.service", S "StandardError=truncate:/etc/motd", "line 2: StandardError=", "file or terminal" },
        { "foo.service", S "StandardError=tty", "line 2: StandardError=", "terminal" },
        { "foo.service", S "TTYPath=/dev/tty1", "line 2: TTYPath=", "terminal of the host" },
        { "foo.service", S "TTYReset=yes", "line 2: TTYReset=", "/dev/console" },
        { "foo.service", S "TTYVHangup=on", "line 2: TTYVHangup=", "/dev/console" },
        { "foo.service", S "TTYVTDisallocate=1", "line 2: TTYVTDisallocate=", "/dev/console" },
        { "foo.service", S "TTYReset=maybe", "line 2: TTYReset=", "terminal" },

        /* Identities and labels of the host. */
        { "foo.service", S "User=root", "line 2: User=", "'root'" },
        { "foo.service", S "User=0", "line 2: User=", "account of the host" },
        { "foo.service", S "User=systemd-network", "line 2: User=", "'systemd-network'" },
        { "foo.service", S "Group=root", "line 2: Group=", "'root'" },
        { "foo.service", S "SupplementaryGroups=foo sudo", "line 2: SupplementaryGroups=", "'sudo'" },
        { "foo@.service", S "User=%i", "line 2: User=", "'%i'" },
        { "foo.service", S "PAMName=login", "line 2: PAMName=", "PAM" },
        { "foo.service", S "UtmpIdentifier=tty1", "line 2: UtmpIdentifier=", "utmp" },
        { "foo.service", S "KeyringMode=inherit", "line 2: KeyringMode=", "keyring" },
        { "foo.service", S "SELinuxContext=system_u:system_r:unconfined_t:s0", "line 2: SELinuxContext=", "label" },
        { "foo.service", S "AppArmorProfile=unconfined", "line 2: AppArmorProfile=", "profile" },
        { "foo.service", S "SmackProcessLabel=_", "line 2: SmackProcessLabel=", "label" },
        { "foo.service", S "BPFDelegateCommands=map_create", "line 2: BPFDelegateCommands=", "BPF" },
        { "foo.service", S "BPFDelegateMaps=hash", "line 2: BPFDelegateMaps=", "BPF" },
        { "foo.service", S "BPFDelegatePrograms=xdp", "line 2: BPFDelegatePrograms=", "BPF" },
        { "foo.service", S "BPFDelegateAttachments=xdp", "line 2: BPFDelegateAttachments=", "BPF" },

        /* Directories created on the host. */
        { "foo.service", S "RuntimeDirectory=sshd", "line 2: RuntimeDirectory=", "'sshd'" },
        { "foo.service", S "RuntimeDirectory=foo systemd", "line 2: RuntimeDirectory=", "'systemd'" },
        { "foo.service", S "StateDirectory=mysql", "line 2: StateDirectory=", "create it on the host" },
        { "foo.service", S "StateDirectory=foo:mysql", "line 2: StateDirectory=", "'mysql'" },
        { "foo.service", S "CacheDirectory=foo/../apt", "line 2: CacheDirectory=", "'foo/../apt'" },
        { "foo.service", S "LogsDirectory=/var/log/foo", "line 2: LogsDirectory=", "'/var/log/foo'" },
        { "foo.service", S "ConfigurationDirectory=ssh", "line 2: ConfigurationDirectory=", "'ssh'" },
        { "foo.service", S "StateDirectory=foobar", "line 2: StateDirectory=", "'foobar'" },
        { "foo@.service", S "StateDirectory=%i", "line 2: StateDirectory=", "'%i'" },
        { "foo.service", S "StateDirectory=%H", "line 2: StateDirectory=", "specifier '%H'" },

        /* Resource control with objects of the host. */
        { "foo.service", S "BPFProgram=ingress:/sys/fs/bpf/x", "line 2: BPFProgram=", "pinned on the host" },
        { "foo.service", S "IPIngressFilterPath=/sys/fs/bpf/x", "line 2: IPIngressFilterPath=", "pinned" },
        { "foo.service", S "IPEgressFilterPath=/sys/fs/bpf/x", "line 2: IPEgressFilterPath=", "pinned" },
        { "foo.socket", K "NFTSet=cgroup:inet:filter:x", "line 2: NFTSet=", "firewall" },

        /* Sockets. */
        { "foo.socket", K "ListenStream=/run/systemd/private", "line 2: ListenStream=", "'/run/systemd/private'" },
        { "foo.socket", K "ListenStream=/run/foo/a/b.sock", "line 2: ListenStream=", "outside the image's names" },
        { "foo.socket", K "ListenStream=/run/foo/../dbus/system_bus_socket", "line 2: ListenStream=", "outside" },
        { "foo.socket", K "ListenStream=/run/foo//x", "line 2: ListenStream=", "outside" },
        { "foo.socket", K "ListenDatagram=/dev/log", "line 2: ListenDatagram=", "'/dev/log'" },
        { "foo.socket", K "ListenSequentialPacket=/tmp/foo.sock", "line 2: ListenSequentialPacket=", "outside" },
        { "foo.socket", K "ListenStream=%t/../etc/x", "line 2: ListenStream=", "'%t/../etc/x'" },
        { "foo.socket", K "ListenStream=@foo", "line 2: ListenStream=", "abstract socket" },
        { "foo.socket", K "ListenStream=%H", "line 2: ListenStream=", "specifier '%H'" },
        { "foo.socket", K "ListenFIFO=/run/foo.fifo", "line 2: ListenFIFO=", "FIFO" },
        { "foo.socket", K "ListenSpecial=/dev/kmsg", "line 2: ListenSpecial=", "file of the host" },
        { "foo.socket", K "ListenNetlink=route 1", "line 2: ListenNetlink=", "netlink" },
        { "foo.socket", K "ListenMessageQueue=/foo", "line 2: ListenMessageQueue=", "message queue" },
        { "foo.socket", K "ListenUSBFunction=/run/foo", "line 2: ListenUSBFunction=", "USB" },
        { "foo.socket", K "SocketUser=foo", "line 2: SocketUser=", "owner" },
        { "foo.socket", K "SocketGroup=foo", "line 2: SocketGroup=", "owner" },
        { "foo.socket", K "Symlinks=/dev/log", "line 2: Symlinks=", "symlinks" },
        { "foo.socket", K "Transparent=yes", "line 2: Transparent=", "IP_TRANSPARENT" },
        { "foo.socket", K "Mark=1", "line 2: Mark=", "SO_MARK" },
        { "foo.socket", K "ReusePort=true", "line 2: ReusePort=", "SO_REUSEPORT" },
        { "foo.socket", K "SmackLabel=x", "line 2: SmackLabel=", "label" },
        { "foo.socket", K "SmackLabelIPIn=x", "line 2: SmackLabelIPIn=", "label" },
        { "foo.socket", K "SmackLabelIPOut=x", "line 2: SmackLabelIPOut=", "label" },
        { "foo.socket", K "Service=sshd.service", "line 2: Service=", "'sshd.service', which is not a unit of this image" },
        { "foo.service", S "Sockets=dbus.socket", "line 2: Sockets=", "'dbus.socket'" },

        /* Timers and paths. */
        { "foo.timer", "[Timer]\nUnit=debug-shell.service", "line 2: Unit=", "'debug-shell.service'" },
        { "foo.timer", "[Timer]\nWakeSystem=true", "line 2: WakeSystem=", "suspend" },
        { "foo.path", "[Path]\nUnit=sshd.service", "line 2: Unit=", "start a unit of the host" },
        { "foo.path", "[Path]\nMakeDirectory=yes", "line 2: MakeDirectory=", "directories on the host" },

        /* The whole host and other units. */
        { "foo.service", "[Unit]\nFailureAction=reboot", "line 2: FailureAction=", "'reboot'" },
        { "foo.service", "[Unit]\nSuccessAction=poweroff-force", "line 2: SuccessAction=", "whole host" },
        { "foo.service", "[Unit]\nStartLimitAction=reboot-immediate", "line 2: StartLimitAction=", "whole host" },
        { "foo.service", "[Unit]\nJobTimeoutAction=exit", "line 2: JobTimeoutAction=", "whole host" },
        { "foo.service", S "FailureAction=reboot", "line 2: FailureAction=", "whole host" },
        { "foo.service", S "StartLimitAction=halt", "line 2: StartLimitAction=", "whole host" },
        { "foo.target", "[Unit]\nFailureAction=soft-reboot", "line 2: FailureAction=", "whole host" },
        { "foo.service", "[Unit]\nOnFailureJobMode=isolate", "line 2: OnFailureJobMode=", "'isolate'" },
        { "foo.service", "[Unit]\nOnSuccessJobMode=flush", "line 2: OnSuccessJobMode=", "'flush'" },
        { "foo.service", "[Unit]\nOnFailureIsolate=yes", "line 2: OnFailureIsolate=", "stop or cancel" },
        { "foo.service", "[Unit]\nWants=debug-shell.service", "line 2: Wants=", "'debug-shell.service', which is not a unit" },
        { "foo.service", "[Unit]\nRequires=reboot.target", "line 2: Requires=", "'reboot.target', which changes the state of the whole host" },
        { "foo.service", "[Unit]\nWants=runlevel6.target", "line 2: Wants=", "whole host" },
        { "foo.service", "[Unit]\nWants=initrd-switch-root.target", "line 2: Wants=", "whole host" },
        { "foo.service", "[Unit]\nRequiresOverridable=sshd.service", "line 2: RequiresOverridable=", "start a unit" },
        { "foo.service", "[Unit]\nBindsTo=sshd.socket", "line 2: BindsTo=", "'sshd.socket'" },
        { "foo.service", "[Unit]\nBindTo=sshd.socket", "line 2: BindTo=", "'sshd.socket'" },
        { "foo.service", "[Unit]\nUpholds=getty@tty1.service", "line 2: Upholds=", "'getty@tty1.service'" },
        { "foo.service", "[Unit]\nWants=foo.service x.timer", "line 2: Wants=", "'x.timer'" },
        { "foo.service", "[Unit]\nWants=%H.service", "line 2: Wants=", "specifier '%H'" },
        { "foo.service", "[Unit]\nConflicts=sshd.service", "line 2: Conflicts=", "would stop a unit of the host" },
        { "foo.service", "[Unit]\nOnFailure=emergency.target", "line 2: OnFailure=", "'emergency.target'" },
        { "foo.service", "[Unit]\nOnFailure=network-online.target", "line 2: OnFailure=", "not a unit of this image" },
        { "foo@.service", "[Unit]\nOnFailure=notify@%n.service", "line 2: OnFailure=", "'notify@%n.service'" },
        { "foo.service", "[Unit]\nOnSuccess=sshd.service", "line 2: OnSuccess=", "start a unit of the host" },
        { "foo.service", "[Unit]\nPropagatesReloadTo=sshd.service", "line 2: PropagatesReloadTo=", "reload" },
        { "foo.service", "[Unit]\nPropagateReloadTo=sshd.service", "line 2: PropagateReloadTo=", "reload" },
        { "foo.service", "[Unit]\nPropagatesStopTo=sshd.service", "line 2: PropagatesStopTo=", "stop a unit" },
        { "foo.service", "[Unit]\nJoinsNamespaceOf=sshd.service", "line 2: JoinsNamespaceOf=", "namespaces" },
        { "foo.service", "[Install]\nAlias=sshd.service", "line 2: Alias=", "'sshd.service' is outside the image's names" },
        { "foo.service", "[Install]\nAlias=dbus-org.freedesktop.login1.service", "line 2: Alias=", "unit name of the host" },
        { "foo.service", "[Install]\nAlias=foobar.service", "line 2: Alias=", "'foobar.service'" },
        { "foo.service", "[Install]\nAlso=sshd.service", "line 2: Also=", "enable a unit of the host" },

        /* Syntax: what systemd reads, the check reads. */
        { "foo.service", "[Unit]\nDescription=x\n\n# [Service]\n[Service]\nExecStartPre=+/bin/sh",
          "line 6: ExecStartPre=", "'+'" },
        { "foo.service", "[Service]\r\nExecStart=/bin/true\r\nExecStartPre=+/bin/sh\r\n", "line 3: ExecStartPre=", "'+'" },
        { "foo.service", "[Service]\rExecStartPre=+/bin/sh", "line 2: ExecStartPre=", "'+'" },
        { "foo.service", "\xef\xbb\xbf[Service]\nExecStartPre=+/bin/sh", "line 2: ExecStartPre=", "'+'" },
        { "foo.service", "[X-Vendor]\nA=1\n[Service]\nUser=root", "line 4: User=", "'root'" },
        { "foo.service", "[Service]\n\t  User \t= \t root \t", "line 2: User=", "'root'" },
        { "foo.service", "[Service]\nUser=foo\\\n  root", "line 2: User=", "'foo   root'" },
        { "foo.service", "[Unit]\n[Service]\n[Install]\n[Service]\nPAMName=login", "line 5: PAMName=", "PAM" },
        { "foo.service", S "ExecStart=/bin/true\n[Service\nUser=root", "line 3: invalid section header", "" },
        { "foo.service", S ".include /etc/systemd/system/x.service", "line 2: .include", "file of the host" },
        { "foo.mount", "[Mount]\nWhat=/dev/sda", "units of this type", "" },
};

UNIT_TABLE_TEST(unit_file_check, refused, refused_cases) {
        const struct refused_case *c = &refused_cases[*i];
        _cleanup_free_ char *message = check(c->unit, c->data), *where = NULL;

        cr_assert(not(zero(ptr, message)), "accepted: %s", c->data);
        where = unit_strf("Unit '%s'%s%s", c->unit, startswith(c->where, "units") ? ": " : ", ", c->where);
        cr_assert(holds(startswith(message, where)), "expected '%s...', got: %s", where, message);
        cr_assert(not(zero(ptr, strstr(message, c->reason))), "expected '%s' in: %s", c->reason, message);
        cr_assert(holds(endswith(message, "refusing (use --profile=trusted to allow it).") ||
                        endswith(message, "refusing.")), "%s", message);
}

struct accepted_case {
        const char *name;
        const char *unit;
        const char *data;
};

static const struct accepted_case accepted_cases[] = {
        { "empty file", "foo.service", "" },
        { "no sections", "foo.service", "ExecStartPre=+/bin/sh\nUser=root\n" },
        { "commands without privileges", "foo.service",
          S "ExecStartPre=-/usr/sbin/foo -t\nExecStart=@/usr/bin/foo foo --serve\nExecStart=:/bin/echo $X\n"
            "ExecReload=/bin/kill -HUP $MAINPID\nExecStop=|/bin/true\nExecStopPost=-/bin/rm -f /run/foo/x\n"
            "ExecCondition=/bin/test -e /etc/foo.conf\n" },
        { "'+' and '!' in arguments", "foo.service",
          S "ExecStart=/bin/chmod +x /x ; /bin/echo !x\nExecStart=/usr/bin/find . -exec rm {} \\;\n"
            "ExecStart=/bin/sh -c 'a; +b'\n" },
        { "a continuation that makes '+' an argument", "foo.service",
          S "ExecStartPre=/bin/true \\\n# comment\n\\\n+/bin/sh\n" },
        { "a line starting with ';' is a comment, also in a continuation", "foo.service",
          S "ExecStart=/bin/true \\\n; +/bin/sh\n  ; ExecStartPre=+/bin/sh\n" },
        { "settings are case-sensitive", "foo.service", S "execstartpre=+/bin/sh\nuser=root\nEXECSTART=+/bin/sh\n" },
        { "settings count only in their section", "foo.service",
          "[Unit]\nExecStartPre=+/bin/sh\nUser=root\n[Install]\nBindPaths=/etc\n" },
        { "sections another unit type has", "foo.socket", "[Service]\nExecStartPre=+/bin/sh\nUser=root\n" },
        { "a target has no commands", "foo.target", "[Service]\nExecStart=+/bin/sh\n[Socket]\nExecStartPre=/x\n" },
        { "unknown and vendor sections", "foo.service", "[X-Foo]\nExecStartPre=+/bin/sh\n[Servicex]\nUser=root\n" },
        { "unknown keys", "foo.service", S "X-Foo=+/bin/sh\nFrobnicate=/etc\nExecPaths=+/usr/bin\nExecSearchPath=/usr/bin\n" },
        { "empty assignments reset", "foo.service",
          S "RootImage=\nBindPaths=\nUser=\nEnvironmentFile=\nExecStartPre=\nPAMName=\n[Unit]\nOnFailure=\nFailureAction=\n" },
        { "false booleans", "foo.service", S "RootDirectoryStartOnly=no\nPermissionsStartOnly=false\nTTYReset=0\n"
                                             "RootEphemeral=off\n" },
        { "sandboxing the profile overrides", "foo.service",
          S "DynamicUser=no\nPrivateUsers=no\nProtectSystem=full\nNoNewPrivileges=no\nPrivateTmp=yes\n"
            "CapabilityBoundingSet=CAP_NET_BIND_SERVICE\nSystemCallFilter=@system-service\nReadWritePaths=/var/lib/foo\n"
            "TemporaryFileSystem=/var\nInaccessiblePaths=/etc/secret\nDeviceAllow=/dev/null rw\n" },
        { "environment and other values", "foo.service",
          S "Environment=FOO=bar \"X=a b\"\nPassEnvironment=LANG\nUnsetEnvironment=TZ\nWorkingDirectory=/srv\n"
            "SetCredential=key:value\nLimitNOFILE=65536\nNice=5\nSlice=system.slice\nKeyringMode=private\n"
            "MountFlags=slave\nType=notify\nRestart=on-failure\nTimeoutStopSec=5\nKillMode=mixed\n" },
        { "standard input and output", "foo.service",
          S "StandardInput=socket\nStandardInput=null\nStandardInput=data\nStandardInput=fd:foo\n"
            "StandardOutput=journal+console\nStandardOutput=kmsg\nStandardOutput=socket\nStandardError=inherit\n"
            "StandardError=null\nStandardInputText=hello\n" },
        { "the image's accounts", "foo.service",
          S "User=foo\nUser=foo-daemon\nGroup=foo\nGroup=nogroup\nUser=nobody\nSupplementaryGroups=foo foo.bar\nUser=%p\n" },
        { "accounts of a template", "foo@.service", S "User=foo-%i\nUser=%N\nGroup=%p\n" },
        { "the image's directories", "foo.service",
          S "RuntimeDirectory=foo foo/sub\nStateDirectory=foo\nCacheDirectory=foo.cache\nLogsDirectory=foo-helper\n"
            "ConfigurationDirectory=foo\nStateDirectory=foo:foo-link\nStateDirectory=foo:foo-old:ro\n"
            "RuntimeDirectory=\"foo\"\nStateDirectory=%p %N/x\n" },
        { "directories of a template", "foo@.service", S "RuntimeDirectory=foo/%i\nStateDirectory=foo-%i\n" },
        { "PID files in the image's runtime directories", "foo.service",
          S "PIDFile=/run/foo.pid\nPIDFile=/run/foo/foo.pid\nPIDFile=foo.pid\nPIDFile=foo/x.pid\nPIDFile=/var/run/foo.pid\n"
            "PIDFile=%t/%p.pid\n" },
        { "PID file of a template", "foo@.service", S "PIDFile=/run/foo/%i.pid\n" },
        { "sockets", "foo.socket",
          K "ListenStream=80\nListenStream=127.0.0.1:8080\nListenStream=[::1]:8080\nListenDatagram=0.0.0.0:53\n"
            "ListenStream=vsock:2:1234\nListenStream=/run/foo.sock\nListenStream=/run/foo\nListenStream=%t/foo/foo.sock\n"
            "ListenSequentialPacket=/run/foo-bar/x\nListenStream=/var/run/foo/x.sock\nAccept=yes\nSocketMode=0666\n"
            "DirectoryMode=0755\nRemoveOnStop=yes\nService=foo.service\nService=foo@x.service\nFileDescriptorName=foo\n"
            "Transparent=no\nReusePort=no\nFreeBind=yes\nBindToDevice=lo\nPassCredentials=yes\n" },
        { "timer and path units", "foo.timer", "[Timer]\nOnCalendar=daily\nPersistent=true\nUnit=foo.service\n"
                                               "WakeSystem=no\nRandomizedDelaySec=1h\n" },
        { "path unit", "foo.path", "[Path]\nPathExists=/run/foo/x\nPathChanged=/etc/foo.conf\nUnit=foo-helper.service\n"
                                   "MakeDirectory=no\n" },
        { "dependencies", "foo.service",
          "[Unit]\nWants=network-online.target nss-lookup.target\nAfter=network-online.target remote-fs.target dbus.service\n"
          "Requires=foo.socket\nBindsTo=foo-bar.socket\nPartOf=foo.target\nBefore=shutdown.target\n"
          "Conflicts=shutdown.target emergency.target\nRequisite=dbus.service\nRequiresMountsFor=/var/lib/foo\n"
          "Wants=tmp.mount dev-sda.device system-foo.slice\nOnFailure=foo-helper.service\nOnSuccess=foo.target\n"
          "Upholds=foo-helper.service\nJoinsNamespaceOf=foo-helper.service\nPropagatesReloadTo=foo-helper.service\n"
          "Wants=foo@x.service\nReloadPropagatedFrom=dbus.service\nStopPropagatedFrom=sshd.service\n" },
        { "dependencies of a template", "foo@.service", "[Unit]\nOnFailure=foo@%i.service foo-helper.service\n"
                                                        "Wants=%p.socket\nBindsTo=foo@%i.service\n" },
        { "actions and job modes", "foo.service",
          "[Unit]\nFailureAction=none\nSuccessAction=none\nOnFailureJobMode=replace\nOnSuccessJobMode=fail\n"
          "OnFailureIsolate=no\nStartLimitBurst=5\nJobTimeoutSec=5\n" },
        { "conditions only test the host", "foo.service",
          "[Unit]\nConditionPathExists=!/etc/foo_not_to_be_run\nAssertPathExists=/etc\nConditionFileIsExecutable=/usr/sbin/foo\n" },
        { "install", "foo.service",
          "[Install]\nWantedBy=multi-user.target\nRequiredBy=foo.target\nAlias=foo-legacy.service foo.bar.service\n"
          "Also=foo.socket foo.timer\nDefaultInstance=x\n" },
        { "no trailing newline", "foo.service", S "ExecStart=/bin/true" },
        { "CRLF and odd blanks", "foo.service", "[Service]\r\n\t ExecStart \t= \t/bin/true\t \r\n" },
};

UNIT_TABLE_TEST(unit_file_check, accepted, accepted_cases) {
        const struct accepted_case *c = &accepted_cases[*i];
        _cleanup_free_ char *message = check(c->unit, c->data);

        cr_assert(zero(ptr, message), "%s: %s", c->name, strna(message));
}

Test(unit_file_check, exact_messages) {
        _cleanup_free_ char *a = check("foo.socket", "[Unit]\nDescription=x\n\n# c\n[Socket]\nListenStream=80\n"
                                                     "ExecStartPre=/bin/true\n"),
                            *b = check("foo.service", "[Service]\nExecStartPre=+/bin/sh\n"),
                            *d = check("foo.service", "[Unit]\nOnFailure=reboot.target\n");

        assert_str(a, "Unit 'foo.socket', line 7: ExecStartPre= in a socket unit runs on the host, outside the image "
                      "and its profile; refusing (use --profile=trusted to allow it).");
        assert_str(b, "Unit 'foo.service', line 2: ExecStartPre= has the '+' prefix, which runs the command with "
                      "full privileges, outside the image and its profile; refusing (use --profile=trusted to allow it).");
        assert_str(d, "Unit 'foo.service', line 2: OnFailure= names 'reboot.target', which is not a unit of this "
                      "image: it would start a unit of the host; refusing (use --profile=trusted to allow it).");
}

/* The first violation is reported, where it is in the file. */
Test(unit_file_check, first_violation) {
        _cleanup_free_ char *m = check("foo.service", "[Unit]\nWants=x.service\n[Service]\nUser=root\n");

        cr_assert(holds(startswith(m, "Unit 'foo.service', line 2: Wants=")), "%s", m);
}

/* NUL bytes end lines for systemd: what follows one is a line of its own. */
Test(unit_file_check, nul_bytes) {
        static const char data[] = "[Unit]\nDescription=x\0[Service]\0ExecStartPre=+/bin/sh\0";
        static const char comment[] = "[Service]\n# x\0ExecStartPre=+/bin/sh";
        _cleanup_free_ char *a = check_n("foo.service", data, sizeof(data) - 1),
                            *b = check_n("foo.service", comment, sizeof(comment) - 1),
                            *c = check_n("foo.service", "[Service]\0", 10);

        cr_assert(holds(startswith(a, "Unit 'foo.service', line 4: ExecStartPre=")), "%s", strna(a));
        cr_assert(holds(startswith(b, "Unit 'foo.service', line 3: ExecStartPre=")), "%s", strna(b));
        cr_assert(zero(ptr, c));
}

/* A line of a megabyte makes systemd refuse the file; shorter ones are read to the end. */
Test(unit_file_check, huge_lines) {
        size_t n = 2 * 1024 * 1024;
        _cleanup_free_ char *data = malloc(n + 64), *a = NULL, *b = NULL;
        int k;

        cr_assert(not(zero(ptr, data)));
        k = snprintf(data, 64, "[Service]\nEnvironment=X=");
        memset(data + k, 'x', n);
        strcpy(data + k + n, "\nUser=foo\n");
        a = check_n("foo.service", data, k + n + 10);
        cr_assert(holds(startswith(a, "Unit 'foo.service', line 2: the line is longer than systemd accepts")), "%s",
                  strna(a));

        k = snprintf(data, 64, "[Service]\nEnvironment=X=");
        memset(data + k, 'x', 512 * 1024);
        strcpy(data + k + 512 * 1024, "\nUser=root\n");
        b = check_n("foo.service", data, strlen(data));
        cr_assert(holds(startswith(b, "Unit 'foo.service', line 3: User=")), "%s", strna(b));
}

/* A setting that is refused in one unit, with its line. */
Test(unit_file_check, line_numbers_count_physical_lines) {
        _cleanup_free_ char *m = check("foo.service", "# 1\n\n[Service]\nExecStart=/bin/true \\\n"
                                                      "  --flag\n\nBindPaths=/etc\n");

        cr_assert(holds(startswith(m, "Unit 'foo.service', line 7: BindPaths=")), "%s", m);
}

/* Without reterr only the error comes back. */
Test(unit_file_check, no_reterr) {
        cr_assert(eq(int, unit_file_check_confined("foo.service", "[Service]\nUser=root\n", 19, NULL, NULL), -EPERM));
        cr_assert(eq(int, unit_file_check_confined("foo.service", "[Service]\nUser=foo\n", 18, NULL, NULL), 0));
}

/* The units the project itself ships or tests with are all accepted, with the units of their own
 * image: the sample image's (tests/sample-image/build.sh) and every fixture under tests/data. */
static const char *const sample_units[][2] = {
        { "sample.service", "[Unit]\nDescription=Portabled sample HTTP service (version 1)\n\n[Service]\nType=simple\n"
                            "ExecStart=/usr/lib/sample/sample-httpd\n\n[Install]\nWantedBy=multi-user.target\n" },
        { "sample-echo.socket", "[Unit]\nDescription=Portabled sample line echo socket (version 1)\n\n[Socket]\n"
                                "ListenStream=127.0.0.1:7777\nAccept=yes\n\n[Install]\nWantedBy=sockets.target\n" },
        { "sample-echo@.service", "[Unit]\nDescription=Portabled sample line echo connection (version 1)\n\n[Service]\n"
                                  "ExecStart=/usr/lib/sample/sample-echo\nStandardInput=socket\nStandardOutput=socket\n"
                                  "StandardError=journal\n" },
        { "sample-old.service", "[Unit]\nDescription=Portabled sample idle service only in version 1\n\n[Service]\n"
                                "ExecStart=/usr/lib/sample/sample-idle sample-old.service\n\n[Install]\n"
                                "WantedBy=multi-user.target\n" },
};

Test(unit_file_check, sample_image) {
        _cleanup_strv_free_ char **names = NULL;

        for (size_t i = 0; i < ELEMENTSOF(sample_units); i++)
                cr_assert(eq(int, strv_extend(&names, sample_units[i][0]), 0));
        for (size_t i = 0; i < ELEMENTSOF(sample_units); i++)
                cr_assert(eq(int, unit_file_check_confined(sample_units[i][0], sample_units[i][1],
                                                           strlen(sample_units[i][1]), names, NULL), 0),
                          "%s", sample_units[i][0]);
}

Test(unit_file_check, test_fixtures) {
        _cleanup_free_ char *images = unit_strf("%s/images", unit_test_data());
        _cleanup_closedir_ DIR *d = opendir(images);
        struct dirent *de;
        size_t checked = 0;

        cr_assert(not(zero(ptr, d)), "%s", images);
        while ((de = readdir(d))) {
                _cleanup_free_ char *dir = unit_strf("%s/%s/usr/lib/systemd/system", images, de->d_name);
                _cleanup_closedir_ DIR *u = opendir(dir);
                _cleanup_strv_free_ char **names = NULL;
                struct dirent *ue;

                if (de->d_name[0] == '.' || !u)
                        continue;
                while ((ue = readdir(u)))
                        if (unit_name_is_portable_type(ue->d_name))
                                cr_assert(eq(int, strv_extend(&names, ue->d_name), 0));
                STRV_FOREACH(name, names) {
                        _cleanup_free_ char *path = unit_strf("%s/%s", dir, *name), *data = unit_read(path);
                        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;

                        if (!data)
                                continue; /* a dangling symlink fixture */
                        cr_assert(eq(int, unit_file_check_confined(*name, data, strlen(data), names, &error), 0),
                                  "%s: %s", path, strna(error.message));
                        checked++;
                }
        }
        cr_assert(gt(sz, checked, 20));
}

/* Typical distribution units, as a portable image of the same name would carry them. */
Test(unit_file_check, distribution_units) {
        static const char nginx[] =
                "[Unit]\nDescription=A high performance web server and a reverse proxy server\n"
                "Documentation=man:nginx(8)\nAfter=network-online.target remote-fs.target nss-lookup.target\n"
                "Wants=network-online.target\nConditionFileIsExecutable=/usr/sbin/nginx\n\n[Service]\nType=forking\n"
                "PIDFile=/run/nginx.pid\nExecStartPre=/usr/sbin/nginx -t -q -g 'daemon on; master_process on;'\n"
                "ExecStart=/usr/sbin/nginx -g 'daemon on; master_process on;'\n"
                "ExecReload=/usr/sbin/nginx -g 'daemon on; master_process on;' -s reload\n"
                "ExecStop=-/sbin/start-stop-daemon --quiet --stop --retry QUIT/5 --pidfile /run/nginx.pid\n"
                "TimeoutStopSec=5\nKillMode=mixed\n\n[Install]\nWantedBy=multi-user.target\n";
        static const char sshd[] =
                "[Unit]\nDescription=OpenBSD Secure Shell server\nDocumentation=man:sshd(8) man:sshd_config(5)\n"
                "After=network.target auditd.service\nConditionPathExists=!/etc/ssh/sshd_not_to_be_run\n\n[Service]\n"
                "ExecStartPre=/usr/sbin/sshd -t\nExecStart=/usr/sbin/sshd -D $SSHD_OPTS\nExecReload=/usr/sbin/sshd -t\n"
                "ExecReload=/bin/kill -HUP $MAINPID\nKillMode=process\nRestart=on-failure\nRestartPreventExitStatus=255\n"
                "Type=notify\nRuntimeDirectory=sshd\nRuntimeDirectoryMode=0755\n\n[Install]\nWantedBy=multi-user.target\n";
        /* Debian's ssh.service reads /etc/default/ssh of the host, takes /run/sshd (the host's own
         * sshd's directory, removed when the unit stops) and the alias sshd.service. */
        static const char debian_ssh[] =
                "[Unit]\nDescription=OpenBSD Secure Shell server\n\n[Service]\nEnvironmentFile=-/etc/default/ssh\n"
                "ExecStart=/usr/sbin/sshd -D $SSHD_OPTS\nRuntimeDirectory=sshd\n\n[Install]\nAlias=sshd.service\n";
        char *nginx_units[] = { (char *) "nginx.service", NULL }, *sshd_units[] = { (char *) "sshd.service", NULL },
             *ssh_units[] = { (char *) "ssh.service", NULL };
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;

        cr_assert(eq(int, unit_file_check_confined("nginx.service", nginx, strlen(nginx), nginx_units, NULL), 0));
        cr_assert(eq(int, unit_file_check_confined("sshd.service", sshd, strlen(sshd), sshd_units, NULL), 0));
        cr_assert(eq(int, unit_file_check_confined("ssh.service", debian_ssh, strlen(debian_ssh), ssh_units, &error),
                     -EPERM));
        cr_assert(holds(startswith(error.message, "Unit 'ssh.service', line 5: EnvironmentFile=")), "%s", error.message);
}
