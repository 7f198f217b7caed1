/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <systemd/sd-bus.h>

#include "macro.h"

/* Everything portablectl asks of the service manager (org.freedesktop.systemd1) after or before an
 * attach/detach: reloading, enabling/disabling with UNIT_FILE_PORTABLE, queueing start/stop/restart
 * jobs and waiting for them. Failures here are logged and never change the exit status: the
 * portable1 operation itself has already succeeded (or is about to be tried regardless).
 *
 * When nothing owns org.freedesktop.systemd1 (a test bus, a container without systemd) the first
 * call notices, says so once, and all further calls are skipped. */

typedef struct ServiceManager ServiceManager;

int service_manager_new(sd_bus *bus, ServiceManager **ret);
ServiceManager *service_manager_free(ServiceManager *m);
DEFINE_TRIVIAL_CLEANUP_FUNC(ServiceManager *, service_manager_free);

/* Manager.Reload(), so that PID 1 sees the attached or detached unit files. */
void service_manager_reload(ServiceManager *m);

/* EnableUnitFilesWithFlags/DisableUnitFilesWithFlags for one unit file (a path when enabling an
 * attached file, a unit name when disabling), with UNIT_FILE_PORTABLE and, with runtime,
 * UNIT_FILE_RUNTIME. Prints systemd's changes unless --quiet. Returns how many links systemd
 * created or removed (0: the enablement did not change), or a negative errno. */
int service_manager_enable_disable(ServiceManager *m, const char *unit, bool enable, bool runtime);

/* Whether PID 1 holds any of units (names; a template stands for all of its instances) in memory,
 * in any load state: 1 and "name (load state)" of the first in *ret_name, 0 if none is (or there
 * is no service manager), or a negative errno. A unit it does not hold is loaded from the unit
 * files as they are when it is first needed, without a reload: systemd notices that its unit
 * directories changed. One it holds keeps what it read until the next reload. */
int service_manager_loaded_unit(ServiceManager *m, char * const *units, char **ret_name);

/* CleanUnit(name, ["all", "fdstore"]) (or ["all"] for systemd before 254, which refuses
 * "fdstore"): removes the unit's state, cache, logs and runtime directories and its file
 * descriptor store. Logged, never fatal. */
void service_manager_clean(ServiceManager *m, const char *unit);

/* Queues StartUnit/StopUnit/RestartUnit(name, "replace") for the basename of unit and remembers the
 * job for service_manager_wait(). */
int service_manager_queue(ServiceManager *m, const char *method, const char *unit);

/* Waits until every queued job has been removed, at most timeout_usec (UINT64_MAX: no limit);
 * logs the jobs that did not end in "done". Returns -EIO if any failed, -ETIMEDOUT if some did not
 * end in time (they count as failed). A start job ends "done" once the unit is active: a
 * Type=notify service has sent READY=1, a oneshot has exited successfully. */
int service_manager_wait(ServiceManager *m, uint64_t timeout_usec);

/* The units whose jobs failed or timed out so far. */
char **service_manager_failed_units(ServiceManager *m);

/* "failed (result 'exit-code', status 1)": how a unit is, for messages. */
int service_manager_describe_unit(ServiceManager *m, const char *unit, char **ret);

/* Whether a unit file path or name has a type that portable services attach and systemctl can
 * act on (.service .target .socket .path .timer). */
bool unit_is_portable_managed(const char *path);
