/* SPDX-License-Identifier: MIT */
/*
 * The scheduler against a naive model, on many small random clusters. The model evaluates
 * fleet's rules directly with the xfleet_* functions (no indexes), and replays the decisions:
 *   - the entries removed up front are exactly those of gone/global/inactive/duplicate jobs
 *     and gone machines;
 *   - every other UNSCHEDULE removes a unit that, at that moment, cannot run where it is;
 *   - every SCHEDULE puts a unit on a machine that can run it, and no machine that can is
 *     less loaded (or as loaded with a lower ID);
 *   - every unit left unscheduled has no machine that can run it, and the list is complete;
 *   - the same snapshot in any insertion order gives the same result;
 *   - a second pass over the result changes nothing.
 * With Replaces in the mix, a placement may evict units (and cancel placements made earlier in
 * the pass, which then never show), so only phase 1, the final state, completeness, determinism
 * and the second pass are checked; and a unit is displaced at most once per pass, so when that
 * deferred a placement, the second pass may still act.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "job-state.h"
#include "scheduler.h"
#include "snapshot.h"
#include "strv.h"
#include "test-util.h"
#include "unit-file.h"
#include "xfleet.h"

#define MAX_MACHINES 8
#define MAX_JOBS 16
#define MAX_ENTRIES 24
#define NONE (-1)

typedef struct Model {
        int n_machines;
        char machine[MAX_MACHINES][40];
        char md[MAX_MACHINES][2][2][8]; /* up to 2 (key, value); key "" = absent */
        int n_jobs;
        char job[MAX_JOBS][32];
        char options[MAX_JOBS][160]; /* X-Fleet lines separated by '\n' */
        JobState state[MAX_JOBS];
        XFleet *x[MAX_JOBS];
        int n_entries;
        char entry_job[MAX_ENTRIES][32];
        char entry_machine[MAX_ENTRIES][40];
} Model;

static unsigned rnd(unsigned *seed, unsigned n) {
        *seed = *seed * 1103515245u + 12345u;
        return (*seed >> 8) % n;
}

static const char *const job_names[] = {
        "a.service",     "b.service",      "c.service",      "d.service",
        "web.service",   "db.service",     "app@1.service",  "app@2.service",
        "app@3.service", "side@a.service", "side@b.service", "zz.service",
        "g1.service",    "g2.service",     "x.service",      "y.service",
};

static const char *const patterns[] = {
        "a*", "b.service", "app@*.service", "%p@*.service", "*", "web*", "g?.service", "[xy]*",
};

static XFleet *parse_options(const char *name, const char *opts) {
        _cleanup_(unit_file_freep) UnitFile *u = NULL;
        _cleanup_free_ char *text = NULL;
        XFleet *x = NULL;

        if (!*opts)
                return NULL;
        ck_assert_int_ge(asprintf(&text, "[X-Fleet]\n%s", opts), 0);
        ck_assert_int_eq(unit_file_parse(text, strlen(text), &u, NULL), 0);
        ck_assert_int_eq(xfleet_parse(u, name, &x), 0);
        return x;
}

static void add_option(char *buf, size_t size, const char *key, const char *value) {
        size_t n = strlen(buf);

        snprintf(buf + n, size - n, "%s=%s\n", key, value);
}

static void random_options(Model *m, int j, unsigned *seed, bool replaces) {
        char *o = m->options[j];
        size_t size = sizeof(m->options[j]);
        bool global = rnd(seed, 100) < 10;
        static const char *const md[] = {"region=a", "region=b",  "region!=a",
                                         "disk=ssd", "disk!=hdd", "region=c"};

        o[0] = '\0';
        if (global)
                add_option(o, size, "Global", "true");
        if (!global && rnd(seed, 100) < 6) {
                const char *id = m->n_machines > 0 ? m->machine[rnd(seed, m->n_machines)] : "m9";
                char shortid[9];

                snprintf(shortid, sizeof(shortid), "%s", id);
                add_option(o, size, "MachineID", rnd(seed, 3) == 0 ? shortid : id);
        }
        for (int k = rnd(seed, 100) < 30 ? 1 + (int) rnd(seed, 2) : 0; k > 0; k--)
                add_option(o, size, "MachineMetadata", md[rnd(seed, ELEMENTSOF(md))]);
        if (rnd(seed, 100) < 25)
                add_option(o, size, "Conflicts", patterns[rnd(seed, ELEMENTSOF(patterns))]);
        if (!global && rnd(seed, 100) < 20)
                add_option(o, size, "MachineOf", job_names[rnd(seed, ELEMENTSOF(job_names))]);
        if (!global && replaces && rnd(seed, 100) < 25)
                add_option(o, size, "Replaces", patterns[rnd(seed, ELEMENTSOF(patterns))]);
}

