/* SPDX-License-Identifier: MIT */
#include <inttypes.h>

#include "api-metrics.h"
#include "metrics-text.h"

static const unsigned codes[] = {API_METRICS_CODES};

_Static_assert(ELEMENTSOF(codes) + 1 == API_METRICS_N_CODES, "API_METRICS_N_CODES");

unsigned api_metrics_code_index(unsigned status) {
        for (unsigned i = 0; i < ELEMENTSOF(codes); i++)
                if (codes[i] == status)
                        return i;
        return API_METRICS_N_CODES - 1;
}

static void write_units(FILE *f, const ApiMetrics *m) {
        metrics_family(f, "fleet_units", "gauge", "Units in the registry.");
        fprintf(f, "fleet_units %zu\n", m->units.total);
        metrics_family(f, "fleet_units_global", "gauge", "Global units in the registry.");
        fprintf(f, "fleet_units_global %zu\n", m->units.global);
        metrics_family(f, "fleet_units_desired_state", "gauge", "Units by desired state.");
        for (JobState s = 0; s < _JOB_STATE_MAX; s++)
                fprintf(f, "fleet_units_desired_state{state=\"%s\"} %zu\n", job_state_to_string(s),
                        m->units.desired[s]);
        metrics_family(f, "fleet_units_current_state", "gauge",
                       "Units by current state (global units count as inactive).");
        for (JobState s = 0; s < _JOB_STATE_MAX; s++)
                fprintf(f, "fleet_units_current_state{state=\"%s\"} %zu\n", job_state_to_string(s),
                        m->units.current[s]);
        metrics_family(f, "fleet_machines", "gauge", "Machines present in the registry.");
        fprintf(f, "fleet_machines %zu\n", m->machines);
}

typedef enum EtcdField {
        FIELD_REQUESTS,
        FIELD_ERRORS,
        FIELD_ATTEMPTS,
        FIELD_LATENCY_SUM,
        FIELD_LATENCY_MAX,
} EtcdField;

static void write_etcd_op_metric(FILE *f, const ApiMetrics *m, const char *name, const char *type,
                                 const char *help, EtcdField field) {
        metrics_family(f, name, type, help);
        for (int t = 0; t < _ETCD_REQUEST_TYPE_MAX; t++) {
                const EtcdOpStats *o = &m->etcd->ops[t];

                if (!m->etcd_op_names[t])
                        continue;
                fprintf(f, "%s{op=\"%s\"} ", name, m->etcd_op_names[t]);
                switch (field) {
                case FIELD_REQUESTS:
                        fprintf(f, "%" PRIu64 "\n", o->requests);
                        break;
                case FIELD_ERRORS:
                        fprintf(f, "%" PRIu64 "\n", o->errors);
                        break;
                case FIELD_ATTEMPTS:
                        fprintf(f, "%" PRIu64 "\n", o->attempts);
                        break;
                case FIELD_LATENCY_SUM:
                        fprintf(f, "%" PRIu64 ".%06" PRIu64 "\n", o->latency_usec_sum / 1000000,
                                o->latency_usec_sum % 1000000);
                        break;
                case FIELD_LATENCY_MAX:
                        fprintf(f, "%" PRIu64 ".%06" PRIu64 "\n", o->latency_usec_max / 1000000,
                                o->latency_usec_max % 1000000);
                        break;
                }
        }
}

static void write_etcd(FILE *f, const ApiMetrics *m) {
        write_etcd_op_metric(f, m, "fleet_etcd_requests_total", "counter",
                             "etcd requests completed, by operation.", FIELD_REQUESTS);
        write_etcd_op_metric(f, m, "fleet_etcd_request_errors_total", "counter",
                             "etcd requests that failed, by operation.", FIELD_ERRORS);
        write_etcd_op_metric(f, m, "fleet_etcd_request_attempts_total", "counter",
                             "HTTP requests sent to etcd (retries included), by operation.",
                             FIELD_ATTEMPTS);
        write_etcd_op_metric(f, m, "fleet_etcd_request_duration_seconds_sum", "counter",
                             "Total latency of completed etcd requests, by operation.",
                             FIELD_LATENCY_SUM);
        write_etcd_op_metric(f, m, "fleet_etcd_request_duration_seconds_max", "gauge",
                             "Highest latency of a completed etcd request, by operation.",
                             FIELD_LATENCY_MAX);
        metrics_family(f, "fleet_etcd_failovers_total", "counter",
                       "Times the etcd client moved to another endpoint.");
        fprintf(f, "fleet_etcd_failovers_total %" PRIu64 "\n", m->etcd->failovers);
        metrics_family(f, "fleet_etcd_watch_events_total", "counter",
                       "etcd watch events delivered.");
        fprintf(f, "fleet_etcd_watch_events_total %" PRIu64 "\n", m->etcd->watch_events);
        metrics_family(f, "fleet_etcd_watch_restarts_total", "counter",
                       "etcd watch streams re-opened after an error.");
        fprintf(f, "fleet_etcd_watch_restarts_total %" PRIu64 "\n", m->etcd->watch_restarts);
}

static void write_api(FILE *f, const ApiMetrics *m) {
        metrics_family(f, "fleet_api_requests_total", "counter",
                       "HTTP API requests answered, by status.");
        for (unsigned i = 0; i < API_METRICS_N_CODES; i++) {
                if (i < ELEMENTSOF(codes))
                        fprintf(f, "fleet_api_requests_total{code=\"%u\"} ", codes[i]);
                else
                        fputs("fleet_api_requests_total{code=\"other\"} ", f);
                fprintf(f, "%" PRIu64 "\n", m->api_requests[i]);
        }
        metrics_family(f, "fleet_api_requests_pending", "gauge",
                       "HTTP API requests waiting for etcd.");
        fprintf(f, "fleet_api_requests_pending %zu\n", m->api_pending);
        metrics_family(f, "fleet_api_registry_reads_total", "counter",
                       "Registry reads of the API's GET routes, by where they were answered from: "
                       "the in-memory copy or etcd.");
        metrics_sample_u64(f, "fleet_api_registry_reads_total", "source=\"memory\"",
                           m->reads_memory);
        metrics_sample_u64(f, "fleet_api_registry_reads_total", "source=\"etcd\"", m->reads_etcd);
        metrics_family(
                f, "fleet_api_list_answers_total", "counter",
                "List answers (units, state, machines pages) read from the in-memory copy, "
                "by whether the answer rendered at the copy's revision was reused or built.");
        metrics_sample_u64(f, "fleet_api_list_answers_total", "answer=\"reused\"",
                           m->answers_reused);
        metrics_sample_u64(f, "fleet_api_list_answers_total", "answer=\"built\"", m->answers_built);
}

int api_metrics_write(FILE *f, const ApiMetrics *m) {
        metrics_family(f, "fleet_registry_up", "gauge",
                       "Whether this scrape could read the registry (1) or not (0).");
        fprintf(f, "fleet_registry_up %d\n", m->registry_ok ? 1 : 0);
        if (m->registry_ok)
                write_units(f, m);
        if (m->etcd)
                write_etcd(f, m);
        if (m->api_requests)
                write_api(f, m);
        return ferror(f) ? -EIO : 0;
}
