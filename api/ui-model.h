/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * PURE half of the web view (/ui/): what the page shows, computed from the registry cache
 * (registry-cache.h), the recent events derived from its changes, and the server-sent events
 * framing. No I/O; unit-tested.
 *
 * The page's state is one JSON document (ui_snapshot_json()):
 *   {"revision":N,"synced":bool,"etcd":bool,"leader":"<id>"|null,
 *    "machines":[{"id","ip","metadata":{k:v},"version","leader":bool,
 *                 "cordoned":null|"cordoned"|"draining","units":n}],
 *    "units":[{"name","hash","global","desired","current","machine","load","active","sub",
 *              "reason":null|"<why the engine cannot place it>"}],
 *    "events":[{"time":<ms since the epoch>,"type","unit","machine","from","text"}]}
 * machines sorted by ID; units by name, a global unit once per machine that reports it (or
 * once with machine null); events newest first. "cordoned" comes from cordon/<id>, "reason"
 * from reason/<name> while it describes the job's current revision.
 */

#include <stdbool.h>
#include <stdint.h>

#include "macro.h"
#include "registry-cache.h"

/* How many recent events the tracker keeps. */
#define UI_EVENTS_MAX 50

typedef enum UiEventType {
        UI_EVENT_PLACED,         /* a unit got a machine */
        UI_EVENT_MOVED,          /* a unit went from one machine to another */
        UI_EVENT_UNSCHEDULED,    /* a unit lost its machine */
        UI_EVENT_FAILED,         /* systemd reports a unit failed on a machine */
        UI_EVENT_MACHINE_JOINED, /* a machine appeared */
        UI_EVENT_MACHINE_LEFT,   /* a machine's presence went away */
        _UI_EVENT_TYPE_MAX,
        _UI_EVENT_TYPE_INVALID = -EINVAL,
} UiEventType;

/* "placed", "moved", "unscheduled", "failed", "machine-joined", "machine-left" */
const char *ui_event_type_to_string(UiEventType t);

typedef struct UiEvent {
        uint64_t time_usec; /* CLOCK_REALTIME */
        UiEventType type;
        char *unit;    /* NULL for machine events */
        char *machine; /* the new machine (placed, moved), or the one concerned */
        char *from;    /* moved: the previous machine */
} UiEvent;

typedef struct UiTracker UiTracker;

int ui_tracker_new(UiTracker **ret);
UiTracker *ui_tracker_free(UiTracker *t);
DEFINE_CLEANUP(UiTracker *, ui_tracker_free);

/*
 * Compare the cache with what the previous call saw and record the events between them, at
 * now_usec. The first call (and the first after ui_tracker_forget()) only records what is
 * there, so that a fleetd starting up does not report the whole cluster as "placed". Returns
 * the number of new events, or -ENOMEM (the tracker is then as before the call).
 */
int ui_tracker_observe(UiTracker *t, const RegistryCache *c, uint64_t now_usec);
/* Forget what was seen (keep the events): after a cache reset. */
void ui_tracker_forget(UiTracker *t);
/* The recorded events, oldest first (borrowed until the next observe). */
const UiEvent *ui_tracker_events(const UiTracker *t, size_t *ret_n);

/* The page's state as described above; t may be NULL (no events). Malloc'd in *ret. */
int ui_snapshot_json(const RegistryCache *c, const UiTracker *t, bool etcd_available, char **ret);

/*
 * One server-sent event: "event: <event>\n" (omitted if event is NULL), one "data: " line per
 * line of data (\n, \r\n or \r separated; none if data is NULL), and the blank line that ends
 * it. event must not contain a line break (-EINVAL). Malloc'd in *ret.
 */
int ui_sse_event(const char *event, const char *data, char **ret);
