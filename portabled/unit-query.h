/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Asks the service manager (org.freedesktop.systemd1 on our bus) whether a unit is active. With
 * no service manager on the bus, every unit counts as inactive. userdata is the Manager. */
int unit_query_is_active(void *userdata, const char *unit);
