/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <systemd/sd-bus.h>

#include "image-operations.h"

/* The "a{sv} options" argument of our own *WithOptions methods, an extension of
 * org.freedesktop.portable1 (systemd has no such methods; its clients never call them):
 *
 *   "ImagePolicy"  s   an image policy (systemd.image-policy(7) syntax) the image must satisfy, in
 *                      addition to the daemon's own (--image-policy=), checked before the image
 *                      is mounted
 *
 * and, for GetImageMetadataWithOptions only (inspect = true), what portablectl check asks:
 *
 *   "Profile"      s   a profile name or path (profile.h): checked as attach checks it, the paths
 *                      it mounts over are looked for in the image, and the details say what it
 *                      needs and whether the image has it
 *   "CheckPaths"   as  more paths to look for: absolute and normalised, or "x:" and such a path
 *                      for an executable regular file (image-reader.h); at most
 *                      PORTABLE_CHECK_PATHS_MAX
 *
 * Unknown keys and values of the wrong type are refused with InvalidArgs: a client that asks for
 * a check must never get an answer without it. Strings point into msg. On success the caller
 * owns *ret (image_call_options_done()). */
int bus_read_call_options(sd_bus_message *msg, bool inspect, ImageCallOptions *ret, sd_bus_error *error);
