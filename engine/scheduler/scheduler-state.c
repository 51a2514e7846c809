/* SPDX-License-Identifier: MIT */
#include <stdlib.h>
#include <string.h>

#include "scheduler-index.h"
#include "scheduler-state.h"
#include "strv.h"

static bool sorted_contains(const uint32_t *l, uint32_t n, uint32_t x) {
        uint32_t lo = 0, hi = n;

        while (lo < hi) {
                uint32_t mid = lo + (hi - lo) / 2;

                if (l[mid] == x)
                        return true;
                if (l[mid] < x)
                        lo = mid + 1;
                else
                        hi = mid;
        }
        return false;
}

static bool sorted_intersect(const uint32_t *a, uint32_t na, const uint32_t *b, uint32_t nb) {
        uint32_t i = 0, k = 0;

        while (i < na && k < nb) {
                if (a[i] == b[k])
                        return true;
                if (a[i] < b[k])
                        i++;
                else
                        k++;
        }
        return false;
}

static uint64_t count_key(uint32_t m, uint32_t g) {
        return (uint64_t) m << 32 | g;
}

static const uint32_t *job_cpats(const Sched *s, uint32_t j) {
        return s->pats + s->jobs[j].pats_at;
}
static const uint32_t *job_rpats(const Sched *s, uint32_t j) {
        return s->pats + s->jobs[j].pats_at + s->jobs[j].n_cpats;
}
static const uint32_t *job_cmatch(const Sched *s, uint32_t j) {
        return s->match + s->jobs[j].match_at;
}
static const uint32_t *job_rmatch(const Sched *s, uint32_t j) {
        return s->match + s->jobs[j].match_at + s->jobs[j].n_cmatch;
}

bool sched_conflicts(const Sched *s, uint32_t a, uint32_t b) {
        const SchedJob *x = &s->jobs[a], *y = &s->jobs[b];

        if (a == b)
                return false;
        return sorted_intersect(job_cpats(s, a), x->n_cpats, job_cmatch(s, b), y->n_cmatch) ||
               sorted_intersect(job_cpats(s, b), y->n_cpats, job_cmatch(s, a), x->n_cmatch);
}

bool sched_replaces(const Sched *s, uint32_t a, uint32_t b) {
        const SchedJob *x = &s->jobs[a], *y = &s->jobs[b];

        if (a == b)
                return false;
        /* Mutual replacement is ignored (6.6). */
        return sorted_intersect(job_rpats(s, a), x->n_rpats, job_rmatch(s, b), y->n_rmatch) &&
               !sorted_intersect(job_rpats(s, b), y->n_rpats, job_rmatch(s, a), x->n_rmatch);
}

/* ---- the current placement ---------------------------------------------------------------- */

void sched_defer_heaps(Sched *s) {
        s->heaps_deferred = true;
}

void sched_resume_heaps(Sched *s) {
        s->heaps_deferred = false;
        for (uint32_t p = 0; p < s->n_pools; p++)
                if (s->pools[p].built)
                        machine_heap_rebuild(&s->pools[p].heap);
}

static void heaps_update(Sched *s, uint32_t m) {
        const SchedMachine *sm = &s->machines[m];

        if (s->heaps_deferred)
                return;
        machine_heap_update(&s->pools[0].heap, m); /* pool 0: slot == machine index */
        for (uint32_t i = 0; i < sm->n_pools; i += 2)
                machine_heap_update(&s->pools[sm->pools[i]].heap, sm->pools[i + 1]);
}

/* The i-th of job j's pattern counters on m: held groups first, then matching groups. */
static uint32_t counter_group(const Sched *s, uint32_t j, uint32_t i, bool *ret_held) {
        const SchedJob *job = &s->jobs[j];
        uint32_t n_held = job->n_cpats + job->n_rpats;

        *ret_held = i < n_held;
        return i < n_held ? s->pats[job->pats_at + i] : s->match[job->match_at + i - n_held];
}

static uint32_t counter_count(const Sched *s, uint32_t j) {
        const SchedJob *job = &s->jobs[j];

        return job->n_cpats + job->n_rpats + job->n_cmatch + job->n_rmatch;
}

