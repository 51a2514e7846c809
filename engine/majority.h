/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * The engine's majority rule (DESIGN.md section 4 "Fencing and faults", issue 12,
 * docs/failure-behaviour.md): the engine moves the units of machines whose leases expired only
 * while those machines are at most half of the machines it knew one window (agent_ttl) ago.
 * When more expire together (etcd came back after an outage and revoked every lease, or the
 * engine sits on the small side of a partition), their units are held where they are: the
 * machines are "held" until each comes back (registers again). An operator releases a held
 * machine's units by deleting its schedule entries (etcdctl del --prefix
 * <prefix>schedule/<machine-id>/): the jobs are then unscheduled and placed elsewhere.
 *
 * Pure: the caller passes the clock and what it sees; no I/O.
 *
 *   known    a machine seen live within the window (now - window .. now), or held
 *   expired  a known machine that is not live now
 *   rule     if 2 * expired > known, every expired machine becomes held (sticky)
 *
 * A new tracker (or one reset when the engine becomes leader) has no history: at its first
 * observation every machine that is live or still owns schedule entries counts as known, so
 * that an engine elected after a mass expiry holds the units of the machines not back yet.
 * For the first `grace` after that observation, a machine it has not seen live yet is held
 * too (not sticky): after etcd comes back, the agents that kept their units running register
 * again within moments, and an engine elected in the middle of that must not move the units of
 * the last ones. After the grace the rule above decides.
 */

#include <stdbool.h>
#include <stddef.h>

#include "macro.h"
#include "time-util.h"

typedef struct MajorityTracker MajorityTracker;

/* window: agent_ttl (> 0); grace: see above (<= window). 0, -EINVAL, -ENOMEM. */
int majority_tracker_new(MajorityTracker **ret, usec_t window, usec_t grace);
MajorityTracker *majority_tracker_free(MajorityTracker *t);
DEFINE_CLEANUP(MajorityTracker *, majority_tracker_free);

/* Forget all history and every hold (leadership lost). */
void majority_tracker_reset(MajorityTracker *t);

/*
 * One observation at now (monotonic, never decreasing): live = the machines registered now,
 * scheduled = the machines owning schedule entries (either may hold duplicates; NULL = none).
 * Returns the number of machines newly held by this observation (>= 0), or -ENOMEM.
 */
int majority_tracker_observe(MajorityTracker *t, usec_t now, char *const *live,
                             char *const *scheduled);

/* Whether some machine is held only for the grace (the caller observes again after it). */
bool majority_tracker_in_grace(const MajorityTracker *t);

/* Whether the units of machine id are held. */
bool majority_tracker_is_held(const MajorityTracker *t, const char *id);

/* The held machines, sorted (strv, NULL if none: caller frees), or -ENOMEM. */
int majority_tracker_held(const MajorityTracker *t, char ***ret);
size_t majority_tracker_n_held(const MajorityTracker *t);

/* How many machines the last observation counted as known and as expired. */
void majority_tracker_counts(const MajorityTracker *t, size_t *ret_known, size_t *ret_expired);
