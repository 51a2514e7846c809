/* SPDX-License-Identifier: MIT */
/* The agent's quorum question (common/quorum.h): answers and the majority rule. */
#include <check.h>
#include <string.h>

#include "quorum.h"
#include "test-util.h"

START_TEST(test_health_json_round_trip) {
        for (int i = 0; i < 2; i++) {
                char *s = quorum_health_json(i);
                bool reachable = !i;

                ck_assert_ptr_nonnull(s);
                ck_assert_int_eq(quorum_parse_answer(200, s, strlen(s), &reachable), 1);
                ck_assert_int_eq(reachable, i);
                free(s);
        }
}
END_TEST

static const struct {
        long status;
        const char *body;
        int ret;
        bool reachable;
} answer_cases[] = {
        {200, "{\"reachable\":false}", 1, false},
        {200, "{\"reachable\": true, \"other\": 1}", 1, true},
        {503, "{\"reachable\":false}", 0, false}, /* fleet's "unavailable" or anything else */
        {404, "{\"error\":{\"code\":404,\"message\":\"\"}}", 0, false}, /* an older fleetd */
        {200, "{\"reachable\":\"no\"}", 0, false},
        {200, "{\"reachable\":false", 0, false},
        {200, "[false]", 0, false},
        {200, "", 0, false},
        {0, NULL, 0, false}, /* no answer */
};

START_TEST(test_parse_answer) {
        bool reachable = true;
        const char *b = answer_cases[_i].body;
        int r = quorum_parse_answer(answer_cases[_i].status, b, b ? strlen(b) : 0, &reachable);

        ck_assert_int_eq(r, answer_cases[_i].ret);
        if (r == 1)
                ck_assert_int_eq(reachable, answer_cases[_i].reachable);
        else
                ck_assert(reachable); /* untouched */
}
END_TEST

START_TEST(test_majority) {
        ck_assert(!quorum_etcd_down_for_majority(1, 0));
        ck_assert(quorum_etcd_down_for_majority(1, 1)); /* alone: etcd is down for everyone */
        ck_assert(!quorum_etcd_down_for_majority(2, 1));
        ck_assert(quorum_etcd_down_for_majority(2, 2));
        ck_assert(!quorum_etcd_down_for_majority(3, 1)); /* only itself: freeze */
        ck_assert(quorum_etcd_down_for_majority(3, 2));
        ck_assert(quorum_etcd_down_for_majority(3, 3));
        ck_assert(!quorum_etcd_down_for_majority(4, 2)); /* half is not a majority */
        ck_assert(quorum_etcd_down_for_majority(4, 3));
        ck_assert(!quorum_etcd_down_for_majority(5, 2));
        ck_assert(!quorum_etcd_down_for_majority(3, 4)); /* nonsense counts never hold */
}
END_TEST

static Suite *quorum_suite(void) {
        Suite *s = suite_create("quorum");
        TCase *tc = tcase_create("core");

        tcase_add_test(tc, test_health_json_round_trip);
        tcase_add_loop_test(tc, test_parse_answer, 0,
                            sizeof(answer_cases) / sizeof(answer_cases[0]));
        tcase_add_test(tc, test_majority);
        suite_add_tcase(s, tc);
        return s;
}

FLEET_TEST_MAIN(quorum_suite)
