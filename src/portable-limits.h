/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* What one image may make us read, keep and send. Images are untrusted, and every D-Bus reply
 * must stay well below the bus's own message limit (dbus-daemon drops a connection whose message
 * is larger, 32 MiB on the system bus by default): an image over a limit is refused with an
 * error that names it and the limit. The same numbers are listed in portabled(8). */

/* One unit file. */
#define PORTABLE_SIZE_MAX_UNIT_FILE (1024U * 1024U)

/* os-release and extension-release files. */
#define PORTABLE_SIZE_MAX_RELEASE_FILE (64U * 1024U)

/* Matching unit files in one image (all layers together). */
#define PORTABLE_UNITS_MAX 1024U

/* All release and unit files of one image together, i.e. the payload of a metadata reply. */
#define PORTABLE_SIZE_MAX_METADATA (8U * 1024U * 1024U)

/* Warnings kept about one image (skipped files and the like); more are summarised. */
#define PORTABLE_WARNINGS_MAX 64U

/* Extension images stacked on one image: each is read by its own reader, at the same time. */
#define PORTABLE_EXTENSIONS_MAX 32U

/* How long reading one image may take, from fork to the last file. */
#define PORTABLE_READ_TIMEOUT_USEC (120U * 1000U * 1000U)

/* Operations of the daemon in flight at once (method calls waiting for an image read, the service
 * manager or a worker; each may hold reader processes, a loop device and a mount): in all, and
 * per user ID of the callers (root's calls count only in all). A call beyond any is refused at
 * once with org.freedesktop.DBus.Error.LimitsExceeded, so that no caller can make the daemon hold
 * an unbounded number of readers, and no single user all of them. */
#define PORTABLE_OPERATIONS_MAX 64U
#define PORTABLE_OPERATIONS_PER_USER_MAX 16U
/* Of all, the operations of unprivileged callers together: the rest is kept for root, so that
 * the users of a few accounts cannot fill the daemon and lock root out. */
#define PORTABLE_OPERATIONS_UNPRIVILEGED_MAX 48U

/* The daemon's time (it is single-threaded: every caller waits for it) that callers other than root
 * may take (portabled/call-budget.h): the callers of one user ID a quarter of it, after a burst of
 * 1 s, and all of them together half, after a burst of 2 s. A call beyond is refused at once with
 * org.freedesktop.DBus.Error.LimitsExceeded, so that a flood of calls, cheap ones included, costs
 * the daemon a refusal each and leaves root at least half of its time. Shares are per mille. */
#define PORTABLE_CALL_TIME_PER_USER_BURST_USEC (1000U * 1000U)
#define PORTABLE_CALL_TIME_PER_USER_SHARE 250U
#define PORTABLE_CALL_TIME_UNPRIVILEGED_BURST_USEC (2000U * 1000U)
#define PORTABLE_CALL_TIME_UNPRIVILEGED_SHARE 500U

/* How long removing an image waits for our own reads of it (an inspect, an attach being
 * prepared) to end before it is refused as busy; no new read of it starts meanwhile. */
#define PORTABLE_EXCLUSIVE_WAIT_USEC (10U * 1000U * 1000U)

/* Paths a caller may ask an image read to look for (GetImageMetadataWithOptions "CheckPaths":
 * the commands of the units, for portablectl check). */
#define PORTABLE_CHECK_PATHS_MAX 1024U
