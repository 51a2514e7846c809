/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * PURE formatting of fleetd's /metrics in the Prometheus text exposition format 0.0.4: cluster
 * gauges read from the registry (units by desired and by current state, machines), the etcd
 * client's request counters, and the API's own request counters. fleetd appends the engine's
 * and the agent's metrics through ApiConfig.metrics_extra. No I/O but the FILE given.
 */

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "api-model.h"
#include "etcd.h"

#define API_METRICS_CONTENT_TYPE "text/plain; version=0.0.4"

/* HTTP statuses counted individually by fleet_api_requests_total{code}; others go to "other". */
#define API_METRICS_CODES 200, 201, 204, 301, 400, 404, 405, 409, 413, 415, 500, 503
enum { API_METRICS_N_CODES = 13 }; /* the codes above + "other" */

/* Index of status in the counter array (API_METRICS_N_CODES - 1 = other). */
unsigned api_metrics_code_index(unsigned status);

typedef struct ApiMetrics {
        bool registry_ok; /* the gauges below were read (else they are not written) */
        ApiUnitCounts units;
        size_t machines;
        const EtcdStats *etcd;                             /* NULL: not written */
        const char *etcd_op_names[_ETCD_REQUEST_TYPE_MAX]; /* label of each op (NULL: skip) */
        const uint64_t *api_requests; /* API_METRICS_N_CODES counters, or NULL */
        size_t api_pending;
        uint64_t reads_memory, reads_etcd;      /* registry reads of GET routes, by where from */
        uint64_t answers_reused, answers_built; /* list answers from the copy: kept / rendered */
} ApiMetrics;

/* Write every metric with its HELP and TYPE lines. Returns 0 or -EIO (ferror). */
int api_metrics_write(FILE *f, const ApiMetrics *m);