static void counts_sub(Sched *s, uint32_t j, uint32_t m, uint32_t n) {
        for (uint32_t i = 0; i < n; i++) {
                bool held;
                uint32_t g = counter_group(s, j, i, &held);
                GroupCount *c = (GroupCount *) count_map_get(&s->counts, count_key(m, g));

                assert(c);
                if (held)
                        c->hold--;
                else
                        c->match--;
        }
}

static int counts_add(Sched *s, uint32_t j, uint32_t m) {
        uint32_t n = counter_count(s, j);
        int r;

        for (uint32_t i = 0; i < n; i++) {
                bool held;
                uint32_t g = counter_group(s, j, i, &held);
                GroupCount *c;

                r = count_map_get_or_add(&s->counts, count_key(m, g), &c);
                if (r < 0) {
                        counts_sub(s, j, m, i);
                        return r;
                }
                if (held)
                        c->hold++;
                else
                        c->match++;
        }
        return 0;
}

int sched_attach(Sched *s, uint32_t j, uint32_t m) {
        SchedJob *job = &s->jobs[j];
        int r;

        assert(job->machine == SCHED_NONE);
        assert(!job->is_global);
        r = counts_add(s, j, m);
        if (r < 0)
                return r;
        job->machine = m;
        job->prev = SCHED_NONE;
        job->next = s->machines[m].head;
        if (job->next != SCHED_NONE)
                s->jobs[job->next].prev = j;
        s->machines[m].head = j;
        if (job->active) {
                s->load[m]++;
                heaps_update(s, m);
        }
        return 0;
}

void sched_detach(Sched *s, uint32_t j) {
        SchedJob *job = &s->jobs[j];
        uint32_t m = job->machine;

        assert(m != SCHED_NONE);
        counts_sub(s, j, m, counter_count(s, j));
        if (job->prev != SCHED_NONE)
                s->jobs[job->prev].next = job->next;
        else
                s->machines[m].head = job->next;
        if (job->next != SCHED_NONE)
                s->jobs[job->next].prev = job->prev;
        job->machine = job->prev = job->next = SCHED_NONE;
        if (job->active) {
                s->load[m]--;
                heaps_update(s, m);
        }
}

int sched_apply_global(Sched *s, uint32_t g, uint32_t m) {
        int r;

        assert(g < s->n_globals);
        r = counts_add(s, s->globals[g], m);
        if (r < 0)
                return r;
        s->applies[g * s->words + m / 64] |= UINT64_C(1) << (m % 64);
        s->load[m]++;
        heaps_update(s, m);
        return 0;
}

void sched_unapply_global(Sched *s, uint32_t g, uint32_t m) {
        assert(sched_global_applies(s, g, m));
        counts_sub(s, s->globals[g], m, counter_count(s, s->globals[g]));
        s->applies[g * s->words + m / 64] &= ~(UINT64_C(1) << (m % 64));
        s->load[m]--;
        heaps_update(s, m);
}

bool sched_global_applies(const Sched *s, uint32_t g, uint32_t m) {
        return s->applies[g * s->words + m / 64] & UINT64_C(1) << (m % 64);
}

bool sched_in_view(const Sched *s, uint32_t p, uint32_t m) {
        const SchedJob *job;

        if (p == SCHED_NONE)
                return false;
        job = &s->jobs[p];
        if (!job->active)
                return false;
        if (job->is_global)
                return sched_global_applies(s, job->global, m);
        return job->machine == m;
}

/* Count of units on m, other than j, for which group g (one of j's) counts. */
static uint32_t others(const Sched *s, uint32_t j, uint32_t m, uint32_t g, bool held) {
        const GroupCount *c = count_map_get(&s->counts, count_key(m, g));
        const SchedJob *job = &s->jobs[j];
        uint32_t n, self = 0;

        if (!c)
                return 0;
        n = held ? c->hold : c->match;
        if (job->machine == m && !job->is_global)
                self = held ? sorted_contains(s->pats + job->pats_at, job->n_cpats + job->n_rpats,
                                              g)
                            : sorted_contains(s->match + job->match_at,
                                              job->n_cmatch + job->n_rmatch, g);
        assert(n >= self);
        return n - self;
}

