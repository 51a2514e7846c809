/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * The scheduler's working state for one pass (internal to engine/scheduler*.c): jobs sorted by
 * name and machines sorted by ID (an index is a rank in that order, so comparing indices breaks
 * ties deterministically), each machine's current units and load, and the indexes that keep a
 * placement cheap:
 *   - pools: for machines (pool 0) and for each distinct MachineMetadata requirement (built on
 *     first use), a MachineHeap by (load, ID), so that the least-loaded machine able to run a
 *     unit is found by walking a heap from its top;
 *   - pattern groups: each distinct Conflicts or Replaces pattern is a group, matched once
 *     against all job names; per (machine, group) a CountMap counts the units there that hold
 *     the pattern and those whose name it matches, so a conflict check costs one lookup per
 *     pattern instead of a scan of the machine's units;
 *   - per metadata key that some unit requires, a (value -> machines) index; MachineOf peers
 *     and followers as index lists.
 * Built by scheduler-index.c; changed and queried through the functions below. Pure.
 */

#include <stdbool.h>
#include <stdint.h>

#include "scheduler-heap.h"
#include "scheduler-map.h"
#include "snapshot.h"

#define SCHED_NONE UINT32_MAX

/* Why a machine cannot run a job, in the order fleet checks (reference 8.3). */
typedef enum SchedFail {
        SCHED_OK,
        SCHED_FAIL_MACHINE_ID,
        SCHED_FAIL_METADATA,
        SCHED_FAIL_PEER,
        SCHED_FAIL_CONFLICT,
        SCHED_FAIL_REPLACED, /* a unit there replaces it */
        SCHED_FAIL_DISPLACE, /* it would replace a unit already displaced in this pass */
        SCHED_FAIL_CORDONED, /* fleet-c: the machine takes no new units */
        _SCHED_FAIL_MAX,
} SchedFail;

typedef struct SchedCheck {
        SchedFail fail;
        uint32_t machine;
        uint32_t aux; /* PEER: index into the job's peers; REPLACED, DISPLACE: the other job */
} SchedCheck;

typedef struct SchedPeer {
        uint32_t job;     /* SCHED_NONE if no job has this name */
        const char *name; /* borrowed from the XFleet */
} SchedPeer;

typedef struct SchedJob {
        const SnapshotJob *sj;
        const SnapshotSchedule *entry;      /* its schedule entry if it was kept in phase 1 */
        uint32_t base;                      /* machine at the start of the pass, or SCHED_NONE */
        uint32_t machine;                   /* current machine, or SCHED_NONE */
        uint32_t prev, next;                /* other non-global jobs on the same machine */
        uint32_t pool;                      /* MachineMetadata pool, or SCHED_NONE */
        uint32_t global;                    /* index in Sched.globals, or SCHED_NONE */
        uint32_t peers_at, n_peers;         /* into Sched.peers, distinct */
        uint32_t followers_at, n_followers; /* into Sched.followers: jobs with it as a peer */
        /* Pattern groups, ascending, Conflicts groups first: held (its own patterns) and
         * matching (groups whose pattern matches its name). */
        uint32_t pats_at, n_cpats, n_rpats;
        uint32_t match_at, n_cmatch, n_rmatch;
        /* Phase 2. */
        uint32_t waiting;          /* pending leaders (MachineOf) it waits for */
        uint32_t unsched_decision; /* index of this pass's UNSCHEDULE (from base) */
        uint32_t sched_decision;   /* index of this pass's SCHEDULE (onto machine) */
        bool is_global, active, pending, queued, evicted;
        bool lingering;        /* a copy still runs on a draining machine: start it nowhere */
        uint32_t lingering_on; /* that machine */
        char *reason;          /* why it could not be placed */
} SchedJob;

typedef struct SchedMachine {
        const SnapshotMachine *sm;
        uint32_t head;   /* first non-global job here, or SCHED_NONE */
        uint32_t *pools; /* pairs (pool, slot) of the MachineMetadata pools holding it */
        uint32_t n_pools, pools_allocated;
} SchedMachine;

typedef struct SchedPool {
        MachineHeap heap;
        bool built;
        uint32_t job;      /* a job with this requirement: its XFleet defines the pool */
        char *description; /* "least-loaded machine with MachineMetadata ...", once needed */
} SchedPool;

