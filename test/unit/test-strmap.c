/* SPDX-License-Identifier: MIT */
/*
 * StrMap: random operations checked against a plain array (borrowed and owned keys), keys
 * that share a home slot (a probe run that wraps around the end of the table) and their
 * removal, iteration with removal of the current entry, and the empty map.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "macro.h"
#include "strmap.h"
#include "test-util.h"

enum { N = 2000 };

/* Random puts and removes of "key-<i>", checked against present[]; returns the size. */
static size_t random_ops(StrMap *m, char (*keys)[16], bool *present, unsigned seed) {
        char buf[16];
        size_t n = 0;
        void *old;

        for (int round = 0; round < 20000; round++) {
                int i = (int) (rand_r(&seed) % N);

                /* An owning map gets its key from a buffer that is overwritten next round. */
                strcpy(buf, keys[i]);
                if (rand_r(&seed) % 3 != 0) {
                        ck_assert_int_eq(strmap_put(m, m->own_keys ? buf : keys[i], keys[i], &old),
                                         0);
                        ck_assert_ptr_eq(old, present[i] ? keys[i] : NULL);
                        n += !present[i];
                        present[i] = true;
                } else {
                        ck_assert_ptr_eq(strmap_remove(m, buf), present[i] ? keys[i] : NULL);
                        n -= present[i];
                        present[i] = false;
                }
                memset(buf, 'x', sizeof(buf) - 1);
        }
        return n;
}

static void check_random(bool own_keys) {
        StrMap m = {.own_keys = own_keys};
        char(*keys)[16] = calloc(N, 16);
        bool present[N] = {};
        size_t n, iterated = 0;
        StrMapIter it = {};
        const char *k;
        void *v;

        ck_assert_ptr_nonnull(keys);
        for (int i = 0; i < N; i++)
                (void) snprintf(keys[i], 16, "key-%d", i);
        ck_assert_ptr_null(strmap_get(&m, "nothing"));
        ck_assert_ptr_null(strmap_remove(&m, "nothing"));
        n = random_ops(&m, keys, present, 42);
        ck_assert_uint_eq(strmap_size(&m), n);
        for (int i = 0; i < N; i++)
                ck_assert_ptr_eq(strmap_get(&m, keys[i]), present[i] ? keys[i] : NULL);
        while (strmap_next(&m, &it, &k, &v)) {
                ck_assert_str_eq(k, v);
                /* Borrowed: the very pointer given; owned: a copy. */
                ck_assert(own_keys ? k != v : k == v);
                iterated++;
        }
        ck_assert_uint_eq(iterated, n);
        strmap_done(&m);
        ck_assert_uint_eq(strmap_size(&m), 0);
        ck_assert(m.own_keys == own_keys);
        free(keys);
}

START_TEST(test_random_borrowed) {
        check_random(false);
}
END_TEST

START_TEST(test_random_owned) {
        check_random(true);
}
END_TEST

/* The slot key lands in when it is alone in a map of 16 slots: its home slot. */
static size_t home_slot(const char *key) {
        StrMap m = {};
        size_t slot;

        ck_assert_int_eq(strmap_put(&m, key, (void *) key, NULL), 0);
        ck_assert_uint_eq(m.capacity, 16);
        for (slot = 0; !m.keys[slot]; slot++)
                ;
        strmap_done(&m);
        return slot;
}

/* Up to 7 keys (a map of 16 holds 8) whose home slot is home. */
static size_t colliding_keys(size_t home, char keys[][16]) {
        size_t n = 0;

        for (int i = 0; n < 7 && i < 100000; i++) {
                (void) snprintf(keys[n], 16, "c%d", i);
                if (home_slot(keys[n]) == home)
                        n++;
        }
        return n;
}

