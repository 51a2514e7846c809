/* SPDX-License-Identifier: MIT */
#include <check.h>
#include <errno.h>

#include "macro.h"
#include "test-util.h"
#include "time-util.h"

static const struct {
        const char *in;
        int r;
        usec_t usec;
} duration_cases[] = {
        /* Go's own time.ParseDuration test table, in microseconds. */
        {"0", 0, 0},
        {"5s", 0, 5 * USEC_PER_SEC},
        {"30s", 0, 30 * USEC_PER_SEC},
        {"1478s", 0, 1478 * USEC_PER_SEC},
        {"-0", 0, 0},
        {"+5s", 0, 5 * USEC_PER_SEC},
        {"-0s", 0, 0},
        {"+0", 0, 0},
        {"5.0s", 0, 5 * USEC_PER_SEC},
        {"5.6s", 0, 5600 * USEC_PER_MSEC},
        {"5.s", 0, 5 * USEC_PER_SEC},
        {".5s", 0, 500 * USEC_PER_MSEC},
        {"1.0s", 0, USEC_PER_SEC},
        {"1.00s", 0, USEC_PER_SEC},
        {"1.004s", 0, 1004 * USEC_PER_MSEC},
        {"1.0040s", 0, 1004 * USEC_PER_MSEC},
        {"100.00100s", 0, 100 * USEC_PER_SEC + 1 * USEC_PER_MSEC},
        {"10ns", 0, 0},
        {"1500ns", 0, 1},
        {"11us", 0, 11},
        {"12\xc2\xb5s", 0, 12},
        {"12\xce\xbcs", 0, 12},
        {"13ms", 0, 13 * USEC_PER_MSEC},
        {"500ms", 0, 500 * USEC_PER_MSEC},
        {"14s", 0, 14 * USEC_PER_SEC},
        {"15m", 0, 15 * USEC_PER_MINUTE},
        {"16h", 0, 16 * USEC_PER_HOUR},
        {"3h30m", 0, 3 * USEC_PER_HOUR + 30 * USEC_PER_MINUTE},
        {"1m30s", 0, 90 * USEC_PER_SEC},
        {"1.5h", 0, 90 * USEC_PER_MINUTE},
        {"10.5s4m", 0, 4 * USEC_PER_MINUTE + 10500 * USEC_PER_MSEC},
        {"1h2m3s4ms5us6ns", 0,
         USEC_PER_HOUR + 2 * USEC_PER_MINUTE + 3 * USEC_PER_SEC + 4 * USEC_PER_MSEC + 5},
        {"39h9m14.425s", 0, 39 * USEC_PER_HOUR + 9 * USEC_PER_MINUTE + 14425 * USEC_PER_MSEC},
        {"52763797000ns", 0, 52763797},
        {"0.3333333333333333333h", 0, 20 * USEC_PER_MINUTE},
        {"9007199254740993ns", 0, 9007199254740},
        {"9223372036854775807ns", 0, 9223372036854775},
        {"9223372036854775.807us", 0, 9223372036854775},
        {"0.100000000000000000000h", 0, 6 * USEC_PER_MINUTE},
        /* Errors. */
        {"", -EINVAL, 0},
        {"3", -EINVAL, 0},
        {"-", -EINVAL, 0},
        {"s", -EINVAL, 0},
        {".", -EINVAL, 0},
        {"-.", -EINVAL, 0},
        {".s", -EINVAL, 0},
        {"+.s", -EINVAL, 0},
        {"1d", -EINVAL, 0},
        {"1 s", -EINVAL, 0},
        {" 1s", -EINVAL, 0},
        {"1s ", -EINVAL, 0},
        {"abc", -EINVAL, 0},
        {"00", -EINVAL, 0},
        {"30", -EINVAL, 0},
        {"1S", -EINVAL, 0},
        {"-1s", -ERANGE, 0},
        {"-1ns", -ERANGE, 0},
        {"9223372036854775808ns", -ERANGE, 0},
        {"9223372036854775.808us", -ERANGE, 0},
        {"3000000h", -ERANGE, 0},
        {"99999999999999999999s", -ERANGE, 0},
};

START_TEST(test_parse_go_duration) {
        const char *in = duration_cases[_i].in;
        usec_t u = 4242;
        int r = parse_go_duration(in, &u);

        ck_assert_msg(r == duration_cases[_i].r, "\"%s\": got %d, expected %d", in, r,
                      duration_cases[_i].r);
        if (r == 0)
                ck_assert_msg(u == duration_cases[_i].usec, "\"%s\": got %llu, expected %llu", in,
                              (unsigned long long) u, (unsigned long long) duration_cases[_i].usec);
        else
                ck_assert_msg(u == 4242, "\"%s\": output written on error", in);
}
END_TEST

