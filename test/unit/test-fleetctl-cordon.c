/* SPDX-License-Identifier: MIT */
/* fleetctl's cordon helpers: machine prefixes, the cordon list, drain progress. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "fleetctl-cordon.h"
#include "strv.h"
#include "test-util.h"

static const ApiMachine ms[] = {
        {.id = (char *) "586c13e07e8d4787a269b2b68375c8b1"},
        {.id = (char *) "586cffff244248179e82cbc07dc1509a"},
        {.id = (char *) "a69eba4b584f44dfb82fb46cade490ce"},
};

START_TEST(test_resolve) {
        const ApiMachine *m = NULL;
        char *err = NULL;

        ck_assert_int_eq(fleetctl_machine_resolve(ms, 3, "a69e", &m, &err), 0);
        ck_assert_ptr_eq(m, &ms[2]);
        ck_assert_int_eq(fleetctl_machine_resolve(ms, 3, ms[0].id, &m, &err), 0);
        ck_assert_ptr_eq(m, &ms[0]);
        ck_assert_int_eq(fleetctl_machine_resolve(ms, 3, "586c1", &m, &err), 0);
        ck_assert_ptr_eq(m, &ms[0]);
        ck_assert_int_eq(fleetctl_machine_resolve(ms, 3, "586c", &m, &err), -EEXIST);
        ck_assert_str_eq(err, "machine prefix 586c is ambiguous: 586c13e0..., 586cffff...");
        ck_assert_int_eq(fleetctl_machine_resolve(ms, 3, "ffff", &m, &err), -ENOENT);
        ck_assert_str_eq(err, "machine ffff does not exist");
        ck_assert_int_eq(fleetctl_machine_resolve(ms, 3, "", &m, &err), -EINVAL);
        ck_assert_str_eq(err, "machine ID must not be empty");
        ck_assert_int_eq(fleetctl_machine_resolve(NULL, 0, "a", &m, &err), -ENOENT);
        free(err);
}
END_TEST

/* drain and uncordon also take a machine whose lease expired but that has units scheduled */
START_TEST(test_machines_with) {
        ApiMachine live[] = {{.id = (char *) "586c13e07e8d4787a269b2b68375c8b1"},
                             {.id = (char *) "90058c6e00000000000000000000000a"}};
        char *scheduled[] = {(char *) "90058c6e00000000000000000000000a",
                             (char *) "5f00a1b2000000000000000000000000",
                             (char *) "24ca04a3000000000000000000000000", NULL};
        _cleanup_free_ ApiMachine *all = NULL, *only = NULL;
        _cleanup_free_ char *msg = NULL;
        const ApiMachine *m = NULL;
        size_t n = 0;

        ck_assert_int_eq(fleetctl_machines_with(live, 2, scheduled, &all, &n), 0);
        ck_assert_uint_eq(n, 4);
        ck_assert_ptr_eq(all[0].id, live[0].id);
        ck_assert_str_eq(all[2].id, "5f00a1b2000000000000000000000000");
        ck_assert_str_eq(all[3].id, "24ca04a3000000000000000000000000");
        ck_assert_int_eq(fleetctl_machine_resolve(all, n, "24c", &m, &msg), 0);
        ck_assert_str_eq(m->id, "24ca04a3000000000000000000000000");
        ck_assert_int_eq(fleetctl_machine_resolve(all, n, "5", &m, &msg), -EEXIST);
        ck_assert_ptr_nonnull(strstr(msg, "586c13e0..., 5f00a1b2..."));
        ck_assert_int_eq(fleetctl_machines_with(NULL, 0, NULL, &only, &n), 0);
        ck_assert_uint_eq(n, 0);
}
END_TEST

START_TEST(test_cordons_parse) {
        const char *ok = "{\"cordons\":[{\"machineID\":\"m1\",\"state\":\"cordoned\"},"
                         "{\"machineID\":\"m2\",\"state\":\"draining\"}]}";
        char **l = NULL, *err = NULL;

        ck_assert_int_eq(fleetctl_cordons_parse(ok, strlen(ok), &l, &err), 0);
        ck_assert_str_eq(fleetctl_cordon_state(l, "m1"), "cordoned");
        ck_assert_str_eq(fleetctl_cordon_state(l, "m2"), "draining");
        ck_assert_ptr_null(fleetctl_cordon_state(l, "m3"));
        strv_free(l);
        ck_assert_int_eq(fleetctl_cordons_parse("{\"cordons\":[]}", 14, &l, &err), 0);
        ck_assert_ptr_nonnull(l);
        ck_assert_ptr_null(l[0]);
        strv_free(l);
        ck_assert_int_eq(fleetctl_cordons_parse("{}", 2, &l, &err), -EINVAL);
        ck_assert_int_eq(fleetctl_cordons_parse("{\"cordons\":[{\"machineID\":1}]}", 28, &l, &err),
                         -EINVAL);
        ck_assert_str_eq(err, "invalid cordon list from the API");
        free(err);
        ck_assert_ptr_null(fleetctl_cordon_state(NULL, "m1"));
}
END_TEST

START_TEST(test_drain_step) {
        ApiUnit u = {.name = (char *) "a.service",
                     .desired_state = (char *) "launched",
                     .current_state = (char *) "launched",
                     .machine_id = (char *) "m1"};

        ck_assert_int_eq(fleetctl_drain_step(NULL, "m1", false), FLEETCTL_DRAIN_DESTROYED);
        ck_assert_int_eq(fleetctl_drain_step(&u, "m1", true), FLEETCTL_DRAIN_WAITING);
        ck_assert_int_eq(fleetctl_drain_step(&u, "m1", false), FLEETCTL_DRAIN_WAITING);
        u.machine_id = (char *) "m2";
        ck_assert_int_eq(fleetctl_drain_step(&u, "m1", true), FLEETCTL_DRAIN_WAITING);
        ck_assert_int_eq(fleetctl_drain_step(&u, "m1", false), FLEETCTL_DRAIN_MOVED);
        u.current_state = (char *) "inactive";
        ck_assert_int_eq(fleetctl_drain_step(&u, "m1", false), FLEETCTL_DRAIN_WAITING);
        u.machine_id = NULL;
        u.reason = (char *) "waiting for its copy on draining Machine(m1) to stop";
        ck_assert_int_eq(fleetctl_drain_step(&u, "m1", false), FLEETCTL_DRAIN_WAITING);
        u.reason = (char *) "no live machine matches MachineID=m1";
        ck_assert_int_eq(fleetctl_drain_step(&u, "m1", false), FLEETCTL_DRAIN_UNPLACED);
        u.desired_state = (char *) "inactive";
        ck_assert_int_eq(fleetctl_drain_step(&u, "m1", false), FLEETCTL_DRAIN_DEACTIVATED);
}
END_TEST

static Suite *cordon_suite(void) {
        Suite *s = suite_create("fleetctl-cordon");
        TCase *tc = tcase_create("core");

        tcase_add_test(tc, test_resolve);
        tcase_add_test(tc, test_machines_with);
        tcase_add_test(tc, test_cordons_parse);
        tcase_add_test(tc, test_drain_step);
        suite_add_tcase(s, tc);
        return s;
}

FLEET_TEST_MAIN(cordon_suite)