/* Every removal order of a cluster at slot 15, whose probe run wraps to slots 0, 1, ... */
START_TEST(test_collisions_wrap_and_delete) {
        char keys[7][16];
        size_t n = colliding_keys(15, keys);

        ck_assert_uint_eq(n, 7);
        for (size_t first = 0; first < n; first++) {
                StrMap m = {};

                for (size_t i = 0; i < n; i++)
                        ck_assert_int_eq(strmap_put(&m, keys[i], keys[i], NULL), 0);
                ck_assert_uint_eq(m.capacity, 16);
                /* All but the first are displaced: 15, then 0, 1, ... */
                ck_assert_ptr_eq(m.keys[15], keys[0]);
                ck_assert_ptr_eq(m.keys[0], keys[1]);
                for (size_t k = 0; k < n; k++) {
                        size_t i = (first + k) % n;

                        ck_assert_ptr_eq(strmap_remove(&m, keys[i]), keys[i]);
                        ck_assert_ptr_null(strmap_get(&m, keys[i]));
                        ck_assert_ptr_null(strmap_remove(&m, keys[i]));
                        for (size_t l = k + 1; l < n; l++) {
                                size_t j = (first + l) % n;

                                ck_assert_ptr_eq(strmap_get(&m, keys[j]), keys[j]);
                        }
                }
                ck_assert_uint_eq(strmap_size(&m), 0);
                strmap_done(&m);
        }
}
END_TEST

/* Iterate over a map, removing the entries that rand_r picks; each entry must be seen once. */
static void check_remove_while_iterating(StrMap *m, char (*keys)[16], size_t n_keys,
                                         unsigned seed) {
        unsigned *seen = calloc(n_keys, sizeof(unsigned));
        bool *removed = calloc(n_keys, sizeof(bool));
        size_t n = strmap_size(m), visits = 0, n_removed = 0;
        StrMapIter it = {};
        const char *k;
        void *v;

        ck_assert_ptr_nonnull(seen);
        ck_assert_ptr_nonnull(removed);
        while (strmap_next(m, &it, &k, &v)) {
                size_t i = (size_t) ((char(*)[16]) v - keys);

                ck_assert_str_eq(k, keys[i]);
                seen[i]++;
                visits++;
                if (rand_r(&seed) % 2) {
                        ck_assert_ptr_eq(strmap_remove_current(m, &it), v);
                        removed[i] = true;
                        n_removed++;
                }
        }
        ck_assert_uint_eq(visits, n);
        ck_assert_uint_eq(strmap_size(m), n - n_removed);
        for (size_t i = 0; i < n_keys; i++) {
                ck_assert_uint_le(seen[i], 1);
                if (seen[i])
                        ck_assert_ptr_eq(strmap_get(m, keys[i]), removed[i] ? NULL : keys[i]);
        }
        free(seen);
        free(removed);
}

START_TEST(test_remove_current) {
        char(*keys)[16] = calloc(N, 16);
        char wrap[7][16];
        size_t n_wrap = colliding_keys(15, wrap);

        ck_assert_ptr_nonnull(keys);
        for (int i = 0; i < N; i++)
                (void) snprintf(keys[i], 16, "key-%d", i);
        /* Large maps, owned and borrowed keys, then removing everything. */
        for (unsigned seed = 1; seed <= 20; seed++) {
                StrMap m = {.own_keys = seed % 2};
                StrMapIter it = {};

                for (int i = 0; i < N; i += 1 + (int) (seed % 3))
                        ck_assert_int_eq(strmap_put(&m, keys[i], keys[i], NULL), 0);
                check_remove_while_iterating(&m, keys, N, seed);
                while (strmap_next(&m, &it, NULL, NULL))
                        (void) strmap_remove_current(&m, &it);
                ck_assert_uint_eq(strmap_size(&m), 0);
                strmap_done(&m);
        }
        /* Small maps with the run that wraps around the end, in many removal patterns. */
        memcpy(keys, wrap, sizeof(wrap));
        for (int i = 0; i < 8; i++)
                (void) snprintf(keys[n_wrap + i], 16, "o-%d", i);
        for (unsigned seed = 1; seed <= 500; seed++) {
                StrMap m = {};
                unsigned s = seed;

                for (size_t i = 0; i < n_wrap + 8; i++)
                        if (i < n_wrap || rand_r(&s) % 4 == 0)
                                (void) strmap_put(&m, keys[i], keys[i], NULL);
                check_remove_while_iterating(&m, keys, n_wrap + 8, seed);
                strmap_done(&m);
        }
        free(keys);
}
END_TEST

