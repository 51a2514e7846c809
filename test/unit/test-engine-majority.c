/* SPDX-License-Identifier: MIT */
/* The engine's majority rule (engine/majority.h): which expired machines keep their units. */
#include <check.h>
#include <stdlib.h>

#include "majority.h"
#include "strv.h"
#include "test-util.h"

#define S USEC_PER_SEC
#define MS USEC_PER_MSEC
#define TTL (6 * S)
#define SETTLE (1 * S)
#define GRACE (2 * S)

#define L(...) ((char *[]){__VA_ARGS__, NULL})

/* Writable names (string literals are const with -Wwrite-strings). */
static char m1[] = "m1", m2[] = "m2", m3[] = "m3";
static char a[] = "a", b[] = "b", c[] = "c", d[] = "d", e[] = "e";

static MajorityTracker *tracker(void) {
        MajorityTracker *t = NULL;

        ck_assert_int_eq(majority_tracker_new(&t, TTL, SETTLE, GRACE), 0);
        return t;
}

static void assert_held(const MajorityTracker *t, const char *expected) {
        _cleanup_strv_free_ char **l = NULL;
        char buf[256] = "";

        ck_assert_int_eq(majority_tracker_held(t, &l), 0);
        STRV_FOREACH(i, l) {
                if (buf[0])
                        strcat(buf, " ");
                strcat(buf, *i);
        }
        ck_assert_str_eq(buf, expected);
}

START_TEST(test_single_expiry_moves_after_settle) {
        _cleanup_(majority_tracker_freep) MajorityTracker *t = tracker();
        size_t known, expired;

        ck_assert_int_eq(majority_tracker_observe(t, 10 * S, L(m1, m2, m3), L(m1, m2, m3)), 0);
        ck_assert_uint_eq(majority_tracker_next_change(t), 0);
        /* m3 crashes: held for the settle time only, then its units move. */
        ck_assert_int_eq(majority_tracker_observe(t, 20 * S, L(m1, m2), L(m1, m2, m3)), 0);
        majority_tracker_counts(t, &known, &expired);
        ck_assert_uint_eq(known, 3);
        ck_assert_uint_eq(expired, 1);
        assert_held(t, "m3");
        ck_assert_uint_eq(majority_tracker_n_held(t), 0);
        ck_assert_uint_eq(majority_tracker_next_change(t), 20 * S + SETTLE);
        ck_assert_int_eq(majority_tracker_observe(t, 21 * S, L(m1, m2), L(m1, m2, m3)), 0);
        assert_held(t, "");
        ck_assert_uint_eq(majority_tracker_next_change(t), 0);
        /* Its units moved: m3 no longer counts. */
        ck_assert_int_eq(majority_tracker_observe(t, 22 * S, L(m1, m2), L(m1, m2)), 0);
        majority_tracker_counts(t, &known, &expired);
        ck_assert_uint_eq(known, 2);
        ck_assert_uint_eq(expired, 0);
}
END_TEST

START_TEST(test_two_of_three_held) {
        _cleanup_(majority_tracker_freep) MajorityTracker *t = tracker();

        ck_assert_int_eq(majority_tracker_observe(t, 10 * S, L(m1, m2, m3), L(m1, m2, m3)), 0);
        /* m2 and m3 expire together (seen half a second apart: within the settle time). */
        ck_assert_int_eq(majority_tracker_observe(t, 12 * S, L(m1, m3), L(m1, m2, m3)), 0);
        assert_held(t, "m2");
        ck_assert_int_eq(majority_tracker_observe(t, 12 * S + 500 * MS, L(m1), L(m1, m2, m3)), 2);
        assert_held(t, "m2 m3");
        ck_assert_uint_eq(majority_tracker_n_held(t), 2);
        /* Held until they come back, however long that takes. */
        ck_assert_int_eq(majority_tracker_observe(t, 500 * S, L(m1), L(m1, m2, m3)), 0);
        assert_held(t, "m2 m3");
        ck_assert_uint_eq(majority_tracker_next_change(t), 0);
        ck_assert_int_eq(majority_tracker_observe(t, 501 * S, L(m1, m2), L(m1, m2, m3)), 0);
        assert_held(t, "m3");
        /* An operator deletes m3's schedule entries: it no longer counts, nothing is held. */
        ck_assert_int_eq(majority_tracker_observe(t, 502 * S, L(m1, m2), L(m1, m2)), 0);
        assert_held(t, "");
        ck_assert_uint_eq(majority_tracker_n_held(t), 0);
}
END_TEST

