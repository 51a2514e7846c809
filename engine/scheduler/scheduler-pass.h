/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * One scheduling pass in progress (internal to engine/scheduler*.c): the working state, the
 * decisions taken so far, phase 2's queue of jobs to place, and the moves that keep them all
 * consistent. Moving a unit back where it started cancels its earlier UNSCHEDULE, and moving a
 * unit placed in this pass cancels that SCHEDULE, so that the result lists net changes only.
 * Pure.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "job-state.h"
#include "scheduler-state.h"
#include "scheduler.h"

/* A decision while the pass runs: strings borrowed from the snapshot, reason owned. A decision
 * that a later one cancels is dropped (reason NULL). */
typedef struct PassDecision {
        SchedulerDecisionKind kind;
        const char *job, *machine, *hash;
        JobState state;
        char *reason;
} PassDecision;

typedef struct Pass {
        Sched s;
        PassDecision *decisions;
        size_t n_decisions, decisions_allocated;
        uint32_t *ready; /* min-heap of jobs ready to be placed: name order */
        size_t n_ready, ready_allocated;
        uint32_t *stack; /* scratch for follower cascades */
        size_t n_stack, stack_allocated;
        bool evicted; /* a unit was evicted for Replaces since failed jobs were last retried */
        bool *dirty;  /* machines that lost a unit, whose globals may apply differently */
        bool *was;    /* scratch: per global, whether it applied before a refresh */
        uint32_t *on; /* scratch: the units on one machine */
} Pass;

/* Free everything p holds (not p itself). */
void pass_done(Pass *p);

/* Append a decision; takes ownership of reason (also on failure; NULL means -ENOMEM). Its index
 * goes to *ret_index if not NULL. 0 or -ENOMEM. */
int pass_emit(Pass *p, SchedulerDecisionKind kind, const char *job, const char *machine,
              const char *hash, JobState state, char *reason, uint32_t *ret_index);
/* Cancel decision number index. */
void pass_drop(Pass *p, uint32_t index);

/* Phase 2's queue, in name order. A job joins it when it waits for no MachineOf leader. */
int pass_ready_push(Pass *p, uint32_t j);
uint32_t pass_ready_pop(Pass *p);
/* j (back) into phase 2: it waits for its pending leaders, its pending followers for it. */
int pass_make_pending(Pass *p, uint32_t j);
/* j was placed or given up on: its followers stop waiting for it. */
int pass_resolve(Pass *p, uint32_t j);

/* Put j on m (reason owned, for the SCHEDULE). 0 or -ENOMEM. */
int pass_put_on(Pass *p, uint32_t j, uint32_t m, char *reason);
/* Take j off its machine with reason (owned), and with it every follower there (MachineOf,
 * transitively). requeue: they all go back into phase 2. 0 or -ENOMEM. */
int pass_take_off_tree(Pass *p, uint32_t j, char *reason, bool requeue);

/* Apply the global units everywhere they fit, in name order (at the start of the pass). */
int pass_apply_globals(Pass *p);
/* Recompute the globals of every machine that lost units since (p->dirty); units whose global
 * MachineOf peer no longer applies there leave (requeue: into phase 2). 0 or -ENOMEM. */
int pass_settle_globals(Pass *p, bool requeue);
