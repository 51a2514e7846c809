/* SPDX-License-Identifier: MIT */
#include <stdlib.h>
#include <string.h>

#include "glob.h"
#include "scheduler-index.h"
#include "scheduler-state.h"
#include "strv.h"

/* ---- small helpers ---------------------------------------------------------------------- */

typedef struct PairVec {
        uint64_t *v; /* (a << 32 | b) */
        size_t n, allocated;
} PairVec;

static int pair_push(PairVec *p, uint32_t a, uint32_t b) {
        if (p->n >= p->allocated) {
                size_t n = MAX(p->allocated * 2, (size_t) 64);
                uint64_t *v = reallocarray(p->v, n, sizeof(uint64_t));

                if (!v)
                        return -ENOMEM;
                p->v = v;
                p->allocated = n;
        }
        p->v[p->n++] = (uint64_t) a << 32 | b;
        return 0;
}

static int u64_cmp(const void *a, const void *b) {
        uint64_t x = *(const uint64_t *) a, y = *(const uint64_t *) b;

        return x < y ? -1 : x > y;
}

/*
 * Turn pairs (a, b) into adjacency lists: sort, drop duplicates, and store the b values in
 * *ret_flat, with a's list at (*at)[a], of length (*len)[a] (at, len: arrays of n_a, zeroed by
 * the caller). 0 or -ENOMEM. Consumes p.
 */
static int csr_build(PairVec *p, uint32_t n_a, uint32_t *at, uint32_t *len, uint32_t **ret_flat) {
        uint32_t *flat;
        size_t k = 0;

        sort_unless_sorted(p->v, p->n, sizeof(uint64_t), u64_cmp);
        flat = malloc(MAX(p->n, (size_t) 1) * sizeof(uint32_t));
        if (!flat) {
                free(p->v);
                *p = (PairVec){};
                return -ENOMEM;
        }
        for (size_t i = 0; i < p->n; i++) {
                uint32_t a = p->v[i] >> 32;

                if (i > 0 && p->v[i] == p->v[i - 1])
                        continue;
                assert(a < n_a);
                if (len[a] == 0)
                        at[a] = k;
                len[a]++;
                flat[k++] = (uint32_t) p->v[i];
        }
        free(p->v);
        *p = (PairVec){};
        *ret_flat = flat;
        return 0;
}

static int u32_cmp(const void *a, const void *b) {
        uint32_t x = *(const uint32_t *) a, y = *(const uint32_t *) b;

        return x < y ? -1 : x > y;
}

/* Drop adjacent duplicates from a sorted array; returns the new length. */
static uint32_t unique_u32(uint32_t *a, uint32_t n) {
        uint32_t k = 0;

        for (uint32_t i = 0; i < n; i++)
                if (k == 0 || a[k - 1] != a[i])
                        a[k++] = a[i];
        return k;
}

/* ---- sorting and lookups ---------------------------------------------------------------- */

void sort_unless_sorted(void *base, size_t n, size_t size, int (*cmp)(const void *, const void *)) {
        /* The engine lists etcd keys, which come sorted: then one linear check is enough. */
        for (size_t i = 1; i < n; i++)
                if (cmp((const char *) base + (i - 1) * size, (const char *) base + i * size) > 0) {
                        qsort_safe(base, n, size, cmp);
                        return;
                }
}

static int job_ptr_cmp(const void *a, const void *b) {
        const SnapshotJob *x = *(const SnapshotJob *const *) a,
                          *y = *(const SnapshotJob *const *) b;

        return strcmp(x->name, y->name);
}

static int machine_ptr_cmp(const void *a, const void *b) {
        const SnapshotMachine *x = *(const SnapshotMachine *const *) a;
        const SnapshotMachine *y = *(const SnapshotMachine *const *) b;

        return strcmp(x->id, y->id);
}

/* FNV-1a. */
static uint32_t name_hash(const char *name) {
        uint32_t h = 2166136261u;

        for (const unsigned char *c = (const unsigned char *) name; *c; c++)
                h = (h ^ *c) * 16777619u;
        return h;
}

