/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "macro.h"
#include "path-util.h"
#include "portable-bus.h"
#include "portable-error.h"
#include "strv.h"
#include "unit-file-check.h"
#include "unit-file.h"
#include "unit-match.h"
#include "unit-names.h"

#define BLANKS " \t\n\r"

static bool str_in(const char *s, const char *const *list) {
        for (; *list; list++)
                if (streq(s, *list))
                        return true;
        return false;
}
#define STR_IN_SET(s, ...) str_in((s), (const char *const[]) { __VA_ARGS__, NULL })

typedef enum Section {
        SECTION_UNIT = 1 << 0,
        SECTION_INSTALL = 1 << 1,
        SECTION_SERVICE = 1 << 2,
        SECTION_SOCKET = 1 << 3,
        SECTION_TIMER = 1 << 4,
        SECTION_PATH = 1 << 5,
} Section;

/* Where systemd reads the exec, cgroup and kill settings among the portable unit types. */
#define SECTION_EXEC (SECTION_SERVICE | SECTION_SOCKET)

static const struct {
        const char *type;
        Section sections;
} unit_types[] = {
        { "service", SECTION_UNIT | SECTION_INSTALL | SECTION_SERVICE },
        { "socket", SECTION_UNIT | SECTION_INSTALL | SECTION_SOCKET },
        { "timer", SECTION_UNIT | SECTION_INSTALL | SECTION_TIMER },
        { "path", SECTION_UNIT | SECTION_INSTALL | SECTION_PATH },
        { "target", SECTION_UNIT | SECTION_INSTALL },
};

static Section section_from_name(const char *name) {
        static const char *const names[] = { "Unit", "Install", "Service", "Socket", "Timer", "Path" };

        for (size_t i = 0; i < ELEMENTSOF(names); i++)
                if (streq(name, names[i]))
                        return 1 << i;
        return 0;
}

typedef struct Checker {
        UnitNames names;
        Section sections; /* the sections systemd reads in this unit's type */
        /* The first violation. */
        unsigned line;
        char *key, *reason;
} Checker;

typedef struct Rule Rule;

/* Returns 1 and the reason for a violation, 0 if the value is fine, < 0 on error. */
#define CHECK_ARGUMENTS const Checker *c, const Rule *rule, Section section, const char *value, char **ret
typedef int (*RuleCheck)(CHECK_ARGUMENTS);

struct Rule {
        const char *key;
        Section sections;
        RuleCheck check;
        /* Completes "Key= ...": what the setting would do outside the image and its profile. */
        const char *why;
};

static int reason(char **ret, const char *format, ...) _printf_(2, 3);
static int reason(char **ret, const char *format, ...) {
        va_list ap;
        int r;

        va_start(ap, format);
        r = vasprintf(ret, format, ap);
        va_end(ap);
        return r < 0 ? -ENOMEM : 1;
}

/* Expands value; a specifier that cannot be checked is itself a violation. */
static int expand_or_refuse(const Checker *c, const char *value, char **ret, char **ret_reason) {
        char bad = 0;
        int r;

        r = unit_names_expand(&c->names, value, ret, &bad);
        if (r != -EBADR)
                return r;
        if (bad == UNIT_NAMES_INSTANCE)
                return reason(ret_reason, "contains a control character, which cannot be checked");
        return reason(ret_reason, "uses the specifier '%%%c', whose value on the host cannot be checked",
                      bad);
}

static int check_refuse(CHECK_ARGUMENTS) {
        return reason(ret, "%s", rule->why);
}

/* systemd's parse_boolean(): what is not a false value is true, or invalid and then ignored by
 * systemd; both are refused. */
static int check_refuse_true(CHECK_ARGUMENTS) {
        static const char *const no[] = { "0", "no", "n", "false", "f", "off" };

        for (size_t i = 0; i < ELEMENTSOF(no); i++)
                if (strcasecmp(value, no[i]) == 0)
                        return 0;
        return reason(ret, "%s", rule->why);
}

