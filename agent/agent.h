/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * The fleet agent (DESIGN.md section 4 "Agent", "Fencing and faults"): it keeps this machine's
 * presence in etcd, follows the desired state meant for this machine, drives the local systemd
 * towards it and publishes the unit states. Everything runs in the caller's sd_event loop and
 * nothing blocks it.
 *
 *   presence   lease + machine/<id> (presence.h); fencing when keepalives stop succeeding
 *   desired    watches on schedule/<id>/, global/ and metadata/<id>/ only, plus unit contents
 *              fetched by hash (unit/<sha1>) into a cache; global units selected with
 *              agent_select_global_units()
 *   current    the files in units_directory, systemd's view of them (systemd.h callbacks, no
 *              polling), and what this agent did to them
 *   pass       agent_reconcile() (pure), then the executor (executor.h); one pass at a time,
 *              events during a pass schedule one more; failed tasks are retried with backoff
 *   states     state/<name>/<id> written by the publisher (publisher.h) when they change
 *
 * A restarted fleetd adopts units that run with the desired content without touching them, and
 * reuses the previous lease while it lives (the lease file). Two ways to end:
 *   agent_shutdown()  graceful stop: unload every unit (each stop completes before its file is
 *                     removed), then revoke the lease (machine record and states vanish), so
 *                     the cluster moves the units at once;
 *   agent_free()      upgrade exit: units keep running, the lease stays alive for its TTL and
 *                     the next fleetd (or a SIGHUP rebuild) takes it over.
 */

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include <systemd/sd-event.h>

#include "macro.h"
#include "registry.h"
#include "time-util.h"

typedef struct Agent Agent;

typedef struct AgentConfig {
        const char *machine_id;
        const char *public_ip;       /* "" or NULL: unknown */
        char *const *metadata;       /* config metadata, alternating key, value (sorted) */
        const char *units_directory; /* absolute */
        bool systemd_user;
        usec_t ttl;          /* agent_ttl */
        bool disable_engine; /* published as capability DISABLE_ENGINE */
        const char *version;
        const char *lease_file;   /* NULL: agent_default_lease_file(units_directory) */
        bool freeze_with_signals; /* freeze with SIGSTOP/SIGCONT, never systemd's freezer */
        uint16_t peer_port;       /* the TCP port of the API, on this machine and its peers, for the
                                   * quorum question at the fencing deadline; 0: none (freeze) */
} AgentConfig;

typedef struct AgentStats {
        uint64_t passes;   /* reconcile passes computed */
        uint64_t tasks[6]; /* by AgentTaskType: finished successfully */
        uint64_t task_failures[6];
        uint64_t fences;
        uint64_t freezes;      /* times the fencing deadline passed: units frozen */
        uint64_t units_frozen; /* gauge */
        uint64_t quorum_asks;  /* quorum questions asked (rounds, not peers) */
        bool holding;          /* etcd is down for the majority: units keep running */
        uint64_t registrations;
        uint64_t refusals;
        uint64_t keepalives;
        uint64_t keepalive_errors;
        uint64_t state_puts;
        uint64_t state_deletes;
        uint64_t state_errors;
        uint64_t units_loaded;   /* gauge: units this agent has loaded but not launched */
        uint64_t units_launched; /* gauge */
        bool registered;
} AgentStats;

/* The first registry sync is complete (schedule, global units and metadata read). */
typedef void (*AgentReadyCallback)(Agent *a, void *userdata);
/* The agent cannot go on (e.g. systemd's bus is gone and cannot be reached again): error. */
typedef void (*AgentFailureCallback)(Agent *a, int error, void *userdata);
/* The machine record is in place (true) or may be gone (false: fenced). */
typedef void (*AgentRegistrationCallback)(Agent *a, bool registered, void *userdata);
/* agent_shutdown() has finished. */
typedef void (*AgentStoppedCallback)(Agent *a, void *userdata);

/*
 * Create an agent: read nothing yet. registry (and its client) is borrowed and must outlive the
 * agent. config is copied. 0, -EINVAL, -ENOMEM.
 */
int agent_new(Agent **ret, sd_event *event, Registry *registry, const AgentConfig *config);

void agent_set_ready_callback(Agent *a, AgentReadyCallback cb, void *userdata);
void agent_set_failure_callback(Agent *a, AgentFailureCallback cb, void *userdata);
void agent_set_registration_callback(Agent *a, AgentRegistrationCallback cb, void *userdata);

/*
 * Start: lock and read the lease file, scan the units directory, connect to systemd, open the
 * watches and register. 0, or a negative errno (logged) when the agent cannot run at all:
 * systemd unreachable, units directory unusable, -EBUSY another fleetd holds the lease file.
 */
int agent_start(Agent *a);

/*
 * Graceful stop (SIGTERM): stop following the registry, unload every unit of this machine
 * (retrying failures for a while), revoke the lease, then call cb from the event loop.
 */
int agent_shutdown(Agent *a, AgentStoppedCallback cb, void *userdata);

/*
 * Prepare an upgrade-style end: refresh the lease once more (so the next fleetd has a full
 * TTL to take it over), then call cb from the event loop. Free the agent afterwards.
 */
int agent_handover(Agent *a, AgentStoppedCallback cb, void *userdata);

/* Upgrade-style end (see above). NULL ok; returns NULL. */
Agent *agent_free(Agent *a);
DEFINE_CLEANUP(Agent *, agent_free);

/* Whether this machine reaches etcd now (presence_reaches_etcd()): the answer to the peers'
 * quorum question. */
bool agent_reaches_etcd(const Agent *a);
bool agent_is_registered(const Agent *a);
const char *agent_get_machine_id(const Agent *a);
/* This machine's lease while it is registered and the lease is known to live (not suspect),
 * else 0: the lease the engine leader key goes on (engine_set_lease()). */
int64_t agent_get_lease(const Agent *a);
void agent_get_stats(const Agent *a, AgentStats *ret);

/* "<parent of units_directory>/lease" ("/run/fleet/lease" by default). malloc'd or NULL. */
char *agent_default_lease_file(const char *units_directory);
