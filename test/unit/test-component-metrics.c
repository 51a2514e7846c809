/* SPDX-License-Identifier: MIT */
/* The engine's and the agent's parts of /metrics, and the text writer they share. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "agent-metrics.h"
#include "engine-metrics.h"
#include "metrics-text.h"
#include "reconcile.h"
#include "test-util.h"

typedef struct Render {
        char *text;
        size_t len;
        FILE *f;
} Render;

static FILE *render_begin(Render *r) {
        *r = (Render){};
        r->f = open_memstream(&r->text, &r->len);
        ck_assert_ptr_nonnull(r->f);
        return r->f;
}

static char *render_end(Render *r) {
        ck_assert_int_eq(fclose(r->f), 0);
        return r->text;
}

static void assert_line(const char *text, const char *line) {
        _cleanup_free_ char *needle = NULL;

        ck_assert_int_ge(asprintf(&needle, "\n%s\n", line), 0);
        ck_assert_msg(strstr(text, needle) || strneq(text, needle + 1, strlen(needle + 1)),
                      "missing line '%s' in:\n%s", line, text);
}

/* Every sample's family was declared (HELP and TYPE) before it. */
static void assert_families_declared(const char *text) {
        _cleanup_free_ char *copy = strdup(text);
        char *save = NULL;

        ck_assert_ptr_nonnull(copy);
        for (char *l = strtok_r(copy, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
                _cleanup_free_ char *help = NULL, *type = NULL;
                size_t n = strcspn(l, "{ ");

                if (l[0] == '#')
                        continue;
                ck_assert_int_ge(asprintf(&help, "# HELP %.*s ", (int) n, l), 0);
                ck_assert_int_ge(asprintf(&type, "# TYPE %.*s ", (int) n, l), 0);
                ck_assert_msg(strstr(text, help) && strstr(text, type), "undeclared: %s", l);
        }
}

START_TEST(test_text) {
        Render r;
        FILE *f = render_begin(&r);
        char *t;

        metrics_counter(f, "a_total", "A.", 3);
        metrics_gauge(f, "b", "B.", -2);
        metrics_family(f, "c_seconds", "gauge", "C.");
        metrics_sample_seconds(f, "c_seconds", "x=\"1\"", 1250000);
        t = render_end(&r);
        ck_assert_str_eq(t, "# HELP a_total A.\n# TYPE a_total counter\na_total 3\n"
                            "# HELP b B.\n# TYPE b gauge\nb -2\n"
                            "# HELP c_seconds C.\n# TYPE c_seconds gauge\n"
                            "c_seconds{x=\"1\"} 1.250000\n");
        free(t);
}
END_TEST

START_TEST(test_engine) {
        EngineStats s = {.is_leader = true,
                         .term = 42,
                         .passes = 7,
                         .schedules_applied = 5,
                         .unschedules_applied = 2,
                         .updates_applied = 3,
                         .fenced_rejections = 1,
                         .last_pass_usec = 1500,
                         .leader_start_realtime = 1765000000 * USEC_PER_SEC + 999999,
                         .schedule_failures = 4,
                         .unschedule_failures = 1,
                         .reconcile_machine_away = 6,
                         .reconcile_run = 8,
                         .reconcile_schedule = 9};
        Render r;
        char *t;

        engine_metrics_write(&s, render_begin(&r));
        t = render_end(&r);
        /* fleet's names, types, help texts, labels and meanings (reference 10) */
        assert_line(t, "# HELP fleet_engine_leader_start_time Start time of becoming an engine "
                       "leader since epoch in seconds.");
        assert_line(t, "# TYPE fleet_engine_leader_start_time gauge");
        assert_line(t, "fleet_engine_leader_start_time 1765000000");
        assert_line(t, "# TYPE fleet_engine_task_count_total counter");
        assert_line(t, "fleet_engine_task_count_total{type=\"attemptscheduleunit\"} 9");
        assert_line(t, "fleet_engine_task_count_total{type=\"unscheduleunit\"} 3");
        assert_line(t, "# TYPE fleet_engine_task_failure_count_total counter");
        assert_line(t, "fleet_engine_task_failure_count_total{type=\"attemptscheduleunit\"} 4");
        assert_line(t, "fleet_engine_task_failure_count_total{type=\"unscheduleunit\"} 1");
        assert_line(t, "# TYPE fleet_engine_reconcile_count_total counter");
        assert_line(t, "fleet_engine_reconcile_count_total 7");
        assert_line(t, "# TYPE fleet_engine_reconcile_failure_count_total counter");
        assert_line(t, "fleet_engine_reconcile_failure_count_total{type=\"machine_away\"} 6");
        assert_line(t, "fleet_engine_reconcile_failure_count_total{type=\"run\"} 8");
        assert_line(t, "fleet_engine_reconcile_failure_count_total{type=\"schedule\"} 9");
        /* fleet-c's own */
        assert_line(t, "fleet_engine_leader 1");
        assert_line(t, "fleet_engine_term 42");
        assert_line(t, "fleet_engine_schedule_changes_total{type=\"schedule\"} 5");
        assert_line(t, "fleet_engine_schedule_changes_total{type=\"unschedule\"} 2");
        assert_line(t, "fleet_engine_schedule_changes_total{type=\"update\"} 3");
        assert_line(t, "fleet_engine_schedule_txn_failures_total{cause=\"fenced\"} 1");
        assert_line(t, "fleet_engine_last_pass_seconds 0.001500");
        assert_families_declared(t);
        free(t);
}
END_TEST

/* Never a leader: fleet's gauge reads 0, every labelled counter is there at 0. */
START_TEST(test_engine_zero) {
        EngineStats s = {};
        Render r;
        char *t;

        engine_metrics_write(&s, render_begin(&r));
        t = render_end(&r);
        assert_line(t, "fleet_engine_leader_start_time 0");
        assert_line(t, "fleet_engine_task_count_total{type=\"attemptscheduleunit\"} 0");
        assert_line(t, "fleet_engine_reconcile_failure_count_total{type=\"schedule\"} 0");
        free(t);
}
END_TEST

static SchedulerDecision decision(SchedulerDecisionKind kind, const char *job, const char *m) {
        return (SchedulerDecision){.kind = kind,
                                   .job = (char *) job,
                                   .machine = (char *) m,
                                   .reason = (char *) "test"};
}

START_TEST(test_engine_count_pass) {
        _cleanup_(snapshot_freep) ClusterSnapshot *snap = NULL;
        SchedulerDecision d[] = {
                decision(SCHEDULER_UNSCHEDULE, "away.service", "m9"),    /* machine gone */
                decision(SCHEDULER_UNSCHEDULE, "away2.service", "m8"),   /* machine gone */
                decision(SCHEDULER_UNSCHEDULE, "run.service", "m1"),     /* can't run there */
                decision(SCHEDULER_UNSCHEDULE, "idle.service", "m2"),    /* inactive: no fault */
                decision(SCHEDULER_UNSCHEDULE, "deleted.service", "m2"), /* job gone: no fault */
                decision(SCHEDULER_SCHEDULE, "away.service", "m1"),
        };
        SchedulerUnscheduled u[] = {{(char *) "x.service", (char *) "no machine"},
                                    {(char *) "y.service", (char *) "no machine"}};
        SchedulerResult res = {.decisions = d,
                               .n_decisions = ELEMENTSOF(d),
                               .unscheduled = u,
                               .n_unscheduled = ELEMENTSOF(u)};
        EngineStats s = {.reconcile_schedule = 1};

        ck_assert_int_eq(snapshot_new(&snap), 0);
        ck_assert_int_eq(snapshot_add_machine(snap, "m2", NULL), 0);
        ck_assert_int_eq(snapshot_add_machine(snap, "m1", NULL), 0);
        ck_assert_int_eq(snapshot_add_job(snap, "run.service", "h", JOB_STATE_LAUNCHED, NULL), 0);
        ck_assert_int_eq(snapshot_add_job(snap, "away.service", "h", JOB_STATE_LOADED, NULL), 0);
        ck_assert_int_eq(snapshot_add_job(snap, "idle.service", "h", JOB_STATE_INACTIVE, NULL), 0);
        ck_assert_int_eq(engine_stats_count_pass(&s, snap, &res), 0);
        ck_assert_uint_eq(s.reconcile_machine_away, 2);
        ck_assert_uint_eq(s.reconcile_run, 1);
        ck_assert_uint_eq(s.reconcile_schedule, 3); /* summed over passes */

        /* no decisions, an empty snapshot */
        res = (SchedulerResult){};
        ck_assert_int_eq(engine_stats_count_pass(&s, snap, &res), 0);
        ck_assert_uint_eq(s.reconcile_machine_away, 2);
        ck_assert_uint_eq(s.reconcile_schedule, 3);
}
END_TEST

START_TEST(test_engine_count_failed_batch) {
        ReconcileOp ops[] = {{.kind = RECONCILE_OP_SCHEDULE},
                             {.kind = RECONCILE_OP_UNSCHEDULE},
                             {.kind = RECONCILE_OP_SCHEDULE},
                             {.kind = RECONCILE_OP_UPDATE}};
        EngineStats s = {};

        engine_stats_count_failed_batch(&s, ops, ELEMENTSOF(ops));
        ck_assert_uint_eq(s.schedule_failures, 2);
        ck_assert_uint_eq(s.unschedule_failures, 1);
}
END_TEST

START_TEST(test_agent) {
        AgentStats s = {
                .passes = 3, .registered = true, .fences = 1, .units_launched = 4, .state_puts = 9};
        Render r;
        char *t;

        s.tasks[AGENT_TASK_START] = 6;
        agent_metrics_write(&s, render_begin(&r));
        t = render_end(&r);
        assert_line(t, "fleet_agent_reconcile_count_total 3");
        assert_line(t, "fleet_agent_registered 1");
        assert_line(t, "fleet_agent_fence_count_total 1");
        assert_line(t, "fleet_agent_units{state=\"launched\"} 4");
        assert_line(t, "fleet_agent_state_publish_count_total{op=\"put\"} 9");
        ck_assert_ptr_nonnull(strstr(t, "fleet_agent_task_count_total{type=\""));
        assert_families_declared(t);
        free(t);
}
END_TEST

static Suite *suite(void) {
        Suite *s = suite_create("component-metrics");
        TCase *tc = tcase_create("core");

        tcase_add_test(tc, test_text);
        tcase_add_test(tc, test_engine);
        tcase_add_test(tc, test_engine_zero);
        tcase_add_test(tc, test_engine_count_pass);
        tcase_add_test(tc, test_engine_count_failed_batch);
        tcase_add_test(tc, test_agent);
        suite_add_tcase(s, tc);
        return s;
}

FLEET_TEST_MAIN(suite)
