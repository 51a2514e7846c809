/* SPDX-License-Identifier: MIT */
/*
 * The engine's reconciler, table-driven. A case is a small cluster written as text:
 *   machines:  "m1"
 *   jobs:      "a.service launched h1 [| X-Fleet line | ...]"   hN = a 40-digit hash of N's
 *   held:      "x.service h3"                 jobs left out of the snapshot
 *   schedule:  "a.service m1 launched h1"     existing entries
 *   units:     "h1 7"                         stored contents with their mod_revision
 *   decisions: "+a.service m1 launched h1 why" / "-a.service m1 why"   the scheduler's result
 *              (with .run_scheduler the real scheduler computes it instead)
 *   expect:    "+a.service m1 launched h1" (schedule), "-a.service m1" (unschedule),
 *              "~a.service m1 loaded h2" (update), in application order
 *   garbage:   "h3"                           unreferenced contents, sorted
 *   reasons:   "a.service 4 text"             stored reason/<name> (job revision, text)
 *   revisions: "a.service 5"                  the jobs' mod_revisions
 *   expect:    "?a.service 5 text" (put reason/<name>), "!a.service" (delete it)
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "reconciler.h"
#include "scheduler.h"
#include "snapshot.h"
#include "strv.h"
#include "test-util.h"
#include "unit-file.h"
#include "xfleet.h"

#define MAXL 16
/* What the scheduler says about a job bound to a machine that does not exist. */
#define REASON_M9 "no live machine matches MachineID=m9"

typedef struct Case {
        const char *name;
        const char *machines[MAXL];
        const char *jobs[MAXL];
        const char *held[MAXL];
        const char *schedule[MAXL];
        const char *units[MAXL];
        const char *decisions[MAXL];
        bool run_scheduler;
        const char *expect[MAXL];
        const char *garbage[MAXL];
        const char *pinned[MAXL]; /* hashes pin/ entries name */
        size_t skipped;
        const char *reasons[MAXL];
        const char *revisions[MAXL];
} Case;

