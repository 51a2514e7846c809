/* SPDX-License-Identifier: MIT */
/* fleet-c's pin API, pure half: the PUT body, the path item and the list. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "api-pin.h"
#include "test-util.h"

#define H1 "1111111111111111111111111111111111111111"
#define H2 "2222222222222222222222222222222222222222"

START_TEST(test_body) {
        static const struct {
                const char *body;
                int r;
        } t[] = {
                {"{\"hash\":\"" H1 "\"}", 0},
                {"{\"hash\":\"" H1 "\",\"x\":1}", 0},
                {"", -EINVAL},
                {"{}", -EINVAL},
                {"{\"hash\":1}", -EINVAL},
                {"{\"hash\":\"abc\"}", -EINVAL},
                {"{\"hash\":\"" H1 "0\"}", -EINVAL},
                {"[]", -EINVAL},
                {"{", -EINVAL},
        };

        for (size_t i = 0; i < ELEMENTSOF(t); i++) {
                _cleanup_free_ char *err = NULL;
                char h[REGISTRY_HASH_LEN + 1] = "";

                ck_assert_int_eq(api_pin_body_decode(t[i].body, strlen(t[i].body), h, &err),
                                 t[i].r);
                if (t[i].r == 0)
                        ck_assert_str_eq(h, H1);
                else
                        ck_assert_ptr_nonnull(strstr(err, "invalid request body"));
        }
}
END_TEST

START_TEST(test_item) {
        static const char *const bad[] = {"m1",          "/g.service", "m1/", "m1/a/b",
                                          "./g.service", "m1/..",      ""};
        _cleanup_free_ char *m = NULL, *n = NULL;

        ck_assert_int_eq(api_pin_item_split("m1/g.service", &m, &n), 0);
        ck_assert_str_eq(m, "m1");
        ck_assert_str_eq(n, "g.service");
        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                char *bm = NULL, *bn = NULL;

                ck_assert_msg(api_pin_item_split(bad[i], &bm, &bn) == -EINVAL, "%s", bad[i]);
                ck_assert_ptr_null(bm);
                ck_assert_ptr_null(bn);
        }
        ck_assert_int_eq(api_pin_item_split(NULL, &m, &n), -EINVAL);
}
END_TEST

START_TEST(test_list) {
        RegistryEntry e[4] = {
                {.key = {REGISTRY_KEY_PIN, (char *) "b.service", (char *) "m2"},
                 .has_value = true,
                 .pin = {H2}},
                {.key = {REGISTRY_KEY_PIN, (char *) "b.service", (char *) "m1"},
                 .has_value = true,
                 .pin = {H1}},
                {.key = {REGISTRY_KEY_PIN, (char *) "a.service", (char *) "m2"},
                 .has_value = true,
                 .pin = {H1}},
                {.key = {REGISTRY_KEY_PIN, (char *) "c.service", (char *) "m3"}}, /* no value */
        };
        const RegistryEntry *p[4] = {&e[0], &e[1], &e[2], &e[3]};
        _cleanup_free_ char *json = NULL, *empty = NULL;

        ck_assert_int_eq(api_pins_format(p, 4, &json), 0);
        ck_assert_str_eq(json,
                         "{\"pins\":["
                         "{\"machineID\":\"m1\",\"name\":\"b.service\",\"hash\":\"" H1 "\"},"
                         "{\"machineID\":\"m2\",\"name\":\"a.service\",\"hash\":\"" H1 "\"},"
                         "{\"machineID\":\"m2\",\"name\":\"b.service\",\"hash\":\"" H2 "\"}]}");
        ck_assert_int_eq(api_pins_format(NULL, 0, &empty), 0);
        ck_assert_str_eq(empty, "{\"pins\":[]}");
}
END_TEST

static Suite *api_pin_suite(void) {
        Suite *s = suite_create("api-pin");
        TCase *tc = tcase_create("core");

        tcase_add_test(tc, test_body);
        tcase_add_test(tc, test_item);
        tcase_add_test(tc, test_list);
        suite_add_tcase(s, tc);
        return s;
}

FLEET_TEST_MAIN(api_pin_suite)
