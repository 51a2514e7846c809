/* SPDX-License-Identifier: MIT */
#include <stdlib.h>
#include <string.h>

#include "scheduler-index.h"
#include "scheduler-pass.h"
#include "scheduler-reason.h"

static int grow(void **array, size_t *allocated, size_t n, size_t size) {
        size_t a;
        void *p;

        if (n < *allocated)
                return 0;
        a = MAX(*allocated * 2, (size_t) 64);
        p = reallocarray(*array, a, size);
        if (!p)
                return -ENOMEM;
        *array = p;
        *allocated = a;
        return 0;
}

void pass_done(Pass *p) {
        for (size_t i = 0; i < p->n_decisions; i++)
                free(p->decisions[i].reason);
        free(p->decisions);
        free(p->ready);
        free(p->stack);
        free(p->dirty);
        free(p->was);
        free(p->on);
        sched_done(&p->s);
}

/* Append a decision; takes ownership of reason (also on failure). Its index in *ret_index. */
int pass_emit(Pass *p, SchedulerDecisionKind kind, const char *job, const char *machine,
              const char *hash, JobState state, char *reason, uint32_t *ret_index) {
        int r;

        if (!reason)
                return -ENOMEM;
        r = grow((void **) &p->decisions, &p->decisions_allocated, p->n_decisions,
                 sizeof(PassDecision));
        if (r < 0) {
                free(reason);
                return r;
        }
        p->decisions[p->n_decisions] = (PassDecision){kind, job, machine, hash, state, reason};
        if (ret_index)
                *ret_index = p->n_decisions;
        p->n_decisions++;
        return 0;
}

void pass_drop(Pass *p, uint32_t index) {
        assert(index < p->n_decisions);
        free(p->decisions[index].reason);
        p->decisions[index].reason = NULL;
}

/* ---- the ready queue (phase 2) ------------------------------------------------------------ */

int pass_ready_push(Pass *p, uint32_t j) {
        size_t i;
        int r;

        if (p->s.jobs[j].queued)
                return 0;
        r = grow((void **) &p->ready, &p->ready_allocated, p->n_ready, sizeof(uint32_t));
        if (r < 0)
                return r;
        for (i = p->n_ready++; i > 0 && j < p->ready[(i - 1) / 2]; i = (i - 1) / 2)
                p->ready[i] = p->ready[(i - 1) / 2];
        p->ready[i] = j;
        p->s.jobs[j].queued = true;
        return 0;
}

uint32_t pass_ready_pop(Pass *p) {
        uint32_t top = p->ready[0], last = p->ready[--p->n_ready];
        size_t i = 0;

        for (;;) {
                size_t c = 2 * i + 1;

                if (c >= p->n_ready)
                        break;
                if (c + 1 < p->n_ready && p->ready[c + 1] < p->ready[c])
                        c++;
                if (p->ready[c] >= last)
                        break;
                p->ready[i] = p->ready[c];
                i = c;
        }
        if (p->n_ready > 0)
                p->ready[i] = last;
        p->s.jobs[top].queued = false;
        return top;
}

/* A job joins phase 2's queue: it waits for each of its MachineOf leaders that is itself
 * waiting to be placed, and its own waiting followers now wait for it too. */
int pass_make_pending(Pass *p, uint32_t j) {
        Sched *s = &p->s;
        SchedJob *job = &s->jobs[j];

        job->pending = true;
        job->waiting = 0;
        for (uint32_t i = 0; i < job->n_peers; i++) {
                uint32_t q = s->peers[job->peers_at + i].job;

                if (q != SCHED_NONE && s->jobs[q].pending && !s->jobs[q].is_global)
                        job->waiting++;
        }
        for (uint32_t i = 0; i < job->n_followers; i++) {
                uint32_t f = s->followers[job->followers_at + i];

                if (f != j && s->jobs[f].pending)
                        s->jobs[f].waiting++;
        }
        return job->waiting == 0 ? pass_ready_push(p, j) : 0;
}

/* j was placed or given up on: its followers no longer wait for it. */
int pass_resolve(Pass *p, uint32_t j) {
        Sched *s = &p->s;
        SchedJob *job = &s->jobs[j];
        int r;

        job->pending = false;
        for (uint32_t i = 0; i < job->n_followers; i++) {
                uint32_t f = s->followers[job->followers_at + i];

                if (f == j || !s->jobs[f].pending)
                        continue;
                assert(s->jobs[f].waiting > 0);
                if (--s->jobs[f].waiting == 0) {
                        r = pass_ready_push(p, f);
                        if (r < 0)
                                return r;
                }
        }
        return 0;
}

/* ---- moving units --------------------------------------------------------------------------- */

/* Take j off its machine. Leaving its starting machine is an UNSCHEDULE; leaving a machine it
 * was placed on in this pass cancels that SCHEDULE instead. Takes ownership of reason. */
static int take_off(Pass *p, uint32_t j, char *reason) {
        Sched *s = &p->s;
        SchedJob *job = &s->jobs[j];
        uint32_t m = job->machine;
        int r = 0;

        if (!reason)
                return -ENOMEM;
        sched_detach(s, j);
        p->dirty[m] = true;
        if (m == job->base) {
                assert(job->entry);
                r = pass_emit(p, SCHEDULER_UNSCHEDULE, sched_job_name(s, j), sched_machine_id(s, m),
                              job->entry->hash, job->entry->state, reason, &job->unsched_decision);
        } else {
                pass_drop(p, job->sched_decision);
                job->sched_decision = SCHED_NONE;
                free(reason);
        }
        return r;
}