/* clang-format off */
static const Case cases[] = {
{
        .name = "nothing to do",
        .machines = { "m1" },
        .jobs = { "a.service launched h1" },
        .schedule = { "a.service m1 launched h1" },
        .units = { "h1 3" },
}, {
        .name = "decisions become writes in order",
        .machines = { "m1", "m2" },
        .jobs = { "a.service launched h1", "b.service loaded h2" },
        .schedule = { "a.service m9 launched h1" },
        .decisions = { "-a.service m9 target Machine(m9) went away",
                       "+a.service m1 launched h1 least-loaded",
                       "+b.service m2 loaded h2 least-loaded" },
        .expect = { "-a.service m9", "+a.service m1 launched h1", "+b.service m2 loaded h2" },
}, {
        .name = "desired state changed: entry rewritten",
        .machines = { "m1" },
        .jobs = { "a.service loaded h1", "b.service launched h2" },
        .schedule = { "a.service m1 launched h1", "b.service m1 loaded h2" },
        .expect = { "~a.service m1 loaded h1", "~b.service m1 launched h2" },
}, {
        .name = "hash changed: entry rewritten",
        .machines = { "m1" },
        .jobs = { "a.service launched h2" },
        .schedule = { "a.service m1 launched h1" },
        .units = { "h1 4", "h2 9" },
        .expect = { "~a.service m1 launched h2" },
        /* the old content is still named by the entry in this snapshot: not yet garbage */
}, {
        .name = "destroyed or inactive job: entry deleted even without a decision",
        .machines = { "m1" },
        .jobs = { "b.service inactive h2", "g.service launched h3 | Global=true" },
        .schedule = { "a.service m1 launched h1", "b.service m1 launched h2",
                      "g.service m1 launched h3" },
        .expect = { "-a.service m1", "-b.service m1", "-g.service m1" },
}, {
        .name = "held jobs are never touched",
        .machines = { "m1", "m2" },
        .held = { "a.service h1" },
        .schedule = { "a.service m1 launched h1" },
        .units = { "h1 2" },
        .decisions = { "-a.service m1 unit no longer exists",
                       "+a.service m2 launched h1 least-loaded" },
        .skipped = 2,
}, {
        .name = "unschedule then schedule on the same key merges",
        .machines = { "m1" },
        .jobs = { "a.service launched h1", "p.service launched h2" },
        .schedule = { "a.service m1 loaded h1" },
        .decisions = { "-a.service m1 peer moved", "+p.service m1 launched h2 least-loaded",
                       "+a.service m1 launched h1 follows p.service" },
        .expect = { "+p.service m1 launched h2", "+a.service m1 launched h1" },
}, {
        .name = "an unschedule and re-schedule that change nothing write nothing",
        .machines = { "m1" },
        .jobs = { "a.service launched h1" },
        .schedule = { "a.service m1 launched h1" },
        .decisions = { "-a.service m1 why", "+a.service m1 launched h1 why" },
}, {
        .name = "a decision without a valid hash is skipped",
        .machines = { "m1" },
        .jobs = { "a.service launched h1" },
        .decisions = { "+a.service m1 launched - why" },
        .skipped = 1,
}, {
        .name = "an entry moved by a decision is not also rewritten",
        .machines = { "m1", "m2" },
        .jobs = { "a.service loaded h1" },
        .schedule = { "a.service m1 launched h1" },
        .decisions = { "-a.service m1 gone", "+a.service m2 loaded h1 least-loaded" },
        .expect = { "-a.service m1", "+a.service m2 loaded h1" },
}, {
        .name = "garbage: contents no job, held job or entry names",
        .machines = { "m1" },
        .jobs = { "a.service launched h1" },
        .held = { "x.service h2" },
        .schedule = { "old.service m1 launched h3" },
        .units = { "h5 1", "h1 2", "h2 3", "h3 4", "h4 5" },
        .expect = { "-old.service m1" },
        .garbage = { "h4", "h5" },
}, {
        .name = "garbage: a pinned content stays (rolling update of a global unit)",
        .machines = { "m1" },
        .jobs = { "g.service launched h2" },
        .units = { "h1 1", "h2 2", "h3 3" },
        .pinned = { "h1", "h1" },
        .garbage = { "h3" },
}, {
        .name = "real scheduler: placement and state sync together",
        .run_scheduler = true,
        .machines = { "m1", "m2" },
        .jobs = { "a.service launched h1", "b.service loaded h2 | MachineOf=a.service",
                  "c.service launched h3 | MachineID=m2", "d.service loaded h4" },
        .schedule = { "d.service m2 launched h4" },
        .units = { "h1 1", "h2 1", "h3 1", "h4 1", "h9 1" },
        .expect = { "+a.service m1 launched h1", "+b.service m1 loaded h2",
                    "+c.service m2 launched h3", "~d.service m2 loaded h4" },
        .garbage = { "h9" },
}, {
        .name = "real scheduler: failover moves a MachineOf pair",
        .run_scheduler = true,
        .machines = { "m2", "m3" },
        .jobs = { "a.service launched h1", "b.service launched h2 | MachineOf=a.service",
                  "x.service launched h3" },
        .schedule = { "a.service m1 launched h1", "b.service m1 launched h2",
                      "x.service m2 launched h3" },
        .expect = { "-a.service m1", "-b.service m1", "+a.service m3 launched h1",
                    "+b.service m3 launched h2" },
}, {
        .name = "reasons: an unplaceable job gets its reason with its job revision",
        .run_scheduler = true,
        .machines = { "m1" },
        .jobs = { "a.service launched h1 | MachineID=m9", "b.service launched h2" },
        .revisions = { "a.service 5", "b.service 6" },
        .expect = { "+b.service m1 launched h2", "?a.service 5 " REASON_M9 },
}, {
        .name = "reasons: the same reason for the same job revision is not written again",
        .run_scheduler = true,
        .machines = { "m1" },
        .jobs = { "a.service launched h1 | MachineID=m9" },
        .revisions = { "a.service 5" },
        .reasons = { "a.service 5 " REASON_M9 },
}, {
        .name = "reasons: rewritten for a new job revision or a new text",
        .run_scheduler = true,
        .machines = { "m1" },
        .jobs = { "a.service launched h1 | MachineID=m9", "b.service loaded h1 | MachineID=m9" },
        .revisions = { "a.service 7", "b.service 3" },
        .reasons = { "a.service 5 " REASON_M9, "b.service 3 an old reason" },
        .expect = { "?a.service 7 " REASON_M9, "?b.service 3 " REASON_M9 },
}, {
        .name = "reasons: deleted once placed, inactive, global or gone; held jobs keep theirs",
        .run_scheduler = true,
        .machines = { "m1" },
        .jobs = { "a.service launched h1", "i.service inactive h1 | MachineID=m9",
                  "g.service launched h2 | Global=true" },
        .held = { "x.service h3" },
        .revisions = { "a.service 5", "i.service 5", "g.service 5" },
        .reasons = { "a.service 4 r", "gone.service 2 r", "i.service 5 r", "g.service 1 r",
                     "x.service 2 r" },
        .expect = { "+a.service m1 launched h1", "!a.service", "!g.service", "!gone.service",
                    "!i.service" },
}, {
        .name = "reasons: none without a known job revision",
        .run_scheduler = true,
        .machines = { "m1" },
        .jobs = { "a.service launched h1 | MachineID=m9" },
}, {
        .name = "reasons: held jobs get none",
        .machines = { "m1" },
        .held = { "x.service h3" },
        .revisions = { "x.service 3" },
},
};
/* clang-format on */

