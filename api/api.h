/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * fleet's HTTP API v1 (reference section 9) and /metrics, served from fleetd's sd-event loop
 * on top of the registry (registry.h) and the HTTP server (http-server.h).
 *
 * Routes, under both /fleet/v1 and /v1-alpha:
 *   GET    /discovery                 the discovery document (schema v1)
 *   GET    /machines                  MachinePage (merged metadata)
 *   PATCH  /machines                  metadata add/replace/remove operations
 *   GET    /units                     UnitPage (paged by token_limit, sorted by name)
 *   GET    /units/<name>              Unit
 *   PUT    /units/<name>              create, replace content, change desiredState
 *   DELETE /units/<name>              destroy
 *   GET    /state                     UnitStatePage (?machineID= ?unitName= filters)
 *   GET    /state/<name>              UnitState
 * and GET /metrics (Prometheus text format 0.0.4), and the read-only web view under /ui (ui.h),
 * which is served from this fleetd's copy of the registry, etcd reachable or not.
 *
 * Every request is answered asynchronously from registry callbacks; nothing blocks the loop.
 * A request whose registry call fails to reach etcd (refused, unreachable, timeout, reset, no
 * leader) is answered 503 "fleet server unable to communicate with etcd", and so is every
 * API request while api_set_etcd_available(false) is in force (/metrics stays served).
 *
 * Deliberate differences from fleet v1.0.0 (DESIGN.md sections 1 and 5): an invalid
 * desiredState is a 400 that changes nothing; a template cannot be created or replaced in a
 * state other than inactive; replaced content is validated like new content; a body holding a
 * NUL character is rejected; each write is one etcd txn.
 */

#include <stdbool.h>
#include <stdio.h>
#include <systemd/sd-event.h>

#include "macro.h"
#include "registry.h"

typedef struct Api Api;

typedef struct ApiConfig {
        const char *version;  /* "Server: fleetd/<version>"; NULL = FLEET_VERSION */
        unsigned token_limit; /* page size, 1..65535; 0 = 100 (fleet's default) */
        /* Appends more Prometheus text to /metrics (engine and agent metrics). May be NULL. */
        void (*metrics_extra)(FILE *f, void *userdata);
        void *metrics_userdata;
        /* Whether this fleetd reaches etcd now, for GET /fleet-c/v1/etcd-health (the agents'
         * quorum question, quorum.h); called with metrics_userdata. NULL: the API's own view
         * (api_set_etcd_available()). */
        bool (*etcd_health)(void *userdata);
        /* TLS for TCP listeners (http_server_set_tls_files()): PEM files read by api_new().
         * NULL or "" cert = plain HTTP. With tls_ca_file, clients must present a certificate
         * signed by it (else 403). Unix sockets are never TLS. */
        const char *tls_cert_file;
        const char *tls_key_file;
        const char *tls_ca_file;
} ApiConfig;

/*
 * Create the API on event e over registry r (borrowed: it, and its etcd client, must outlive
 * the Api). cfg may be NULL (defaults). No socket is served until api_listen_fd()/api_listen().
 * 0, -ENOMEM, or (with TLS files configured) the error of reading or loading them, logged
 * with the file's name.
 */
int api_new(Api **ret, sd_event *e, Registry *r, const ApiConfig *cfg);

/*
 * Answer every pending request 503, cancel their registry calls and close every listener.
 * NULL ok. Returns NULL.
 */
Api *api_free(Api *a);
DEFINE_CLEANUP(Api *, api_free);

/* Serve an already listening socket (from sd_listen_fds). Takes ownership of fd. */
int api_listen_fd(Api *a, int fd);

/* Create and serve a listening socket: "/unix/path", "unix:/path" or "host:port" (see
 * http_server_listen()). -EINVAL for an unparsable address, or the errno of the socket calls. */
int api_listen(Api *a, const char *address);

/*
 * While false, every API request is answered 503 "fleet server unable to communicate with
 * etcd" without touching etcd (fleetd: before registration, or while it knows etcd is lost).
 * Default true.
 */
void api_set_etcd_available(Api *a, bool available);

/* Number of requests waiting on the registry (for tests and metrics). */
size_t api_n_pending(const Api *a);