uint32_t sched_find_job(const Sched *s, const char *name) {
        uint32_t h = name_hash(name);

        /* Entries are (hash << 32 | job): compare hashes before touching any name. */
        for (uint32_t i = h & s->names_mask;; i = (i + 1) & s->names_mask) {
                uint64_t e = s->names[i];

                if (e == UINT64_MAX)
                        return SCHED_NONE;
                if ((uint32_t) (e >> 32) == h && streq(sched_job_name(s, (uint32_t) e), name))
                        return (uint32_t) e;
        }
}

/* The table behind sched_find_job(): O(1) lookups, since every schedule entry and MachineOf
 * peer is looked up by name. At most half full. */
static int init_names(Sched *s) {
        size_t size = 16;

        while (size < (size_t) s->n_jobs * 2)
                size *= 2;
        s->names = malloc(size * sizeof(uint64_t));
        if (!s->names)
                return -ENOMEM;
        s->names_mask = size - 1;
        for (size_t i = 0; i < size; i++)
                s->names[i] = UINT64_MAX;
        for (uint32_t j = 0; j < s->n_jobs; j++) {
                uint32_t h = name_hash(sched_job_name(s, j)), i = h & s->names_mask;

                while (s->names[i] != UINT64_MAX)
                        i = (i + 1) & s->names_mask;
                s->names[i] = (uint64_t) h << 32 | j;
        }
        return 0;
}

uint32_t sched_find_machine(const Sched *s, const char *id) {
        uint32_t lo = 0, hi = s->n_machines;

        while (lo < hi) {
                uint32_t mid = lo + (hi - lo) / 2;
                int c = strcmp(id, sched_machine_id(s, mid));

                if (c == 0)
                        return mid;
                if (c < 0)
                        hi = mid;
                else
                        lo = mid + 1;
        }
        return SCHED_NONE;
}

/* First machine whose ID, cut to n characters, is >= req cut to n. */
static uint32_t machine_lower_bound(const Sched *s, const char *req, size_t n) {
        uint32_t lo = 0, hi = s->n_machines;

        while (lo < hi) {
                uint32_t mid = lo + (hi - lo) / 2;

                if (strncmp(sched_machine_id(s, mid), req, n) < 0)
                        lo = mid + 1;
                else
                        hi = mid;
        }
        return lo;
}

bool sched_machine_id_matches(const char *id, const char *req) {
        /* fleet's MatchID: the full ID, or the short ID (the first 8 characters). */
        return streq(id, req) || (strlen(req) == 8 && strlen(id) > 8 && strneq(id, req, 8));
}

void sched_machine_id_range(const Sched *s, const char *req, uint32_t *ret_lo, uint32_t *ret_hi) {
        size_t n = strlen(req);
        uint32_t lo = machine_lower_bound(s, req, n + 1), hi = lo;

        if (n == 8) {
                /* Every ID that starts with req matches: as a short ID, or exactly. */
                lo = machine_lower_bound(s, req, n);
                hi = lo;
                while (hi < s->n_machines && strneq(sched_machine_id(s, hi), req, n))
                        hi++;
        } else if (hi < s->n_machines && streq(sched_machine_id(s, hi), req))
                hi++;
        *ret_lo = lo;
        *ret_hi = hi;
}