/* "h7" -> "7777...7" (40 digits); "-" -> NULL. Static storage per call slot. */
static const char *hash_of(const char *tag, char buf[static REGISTRY_HASH_LEN + 1]) {
        if (!tag || streq(tag, "-"))
                return NULL;
        ck_assert(tag[0] == 'h' && tag[1]);
        memset(buf, tag[1], REGISTRY_HASH_LEN);
        buf[REGISTRY_HASH_LEN] = '\0';
        return buf;
}

static XFleet *parse_xfleet(const char *name, char **lines) {
        _cleanup_(unit_file_freep) UnitFile *u = NULL;
        XFleet *x = NULL;

        if (!lines || !lines[0])
                return NULL;
        ck_assert_int_eq(unit_file_new(&u), 0);
        for (char **l = lines; *l; l++) {
                char *eq = strchr(*l, '=');

                ck_assert_ptr_nonnull(eq);
                *eq = '\0';
                ck_assert_int_eq(unit_file_add(u, "X-Fleet", *l, eq + 1), 0);
        }
        ck_assert_int_eq(xfleet_parse(u, name, &x), 0);
        return x;
}

/* Split "a | b | c" into trimmed parts. */
static char **split_bar(const char *s) {
        _cleanup_free_ char *copy = strdup(s);
        char **l = NULL, *save = NULL;

        for (char *t = strtok_r(copy, "|", &save); t; t = strtok_r(NULL, "|", &save)) {
                while (*t == ' ')
                        t++;
                size_t n = strlen(t);
                while (n > 0 && t[n - 1] == ' ')
                        t[--n] = '\0';
                ck_assert_int_eq(strv_extend(&l, t), 0);
        }
        return l;
}

static void add_jobs(ClusterSnapshot *s, const Case *c) {
        for (size_t i = 0; c->jobs[i]; i++) {
                _cleanup_strv_free_ char **parts = split_bar(c->jobs[i]);
                char name[64], state[16], tag[8], buf[REGISTRY_HASH_LEN + 1];

                ck_assert_int_eq(sscanf(parts[0], "%63s %15s %7s", name, state, tag), 3);
                ck_assert_int_eq(snapshot_add_job(s, name, hash_of(tag, buf),
                                                  job_state_from_string(state),
                                                  parse_xfleet(name, parts + 1)),
                                 0);
        }
}

