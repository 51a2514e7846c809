/* SPDX-License-Identifier: MIT */
#include "agent-metrics.h"
#include "metrics-text.h"
#include "reconcile.h"

static void write_by_task_type(FILE *f, const char *name, const char *help,
                               const uint64_t *values) {
        metrics_family(f, name, "counter", help);
        for (int t = 0; t < _AGENT_TASK_TYPE_MAX; t++) {
                char labels[64];

                (void) snprintf(labels, sizeof(labels), "type=\"%s\"",
                                agent_task_type_to_string(t));
                metrics_sample_u64(f, name, labels, values[t]);
        }
}

void agent_metrics_write(const AgentStats *s, FILE *f) {
        _Static_assert(_AGENT_TASK_TYPE_MAX <= ELEMENTSOF(s->tasks), "AgentStats.tasks");

        write_by_task_type(f, "fleet_agent_task_count_total", "Agent tasks completed, by type.",
                           s->tasks);
        write_by_task_type(f, "fleet_agent_task_failure_count_total",
                           "Agent tasks failed, by type.", s->task_failures);
        metrics_family(f, "fleet_agent_units", "gauge", "Units this agent has loaded or launched.");
        metrics_sample_u64(f, "fleet_agent_units", "state=\"loaded\"", s->units_loaded);
        metrics_sample_u64(f, "fleet_agent_units", "state=\"launched\"", s->units_launched);
        metrics_counter(f, "fleet_agent_reconcile_count_total", "Reconcile passes computed.",
                        s->passes);
        metrics_gauge(f, "fleet_agent_registered",
                      "Whether this machine is registered in etcd on a live lease.",
                      s->registered ? 1 : 0);
        metrics_counter(f, "fleet_agent_registration_count_total",
                        "Times this machine registered in etcd.", s->registrations);
        metrics_counter(f, "fleet_agent_registration_refused_count_total",
                        "Registrations refused (another machine holds this machine ID).",
                        s->refusals);
        metrics_counter(f, "fleet_agent_fence_count_total",
                        "Times the lease was found gone and movable units were stopped.",
                        s->fences);
        metrics_counter(f, "fleet_agent_freeze_count_total",
                        "Times the lease deadline passed and movable units were frozen.",
                        s->freezes);
        metrics_gauge(f, "fleet_agent_units_frozen",
                      "Units frozen now, waiting for etcd to confirm or deny the lease.",
                      s->units_frozen);
        metrics_counter(f, "fleet_agent_quorum_question_count_total",
                        "Times this agent asked its peers whether they reach etcd.",
                        s->quorum_asks);
        metrics_gauge(f, "fleet_agent_quorum_holding",
                      "Whether etcd is down for the majority and units keep running unfrozen.",
                      s->holding ? 1 : 0);
        metrics_counter(f, "fleet_agent_keepalive_count_total", "Lease keepalives that succeeded.",
                        s->keepalives);
        metrics_counter(f, "fleet_agent_keepalive_failure_count_total",
                        "Lease keepalives that failed.", s->keepalive_errors);
        metrics_family(f, "fleet_agent_state_publish_count_total", "counter",
                       "Unit states written to or deleted from etcd.");
        metrics_sample_u64(f, "fleet_agent_state_publish_count_total", "op=\"put\"", s->state_puts);
        metrics_sample_u64(f, "fleet_agent_state_publish_count_total", "op=\"delete\"",
                           s->state_deletes);
        metrics_counter(f, "fleet_agent_state_publish_failure_count_total",
                        "Unit state writes that failed.", s->state_errors);
}
