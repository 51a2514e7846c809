/* SPDX-License-Identifier: MIT */
/* fleet-c's cordon API, pure half: the PUT body and the list. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "api-cordon.h"
#include "test-util.h"

START_TEST(test_body) {
        static const struct {
                const char *body;
                int r;
                bool draining;
        } t[] = {
                {"", 0, false},
                {"{}", 0, false},
                {"{\"draining\":true}", 0, true},
                {"{\"draining\":false,\"x\":1}", 0, false},
                {"{\"draining\":\"yes\"}", -EINVAL, false},
                {"[]", -EINVAL, false},
                {"{", -EINVAL, false},
        };

        for (size_t i = 0; i < ELEMENTSOF(t); i++) {
                _cleanup_free_ char *err = NULL;
                bool d = !t[i].draining;

                ck_assert_int_eq(api_cordon_body_decode(t[i].body, strlen(t[i].body), &d, &err),
                                 t[i].r);
                if (t[i].r == 0)
                        ck_assert(d == t[i].draining);
                else
                        ck_assert_ptr_nonnull(strstr(err, "invalid request body"));
        }
}
END_TEST

START_TEST(test_list) {
        RegistryEntry e[3] = {
                {.key = {REGISTRY_KEY_CORDON, NULL, (char *) "m2"},
                 .has_value = true,
                 .cordon = {true}},
                {.key = {REGISTRY_KEY_CORDON, NULL, (char *) "m1"}, .has_value = true},
                {.key = {REGISTRY_KEY_CORDON, NULL, (char *) "m3"}}, /* no value */
        };
        const RegistryEntry *p[3] = {&e[0], &e[1], &e[2]};
        char *s = NULL;

        ck_assert_int_eq(api_cordons_format(p, 3, &s), 0);
        ck_assert_str_eq(s, "{\"cordons\":[{\"machineID\":\"m1\",\"state\":\"cordoned\"},"
                            "{\"machineID\":\"m2\",\"state\":\"draining\"}]}");
        free(s);
        ck_assert_int_eq(api_cordons_format(p, 0, &s), 0);
        ck_assert_str_eq(s, "{\"cordons\":[]}");
        free(s);
}
END_TEST

static Suite *cordon_suite(void) {
        Suite *s = suite_create("api-cordon");
        TCase *tc = tcase_create("core");

        tcase_add_test(tc, test_body);
        tcase_add_test(tc, test_list);
        suite_add_tcase(s, tc);
        return s;
}

FLEET_TEST_MAIN(cordon_suite)