static void random_model(Model *m, unsigned seed, bool replaces) {
        static const char *const keys[] = {"region", "disk"};
        static const char *const values[2][3] = {{"a", "b", "c"}, {"ssd", "hdd", "ssd"}};

        *m = (Model){};
        m->n_machines = rnd(&seed, MAX_MACHINES + 1);
        for (int i = 0; i < m->n_machines; i++) {
                if (rnd(&seed, 5) == 0)
                        snprintf(m->machine[i], sizeof(m->machine[i]), "%08x%08x", seed, i);
                else
                        snprintf(m->machine[i], sizeof(m->machine[i]), "m%d", i);
                for (int k = 0; k < 2; k++)
                        if (rnd(&seed, 3) != 0) {
                                strcpy(m->md[i][k][0], keys[k]);
                                strcpy(m->md[i][k][1], values[k][rnd(&seed, 3)]);
                        }
        }
        m->n_jobs = rnd(&seed, MAX_JOBS + 1);
        for (int j = 0; j < m->n_jobs; j++) {
                unsigned s = rnd(&seed, 100);

                strcpy(m->job[j], job_names[j]);
                m->state[j] = s < 15   ? JOB_STATE_INACTIVE
                              : s < 40 ? JOB_STATE_LOADED
                                       : JOB_STATE_LAUNCHED;
                random_options(m, j, &seed, replaces);
                m->x[j] = parse_options(m->job[j], m->options[j]);
        }
        m->n_entries = rnd(&seed, MAX_ENTRIES / 2 + 1);
        for (int e = 0; e < m->n_entries; e++) {
                const char *mid = m->n_machines > 0 && rnd(&seed, 8) != 0
                                          ? m->machine[rnd(&seed, m->n_machines)]
                                          : "m9";

                snprintf(m->entry_machine[e], sizeof(m->entry_machine[e]), "%s", mid);
                snprintf(m->entry_job[e], sizeof(m->entry_job[e]), "%s",
                         job_names[rnd(&seed, ELEMENTSOF(job_names))]);
                for (int k = 0; k < e; k++) /* one entry per (job, machine), as etcd keys */
                        if (streq(m->entry_job[k], m->entry_job[e]) &&
                            streq(m->entry_machine[k], m->entry_machine[e])) {
                                e--;
                                m->n_entries--;
                                break;
                        }
        }
}

/* The model as text, for failure messages. */
static char *model_text(const Model *m) {
        char *text = NULL;
        size_t size = 0;
        FILE *f = open_memstream(&text, &size);

        for (int i = 0; i < m->n_machines; i++)
                fprintf(f, "machine %s %s=%s %s=%s\n", m->machine[i], m->md[i][0][0],
                        m->md[i][0][1], m->md[i][1][0], m->md[i][1][1]);
        for (int j = 0; j < m->n_jobs; j++)
                fprintf(f, "job %s %s: %s\n", m->job[j], job_state_to_string(m->state[j]),
                        m->options[j]);
        for (int e = 0; e < m->n_entries; e++)
                fprintf(f, "entry %s %s\n", m->entry_job[e], m->entry_machine[e]);
        ck_assert_int_eq(fclose(f), 0);
        return text;
}

static void model_done(Model *m) {
        for (int j = 0; j < m->n_jobs; j++)
                xfleet_free(m->x[j]);
}

