/* SPDX-License-Identifier: MIT */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scheduler-index.h"
#include "scheduler-pass.h"
#include "scheduler-place.h"
#include "scheduler-reason.h"

/* j cannot be placed: keep the reason (owned) for the result. */
static int give_up(Pass *p, uint32_t j, char *reason) {
        if (!reason)
                return -ENOMEM;
        free(p->s.jobs[j].reason);
        p->s.jobs[j].reason = reason;
        return pass_resolve(p, j);
}

/* Look at j's MachineOf peers before any machine: 1 with the index of its first non-global and
 * first global peer (SCHED_NONE if none), 0 with a reason if a peer rules out every machine,
 * -ENOMEM. */
static int check_peers(Pass *p, uint32_t j, uint32_t *ret_local, uint32_t *ret_global,
                       char **ret_reason) {
        const Sched *s = &p->s;
        const SchedJob *job = &s->jobs[j];
        uint32_t local = SCHED_NONE, global = SCHED_NONE;

        for (uint32_t i = 0; i < job->n_peers; i++) {
                const SchedPeer *peer = &s->peers[job->peers_at + i];
                const SchedJob *q = peer->job == SCHED_NONE ? NULL : &s->jobs[peer->job];
                const char *why;

                if (!q)
                        why = "does not exist";
                else if (!q->active)
                        why = "is inactive";
                else if (!q->is_global && q->machine == SCHED_NONE)
                        why = "is not scheduled";
                else {
                        if (q->is_global && global == SCHED_NONE)
                                global = i;
                        if (!q->is_global && local == SCHED_NONE)
                                local = i;
                        continue;
                }
                *ret_reason = sched_strdup_printf("required peer Unit(%s) %s", peer->name, why);
                return *ret_reason ? 0 : -ENOMEM;
        }
        *ret_local = local;
        *ret_global = global;
        return 1;
}

/* (load, index) order, as in the pools' heaps. */
static uint64_t load_key(const Sched *s, uint32_t m) {
        return (uint64_t) s->load[m] << 32 | m;
}

/* The least-loaded machine of list (lowest index on a tie) able to run j; the others are
 * tallied. SCHED_NONE if none. */
static uint32_t scan(Pass *p, uint32_t j, const uint32_t *list, uint32_t n, SchedTally *t) {
        const Sched *s = &p->s;
        uint32_t best = SCHED_NONE;

        for (uint32_t i = 0; i < n; i++) {
                uint32_t m = list[i];
                SchedCheck c;

                if (!sched_check(s, j, m, false, true, &c)) {
                        sched_tally_add(t, &c, 1);
                        continue;
                }
                if (best == SCHED_NONE || load_key(s, m) < load_key(s, best))
                        best = m;
        }
        return best;
}

/* Walk a pool from its least-loaded machine and stop at the first one able to run j. */
static int walk(Pass *p, uint32_t j, const MachineHeap *h, bool skip_metadata, SchedTally *t,
                uint32_t *ret) {
        Sched *s = &p->s;
        uint32_t m;
        int r;

        r = machine_heap_iter_start(h, &s->iter);
        while (r >= 0) {
                SchedCheck c;

                r = machine_heap_iter_next(h, &s->iter, &m);
                if (r <= 0)
                        break;
                if (sched_check(s, j, m, skip_metadata, true, &c)) {
                        *ret = m;
                        return 0;
                }
                sched_tally_add(t, &c, 1);
        }
        *ret = SCHED_NONE;
        return r;
}

/* The machines where global number g applies, ascending. */
static int global_machines(const Sched *s, uint32_t g, uint32_t **ret, uint32_t *ret_n) {
        uint32_t *l = malloc(MAX(s->n_machines, 1u) * sizeof(uint32_t)), n = 0;

        if (!l)
                return -ENOMEM;
        for (uint32_t m = 0; m < s->n_machines; m++)
                if (sched_global_applies(s, g, m))
                        l[n++] = m;
        *ret = l;
        *ret_n = n;
        return 0;
}

/* Evict the units on m that j replaces (6.6): they, and their followers, go back into the
 * queue. sched_check() made sure none of them was evicted before in this pass. */
