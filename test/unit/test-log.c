/* SPDX-License-Identifier: MIT */
#include <check.h>

#include "log.h"
#include "test-util.h"

START_TEST(test_level_from_string) {
        ck_assert_int_eq(log_level_from_string("debug"), LOG_DEBUG);
        ck_assert_int_eq(log_level_from_string("ERR"), LOG_ERR);
        ck_assert_int_eq(log_level_from_string("error"), LOG_ERR);
        ck_assert_int_eq(log_level_from_string("warning"), LOG_WARNING);
        ck_assert_int_eq(log_level_from_string("6"), LOG_INFO);
        ck_assert_int_eq(log_level_from_string("8"), -EINVAL);
        ck_assert_int_eq(log_level_from_string("loud"), -EINVAL);
        ck_assert_int_eq(log_level_from_string(NULL), -EINVAL);
}
END_TEST

START_TEST(test_errno_return) {
        log_set_max_level(LOG_ERR);
        /* Below the level: nothing printed, but the error still comes back negative. */
        ck_assert_int_eq(log_debug_errno(EIO, "x %m"), -EIO);
        ck_assert_int_eq(log_debug_errno(-ENOENT, "x %m"), -ENOENT);
        ck_assert_int_eq(log_error_errno(-EINVAL, "expected test message: %m"), -EINVAL);
        log_set_max_level(LOG_INFO);
}
END_TEST

static Suite *log_suite(void) {
        Suite *s = suite_create("log");
        TCase *tc = tcase_create("core");
        tcase_add_test(tc, test_level_from_string);
        tcase_add_test(tc, test_errno_return);
        suite_add_tcase(s, tc);
        return s;
}

FLEET_TEST_MAIN(log_suite)
