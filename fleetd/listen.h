/* SPDX-License-Identifier: MIT */
#pragma once

#include <sys/types.h>

/*
 * fleetd's API listening sockets. They belong to main(), not to the API object, so that a
 * SIGHUP rebuild keeps them (reference 7.10): each new Api gets duplicates.
 *
 * Sources: sockets passed by systemd socket activation (fleet.socket), else the api_listen
 * option ("/unix/path", "unix:/path", "host:port", "[v6]:port", ":port").
 */

#include <stddef.h>
#include <stdint.h>

#include "macro.h"

typedef struct Listeners {
        int *fds;
        size_t n;
        char **addresses; /* what was opened from api_listen (NULL when activated) */
        bool activated;   /* the fds came from systemd */
} Listeners;

/* Take over the sockets systemd passed (sd_listen_fds); 0 if there are none. Returns the
 * number taken or a negative errno. */
int listeners_from_systemd(Listeners *l);

/*
 * Open a listening socket for every address (a unix socket file is replaced, mode 0660).
 * On failure nothing stays open and *reterr_address names the culprit (borrowed). 0 or
 * negative errno (-EINVAL for an unparsable address).
 */
int listeners_open(Listeners *l, char *const *addresses, mode_t unix_mode,
                   const char **reterr_address);

/* The port of the first TCP listener (the API port peers are asked on), 0 if none. */
uint16_t listeners_tcp_port(const Listeners *l);

/* Close everything and zero l. */
void listeners_close(Listeners *l);