static ClusterSnapshot *build(const Model *m, unsigned seed) {
        ClusterSnapshot *s = NULL;
        int p[MAX_ENTRIES];

        ck_assert_int_eq(snapshot_new(&s), 0);
        for (int i = 0; i < MAX_ENTRIES; i++)
                p[i] = i;
        for (int i = MAX_ENTRIES; seed && i > 1; i--) {
                int k = rnd(&seed, i), t = p[i - 1];

                p[i - 1] = p[k];
                p[k] = t;
        }
        for (int i = 0; i < MAX_ENTRIES; i++) {
                int k = p[i];

                if (k < m->n_machines) {
                        _cleanup_strv_free_ char **md = NULL;

                        for (int q = 0; q < 2; q++)
                                if (m->md[k][q][0][0]) {
                                        ck_assert_int_eq(strv_extend(&md, m->md[k][q][0]), 0);
                                        ck_assert_int_eq(strv_extend(&md, m->md[k][q][1]), 0);
                                }
                        ck_assert_int_eq(snapshot_add_machine(s, m->machine[k], md), 0);
                }
                if (k < m->n_jobs)
                        ck_assert_int_eq(snapshot_add_job(s, m->job[k], "h", m->state[k],
                                                          parse_options(m->job[k], m->options[k])),
                                         0);
                if (k < m->n_entries)
                        ck_assert_int_eq(snapshot_add_schedule(s, m->entry_job[k],
                                                               m->entry_machine[k],
                                                               JOB_STATE_LAUNCHED, "h"),
                                         0);
        }
        return s;
}

/* What a failure message shows besides its own text: the model and the result. */
static const char *context_model, *context_result;

#define check_msg(cond, ...)                                                                       \
        do {                                                                                       \
                if (!(cond))                                                                       \
                        fprintf(stderr, "--- model\n%s--- result\n%s", strempty(context_model),    \
                                strempty(context_result));                                         \
                ck_assert_msg(cond, __VA_ARGS__);                                                  \
        } while (0)

/* ---- the naive model -------------------------------------------------------------------- */

typedef struct World {
        const Model *m;
        int on[MAX_JOBS];                     /* machine of each job, or NONE */
        bool applies[MAX_JOBS][MAX_MACHINES]; /* global j applies on machine */
} World;

static int find_job(const Model *m, const char *name) {
        for (int j = 0; j < m->n_jobs; j++)
                if (streq(m->job[j], name))
                        return j;
        return NONE;
}

static int find_machine(const Model *m, const char *id) {
        for (int i = 0; i < m->n_machines; i++)
                if (streq(m->machine[i], id))
                        return i;
        return NONE;
}

static bool is_global(const Model *m, int j) {
        return m->x[j] && m->x[j]->global;
}

static const char *lookup(const char *key, void *userdata) {
        char(*md)[2][8] = userdata;

        for (int q = 0; q < 2; q++)
                if (md[q][0][0] && streq(md[q][0], key))
                        return md[q][1];
        return NULL;
}

static bool in_view(const World *w, int p, int i) {
        if (p == NONE || w->m->state[p] == JOB_STATE_INACTIVE)
                return false;
        return is_global(w->m, p) ? w->applies[p][i] : w->on[p] == i;
}

/* MachineID, MachineMetadata and MachineOf of job j on machine i. */
static bool requirements_met(const World *w, int j, int i) {
        const Model *m = w->m;
        const XFleet *x = m->x[j];
        const char *id = m->machine[i];

        if (!x)
                return true;
        if (x->machine_id && !streq(x->machine_id, id) &&
            !(strlen(x->machine_id) == 8 && strlen(id) > 8 && strneq(id, x->machine_id, 8)))
                return false;
        if (!xfleet_metadata_match(x, lookup, (void *) m->md[i]))
                return false;
        STRV_FOREACH(p, x->peers)
                if (!in_view(w, find_job(m, *p), i))
                        return false;
        return true;
}

/* fleet's AbleToRun for job j on machine i, j itself not counted as being there. */
static bool able(const World *w, int j, int i) {
        const Model *m = w->m;

        if (!requirements_met(w, j, i))
                return false;
        for (int u = 0; u < m->n_jobs; u++) {
                if (u == j || !in_view(w, u, i))
                        continue;
                if (xfleet_conflicts(m->job[j], m->x[j], m->job[u], m->x[u]))
                        return false;
                if (!is_global(m, u) &&
                    xfleet_replaces(m->job[u], m->x[u], m->job[j], m->x[j]) == 1)
                        return false;
        }
        return true;
}

static unsigned load(const World *w, int i) {
        unsigned n = 0;

        for (int u = 0; u < w->m->n_jobs; u++)
                n += in_view(w, u, i);
        return n;
}

