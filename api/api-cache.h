/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * The API's in-memory copy of the registry (registry-cache.h), shared by the read routes
 * (GET /fleet/v1/units, /state, /machines) and the web view, kept current by ONE watch per
 * fleetd (registry-cache-watch.h).
 *
 * The copy exists only while it is in use: the first read starts the watch (that read and the
 * ones until the first listing completes still go to etcd), and the copy is dropped once
 * nothing has read it for idle_usec and no listener is left. A fleetd whose API nobody reads
 * therefore does not wake for every change in the cluster (one agent woken per schedule
 * change, docs/performance.md).
 */

#include <stdbool.h>
#include <stdint.h>

#include <systemd/sd-event.h>

#include "api-render.h"
#include "macro.h"
#include "registry-cache-watch.h"
#include "time-util.h"

typedef struct ApiCache ApiCache;

/* A stopped cache over registry r (borrowed: it must outlive the cache). 0 or -ENOMEM. */
int api_cache_new(ApiCache **ret, sd_event *e, Registry *r, usec_t idle_usec);
ApiCache *api_cache_free(ApiCache *c);
DEFINE_CLEANUP(ApiCache *, api_cache_free);

/* Start the watch if it is stopped, and note a use now. 0, or a negative errno (logged). */
int api_cache_use(ApiCache *c);

/* The copy (borrowed until the next loop iteration), or NULL while stopped. It may not be
 * valid yet (registry_cache_is_valid()): the first listing is under way. */
const RegistryCache *api_cache_peek(const ApiCache *c);

/* The copy if it is valid, its watch live (etcd reachable and the stream open), and current
 * with at least revision; else NULL (read etcd instead). */
const RegistryCache *api_cache_current(const ApiCache *c, int64_t revision);

/* The answers rendered from the copy (api-render.h), dropped with the copy. */
ApiRender *api_cache_render(ApiCache *c);

/*
 * Call changed after every update, like registry_cache_watch_new()'s callback (w is NULL),
 * and keep the copy while listened to. 0, -EEXIST (the same pair listens already), -E2BIG.
 */
int api_cache_listen(ApiCache *c, registry_cache_changed_t changed, void *userdata);
/* Stop calling it. 1 if it listened, else 0. */
int api_cache_unlisten(ApiCache *c, registry_cache_changed_t changed, void *userdata);
