/* SPDX-License-Identifier: MIT */
#include <inttypes.h>

#include "engine-metrics.h"

void metrics_write_engine(const EngineStats *s, FILE *f) {
        fprintf(f,
                "# HELP fleet_engine_leader Whether this engine is the leader.\n"
                "# TYPE fleet_engine_leader gauge\n"
                "fleet_engine_leader %d\n"
                "# TYPE fleet_engine_term gauge\n"
                "fleet_engine_term %" PRId64 "\n"
                "# TYPE fleet_engine_terms_won_total counter\n"
                "fleet_engine_terms_won_total %" PRIu64 "\n"
                "# HELP fleet_engine_reconcile_count_total Scheduling passes computed.\n"
                "# TYPE fleet_engine_reconcile_count_total counter\n"
                "fleet_engine_reconcile_count_total %" PRIu64 "\n"
                "# HELP fleet_engine_task_count_total Schedule changes committed, by type.\n"
                "# TYPE fleet_engine_task_count_total counter\n"
                "fleet_engine_task_count_total{type=\"schedule\"} %" PRIu64 "\n"
                "fleet_engine_task_count_total{type=\"unschedule\"} %" PRIu64 "\n"
                "fleet_engine_task_count_total{type=\"update\"} %" PRIu64 "\n"
                "# TYPE fleet_engine_task_failure_count_total counter\n"
                "fleet_engine_task_failure_count_total{type=\"txn\"} %" PRIu64 "\n"
                "fleet_engine_task_failure_count_total{type=\"fenced\"} %" PRIu64 "\n"
                "# TYPE fleet_engine_units_collected_total counter\n"
                "fleet_engine_units_collected_total %" PRIu64 "\n"
                "# TYPE fleet_engine_resync_count_total counter\n"
                "fleet_engine_resync_count_total %" PRIu64 "\n"
                "# TYPE fleet_engine_unscheduled_jobs gauge\n"
                "fleet_engine_unscheduled_jobs %" PRIu64 "\n"
                "# TYPE fleet_engine_last_pass_seconds gauge\n"
                "fleet_engine_last_pass_seconds %.6f\n",
                s->is_leader ? 1 : 0, s->term, s->terms_won, s->passes, s->schedules_applied,
                s->unschedules_applied, s->updates_applied, s->txn_failures, s->fenced_rejections,
                s->units_collected, s->resyncs, s->unscheduled_jobs,
                (double) s->last_pass_usec / 1e6);
}
