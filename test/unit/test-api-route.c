/* SPDX-License-Identifier: MIT */
/* Routing of the HTTP API v1 (reference 9.3) and Go's ServeMux path cleaning. */
#include <check.h>
#include <stdlib.h>

#include "api-route.h"
#include "test-util.h"

typedef struct RouteCase {
        const char *method;
        const char *path;
        ApiRoute route;
        unsigned status;     /* API_ROUTE_ERROR */
        const char *message; /* API_ROUTE_ERROR (NULL = empty) */
        const char *item;    /* item routes; redirect: location */
} RouteCase;

static const char *const only_get = "only GET supported against this resource";
static const char *const only_gpd = "only GET, PUT and DELETE supported against this resource";
static const char *const only_gp = "only GET and PATCH supported against this resource";
static const char *const only_http_get = "only HTTP GET supported against this resource";

static const RouteCase cases[] = {
        /* fleet's base handler */
        {"GET", "/", API_ROUTE_ERROR, 405, NULL, NULL},
        {"PUT", "/", API_ROUTE_ERROR, 405, NULL, NULL},
        {"GET", "/foo", API_ROUTE_ERROR, 404, NULL, NULL},
        {"GET", "/fleet", API_ROUTE_ERROR, 404, NULL, NULL},
        {"GET", "/fleet/v2/units", API_ROUTE_ERROR, 404, NULL, NULL},
        {"GET", "/fleet/v1x", API_ROUTE_ERROR, 404, NULL, NULL},
        {"GET", "/fleet/v1", API_ROUTE_ERROR, 405, NULL, NULL},
        {"DELETE", "/v1-alpha", API_ROUTE_ERROR, 405, NULL, NULL},
        {"GET", "/fleet/v1/", API_ROUTE_ERROR, 404, NULL, NULL},
        {"GET", "/fleet/v1/nothing", API_ROUTE_ERROR, 404, NULL, NULL},
        /* discovery */
        {"GET", "/fleet/v1/discovery", API_ROUTE_DISCOVERY, 0, NULL, NULL},
        {"GET", "/v1-alpha/discovery", API_ROUTE_DISCOVERY, 0, NULL, NULL},
        {"POST", "/fleet/v1/discovery", API_ROUTE_ERROR, 400, only_http_get, NULL},
        {"GET", "/fleet/v1/discovery/x", API_ROUTE_ERROR, 404, NULL, NULL},
        /* machines */
        {"GET", "/fleet/v1/machines", API_ROUTE_MACHINES_LIST, 0, NULL, NULL},
        {"PATCH", "/fleet/v1/machines", API_ROUTE_MACHINES_PATCH, 0, NULL, NULL},
        {"PUT", "/fleet/v1/machines", API_ROUTE_ERROR, 405, only_gp, NULL},
        {"DELETE", "/v1-alpha/machines", API_ROUTE_ERROR, 405, only_gp, NULL},
        {"GET", "/fleet/v1/machines/abc", API_ROUTE_ERROR, 404, NULL, NULL},
        {"GET", "/fleet/v1/machines/", API_ROUTE_ERROR, 404, NULL, NULL},
        /* units */
        {"GET", "/fleet/v1/units", API_ROUTE_UNITS_LIST, 0, NULL, NULL},
        {"GET", "/v1-alpha/units", API_ROUTE_UNITS_LIST, 0, NULL, NULL},
        {"POST", "/fleet/v1/units", API_ROUTE_ERROR, 405, only_get, NULL},
        {"PUT", "/fleet/v1/units", API_ROUTE_ERROR, 405, only_get, NULL},
        {"HEAD", "/fleet/v1/units", API_ROUTE_ERROR, 405, only_get, NULL},
        {"GET", "/fleet/v1/units/", API_ROUTE_ERROR, 404, NULL, NULL},
        {"GET", "/fleet/v1/units/a.service", API_ROUTE_UNIT_GET, 0, NULL, "a.service"},
        {"PUT", "/fleet/v1/units/a.service", API_ROUTE_UNIT_PUT, 0, NULL, "a.service"},
        {"DELETE", "/v1-alpha/units/a@.service", API_ROUTE_UNIT_DELETE, 0, NULL, "a@.service"},
        {"POST", "/fleet/v1/units/a.service", API_ROUTE_ERROR, 405, only_gpd, NULL},
        {"PATCH", "/fleet/v1/units/a.service", API_ROUTE_ERROR, 405, only_gpd, NULL},
        {"GET", "/fleet/v1/units/a.service/", API_ROUTE_ERROR, 404, NULL, NULL},
        {"GET", "/fleet/v1/units/a/b.service", API_ROUTE_ERROR, 404, NULL, NULL},
        {"GET", "/fleet/v1/units/..a", API_ROUTE_UNIT_GET, 0, NULL, "..a"},
        {"GET", "/fleet/v1/units/a b\x01", API_ROUTE_UNIT_GET, 0, NULL, "a b\x01"},
        /* state */
        {"GET", "/fleet/v1/state", API_ROUTE_STATES_LIST, 0, NULL, NULL},
        {"POST", "/fleet/v1/state", API_ROUTE_ERROR, 405, only_get, NULL},
        {"GET", "/fleet/v1/state/a.service", API_ROUTE_STATE_GET, 0, NULL, "a.service"},
        {"PUT", "/fleet/v1/state/a.service", API_ROUTE_ERROR, 405, only_get, NULL},
        {"GET", "/fleet/v1/state/a.service/x", API_ROUTE_ERROR, 404, NULL, NULL},
        {"GET", "/fleet/v1/state/", API_ROUTE_ERROR, 404, NULL, NULL},
        /* metrics */
        {"GET", "/metrics", API_ROUTE_METRICS, 0, NULL, NULL},
        {"GET", "/metrics/", API_ROUTE_ERROR, 404, NULL, NULL},
        {"GET", "/fleet/v1/metrics", API_ROUTE_ERROR, 404, NULL, NULL},
        /* fleet-c's extension namespace */
        {"GET", "/fleet-c/v1/cordons", API_ROUTE_CORDONS_LIST, 0, NULL, NULL},
        {"PUT", "/fleet-c/v1/cordons", API_ROUTE_ERROR, 405, only_get, NULL},
        {"PUT", "/fleet-c/v1/cordons/abc", API_ROUTE_CORDON_PUT, 0, NULL, "abc"},
        {"DELETE", "/fleet-c/v1/cordons/abc", API_ROUTE_CORDON_DELETE, 0, NULL, "abc"},
        {"GET", "/fleet-c/v1/cordons/abc", API_ROUTE_ERROR, 405,
         "only PUT and DELETE supported against this resource", NULL},
        {"PUT", "/fleet-c/v1/cordons/a/b", API_ROUTE_ERROR, 404, NULL, NULL},
        {"GET", "/fleet-c/v1", API_ROUTE_ERROR, 404, NULL, NULL},
        {"GET", "/fleet-c/v1/units", API_ROUTE_ERROR, 404, NULL, NULL},
        {"GET", "/fleet/v1/cordons", API_ROUTE_ERROR, 404, NULL, NULL},
        {"GET", "/fleet-cx/v1/cordons", API_ROUTE_ERROR, 404, NULL, NULL},
        /* fleet-c: the agents' quorum question */
        {"GET", "/fleet-c/v1/etcd-health", API_ROUTE_ETCD_HEALTH, 0, NULL, NULL},
        {"GET", "/fleet-c/v1/pins", API_ROUTE_PINS_LIST, 0, NULL, NULL},
        {"PUT", "/fleet-c/v1/pins", API_ROUTE_ERROR, 405, only_get, NULL},
        {"PUT", "/fleet-c/v1/pins/m1/g.service", API_ROUTE_PIN_PUT, 0, NULL, "m1/g.service"},
        {"DELETE", "/fleet-c/v1/pins/m1/g.service", API_ROUTE_PIN_DELETE, 0, NULL, "m1/g.service"},
        {"GET", "/fleet-c/v1/pins/m1/g.service", API_ROUTE_ERROR, 405,
         "only PUT and DELETE supported against this resource", NULL},
        {"PUT", "/fleet-c/v1/pins/m1", API_ROUTE_ERROR, 404, NULL, NULL},
        {"PUT", "/fleet-c/v1/pins/m1/a/b", API_ROUTE_ERROR, 404, NULL, NULL},
        {"HEAD", "/fleet-c/v1/etcd-health", API_ROUTE_ETCD_HEALTH, 0, NULL, NULL},
        {"POST", "/fleet-c/v1/etcd-health", API_ROUTE_ERROR, 405, NULL, NULL},
        {"GET", "/fleet-c/v1/etcd-health/x", API_ROUTE_ERROR, 404, NULL, NULL},
        {"GET", "/fleet/v1/etcd-health", API_ROUTE_ERROR, 404, NULL, NULL},
        /* unclean paths are redirected (Go ServeMux), so ".." never reaches a handler */
        {"GET", "/fleet/v1/units/..", API_ROUTE_REDIRECT, 0, NULL, "/fleet/v1"},
        {"PUT", "/fleet/v1/units/.", API_ROUTE_REDIRECT, 0, NULL, "/fleet/v1/units"},
        {"DELETE", "/fleet/v1/units/../../x.service", API_ROUTE_REDIRECT, 0, NULL,
         "/fleet/x.service"},
        {"GET", "/fleet//v1/units", API_ROUTE_REDIRECT, 0, NULL, "/fleet/v1/units"},
        {"GET", "/fleet/v1/units//", API_ROUTE_REDIRECT, 0, NULL, "/fleet/v1/units/"},
        {"GET", "/fleet/v1/units/a b.service/..", API_ROUTE_REDIRECT, 0, NULL, "/fleet/v1/units"},
        {"GET", "/fleet/v1/./units/a b", API_ROUTE_REDIRECT, 0, NULL, "/fleet/v1/units/a%20b"},
        {"GET", "", API_ROUTE_REDIRECT, 0, NULL, "/"},
        {"GET", "*", API_ROUTE_REDIRECT, 0, NULL, "/%2A"},
};

