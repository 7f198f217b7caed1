/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* A polkit authentication agent on our terminal, as systemd's clients have: when the daemon asks
 * polkit whether we may do something and polkit wants a password, pkttyagent asks for it here.
 *
 * polkit_agent_open_if_enabled() starts "pkttyagent --notify-fd N --fallback" for this process and
 * waits until it has registered, unless --no-ask-password was given, we are root (who needs no
 * authorization), stdin is not a terminal, or pkttyagent is not installed; a failure to start it is
 * not an error (the call is then refused as it would have been without an agent). Returns 0.
 * polkit_agent_close() stops it; call it before exiting. The agent also dies with us. */
int polkit_agent_open_if_enabled(void);
void polkit_agent_close(void);