static int check_emergency_action(CHECK_ARGUMENTS) {
        if (streq(value, "none"))
                return 0;
        return reason(ret, "is '%s': %s", value, rule->why);
}

static int check_job_mode(CHECK_ARGUMENTS) {
        if (STR_IN_SET(value, "fail", "replace", "replace-irreversibly", "ignore-dependencies",
                       "ignore-requirements"))
                return 0;
        return reason(ret, "is '%s': %s", value, rule->why);
}

static int check_standard_input(CHECK_ARGUMENTS) {
        if (!startswith(value, "file:") && !STR_IN_SET(value, "tty", "tty-force", "tty-fail"))
                return 0;
        return reason(ret, "is '%s': %s", value, rule->why);
}

static int check_standard_output(CHECK_ARGUMENTS) {
        if (!startswith(value, "file:") && !startswith(value, "append:") && !startswith(value, "truncate:") &&
            !streq(value, "tty"))
                return 0;
        return reason(ret, "is '%s': %s", value, rule->why);
}

static int check_keyring_mode(CHECK_ARGUMENTS) {
        return streq(value, "inherit") ? reason(ret, "is 'inherit': %s", rule->why) : 0;
}

static int check_mount_flags(CHECK_ARGUMENTS) {
        return streq(value, "shared") ? reason(ret, "is 'shared': %s", rule->why) : 0;
}

/* Exec*= lines. In a service, '+' runs a command with full privileges and no sandbox, '!' and '!!'
 * skip the change of user. In a socket unit, which has no image root, every command runs on the
 * host. */
static int check_command(CHECK_ARGUMENTS) {
        const char *prefix;
        int r;

        if (section == SECTION_SOCKET)
                return reason(ret, "in a socket unit runs on the host, outside the image and its profile");

        r = unit_file_command_privilege(value, &prefix);
        if (r < 0 || !prefix)
                return r;
        if (streq(prefix, "+"))
                return reason(ret, "has the '+' prefix, which runs the command with full privileges, "
                                   "outside the image and its profile");
        return reason(ret, "has the '%s' prefix, which runs the command as root instead of the "
                           "profile's unprivileged user", prefix);
}

static int check_listen(CHECK_ARGUMENTS) {
        _cleanup_free_ char *path = NULL;
        int r;

        r = expand_or_refuse(c, value, &path, ret);
        if (r != 0)
                return r;
        if (path[0] == '@')
                return reason(ret, "'%s' is an abstract socket, a name in the host's network namespace that host "
                                   "programs may connect to", value);
        if (path[0] != '/' || unit_names_owns_runtime_path(&c->names, path))
                return 0;
        return reason(ret, "'%s' %s", value, rule->why);
}

static int check_pid_file(CHECK_ARGUMENTS) {
        _cleanup_free_ char *path = NULL, *absolute = NULL;
        int r;

        r = expand_or_refuse(c, value, &path, ret);
        if (r != 0)
                return r;
        /* A relative path is taken relative to /run. */
        if (path[0] != '/' && asprintf(&absolute, "/run/%s", path) < 0)
                return -ENOMEM;
        if (unit_names_owns_runtime_path(&c->names, absolute ?: path))
                return 0;
        return reason(ret, "'%s' %s", value, rule->why);
}

/* RuntimeDirectory= and friends: relative paths below /run, /var/lib, ..., each optionally with
 * ":SYMLINK" (systemd 254) naming a symlink to it in the same place, and ":ro" options. */
static int check_exec_directory(CHECK_ARGUMENTS) {
        for (const char *p = value;;) {
                _cleanup_free_ char *word = NULL;
                char *save = NULL;
                int r;

                r = unit_file_extract_word(&p, &word);
                if (r <= 0)
                        return r;

                for (char *part = strtok_r(word, ":", &save); part; part = strtok_r(NULL, ":", &save)) {
                        _cleanup_free_ char *path = NULL;

                        if (part != word && streq(part, "ro"))
                                continue;
                        r = expand_or_refuse(c, part, &path, ret);
                        if (r != 0)
                                return r;
                        if (!unit_names_owns_relative_path(&c->names, path, 0))
                                return reason(ret, "names '%s', %s", part, rule->why);
                }
        }
}

