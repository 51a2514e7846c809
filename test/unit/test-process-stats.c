/* SPDX-License-Identifier: MIT */
/* The process_* metrics: parsing /proc text captured from a real process, and the text. */
#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "process-stats.h"
#include "test-util.h"

/* A fleetd's /proc/<pid>/stat; its command name holds a space and a ')' on purpose. */
static const char stat_text[] =
        "4242 (fleet d) x) S 1 4242 4242 0 -1 4194560 1200 0 3 0 250 125 0 0 20 0 1 0 "
        "123456 25165824 3000 18446744073709551615 1 1 0 0 0 0 0 4096 0 0 0 0 17 1 0 0 0 0 0 "
        "0 0 0 0 0 0 0 0\n";
static const char proc_stat_text[] = "cpu  1 2 3 4\nintr 1 2 3\nctxt 99\nbtime 1765000000\n"
                                     "processes 7\n";

START_TEST(test_parse) {
        ProcessStats s = {.open_fds = 9};

        ck_assert_int_eq(process_stats_parse(stat_text, proc_stat_text, 100, 4096, &s), 0);
        ck_assert_uint_eq(s.cpu_usec, 3750000); /* (250 + 125) ticks at 100 Hz */
        ck_assert_uint_eq(s.virtual_bytes, 25165824);
        ck_assert_uint_eq(s.resident_bytes, 3000 * 4096);
        ck_assert_uint_eq(s.start_time_realtime, 1765000000ULL * 1000000 + 1234560000);
        ck_assert_uint_eq(s.open_fds, 9); /* left alone */
}
END_TEST

START_TEST(test_parse_bad) {
        ProcessStats s = {.cpu_usec = 1};

        ck_assert_int_eq(process_stats_parse("4242 (x) S 1 2", proc_stat_text, 100, 4096, &s),
                         -EBADMSG);
        ck_assert_int_eq(process_stats_parse("garbage", proc_stat_text, 100, 4096, &s), -EBADMSG);
        ck_assert_int_eq(process_stats_parse(stat_text, "cpu 1 2\n", 100, 4096, &s), -EBADMSG);
        ck_assert_int_eq(process_stats_parse(stat_text, "btime x\n", 100, 4096, &s), -EBADMSG);
        ck_assert_int_eq(process_stats_parse(stat_text, proc_stat_text, 0, 4096, &s), -EINVAL);
        ck_assert_uint_eq(s.cpu_usec, 1); /* unchanged */
}
END_TEST

START_TEST(test_write) {
        ProcessStats s = {.cpu_usec = 3750000,
                          .resident_bytes = 12288000,
                          .virtual_bytes = 25165824,
                          .open_fds = 12,
                          .max_fds = 524288,
                          .start_time_realtime = 1765000001230000ULL};
        char *t = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&t, &len);

        ck_assert_ptr_nonnull(f);
        process_stats_write(&s, f);
        ck_assert_int_eq(fclose(f), 0);
        ck_assert_str_eq(t, "# HELP process_cpu_seconds_total Total user and system CPU time "
                            "spent in seconds.\n"
                            "# TYPE process_cpu_seconds_total counter\n"
                            "process_cpu_seconds_total 3.750000\n"
                            "# HELP process_max_fds Maximum number of open file descriptors.\n"
                            "# TYPE process_max_fds gauge\n"
                            "process_max_fds 524288\n"
                            "# HELP process_open_fds Number of open file descriptors.\n"
                            "# TYPE process_open_fds gauge\n"
                            "process_open_fds 12\n"
                            "# HELP process_resident_memory_bytes Resident memory size in bytes.\n"
                            "# TYPE process_resident_memory_bytes gauge\n"
                            "process_resident_memory_bytes 12288000\n"
                            "# HELP process_start_time_seconds Start time of the process since "
                            "unix epoch in seconds.\n"
                            "# TYPE process_start_time_seconds gauge\n"
                            "process_start_time_seconds 1765000001.230000\n"
                            "# HELP process_virtual_memory_bytes Virtual memory size in bytes.\n"
                            "# TYPE process_virtual_memory_bytes gauge\n"
                            "process_virtual_memory_bytes 25165824\n");
        free(t);
}
END_TEST

static Suite *suite(void) {
        Suite *s = suite_create("process-stats");
        TCase *tc = tcase_create("process-stats");

        tcase_add_test(tc, test_parse);
        tcase_add_test(tc, test_parse_bad);
        tcase_add_test(tc, test_write);
        suite_add_tcase(s, tc);
        return s;
}

FLEET_TEST_MAIN(suite)