static void add_schedule(ClusterSnapshot *s, const Case *c) {
        for (size_t i = 0; c->schedule[i]; i++) {
                char job[64], machine[64], state[16], tag[8], buf[REGISTRY_HASH_LEN + 1];

                ck_assert_int_eq(
                        sscanf(c->schedule[i], "%63s %63s %15s %7s", job, machine, state, tag), 4);
                ck_assert_int_eq(snapshot_add_schedule(s, job, machine,
                                                       job_state_from_string(state),
                                                       hash_of(tag, buf)),
                                 0);
        }
}

static ClusterSnapshot *build_snapshot(const Case *c) {
        ClusterSnapshot *s = NULL;

        ck_assert_int_eq(snapshot_new(&s), 0);
        for (size_t i = 0; c->machines[i]; i++)
                ck_assert_int_eq(snapshot_add_machine(s, c->machines[i], NULL), 0);
        add_jobs(s, c);
        add_schedule(s, c);
        return s;
}

static void parse_decision(const char *spec, SchedulerDecision *d) {
        char job[64], machine[64], state[16], tag[8], buf[REGISTRY_HASH_LEN + 1];
        const char *h;
        int n;

        if (spec[0] == '-') {
                ck_assert_int_eq(sscanf(spec + 1, "%63s %63s %n", job, machine, &n), 2);
                *d = (SchedulerDecision){.kind = SCHEDULER_UNSCHEDULE};
        } else {
                ck_assert_int_eq(
                        sscanf(spec + 1, "%63s %63s %15s %7s %n", job, machine, state, tag, &n), 4);
                *d = (SchedulerDecision){.kind = SCHEDULER_SCHEDULE,
                                         .state = job_state_from_string(state)};
                h = hash_of(tag, buf);
                d->hash = h ? strdup(h) : NULL;
        }
        d->job = strdup(job);
        d->machine = strdup(machine);
        d->reason = strdup(spec + 1 + n);
        ck_assert(d->job && d->machine && d->reason);
}

/* Results built by hand own their strings one by one (a real SchedulerResult keeps them in
 * one block that scheduler_result_free releases), so free those first. */
static void hand_result_freep(SchedulerResult **r) {
        if (!*r)
                return;
        if (!(*r)->strings)
                for (size_t i = 0; i < (*r)->n_decisions; i++) {
                        free((char *) (*r)->decisions[i].job);
                        free((char *) (*r)->decisions[i].machine);
                        free((char *) (*r)->decisions[i].hash);
                        free((char *) (*r)->decisions[i].reason);
                }
        scheduler_result_free(*r);
}

static SchedulerResult *build_result(const Case *c, const ClusterSnapshot *s) {
        SchedulerResult *res = NULL;
        size_t n = 0;

        if (c->run_scheduler) {
                ck_assert_int_eq(scheduler_run(s, &res), 0);
                return res;
        }
        while (c->decisions[n])
                n++;
        res = calloc(1, sizeof(*res));
        ck_assert_ptr_nonnull(res);
        res->decisions = calloc(n + 1, sizeof(*res->decisions));
        ck_assert_ptr_nonnull(res->decisions);
        for (size_t i = 0; i < n; i++) {
                parse_decision(c->decisions[i], &res->decisions[i]);
                res->n_decisions++;
        }
        return res;
}

static char *op_to_string(const ReconcileOp *op) {
        char *s = NULL;

        if (op->kind == RECONCILE_OP_REASON) {
                ck_assert_ptr_null(op->machine_id);
                if (op->put)
                        ck_assert_int_ge(asprintf(&s, "?%s %lld %s", op->name,
                                                  (long long) op->job_revision, op->reason),
                                         0);
                else
                        ck_assert_int_ge(asprintf(&s, "!%s", op->name), 0);
                return s;
        }
        if (op->put)
                ck_assert_int_ge(asprintf(&s, "%c%s %s %s h%c",
                                          op->kind == RECONCILE_OP_SCHEDULE ? '+' : '~', op->name,
                                          op->machine_id,
                                          job_state_to_string(op->target.desired_state),
                                          op->target.hash[0]),
                                 0);
        else
                ck_assert_int_ge(asprintf(&s, "-%s %s", op->name, op->machine_id), 0);
        return s;
}