/* User=, Group=: one name; SupplementaryGroups=: a list. With the profile's DynamicUser=yes a
 * name that exists on the host is that static account of the host ("root", a daemon's user). */
static int check_account(const Checker *c, const char *name, const Rule *rule, char **ret) {
        _cleanup_free_ char *expanded = NULL;
        int r;

        r = expand_or_refuse(c, name, &expanded, ret);
        if (r != 0)
                return r;
        if (STR_IN_SET(expanded, "nobody", "nogroup") || unit_names_owns(&c->names, expanded))
                return 0;
        return reason(ret, "names '%s', %s", name, rule->why);
}

static int check_user_group(CHECK_ARGUMENTS) {
        if (!streq(rule->key, "SupplementaryGroups"))
                return check_account(c, value, rule, ret);

        for (const char *p = value;;) {
                _cleanup_free_ char *word = NULL;
                int r;

                r = unit_file_extract_word(&p, &word);
                if (r <= 0)
                        return r;
                r = check_account(c, word, rule, ret);
                if (r != 0)
                        return r;
        }
}

/* Targets whose start changes the state of the whole host (systemd.special(7)). */
static bool target_changes_host_state(const char *name) {
        static const char *const targets[] = {
                "shutdown", "reboot", "poweroff", "halt", "kexec", "soft-reboot", "exit", "ctrl-alt-del",
                "final", "umount", "rescue", "emergency", "sleep", "suspend", "hibernate", "hybrid-sleep",
                "suspend-then-hibernate", "sigpwr", "kbrequest", "factory-reset", "system-update",
                "system-update-pre", "storage-target-mode", "runlevel0", "runlevel1", "runlevel6",
        };
        _cleanup_free_ char *stem = unit_names_stem(name);

        if (!stem || startswith(stem, "initrd"))
                return true;
        for (size_t i = 0; i < ELEMENTSOF(targets); i++)
                if (streq(stem, targets[i]))
                        return true;
        return false;
}

typedef enum Reference {
        REFERENCE_START,    /* started with this unit: own units, and host units that run no code */
        REFERENCE_STOP,     /* stopped when this unit starts: own units and targets */
        REFERENCE_OWN,      /* acted on in other ways: own units only */
} Reference;

static bool reference_allowed(const Checker *c, const char *name, Reference kind) {
        const char *type;

        if (unit_names_is_image_unit(&c->names, name))
                return true;
        if (!unit_name_is_valid(name, UNIT_NAME_PLAIN | UNIT_NAME_INSTANCE))
                return false;
        type = unit_name_type(name);
        switch (kind) {
        case REFERENCE_START:
                if (streq(type, "target"))
                        return !target_changes_host_state(name);
                return STR_IN_SET(type, "mount", "automount", "swap", "device", "slice");
        case REFERENCE_STOP:
                return streq(type, "target");
        default:
                return false;
        }
}

static int check_references(const Checker *c, const Rule *rule, const char *value, Reference kind,
                            char **ret) {
        _cleanup_free_ char *copy = strdup(value);

        if (!copy)
                return -ENOMEM;
        for (char *save = NULL, *word = strtok_r(copy, BLANKS, &save); word;
             word = strtok_r(NULL, BLANKS, &save)) {
                _cleanup_free_ char *name = NULL;
                int r;

                r = expand_or_refuse(c, word, &name, ret);
                if (r != 0)
                        return r;
                if (reference_allowed(c, name, kind))
                        continue;
                if (kind == REFERENCE_START && unit_name_is_valid(name, UNIT_NAME_PLAIN) &&
                    streq(unit_name_type(name), "target"))
                        return reason(ret, "names '%s', which changes the state of the whole host", word);
                return reason(ret, "names '%s', which is not a unit of this image: %s", word, rule->why);
        }
        return 0;
}