START_TEST(test_graceful_departures_one_by_one) {
        _cleanup_(majority_tracker_freep) MajorityTracker *t = tracker();

        /* Two of three machines stopped one after the other (their units moved in between):
         * never a majority, each one's units move. */
        ck_assert_int_eq(majority_tracker_observe(t, 10 * S, L(m1, m2, m3), L(m1, m2, m3)), 0);
        ck_assert_int_eq(majority_tracker_observe(t, 11 * S, L(m1, m3), L(m1, m2, m3)), 0);
        ck_assert_int_eq(majority_tracker_observe(t, 12 * S, L(m1, m3), L(m1, m2, m3)), 0);
        assert_held(t, "");
        ck_assert_int_eq(majority_tracker_observe(t, 12 * S + 1, L(m1, m3), L(m1, m3)), 0);
        ck_assert_int_eq(majority_tracker_observe(t, 14 * S, L(m1), L(m1, m3)), 0);
        assert_held(t, "m3");
        ck_assert_int_eq(majority_tracker_observe(t, 15 * S, L(m1), L(m1, m3)), 0);
        assert_held(t, "");
}
END_TEST

START_TEST(test_everyone_expires) {
        _cleanup_(majority_tracker_freep) MajorityTracker *t = tracker();

        ck_assert_int_eq(majority_tracker_observe(t, 10 * S, L(m1, m2, m3), L(m1, m2, m3)), 0);
        ck_assert_int_eq(majority_tracker_observe(t, 14 * S, NULL, L(m1, m2, m3)), 3);
        assert_held(t, "m1 m2 m3");
        /* They come back one by one: the ones still away stay held. */
        ck_assert_int_eq(majority_tracker_observe(t, 15 * S, L(m2), L(m1, m2, m3)), 0);
        ck_assert_int_eq(majority_tracker_observe(t, 15 * S + 1, L(m1, m2), L(m1, m2, m3)), 0);
        assert_held(t, "m3");
        ck_assert_uint_eq(majority_tracker_n_held(t), 1);
}
END_TEST

START_TEST(test_new_leader) {
        _cleanup_(majority_tracker_freep) MajorityTracker *t = tracker();

        /* Elected after an outage: only m1 is back; m2 and m3 still own schedule entries. */
        ck_assert_int_eq(majority_tracker_observe(t, 100 * S, L(m1), L(m1, m2, m3)), 2);
        assert_held(t, "m2 m3");
        majority_tracker_reset(t);
        assert_held(t, "");
        /* Elected after a single crash: m3, never seen live, is held for the grace only, then
         * its units move. */
        ck_assert_int_eq(majority_tracker_observe(t, 200 * S, L(m1, m2), L(m1, m2, m3, m3)), 0);
        assert_held(t, "m3");
        ck_assert_uint_eq(majority_tracker_next_change(t), 200 * S + GRACE);
        ck_assert_int_eq(majority_tracker_observe(t, 201 * S, L(m1, m2), L(m1, m2, m3)), 0);
        assert_held(t, "m3");
        ck_assert_int_eq(majority_tracker_observe(t, 202 * S, L(m1, m2), L(m1, m2, m3)), 0);
        assert_held(t, "");
        ck_assert_uint_eq(majority_tracker_next_change(t), 0);
        /* Elected while the agents register again after an outage: m3 comes back within the
         * grace and nothing of it ever moved. */
        majority_tracker_reset(t);
        ck_assert_int_eq(majority_tracker_observe(t, 300 * S, L(m1, m2), L(m1, m2, m3)), 0);
        assert_held(t, "m3");
        ck_assert_int_eq(majority_tracker_observe(t, 301 * S, L(m1, m2, m3), L(m1, m2, m3)), 0);
        assert_held(t, "");
}
END_TEST

START_TEST(test_small_side_of_partition) {
        _cleanup_(majority_tracker_freep) MajorityTracker *t = tracker();

        /* Five machines; the engine's side keeps two: three expire together, held. */
        ck_assert_int_eq(majority_tracker_observe(t, 10 * S, L(a, b, c, d, e), L(a, b, c, d, e)),
                         0);
        ck_assert_int_eq(majority_tracker_observe(t, 11 * S, L(a, b), L(a, b, c, d, e)), 3);
        assert_held(t, "c d e");
        /* Two of five at once is a minority: moved after the settle time. */
        majority_tracker_reset(t);
        ck_assert_int_eq(majority_tracker_observe(t, 20 * S, L(a, b, c, d, e), L(a, b, c, d, e)),
                         0);
        ck_assert_int_eq(majority_tracker_observe(t, 21 * S, L(a, b, c), L(a, b, c, d, e)), 0);
        assert_held(t, "d e");
        ck_assert_int_eq(majority_tracker_observe(t, 22 * S, L(a, b, c), L(a, b, c, d, e)), 0);
        assert_held(t, "");
}
END_TEST

