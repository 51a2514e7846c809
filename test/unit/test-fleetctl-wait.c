/* SPDX-License-Identifier: MIT */
/* When fleetctl stops waiting for a unit (fleetctl-wait.h), table-driven. */
#include <check.h>
#include <limits.h>
#include <stdlib.h>

#include "fleetctl-wait.h"
#include "test-util.h"

#define R FLEETCTL_WAIT_REACHED
#define W FLEETCTL_WAIT_PENDING
#define D FLEETCTL_WAIT_DESTROYED
#define C FLEETCTL_WAIT_CHANGED
#define U FLEETCTL_WAIT_UNPLACEABLE

static const struct {
        bool exists;
        const char *desired, *current, *reason;
        bool global, creation;
        const char *state;
        FleetctlWaitVerdict want;
} cases[] = {
        /* start: waiting for launched */
        {true, "launched", "launched", NULL, false, false, "launched", R},
        {true, "launched", "loaded", NULL, false, false, "launched", W},
        {true, "launched", "inactive", NULL, false, false, "launched", W},
        {false, NULL, NULL, NULL, false, false, "launched", D},
        {true, "loaded", "loaded", NULL, false, false, "launched", C},
        {true, "inactive", "inactive", NULL, false, false, "launched", C},
        {true, "launched", "inactive", "no machines available", false, false, "launched", U},
        {true, "launched", "inactive", "", false, false, "launched", W},
        /* reached wins over a reason (placed in the meantime) */
        {true, "launched", "launched", "stale", false, false, "launched", R},
        /* load, unload */
        {true, "loaded", "loaded", NULL, false, false, "loaded", R},
        {true, "launched", "launched", NULL, false, false, "loaded", C},
        {true, "inactive", "inactive", NULL, false, false, "inactive", R},
        {true, "launched", "loaded", NULL, false, false, "inactive", C},
        {false, NULL, NULL, NULL, false, false, "inactive", D},
        /* creation: someone else starting the unit meanwhile means it exists */
        {true, "inactive", "inactive", NULL, false, true, "inactive", R},
        {true, "launched", "inactive", NULL, false, true, "inactive", R},
        {false, NULL, NULL, NULL, false, true, "inactive", D},
        /* global units: their desired state is awaited, reasons do not apply */
        {true, "launched", "inactive", NULL, true, false, "launched", R},
        {true, "loaded", "inactive", "x", true, false, "launched", C},
};

START_TEST(test_judge) {
        ApiUnit u = {.name = (char *) "x.service",
                     .desired_state = (char *) cases[_i].desired,
                     .current_state = (char *) cases[_i].current,
                     .reason = (char *) cases[_i].reason};

        ck_assert_int_eq(fleetctl_wait_judge(cases[_i].exists ? &u : NULL, cases[_i].global,
                                             cases[_i].state, cases[_i].creation),
                         cases[_i].want);
}
END_TEST

START_TEST(test_messages) {
        ApiUnit u = {.desired_state = (char *) "loaded",
                     .reason = (char *) "no machines available"};
        char *s = NULL;

        ck_assert_int_eq(fleetctl_wait_message("a.service", &u, "launched", D, &s), 0);
        ck_assert_str_eq(s, "Unit a.service was destroyed while waiting for it to be launched");
        free(s);
        ck_assert_int_eq(fleetctl_wait_message("a.service", &u, "launched", C, &s), 0);
        ck_assert_str_eq(s, "Unit a.service was set to loaded by someone else while waiting for "
                            "it to be launched");
        free(s);
        ck_assert_int_eq(fleetctl_wait_message("a.service", &u, "launched", U, &s), 0);
        ck_assert_str_eq(s, "Unit a.service cannot be placed: no machines available");
        free(s);
        ck_assert_int_eq(fleetctl_wait_message("a.service", &u, "launched", R, &s), -EINVAL);
        ck_assert_int_eq(fleetctl_wait_message("a.service", &u, "launched", W, &s), -EINVAL);
}
END_TEST

static const ApiMachine machines[] = {
        {.id = (char *) "586c13e07e8d4787a269b2b68375c8b1", .primary_ip = (char *) "127.0.0.11"},
        {.id = (char *) "90058c6e244248179e82cbc07dc1509a", .primary_ip = (char *) "127.0.0.12"},
};

static const ApiMachine *lookup(const char *id, void *userdata) {
        for (size_t i = 0; i < ELEMENTSOF(machines); i++)
                if (streq(machines[i].id, id))
                        return &machines[i];
        return NULL;
}

