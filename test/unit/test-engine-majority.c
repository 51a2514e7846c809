/* SPDX-License-Identifier: MIT */
/* The engine's majority rule (engine/majority.h): which expired machines keep their units. */
#include <check.h>
#include <stdlib.h>

#include "majority.h"
#include "strv.h"
#include "test-util.h"

#define S USEC_PER_SEC
#define TTL (6 * S)

#define L(...) ((char *[]){__VA_ARGS__, NULL})

/* Writable names (string literals are const with -Wwrite-strings). */
static char m1[] = "m1", m2[] = "m2", m3[] = "m3";
static char a[] = "a", b[] = "b", c[] = "c", d[] = "d", e[] = "e";

static MajorityTracker *tracker(void) {
        MajorityTracker *t = NULL;

        ck_assert_int_eq(majority_tracker_new(&t, TTL, 2 * S), 0);
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

START_TEST(test_single_expiry_moves) {
        _cleanup_(majority_tracker_freep) MajorityTracker *t = tracker();
        size_t known, expired;

        ck_assert_int_eq(majority_tracker_observe(t, 10 * S, L(m1, m2, m3), L(m1, m2)), 0);
        /* m3 crashes: one of three, its units move. */
        ck_assert_int_eq(majority_tracker_observe(t, 20 * S, L(m1, m2), L(m1, m2)), 0);
        majority_tracker_counts(t, &known, &expired);
        ck_assert_uint_eq(known, 2); /* m3 was last seen live 10 s ago, more than a TTL */
        ck_assert_uint_eq(expired, 0);
        ck_assert_int_eq(majority_tracker_observe(t, 21 * S, L(m1), L(m1, m2)), 0);
        majority_tracker_counts(t, &known, &expired);
        ck_assert_uint_eq(known, 2);
        ck_assert_uint_eq(expired, 1); /* half, not more: m2's units move */
        ck_assert(!majority_tracker_is_held(t, "m2"));
        assert_held(t, "");
}
END_TEST

START_TEST(test_two_of_three_held) {
        _cleanup_(majority_tracker_freep) MajorityTracker *t = tracker();

        ck_assert_int_eq(majority_tracker_observe(t, 10 * S, L(m1, m2, m3), NULL), 0);
        /* m2 and m3 expire within one TTL: more than half of three. */
        ck_assert_int_eq(majority_tracker_observe(t, 12 * S, L(m1, m3), NULL), 0);
        ck_assert_int_eq(majority_tracker_observe(t, 15 * S, L(m1), NULL), 2);
        assert_held(t, "m2 m3");
        ck_assert_uint_eq(majority_tracker_n_held(t), 2);
        /* Held until they come back, however long that takes. */
        ck_assert_int_eq(majority_tracker_observe(t, 500 * S, L(m1), NULL), 0);
        assert_held(t, "m2 m3");
        ck_assert_int_eq(majority_tracker_observe(t, 501 * S, L(m1, m2), NULL), 0);
        assert_held(t, "m3");
        ck_assert_int_eq(majority_tracker_observe(t, 502 * S, L(m1, m2, m3), NULL), 0);
        assert_held(t, "");
}
END_TEST

START_TEST(test_everyone_expires) {
        _cleanup_(majority_tracker_freep) MajorityTracker *t = tracker();

        ck_assert_int_eq(majority_tracker_observe(t, 10 * S, L(m1, m2, m3), NULL), 0);
        ck_assert_int_eq(majority_tracker_observe(t, 14 * S, NULL, NULL), 3);
        assert_held(t, "m1 m2 m3");
        /* They come back one by one: the ones still away stay held. */
        ck_assert_int_eq(majority_tracker_observe(t, 15 * S, L(m2), NULL), 0);
        ck_assert_int_eq(majority_tracker_observe(t, 15 * S + 1, L(m1, m2), NULL), 0);
        assert_held(t, "m3");
}
END_TEST

START_TEST(test_new_leader_after_mass_expiry) {
        _cleanup_(majority_tracker_freep) MajorityTracker *t = tracker();

        /* Elected after an outage: only m1 is back; m2 and m3 still own schedule entries. */
        ck_assert_int_eq(majority_tracker_observe(t, 100 * S, L(m1), L(m1, m2, m3)), 2);
        assert_held(t, "m2 m3");
        majority_tracker_reset(t);
        assert_held(t, "");
        /* Elected after a single crash: two of three are live; m3, never seen live, is held for
         * the grace only, then its units move. */
        ck_assert_int_eq(majority_tracker_observe(t, 200 * S, L(m1, m2), L(m1, m2, m3, m3)), 0);
        assert_held(t, "m3");
        ck_assert(majority_tracker_in_grace(t));
        ck_assert_int_eq(majority_tracker_observe(t, 202 * S, L(m1, m2), L(m1, m2, m3)), 0);
        assert_held(t, "");
        ck_assert(!majority_tracker_in_grace(t));
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
        ck_assert_int_eq(majority_tracker_observe(t, 10 * S, L(a, b, c, d, e), NULL), 0);
        ck_assert_int_eq(majority_tracker_observe(t, 11 * S, L(a, b), NULL), 3);
        assert_held(t, "c d e");
        /* Spread out over more than a TTL, two expiries of five are each a minority. */
        majority_tracker_reset(t);
        ck_assert_int_eq(majority_tracker_observe(t, 20 * S, L(a, b, c, d, e), NULL), 0);
        ck_assert_int_eq(majority_tracker_observe(t, 21 * S, L(a, b, c, d), NULL), 0);
        ck_assert_int_eq(majority_tracker_observe(t, 22 * S, L(a, b, c), NULL), 0);
        assert_held(t, "");
}
END_TEST

START_TEST(test_bad_window) {
        MajorityTracker *t = NULL;

        ck_assert_int_eq(majority_tracker_new(&t, 0, 0), -EINVAL);
        ck_assert_int_eq(majority_tracker_new(&t, TTL, TTL + 1), -EINVAL);
        ck_assert_ptr_null(t);
        ck_assert_ptr_null(majority_tracker_free(NULL));
}
END_TEST

static Suite *majority_suite(void) {
        Suite *s = suite_create("engine-majority");
        TCase *tc = tcase_create("core");

        tcase_add_test(tc, test_single_expiry_moves);
        tcase_add_test(tc, test_two_of_three_held);
        tcase_add_test(tc, test_everyone_expires);
        tcase_add_test(tc, test_new_leader_after_mass_expiry);
        tcase_add_test(tc, test_small_side_of_partition);
        tcase_add_test(tc, test_bad_window);
        suite_add_tcase(s, tc);
        return s;
}

FLEET_TEST_MAIN(majority_suite)
