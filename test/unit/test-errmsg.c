/* SPDX-License-Identifier: MIT */
/*
 * errmsg_set: the message it formats, the error it passes through, and what it does with the
 * out-param (NULL, already holding a message, an argument that is the old message).
 */
#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "errmsg.h"
#include "macro.h"
#include "test-util.h"

START_TEST(test_formats_and_returns_error) {
        _cleanup_free_ char *m = NULL;

        ck_assert_int_eq(errmsg_set(&m, -EINVAL, "bad %s at %d", "name", 3), -EINVAL);
        ck_assert_str_eq(m, "bad name at 3");
}
END_TEST

START_TEST(test_passes_any_error_through) {
        static const int errors[] = {-EINVAL, -EFBIG, -EISDIR, -ENOENT, -EACCES};

        for (size_t i = 0; i < ELEMENTSOF(errors); i++) {
                _cleanup_free_ char *m = NULL;

                ck_assert_int_eq(errmsg_set(&m, errors[i], "e%zu", i), errors[i]);
                ck_assert_ptr_nonnull(m);
                ck_assert_int_eq(m[0], 'e');
        }
}
END_TEST

START_TEST(test_null_reterr) {
        ck_assert_int_eq(errmsg_set(NULL, -EINVAL, "ignored %s", "text"), -EINVAL);
        ck_assert_int_eq(errmsg_set(NULL, -EFBIG, "ignored"), -EFBIG);
}
END_TEST

START_TEST(test_replaces_previous_message) {
        _cleanup_free_ char *m = NULL;

        ck_assert_int_eq(errmsg_set(&m, -EINVAL, "first"), -EINVAL);
        ck_assert_int_eq(errmsg_set(&m, -EINVAL, "second"), -EINVAL);
        ck_assert_str_eq(m, "second"); /* and "first" was freed: valgrind/ASan see no leak */
}
END_TEST

START_TEST(test_old_message_as_argument) {
        _cleanup_free_ char *m = strdup("inner");

        ck_assert_ptr_nonnull(m);
        ck_assert_int_eq(errmsg_set(&m, -EINVAL, "outer: %s", m), -EINVAL);
        ck_assert_str_eq(m, "outer: inner");
}
END_TEST

START_TEST(test_empty_and_exact_bytes) {
        _cleanup_free_ char *m = NULL, *n = NULL;

        ck_assert_int_eq(errmsg_set(&m, -EINVAL, "%s", ""), -EINVAL);
        ck_assert_str_eq(m, "");
        /* Messages are fleet's, byte for byte: nothing is added, trimmed or escaped. */
        ck_assert_int_eq(errmsg_set(&n, -EINVAL, "iniparser: syntax error at ':%u'.\n", 7u),
                         -EINVAL);
        ck_assert_str_eq(n, "iniparser: syntax error at ':7'.\n");
}
END_TEST

static Suite *errmsg_suite(void) {
        Suite *s = suite_create("errmsg");
        TCase *tc = tcase_create("set");

        tcase_add_test(tc, test_formats_and_returns_error);
        tcase_add_test(tc, test_passes_any_error_through);
        tcase_add_test(tc, test_null_reterr);
        tcase_add_test(tc, test_replaces_previous_message);
        tcase_add_test(tc, test_old_message_as_argument);
        tcase_add_test(tc, test_empty_and_exact_bytes);
        suite_add_tcase(s, tc);
        return s;
}

FLEET_TEST_MAIN(errmsg_suite)
