/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * The engine's majority rule (DESIGN.md section 4 "Fencing and faults", issue 12,
 * docs/failure-behaviour.md): the engine moves the units of machines whose leases expired only
 * while those machines are at most half of the machines it knows. When more expire together
 * (etcd came back after an outage and revoked every lease, or the engine sits on the small side
 * of a partition), their units are held where they are: the machines are "held" until each
 * comes back (registers again). An operator releases a held machine's units with a draining
 * cordon (fleet-c: `fleetctl drain MACHINE`, cordon/<id> = {"draining":true}): the machine is
 * then not held (majority_tracker_set_released()) and its jobs are placed elsewhere. (Deleting
 * its schedule entries, etcdctl del --prefix <prefix>schedule/<machine-id>/, does it too.)
 *
 * Pure: the caller passes the clock and what it sees; no I/O.
 *
 *   expired  a machine that is not live, still owns schedule entries (its units were not moved)
 *            and was first seen gone within the window (agent_ttl), or is held
 *   known    the live machines and the expired ones
 *   rule     if 2 * expired > known, every expired machine becomes held (sticky)
 *
 * A machine whose units were moved, or that never had any, no longer counts: a machine that
 * left gracefully and whose units moved does not make the next departure look like a mass
 * expiry. Expiries "together" are those the engine sees within `settle` of each other: a
 * machine just gone is held for `settle` before its units may move, because etcd revokes the
 * leases of an outage one after another and the engine may see them in several passes.
 *
 * A new tracker (or one reset when the engine becomes leader) has no history: at its first
 * observation every machine that owns schedule entries counts as known. For the first `grace`
 * after that observation, a machine it has not seen live yet is held too (not sticky): after
 * etcd comes back, the agents that kept their units running register again within moments,
 * and an engine elected in the middle of that must not move the units of the last ones.
 */

#include <stdbool.h>
#include <stddef.h>

#include "macro.h"
#include "time-util.h"

typedef struct MajorityTracker MajorityTracker;

/* window: agent_ttl (> 0); settle, grace: see above (each <= window). 0, -EINVAL, -ENOMEM. */
int majority_tracker_new(MajorityTracker **ret, usec_t window, usec_t settle, usec_t grace);
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

/* When the earliest hold for `settle` or `grace` ends (observe again then), 0 if none. */
usec_t majority_tracker_next_change(const MajorityTracker *t);

/*
 * The machines an operator released (those with a draining cordon; NULL = none), replacing the
 * previous list: while listed, a machine is never held, by the rule or for now, but it still
 * counts as expired for the rule, and its sticky hold comes back if it is no longer listed
 * while its units are still there (the cordon lifted before they moved). 0 or -ENOMEM.
 */
int majority_tracker_set_released(MajorityTracker *t, char *const *ids);

/* Whether the units of machine id are held (and not released). */
bool majority_tracker_is_held(const MajorityTracker *t, const char *id);
/* Whether machine id would be held but is released. */
bool majority_tracker_is_released(const MajorityTracker *t, const char *id);

/* The machines whose units must stay (held, or for now within settle or grace), sorted (strv,
 * NULL if none: caller frees), or -ENOMEM. */
int majority_tracker_held(const MajorityTracker *t, char ***ret);
/* The machines held by the rule (sticky holds only), released ones left out. */
size_t majority_tracker_n_held(const MajorityTracker *t);

/* How many machines the last observation counted as known and as expired. */
void majority_tracker_counts(const MajorityTracker *t, size_t *ret_known, size_t *ret_expired);
