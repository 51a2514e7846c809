/* SPDX-License-Identifier: MIT */
#include <stdlib.h>
#include <string.h>

#include "reconciler.h"
#include "strmap.h"

static const char *const op_kind_table[_RECONCILE_OP_KIND_MAX] = {
        [RECONCILE_OP_SCHEDULE] = "schedule",
        [RECONCILE_OP_UNSCHEDULE] = "unschedule",
        [RECONCILE_OP_UPDATE] = "update",
        [RECONCILE_OP_REASON] = "reason",
};

const char *reconcile_op_kind_to_string(ReconcileOpKind k) {
        if (k < 0 || k >= _RECONCILE_OP_KIND_MAX)
                return NULL;
        return op_kind_table[k];
}

/* Scratch state of one reconcile_plan() call. Lookups are hashed: a pass over 100,000 jobs
 * must not spend its time sorting them. */
typedef struct Work {
        const ReconcileInput *in;
        StrMap jobs;      /* name -> SnapshotJob */
        StrMap held;      /* name -> ReconcileHeldJob */
        StrMap entries;   /* job -> its first SnapshotSchedule */
        size_t *next;     /* schedule index -> next index with the same job, or SIZE_MAX */
        ReconcileOp *ops; /* raw, in sequence order */
        size_t n_ops, ops_allocated;
        size_t *order; /* indices into ops sorted by (machine, name, seq) */
        size_t n_skipped;
} Work;

static void work_done(Work *w) {
        strmap_done(&w->jobs);
        strmap_done(&w->held);
        strmap_done(&w->entries);
        free(w->next);
        free(w->ops);
        free(w->order);
}

static bool hash_is_valid(const char *s) {
        if (!s || strlen(s) != REGISTRY_HASH_LEN)
                return false;
        for (; *s; s++)
                if (!((*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'f')))
                        return false;
        return true;
}

static int cmp_key(const char *m1, const char *n1, const char *m2, const char *n2) {
        int c = strcmp(m1, m2);

        return c != 0 ? c : strcmp(n1, n2);
}

static const SnapshotJob *find_job(const Work *w, const char *name) {
        return strmap_get(&w->jobs, name);
}

static const SnapshotSchedule *find_entry(const Work *w, const char *machine, const char *job) {
        const SnapshotSchedule *first = strmap_get(&w->entries, job);
        const SnapshotSchedule *base = w->in->snapshot->schedule;

        for (size_t i = first ? (size_t) (first - base) : SIZE_MAX; i != SIZE_MAX; i = w->next[i])
                if (streq(base[i].machine, machine))
                        return &base[i];
        return NULL;
}

static bool is_held(const Work *w, const char *name) {
        return strmap_get(&w->held, name);
}

static int work_index(Work *w) {
        const ReconcileInput *in = w->in;
        const ClusterSnapshot *s = in->snapshot;
        void *prev;
        int r;

        for (size_t i = 0; i < s->n_jobs; i++) {
                r = strmap_put(&w->jobs, s->jobs[i].name, &s->jobs[i], &prev);
                if (r < 0)
                        return r;
        }
        for (size_t i = 0; i < in->n_held; i++) {
                r = strmap_put(&w->held, in->held[i].name, (void *) &in->held[i], &prev);
                if (r < 0)
                        return r;
        }
        w->next = calloc(MAX(s->n_schedule, (size_t) 1), sizeof(*w->next));
        if (!w->next)
                return -ENOMEM;
        /* Chain each job's entries, the first one in the map. */
        for (size_t i = s->n_schedule; i-- > 0;) {
                const SnapshotSchedule *e = &s->schedule[i], *first;

                first = strmap_get(&w->entries, e->job);
                w->next[i] = first ? (size_t) (first - s->schedule) : SIZE_MAX;
                r = strmap_put(&w->entries, e->job, (void *) e, &prev);
                if (r < 0)
                        return r;
        }
        return 0;
}

static int add_op(Work *w, ReconcileOpKind kind, const char *machine, const char *name,
                  const char *hash, JobState state, const char *reason) {
        ReconcileOp *op;

        if (w->n_ops >= w->ops_allocated) {
                size_t a = MAX(w->ops_allocated * 2, (size_t) 64);
                ReconcileOp *p = reallocarray(w->ops, a, sizeof(*p));

                if (!p)
                        return -ENOMEM;
                w->ops = p;
                w->ops_allocated = a;
        }
        op = &w->ops[w->n_ops++];
        *op = (ReconcileOp){
                .kind = kind,
                .machine_id = machine,
                .name = name,
                .put = kind != RECONCILE_OP_UNSCHEDULE,
                .reason = reason ? reason : "",
        };
        if (op->put) {
                memcpy(op->target.hash, hash, REGISTRY_HASH_LEN + 1);
                op->target.desired_state = state;
        }
        return 0;
}