START_TEST(test_route_table) {
        const RouteCase *t = &cases[_i];
        ApiRouteMatch m = {};

        ck_assert_int_eq(api_route(t->method, t->path, &m), 0);
        ck_assert_msg(m.route == t->route, "%s %s: route %d, expected %d", t->method, t->path,
                      m.route, t->route);
        switch (t->route) {
        case API_ROUTE_ERROR:
                ck_assert_uint_eq(m.status, t->status);
                if (t->message)
                        ck_assert_str_eq(m.message, t->message);
                else
                        ck_assert_ptr_null(m.message);
                ck_assert_ptr_null(m.item);
                break;
        case API_ROUTE_REDIRECT:
                ck_assert_str_eq(m.location, t->item);
                break;
        default:
                if (t->item)
                        ck_assert_str_eq(m.item, t->item);
                else
                        ck_assert_ptr_null(m.item);
                break;
        }
        api_route_match_done(&m);
        api_route_match_done(&m); /* idempotent */
}
END_TEST

typedef struct CleanCase {
        const char *in, *out;
} CleanCase;

/* Go's cleanPath (net/http) results. */
static const CleanCase clean_cases[] = {
        {"", "/"},
        {"/", "/"},
        {"//", "/"},
        {"a", "/a"},
        {"/a/b", "/a/b"},
        {"/a/b/", "/a/b/"},
        {"/a//b", "/a/b"},
        {"/a/./b", "/a/b"},
        {"/a/../b", "/b"},
        {"/..", "/"},
        {"/../..", "/"},
        {"/../a/", "/a/"},
        {"/a/..", "/"},
        {"/a/../", "/"},
        {"/./", "/"},
        {"/a/b/..x", "/a/b/..x"},
        {"/.a/b.", "/.a/b."},
        {"/a/b/c/../../d", "/a/d"},
};

