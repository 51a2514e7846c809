/* SPDX-License-Identifier: MIT */
#include <inttypes.h>

#include "metrics-text.h"

void metrics_family(FILE *f, const char *name, const char *type, const char *help) {
        fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void sample_name(FILE *f, const char *name, const char *labels) {
        if (labels)
                fprintf(f, "%s{%s} ", name, labels);
        else
                fprintf(f, "%s ", name);
}

void metrics_sample_u64(FILE *f, const char *name, const char *labels, uint64_t value) {
        sample_name(f, name, labels);
        fprintf(f, "%" PRIu64 "\n", value);
}

void metrics_sample_i64(FILE *f, const char *name, const char *labels, int64_t value) {
        sample_name(f, name, labels);
        fprintf(f, "%" PRId64 "\n", value);
}

void metrics_sample_seconds(FILE *f, const char *name, const char *labels, usec_t value) {
        sample_name(f, name, labels);
        fprintf(f, "%" PRIu64 ".%06" PRIu64 "\n", (uint64_t) value / USEC_PER_SEC,
                (uint64_t) value % USEC_PER_SEC);
}

void metrics_counter(FILE *f, const char *name, const char *help, uint64_t value) {
        metrics_family(f, name, "counter", help);
        metrics_sample_u64(f, name, NULL, value);
}

void metrics_gauge(FILE *f, const char *name, const char *help, int64_t value) {
        metrics_family(f, name, "gauge", help);
        metrics_sample_i64(f, name, NULL, value);
}