/* Storage for the units and held arrays of one case. */
typedef struct Inputs {
        ReconcileUnit units[MAXL];
        char unit_hashes[MAXL][REGISTRY_HASH_LEN + 1];
        ReconcileHeldJob held[MAXL];
        char held_names[MAXL][64];
        char held_hashes[MAXL][REGISTRY_HASH_LEN + 1];
        size_t n_units, n_held;
        ReconcileReason reasons[MAXL], revisions[MAXL];
        char reason_names[MAXL][64], revision_names[MAXL][64];
        size_t n_reasons, n_revisions;
        const char *pinned[MAXL];
        char pinned_hashes[MAXL][REGISTRY_HASH_LEN + 1];
        size_t n_pinned;
} Inputs;

static void build_inputs(const Case *c, Inputs *in) {
        for (size_t i = 0; c->pinned[i]; i++)
                in->pinned[in->n_pinned++] = hash_of(c->pinned[i], in->pinned_hashes[i]);
        for (size_t i = 0; c->units[i]; i++) {
                char tag[8];
                long long rev;

                ck_assert_int_eq(sscanf(c->units[i], "%7s %lld", tag, &rev), 2);
                in->units[i] = (ReconcileUnit){hash_of(tag, in->unit_hashes[i]), rev};
                in->n_units++;
        }
        for (size_t i = 0; c->held[i]; i++) {
                char tag[8];

                ck_assert_int_eq(sscanf(c->held[i], "%63s %7s", in->held_names[i], tag), 2);
                in->held[i] =
                        (ReconcileHeldJob){in->held_names[i], hash_of(tag, in->held_hashes[i])};
                in->n_held++;
        }
        for (size_t i = 0; c->reasons[i]; i++) {
                long long rev;
                int n;

                ck_assert_int_eq(
                        sscanf(c->reasons[i], "%63s %lld %n", in->reason_names[i], &rev, &n), 2);
                in->reasons[i] = (ReconcileReason){in->reason_names[i], c->reasons[i] + n, rev};
                in->n_reasons++;
        }
        for (size_t i = 0; c->revisions[i]; i++) {
                long long rev;

                ck_assert_int_eq(sscanf(c->revisions[i], "%63s %lld", in->revision_names[i], &rev),
                                 2);
                in->revisions[i] = (ReconcileReason){in->revision_names[i], NULL, rev};
                in->n_revisions++;
        }
}

static void check_plan(const Case *c, const ReconcilePlan *p) {
        size_t n_expect = 0, n_garbage = 0;

        while (c->expect[n_expect])
                n_expect++;
        while (c->garbage[n_garbage])
                n_garbage++;
        for (size_t i = 0; i < p->n_ops; i++) {
                _cleanup_free_ char *s = op_to_string(&p->ops[i]);

                ck_assert_msg(i < n_expect && streq(s, c->expect[i]), "%s: op %zu is %s", c->name,
                              i, s);
                ck_assert_ptr_nonnull(p->ops[i].reason);
        }
        ck_assert_msg(p->n_ops == n_expect, "%s: %zu ops, expected %zu", c->name, p->n_ops,
                      n_expect);
        ck_assert_uint_eq(p->n_schedule + p->n_unschedule + p->n_update + p->n_reason, p->n_ops);
        ck_assert_msg(p->n_garbage == n_garbage, "%s: %zu garbage", c->name, p->n_garbage);
        for (size_t i = 0; i < n_garbage; i++)
                ck_assert_msg(p->garbage[i].hash[0] == c->garbage[i][1], "%s: garbage %zu", c->name,
                              i);
        ck_assert_msg(p->n_skipped == c->skipped, "%s: %zu skipped", c->name, p->n_skipped);
}