static int init_sorted(Sched *s, const ClusterSnapshot *snap) {
        _cleanup_free_ const SnapshotJob **jobs = NULL;
        _cleanup_free_ const SnapshotMachine **machines = NULL;

        if (snap->n_jobs >= SCHED_NONE || snap->n_machines >= SCHED_NONE)
                return -E2BIG;
        s->n_jobs = snap->n_jobs;
        s->n_machines = snap->n_machines;
        jobs = calloc(MAX(s->n_jobs, 1u), sizeof(*jobs));
        machines = calloc(MAX(s->n_machines, 1u), sizeof(*machines));
        s->jobs = calloc(MAX(s->n_jobs, 1u), sizeof(SchedJob));
        s->machines = calloc(MAX(s->n_machines, 1u), sizeof(SchedMachine));
        s->load = calloc(MAX(s->n_machines, 1u), sizeof(uint32_t));
        if (!jobs || !machines || !s->jobs || !s->machines || !s->load)
                return -ENOMEM;

        for (uint32_t i = 0; i < s->n_jobs; i++)
                jobs[i] = &snap->jobs[i];
        sort_unless_sorted(jobs, s->n_jobs, sizeof(*jobs), job_ptr_cmp);
        for (uint32_t i = 0; i < s->n_jobs; i++) {
                if (i > 0 && streq(jobs[i]->name, jobs[i - 1]->name))
                        return -EEXIST;
                s->jobs[i] = (SchedJob){
                        .sj = jobs[i],
                        .base = SCHED_NONE,
                        .machine = SCHED_NONE,
                        .prev = SCHED_NONE,
                        .next = SCHED_NONE,
                        .pool = SCHED_NONE,
                        .global = SCHED_NONE,
                        .unsched_decision = SCHED_NONE,
                        .sched_decision = SCHED_NONE,
                        .is_global = snapshot_job_is_global(jobs[i]),
                        .active = jobs[i]->state != JOB_STATE_INACTIVE,
                };
        }

        for (uint32_t i = 0; i < s->n_machines; i++)
                machines[i] = &snap->machines[i];
        sort_unless_sorted(machines, s->n_machines, sizeof(*machines), machine_ptr_cmp);
        for (uint32_t i = 0; i < s->n_machines; i++) {
                if (i > 0 && streq(machines[i]->id, machines[i - 1]->id))
                        return -EEXIST;
                s->machines[i] = (SchedMachine){.sm = machines[i], .head = SCHED_NONE};
        }
        return 0;
}

/* ---- MachineOf ---------------------------------------------------------------------------- */

static int init_peers(Sched *s) {
        _cleanup_free_ uint32_t *stamp = NULL, *at = NULL, *len = NULL;
        PairVec followers = {};
        size_t n = 0, allocated = 0;
        int r;

        stamp = malloc(MAX(s->n_jobs, 1u) * sizeof(uint32_t));
        at = calloc(MAX(s->n_jobs, 1u), sizeof(uint32_t));
        len = calloc(MAX(s->n_jobs, 1u), sizeof(uint32_t));
        if (!stamp || !at || !len)
                return -ENOMEM;
        for (uint32_t j = 0; j < s->n_jobs; j++)
                stamp[j] = SCHED_NONE;

        for (uint32_t j = 0; j < s->n_jobs; j++) {
                const XFleet *x = sched_job_xfleet(s, j);
                bool unknown_seen = false;

                s->jobs[j].peers_at = n;
                STRV_FOREACH(name, x ? x->peers : NULL) {
                        uint32_t p = sched_find_job(s, *name);

                        /* Distinct peers only; one unknown name is enough to fail. */
                        if (p == SCHED_NONE ? unknown_seen : stamp[p] == j)
                                continue;
                        if (p == SCHED_NONE)
                                unknown_seen = true;
                        else
                                stamp[p] = j;
                        if (n >= allocated) {
                                size_t a = MAX(allocated * 2, (size_t) 16);
                                SchedPeer *v = reallocarray(s->peers, a, sizeof(SchedPeer));

                                if (!v) {
                                        free(followers.v);
                                        return -ENOMEM;
                                }
                                s->peers = v;
                                allocated = a;
                        }
                        s->peers[n++] = (SchedPeer){.job = p, .name = *name};
                        s->jobs[j].n_peers++;
                        if (p != SCHED_NONE && s->jobs[j].active && !s->jobs[j].is_global) {
                                r = pair_push(&followers, p, j);
                                if (r < 0) {
                                        free(followers.v);
                                        return r;
                                }
                        }
                }
        }

        r = csr_build(&followers, s->n_jobs, at, len, &s->followers);
        if (r < 0)
                return r;
        for (uint32_t j = 0; j < s->n_jobs; j++) {
                s->jobs[j].followers_at = at[j];
                s->jobs[j].n_followers = len[j];
        }
        return 0;
}