/* fleet-c: `fleetctl drain` of a held machine (a draining cordon) releases its units. */
START_TEST(test_drain_releases_held_machine) {
        _cleanup_(majority_tracker_freep) MajorityTracker *t = tracker();
        size_t known, expired;

        ck_assert_int_eq(majority_tracker_observe(t, 10 * S, L(m1, m2, m3), L(m1, m2, m3)), 0);
        ck_assert_int_eq(majority_tracker_observe(t, 11 * S, L(m1), L(m1, m2, m3)), 2);
        assert_held(t, "m2 m3");
        ck_assert_uint_eq(majority_tracker_n_held(t), 2);
        /* A draining cordon on a live machine releases nothing. */
        ck_assert_int_eq(majority_tracker_set_released(t, L(m1)), 0);
        assert_held(t, "m2 m3");
        ck_assert(!majority_tracker_is_released(t, "m1"));
        /* The operator drains m2: only m2 is released; it still counts as expired. */
        ck_assert_int_eq(majority_tracker_set_released(t, L(m1, m2)), 0);
        ck_assert_int_eq(majority_tracker_observe(t, 12 * S, L(m1), L(m1, m2, m3)), 0);
        assert_held(t, "m3");
        ck_assert(majority_tracker_is_released(t, "m2"));
        ck_assert(!majority_tracker_is_released(t, "m3"));
        ck_assert(!majority_tracker_is_held(t, "m2"));
        ck_assert_uint_eq(majority_tracker_n_held(t), 1);
        majority_tracker_counts(t, &known, &expired);
        ck_assert_uint_eq(known, 3);
        ck_assert_uint_eq(expired, 2);
        /* The cordon lifted before m2's units moved: held again (sticky). */
        ck_assert_int_eq(majority_tracker_set_released(t, NULL), 0);
        ck_assert_int_eq(majority_tracker_observe(t, 13 * S, L(m1), L(m1, m2, m3)), 0);
        assert_held(t, "m2 m3");
        /* Drained again: its units moved, m2 no longer counts; m3 stays held. */
        ck_assert_int_eq(majority_tracker_set_released(t, L(m2)), 0);
        ck_assert_int_eq(majority_tracker_observe(t, 14 * S, L(m1), L(m1, m3)), 0);
        assert_held(t, "m3");
        ck_assert(!majority_tracker_is_released(t, "m2"));
        /* A machine just gone (held for the settle time only) is released at once too. */
        majority_tracker_reset(t);
        ck_assert_int_eq(majority_tracker_observe(t, 20 * S, L(m1, m2, m3), L(m1, m2, m3)), 0);
        ck_assert_int_eq(majority_tracker_observe(t, 21 * S, L(m1, m2), L(m1, m2, m3)), 0);
        assert_held(t, "m3");
        ck_assert_uint_eq(majority_tracker_next_change(t), 21 * S + SETTLE);
        ck_assert_int_eq(majority_tracker_set_released(t, L(m3)), 0);
        assert_held(t, "");
        ck_assert_uint_eq(majority_tracker_next_change(t), 0);
}
END_TEST

START_TEST(test_bad_parameters) {
        MajorityTracker *t = NULL;

        ck_assert_int_eq(majority_tracker_new(&t, 0, 0, 0), -EINVAL);
        ck_assert_int_eq(majority_tracker_new(&t, TTL, TTL + 1, 0), -EINVAL);
        ck_assert_int_eq(majority_tracker_new(&t, TTL, 0, TTL + 1), -EINVAL);
        ck_assert_ptr_null(t);
        ck_assert_ptr_null(majority_tracker_free(NULL));
}
END_TEST

static Suite *majority_suite(void) {
        Suite *s = suite_create("engine-majority");
        TCase *tc = tcase_create("core");

        tcase_add_test(tc, test_single_expiry_moves_after_settle);
        tcase_add_test(tc, test_two_of_three_held);
        tcase_add_test(tc, test_graceful_departures_one_by_one);
        tcase_add_test(tc, test_everyone_expires);
        tcase_add_test(tc, test_new_leader);
        tcase_add_test(tc, test_small_side_of_partition);
        tcase_add_test(tc, test_drain_releases_held_machine);
        tcase_add_test(tc, test_bad_parameters);
        suite_add_tcase(s, tc);
        return s;
}

FLEET_TEST_MAIN(majority_suite)