typedef struct SchedMetadataEntry {
        const char *value;
        uint32_t machine;
} SchedMetadataEntry;

/* For one metadata key, the machines that have it, by (value, machine). */
typedef struct SchedKeyIndex {
        const char *key;
        SchedMetadataEntry *entries;
        size_t n;
} SchedKeyIndex;

typedef struct Sched {
        const ClusterSnapshot *snapshot;
        SchedJob *jobs; /* sorted by name */
        uint32_t n_jobs;
        uint64_t *names; /* open-addressing hash table by name: (hash << 32 | job) */
        uint32_t names_mask;
        SchedMachine *machines; /* sorted by ID */
        uint32_t n_machines;
        uint32_t *load;

        SchedPeer *peers;
        uint32_t *followers;
        uint32_t *pats, *match;
        uint32_t n_cgroups, n_groups;
        CountMap counts; /* key (machine << 32 | group) */

        SchedKeyIndex *keys; /* built for the keys pools ask about, on first use */
        uint32_t n_keys, keys_allocated;
        SchedPool *pools; /* pool 0: every machine */
        uint32_t n_pools;

        uint32_t *globals; /* non-inactive global jobs, name order */
        uint32_t n_globals;
        uint64_t *applies; /* per global, a bitmap of the machines where it applies */
        size_t words;

        MachineHeapIter iter;
        bool heaps_deferred; /* loads change in bulk: rebuild the heaps afterwards */
} Sched;

static inline const char *sched_job_name(const Sched *s, uint32_t j) {
        return s->jobs[j].sj->name;
}
static inline const XFleet *sched_job_xfleet(const Sched *s, uint32_t j) {
        return s->jobs[j].sj->xfleet;
}
static inline const char *sched_machine_id(const Sched *s, uint32_t m) {
        return s->machines[m].sm->id;
}
static inline bool sched_machine_cordoned(const Sched *s, uint32_t m) {
        return s->machines[m].sm->cordon != SNAPSHOT_CORDON_NONE;
}
static inline bool sched_machine_draining(const Sched *s, uint32_t m) {
        return s->machines[m].sm->cordon == SNAPSHOT_CORDON_DRAINING;
}

/* While many loads change at once (loading the schedule, applying globals), skip heap updates,
 * and rebuild every heap once at the end: O(machines) instead of O(changes * log machines). */
void sched_defer_heaps(Sched *s);
void sched_resume_heaps(Sched *s);

/* Put non-global job j on machine m / take it off its machine: units list, load, heaps and
 * pattern counts. attach: 0 or -ENOMEM (then nothing changed). */
int sched_attach(Sched *s, uint32_t j, uint32_t m);
void sched_detach(Sched *s, uint32_t j);
/* Record that global number g applies / no longer applies on machine m. apply: 0 or -ENOMEM. */
int sched_apply_global(Sched *s, uint32_t g, uint32_t m);
void sched_unapply_global(Sched *s, uint32_t g, uint32_t m);
bool sched_global_applies(const Sched *s, uint32_t g, uint32_t m);

/* True if job p is in machine m's view (scheduled there and not inactive, or a global that
 * applies there). */
bool sched_in_view(const Sched *s, uint32_t p, uint32_t m);

/* The static relations between two jobs, from their pattern groups (reference 6.4, 6.6). */
bool sched_conflicts(const Sched *s, uint32_t a, uint32_t b);
bool sched_replaces(const Sched *s, uint32_t a, uint32_t b);
/* Pattern conflicts of job j against the units on m other than j, using the counts only. */
bool sched_conflicts_on(const Sched *s, uint32_t j, uint32_t m);
/* A unit in m's view that conflicts with j (for messages), or SCHED_NONE. O(units on m). */
uint32_t sched_find_conflicting(const Sched *s, uint32_t j, uint32_t m);

/*
 * Can job j run on machine m, given what is there now (j itself excluded)? skip_metadata when m
 * comes from j's own metadata pool; placing when looking for a new machine (then m is refused
 * if j would displace a unit already displaced once in this pass, or if m is cordoned). True, or
 * false with *ret filled.
 */
bool sched_check(const Sched *s, uint32_t j, uint32_t m, bool skip_metadata, bool placing,
                 SchedCheck *ret);
