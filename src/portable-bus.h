/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Every name that crosses the bus, defined once for the daemon and the client. These are interface
 * facts of org.freedesktop.portable1 and must not change. */

#define PORTABLE_BUS_NAME "org.freedesktop.portable1"
#define PORTABLE_BUS_PATH "/org/freedesktop/portable1"
#define PORTABLE_BUS_IMAGE_PREFIX "/org/freedesktop/portable1/image"
#define PORTABLE_BUS_MANAGER_INTERFACE "org.freedesktop.portable1.Manager"
#define PORTABLE_BUS_IMAGE_INTERFACE "org.freedesktop.portable1.Image"

#define PORTABLE_ERROR_NO_SUCH_IMAGE "org.freedesktop.portable1.NoSuchImage"
#define PORTABLE_ERROR_BAD_IMAGE_TYPE "org.freedesktop.portable1.BadImageType"
/* Ours, not systemd's: a unit file of the image acts on the host outside the image and its
 * profile (unit-file-check.h), and the profile is not "trusted". */
#define PORTABLE_ERROR_UNIT_NOT_CONFINED "org.freedesktop.portable1.UnitNotConfined"
#define SYSTEMD_ERROR_UNIT_EXISTS "org.freedesktop.systemd1.UnitExists"
#define SYSTEMD_ERROR_NO_SUCH_UNIT "org.freedesktop.systemd1.NoSuchUnit"

#define SYSTEMD_BUS_NAME "org.freedesktop.systemd1"
#define SYSTEMD_BUS_PATH "/org/freedesktop/systemd1"
#define SYSTEMD_BUS_MANAGER_INTERFACE "org.freedesktop.systemd1.Manager"
#define SYSTEMD_BUS_UNIT_INTERFACE "org.freedesktop.systemd1.Unit"
#define SYSTEMD_BUS_UNIT_PREFIX "/org/freedesktop/systemd1/unit"

/* Flags of the *WithExtensions methods ("t flags"). Only the public ones may be sent. */
#define PORTABLE_FLAG_RUNTIME (UINT64_C(1) << 0)
#define PORTABLE_FLAG_FORCE_ATTACH (UINT64_C(1) << 1)
#define PORTABLE_FLAG_FORCE_EXTENSION (UINT64_C(1) << 2)
#define PORTABLE_FLAGS_PUBLIC (PORTABLE_FLAG_RUNTIME | PORTABLE_FLAG_FORCE_ATTACH | PORTABLE_FLAG_FORCE_EXTENSION)

/* Ours, on ReattachImageWithExtensions() only: apply the new version but keep the previous one
 * until FinishReattach() (also ours) says whether the new one works. systemd's portabled refuses
 * the bit as unknown. */
#define PORTABLE_FLAG_KEEP_PREVIOUS (UINT64_C(1) << 32)

/* Ours, on Attach/Detach/ReattachImageWithExtensions() and the *WithOptions forms: plan the
 * operation and reply with what it would change, without changing anything. Conflicts that would
 * refuse it are listed as ("conflict", unit, reason) entries (portabled(8), "Change lists").
 * systemd's portabled refuses the bit as unknown. */
#define PORTABLE_FLAG_DRY_RUN (UINT64_C(1) << 33)

/* Flags of RepairAttachments(), a method of ours. */
#define PORTABLE_REPAIR_DRY_RUN (UINT64_C(1) << 0)

/* systemd1 EnableUnitFilesWithFlags()/DisableUnitFilesWithFlags() flags. */
#define SYSTEMD_UNIT_FILE_RUNTIME (UINT64_C(1) << 0)
#define SYSTEMD_UNIT_FILE_FORCE (UINT64_C(1) << 1)
#define SYSTEMD_UNIT_FILE_PORTABLE (UINT64_C(1) << 2)