bool sched_conflicts_on(const Sched *s, uint32_t j, uint32_t m) {
        const SchedJob *job = &s->jobs[j];

        /* j's patterns against the names there, then their patterns against j's name. */
        for (uint32_t i = 0; i < job->n_cpats; i++)
                if (others(s, j, m, job_cpats(s, j)[i], false) > 0)
                        return true;
        for (uint32_t i = 0; i < job->n_cmatch; i++)
                if (others(s, j, m, job_cmatch(s, j)[i], true) > 0)
                        return true;
        return false;
}

uint32_t sched_find_conflicting(const Sched *s, uint32_t j, uint32_t m) {
        for (uint32_t u = s->machines[m].head; u != SCHED_NONE; u = s->jobs[u].next)
                if (s->jobs[u].active && sched_conflicts(s, j, u))
                        return u;
        for (uint32_t g = 0; g < s->n_globals; g++)
                if (sched_global_applies(s, g, m) && sched_conflicts(s, j, s->globals[g]))
                        return s->globals[g];
        return SCHED_NONE;
}

/* A unit on m that replaces j (REPLACED), or that j replaces but that was displaced once in
 * this pass already (DISPLACE, when placing: a unit moves for Replaces at most once per pass,
 * which bounds the pass). SCHED_NONE if none. */
static uint32_t find_replace_relation(const Sched *s, uint32_t j, uint32_t m, bool placing,
                                      SchedFail *ret_fail) {
        const SchedJob *job = &s->jobs[j];
        bool replaced = false, displaces = false;

        for (uint32_t i = 0; i < job->n_rmatch && !replaced; i++)
                replaced = others(s, j, m, job_rmatch(s, j)[i], true) > 0;
        for (uint32_t i = 0; placing && i < job->n_rpats && !displaces; i++)
                displaces = others(s, j, m, job_rpats(s, j)[i], false) > 0;
        if (!replaced && !displaces)
                return SCHED_NONE;

        /* Candidates exist: find the actual unit (rare: Replaces is seldom used). */
        for (uint32_t u = s->machines[m].head; u != SCHED_NONE; u = s->jobs[u].next) {
                const SchedJob *other = &s->jobs[u];

                if (u == j || !other->active)
                        continue;
                if (replaced && sched_replaces(s, u, j)) {
                        *ret_fail = SCHED_FAIL_REPLACED;
                        return u;
                }
                if (displaces && sched_replaces(s, j, u) && other->evicted) {
                        *ret_fail = SCHED_FAIL_DISPLACE;
                        return u;
                }
        }
        return SCHED_NONE;
}

bool sched_check(const Sched *s, uint32_t j, uint32_t m, bool skip_metadata, bool placing,
                 SchedCheck *ret) {
        const XFleet *x = sched_job_xfleet(s, j);
        const SchedJob *job = &s->jobs[j];
        SchedFail fail = SCHED_OK;
        uint32_t aux = SCHED_NONE;

        if (x && x->machine_id && !sched_machine_id_matches(sched_machine_id(s, m), x->machine_id))
                fail = SCHED_FAIL_MACHINE_ID;
        else if (!skip_metadata && job->pool != SCHED_NONE && !sched_metadata_ok(s, x, m))
                fail = SCHED_FAIL_METADATA;
        else {
                for (uint32_t i = 0; i < job->n_peers && fail == SCHED_OK; i++)
                        if (!sched_in_view(s, s->peers[job->peers_at + i].job, m)) {
                                fail = SCHED_FAIL_PEER;
                                aux = i;
                        }
        }
        if (fail == SCHED_OK && sched_conflicts_on(s, j, m))
                fail = SCHED_FAIL_CONFLICT;
        if (fail == SCHED_OK && job->n_rmatch + job->n_rpats > 0)
                aux = find_replace_relation(s, j, m, placing, &fail);
        if (fail == SCHED_OK && placing && sched_machine_cordoned(s, m))
                fail = SCHED_FAIL_CORDONED;
        if (fail == SCHED_OK)
                return true;
        *ret = (SchedCheck){.fail = fail, .machine = m, .aux = aux};
        return false;
}
