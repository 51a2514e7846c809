/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * Building the scheduler's working state (scheduler-state.h) from a ClusterSnapshot: sorting,
 * MachineOf peers and followers, Conflicts/Replaces pattern groups, the MachineMetadata index
 * and pools; and the lookups over them. Internal to engine/scheduler*.c. Pure.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "scheduler-state.h"
#include "snapshot.h"

/* Build the state for snapshot (borrowed; must outlive s): everything but the schedule.
 * 0, -EEXIST (duplicate machine ID or job name), -E2BIG, -ENOMEM. Call sched_done() in any
 * case. */
int sched_init(Sched *s, const ClusterSnapshot *snapshot);
void sched_done(Sched *s);

/* qsort(), after an O(n) check whether the array is sorted already (etcd lists keys in order,
 * so the engine's snapshots mostly are). */
void sort_unless_sorted(void *base, size_t n, size_t size, int (*cmp)(const void *, const void *));

/* Index of the job with that name, or SCHED_NONE. O(1) expected. */
uint32_t sched_find_job(const Sched *s, const char *name);
/* Index of the machine with that ID, or SCHED_NONE. O(log n). */
uint32_t sched_find_machine(const Sched *s, const char *id);

/* fleet's MatchID (reference 3.1): the full ID, or the 8-character short ID. */
bool sched_machine_id_matches(const char *id, const char *req);
/* The machines [*ret_lo, *ret_hi) that match a MachineID requirement. O(log n + matches). */
void sched_machine_id_range(const Sched *s, const char *req, uint32_t *ret_lo, uint32_t *ret_hi);

/* True if job j has any MachineMetadata requirement; then s->jobs[j].pool is set if active. */
bool sched_job_has_metadata(const Sched *s, uint32_t j);
/* True if machine m satisfies x's MachineMetadata. */
bool sched_metadata_ok(const Sched *s, const XFleet *x, uint32_t m);

/* The heap of pool p, built on first use: the machines satisfying the MachineMetadata of the
 * pool's jobs (pool 0: every machine). 0 or -ENOMEM. */
int sched_pool(Sched *s, uint32_t p, MachineHeap **ret);