static int add_decisions(Work *w) {
        const SchedulerResult *res = w->in->result;
        int r;

        for (size_t i = 0; i < res->n_decisions; i++) {
                const SchedulerDecision *d = &res->decisions[i];

                if (!d->job || !d->machine || is_held(w, d->job)) {
                        w->n_skipped++;
                        continue;
                }
                if (d->kind == SCHEDULER_UNSCHEDULE) {
                        r = add_op(w, RECONCILE_OP_UNSCHEDULE, d->machine, d->job, NULL, 0,
                                   d->reason);
                } else if (d->kind == SCHEDULER_SCHEDULE && hash_is_valid(d->hash) &&
                           (d->state == JOB_STATE_LOADED || d->state == JOB_STATE_LAUNCHED)) {
                        r = add_op(w, RECONCILE_OP_SCHEDULE, d->machine, d->job, d->hash, d->state,
                                   d->reason);
                } else {
                        w->n_skipped++;
                        r = 0;
                }
                if (r < 0)
                        return r;
        }
        return 0;
}

static int cmp_order(const void *a, const void *b, void *userdata) {
        const ReconcileOp *ops = userdata;
        size_t x = *(const size_t *) a, y = *(const size_t *) b;
        int c = cmp_key(ops[x].machine_id, ops[x].name, ops[y].machine_id, ops[y].name);

        if (c != 0)
                return c;
        return x < y ? -1 : x > y;
}

/* Sort w->order over the current ops, so that ops on one key are adjacent in sequence order. */
static int sort_order(Work *w) {
        free(w->order);
        w->order = calloc(MAX(w->n_ops, (size_t) 1), sizeof(*w->order));
        if (!w->order)
                return -ENOMEM;
        for (size_t i = 0; i < w->n_ops; i++)
                w->order[i] = i;
        qsort_r(w->order, w->n_ops, sizeof(*w->order), cmp_order, w->ops);
        return 0;
}

/* Whether a decision already names (machine, job). Needs sort_order() over the decisions. */
static bool has_decision(const Work *w, size_t n_decision_ops, const char *machine,
                         const char *job) {
        size_t lo = 0, hi = n_decision_ops;

        while (lo < hi) {
                size_t mid = lo + (hi - lo) / 2;
                const ReconcileOp *op = &w->ops[w->order[mid]];
                int c = cmp_key(machine, job, op->machine_id, op->name);

                if (c == 0)
                        return true;
                if (c < 0)
                        hi = mid;
                else
                        lo = mid + 1;
        }
        return false;
}

static int cmp_op(const void *a, const void *b) {
        const ReconcileOp *x = a, *y = b;

        return cmp_key(x->machine_id, x->name, y->machine_id, y->name);
}

/* Keep the entries the scheduler left alone in step with their job. The ops come out sorted
 * by (machine, job), so the plan does not depend on the snapshot's order. */
static int add_maintenance(Work *w) {
        const ClusterSnapshot *s = w->in->snapshot;
        size_t n_decision_ops = w->n_ops;
        int r;

        r = sort_order(w);
        if (r < 0)
                return r;
        for (size_t i = 0; i < s->n_schedule; i++) {
                const SnapshotSchedule *e = &s->schedule[i];
                const SnapshotJob *j;

                if (is_held(w, e->job) || has_decision(w, n_decision_ops, e->machine, e->job))
                        continue;
                j = find_job(w, e->job);
                if (!j)
                        r = add_op(w, RECONCILE_OP_UNSCHEDULE, e->machine, e->job, NULL, 0,
                                   "unit no longer exists");
                else if (j->state == JOB_STATE_INACTIVE)
                        r = add_op(w, RECONCILE_OP_UNSCHEDULE, e->machine, e->job, NULL, 0,
                                   "target state inactive");
                else if (snapshot_job_is_global(j))
                        r = add_op(w, RECONCILE_OP_UNSCHEDULE, e->machine, e->job, NULL, 0,
                                   "global units are not scheduled by the engine");
                else if (!hash_is_valid(j->hash))
                        r = 0; /* nothing valid to write; leave the entry alone */
                else if (e->state != j->state || !e->hash || !streq(e->hash, j->hash))
                        r = add_op(w, RECONCILE_OP_UPDATE, e->machine, e->job, j->hash, j->state,
                                   e->state != j->state ? "desired state changed"
                                                        : "unit content changed");
                else
                        r = 0;
                if (r < 0)
                        return r;
        }
        if (w->n_ops > n_decision_ops)
                qsort_safe(w->ops + n_decision_ops, w->n_ops - n_decision_ops, sizeof(*w->ops),
                           cmp_op);
        return 0;
}

