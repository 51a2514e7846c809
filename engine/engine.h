/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * The engine (DESIGN.md section 4): leader election with fencing (leader.h), a cluster mirror
 * fed by one watch (mirror.h), the pure scheduler (scheduler.h) and reconciler
 * (reconciler.h), all in fleetd's sd-event loop. Nothing here blocks.
 *
 * Every engine campaigns for engine/leader; followers send nothing. Only the leader watches the
 * whole key prefix: when it wins, it lists everything once (the watch's resync), keeps the
 * mirror current from watch events, and drops the mirror when it loses. (Keeping it warm on
 * followers would wake every fleetd on every change, which DESIGN.md section 3 avoids.)
 *
 * Passes (leader only), one at a time:
 *  - a watch event that can change the schedule (jobs, machines, metadata, schedule entries
 *    not written by this engine) enables one idle-priority defer source, so a burst of events
 *    gives one pass; a machine whose lease expired (machine/<id> DELETE) is such an event, so
 *    its units move within milliseconds of the expiry;
 *  - a safety tick every reconcile_interval, which runs a pass unless the mirror is unchanged
 *    since a pass that had nothing left to do (a pass is a pure function of the mirror, so it
 *    would find nothing either; an idle leader of 100,000 units then costs nothing). The tick
 *    also re-lists when the watch stopped or never showed this engine's last write;
 *  - a pass starts only when the mirror has seen this engine's last write, so it never plans
 *    from a schedule that lacks its own previous decisions.
 * A pass builds a snapshot, runs the scheduler, plans the writes (reconciler), and applies
 * them in txns of at most 128 operations, each fenced by the term: a txn refused for a stale
 * term (a deposed engine) changes nothing, and the engine steps down and campaigns again. A
 * txn that fails otherwise (its outcome may be unknown) makes the engine re-list before the
 * next pass. Then unit contents that nothing references are deleted (mod_revision compare).
 * Every write is logged with its reason; the last pass's reasons are kept for
 * engine_explain().
 */

#include <stdbool.h>
#include <stdint.h>
#include <systemd/sd-event.h>

#include "macro.h"
#include "registry.h"
#include "time-util.h"

typedef struct Engine Engine;

typedef struct EngineConfig {
        const char *machine_id;    /* this machine; written into engine/leader. Required. */
        const char *version;       /* fleetd version, idem; NULL = "" */
        usec_t reconcile_interval; /* safety pass period (fleet's engine_reconcile_interval);
                                    * 0 = 2 s */
        usec_t lease_ttl;          /* own leader lease TTL, whole seconds; 0 = 5 x
                                    * reconcile_interval (fleet); at least 2 s */
        bool machine_lease;        /* true (fleetd): the leader key goes on the machine's
                                    * agent lease, given by engine_set_lease() (leader.h);
                                    * false (bench-scale, tests): an own lease of lease_ttl */
        usec_t agent_ttl;          /* the machines' lease TTL: the majority rule's window
                                    * (majority.h); 0 = 30 s */
} EngineConfig;

typedef struct EngineStats {
        bool is_leader;
        int64_t term;                 /* while leader, else 0 */
        uint64_t terms_won;           /* times this engine became leader */
        uint64_t passes;              /* scheduling passes computed */
        uint64_t decisions_applied;   /* schedule + unschedule operations committed */
        uint64_t schedules_applied;   /* of those, placements */
        uint64_t unschedules_applied; /* of those, removals */
        uint64_t updates_applied;     /* entries rewritten to a new desired state or hash */
        uint64_t txn_failures;        /* schedule txns that failed (not counting fencing) */
        uint64_t fenced_rejections;   /* schedule txns refused: this engine was deposed */
        uint64_t units_collected;     /* unit contents garbage-collected */
        uint64_t resyncs;             /* full listings of the registry */
        uint64_t unscheduled_jobs;    /* jobs the last pass could not place */
        usec_t last_pass_usec;        /* compute time of the last pass (snapshot, scheduler,
                                       * plan), not counting its writes */
        usec_t last_pass_at;          /* CLOCK_MONOTONIC time the last pass ran, 0 = never */
        /* fleet's metrics (reference 10; counted by engine-metrics.c) */
        usec_t leader_start_realtime;    /* CLOCK_REALTIME of the last acquisition, 0 = never */
        uint64_t schedule_failures;      /* placements in batches that failed or were fenced */
        uint64_t unschedule_failures;    /* removals in batches that failed or were fenced */
        uint64_t reconcile_machine_away; /* removals from machines that went away */
        uint64_t reconcile_run;          /* removals from machines that can no longer run them */
        uint64_t reconcile_schedule;     /* jobs a pass could not place, summed over passes */
        uint64_t machines_held;          /* machines whose units the majority rule holds */
} EngineStats;

/*
 * A stopped engine on event (NULL = the registry client's event loop) over registry
 * (borrowed: it must outlive the engine). cfg is copied. 0, -EINVAL (no machine ID), -ENOMEM.
 */
int engine_new(Engine **ret, sd_event *event, Registry *registry, const EngineConfig *cfg);

/* Start campaigning (and, once leader, scheduling). 0, -EALREADY, -ENOMEM. */
int engine_start(Engine *e);

/*
 * Graceful stop: stop scheduling at once, resign (delete engine/leader if its create_revision
 * is still our term, then revoke the lease) so that another engine takes over without waiting
 * for the TTL, then call done(e, userdata) from the event loop (never from inside this call).
 * Failures are logged; done is always called. -EALREADY if already stopping.
 */
int engine_stop(Engine *e, void (*done)(Engine *e, void *userdata), void *userdata);

/* Cancel everything without callbacks (a leader's lease is left to expire). NULL ok. */
Engine *engine_free(Engine *e);
DEFINE_CLEANUP(Engine *, engine_free);

/* machine_lease mode: this machine's agent lease, 0 while it is not registered or its lease
 * may have expired (leader_set_lease()). 0, -EINVAL (own-lease mode). */
int engine_set_lease(Engine *e, int64_t lease);

/* Counters (borrowed, updated in place). */
const EngineStats *engine_get_stats(const Engine *e);

/* Machine ID of the current leader as this engine last saw it (borrowed), or NULL. */
const char *engine_get_leader(const Engine *e);

/*
 * Why job_name is where it is, from the leader's last pass: "scheduled on Machine(<id>): <why>"
 * or "not scheduled: <why>" (e.g. "no machine satisfies MachineMetadata region=us (3 machines
 * checked)"), or what keeps the engine from scheduling it (global, inactive, content
 * missing). A malloc'd string in *ret. -ENOENT: no such job; -EREMOTE: this engine is not the
 * leader (ask engine_get_leader()); -EAGAIN: the leader has not listed the registry yet;
 * -ENOMEM.
 */
int engine_explain(const Engine *e, const char *job_name, char **ret);