static int check_start_references(CHECK_ARGUMENTS) {
        return check_references(c, rule, value, REFERENCE_START, ret);
}

static int check_stop_references(CHECK_ARGUMENTS) {
        return check_references(c, rule, value, REFERENCE_STOP, ret);
}

static int check_own_references(CHECK_ARGUMENTS) {
        return check_references(c, rule, value, REFERENCE_OWN, ret);
}

static int check_alias(CHECK_ARGUMENTS) {
        _cleanup_free_ char *copy = strdup(value);

        if (!copy)
                return -ENOMEM;
        for (char *save = NULL, *word = strtok_r(copy, BLANKS, &save); word;
             word = strtok_r(NULL, BLANKS, &save)) {
                _cleanup_free_ char *name = NULL, *stem = NULL;
                int r;

                r = expand_or_refuse(c, word, &name, ret);
                if (r != 0)
                        return r;
                stem = unit_names_stem(name);
                if (!stem)
                        return -ENOMEM;
                if (!unit_names_owns(&c->names, stem))
                        return reason(ret, "'%s' %s", word, rule->why);
        }
        return 0;
}

#define HOST_ACTION "the unit would reboot, power off or stop the whole host"
#define JOB_MODE "the job would stop or cancel units of the host"
#define NOT_OWNED_RUNTIME \
        "is outside the image's names in /run: the service manager would create, chown or remove it on " \
        "the host"
#define NOT_OWNED_ACCOUNT \
        "which is not one of the image's names: the service would run as that account of the host (its files, " \
        "its rights on the host's D-Bus)"
#define NOT_OWNED_DIRECTORY \
        "which is not one of the image's names: the service manager would create it on the host and hand it " \
        "to the service"

/* Every setting that acts on the host, with the reason. Not listed and accepted, among others:
 * sandboxing settings (the profile drop-in, read after the unit file, overrides or resets them),
 * IP sockets (the socket unit's profile filters them), conditions (they only test the host),
 * [Install] WantedBy=/RequiredBy= (they make host units pull this unit in, which is confined),
 * and the implicit unit a timer, path or socket starts: it has the trigger's own name. */