/* Globals in name order, where their metadata matches and nothing there conflicts. */
static void compute_globals(World *w) {
        const Model *m = w->m;
        int order[MAX_JOBS], n = 0;

        memset(w->applies, 0, sizeof(w->applies));
        for (int j = 0; j < m->n_jobs; j++)
                if (is_global(m, j) && m->state[j] != JOB_STATE_INACTIVE)
                        order[n++] = j;
        for (int a = 1; a < n; a++) /* insertion sort by name */
                for (int b = a; b > 0 && strcmp(m->job[order[b]], m->job[order[b - 1]]) < 0; b--) {
                        int t = order[b];

                        order[b] = order[b - 1];
                        order[b - 1] = t;
                }
        for (int k = 0; k < n; k++)
                for (int i = 0; i < m->n_machines; i++) {
                        int g = order[k];
                        bool ok = xfleet_metadata_match(m->x[g], lookup, (void *) m->md[i]);

                        for (int u = 0; ok && u < m->n_jobs; u++)
                                if (u != g && in_view(w, u, i) &&
                                    xfleet_conflicts(m->job[g], m->x[g], m->job[u], m->x[u]))
                                        ok = false;
                        w->applies[g][i] = ok;
                }
}

/* ---- the checks ------------------------------------------------------------------------------ */

/* Entries that go whatever the constraints; returns how many, w->on is the rest. */
static int baseline(World *w) {
        const Model *m = w->m;
        int removed = 0;

        for (int j = 0; j < MAX_JOBS; j++)
                w->on[j] = NONE;
        for (int e = 0; e < m->n_entries; e++) {
                int j = find_job(m, m->entry_job[e]), i = find_machine(m, m->entry_machine[e]);

                if (j == NONE || is_global(m, j) || m->state[j] == JOB_STATE_INACTIVE ||
                    i == NONE) {
                        removed++;
                        continue;
                }
                if (w->on[j] != NONE) {
                        removed++; /* the lower machine ID stays */
                        if (strcmp(m->machine[i], m->machine[w->on[j]]) < 0)
                                w->on[j] = i;
                        continue;
                }
                w->on[j] = i;
        }
        return removed;
}

static bool less_loaded(const World *w, int a, int b) {
        unsigned la = load(w, a), lb = load(w, b);

        return la < lb || (la == lb && strcmp(w->m->machine[a], w->m->machine[b]) < 0);
}

static bool has_peer(const Model *m, int f, int j) {
        return m->x[f] && strv_contains(m->x[f]->peers, m->job[j]);
}

/* Take j off its machine, and with it whatever follows it there (MachineOf). */
static void remove_tree(World *w, int j, bool *removed) {
        int i = w->on[j];

        w->on[j] = NONE;
        removed[j] = true;
        for (int f = 0; f < w->m->n_jobs; f++)
                if (w->on[f] == i && has_peer(w->m, f, j))
                        remove_tree(w, f, removed);
}

/* Phase 1 as reference 8.3 says: in name order, a unit that cannot stay leaves at once. */
static void simulate_phase1(World *w, bool *removed) {
        const Model *m = w->m;
        int order[MAX_JOBS], n = m->n_jobs;

        for (int j = 0; j < n; j++)
                order[j] = j;
        for (int a = 1; a < n; a++) /* insertion sort by name */
                for (int b = a; b > 0 && strcmp(m->job[order[b]], m->job[order[b - 1]]) < 0; b--) {
                        int t = order[b];

                        order[b] = order[b - 1];
                        order[b - 1] = t;
                }
        for (int k = 0; k < n; k++) {
                int j = order[k];

                if (w->on[j] != NONE && !able(w, j, w->on[j]))
                        remove_tree(w, j, removed);
        }
        /* Globals kept off a machine by a unit that left may apply now, and then keep another
         * global off, whose followers must leave: until that settles. */
        for (bool again = true; again;) {
                again = false;
                compute_globals(w);
                for (int j = 0; j < n; j++)
                        if (w->on[j] != NONE && !able(w, j, w->on[j])) {
                                remove_tree(w, j, removed);
                                again = true;
                        }
        }
}