static void why_is(const ApiUnit *u, bool global, const ApiUnitState *st, size_t n, bool full,
                   const char *want) {
        char *s = NULL;

        ck_assert_int_eq(fleetctl_why_line(u, global, st, n, full, lookup, NULL, &s), 0);
        ck_assert_str_eq(s, want);
        free(s);
}

START_TEST(test_why) {
        ApiUnitState st[] = {
                {.name = (char *) "web.service",
                 .machine_id = machines[0].id,
                 .systemd_load_state = (char *) "loaded",
                 .systemd_active_state = (char *) "active",
                 .systemd_sub_state = (char *) "running"},
                {.name = (char *) "web.service",
                 .machine_id = machines[1].id,
                 .systemd_load_state = (char *) "loaded",
                 .systemd_active_state = (char *) "failed",
                 .systemd_sub_state = (char *) "failed"},
        };
        ApiUnit u = {.name = (char *) "db.service",
                     .desired_state = (char *) "launched",
                     .current_state = (char *) "inactive",
                     .reason = (char *) "no machine satisfies MachineMetadata region=ap (3 "
                                        "machines checked)"};

        why_is(&u, false, NULL, 0, false,
               "db.service: not scheduled: no machine satisfies MachineMetadata region=ap (3 "
               "machines checked)");
        u.reason = NULL;
        why_is(&u, false, NULL, 0, false, "db.service: not scheduled yet: waiting for the engine");
        u.desired_state = (char *) "inactive";
        why_is(&u, false, NULL, 0, false, "db.service: not scheduled: desired state inactive");

        u = (ApiUnit){.name = (char *) "web.service",
                      .desired_state = (char *) "launched",
                      .current_state = (char *) "launched",
                      .machine_id = machines[0].id};
        why_is(&u, false, st, 2, false,
               "web.service: launched on 586c13e0.../127.0.0.11; systemd: loaded active running");
        why_is(&u, false, st, 2, true,
               "web.service: launched on 586c13e07e8d4787a269b2b68375c8b1/127.0.0.11; systemd: "
               "loaded active running");
        u.machine_id = machines[1].id;
        why_is(&u, false, st, 2, false,
               "web.service: launched on 90058c6e.../127.0.0.12; systemd: loaded failed failed");
        u.current_state = (char *) "inactive";
        why_is(&u, false, NULL, 0, false,
               "web.service: scheduled on 90058c6e.../127.0.0.12 (starting); systemd: not "
               "reported yet");
        why_is(&u, true, st, 2, false,
               "web.service: global unit, launched; on 586c13e0.../127.0.0.11: loaded active "
               "running, on 90058c6e.../127.0.0.12: loaded failed failed");
        why_is(&u, true, NULL, 0, false,
               "web.service: global unit, launched; no machine reports it");
}
END_TEST

START_TEST(test_failed_counts) {
        /* the failure of before this start, still reported: not yet */
        ck_assert(!fleetctl_failed_counts(false, 0));
        ck_assert(!fleetctl_failed_counts(false, FLEETCTL_FAILED_SETTLE_USEC - 1));
        /* after another state, or once it has lasted */
        ck_assert(fleetctl_failed_counts(true, 0));
        ck_assert(fleetctl_failed_counts(false, FLEETCTL_FAILED_SETTLE_USEC));
}
END_TEST

START_TEST(test_poll_delay) {
        static const uint64_t want[] = {10000, 20000, 40000, 80000, 160000, 250000, 250000};

        for (unsigned n = 0; n < WAIT_POLL_FAST_N; n++)
                ck_assert_uint_eq(fleetctl_poll_delay(n), 5000);
        for (unsigned n = 0; n < ELEMENTSOF(want); n++)
                ck_assert_uint_eq(fleetctl_poll_delay(WAIT_POLL_FAST_N + n), want[n]);
        ck_assert_uint_eq(fleetctl_poll_delay(1000), WAIT_POLL_USEC);
        ck_assert_uint_eq(fleetctl_poll_delay(UINT_MAX), WAIT_POLL_USEC);
}
END_TEST

static Suite *wait_suite(void) {
        Suite *s = suite_create("fleetctl-wait");
        TCase *tc = tcase_create("core");

        tcase_add_loop_test(tc, test_judge, 0, (int) ELEMENTSOF(cases));
        tcase_add_test(tc, test_poll_delay);
        tcase_add_test(tc, test_failed_counts);
        tcase_add_test(tc, test_messages);
        tcase_add_test(tc, test_why);
        suite_add_tcase(s, tc);
        return s;
}

FLEET_TEST_MAIN(wait_suite)