static const Rule rules[] = {
        /* Commands. Unknown Exec*= keys in these sections are taken as commands too. */
        { "ExecCondition", SECTION_EXEC, check_command, NULL },
        { "ExecStartPre", SECTION_EXEC, check_command, NULL },
        { "ExecStart", SECTION_EXEC, check_command, NULL },
        { "ExecStartPost", SECTION_EXEC, check_command, NULL },
        { "ExecReload", SECTION_EXEC, check_command, NULL },
        { "ExecStop", SECTION_EXEC, check_command, NULL },
        { "ExecStopPre", SECTION_EXEC, check_command, NULL },
        { "ExecStopPost", SECTION_EXEC, check_command, NULL },
        { "RootDirectoryStartOnly", SECTION_SERVICE, check_refuse_true,
          "runs the commands other than ExecStart= on the host's file system, outside the image" },
        { "PermissionsStartOnly", SECTION_SERVICE, check_refuse_true,
          "runs the commands other than ExecStart= with full privileges, outside the profile" },

        /* The root of the service: the portable drop-in sets it up. */
        { "RootDirectory", SECTION_EXEC, check_refuse,
          "replaces the image root the portable drop-in sets up with a path of the host" },
        { "RootImage", SECTION_EXEC, check_refuse,
          "replaces the image root the portable drop-in sets up with a file or device of the host" },
        { "RootImageOptions", SECTION_EXEC, check_refuse,
          "changes how the image root is mounted (for example writable)" },
        { "RootImagePolicy", SECTION_EXEC, check_refuse,
          "loosens the policy the image root is mounted with" },
        { "RootHash", SECTION_EXEC, check_refuse, "changes the verity data the image root is checked with" },
        { "RootHashSignature", SECTION_EXEC, check_refuse,
          "changes the verity data the image root is checked with" },
        { "RootVerity", SECTION_EXEC, check_refuse,
          "changes the verity data the image root is checked with (a file of the host)" },
        { "RootEphemeral", SECTION_EXEC, check_refuse_true,
          "makes a writable copy of the image root on the host" },
        { "MountImages", SECTION_EXEC, check_refuse, "mounts images of the host into the service" },
        { "MountImagePolicy", SECTION_EXEC, check_refuse,
          "loosens the policy images are mounted into the service with" },
        { "ExtensionImages", SECTION_EXEC, check_refuse, "adds images of the host to the service's root" },
        { "ExtensionImagePolicy", SECTION_EXEC, check_refuse,
          "loosens the policy extension images are mounted with" },
        { "ExtensionDirectories", SECTION_EXEC, check_refuse,
          "adds directories of the host to the service's root" },
        { "BindPaths", SECTION_EXEC, check_refuse, "mounts paths of the host into the service" },
        { "BindReadOnlyPaths", SECTION_EXEC, check_refuse, "mounts paths of the host into the service" },
        { "NetworkNamespacePath", SECTION_EXEC, check_refuse, "joins a network namespace of the host" },
        { "IPCNamespacePath", SECTION_EXEC, check_refuse, "joins an IPC namespace of the host" },
        { "MountFlags", SECTION_EXEC, check_mount_flags,
          "mounts made in the service would appear on the host" },

        /* Files of the host the service manager reads for the service. */
        { "EnvironmentFile", SECTION_EXEC, check_refuse,
          "is read by the service manager on the host, outside the image" },
        { "LoadCredential", SECTION_EXEC, check_refuse,
          "reads files or credentials of the host into the service" },
        { "LoadCredentialEncrypted", SECTION_EXEC, check_refuse,
          "reads files or credentials of the host into the service" },
        { "ImportCredential", SECTION_EXEC, check_refuse,
          "imports credentials of the host into the service" },
        { "SetCredentialEncrypted", SECTION_EXEC, check_refuse,
          "has the host decrypt data with its credential key" },
        { "LandlockConfig", SECTION_EXEC, check_refuse,
          "is read by the service manager on the host, outside the image" },
        { "OpenFile", SECTION_SERVICE, check_refuse, "opens files of the host for the service" },
        { "USBFunctionDescriptors", SECTION_SERVICE, check_refuse,
          "is read by the service manager on the host, outside the image" },
        { "USBFunctionStrings", SECTION_SERVICE, check_refuse,
          "is read by the service manager on the host, outside the image" },
        { "PIDFile", SECTION_SERVICE, check_pid_file, NOT_OWNED_RUNTIME },

        /* Standard input and output are opened by the service manager before the sandbox. */
        { "StandardInput", SECTION_EXEC, check_standard_input,
          "opens a file or terminal of the host for the service" },
        { "StandardOutput", SECTION_EXEC, check_standard_output,
          "opens a file or terminal of the host for the service" },
        { "StandardError", SECTION_EXEC, check_standard_output,
          "opens a file or terminal of the host for the service" },
        { "TTYPath", SECTION_EXEC, check_refuse, "gives the service a terminal of the host" },
        { "TTYReset", SECTION_EXEC, check_refuse_true,
          "resets a terminal of the host (by default /dev/console)" },
        { "TTYVHangup", SECTION_EXEC, check_refuse_true,
          "hangs up a terminal of the host (by default /dev/console)" },
        { "TTYVTDisallocate", SECTION_EXEC, check_refuse_true,
          "clears a terminal of the host (by default /dev/console)" },

        /* Identity, login and labels of the host. */
        { "User", SECTION_EXEC, check_user_group, NOT_OWNED_ACCOUNT },
        { "Group", SECTION_EXEC, check_user_group, NOT_OWNED_ACCOUNT },
        { "SupplementaryGroups", SECTION_EXEC, check_user_group, NOT_OWNED_ACCOUNT },
        { "PAMName", SECTION_EXEC, check_refuse, "runs the host's PAM stack for the service" },
        { "UtmpIdentifier", SECTION_EXEC, check_refuse,
          "writes login records into the host's utmp and wtmp" },
        { "KeyringMode", SECTION_EXEC, check_keyring_mode,
          "the service would share the service manager's kernel keyring" },
        { "SELinuxContext", SECTION_EXEC, check_refuse,
          "chooses the host's security label the service runs with" },
        { "AppArmorProfile", SECTION_EXEC, check_refuse,
          "chooses the host's security profile the service runs with" },
        { "SmackProcessLabel", SECTION_EXEC, check_refuse,
          "chooses the host's security label the service runs with" },
        { "BPFDelegateCommands", SECTION_EXEC, check_refuse, "hands kernel BPF operations to the service" },
        { "BPFDelegateMaps", SECTION_EXEC, check_refuse, "hands kernel BPF operations to the service" },
        { "BPFDelegatePrograms", SECTION_EXEC, check_refuse, "hands kernel BPF operations to the service" },
        { "BPFDelegateAttachments", SECTION_EXEC, check_refuse,
          "hands kernel BPF operations to the service" },

        /* Directories the service manager creates on the host and gives to the service. */
        { "RuntimeDirectory", SECTION_EXEC, check_exec_directory, NOT_OWNED_DIRECTORY },
        { "StateDirectory", SECTION_EXEC, check_exec_directory, NOT_OWNED_DIRECTORY },
        { "CacheDirectory", SECTION_EXEC, check_exec_directory, NOT_OWNED_DIRECTORY },
        { "LogsDirectory", SECTION_EXEC, check_exec_directory, NOT_OWNED_DIRECTORY },
        { "ConfigurationDirectory", SECTION_EXEC, check_exec_directory, NOT_OWNED_DIRECTORY },

        /* Resource control with objects of the host. */
        { "BPFProgram", SECTION_EXEC, check_refuse, "attaches BPF programs pinned on the host" },
        { "IPIngressFilterPath", SECTION_EXEC, check_refuse, "attaches BPF programs pinned on the host" },
        { "IPEgressFilterPath", SECTION_EXEC, check_refuse, "attaches BPF programs pinned on the host" },
        { "NFTSet", SECTION_EXEC, check_refuse, "adds the unit to firewall sets of the host" },

        /* What the service manager creates or opens on the host for a socket. */
        { "ListenStream", SECTION_SOCKET, check_listen, NOT_OWNED_RUNTIME },
        { "ListenDatagram", SECTION_SOCKET, check_listen, NOT_OWNED_RUNTIME },
        { "ListenSequentialPacket", SECTION_SOCKET, check_listen, NOT_OWNED_RUNTIME },
        { "ListenFIFO", SECTION_SOCKET, check_refuse, "creates a FIFO on the host" },
        { "ListenSpecial", SECTION_SOCKET, check_refuse, "opens a file of the host for the service" },
        { "ListenNetlink", SECTION_SOCKET, check_refuse,
          "passes the service a netlink socket opened with the service manager's privileges" },
        { "ListenMessageQueue", SECTION_SOCKET, check_refuse, "creates a message queue on the host" },
        { "ListenUSBFunction", SECTION_SOCKET, check_refuse,
          "opens a USB function of the host for the service" },
        { "SocketUser", SECTION_SOCKET, check_refuse, "changes the owner of files on the host" },
        { "SocketGroup", SECTION_SOCKET, check_refuse, "changes the owner of files on the host" },
        { "Symlinks", SECTION_SOCKET, check_refuse, "creates symlinks on the host" },
        { "Transparent", SECTION_SOCKET, check_refuse_true,
          "uses a privilege of the service manager (IP_TRANSPARENT)" },
        { "Mark", SECTION_SOCKET, check_refuse,
          "uses a privilege of the service manager (SO_MARK) that changes how the host routes and filters "
          "the traffic" },
        { "ReusePort", SECTION_SOCKET, check_refuse_true,
          "lets the socket take over ports of the host's services (SO_REUSEPORT as root)" },
        { "SmackLabel", SECTION_SOCKET, check_refuse, "chooses the host's security label of the socket" },
        { "SmackLabelIPIn", SECTION_SOCKET, check_refuse, "chooses the host's security label of the socket" },
        { "SmackLabelIPOut", SECTION_SOCKET, check_refuse,
          "chooses the host's security label of the socket" },
        { "Service", SECTION_SOCKET, check_own_references, "the socket would start a unit of the host" },
        { "Sockets", SECTION_SERVICE, check_own_references,
          "the service would receive the sockets of a unit of the host" },

        /* Timers and paths. */
        { "Unit", SECTION_TIMER | SECTION_PATH, check_own_references, "it would start a unit of the host" },
        { "WakeSystem", SECTION_TIMER, check_refuse_true, "wakes the host from system suspend" },
        { "MakeDirectory", SECTION_PATH, check_refuse_true, "creates directories on the host" },

        /* The whole host, and other units. [Service] still accepts the old places of the actions. */
        { "FailureAction", SECTION_UNIT | SECTION_SERVICE, check_emergency_action, HOST_ACTION },
        { "SuccessAction", SECTION_UNIT, check_emergency_action, HOST_ACTION },
        { "StartLimitAction", SECTION_UNIT | SECTION_SERVICE, check_emergency_action, HOST_ACTION },
        { "JobTimeoutAction", SECTION_UNIT, check_emergency_action, HOST_ACTION },
        { "OnFailureJobMode", SECTION_UNIT, check_job_mode, JOB_MODE },
        { "OnSuccessJobMode", SECTION_UNIT, check_job_mode, JOB_MODE },
        { "OnFailureIsolate", SECTION_UNIT, check_refuse_true, JOB_MODE },
        { "Wants", SECTION_UNIT, check_start_references, "it would start a unit of the host" },
        { "Requires", SECTION_UNIT, check_start_references, "it would start a unit of the host" },
        { "RequiresOverridable", SECTION_UNIT, check_start_references, "it would start a unit of the host" },
        { "BindsTo", SECTION_UNIT, check_start_references, "it would start a unit of the host" },
        { "BindTo", SECTION_UNIT, check_start_references, "it would start a unit of the host" },
        { "Upholds", SECTION_UNIT, check_start_references, "it would start a unit of the host" },
        { "Conflicts", SECTION_UNIT, check_stop_references,
          "starting this unit would stop a unit of the host" },
        { "OnFailure", SECTION_UNIT, check_own_references, "it would start a unit of the host" },
        { "OnSuccess", SECTION_UNIT, check_own_references, "it would start a unit of the host" },
        { "PropagatesReloadTo", SECTION_UNIT, check_own_references, "it would reload a unit of the host" },
        { "PropagateReloadTo", SECTION_UNIT, check_own_references, "it would reload a unit of the host" },
        { "PropagatesStopTo", SECTION_UNIT, check_own_references, "it would stop a unit of the host" },
        { "JoinsNamespaceOf", SECTION_UNIT, check_own_references,
          "the service would join the namespaces of a unit of the host" },
        { "Alias", SECTION_INSTALL, check_alias,
          "is outside the image's names: enabling the unit would add or replace a unit name of the host" },
        { "Also", SECTION_INSTALL, check_own_references,
          "enabling this unit would enable a unit of the host" },
};