/* String values: a copy is kept, the replaced one freed; done_free frees them all (valgrind and
 * ASan see a leak or a double free). */
START_TEST(test_strdup_values) {
        StrMap m = {.own_keys = true};
        char key[] = "k";

        ck_assert_int_eq(strmap_put_strdup(&m, key, "one"), 0);
        key[0] = 'x'; /* the map has its own copies */
        ck_assert_str_eq(strmap_get(&m, "k"), "one");
        ck_assert_int_eq(strmap_put_strdup(&m, "k", "two"), 0);
        ck_assert_str_eq(strmap_get(&m, "k"), "two");
        ck_assert_int_eq(strmap_put_strdup(&m, "l", ""), 0);
        ck_assert_uint_eq(strmap_size(&m), 2);
        strmap_done_free(&m);
        ck_assert_uint_eq(strmap_size(&m), 0);
        ck_assert_ptr_null(strmap_get(&m, "k"));
        /* usable again */
        ck_assert_int_eq(strmap_put_strdup(&m, "k", "three"), 0);
        ck_assert_str_eq(strmap_get(&m, "k"), "three");
        strmap_done_free(&m);
        strmap_done_free(NULL);
}
END_TEST

START_TEST(test_empty_and_replace) {
        StrMap m = {.own_keys = true};
        StrMapIter it = {};
        char key[] = "a.service";
        const char *k;
        void *old = (void *) 1;
        int one = 1, two = 2;

        ck_assert(!strmap_next(&m, &it, &k, NULL));
        ck_assert(!strmap_next(&m, &it, &k, NULL));
        ck_assert_uint_eq(strmap_size(&m), 0);
        ck_assert_uint_eq(strmap_size(NULL), 0);
        strmap_done(&m);
        strmap_done(NULL);

        ck_assert_int_eq(strmap_put(&m, key, &one, &old), 0);
        ck_assert_ptr_null(old);
        key[0] = 'b'; /* an owned key is a copy */
        ck_assert_ptr_eq(strmap_get(&m, "a.service"), &one);
        ck_assert_ptr_null(strmap_get(&m, "b.service"));
        ck_assert_int_eq(strmap_put(&m, "a.service", &two, &old), 0);
        ck_assert_ptr_eq(old, &one);
        ck_assert_uint_eq(strmap_size(&m), 1);
        it = (StrMapIter){};
        ck_assert(strmap_next(&m, &it, &k, &old));
        ck_assert_str_eq(k, "a.service");
        ck_assert_ptr_eq(old, &two);
        ck_assert(!strmap_next(&m, &it, &k, &old));
        strmap_done(&m);
        ck_assert(m.own_keys); /* kept: the map can be used again */
        ck_assert_int_eq(strmap_put(&m, "c", &one, NULL), 0);
        strmap_done(&m);

        /* A borrowed key is replaced by the new pointer along with the value. */
        {
                StrMap b = {};
                char k1[] = "x", k2[] = "x";

                ck_assert_int_eq(strmap_put(&b, k1, &one, NULL), 0);
                ck_assert_int_eq(strmap_put(&b, k2, &two, NULL), 0);
                it = (StrMapIter){};
                ck_assert(strmap_next(&b, &it, &k, NULL));
                ck_assert_ptr_eq(k, k2);
                strmap_done(&b);
        }
}
END_TEST

static Suite *strmap_suite(void) {
        Suite *s = suite_create("strmap");
        TCase *tc = tcase_create("strmap");

        tcase_add_test(tc, test_random_borrowed);
        tcase_add_test(tc, test_random_owned);
        tcase_add_test(tc, test_collisions_wrap_and_delete);
        tcase_add_test(tc, test_remove_current);
        tcase_add_test(tc, test_empty_and_replace);
        tcase_add_test(tc, test_strdup_values);
        suite_add_tcase(s, tc);
        return s;
}

FLEET_TEST_MAIN(strmap_suite)