static const struct {
        const char *in;
        int r;
        usec_t usec;
} float_cases[] = {
        {"1", 0, USEC_PER_SEC},
        {"1.0", 0, USEC_PER_SEC},
        {"2.5", 0, 2500 * USEC_PER_MSEC},
        {"0", 0, 0},
        {"-0", 0, 0},
        {"+3", 0, 3 * USEC_PER_SEC},
        {".25", 0, 250 * USEC_PER_MSEC},
        {"2e-1", 0, 200 * USEC_PER_MSEC},
        {"1E3", 0, 1000 * USEC_PER_SEC},
        {"0.0000004", 0, 0},
        {"0.0000005", 0, 1},
        {"0.000001", 0, 1},
        {"0x1p1", 0, 2 * USEC_PER_SEC},
        {"1e-400", 0, 0},
        {"", -EINVAL, 0},
        {" 1", -EINVAL, 0},
        {"1 ", -EINVAL, 0},
        {"1s", -EINVAL, 0},
        {"abc", -EINVAL, 0},
        {"nan", -EINVAL, 0},
        {"inf", -EINVAL, 0},
        {"+inf", -EINVAL, 0},
        {"-nan", -EINVAL, 0},
        {"1_000", -EINVAL, 0},
        {"-1", -ERANGE, 0},
        {"-0.5", -ERANGE, 0},
        {"1e400", -ERANGE, 0},
        {"1e14", -ERANGE, 0},
};

START_TEST(test_parse_sec_float) {
        const char *in = float_cases[_i].in;
        usec_t u = 4242;
        int r = parse_sec_float(in, &u);

        ck_assert_msg(r == float_cases[_i].r, "\"%s\": got %d, expected %d", in, r,
                      float_cases[_i].r);
        if (r == 0)
                ck_assert_msg(u == float_cases[_i].usec, "\"%s\": got %llu, expected %llu", in,
                              (unsigned long long) u, (unsigned long long) float_cases[_i].usec);
        else
                ck_assert_msg(u == 4242, "\"%s\": output written on error", in);
}
END_TEST

START_TEST(test_parse_null) {
        usec_t u;
        ck_assert_int_eq(parse_go_duration(NULL, &u), -EINVAL);
        ck_assert_int_eq(parse_sec_float(NULL, &u), -EINVAL);
}
END_TEST

static const struct {
        usec_t in;
        const char *out;
} format_cases[] = {
        {0, "0s"},
        {1, "1\xc2\xb5s"},
        {999, "999\xc2\xb5s"},
        {1000, "1ms"},
        {1500, "1.5ms"},
        {1001, "1.001ms"},
        {500 * USEC_PER_MSEC, "500ms"},
        {USEC_PER_SEC, "1s"},
        {2500 * USEC_PER_MSEC, "2.5s"},
        {30 * USEC_PER_SEC, "30s"},
        {90 * USEC_PER_SEC, "1m30s"},
        {USEC_PER_HOUR, "1h0m0s"},
        {USEC_PER_HOUR + 500 * USEC_PER_MSEC, "1h0m0.5s"},
        {90 * USEC_PER_MINUTE, "1h30m0s"},
        {61 * USEC_PER_SEC + 1, "1m1.000001s"},
        {9223372036854775, "2562047h47m16.854775s"},
        {USEC_INFINITY, "infinity"},
};

START_TEST(test_format_timespan) {
        char buf[FORMAT_TIMESPAN_MAX];
        ck_assert_str_eq(format_timespan(buf, format_cases[_i].in), format_cases[_i].out);
}
END_TEST

START_TEST(test_format_roundtrip) {
        static const usec_t values[] = {0,
                                        1,
                                        999,
                                        1500,
                                        USEC_PER_SEC,
                                        90 * USEC_PER_SEC,
                                        USEC_PER_HOUR + 1,
                                        9223372036854775};
        char buf[FORMAT_TIMESPAN_MAX];
        usec_t u;

        for (size_t i = 0; i < ELEMENTSOF(values); i++) {
                ck_assert_int_eq(parse_go_duration(format_timespan(buf, values[i]), &u), 0);
                ck_assert_msg(u == values[i], "%s", buf);
        }
}
END_TEST

static Suite *time_util_suite(void) {
        Suite *s = suite_create("time-util");
        TCase *tc = tcase_create("core");

        tcase_add_loop_test(tc, test_parse_go_duration, 0, (int) ELEMENTSOF(duration_cases));
        tcase_add_loop_test(tc, test_parse_sec_float, 0, (int) ELEMENTSOF(float_cases));
        tcase_add_test(tc, test_parse_null);
        tcase_add_loop_test(tc, test_format_timespan, 0, (int) ELEMENTSOF(format_cases));
        tcase_add_test(tc, test_format_roundtrip);
        suite_add_tcase(s, tc);
        return s;
}

FLEET_TEST_MAIN(time_util_suite)