/* ---- Conflicts and Replaces pattern groups ----------------------------------------------- */

enum { PATTERN_CONFLICTS, PATTERN_REPLACES };

typedef struct PatternEntry {
        const char *pattern;
        uint32_t kind;
        uint32_t job;
} PatternEntry;

static int pattern_entry_cmp(const void *a, const void *b) {
        const PatternEntry *x = a, *y = b;
        int c;

        if (x->kind != y->kind)
                return x->kind < y->kind ? -1 : 1;
        c = strcmp(x->pattern, y->pattern);
        if (c != 0)
                return c;
        return x->job < y->job ? -1 : x->job > y->job;
}

static int collect_patterns(const Sched *s, PatternEntry **ret, size_t *ret_n) {
        PatternEntry *e = NULL;
        size_t n = 0, allocated = 0;

        for (uint32_t j = 0; j < s->n_jobs; j++) {
                const XFleet *x = sched_job_xfleet(s, j);

                if (!x || !s->jobs[j].active)
                        continue;
                for (uint32_t kind = PATTERN_CONFLICTS; kind <= PATTERN_REPLACES; kind++) {
                        /* Global units never move and never make others move (6.5, 6.6). */
                        if (kind == PATTERN_REPLACES && s->jobs[j].is_global)
                                continue;
                        STRV_FOREACH(p, kind == PATTERN_CONFLICTS ? x->conflicts : x->replaces) {
                                if (n >= allocated) {
                                        size_t a = MAX(allocated * 2, (size_t) 64);
                                        PatternEntry *v = reallocarray(e, a, sizeof(*e));

                                        if (!v) {
                                                free(e);
                                                return -ENOMEM;
                                        }
                                        e = v;
                                        allocated = a;
                                }
                                e[n++] = (PatternEntry){*p, kind, j};
                        }
                }
        }
        sort_unless_sorted(e, n, sizeof(*e), pattern_entry_cmp);
        *ret = e;
        *ret_n = n;
        return 0;
}

/* First job whose name is >= the first n characters of prefix. */
static uint32_t job_lower_bound(const Sched *s, const char *prefix, size_t n) {
        uint32_t lo = 0, hi = s->n_jobs;

        while (lo < hi) {
                uint32_t mid = lo + (hi - lo) / 2;

                if (strncmp(sched_job_name(s, mid), prefix, n) < 0)
                        lo = mid + 1;
                else
                        hi = mid;
        }
        return lo;
}

/* Add (job, g) to matches for every job whose name the pattern matches. Only names that start
 * with the pattern's literal prefix can match, and those are one range of the sorted jobs. */