static int evict_replaced(Pass *p, uint32_t j, uint32_t m) {
        Sched *s = &p->s;
        bool evicted = false;
        int r;

        if (s->jobs[j].n_rpats == 0)
                return 0;
        for (;;) {
                uint32_t u;

                for (u = s->machines[m].head; u != SCHED_NONE; u = s->jobs[u].next)
                        if (u != j && s->jobs[u].active && sched_replaces(s, j, u))
                                break;
                if (u == SCHED_NONE)
                        break;
                assert(!s->jobs[u].evicted);
                s->jobs[u].evicted = p->evicted = evicted = true;
                r = pass_take_off_tree(
                        p, u, sched_strdup_printf("replaced by Unit(%s)", sched_job_name(s, j)),
                        true);
                if (r < 0)
                        return r;
        }
        return evicted ? pass_settle_globals(p, true) : 0;
}

/* Where to look for a machine for j, and what to say about the outcome. */
typedef struct Source {
        uint32_t *list; /* explicit candidates (owned), or NULL: walk heap */
        uint32_t n;
        const MachineHeap *heap;
        bool skip_metadata;
        SchedCheck outside; /* how the machines not among the candidates fail */
} Source;

static int choose_source(Pass *p, uint32_t j, uint32_t local, uint32_t global, Source *ret) {
        Sched *s = &p->s;
        const XFleet *x = sched_job_xfleet(s, j);
        Source src = {.outside = {.machine = SCHED_NONE}};
        MachineHeap *h;
        int r;

        if (x && x->machine_id) {
                uint32_t lo, hi;

                sched_machine_id_range(s, x->machine_id, &lo, &hi);
                src.list = malloc(MAX(hi - lo, 1u) * sizeof(uint32_t));
                if (!src.list)
                        return -ENOMEM;
                for (uint32_t m = lo; m < hi; m++)
                        src.list[src.n++] = m;
                src.outside.fail = SCHED_FAIL_MACHINE_ID;
        } else if (local != SCHED_NONE || global != SCHED_NONE) {
                uint32_t q =
                        s->peers[s->jobs[j].peers_at + (local != SCHED_NONE ? local : global)].job;

                if (local != SCHED_NONE) {
                        src.list = malloc(sizeof(uint32_t));
                        if (!src.list)
                                return -ENOMEM;
                        src.list[src.n++] = s->jobs[q].machine;
                } else {
                        r = global_machines(s, s->jobs[q].global, &src.list, &src.n);
                        if (r < 0)
                                return r;
                }
                src.outside = (SchedCheck){SCHED_FAIL_PEER, SCHED_NONE,
                                           local != SCHED_NONE ? local : global};
        } else {
                uint32_t pool = s->jobs[j].pool == SCHED_NONE ? 0 : s->jobs[j].pool;

                r = sched_pool(s, pool, &h);
                if (r < 0)
                        return r;
                src.heap = h;
                src.n = h->n;
                src.skip_metadata = pool != 0;
                src.outside.fail = SCHED_FAIL_METADATA;
        }
        *ret = src;
        return 0;
}

/* Why the candidates of src could not take j. */
static int failure_reason(Pass *p, uint32_t j, const Source *src, SchedTally *t, char **ret) {
        Sched *s = &p->s;
        const XFleet *x = sched_job_xfleet(s, j);
        _cleanup_free_ char *detail = NULL;
        SchedCheck c;
        int r;

        if (src->list && src->n == 0 && src->outside.fail == SCHED_FAIL_MACHINE_ID)
                *ret = sched_strdup_printf("no live machine matches MachineID=%s", x->machine_id);
        else if (src->list && src->n == 1 && !sched_check(s, j, src->list[0], false, true, &c)) {
                r = sched_reason_check(s, j, &c, &detail);
                if (r < 0)
                        return r;
                if (src->outside.fail == SCHED_FAIL_MACHINE_ID)
                        *ret = sched_strdup_printf("unable to run on Machine(%s), required by "
                                                   "MachineID=%s: %s",
                                                   sched_machine_id(s, c.machine), x->machine_id,
                                                   detail);
                else
                        *ret = sched_strdup_printf(
                                "unable to run on Machine(%s) with its MachineOf "
                                "peer Unit(%s): %s",
                                sched_machine_id(s, c.machine),
                                s->peers[s->jobs[j].peers_at + src->outside.aux].name, detail);
        } else {
                sched_tally_add(t, &src->outside, s->n_machines - src->n);
                return sched_reason_tally(s, j, t, ret);
        }
        return *ret ? 0 : -ENOMEM;
}