/* Whether op would leave its key as it is. */
static bool op_is_noop(const Work *w, const ReconcileOp *op) {
        const SnapshotSchedule *e = find_entry(w, op->machine_id, op->name);

        if (!op->put)
                return !e;
        return e && e->hash && streq(e->hash, op->target.hash) &&
               e->state == op->target.desired_state;
}

/* Merge ops per key (the last wins), drop no-ops, emit the survivors in sequence order. */
static int coalesce(Work *w, ReconcilePlan *p) {
        _cleanup_free_ bool *keep = NULL;
        int r;

        r = sort_order(w);
        if (r < 0)
                return r;
        keep = calloc(MAX(w->n_ops, (size_t) 1), sizeof(*keep));
        p->ops = calloc(MAX(w->n_ops, (size_t) 1), sizeof(*p->ops));
        if (!keep || !p->ops)
                return -ENOMEM;
        for (size_t i = 0; i < w->n_ops; i++) {
                const ReconcileOp *op = &w->ops[w->order[i]];

                if (i + 1 < w->n_ops) {
                        const ReconcileOp *next = &w->ops[w->order[i + 1]];

                        if (cmp_key(op->machine_id, op->name, next->machine_id, next->name) == 0)
                                continue; /* superseded */
                }
                keep[w->order[i]] = !op_is_noop(w, op);
        }
        for (size_t i = 0; i < w->n_ops; i++) {
                if (!keep[i])
                        continue;
                p->ops[p->n_ops++] = w->ops[i];
                if (w->ops[i].kind == RECONCILE_OP_SCHEDULE)
                        p->n_schedule++;
                else if (w->ops[i].kind == RECONCILE_OP_UNSCHEDULE)
                        p->n_unschedule++;
                else
                        p->n_update++;
        }
        return 0;
}

static int cmp_reason(const void *a, const void *b) {
        return strcmp(((const ReconcileReason *) a)->name, ((const ReconcileReason *) b)->name);
}

/* The entry named name in a (sorted by name, n entries), or NULL. */
static const ReconcileReason *find_reason(const ReconcileReason *a, size_t n, const char *name) {
        ReconcileReason key = {.name = name};

        return n > 0 ? bsearch(&key, a, n, sizeof(*a), cmp_reason) : NULL;
}

static int sorted_copy(const ReconcileReason *a, size_t n, ReconcileReason **ret) {
        ReconcileReason *c = calloc(MAX(n, (size_t) 1), sizeof(*c));

        if (!c)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++)
                c[i] = a[i];
        if (n > 1)
                qsort(c, n, sizeof(*c), cmp_reason);
        *ret = c;
        return 0;
}

static void push_reason(ReconcilePlan *p, const char *name, const char *reason, int64_t rev) {
        p->ops[p->n_ops++] = (ReconcileOp){
                .kind = RECONCILE_OP_REASON,
                .name = name,
                .put = reason != NULL,
                .reason = reason ? reason : "unit placed, inactive or gone",
                .job_revision = rev,
        };
        p->n_reason++;
}

/* Put the reasons of the jobs left unscheduled, delete the others (after the schedule ops). */
static int add_reasons(const ReconcileInput *in, const Work *w, ReconcilePlan *p) {
        const SchedulerResult *res = in->result;
        _cleanup_free_ ReconcileReason *stored = NULL, *revs = NULL;
        size_t room = res->n_unscheduled + in->n_reasons;
        ReconcileOp *ops;
        int r;

        if (room == 0)
                return 0;
        ops = reallocarray(p->ops, p->n_ops + room, sizeof(*ops));
        if (!ops)
                return -ENOMEM;
        p->ops = ops;
        r = sorted_copy(in->reasons, in->n_reasons, &stored);
        if (r >= 0)
                r = sorted_copy(in->job_revisions, in->n_job_revisions, &revs);
        if (r < 0)
                return r;
        for (size_t i = 0; i < res->n_unscheduled; i++) {
                const SchedulerUnscheduled *u = &res->unscheduled[i];
                const ReconcileReason *have = find_reason(stored, in->n_reasons, u->job);
                const ReconcileReason *rev = find_reason(revs, in->n_job_revisions, u->job);

                if (is_held(w, u->job) || !rev || rev->job_revision <= 0)
                        continue;
                if (have && have->reason && streq(have->reason, u->reason) &&
                    have->job_revision == rev->job_revision)
                        continue;
                push_reason(p, u->job, u->reason, rev->job_revision);
        }
        for (size_t i = 0; i < in->n_reasons; i++)
                if (!is_held(w, stored[i].name) &&
                    !scheduler_result_find_unscheduled(res, stored[i].name))
                        push_reason(p, stored[i].name, NULL, 0);
        return 0;
}