static const Rule command_rule = { NULL, SECTION_EXEC, check_command, NULL };

static const Rule *rule_find(const char *key, Section section) {
        for (size_t i = 0; i < ELEMENTSOF(rules); i++)
                if ((rules[i].sections & section) && streq(rules[i].key, key))
                        return &rules[i];

        if ((section & SECTION_EXEC) && startswith(key, "Exec") &&
            !STR_IN_SET(key, "ExecPaths", "ExecSearchPath"))
                return &command_rule;
        return NULL;
}

static int on_assignment(const char *section_name, const char *key, const char *value, unsigned line,
                         void *userdata) {
        Checker *c = userdata;
        Section section = section_from_name(section_name);
        const Rule *rule;
        char *why = NULL;
        int r;

        if (!(section & c->sections) || isempty(value))
                return 0;

        rule = rule_find(key, section);
        if (!rule)
                return 0;

        r = rule->check(c, rule, section, value, &why);
        if (r <= 0)
                return r;

        c->line = line;
        c->reason = why;
        c->key = strdup(key);
        return c->key ? 1 : -ENOMEM;
}

static int checker_init(Checker *c, const char *unit, char * const *image_units) {
        const char *type = unit_name_type(unit);

        *c = (Checker) {};
        for (size_t i = 0; type && i < ELEMENTSOF(unit_types); i++)
                if (streq(type, unit_types[i].type))
                        c->sections = unit_types[i].sections;
        if (c->sections == 0)
                return 0;
        return unit_names_init(&c->names, unit, image_units);
}

