/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* What the markers of attached units say (dropin_read_marker()), remembered by the identity of
 * each unit's 20-portable.conf: device, inode, size, and modification and change times to the
 * nanosecond, which any write to the file changes. A directory of a hundred attached units is
 * listed by every detach, every state query and every listing; with the cache, an unchanged
 * marker costs one fstatat() instead of an open, two reads and a close.
 *
 * The daemon owns one (its Host); a Host without one reads every marker. */

typedef struct MarkerCache MarkerCache;

/* NULL on OOM. */
MarkerCache *marker_cache_new(void);
MarkerCache *marker_cache_free(MarkerCache *c);

/* As dropin_read_marker(): 1 and the marker's paths in *ret_paths, 0 if the unit has no marker
 * (no drop-in, not ours, unreadable as a marker), or a negative errno. c may be NULL. */
int marker_cache_read(MarkerCache *c, int attached_dir_fd, const char *unit, char ***ret_paths);

/* How many markers are remembered (for the tests). */
unsigned marker_cache_size(const MarkerCache *c);
