/* SPDX-License-Identifier: MIT */
#include <check.h>

#include "fleetctl-table.h"
#include "test-util.h"

static char *fmt(const char *text) {
        char *out = NULL;
        ck_assert_int_eq(tab_writer_format(&TAB_WRITER_FLEET, text, &out), 0);
        return out;
}

#define ck_fmt(in, want)                                                                           \
        do {                                                                                       \
                char *_o_ = fmt(in);                                                               \
                ck_assert_str_eq(_o_, want);                                                       \
                free(_o_);                                                                         \
        } while (0)

START_TEST(test_reference_layout) {
        /* reference 11.6: UNIT\t\tMACHINE\t\t\t\tACTIVE\t\tSUB */
        ck_fmt("UNIT\tMACHINE\tACTIVE\tSUB\n"
               "hello.service\t113f16a7.../172.17.8.103\tactivating\tstart-pre\n",
               "UNIT\t\tMACHINE\t\t\t\tACTIVE\t\tSUB\n"
               "hello.service\t113f16a7.../172.17.8.103\tactivating\tstart-pre\n");
        ck_fmt("ACTIVE\tSUB\nactive\trunning\n", "ACTIVE\tSUB\nactive\trunning\n");
}
END_TEST

START_TEST(test_exact_multiple) {
        /* width 7 + padding 1 = 8: one tab; width 8 + 1 = 9 -> 16: "12345678" needs one tab,
         * the shorter cell two. */
        ck_fmt("1234567\tx\n", "1234567\tx\n");
        ck_fmt("12345678\tx\nab\ty\n", "12345678\tx\nab\t\ty\n");
        ck_fmt("\tx\n", "\tx\n");
}
END_TEST

START_TEST(test_single_cell_flushes) {
        /* A line without tabs ends the column block: the widths before and after it are
         * computed separately. */
        ck_fmt("a\tb\nplain\nlonglonglong\tc\n", "a\tb\nplain\nlonglonglong\tc\n");
        ck_fmt("a\tb\nlonglonglong\tc\n", "a\t\tb\nlonglonglong\tc\n");
        ck_fmt("only\n", "only\n");
        ck_fmt("", "");
}
END_TEST

START_TEST(test_ragged_and_unterminated) {
        /* Last cell per line is not part of a column; missing trailing newline is kept. */
        ck_fmt("a\tb\tc\nlongerthan8\td\n", "a\t\tb\tc\nlongerthan8\td\n");
        ck_fmt("a\tb", "a\tb");
        ck_fmt("a\tb\n\n", "a\tb\n\n");
        /* Column 1 exists only in the first line: it forms its own block there. */
        ck_fmt("x\tyyyyyyyyyyyy\tz\nx\ty\n", "x\tyyyyyyyyyyyy\tz\nx\ty\n");
}
END_TEST

START_TEST(test_utf8_width) {
        /* "héllo" is 5 characters, 6 bytes: one tab to reach 8, like "hello". */
        ck_fmt("h\xc3\xa9llo\tx\nabcdefgh\ty\n", "h\xc3\xa9llo\t\tx\nabcdefgh\ty\n");
}
END_TEST

START_TEST(test_space_padding) {
        TabWriter w = {.minwidth = 0, .tabwidth = 8, .padding = 1, .padchar = ' '};
        char *o = NULL;

        ck_assert_int_eq(tab_writer_format(&w, "a\tb\nccc\td\n", &o), 0);
        ck_assert_str_eq(o, "a   b\nccc d\n");
        free(o);
}
END_TEST

START_TEST(test_table_rows) {
        Table t = {};
        const char *row1[] = {"UNIT", "STATE"};
        const char *row2[] = {"a.service", NULL};
        char *o = NULL;

        ck_assert_int_eq(table_add_row(&t, row1, 2), 0);
        ck_assert_int_eq(table_add_row(&t, row2, 2), 0);
        ck_assert_str_eq(t.text, "UNIT\tSTATE\na.service\t\n");
        ck_assert_int_eq(table_format(&t, &o), 0);
        ck_assert_str_eq(o, "UNIT\t\tSTATE\na.service\t\n");
        free(o);
        table_done(&t);

        ck_assert_int_eq(table_format(&t, &o), 0);
        ck_assert_str_eq(o, "");
        free(o);
}
END_TEST

static Suite *table_suite(void) {
        Suite *s = suite_create("fleetctl-table");
        TCase *tc = tcase_create("core");
        tcase_add_test(tc, test_reference_layout);
        tcase_add_test(tc, test_exact_multiple);
        tcase_add_test(tc, test_single_cell_flushes);
        tcase_add_test(tc, test_ragged_and_unterminated);
        tcase_add_test(tc, test_utf8_width);
        tcase_add_test(tc, test_space_padding);
        tcase_add_test(tc, test_table_rows);
        suite_add_tcase(s, tc);
        return s;
}

FLEET_TEST_MAIN(table_suite)