static void checker_done(Checker *c) {
        unit_names_done(&c->names);
        c->key = mfree(c->key);
        c->reason = mfree(c->reason);
}

int unit_file_check_confined(const char *unit, const char *data, size_t size, char * const *image_units,
                             sd_bus_error *reterr) {
        _cleanup_(checker_done) Checker c = {};
        unsigned line = 0;
        int r;

        r = checker_init(&c, unit, image_units);
        if (r < 0)
                return r;
        if (c.sections == 0)
                return portable_error(reterr, EPERM, PORTABLE_ERROR_UNIT_NOT_CONFINED,
                                      "Unit '%s': units of this type cannot be checked; refusing.", unit);

        r = unit_file_parse(data, size, on_assignment, &c, &line);
        if (r == 0)
                return 0;
        if (r == 1)
                return portable_error(reterr, EPERM, PORTABLE_ERROR_UNIT_NOT_CONFINED,
                                      "Unit '%s', line %u: %s= %s; refusing (use --profile=trusted to allow it).",
                                      unit, c.line, c.key, c.reason);
        if (r == -ENOBUFS)
                return portable_error(reterr, EPERM, PORTABLE_ERROR_UNIT_NOT_CONFINED,
                                      "Unit '%s', line %u: the line is longer than systemd accepts; refusing.",
                                      unit, line);
        if (r == -EBADMSG)
                return portable_error(reterr, EPERM, PORTABLE_ERROR_UNIT_NOT_CONFINED,
                                      "Unit '%s', line %u: invalid section header, systemd would not load the file; "
                                      "refusing.", unit, line);
        if (r == -ENOEXEC)
                return portable_error(reterr, EPERM, PORTABLE_ERROR_UNIT_NOT_CONFINED,
                                      "Unit '%s', line %u: .include would read settings from a file of the host; "
                                      "refusing (use --profile=trusted to allow it).", unit, line);
        return r;
}

int unit_file_check_metadata_confined(const PortableMetadata *m, sd_bus_error *reterr) {
        _cleanup_strv_free_ char **names = NULL;
        int r;

        for (size_t i = 0; i < m->n_units; i++) {
                r = strv_extend(&names, m->units[i].name);
                if (r < 0)
                        return r;
        }
        for (size_t i = 0; i < m->n_units; i++) {
                const PortableFile *u = &m->units[i];

                r = unit_file_check_confined(u->name, u->data, u->size, names, reterr);
                if (r < 0)
                        return r;
        }
        return 0;
}
