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
 * Unknown keys and values of the wrong type are refused with InvalidArgs: a client that asks for
 * a check must never get an answer without it. Strings point into msg. */
int bus_read_call_options(sd_bus_message *msg, ImageCallOptions *ret, sd_bus_error *error);
