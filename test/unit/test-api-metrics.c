/* SPDX-License-Identifier: MIT */
/* /metrics text (Prometheus exposition format 0.0.4). */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "api-metrics.h"
#include "test-util.h"

static char *render(const ApiMetrics *m) {
        char *text = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&text, &len);

        ck_assert_ptr_nonnull(f);
        ck_assert_int_eq(api_metrics_write(f, m), 0);
        ck_assert_int_eq(fclose(f), 0);
        return text;
}

static void assert_line(const char *text, const char *line) {
        _cleanup_free_ char *needle = NULL;

        ck_assert_int_ge(asprintf(&needle, "\n%s\n", line), 0);
        ck_assert_msg(strstr(text, needle) || strneq(text, needle + 1, strlen(needle + 1)),
                      "missing line '%s' in:\n%s", line, text);
}

START_TEST(test_registry_down) {
        ApiMetrics m = {};
        char *t = render(&m);

        ck_assert_str_eq(t, "# HELP fleet_registry_up Whether this scrape could read the registry "
                            "(1) or not (0).\n# TYPE fleet_registry_up gauge\n"
                            "fleet_registry_up 0\n");
        free(t);
}
END_TEST

START_TEST(test_full) {
        EtcdStats st = {};
        uint64_t reqs[API_METRICS_N_CODES] = {};
        ApiMetrics m = {
                .registry_ok = true,
                .units = {.desired = {1, 2, 3}, .current = {4, 1, 1}, .global = 2, .total = 6},
                .machines = 3,
                .etcd = &st,
                .api_requests = reqs,
                .api_pending = 1,
        };
        char *t;

        st.ops[ETCD_REQUEST_RANGE] = (EtcdOpStats){.requests = 10,
                                                   .errors = 2,
                                                   .attempts = 12,
                                                   .latency_usec_sum = 1500000,
                                                   .latency_usec_max = 250};
        st.ops[ETCD_REQUEST_TXN] = (EtcdOpStats){.requests = 1, .latency_usec_sum = 42};
        st.failovers = 1;
        st.watch_events = 7;
        m.etcd_op_names[ETCD_REQUEST_RANGE] = "range";
        m.etcd_op_names[ETCD_REQUEST_TXN] = "txn";
        reqs[api_metrics_code_index(200)] = 5;
        reqs[api_metrics_code_index(404)] = 2;
        reqs[api_metrics_code_index(418)] = 1;
        t = render(&m);

        assert_line(t, "fleet_registry_up 1");
        assert_line(t, "# TYPE fleet_units gauge");
        assert_line(t, "fleet_units 6");
        assert_line(t, "fleet_units_global 2");
        assert_line(t, "fleet_units_desired_state{state=\"inactive\"} 1");
        assert_line(t, "fleet_units_desired_state{state=\"loaded\"} 2");
        assert_line(t, "fleet_units_desired_state{state=\"launched\"} 3");
        assert_line(t, "fleet_units_current_state{state=\"inactive\"} 4");
        assert_line(t, "fleet_units_current_state{state=\"launched\"} 1");
        assert_line(t, "fleet_machines 3");
        assert_line(t, "# TYPE fleet_etcd_requests_total counter");
        assert_line(t, "fleet_etcd_requests_total{op=\"range\"} 10");
        assert_line(t, "fleet_etcd_requests_total{op=\"txn\"} 1");
        assert_line(t, "fleet_etcd_request_errors_total{op=\"range\"} 2");
        assert_line(t, "fleet_etcd_request_attempts_total{op=\"range\"} 12");
        assert_line(t, "fleet_etcd_request_duration_seconds_sum{op=\"range\"} 1.500000");
        assert_line(t, "fleet_etcd_request_duration_seconds_sum{op=\"txn\"} 0.000042");
        assert_line(t, "fleet_etcd_request_duration_seconds_max{op=\"range\"} 0.000250");
        assert_line(t, "fleet_etcd_failovers_total 1");
        assert_line(t, "fleet_etcd_watch_events_total 7");
        assert_line(t, "fleet_etcd_watch_restarts_total 0");
        assert_line(t, "fleet_api_requests_total{code=\"200\"} 5");
        assert_line(t, "fleet_api_requests_total{code=\"404\"} 2");
        assert_line(t, "fleet_api_requests_total{code=\"503\"} 0");
        assert_line(t, "fleet_api_requests_total{code=\"other\"} 1");
        assert_line(t, "fleet_api_requests_pending 1");
        /* ops without a name are skipped */
        ck_assert_ptr_null(strstr(t, "op=\"put\""));
        /* every sample line belongs to a declared metric family and ends with a newline */
        ck_assert_int_eq(t[strlen(t) - 1], '\n');
        free(t);
}
END_TEST

START_TEST(test_code_index) {
        ck_assert_uint_eq(api_metrics_code_index(200), 0);
        ck_assert_uint_eq(api_metrics_code_index(503), API_METRICS_N_CODES - 2);
        ck_assert_uint_eq(api_metrics_code_index(999), API_METRICS_N_CODES - 1);
        ck_assert_uint_eq(api_metrics_code_index(0), API_METRICS_N_CODES - 1);
}
END_TEST

static Suite *suite(void) {
        Suite *s = suite_create("api-metrics");
        TCase *tc = tcase_create("core");

        tcase_add_test(tc, test_registry_down);
        tcase_add_test(tc, test_full);
        tcase_add_test(tc, test_code_index);
        suite_add_tcase(s, tc);
        return s;
}

FLEET_TEST_MAIN(suite)
