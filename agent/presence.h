/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * The agent's presence in etcd (DESIGN.md section 4, "Agent" and "Fencing and faults"):
 * a lease of TTL agent_ttl, the machine record machine/<id> attached to it, and keepalives
 * every TTL/3, all asynchronous in the caller's sd_event loop.
 *
 * Registration creates machine/<id> only if it is absent (one etcd txn). If a record exists
 * under another lease, another live fleetd has this machine ID: presence refuses to register,
 * logs why, and retries with backoff (the record vanishes when that lease expires, e.g. after
 * a reboot). A record attached to a lease this process held before (or found in the lease
 * file) is taken over.
 *
 * Fencing: etcd cannot expire the lease before (send time of the last successful keepalive) +
 * TTL. Presence keeps the deadline (that time + TTL - margin) on CLOCK_MONOTONIC. When it
 * passes without a successful keepalive, the owner gets PRESENCE_SUSPECT once: the lease may
 * have expired, so the units the cluster could move elsewhere must not run on (the agent
 * freezes them). Presence keeps renewing the same lease (every 250 ms): if etcd answers that
 * it is alive, the owner gets PRESENCE_ALIVE (thaw: nothing was lost, nothing is registered
 * again). When etcd says the lease is gone, the owner gets PRESENCE_FENCED once and must stop
 * those units; presence then grants a new lease, registers again and reports
 * PRESENCE_REGISTERED. Before the deadline, etcd errors only make presence retry (a failed
 * keepalive is retried after min(TTL/15, 250 ms)).
 *
 * The lease file (optional) persists the lease ID and the deadline (CLOCK_MONOTONIC is
 * system-wide, so a restarted fleetd on the same boot can trust it): a fleetd restarted after
 * a crash or an upgrade exit reuses the lease while it lives and inherits the deadline, so
 * the units it adopts stay fenced by the same rule. Without a usable lease file the deadline
 * starts out passed: the owner gets PRESENCE_FENCED right after presence_start().
 */

#include <stdbool.h>
#include <stdint.h>

#include <systemd/sd-event.h>

#include "macro.h"
#include "registry.h"
#include "time-util.h"

typedef struct Presence Presence;

typedef struct PresenceConfig {
        const char *machine_id;
        const char *public_ip;  /* "" or NULL: unknown */
        char *const *metadata;  /* config metadata: alternating key, value (may be NULL) */
        bool disable_engine;    /* publish the DISABLE_ENGINE capability */
        const char *version;    /* fleetd version */
        usec_t ttl;             /* lease TTL (rounded up to whole seconds, at least 1 s) */
        const char *lease_file; /* absolute path, or NULL for no persistence */
} PresenceConfig;

typedef enum PresenceEvent {
        PRESENCE_REGISTERED, /* machine/<id> is in place with presence_get_lease() */
        PRESENCE_FENCED,     /* the lease is gone: stop movable units */
        PRESENCE_SUSPECT,    /* the deadline passed while registered: the lease may have expired;
                              * movable units must not run on (freeze them); presence keeps
                              * renewing the same lease */
        PRESENCE_ALIVE,      /* after SUSPECT: etcd confirmed the lease is alive (thaw) */
        _PRESENCE_EVENT_MAX,
        _PRESENCE_EVENT_INVALID = -EINVAL,
} PresenceEvent;

typedef void (*PresenceCallback)(Presence *p, PresenceEvent ev, void *userdata);

typedef struct PresenceStats {
        uint64_t keepalives; /* successful keepalives */
        uint64_t keepalive_errors;
        uint64_t registrations; /* times the record was put */
        uint64_t refusals;      /* attempts refused: machine ID registered elsewhere */
        uint64_t fences;
        uint64_t suspects; /* SUSPECT reported */
} PresenceStats;

/*
 * Create (not start). registry is borrowed and must outlive the presence; config is copied.
 * 0, -EINVAL, -ENOMEM.
 */
int presence_new(Presence **ret, sd_event *event, Registry *registry, const PresenceConfig *config,
                 PresenceCallback cb, void *userdata);

/* Start: reuse the lease file's lease if it is alive, else grant one; then register. 0 or
 * negative errno (event source setup). */
int presence_start(Presence *p);

/*
 * Free without revoking: the lease lives on until its TTL (the lease file keeps it for the
 * next fleetd). Pending requests are cancelled. NULL ok; returns NULL.
 */
Presence *presence_free(Presence *p);
DEFINE_CLEANUP(Presence *, presence_free);

/*
 * Graceful end: stop keepalives, revoke the lease (etcd deletes the machine record and every
 * unit state attached to it), remove the lease file, then call done(error, userdata) from the
 * event loop (error: the revoke's, 0 also when there was no lease). The presence stays
 * allocated; free it afterwards.
 */
typedef void (*PresenceDoneCallback)(int error, void *userdata);
int presence_revoke(Presence *p, PresenceDoneCallback done, void *userdata);

/*
 * Handover (upgrade exit, reload): send a keepalive now, so that the lease lives a full TTL
 * for the next fleetd, and call done(error, userdata) from the event loop when it has been
 * answered (or at once when there is no live lease). Keepalives go on as before.
 */
int presence_keepalive_now(Presence *p, PresenceDoneCallback done, void *userdata);

/* A keepalive in flight this long counts as a failure for presence_reaches_etcd(). */
#define PRESENCE_STUCK_USEC (500 * USEC_PER_MSEC)

/*
 * Whether this machine reaches etcd now, as far as its keepalives show: registered, not
 * suspect, the last keepalive succeeded and none hangs for PRESENCE_STUCK_USEC or more. What
 * fleetd answers to its peers' quorum question (GET /fleet-c/v1/etcd-health).
 */
bool presence_reaches_etcd(const Presence *p);

/* Registered and not suspect: the agent may start units. */
bool presence_is_registered(const Presence *p);
/* The deadline passed and etcd has not answered since (SUSPECT reported, no ALIVE or FENCED). */
bool presence_is_suspect(const Presence *p);
/* The lease states must be attached to while registered; 0 otherwise. */
int64_t presence_get_lease(const Presence *p);
/* CLOCK_MONOTONIC time after which the lease may have expired (0: none, already passed). */
usec_t presence_get_deadline(const Presence *p);
const PresenceStats *presence_get_stats(const Presence *p);

/* The safety margin subtracted from the lease expiry: TTL/5, at least 1 s, at most TTL/2. */
usec_t presence_margin(usec_t ttl);