static void replay(const Model *m, const SchedulerResult *r, World *w, bool replaces) {
        bool p1removed[MAX_JOBS] = {}, returner[MAX_JOBS] = {}, any_returner = false;
        int base[MAX_JOBS];
        size_t k = baseline(w);
        World p1;

        compute_globals(w);
        memcpy(base, w->on, sizeof(base));
        ck_assert_uint_le(k, r->n_decisions);
        for (size_t d = 0; d < k; d++)
                ck_assert_int_eq(r->decisions[d].kind, SCHEDULER_UNSCHEDULE);
        p1 = *w;
        simulate_phase1(&p1, p1removed);
        memcpy(w->applies, p1.applies, sizeof(w->applies));

        /* Phase 1's unschedules: each one the model made too. A unit the model removed without
         * a decision must have come back to where it was in phase 2 (net: no change). */
        for (; k < r->n_decisions && r->decisions[k].kind == SCHEDULER_UNSCHEDULE; k++) {
                int j = find_job(m, r->decisions[k].job);

                if (j == NONE || !p1removed[j] ||
                    w->on[j] != find_machine(m, r->decisions[k].machine))
                        break;
                w->on[j] = NONE;
        }
        for (int j = 0; j < m->n_jobs; j++)
                if (p1removed[j] && w->on[j] != NONE) {
                        returner[j] = any_returner = true;
                        /* Nothing else the model removed may stay. */
                        ck_assert_int_eq(w->on[j], base[j]);
                }
        for (int j = 0; j < m->n_jobs; j++)
                if (!returner[j])
                        check_msg(w->on[j] == p1.on[j], "%s: phase 1 differs from the model",
                                  m->job[j]);

        for (size_t d = k; d < r->n_decisions; d++) {
                const SchedulerDecision *dec = &r->decisions[d];
                int j = find_job(m, dec->job), i = find_machine(m, dec->machine);

                ck_assert_int_ne(j, NONE);
                ck_assert_int_ne(i, NONE);
                if (dec->kind == SCHEDULER_UNSCHEDULE) {
                        check_msg(replaces, "%s unscheduled in phase 2", dec->job);
                        ck_assert_int_eq(w->on[j], i);
                        w->on[j] = NONE;
                        /* An evicted unit may have kept a global unit off its machine. */
                        compute_globals(w);
                        continue;
                }
                ck_assert_int_eq(w->on[j], NONE);
                /* With Replaces, a placement may be cancelled by a later eviction and so never
                 * show: then only the final state can be checked. */
                check_msg(replaces || able(w, j, i), "%s placed on %s: %s", dec->job, dec->machine,
                          dec->reason);
                for (int o = 0; o < m->n_machines && !replaces && !any_returner; o++)
                        check_msg(o == i || !able(w, j, o) || less_loaded(w, i, o),
                                  "%s placed on %s (load %u), but %s (load %u) was able", dec->job,
                                  dec->machine, load(w, i), m->machine[o], load(w, o));
                w->on[j] = i;
        }
}

static char *dump(const SchedulerResult *r) {
        char *text = NULL;
        size_t size = 0;
        FILE *f = open_memstream(&text, &size);

        for (size_t i = 0; i < r->n_decisions; i++)
                fprintf(f, "%d %s %s: %s\n", r->decisions[i].kind, r->decisions[i].job,
                        r->decisions[i].machine, r->decisions[i].reason);
        for (size_t i = 0; i < r->n_unscheduled; i++)
                fprintf(f, "u %s: %s\n", r->unscheduled[i].job, r->unscheduled[i].reason);
        ck_assert_int_eq(fclose(f), 0);
        return text;
}

static void check_final(const Model *m, const SchedulerResult *r, World *w, bool replaces) {
        size_t n = 0;

        if (replaces) /* placements cancelled by evictions never showed: start afresh */
                compute_globals(w);

        for (int j = 0; j < m->n_jobs; j++) {
                const SchedulerUnscheduled *u = scheduler_result_find_unscheduled(r, m->job[j]);

                if (w->on[j] != NONE) {
                        ck_assert_ptr_null(u);
                        if (replaces)
                                check_msg(able(w, j, w->on[j]), "%s on %s", m->job[j],
                                          m->machine[w->on[j]]);
                        continue;
                }
                if (is_global(m, j) || m->state[j] == JOB_STATE_INACTIVE) {
                        ck_assert_ptr_null(u);
                        continue;
                }
                check_msg(u != NULL, "%s neither scheduled nor listed", m->job[j]);
                ck_assert(u && u->reason && *u->reason);
                n++;
                for (int i = 0; i < m->n_machines && !replaces; i++)
                        check_msg(!able(w, j, i), "%s left unscheduled (%s), but %s is able",
                                  m->job[j], u->reason, m->machine[i]);
        }
        ck_assert_uint_eq(n, r->n_unscheduled);
}

