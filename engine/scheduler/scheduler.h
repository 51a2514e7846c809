/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * The scheduler (pure: no etcd, no D-Bus, no clock). From a ClusterSnapshot it decides which
 * schedule entries to remove and which jobs to place where, with fleet's semantics (reference
 * 8.3 and 6.3-6.6, DESIGN.md section 4):
 *
 * Phase 1. Remove the entries of jobs that are gone, global or desired inactive, of machines
 * that went away, and duplicates (the entry on the lowest machine ID stays). Then, in name
 * order, unschedule each job that can no longer run where it is: MachineID (full or 8-character
 * short ID), MachineMetadata (with fleet-c's "key!=value"), a MachineOf peer not there,
 * Conflicts with a unit there, or a unit there that Replaces it. Its followers (MachineOf,
 * transitively) on that machine leave with it.
 *
 * Phase 2. Place every unscheduled job that is neither inactive nor global on the least-loaded
 * machine able to run it (load = non-inactive jobs scheduled there plus the global units that
 * apply there; ties by machine ID). Jobs go in name order, but a MachineOf follower waits for
 * its leaders and then goes to their machine. A job may land where a unit it Replaces runs;
 * that unit (and its followers) then moves to another machine, never back there, and the jobs
 * that found no machine are tried again. A unit is displaced at most once per pass, which
 * bounds the pass: the next pass finishes the job in that rare case. Jobs caught in a MachineOf
 * cycle are never placed (the reason names the cycle). Units never move for balance.
 *
 * A global unit applies on a machine if its MachineMetadata matches and it conflicts neither
 * with the non-global units scheduled there nor with the globals of earlier name that apply
 * there (the agent's rule); global units whose desired state is inactive apply nowhere. This is
 * worked out at the start, and again for a machine that units left (which may let a global
 * in, and keep a later one out, whose followers there must then leave).
 *
 * fleet-c's cordons: a cordoned or draining machine takes no new unit (phase 2 skips it, with
 * the reason "Machine(x) is cordoned"), while units already there stay and global units still
 * apply there. In phase 1 every non-global unit of a draining machine leaves it (with its
 * followers); a unit that still has a copy running on a draining machine (the snapshot's
 * running list: its agent still reports a state there) is placed nowhere until that copy has
 * stopped, so that a drained unit is stopped before it starts elsewhere.
 *
 * Net changes only: a unit that leaves its machine and comes back in the same pass produces no
 * decision, and a placement undone later in the pass is not reported.
 *
 * Deterministic: the same snapshot, in any insertion order, gives the same result. Adding
 * machines, jobs and entries in etcd's key order (ID; name; machine then job) lets the
 * scheduler skip its sorting.
 *
 * Cost, for J jobs, M machines and S entries: building the indexes is O((J + M + S) log) plus
 * one match per (Conflicts/Replaces pattern, job sharing its literal prefix). Placing a job
 * without constraints is O(log M) (the top of a (load, ID) heap, kept up to date); with
 * MachineMetadata it walks the heap of the machines that qualify (built once per distinct
 * requirement from a value -> machines index); with MachineID or MachineOf it looks at the few
 * machines those allow. A walk stops at the first machine that passes every check, so it costs
 * one step per machine skipped for Conflicts/Replaces, each check O(patterns) hash lookups.
 */

#include <errno.h>
#include <stddef.h>

#include "job-state.h"
#include "macro.h"
#include "snapshot.h"

typedef enum SchedulerDecisionKind {
        SCHEDULER_UNSCHEDULE, /* delete schedule/<machine>/<job> */
        SCHEDULER_SCHEDULE,   /* create schedule/<machine>/<job> = {hash, state} */
        _SCHEDULER_DECISION_KIND_MAX,
        _SCHEDULER_DECISION_KIND_INVALID = -EINVAL,
} SchedulerDecisionKind;

/* "unschedule", "schedule"; NULL if out of range. */
const char *scheduler_decision_kind_to_string(SchedulerDecisionKind k);
SchedulerDecisionKind scheduler_decision_kind_from_string(const char *s);

/* The strings of decisions and unscheduled entries belong to their SchedulerResult. */
typedef struct SchedulerDecision {
        SchedulerDecisionKind kind;
        char *job;
        char *machine;
        /* SCHEDULE: the job's hash and desired state, to be written into the new entry.
         * UNSCHEDULE: the hash and target state of the entry being removed (for a compare). */
        char *hash; /* may be NULL */
        JobState state;
        char *reason; /* human-readable, never NULL */
} SchedulerDecision;

typedef struct SchedulerUnscheduled {
        char *job;
        char *reason; /* why no machine can run it, never NULL */
} SchedulerUnscheduled;

typedef struct SchedulerResult {
        /* In the order they were taken; apply them in this order. Each job appears at most
         * once per kind, and an UNSCHEDULE always names an entry of the snapshot's schedule. */
        SchedulerDecision *decisions;
        size_t n_decisions;
        /* Every non-global job with a desired state other than inactive that is left
         * unscheduled after the decisions, sorted by name. */
        SchedulerUnscheduled *unscheduled;
        size_t n_unscheduled;
        /* Private: every string above lives in this one block, freed with the result. */
        char *strings;
} SchedulerResult;

/*
 * Run one scheduling pass over s (borrowed, not modified). On success *ret is a new result
 * (free with scheduler_result_free) and 0 is returned. -EEXIST if s has two machines with one
 * ID, two jobs with one name, or two schedule entries for one job on one machine; -ENOMEM.
 */
int scheduler_run(const ClusterSnapshot *s, SchedulerResult **ret);

SchedulerResult *scheduler_result_free(SchedulerResult *r);
DEFINE_CLEANUP(SchedulerResult *, scheduler_result_free);

/* A new result with r's unscheduled jobs only (no decisions): what the engine keeps between
 * passes (the decisions of 100,000 placements are 19 MB). 0, -ENOMEM. */
int scheduler_result_copy_unscheduled(const SchedulerResult *r, SchedulerResult **ret);

/* The entry for job in r->unscheduled (borrowed), or NULL if job is not listed. O(log n). */
const SchedulerUnscheduled *scheduler_result_find_unscheduled(const SchedulerResult *r,
                                                              const char *job);