int pass_put_on(Pass *p, uint32_t j, uint32_t m, char *reason) {
        Sched *s = &p->s;
        SchedJob *job = &s->jobs[j];
        int r;

        if (!reason)
                return -ENOMEM;
        r = sched_attach(s, j, m);
        if (r < 0) {
                free(reason);
                return r;
        }
        if (m == job->base) {
                /* Back where it started: no change at all. */
                pass_drop(p, job->unsched_decision);
                job->unsched_decision = SCHED_NONE;
                free(reason);
                return 0;
        }
        return pass_emit(p, SCHEDULER_SCHEDULE, sched_job_name(s, j), sched_machine_id(s, m),
                         job->sj->hash, job->sj->state, reason, &job->sched_decision);
}

/*
 * Take j off machine m with reason, and with it every follower (MachineOf, transitively) that
 * is on m, since its peer is no longer local. requeue: they all go back into phase 2's queue.
 */
int pass_take_off_tree(Pass *p, uint32_t j, char *reason, bool requeue) {
        Sched *s = &p->s;
        uint32_t m = s->jobs[j].machine;
        int r;

        p->n_stack = 0;
        r = take_off(p, j, reason);
        if (r < 0)
                return r;
        for (uint32_t x = j;;) {
                for (uint32_t i = 0; i < s->jobs[x].n_followers; i++) {
                        uint32_t f = s->followers[s->jobs[x].followers_at + i];

                        if (s->jobs[f].machine != m)
                                continue;
                        r = take_off(p, f,
                                     sched_strdup_printf("required peer Unit(%s) is not scheduled "
                                                         "locally",
                                                         sched_job_name(s, x)));
                        if (r >= 0)
                                r = grow((void **) &p->stack, &p->stack_allocated, p->n_stack,
                                         sizeof(uint32_t));
                        if (r < 0)
                                return r;
                        p->stack[p->n_stack++] = f;
                }
                if (requeue) {
                        r = pass_make_pending(p, x);
                        if (r < 0)
                                return r;
                }
                if (p->n_stack == 0)
                        return 0;
                x = p->stack[--p->n_stack];
        }
}

static bool global_fits(const Sched *s, uint32_t g, uint32_t m) {
        uint32_t j = s->globals[g];

        if (s->jobs[j].pool != SCHED_NONE && !sched_metadata_ok(s, sched_job_xfleet(s, j), m))
                return false;
        return !sched_conflicts_on(s, j, m);
}

/* Globals in name order, each where its metadata matches and nothing there conflicts with it. */
int pass_apply_globals(Pass *p) {
        Sched *s = &p->s;
        int r;

        for (uint32_t g = 0; g < s->n_globals; g++) {
                uint32_t j = s->globals[g], n = s->n_machines;
                const uint32_t *members = NULL;
                MachineHeap *pool;

                if (s->jobs[j].pool != SCHED_NONE) {
                        r = sched_pool(s, s->jobs[j].pool, &pool);
                        if (r < 0)
                                return r;
                        members = pool->members;
                        n = pool->n;
                }
                for (uint32_t i = 0; i < n; i++) {
                        uint32_t m = members ? members[i] : i;

                        if (sched_conflicts_on(s, j, m))
                                continue;
                        r = sched_apply_global(s, g, m);
                        if (r < 0)
                                return r;
                }
        }
        return 0;
}

/* Apply the globals on m again, from scratch. *ret_changed: whether any applies differently. */
static int refresh_globals(Pass *p, uint32_t m, bool *ret_changed) {
        Sched *s = &p->s;
        bool changed = false;
        int r;

        for (uint32_t g = 0; g < s->n_globals; g++) {
                p->was[g] = sched_global_applies(s, g, m);
                if (p->was[g])
                        sched_unapply_global(s, g, m);
        }
        for (uint32_t g = 0; g < s->n_globals; g++) {
                if (global_fits(s, g, m)) {
                        r = sched_apply_global(s, g, m);
                        if (r < 0)
                                return r;
                }
                changed = changed || p->was[g] != sched_global_applies(s, g, m);
        }
        *ret_changed = changed;
        return 0;
}

/*
 * Units that left a machine may have kept a global unit off it; now it applies, and may keep a
 * later global off in turn, whose MachineOf followers there must then go too (and, requeue, be
 * placed again). Repeat per machine until its globals settle (each round removes units, so
 * this ends).
 */
int pass_settle_globals(Pass *p, bool requeue) {
        Sched *s = &p->s;
        int r;

        for (uint32_t m = 0; m < s->n_machines; m++)
                while (p->dirty[m]) {
                        uint32_t n = 0;
                        bool changed;

                        p->dirty[m] = false;
                        r = refresh_globals(p, m, &changed);
                        if (r < 0)
                                return r;
                        if (!changed)
                                break;
                        for (uint32_t u = s->machines[m].head; u != SCHED_NONE; u = s->jobs[u].next)
                                p->on[n++] = u;
                        for (uint32_t i = 0; i < n; i++) {
                                uint32_t u = p->on[i];
                                SchedCheck c;
                                char *reason;

                                if (s->jobs[u].machine != m ||
                                    sched_check(s, u, m, false, false, &c))
                                        continue;
                                r = sched_reason_check(s, u, &c, &reason);
                                if (r < 0)
                                        return r;
                                r = pass_take_off_tree(p, u, reason, requeue);
                                if (r < 0)
                                        return r;
                        }
                }
        return 0;
}
