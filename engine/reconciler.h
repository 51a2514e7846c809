/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * The engine's reconciler (pure: no etcd, no sd-event, no clock): turns one scheduler pass into
 * the schedule writes that carry it out, and finds unit contents nobody needs any more.
 *
 *  - Every scheduler decision becomes one operation: SCHEDULE puts schedule/<machine>/<job> =
 *    {hash, desiredState}, UNSCHEDULE deletes it.
 *  - Entries that stay are kept in step with their job: when the job's desired state
 *    (loaded <-> launched) or its hash differs from the entry's, the entry is rewritten
 *    (UPDATE). An entry whose job no longer exists or is inactive is deleted even if the
 *    scheduler did not say so (it does; this is a second line of defence).
 *  - Jobs the engine had to leave out of the snapshot because their unit content is missing or
 *    unreadable ("held" jobs) are never touched: the scheduler sees them as gone, but their
 *    entries must not be deleted for a transient read problem.
 *  - Operations on one key are merged (the last one wins), and an operation that would leave a
 *    key as it already is gets dropped, so a txn never names a key twice (etcd refuses that)
 *    and nothing is written for nothing. The order of the scheduler's decisions is otherwise
 *    kept (unschedules before the placements that depend on them), rewrites come last.
 *  - Reasons (fleet-c): every job the scheduler left unscheduled gets reason/<name> = its reason
 *    and the job's mod_revision, written only when the stored one differs; a stored reason
 *    whose job is placed, inactive, global or gone is deleted; held jobs keep theirs. A job
 *    whose mod_revision is unknown gets none. These ops come after all schedule ops.
 *  - Garbage: unit/<hash> contents referenced by no job (snapshot or held) and by no schedule
 *    entry. They are deleted with a mod_revision compare, so a concurrent job creation that
 *    re-puts the same content wins.
 *
 * The engine applies the operations in batches of at most RECONCILE_MAX_BATCH (etcd's
 * --max-txn-ops), each batch one txn fenced by the leader term.
 */

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "macro.h"
#include "registry-json.h"
#include "scheduler.h"
#include "snapshot.h"

#define RECONCILE_MAX_BATCH 128

typedef enum ReconcileOpKind {
        RECONCILE_OP_SCHEDULE,   /* a scheduler placement: put */
        RECONCILE_OP_UNSCHEDULE, /* a scheduler removal, or an entry without job: delete */
        RECONCILE_OP_UPDATE,     /* an entry rewritten to its job's hash/state: put */
        RECONCILE_OP_REASON,     /* reason/<name>: put (job unplaceable) or delete */
        _RECONCILE_OP_KIND_MAX,
        _RECONCILE_OP_KIND_INVALID = -EINVAL,
} ReconcileOpKind;

/* "schedule", "unschedule", "update", "reason"; NULL if out of range. */
const char *reconcile_op_kind_to_string(ReconcileOpKind k);

typedef struct ReconcileOp {
        ReconcileOpKind kind;
        const char *machine_id; /* borrowed from the input; NULL for REASON */
        const char *name;       /* job name, borrowed */
        bool put;               /* put target (SCHEDULE, UPDATE) or delete (UNSCHEDULE) */
        RegistryTarget target;  /* valid when put, except for REASON */
        const char *reason;     /* borrowed from the input or static; never NULL. REASON with
                                 * put: the text to store */
        int64_t job_revision;   /* REASON with put: the job's mod_revision it describes */
} ReconcileOp;

/* A stored reason/<name> (reason, job_revision), or a job's mod_revision (reason NULL). */
typedef struct ReconcileReason {
        const char *name;
        const char *reason;
        int64_t job_revision;
} ReconcileReason;

/* A stored unit/<hash> content. */
typedef struct ReconcileUnit {
        const char *hash;
        int64_t mod_revision;
} ReconcileUnit;

/* A job left out of the snapshot (content missing or unreadable). */
typedef struct ReconcileHeldJob {
        const char *name;
        const char *hash; /* may be NULL */
} ReconcileHeldJob;

typedef struct ReconcileInput {
        const ClusterSnapshot *snapshot; /* what the scheduler ran on */
        const SchedulerResult *result;   /* its result */
        /* unit contents to garbage-collect if nothing references them (every content, or only
         * those that may have lost their last reference: the result is the same) */
        const ReconcileUnit *units;
        size_t n_units;
        const ReconcileHeldJob *held;
        size_t n_held;
        const ReconcileReason *reasons; /* every stored reason/<name>, any order */
        size_t n_reasons;
        const ReconcileReason *job_revisions; /* mod_revision of the snapshot's jobs, any order */
        size_t n_job_revisions;
        const char *const *pinned; /* contents pin/<machine>/<name> entries name (fleet-c) */
        size_t n_pinned;
} ReconcileInput;

typedef struct ReconcilePlan {
        ReconcileOp *ops; /* in application order */
        size_t n_ops;
        size_t n_schedule, n_unschedule, n_update, n_reason; /* ops of each kind */
        ReconcileUnit *garbage; /* unreferenced contents, sorted by hash (strings borrowed) */
        size_t n_garbage;
        size_t n_skipped; /* decisions dropped: for held jobs, or without a valid hash */
} ReconcilePlan;

/*
 * Compute the plan for in (borrowed; the plan borrows its strings, so in must outlive it).
 * 0 and a new plan in *ret, -EINVAL (NULL snapshot or result), -ENOMEM.
 */
int reconcile_plan(const ReconcileInput *in, ReconcilePlan **ret);
ReconcilePlan *reconcile_plan_free(ReconcilePlan *p);
DEFINE_CLEANUP(ReconcilePlan *, reconcile_plan_free);

/* Number of batches (txns) the ops need: ceil(n_ops / RECONCILE_MAX_BATCH). */
size_t reconcile_plan_n_batches(const ReconcilePlan *p);
/* Batch i (< n_batches): ops [*ret_start, *ret_start + *ret_n). */
void reconcile_plan_batch(const ReconcilePlan *p, size_t i, size_t *ret_start, size_t *ret_n);
