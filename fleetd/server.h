/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * One generation of fleetd's components, built from one Config: the etcd client and registry,
 * the agent, the engine (unless disable_engine) and the HTTP API on the listeners main()
 * owns. fleetd builds one at startup and, on SIGHUP, stops it (upgrade-style: units keep
 * running, the lease is handed over) and builds the next from the new configuration.
 */

#include <stdbool.h>

#include <systemd/sd-event.h>

#include "config.h"
#include "listen.h"
#include "macro.h"

typedef struct Server Server;

typedef enum ServerStopMode {
        SERVER_STOP_GRACEFUL, /* unload this machine's units, revoke the lease, resign */
        SERVER_STOP_HANDOVER, /* keep units and lease for the next fleetd; resign */
} ServerStopMode;

/* The agent has synced with the registry for the first time (time for READY=1). */
typedef void (*ServerReadyCallback)(Server *s, void *userdata);
/* server_stop() has finished, or the server failed for good (error < 0): exit or rebuild. */
typedef void (*ServerDoneCallback)(Server *s, int error, void *userdata);

/*
 * Build (not start) from config (borrowed; must outlive the server), with the machine ID
 * and the listeners (borrowed; the API gets duplicates of their fds). 0 or negative errno,
 * logged.
 */
int server_new(Server **ret, sd_event *event, const Config *config, const char *machine_id,
               const Listeners *listeners, ServerReadyCallback ready, ServerDoneCallback done,
               void *userdata);

/* Start the agent (fatal errors are returned, logged), the engine and the API. */
int server_start(Server *s);

/* Stop as mode says, then call the done callback from the event loop. */
void server_stop(Server *s, ServerStopMode mode);

/* Free at once: like HANDOVER without resigning. NULL ok; returns NULL. */
Server *server_free(Server *s);
DEFINE_CLEANUP(Server *, server_free);