/* A unit displaced once for Replaces is not displaced again in the same pass; whoever wanted
 * its machine then waits for the next pass. */
static bool displace_deferred(const SchedulerResult *r) {
        for (size_t i = 0; i < r->n_unscheduled; i++)
                if (strstr(r->unscheduled[i].reason, "displaced in this pass already"))
                        return true;
        return false;
}

static void second_pass(Model *m, const World *w) {
        _cleanup_(snapshot_freep) ClusterSnapshot *s = NULL;
        _cleanup_(scheduler_result_freep) SchedulerResult *r = NULL;
        _cleanup_free_ char *text = NULL;

        m->n_entries = 0;
        for (int j = 0; j < m->n_jobs; j++)
                if (w->on[j] != NONE) {
                        strcpy(m->entry_job[m->n_entries], m->job[j]);
                        strcpy(m->entry_machine[m->n_entries], m->machine[w->on[j]]);
                        m->n_entries++;
                }
        s = build(m, 0);
        ck_assert_int_eq(scheduler_run(s, &r), 0);
        text = dump(r);
        check_msg(r->n_decisions == 0, "second pass:\n%s", text);
}

static void run_one(unsigned seed, bool replaces) {
        _cleanup_(scheduler_result_freep) SchedulerResult *r = NULL;
        _cleanup_free_ char *text = NULL, *model = NULL;
        World w = {};
        Model m;

        random_model(&m, seed, replaces);
        w.m = &m;
        {
                _cleanup_(snapshot_freep) ClusterSnapshot *s = build(&m, 0);

                ck_assert_int_eq(scheduler_run(s, &r), 0);
        }
        text = dump(r);
        model = model_text(&m);
        context_model = model;
        context_result = text;
        for (unsigned k = 1; k <= 2; k++) {
                _cleanup_(snapshot_freep) ClusterSnapshot *s = build(&m, seed * 31 + k);
                _cleanup_(scheduler_result_freep) SchedulerResult *r2 = NULL;
                _cleanup_free_ char *text2 = NULL;

                ck_assert_int_eq(scheduler_run(s, &r2), 0);
                text2 = dump(r2);
                ck_assert_msg(streq(text, text2), "seed %u: order matters:\n%s---\n%s", seed, text,
                              text2);
        }
        replay(&m, r, &w, replaces);
        check_final(&m, r, &w, replaces);
        if (!displace_deferred(r))
                second_pass(&m, &w);
        model_done(&m);
        context_model = context_result = NULL;
}

/* 20 rounds per mode, each of per_round() clusters: 15 by default (quick under valgrind too);
 * FLEET_SCHEDULER_RANDOM=<n> for more (n per round; 2,500 has been run). */
#define ROUNDS 20

static unsigned per_round(void) {
        const char *e = getenv("FLEET_SCHEDULER_RANDOM");
        unsigned long n = e ? strtoul(e, NULL, 10) : 0;

        return n > 0 && n < 1000000 ? (unsigned) n : 15;
}

START_TEST(test_random) {
        unsigned n = per_round();

        for (unsigned i = 0; i < n; i++)
                run_one(_i * n + i + 1, false);
}
END_TEST

START_TEST(test_random_replaces) {
        unsigned n = per_round();

        for (unsigned i = 0; i < n; i++)
                run_one(_i * n + i + 1000001, true);
}
END_TEST

static Suite *scheduler_random_suite(void) {
        Suite *s = suite_create("scheduler-random");
        TCase *tc = tcase_create("model");

        tcase_set_timeout(tc, 60);
        tcase_add_loop_test(tc, test_random, 0, ROUNDS);
        tcase_add_loop_test(tc, test_random_replaces, 0, ROUNDS);
        suite_add_tcase(s, tc);
        return s;
}

FLEET_TEST_MAIN(scheduler_random_suite)
