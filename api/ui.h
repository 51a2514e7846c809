/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * The web view (/ui/, README "The web view"), served by the API on its listeners: the embedded
 * page, its live feed of server-sent events and the JSON state behind it (routes: ui-http.h).
 *
 * The data comes from this fleetd's in-memory copy of the registry (registry-cache-watch.h),
 * kept current by one etcd watch, whatever the number of browsers. The copy is made when the
 * web view is first used, and dropped after UI_IDLE_USEC without any request or open feed, so
 * that a fleetd nobody looks at neither holds the registry nor wakes for every change in the
 * cluster (the agents' "woken only for their own machine" stays true). Changes are coalesced
 * (at most one update per UI_FLUSH_USEC, or per 10 times what building the last one cost on a
 * large cluster) and pushed to every open feed as one "snapshot"
 * event; a comment line every UI_HEARTBEAT_USEC lets a dead connection be noticed. At most
 * UI_MAX_CLIENTS feeds are open at once (503 beyond). While etcd is unreachable the feed says
 * so ("etcd": false) and the page keeps the last state it had.
 */

#include <stdbool.h>
#include <systemd/sd-event.h>

#include "http-server.h"
#include "macro.h"
#include "api-cache.h"
#include "registry-cache.h"
#include "registry.h"

#define UI_MAX_CLIENTS 64
#define UI_FLUSH_USEC (100 * 1000ULL)
#define UI_HEARTBEAT_USEC (15 * 1000 * 1000ULL)
#define UI_IDLE_USEC (10 * 60 * 1000 * 1000ULL)

typedef struct Ui Ui;

/* A web view over the API's registry copy (borrowed: it must outlive the Ui), which the view
 * keeps while it is in use. 0, -ENOMEM. */
int ui_new(Ui **ret, sd_event *e, ApiCache *cache);
/* End every feed and let the copy go. NULL ok. */
Ui *ui_free(Ui *u);
DEFINE_CLEANUP(Ui *, ui_free);

/* Answer req if its path is the web view's (under /ui): true, else false (not touched). */
bool ui_handle(Ui *u, HttpRequest *req);

/* Whether etcd is reachable (fleetd's agent tells the API); pushed to the feeds on change. */
void ui_set_etcd_available(Ui *u, bool available);

/* The registry copy (borrowed), or NULL while the web view is not in use. */
const RegistryCache *ui_get_cache(const Ui *u);

/* Open feeds. */
size_t ui_n_clients(const Ui *u);
