/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Durability of exactly the files and directories an operation touched.
 *
 * fsync_paths() makes the contents of files and the entries of dirs durable with one fsync() of
 * each. The calls are issued at the same time, from a few short-lived threads, so that the file
 * system commits them together: on ext4 or XFS, concurrent fsyncs share one journal commit and
 * one cache flush, where the same calls one after the other cost one flush each (several times
 * slower on a real disk). Unlike syncfs(), nothing else dirty on the file system is waited for.
 *
 * A path that no longer exists is skipped: a removed directory's entry is in its parent, which
 * belongs in dirs too. A symlink given as a file is skipped: it cannot be opened, its directory
 * entry is what makes it durable. Files and directories on file systems that keep nothing across
 * a reboot (tmpfs, ramfs) are skipped as well, since fsync() there does nothing.
 *
 * Returns the number of fsync() calls made, or the first error (every call is still made). */
int fsync_paths(char * const *files, char * const *dirs);
