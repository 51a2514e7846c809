/* SPDX-License-Identifier: MIT */
#include <stdlib.h>
#include <string.h>

#include "scheduler-index.h"
#include "scheduler-pass.h"
#include "scheduler-place.h"
#include "scheduler-reason.h"
#include "scheduler-state.h"
#include "scheduler.h"

static const char *const decision_kind_table[_SCHEDULER_DECISION_KIND_MAX] = {
        [SCHEDULER_UNSCHEDULE] = "unschedule",
        [SCHEDULER_SCHEDULE] = "schedule",
};

const char *scheduler_decision_kind_to_string(SchedulerDecisionKind k) {
        if (k < 0 || k >= _SCHEDULER_DECISION_KIND_MAX)
                return NULL;
        return decision_kind_table[k];
}

SchedulerDecisionKind scheduler_decision_kind_from_string(const char *s) {
        if (!s)
                return _SCHEDULER_DECISION_KIND_INVALID;
        for (size_t i = 0; i < ELEMENTSOF(decision_kind_table); i++)
                if (streq(s, decision_kind_table[i]))
                        return (SchedulerDecisionKind) i;
        return _SCHEDULER_DECISION_KIND_INVALID;
}

/* ---- phase 1 --------------------------------------------------------------------------------- */

/* By machine, then job: etcd's order of schedule/<machine>/<job> keys. */
static int schedule_entry_cmp(const void *a, const void *b) {
        const SnapshotSchedule *x = *(const SnapshotSchedule *const *) a;
        const SnapshotSchedule *y = *(const SnapshotSchedule *const *) b;
        int c = strcmp(x->machine, y->machine);

        return c != 0 ? c : strcmp(x->job, y->job);
}

/* Why entry e (of job j on machine m) must go whatever the constraints: 1 and a malloc'd
 * reason in *ret, 0 if it may stay, -ENOMEM. */
static int entry_verdict(Pass *p, const SnapshotSchedule *e, uint32_t j, uint32_t m, char **ret) {
        const SchedJob *job = j == SCHED_NONE ? NULL : &p->s.jobs[j];
        char *reason;

        if (!job)
                reason = strdup("unit no longer exists");
        else if (job->is_global)
                reason = strdup("global units are not scheduled by the engine");
        else if (!job->active)
                reason = strdup("target state inactive");
        else if (m == SCHED_NONE)
                reason = sched_strdup_printf("target Machine(%s) went away", e->machine);
        else if (job->machine != SCHED_NONE)
                reason = sched_strdup_printf("also scheduled on Machine(%s)",
                                             sched_machine_id(&p->s, job->machine));
        else
                return 0;
        if (!reason)
                return -ENOMEM;
        *ret = reason;
        return 1;
}

/* Remove entries that cannot stay whatever the constraints, and attach the others. In machine
 * order, so that of two entries for one job the one on the lower machine ID stays. */
static int load_schedule(Pass *p) {
        const ClusterSnapshot *snap = p->s.snapshot;
        _cleanup_free_ const SnapshotSchedule **e = NULL;
        uint32_t m = SCHED_NONE;
        int r;

        e = malloc(MAX(snap->n_schedule, (size_t) 1) * sizeof(*e));
        if (!e)
                return -ENOMEM;
        for (size_t i = 0; i < snap->n_schedule; i++)
                e[i] = &snap->schedule[i];
        sort_unless_sorted(e, snap->n_schedule, sizeof(*e), schedule_entry_cmp);

        for (size_t i = 0; i < snap->n_schedule; i++) {
                uint32_t j = sched_find_job(&p->s, e[i]->job);
                char *verdict;

                if (i > 0 && schedule_entry_cmp(&e[i], &e[i - 1]) == 0)
                        return -EEXIST;
                if (i == 0 || !streq(e[i]->machine, e[i - 1]->machine))
                        m = sched_find_machine(&p->s, e[i]->machine);
                r = entry_verdict(p, e[i], j, m, &verdict);
                if (r < 0)
                        return r;
                if (r > 0) {
                        r = pass_emit(p, SCHEDULER_UNSCHEDULE, e[i]->job, e[i]->machine, e[i]->hash,
                                      e[i]->state, verdict, NULL);
                        if (r < 0)
                                return r;
                        continue;
                }
                r = sched_attach(&p->s, j, m);
                if (r < 0)
                        return r;
                p->s.jobs[j].base = m;
                p->s.jobs[j].entry = e[i];
        }
        return 0;
}