START_TEST(test_clean_path) {
        char *out = NULL;

        ck_assert_int_eq(api_clean_path(clean_cases[_i].in, &out), 0);
        ck_assert_str_eq(out, clean_cases[_i].out);
        free(out);
}
END_TEST

START_TEST(test_escape_path) {
        char *out = NULL;

        ck_assert_int_eq(api_escape_path("/a-b_c.d~e$f&g+h,i/j:k;l=m@n", &out), 0);
        ck_assert_str_eq(out, "/a-b_c.d~e$f&g+h,i/j:k;l=m@n");
        free(out);
        ck_assert_int_eq(api_escape_path("/ %?#\"<>\x01\xff!*'()", &out), 0);
        ck_assert_str_eq(out, "/%20%25%3F%23%22%3C%3E%01%FF%21%2A%27%28%29");
        free(out);
}
END_TEST

START_TEST(test_redirect_body) {
        char *b = NULL;

        ck_assert_int_eq(api_redirect_body("/fleet/v1/units", &b), 0);
        ck_assert_str_eq(b, "<a href=\"/fleet/v1/units\">Moved Permanently</a>.\n\n");
        free(b);
        ck_assert_int_eq(api_redirect_body("/a&b<'\">", &b), 0);
        ck_assert_str_eq(b, "<a href=\"/a&amp;b&lt;&#39;&#34;&gt;\">Moved Permanently</a>.\n\n");
        free(b);
}
END_TEST

static Suite *suite(void) {
        Suite *s = suite_create("api-route");
        TCase *tc = tcase_create("core");

        tcase_add_loop_test(tc, test_route_table, 0, ELEMENTSOF(cases));
        tcase_add_loop_test(tc, test_clean_path, 0, ELEMENTSOF(clean_cases));
        tcase_add_test(tc, test_escape_path);
        tcase_add_test(tc, test_redirect_body);
        suite_add_tcase(s, tc);
        return s;
}

FLEET_TEST_MAIN(suite)
