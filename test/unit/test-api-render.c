/* SPDX-License-Identifier: MIT */
/* The cache of rendered read answers (api-render.h): keys, revisions, bounds, eviction. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api-render.h"
#include "test-util.h"

static const char *get(ApiRender *c, const char *key, int64_t revision) {
        size_t len = 0;
        const char *b = api_render_get(c, key, revision, &len);

        if (b)
                ck_assert_uint_eq(len, strlen(b));
        return b;
}

static void put(ApiRender *c, const char *key, int64_t revision, const char *body) {
        ck_assert_int_eq(api_render_put(c, key, revision, body, strlen(body)), 1);
}

START_TEST(test_hit_only_at_the_same_key_and_revision) {
        ApiRender c;

        api_render_init(&c, 0);
        ck_assert_ptr_null(get(&c, "units 0", 5));
        put(&c, "units 0", 5, "{\"units\":[]}");
        put(&c, "units 1", 5, "{\"units\":[1]}");
        ck_assert_str_eq(get(&c, "units 0", 5), "{\"units\":[]}");
        ck_assert_str_eq(get(&c, "units 1", 5), "{\"units\":[1]}");
        ck_assert_ptr_null(get(&c, "units 2", 5));
        ck_assert_ptr_null(get(&c, "units 0", 6)); /* a newer copy: render again */
        ck_assert_ptr_null(get(&c, "units 0", 4));
        ck_assert_uint_eq(c.hits, 2);
        ck_assert_uint_eq(c.misses, 4);
        ck_assert_uint_eq(c.bytes, strlen("{\"units\":[]}") + strlen("{\"units\":[1]}"));
        api_render_clear(&c);
        ck_assert_uint_eq(c.n, 0);
        ck_assert_uint_eq(c.bytes, 0);
        ck_assert_ptr_null(get(&c, "units 0", 5));
}
END_TEST

START_TEST(test_a_new_revision_drops_the_old_ones) {
        ApiRender c;

        api_render_init(&c, 0);
        put(&c, "units 0", 5, "a");
        put(&c, "state 0 0: 0:", 5, "b");
        put(&c, "units 0", 7, "c");
        ck_assert_uint_eq(c.n, 1);
        ck_assert_uint_eq(c.bytes, 1);
        ck_assert_ptr_null(get(&c, "state 0 0: 0:", 5));
        ck_assert_str_eq(get(&c, "units 0", 7), "c");
        api_render_clear(&c);
}
END_TEST

START_TEST(test_same_key_replaced) {
        ApiRender c;

        api_render_init(&c, 0);
        put(&c, "units 0", 5, "first");
        put(&c, "units 0", 5, "again");
        ck_assert_uint_eq(c.n, 1);
        ck_assert_uint_eq(c.bytes, 5);
        ck_assert_str_eq(get(&c, "units 0", 5), "again");
        api_render_clear(&c);
}
END_TEST

START_TEST(test_empty_body) {
        ApiRender c;
        size_t len = 99;

        api_render_init(&c, 0);
        ck_assert_int_eq(api_render_put(&c, "k", 1, "", 0), 1);
        ck_assert_ptr_nonnull(api_render_get(&c, "k", 1, &len));
        ck_assert_uint_eq(len, 0);
        api_render_clear(&c);
}
END_TEST

START_TEST(test_bounds) {
        ApiRender c;
        char key[32], body[64];

        /* at most API_RENDER_SLOTS entries: the least recently used goes */
        api_render_init(&c, 0);
        for (int i = 0; i < API_RENDER_SLOTS; i++) {
                snprintf(key, sizeof(key), "units %d", i);
                put(&c, key, 1, key);
        }
        ck_assert_str_eq(get(&c, "units 0", 1), "units 0"); /* 0 used again: 1 is the oldest */
        put(&c, "units new", 1, "n");
        ck_assert_uint_eq(c.n, API_RENDER_SLOTS);
        ck_assert_ptr_null(get(&c, "units 1", 1));
        ck_assert_str_eq(get(&c, "units 0", 1), "units 0");
        ck_assert_str_eq(get(&c, "units new", 1), "n");
        api_render_clear(&c);

        /* at most max_bytes: older bodies go; more than a quarter of it is not kept */
        api_render_init(&c, 100);
        memset(body, 'x', 25);
        body[25] = '\0';
        for (int i = 0; i < 4; i++) {
                snprintf(key, sizeof(key), "p%d", i);
                put(&c, key, 1, body);
        }
        ck_assert_uint_eq(c.bytes, 100);
        put(&c, "p4", 1, "y");
        ck_assert_uint_le(c.bytes, 100);
        ck_assert_ptr_null(get(&c, "p0", 1));
        ck_assert_str_eq(get(&c, "p4", 1), "y");
        memset(body, 'z', 26);
        body[26] = '\0';
        ck_assert_int_eq(api_render_put(&c, "big", 1, body, 26), 0);
        ck_assert_ptr_null(get(&c, "big", 1));
        ck_assert_str_eq(get(&c, "p4", 1), "y");
        /* a too large body at a new revision still drops the stale ones */
        ck_assert_int_eq(api_render_put(&c, "big", 2, body, 26), 0);
        ck_assert_uint_eq(c.n, 0);
        ck_assert_uint_eq(c.bytes, 0);
        api_render_clear(&c);
}
END_TEST

static Suite *suite(void) {
        Suite *s = suite_create("api-render");
        TCase *tc = tcase_create("core");

        tcase_add_test(tc, test_hit_only_at_the_same_key_and_revision);
        tcase_add_test(tc, test_a_new_revision_drops_the_old_ones);
        tcase_add_test(tc, test_same_key_replaced);
        tcase_add_test(tc, test_empty_body);
        tcase_add_test(tc, test_bounds);
        suite_add_tcase(s, tc);
        return s;
}

FLEET_TEST_MAIN(suite)
