/* SPDX-License-Identifier: MIT */
#include <stdlib.h>
#include <string.h>

#include "engine-metrics.h"
#include "metrics-text.h"

static void write_fleet_metrics(const EngineStats *s, FILE *f) {
        /* reference 10. fleet *adds* the epoch on every acquisition (a bug); this is the
         * epoch of the last one, as its help text says. It stays after leadership is lost. */
        metrics_gauge(f, "fleet_engine_leader_start_time",
                      "Start time of becoming an engine leader since epoch in seconds.",
                      (int64_t) (s->leader_start_realtime / USEC_PER_SEC));

        metrics_family(f, "fleet_engine_task_count_total", "counter",
                       "Counter of engine schedule tasks.");
        metrics_sample_u64(f, "fleet_engine_task_count_total", "type=\"attemptscheduleunit\"",
                           s->schedules_applied + s->schedule_failures);
        metrics_sample_u64(f, "fleet_engine_task_count_total", "type=\"unscheduleunit\"",
                           s->unschedules_applied + s->unschedule_failures);

        metrics_family(f, "fleet_engine_task_failure_count_total", "counter",
                       "Counter of engine schedule task failures.");
        metrics_sample_u64(f, "fleet_engine_task_failure_count_total",
                           "type=\"attemptscheduleunit\"", s->schedule_failures);
        metrics_sample_u64(f, "fleet_engine_task_failure_count_total", "type=\"unscheduleunit\"",
                           s->unschedule_failures);

        metrics_counter(f, "fleet_engine_reconcile_count_total", "Counter of reconcile rounds.",
                        s->passes);

        metrics_family(f, "fleet_engine_reconcile_failure_count_total", "counter",
                       "Counter of scheduling failures.");
        metrics_sample_u64(f, "fleet_engine_reconcile_failure_count_total", "type=\"machine_away\"",
                           s->reconcile_machine_away);
        metrics_sample_u64(f, "fleet_engine_reconcile_failure_count_total", "type=\"run\"",
                           s->reconcile_run);
        metrics_sample_u64(f, "fleet_engine_reconcile_failure_count_total", "type=\"schedule\"",
                           s->reconcile_schedule);
}

void engine_metrics_write(const EngineStats *s, FILE *f) {
        write_fleet_metrics(s, f);

        metrics_gauge(f, "fleet_engine_leader", "Whether this engine is the leader.",
                      s->is_leader ? 1 : 0);
        metrics_gauge(f, "fleet_engine_term",
                      "The leader key's create revision while this engine leads, else 0.", s->term);
        metrics_counter(f, "fleet_engine_terms_won_total", "Times this engine became leader.",
                        s->terms_won);

        metrics_family(f, "fleet_engine_schedule_changes_total", "counter",
                       "Schedule entries committed to etcd, by kind.");
        metrics_sample_u64(f, "fleet_engine_schedule_changes_total", "type=\"schedule\"",
                           s->schedules_applied);
        metrics_sample_u64(f, "fleet_engine_schedule_changes_total", "type=\"unschedule\"",
                           s->unschedules_applied);
        metrics_sample_u64(f, "fleet_engine_schedule_changes_total", "type=\"update\"",
                           s->updates_applied);

        metrics_family(f, "fleet_engine_schedule_txn_failures_total", "counter",
                       "Schedule txns that failed, by cause.");
        metrics_sample_u64(f, "fleet_engine_schedule_txn_failures_total", "cause=\"txn\"",
                           s->txn_failures);
        metrics_sample_u64(f, "fleet_engine_schedule_txn_failures_total", "cause=\"fenced\"",
                           s->fenced_rejections);

        metrics_counter(f, "fleet_engine_units_collected_total",
                        "Unit contents no job references any more, deleted.", s->units_collected);
        metrics_counter(f, "fleet_engine_resync_count_total", "Full listings of the registry.",
                        s->resyncs);
        metrics_gauge(f, "fleet_engine_machines_held",
                      "Machines without a lease whose units the majority rule holds in place.",
                      (int64_t) s->machines_held);
        metrics_gauge(f, "fleet_engine_unscheduled_jobs", "Jobs the last pass could not place.",
                      (int64_t) s->unscheduled_jobs);
        metrics_family(f, "fleet_engine_last_pass_seconds", "gauge",
                       "Compute time of the last pass (snapshot, scheduler, plan).");
        metrics_sample_seconds(f, "fleet_engine_last_pass_seconds", NULL, s->last_pass_usec);
}

static int cmp_str(const void *a, const void *b) {
        return strcmp(*(const char *const *) a, *(const char *const *) b);
}

static int cmp_job_name(const void *a, const void *b) {
        return strcmp(((const SnapshotJob *const *) a)[0]->name,
                      ((const SnapshotJob *const *) b)[0]->name);
}

/* Does the job named name exist with a desired state other than inactive? jobs is sorted. */
static bool job_wants_to_run(const SnapshotJob *const *jobs, size_t n, const char *name) {
        const SnapshotJob key = {.name = (char *) name}, *k = &key;
        const SnapshotJob *const *j = bsearch(&k, jobs, n, sizeof(jobs[0]), cmp_job_name);

        return j && (*j)->state != JOB_STATE_INACTIVE;
}

int engine_stats_count_pass(EngineStats *s, const ClusterSnapshot *snap,
                            const SchedulerResult *res) {
        _cleanup_free_ const char **machines = NULL;
        _cleanup_free_ const SnapshotJob **jobs = NULL;
        size_t n_unschedule = 0;

        for (size_t i = 0; i < res->n_decisions; i++)
                n_unschedule += res->decisions[i].kind == SCHEDULER_UNSCHEDULE;
        if (n_unschedule > 0) {
                /* sorted lookups: a failover can unschedule thousands of units at once */
                machines = calloc(MAX(snap->n_machines, 1u), sizeof(char *));
                jobs = calloc(MAX(snap->n_jobs, 1u), sizeof(SnapshotJob *));
                if (!machines || !jobs)
                        return -ENOMEM;
                for (size_t i = 0; i < snap->n_machines; i++)
                        machines[i] = snap->machines[i].id;
                for (size_t i = 0; i < snap->n_jobs; i++)
                        jobs[i] = &snap->jobs[i];
                qsort(machines, snap->n_machines, sizeof(machines[0]), cmp_str);
                qsort(jobs, snap->n_jobs, sizeof(jobs[0]), cmp_job_name);
        }
        for (size_t i = 0; i < res->n_decisions; i++) {
                const SchedulerDecision *d = &res->decisions[i];

                if (d->kind != SCHEDULER_UNSCHEDULE)
                        continue;
                if (!bsearch(&d->machine, machines, snap->n_machines, sizeof(machines[0]), cmp_str))
                        s->reconcile_machine_away++;
                else if (job_wants_to_run(jobs, snap->n_jobs, d->job))
                        s->reconcile_run++;
        }
        s->reconcile_schedule += res->n_unscheduled;
        return 0;
}

void engine_stats_count_failed_batch(EngineStats *s, const ReconcileOp *ops, size_t n) {
        for (size_t i = 0; i < n; i++)
                if (ops[i].kind == RECONCILE_OP_SCHEDULE)
                        s->schedule_failures++;
                else if (ops[i].kind == RECONCILE_OP_UNSCHEDULE)
                        s->unschedule_failures++;
}