static int match_group(const Sched *s, const PatternEntry *e, uint32_t g, PairVec *matches) {
        size_t n = strcspn(e->pattern, "*?[\\");
        int r;

        for (uint32_t j = job_lower_bound(s, e->pattern, n);
             j < s->n_jobs && strneq(sched_job_name(s, j), e->pattern, n); j++) {
                if (!s->jobs[j].active)
                        continue;
                if (e->kind == PATTERN_REPLACES && s->jobs[j].is_global)
                        continue;
                if (!glob_match(e->pattern, sched_job_name(s, j)))
                        continue;
                r = pair_push(matches, j, g);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* Number each distinct pattern (Conflicts groups first) and record, as pairs (job, group),
 * which groups each job holds and which groups match its name. */
static int number_groups(Sched *s, const PatternEntry *e, size_t n, PairVec *held,
                         PairVec *matches) {
        uint32_t g = SCHED_NONE;
        int r;

        for (size_t i = 0; i < n; i++) {
                if (i == 0 || e[i].kind != e[i - 1].kind ||
                    !streq(e[i].pattern, e[i - 1].pattern)) {
                        if (g == SCHED_NONE - 1)
                                return -E2BIG;
                        g = g == SCHED_NONE ? 0 : g + 1;
                        if (e[i].kind == PATTERN_CONFLICTS)
                                s->n_cgroups = g + 1;
                        r = match_group(s, &e[i], g, matches);
                        if (r < 0)
                                return r;
                }
                r = pair_push(held, e[i].job, g);
                if (r < 0)
                        return r;
        }
        s->n_groups = g == SCHED_NONE ? 0 : g + 1;
        return 0;
}

static int init_groups(Sched *s) {
        _cleanup_free_ PatternEntry *e = NULL;
        _cleanup_free_ uint32_t *at = NULL, *len = NULL, *mat = NULL, *mlen = NULL;
        PairVec held = {}, matches = {};
        size_t n;
        int r;

        r = collect_patterns(s, &e, &n);
        if (r < 0)
                return r;
        at = calloc(MAX(s->n_jobs, 1u), sizeof(uint32_t));
        len = calloc(MAX(s->n_jobs, 1u), sizeof(uint32_t));
        mat = calloc(MAX(s->n_jobs, 1u), sizeof(uint32_t));
        mlen = calloc(MAX(s->n_jobs, 1u), sizeof(uint32_t));
        r = at && len && mat && mlen ? number_groups(s, e, n, &held, &matches) : -ENOMEM;
        if (r >= 0)
                r = csr_build(&held, s->n_jobs, at, len, &s->pats);
        if (r >= 0)
                r = csr_build(&matches, s->n_jobs, mat, mlen, &s->match);
        free(held.v);
        free(matches.v);
        if (r < 0)
                return r;

        for (uint32_t j = 0; j < s->n_jobs; j++) {
                SchedJob *job = &s->jobs[j];

                job->pats_at = at[j];
                for (uint32_t i = 0; i < len[j]; i++)
                        *(s->pats[at[j] + i] < s->n_cgroups ? &job->n_cpats : &job->n_rpats) += 1;
                job->match_at = mat[j];
                for (uint32_t i = 0; i < mlen[j]; i++)
                        *(s->match[mat[j] + i] < s->n_cgroups ? &job->n_cmatch : &job->n_rmatch) +=
                                1;
        }
        return 0;
}

/* ---- MachineMetadata index and pools ----------------------------------------------------- */

static int metadata_entry_cmp(const void *a, const void *b) {
        const SchedMetadataEntry *x = a, *y = b;
        int c = strcmp(x->value, y->value);

        if (c == 0)
                c = x->machine < y->machine ? -1 : x->machine > y->machine;
        return c;
}

/* The index of key (its position in s->keys), built on first use: O(machines log machines)
 * once per key. */
static int key_index(Sched *s, const char *key, uint32_t *ret) {
        SchedKeyIndex *k;

        for (uint32_t i = 0; i < s->n_keys; i++)
                if (streq(s->keys[i].key, key)) {
                        *ret = i;
                        return 0;
                }
        if (s->n_keys >= s->keys_allocated) {
                uint32_t a = MAX(s->keys_allocated * 2, 4u);
                SchedKeyIndex *v = reallocarray(s->keys, a, sizeof(SchedKeyIndex));

                if (!v)
                        return -ENOMEM;
                s->keys = v;
                s->keys_allocated = a;
        }
        k = &s->keys[s->n_keys];
        *k = (SchedKeyIndex){.key = key};
        k->entries = malloc(MAX(s->n_machines, 1u) * sizeof(SchedMetadataEntry));
        if (!k->entries)
                return -ENOMEM;
        for (uint32_t m = 0; m < s->n_machines; m++) {
                const char *v = snapshot_machine_get_metadata(s->machines[m].sm, key);

                if (v)
                        k->entries[k->n++] = (SchedMetadataEntry){v, m};
        }
        sort_unless_sorted(k->entries, k->n, sizeof(SchedMetadataEntry), metadata_entry_cmp);
        *ret = s->n_keys++;
        return 0;
}

/* The entries [*ret_lo, *ret_hi) of k for machines whose value is value. */
static void metadata_range(const SchedKeyIndex *k, const char *value, size_t *ret_lo,
                           size_t *ret_hi) {
        size_t lo = 0, hi = k->n, end;

        while (lo < hi) {
                size_t mid = lo + (hi - lo) / 2;

                if (strcmp(k->entries[mid].value, value) < 0)
                        lo = mid + 1;
                else
                        hi = mid;
        }
        for (end = lo; end < k->n && streq(k->entries[end].value, value); end++)
                ;
        *ret_lo = lo;
        *ret_hi = end;
}

static bool req_is_empty(const MetadataReq *r) {
        return strv_length(r->allowed) == 0 && strv_length(r->forbidden) == 0;
}

bool sched_job_has_metadata(const Sched *s, uint32_t j) {
        const XFleet *x = sched_job_xfleet(s, j);

        for (size_t i = 0; x && i < x->n_metadata; i++)
                if (!req_is_empty(&x->metadata[i]))
                        return true;
        return false;
}

static int strv_cmp(char *const *a, char *const *b) {
        for (;; a++, b++) {
                int c;

                if (!a || !*a || !b || !*b)
                        return (b && *b) - (a && *a);
                c = strcmp(*a, *b);
                if (c != 0)
                        return c;
        }
}

/* Order of MachineMetadata requirements, ignoring empty ones: equal means the same machines
 * qualify. (Values listed in another order compare unequal, which only costs a pool.) */
static int requirement_cmp(const XFleet *a, const XFleet *b) {
        size_t i = 0, k = 0;

        for (;;) {
                int c;

                while (i < a->n_metadata && req_is_empty(&a->metadata[i]))
                        i++;
                while (k < b->n_metadata && req_is_empty(&b->metadata[k]))
                        k++;
                if (i >= a->n_metadata || k >= b->n_metadata)
                        return (k < b->n_metadata) - (i < a->n_metadata);
                c = strcmp(a->metadata[i].key, b->metadata[k].key);
                if (c == 0)
                        c = strv_cmp(a->metadata[i].allowed, b->metadata[k].allowed);
                if (c == 0)
                        c = strv_cmp(a->metadata[i].forbidden, b->metadata[k].forbidden);
                if (c != 0)
                        return c;
                i++;
                k++;
        }
}

typedef struct SignatureRef {
        uint64_t hash; /* of the requirement: most comparisons stop here */
        const XFleet *x;
        uint32_t job;
} SignatureRef;

static uint64_t hash_string(uint64_t h, const char *s, unsigned char end) {
        for (const unsigned char *c = (const unsigned char *) s; *c; c++)
                h = (h ^ *c) * UINT64_C(0x100000001b3);
        return (h ^ end) * UINT64_C(0x100000001b3);
}

/* FNV-1a over what requirement_cmp() compares. */
static uint64_t requirement_hash(const XFleet *x) {
        uint64_t h = UINT64_C(0xcbf29ce484222325);

        for (size_t i = 0; i < x->n_metadata; i++) {
                if (req_is_empty(&x->metadata[i]))
                        continue;
                h = hash_string(h, x->metadata[i].key, 0);
                STRV_FOREACH(v, x->metadata[i].allowed)
                        h = hash_string(h, *v, 1);
                STRV_FOREACH(v, x->metadata[i].forbidden)
                        h = hash_string(h, *v, 2);
        }
        return h;
}

static int signature_ref_cmp(const void *a, const void *b) {
        const SignatureRef *x = a, *y = b;
        int c;

        if (x->hash != y->hash)
                return x->hash < y->hash ? -1 : 1;
        c = requirement_cmp(x->x, y->x);
        return c != 0 ? c : (x->job < y->job ? -1 : x->job > y->job);
}

/* One pool per distinct requirement among non-inactive jobs, plus pool 0 (every machine). */
static int init_pools(Sched *s) {
        _cleanup_free_ SignatureRef *refs = NULL;
        _cleanup_free_ uint32_t *all = NULL;
        uint32_t n = 0;
        int r;

        refs = malloc(MAX(s->n_jobs, 1u) * sizeof(SignatureRef));
        all = malloc(MAX(s->n_machines, 1u) * sizeof(uint32_t));
        if (!refs || !all)
                return -ENOMEM;
        for (uint32_t j = 0; j < s->n_jobs; j++)
                if (s->jobs[j].active && sched_job_has_metadata(s, j))
                        refs[n++] = (SignatureRef){requirement_hash(sched_job_xfleet(s, j)),
                                                   sched_job_xfleet(s, j), j};
        sort_unless_sorted(refs, n, sizeof(*refs), signature_ref_cmp);

        s->pools = calloc(n + 1, sizeof(SchedPool));
        if (!s->pools)
                return -ENOMEM;
        s->n_pools = 1;
        for (uint32_t i = 0; i < n; i++) {
                if (i == 0 || refs[i].hash != refs[i - 1].hash ||
                    requirement_cmp(refs[i].x, refs[i - 1].x) != 0)
                        s->pools[s->n_pools++].job = refs[i].job;
                s->jobs[refs[i].job].pool = s->n_pools - 1;
        }

        for (uint32_t m = 0; m < s->n_machines; m++)
                all[m] = m;
        r = machine_heap_init(&s->pools[0].heap, all, s->n_machines, s->load);
        if (r < 0)
                return r;
        s->pools[0].built = true;
        return 0;
}

static const char *machine_lookup(const char *key, void *userdata) {
        return snapshot_machine_get_metadata(userdata, key);
}

bool sched_metadata_ok(const Sched *s, const XFleet *x, uint32_t m) {
        return xfleet_metadata_match(x, machine_lookup, (void *) s->machines[m].sm);
}

/* Machines that may satisfy x: those with a value of the most selective key that has allowed
 * values, or every machine if no key has. Sorted, distinct, in *ret (malloc'd). */
static int pool_candidates(Sched *s, const XFleet *x, uint32_t **ret, uint32_t *ret_n) {
        const MetadataReq *best_req = NULL;
        size_t best_n = SIZE_MAX, lo, hi;
        uint32_t *c, n = 0, k, best = SCHED_NONE;
        int r;

        for (size_t i = 0; i < x->n_metadata; i++) {
                size_t total = 0;

                if (strv_length(x->metadata[i].allowed) == 0)
                        continue;
                r = key_index(s, x->metadata[i].key, &k);
                if (r < 0)
                        return r;
                STRV_FOREACH(v, x->metadata[i].allowed) {
                        metadata_range(&s->keys[k], *v, &lo, &hi);
                        total += hi - lo;
                }
                if (total < best_n) {
                        best = k;
                        best_req = &x->metadata[i];
                        best_n = total;
                }
        }
        if (best == SCHED_NONE)
                best_n = s->n_machines;
        c = malloc(MAX(best_n, (size_t) 1) * sizeof(uint32_t));
        if (!c)
                return -ENOMEM;
        if (best == SCHED_NONE)
                for (uint32_t m = 0; m < s->n_machines; m++)
                        c[n++] = m;
        else {
                STRV_FOREACH(v, best_req->allowed) {
                        metadata_range(&s->keys[best], *v, &lo, &hi);
                        for (size_t i = lo; i < hi; i++)
                                c[n++] = s->keys[best].entries[i].machine;
                }
                /* Several values give runs, and a repeated value a run twice. */
                sort_unless_sorted(c, n, sizeof(uint32_t), u32_cmp);
                n = unique_u32(c, n);
        }
        *ret = c;
        *ret_n = n;
        return 0;
}

static int membership_add(SchedMachine *sm, uint32_t pool, uint32_t slot) {
        if (sm->n_pools + 2 > sm->pools_allocated) {
                uint32_t a = MAX(sm->pools_allocated * 2, 8u);
                uint32_t *v = reallocarray(sm->pools, a, sizeof(uint32_t));

                if (!v)
                        return -ENOMEM;
                sm->pools = v;
                sm->pools_allocated = a;
        }
        sm->pools[sm->n_pools++] = pool;
        sm->pools[sm->n_pools++] = slot;
        return 0;
}

static int pool_build(Sched *s, uint32_t p) {
        const XFleet *x = sched_job_xfleet(s, s->pools[p].job);
        _cleanup_free_ uint32_t *c = NULL;
        uint32_t n, k = 0;
        int r;

        r = pool_candidates(s, x, &c, &n);
        if (r < 0)
                return r;
        for (uint32_t i = 0; i < n; i++)
                if (sched_metadata_ok(s, x, c[i]))
                        c[k++] = c[i];
        r = machine_heap_init(&s->pools[p].heap, c, k, s->load);
        if (r < 0)
                return r;
        for (uint32_t i = 0; i < k; i++) {
                r = membership_add(&s->machines[c[i]], p, i);
                if (r < 0) {
                        /* Undo the memberships added so far, so no one updates a dead heap. */
                        for (uint32_t u = 0; u < i; u++)
                                s->machines[c[u]].n_pools -= 2;
                        machine_heap_done(&s->pools[p].heap);
                        return r;
                }
        }
        s->pools[p].built = true;
        return 0;
}

int sched_pool(Sched *s, uint32_t p, MachineHeap **ret) {
        int r;

        assert(p < s->n_pools);
        if (!s->pools[p].built) {
                r = pool_build(s, p);
                if (r < 0)
                        return r;
        }
        *ret = &s->pools[p].heap;
        return 0;
}

/* ---- setup and teardown ------------------------------------------------------------------ */

static int init_globals(Sched *s) {
        for (uint32_t j = 0; j < s->n_jobs; j++)
                if (s->jobs[j].is_global && s->jobs[j].active)
                        s->n_globals++;
        s->words = (s->n_machines + 63) / 64;
        s->globals = malloc(MAX(s->n_globals, 1u) * sizeof(uint32_t));
        s->applies = calloc(MAX(s->n_globals * s->words, (size_t) 1), sizeof(uint64_t));
        if (!s->globals || !s->applies)
                return -ENOMEM;
        s->n_globals = 0;
        for (uint32_t j = 0; j < s->n_jobs; j++)
                if (s->jobs[j].is_global && s->jobs[j].active) {
                        s->jobs[j].global = s->n_globals;
                        s->globals[s->n_globals++] = j;
                }
        return 0;
}

int sched_init(Sched *s, const ClusterSnapshot *snapshot) {
        int r;

        assert(s);
        assert(snapshot);
        *s = (Sched){.snapshot = snapshot};
        r = init_sorted(s, snapshot);
        if (r < 0)
                return r;
        r = init_names(s);
        if (r < 0)
                return r;
        r = init_peers(s);
        if (r < 0)
                return r;
        r = init_groups(s);
        if (r < 0)
                return r;
        r = init_pools(s);
        if (r < 0)
                return r;
        return init_globals(s);
}

void sched_done(Sched *s) {
        if (!s)
                return;
        for (uint32_t j = 0; s->jobs && j < s->n_jobs; j++)
                free(s->jobs[j].reason);
        for (uint32_t m = 0; s->machines && m < s->n_machines; m++)
                free(s->machines[m].pools);
        for (uint32_t p = 0; s->pools && p < s->n_pools; p++) {
                machine_heap_done(&s->pools[p].heap);
                free(s->pools[p].description);
        }
        machine_heap_iter_done(&s->iter);
        free(s->jobs);
        free(s->names);
        free(s->machines);
        free(s->load);
        free(s->peers);
        free(s->followers);
        free(s->pats);
        free(s->match);
        count_map_done(&s->counts);
        for (uint32_t k = 0; k < s->n_keys; k++)
                free(s->keys[k].entries);
        free(s->keys);
        free(s->pools);
        free(s->globals);
        free(s->applies);
        *s = (Sched){};
}
