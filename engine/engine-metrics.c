/* SPDX-License-Identifier: MIT */
#include "engine-metrics.h"
#include "metrics-text.h"

void engine_metrics_write(const EngineStats *s, FILE *f) {
        metrics_gauge(f, "fleet_engine_leader", "Whether this engine is the leader.",
                      s->is_leader ? 1 : 0);
        metrics_gauge(f, "fleet_engine_term",
                      "The leader key's create revision while this engine leads, else 0.", s->term);
        metrics_counter(f, "fleet_engine_terms_won_total", "Times this engine became leader.",
                        s->terms_won);
        metrics_counter(f, "fleet_engine_reconcile_count_total", "Scheduling passes computed.",
                        s->passes);

        metrics_family(f, "fleet_engine_task_count_total", "counter",
                       "Schedule changes committed, by type.");
        metrics_sample_u64(f, "fleet_engine_task_count_total", "type=\"schedule\"",
                           s->schedules_applied);
        metrics_sample_u64(f, "fleet_engine_task_count_total", "type=\"unschedule\"",
                           s->unschedules_applied);
        metrics_sample_u64(f, "fleet_engine_task_count_total", "type=\"update\"",
                           s->updates_applied);

        metrics_family(f, "fleet_engine_task_failure_count_total", "counter",
                       "Schedule txns that failed, by cause.");
        metrics_sample_u64(f, "fleet_engine_task_failure_count_total", "type=\"txn\"",
                           s->txn_failures);
        metrics_sample_u64(f, "fleet_engine_task_failure_count_total", "type=\"fenced\"",
                           s->fenced_rejections);

        metrics_counter(f, "fleet_engine_units_collected_total",
                        "Unit contents no job references any more, deleted.", s->units_collected);
        metrics_counter(f, "fleet_engine_resync_count_total", "Full listings of the registry.",
                        s->resyncs);
        metrics_gauge(f, "fleet_engine_unscheduled_jobs", "Jobs the last pass could not place.",
                      (int64_t) s->unscheduled_jobs);
        metrics_family(f, "fleet_engine_last_pass_seconds", "gauge",
                       "Compute time of the last pass (snapshot, scheduler, plan).");
        metrics_sample_seconds(f, "fleet_engine_last_pass_seconds", NULL, s->last_pass_usec);
}