static char *success_reason(Pass *p, uint32_t j, const Source *src, uint32_t m) {
        Sched *s = &p->s;
        const SchedJob *job = &s->jobs[j];
        SchedPool *pool;

        if (src->outside.fail == SCHED_FAIL_MACHINE_ID)
                return sched_strdup_printf("required by MachineID=%s",
                                           sched_job_xfleet(s, j)->machine_id);
        if (src->outside.fail == SCHED_FAIL_PEER) {
                const SchedPeer *peer = &s->peers[job->peers_at + src->outside.aux];

                if (!s->jobs[peer->job].is_global)
                        return sched_strdup_printf("follows MachineOf peer Unit(%s)", peer->name);
                return sched_strdup_printf("least-loaded machine running its global MachineOf peer "
                                           "Unit(%s) (load %" PRIu32 ")",
                                           peer->name, s->load[m]);
        }
        if (!src->skip_metadata)
                return sched_reason_with_load("least-loaded machine able to run it", s->load[m]);
        pool = &s->pools[job->pool];
        if (!pool->description) {
                _cleanup_free_ char *md = NULL;

                if (sched_reason_metadata(sched_job_xfleet(s, j), &md) < 0)
                        return NULL;
                pool->description =
                        sched_strdup_printf("least-loaded machine with MachineMetadata %s", md);
                if (!pool->description)
                        return NULL;
        }
        return sched_reason_with_load(pool->description, s->load[m]);
}

static int place(Pass *p, uint32_t j) {
        uint32_t local, global, best;
        SchedTally t = {};
        Source src = {};
        char *reason;
        int r;

        if (p->s.jobs[j].lingering)
                return give_up(
                        p, j,
                        sched_strdup_printf("waiting for its copy on draining Machine(%s) "
                                            "to stop",
                                            sched_machine_id(&p->s, p->s.jobs[j].lingering_on)));
        r = check_peers(p, j, &local, &global, &reason);
        if (r <= 0)
                return r < 0 ? r : give_up(p, j, reason);
        r = choose_source(p, j, local, global, &src);
        if (r < 0)
                return r;
        if (src.list) {
                best = scan(p, j, src.list, src.n, &t);
                r = 0;
        } else
                r = walk(p, j, src.heap, src.skip_metadata, &t, &best);
        if (r >= 0 && best == SCHED_NONE) {
                r = failure_reason(p, j, &src, &t, &reason);
                if (r >= 0)
                        r = give_up(p, j, reason);
        } else if (r >= 0) {
                r = pass_put_on(p, j, best, success_reason(p, j, &src, best));
                if (r >= 0)
                        r = pass_resolve(p, j);
                if (r >= 0)
                        r = evict_replaced(p, j, best);
        }
        free(src.list);
        return r;
}

/* ---- MachineOf cycles ------------------------------------------------------------------------ */

/* A job left waiting after phase 2 waits for a leader that waits too: the one it follows. */
static uint32_t stuck_next(const Sched *s, uint32_t j) {
        const SchedJob *job = &s->jobs[j];

        for (uint32_t i = 0; i < job->n_peers; i++) {
                uint32_t q = s->peers[job->peers_at + i].job;

                if (q != SCHED_NONE && s->jobs[q].pending && !s->jobs[q].is_global)
                        return q;
        }
        assert_se(!"a waiting job without a waiting leader");
        return SCHED_NONE;
}