static int cmp_unit(const void *a, const void *b) {
        return strcmp(((const ReconcileUnit *) a)->hash, ((const ReconcileUnit *) b)->hash);
}

/* Mark the unit (in sorted units) whose hash is h as referenced. */
static void mark(const ReconcileUnit *units, bool *used, size_t n, const char *h) {
        size_t lo = 0, hi = n;

        if (!h)
                return;
        while (lo < hi) {
                size_t mid = lo + (hi - lo) / 2;
                int c = strcmp(h, units[mid].hash);

                if (c == 0) {
                        used[mid] = true;
                        return;
                }
                if (c < 0)
                        hi = mid;
                else
                        lo = mid + 1;
        }
}

/* Contents are few (one per distinct unit text) and references many: sort the contents and
 * look each reference up, O(refs log contents). */
static int collect_garbage(const ReconcileInput *in, ReconcilePlan *p) {
        const ClusterSnapshot *s = in->snapshot;
        _cleanup_free_ ReconcileUnit *units = NULL;
        _cleanup_free_ bool *used = NULL;
        size_t n = 0;

        if (in->n_units == 0)
                return 0;
        units = calloc(in->n_units, sizeof(*units));
        used = calloc(in->n_units, sizeof(*used));
        p->garbage = calloc(in->n_units, sizeof(*p->garbage));
        if (!units || !used || !p->garbage)
                return -ENOMEM;
        for (size_t i = 0; i < in->n_units; i++)
                if (in->units[i].hash)
                        units[n++] = in->units[i];
        qsort_safe(units, n, sizeof(*units), cmp_unit);
        for (size_t i = 0; i < s->n_jobs; i++)
                mark(units, used, n, s->jobs[i].hash);
        for (size_t i = 0; i < in->n_held; i++)
                mark(units, used, n, in->held[i].hash);
        for (size_t i = 0; i < s->n_schedule; i++)
                mark(units, used, n, s->schedule[i].hash);
        /* A rolling update's pins keep the old content of a global unit on the machines the
         * rollout has not reached yet, after job/ and global/ moved to the new one. */
        for (size_t i = 0; i < in->n_pinned; i++)
                mark(units, used, n, in->pinned[i]);
        for (size_t i = 0; i < n; i++)
                if (!used[i])
                        p->garbage[p->n_garbage++] = units[i];
        return 0;
}

int reconcile_plan(const ReconcileInput *in, ReconcilePlan **ret) {
        _cleanup_(reconcile_plan_freep) ReconcilePlan *p = NULL;
        Work w = {.in = in};
        int r;

        assert(ret);
        if (!in || !in->snapshot || !in->result)
                return -EINVAL;
        p = calloc(1, sizeof(*p));
        if (!p)
                return -ENOMEM;
        r = work_index(&w);
        if (r >= 0)
                r = add_decisions(&w);
        if (r >= 0)
                r = add_maintenance(&w);
        if (r >= 0)
                r = coalesce(&w, p);
        if (r >= 0)
                r = add_reasons(in, &w, p);
        if (r >= 0)
                r = collect_garbage(in, p);
        p->n_skipped = w.n_skipped;
        work_done(&w);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(p);
        return 0;
}

ReconcilePlan *reconcile_plan_free(ReconcilePlan *p) {
        if (!p)
                return NULL;
        free(p->ops);
        free(p->garbage);
        free(p);
        return NULL;
}

size_t reconcile_plan_n_batches(const ReconcilePlan *p) {
        if (!p)
                return 0;
        return (p->n_ops + RECONCILE_MAX_BATCH - 1) / RECONCILE_MAX_BATCH;
}

void reconcile_plan_batch(const ReconcilePlan *p, size_t i, size_t *ret_start, size_t *ret_n) {
        size_t start;

        assert(p);
        assert(i < reconcile_plan_n_batches(p));
        start = i * RECONCILE_MAX_BATCH;
        *ret_start = start;
        *ret_n = MIN((size_t) RECONCILE_MAX_BATCH, p->n_ops - start);
}