/* Mark the jobs that still run on a draining machine (fleet-c): they start nowhere else until
 * that copy has stopped. */
static void load_running(Pass *p) {
        const ClusterSnapshot *snap = p->s.snapshot;

        for (size_t i = 0; i < snap->n_running; i++) {
                uint32_t j = sched_find_job(&p->s, snap->running[i].job);
                uint32_t m = sched_find_machine(&p->s, snap->running[i].machine);

                if (j == SCHED_NONE || m == SCHED_NONE || !sched_machine_draining(&p->s, m))
                        continue;
                p->s.jobs[j].lingering = true;
                p->s.jobs[j].lingering_on = m;
        }
}

static int phase1(Pass *p) {
        Sched *s = &p->s;
        int r;

        for (uint32_t j = 0; j < s->n_jobs; j++) {
                SchedCheck c;
                char *reason;

                if (s->jobs[j].machine == SCHED_NONE)
                        continue;
                if (sched_machine_draining(s, s->jobs[j].machine)) {
                        /* Its followers there go with it. */
                        r = pass_take_off_tree(
                                p, j,
                                sched_strdup_printf("Machine(%s) is being drained",
                                                    sched_machine_id(s, s->jobs[j].machine)),
                                false);
                        if (r < 0)
                                return r;
                        continue;
                }
                if (sched_check(s, j, s->jobs[j].machine, false, false, &c))
                        continue;
                r = sched_reason_check(s, j, &c, &reason);
                if (r < 0)
                        return r;
                r = pass_take_off_tree(p, j, reason, false);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* ---- result ---------------------------------------------------------------------------------- */

SchedulerResult *scheduler_result_free(SchedulerResult *r) {
        if (!r)
                return NULL;
        free(r->decisions);
        free(r->unscheduled);
        free(r->strings);
        free(r);
        return NULL;
}

static bool left_unscheduled(const SchedJob *job) {
        return job->active && !job->is_global && job->machine == SCHED_NONE;
}

/* Copy s to *cursor, advance it, and return where s now is. */
static char *put(char **cursor, const char *s) {
        size_t n = strlen(s) + 1;
        char *start = *cursor;

        memcpy(start, s, n);
        *cursor += n;
        return start;
}

/* The result: the decisions not dropped and the jobs left unscheduled, with every string in
 * one block (a pass can produce 100,000s of them). */
static int make_result(Pass *p, SchedulerResult *res) {
        Sched *s = &p->s;
        size_t size = 1, n_decisions = 0, n_unscheduled = 0;
        char *cursor;

        for (size_t i = 0; i < p->n_decisions; i++) {
                const PassDecision *d = &p->decisions[i];

                if (!d->reason)
                        continue; /* dropped */
                n_decisions++;
                size += strlen(d->job) + strlen(d->machine) + strlen(d->reason) + 3;
                size += d->hash ? strlen(d->hash) + 1 : 0;
        }
        for (uint32_t j = 0; j < s->n_jobs; j++)
                if (left_unscheduled(&s->jobs[j])) {
                        assert(s->jobs[j].reason);
                        n_unscheduled++;
                        size += strlen(sched_job_name(s, j)) + strlen(s->jobs[j].reason) + 2;
                }
        res->decisions = calloc(MAX(n_decisions, (size_t) 1), sizeof(SchedulerDecision));
        res->unscheduled = calloc(MAX(n_unscheduled, (size_t) 1), sizeof(SchedulerUnscheduled));
        res->strings = cursor = malloc(size);
        if (!res->decisions || !res->unscheduled || !res->strings)
                return -ENOMEM;

        for (size_t i = 0; i < p->n_decisions; i++) {
                const PassDecision *d = &p->decisions[i];

                if (!d->reason)
                        continue;
                res->decisions[res->n_decisions++] = (SchedulerDecision){
                        .kind = d->kind,
                        .job = put(&cursor, d->job),
                        .machine = put(&cursor, d->machine),
                        .hash = d->hash ? put(&cursor, d->hash) : NULL,
                        .state = d->state,
                        .reason = put(&cursor, d->reason),
                };
        }
        for (uint32_t j = 0; j < s->n_jobs; j++)
                if (left_unscheduled(&s->jobs[j]))
                        res->unscheduled[res->n_unscheduled++] = (SchedulerUnscheduled){
                                .job = put(&cursor, sched_job_name(s, j)),
                                .reason = put(&cursor, s->jobs[j].reason),
                        };
        return 0;
}

int scheduler_run(const ClusterSnapshot *snapshot, SchedulerResult **ret) {
        _cleanup_(scheduler_result_freep) SchedulerResult *res = NULL;
        Pass p = {};
        int r;

        assert(snapshot);
        assert(ret);
        res = calloc(1, sizeof(*res));
        r = res ? sched_init(&p.s, snapshot) : -ENOMEM;
        if (r >= 0) {
                p.dirty = calloc(MAX(p.s.n_machines, 1u), sizeof(bool));
                p.was = calloc(MAX(p.s.n_globals, 1u), sizeof(bool));
                p.on = calloc(MAX(p.s.n_jobs, 1u), sizeof(uint32_t));
                if (!p.dirty || !p.was || !p.on)
                        r = -ENOMEM;
        }
        sched_defer_heaps(&p.s);
        if (r >= 0) {
                load_running(&p);
                r = load_schedule(&p);
        }
        if (r >= 0)
                r = pass_apply_globals(&p);
        sched_resume_heaps(&p.s);
        if (r >= 0)
                r = phase1(&p);
        if (r >= 0)
                r = pass_settle_globals(&p, false);
        if (r >= 0)
                r = pass_place_all(&p);
        if (r >= 0)
                r = make_result(&p, res);
        pass_done(&p);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(res);
        return 0;
}

int scheduler_result_copy_unscheduled(const SchedulerResult *r, SchedulerResult **ret) {
        _cleanup_(scheduler_result_freep) SchedulerResult *c = NULL;
        size_t size = 1;
        char *cursor;

        assert(r);
        assert(ret);
        for (size_t i = 0; i < r->n_unscheduled; i++)
                size += strlen(r->unscheduled[i].job) + strlen(r->unscheduled[i].reason) + 2;
        c = calloc(1, sizeof(*c));
        if (!c)
                return -ENOMEM;
        c->decisions = calloc(1, sizeof(SchedulerDecision));
        c->unscheduled = calloc(MAX(r->n_unscheduled, (size_t) 1), sizeof(SchedulerUnscheduled));
        c->strings = cursor = malloc(size);
        if (!c->decisions || !c->unscheduled || !c->strings)
                return -ENOMEM;
        for (size_t i = 0; i < r->n_unscheduled; i++)
                c->unscheduled[c->n_unscheduled++] = (SchedulerUnscheduled){
                        .job = put(&cursor, r->unscheduled[i].job),
                        .reason = put(&cursor, r->unscheduled[i].reason),
                };
        *ret = TAKE_PTR(c);
        return 0;
}

const SchedulerUnscheduled *scheduler_result_find_unscheduled(const SchedulerResult *r,
                                                              const char *job) {
        size_t lo = 0, hi;

        assert(r);
        assert(job);
        hi = r->n_unscheduled;
        while (lo < hi) {
                size_t mid = lo + (hi - lo) / 2;
                int c = strcmp(job, r->unscheduled[mid].job);

                if (c == 0)
                        return &r->unscheduled[mid];
                if (c < 0)
                        hi = mid;
                else
                        lo = mid + 1;
        }
        return NULL;
}