/* "circular MachineOf dependency: a -> b -> a", starting at cycle[start], at most 8 names. */
static char *cycle_reason(const Sched *s, const uint32_t *cycle, size_t n, size_t start) {
        char *buf = NULL;
        size_t size = 0;
        FILE *f = open_memstream(&buf, &size);
        bool failed;

        if (!f)
                return NULL;
        fputs("circular MachineOf dependency: ", f);
        for (size_t k = 0; k < MIN(n, (size_t) 8); k++)
                fprintf(f, "%s -> ", sched_job_name(s, cycle[(start + k) % n]));
        if (n > 8)
                fputs("... -> ", f);
        fputs(sched_job_name(s, cycle[start]), f);
        if (n > 8)
                fprintf(f, " (%zu units)", n);
        failed = ferror(f);
        if (fclose(f) != 0 || failed) {
                free(buf);
                return NULL;
        }
        return buf;
}

/* The jobs still waiting are in, or wait for, a MachineOf cycle: following each one's waiting
 * leader leads into a cycle. Give each a reason, visiting every job once. */
static int give_up_stuck(Pass *p) {
        Sched *s = &p->s;
        _cleanup_free_ uint8_t *color = calloc(MAX(s->n_jobs, 1u), 1); /* 1 on path, 2 done */
        _cleanup_free_ uint32_t *path = malloc(MAX(s->n_jobs, 1u) * sizeof(uint32_t));

        if (!color || !path)
                return -ENOMEM;
        for (uint32_t j = 0; j < s->n_jobs; j++) {
                size_t n = 0, start;
                uint32_t x;

                if (!s->jobs[j].pending || color[j] != 0)
                        continue;
                for (x = j; color[x] == 0; x = stuck_next(s, x)) {
                        color[x] = 1;
                        path[n++] = x;
                }
                /* If x is on this path, path[start..n) is a new cycle. */
                start = n;
                if (color[x] == 1)
                        for (start = 0; path[start] != x; start++)
                                ;
                for (size_t k = 0; k < n; k++) {
                        char *reason = k >= start
                                               ? cycle_reason(s, path + start, n - start, k - start)
                                               : sched_strdup_printf(
                                                         "required peer Unit(%s) waits "
                                                         "on a circular MachineOf "
                                                         "dependency",
                                                         sched_job_name(s, stuck_next(s, path[k])));

                        if (!reason)
                                return -ENOMEM;
                        free(s->jobs[path[k]].reason);
                        s->jobs[path[k]].reason = reason;
                        color[path[k]] = 2;
                }
        }
        for (uint32_t j = 0; j < s->n_jobs; j++)
                s->jobs[j].pending = false;
        return 0;
}

int pass_place_all(Pass *p) {
        Sched *s = &p->s;
        int r;

        for (uint32_t j = 0; j < s->n_jobs; j++)
                s->jobs[j].pending = s->jobs[j].active && !s->jobs[j].is_global &&
                                     s->jobs[j].machine == SCHED_NONE;
        for (uint32_t j = 0; j < s->n_jobs; j++) {
                SchedJob *job = &s->jobs[j];

                if (!job->pending)
                        continue;
                for (uint32_t i = 0; i < job->n_peers; i++) {
                        uint32_t q = s->peers[job->peers_at + i].job;

                        if (q != SCHED_NONE && s->jobs[q].pending)
                                job->waiting++;
                }
                if (job->waiting == 0) {
                        r = pass_ready_push(p, j);
                        if (r < 0)
                                return r;
                }
        }
        for (;;) {
                while (p->n_ready > 0) {
                        uint32_t j = pass_ready_pop(p);

                        if (!s->jobs[j].pending || s->jobs[j].waiting > 0)
                                continue;
                        r = place(p, j);
                        if (r < 0)
                                return r;
                }
                /* An eviction may have freed a machine for a job that found none: try those
                 * again. Each unit is evicted at most once per pass, so this ends. */
                if (!p->evicted)
                        break;
                p->evicted = false;
                for (uint32_t j = 0; j < s->n_jobs; j++) {
                        SchedJob *job = &s->jobs[j];

                        if (!job->active || job->is_global || job->machine != SCHED_NONE ||
                            job->pending)
                                continue;
                        r = pass_make_pending(p, j);
                        if (r < 0)
                                return r;
                }
        }
        return give_up_stuck(p);
}
