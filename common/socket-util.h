/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * Listening sockets for the API, shared by fleetd (which keeps them across reloads) and the
 * HTTP server.
 */

#include <sys/types.h>

#include "macro.h"

/*
 * Create a listening, non-blocking, close-on-exec socket for address: "unix:/path" or "/path"
 * (a unix socket; an old socket file is replaced; mode unix_mode), or "host:port",
 * "[v6]:port", ":port" (TCP, SO_REUSEADDR). Returns the fd, -EINVAL for an unparsable
 * address, or the errno of socket/bind/listen.
 */
int socket_listen_address(const char *address, mode_t unix_mode);