START_TEST(test_cases) {
        const Case *c = &cases[_i];
        _cleanup_(snapshot_freep) ClusterSnapshot *s = build_snapshot(c);
        _cleanup_(hand_result_freep) SchedulerResult *res = build_result(c, s);
        _cleanup_(reconcile_plan_freep) ReconcilePlan *p = NULL;
        Inputs in = {};
        ReconcileInput ri;

        build_inputs(c, &in);
        ri = (ReconcileInput){s,         res,        in.units,     in.n_units,   in.held,
                              in.n_held, in.reasons, in.n_reasons, in.revisions, in.n_revisions,
                              in.pinned, in.n_pinned};
        ck_assert_int_eq(reconcile_plan(&ri, &p), 0);
        check_plan(c, p);
}
END_TEST

START_TEST(test_batches) {
        _cleanup_(snapshot_freep) ClusterSnapshot *s = NULL;
        _cleanup_(scheduler_result_freep) SchedulerResult *res = NULL;
        _cleanup_(reconcile_plan_freep) ReconcilePlan *p = NULL;
        ReconcileInput ri = {};
        size_t start, n, total = 0;
        char name[32];

        ck_assert_int_eq(snapshot_new(&s), 0);
        ck_assert_int_eq(snapshot_add_machine(s, "m1", NULL), 0);
        ck_assert_int_eq(snapshot_add_machine(s, "m2", NULL), 0);
        for (int i = 0; i < 300; i++) {
                (void) snprintf(name, sizeof(name), "u%03d.service", i);
                ck_assert_int_eq(snapshot_add_job(s, name,
                                                  "0123456789abcdef0123456789abcdef01234567",
                                                  JOB_STATE_LAUNCHED, NULL),
                                 0);
        }
        ck_assert_int_eq(scheduler_run(s, &res), 0);
        ck_assert_uint_eq(res->n_decisions, 300);
        ri.snapshot = s;
        ri.result = res;
        ck_assert_int_eq(reconcile_plan(&ri, &p), 0);
        ck_assert_uint_eq(p->n_ops, 300);
        ck_assert_uint_eq(p->n_schedule, 300);
        ck_assert_uint_eq(reconcile_plan_n_batches(p), 3);
        for (size_t b = 0; b < 3; b++) {
                reconcile_plan_batch(p, b, &start, &n);
                ck_assert_uint_eq(start, total);
                ck_assert_uint_le(n, RECONCILE_MAX_BATCH);
                total += n;
        }
        ck_assert_uint_eq(total, 300);
        reconcile_plan_batch(p, 2, &start, &n);
        ck_assert_uint_eq(n, 300 - 2 * RECONCILE_MAX_BATCH);
        /* Every key appears once in the whole plan (so once per txn). */
        for (size_t i = 1; i < p->n_ops; i++)
                ck_assert_str_ne(p->ops[i].name, p->ops[i - 1].name);
}
END_TEST

START_TEST(test_empty_and_errors) {
        _cleanup_(snapshot_freep) ClusterSnapshot *s = NULL;
        _cleanup_(reconcile_plan_freep) ReconcilePlan *p = NULL;
        SchedulerResult res = {};
        ReconcileInput ri = {};

        ck_assert_int_eq(reconcile_plan(&ri, &p), -EINVAL);
        ck_assert_ptr_null(p);
        ck_assert_int_eq(snapshot_new(&s), 0);
        ri.snapshot = s;
        ri.result = &res;
        ck_assert_int_eq(reconcile_plan(&ri, &p), 0);
        ck_assert_uint_eq(p->n_ops, 0);
        ck_assert_uint_eq(p->n_garbage, 0);
        ck_assert_uint_eq(reconcile_plan_n_batches(p), 0);
        ck_assert_str_eq(reconcile_op_kind_to_string(RECONCILE_OP_UPDATE), "update");
        ck_assert_ptr_null(reconcile_op_kind_to_string(_RECONCILE_OP_KIND_MAX));
}
END_TEST

static Suite *reconciler_suite(void) {
        Suite *s = suite_create("engine-reconciler");
        TCase *tc = tcase_create("plan");

        tcase_add_loop_test(tc, test_cases, 0, (int) ELEMENTSOF(cases));
        tcase_add_test(tc, test_batches);
        tcase_add_test(tc, test_empty_and_errors);
        suite_add_tcase(s, tc);
        return s;
}

FLEET_TEST_MAIN(reconciler_suite)
