/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * Writing the Prometheus text exposition format 0.0.4, shared by every component that has
 * metrics (api/api-metrics.c, engine/engine-metrics.c, agent/agent-metrics.c); fleetd's
 * server.c assembles them into /metrics. PURE: no I/O but the FILE given.
 *
 * A family is one metric name with its HELP and TYPE lines, followed by one sample per label
 * set. Labels are passed already formatted (`type="schedule"`), or NULL for none.
 */

#include <stdint.h>
#include <stdio.h>

#include "time-util.h"

/* "# HELP name help\n# TYPE name type\n". */
void metrics_family(FILE *f, const char *name, const char *type, const char *help);

/* "name{labels} value\n" (no braces when labels is NULL). */
void metrics_sample_u64(FILE *f, const char *name, const char *labels, uint64_t value);
void metrics_sample_i64(FILE *f, const char *name, const char *labels, int64_t value);

/* A duration in seconds with microsecond precision ("1.250000"). */
void metrics_sample_seconds(FILE *f, const char *name, const char *labels, usec_t value);

/* A family with a single unlabelled sample. */
void metrics_counter(FILE *f, const char *name, const char *help, uint64_t value);
void metrics_gauge(FILE *f, const char *name, const char *help, int64_t value);
