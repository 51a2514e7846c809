/* SPDX-License-Identifier: MIT */
/*
 * Unit names: fleet's api.ValidateName messages (reference 5.1), unit.NewUnitNameInfo (5.2,
 * fleet's TestNamedUnit table) and Go's %q quoting.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "test-util.h"
#include "unit-name.h"

typedef struct ValidateCase {
        const char *name;
        const char *error; /* NULL: valid */
} ValidateCase;

/* 247 + ".service" = 255 bytes, systemd's maximum; one more is fleet's (256) */
#define N255                                                                                       \
        "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"         \
        "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"         \
        "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"         \
        "aaaaaaa"                                                                                  \
        ".service"
#define N256 "a" N255

static const ValidateCase validate_cases[] = {
        {"foo.service", NULL},
        {"foo@.service", NULL},
        {"foo@bar.service", NULL},
        {"foo@bar@baz.socket", NULL},
        {"a:b-c_d.e\\f.timer", NULL},
        {"x.automount", NULL},
        {"x.device", NULL},
        {"x.mount", NULL},
        {"x.path", NULL},
        {"x.scope", NULL},
        {"x.slice", NULL},
        {"x.socket", NULL},
        {"x.swap", NULL},
        {"x.target", NULL},
        {"foo@.target", NULL},
        {"foo@1.path", NULL},
        {"foo.bar.service", NULL},
        {"", "unit name cannot be empty"},
        {"a" N256, "unit name exceeds maximum length (256)"},
        {"foo", "unit name must contain \".\""},
        {"foo.", "unit name cannot end in \".\""},
        {".", "unit name cannot end in \".\""},
        {"..", "unit name cannot end in \".\""},
        {"foo.bar", "invalid unit type: \"bar\""},
        {"foo.Service", "invalid unit type: \"Service\""},
        {"foo.service.bak", "invalid unit type: \"bak\""},
        {"foo.ser\"vice", "invalid unit type: \"ser\\\"vice\""},
        {"foo.servic\xff", "invalid unit type: \"servic\\xff\""},
        {"foo.serv\nice", "invalid unit type: \"serv\\nice\""},
        {"foo bar.baz", "invalid unit type: \"baz\""}, /* the type is checked first */
        {"foo@.swap", "invalid unit type for template: \"swap\""},
        {"foo@bar.mount", "invalid unit type for template: \"mount\""},
        {"foo@bar.device", "invalid unit type for template: \"device\""},
        {"foo bar.service", "invalid character ' ' in unit name"},
        {"foo/bar.service", "invalid character '/' in unit name"},
        {"../x.service", "invalid character '/' in unit name"},
        {"foo%i.service", "invalid character '%' in unit name"},
        {"foo'.service", "invalid character '\\'' in unit name"},
        {"foo\".service", "invalid character '\"' in unit name"},
        {"foo\t.service", "invalid character '\\t' in unit name"},
        {"foo\x01.service", "invalid character '\\x01' in unit name"},
        {"foo\x7f.service", "invalid character '\\x7f' in unit name"},
        {"caf\xc3\xa9.service", "invalid character '\xc3\xa9' in unit name"},
        {"a\xc2\xa0"
         "b.service",
         "invalid character '\\u00a0' in unit name"},
        {"a\xe2\x80\x8b.service", "invalid character '\\u200b' in unit name"},
        {"a\xff.service", "invalid character '\xef\xbf\xbd' in unit name"},
        {"@foo.service", "unit name cannot start in \"@\""},
        {"@.service", "unit name cannot start in \"@\""},
        {"@foo bar.service", "invalid character ' ' in unit name"},
        {"@foo.swap", "invalid unit type for template: \"swap\""},
        {"x@y.busname", "invalid unit type for template: \"busname\""},

        /* systemd's unit_name_is_valid() (src/basic/unit-name.c), checked with systemd 252's
         * `systemd-analyze verify`: names fleet v1 accepts and systemd refuses get messages of
         * their own; names both accept stay valid. */
        {N255, NULL},
        {".foo.service", NULL},    /* a hidden name, but a name before the type */
        {"a\\x2db.service", NULL}, /* systemd's escapes */
        {"a@b@c.service", NULL},   /* a second '@' belongs to the instance */
        {"a@b.c.service", NULL},
        {"-.slice", NULL},
        {"dev-sda.device", NULL},
        {"a-.mount", NULL},
        {":.service", NULL},
        {N256, "unit name exceeds maximum length (255)"},
        {".service", "unit name has nothing before its type: \".service\""},
        {".timer", "unit name has nothing before its type: \".timer\""},
        {"x.busname", "invalid unit type: \"busname\""},
        {"x.snapshot", "invalid unit type: \"snapshot\""},
};

START_TEST(test_validate_table) {
        const ValidateCase *c = &validate_cases[_i];
        _cleanup_free_ char *msg = NULL;
        int r = unit_name_validate(c->name, &msg);

        if (!c->error) {
                ck_assert_msg(r == 0, "'%s': %s", c->name, strempty(msg));
                ck_assert_ptr_null(msg);
        } else {
                ck_assert_int_eq(r, -EINVAL);
                ck_assert_str_eq(msg, c->error);
                ck_assert_int_eq(unit_name_validate(c->name, NULL), -EINVAL);
        }
}
END_TEST

START_TEST(test_validate_null) {
        _cleanup_free_ char *msg = NULL;

        ck_assert_uint_eq(strlen(N256), UNIT_NAME_MAX);
        ck_assert_uint_eq(strlen(N255), UNIT_NAME_MAX - 1);
        ck_assert_int_eq(unit_name_validate(NULL, &msg), -EINVAL);
        ck_assert_str_eq(msg, "unit name cannot be empty");
}
END_TEST

typedef struct InfoCase {
        const char *full, *name, *suffix, *prefix, *template, *instance;
        bool is_instance, is_template;
} InfoCase;

/* fleet unit/unit_test.go TestNamedUnit */
static const InfoCase info_cases[] = {
        {"foo.service", "foo", "service", "foo", NULL, "", false, false},
        {"foo@.service", "foo@", "service", "foo", "foo@.service", "", false, true},
        {"foo@bar.service", "foo@bar", "service", "foo", "foo@.service", "bar", true, false},
        {"foo@bar@baz.service", "foo@bar@baz", "service", "foo", "foo@.service", "bar@baz", true,
         false},
        {"foo.1@.service", "foo.1@", "service", "foo.1", "foo.1@.service", "", false, true},
        {"foo.1@2.service", "foo.1@2", "service", "foo.1", "foo.1@.service", "2", true, false},
        {"ssh@.socket", "ssh@", "socket", "ssh", "ssh@.socket", "", false, true},
        {"ssh@1.socket", "ssh@1", "socket", "ssh", "ssh@.socket", "1", true, false},
        {"a.b@c.d", "a.b@c", "d", "a.b", "a.b@.d", "c", true, false},
        {"@x.service", "@x", "service", "", "@.service", "x", true, false},
        {".service", "", "service", "", NULL, "", false, false},
        {"foo.", "foo", "", "foo", NULL, "", false, false},
};

START_TEST(test_info_table) {
        const InfoCase *c = &info_cases[_i];
        _cleanup_(unit_name_info_done) UnitNameInfo i = {};
        _cleanup_free_ char *t = NULL;

        ck_assert_int_eq(unit_name_info(c->full, &i), 0);
        ck_assert_str_eq(i.full_name, c->full);
        ck_assert_str_eq(i.name, c->name);
        ck_assert_str_eq(i.suffix, c->suffix);
        ck_assert_str_eq(i.prefix, c->prefix);
        ck_assert_str_eq(i.instance, c->instance);
        if (c->template)
                ck_assert_str_eq(i.template, c->template);
        else
                ck_assert_ptr_null(i.template);
        ck_assert(unit_name_is_instance(c->full) == c->is_instance);
        ck_assert(unit_name_is_template(c->full) == c->is_template);
        if (c->is_instance) {
                ck_assert_int_eq(unit_name_template_of(c->full, &t), 0);
                ck_assert_str_eq(t, c->template);
        } else
                ck_assert_int_eq(unit_name_template_of(c->full, &t), -EINVAL);
}
END_TEST

START_TEST(test_info_bad) {
        static const char *const bad[] = {"foo", "bar@baz", ""};
        UnitNameInfo i = {.name = (char *) "untouched"};

        for (size_t k = 0; k < ELEMENTSOF(bad); k++) {
                ck_assert_int_eq(unit_name_info(bad[k], &i), -EINVAL);
                ck_assert_str_eq(i.name, "untouched");
                ck_assert(!unit_name_is_template(bad[k]));
                ck_assert(!unit_name_is_instance(bad[k]));
        }
        ck_assert_int_eq(unit_name_info(NULL, &i), -EINVAL);
        ck_assert(!unit_name_is_template(NULL));
        unit_name_info_done(NULL);
}
END_TEST

START_TEST(test_go_quote) {
        static const struct {
                const char *in, *out;
        } cases[] = {
                {"", "\"\""},
                {"abc", "\"abc\""},
                {"a\"b\\c", "\"a\\\"b\\\\c\""},
                {"'", "\"'\""},
                {"\a\b\f\n\r\t\v", "\"\\a\\b\\f\\n\\r\\t\\v\""},
                {"\x01\x1f\x7f", "\"\\x01\\x1f\\x7f\""},
                {"\xff\xfe", "\"\\xff\\xfe\""},
                {"\xe2\x98", "\"\\xe2\\x98\""},
                {"caf\xc3\xa9 \xe2\x98\x83", "\"caf\xc3\xa9 \xe2\x98\x83\""},
                {"\xc2\x85\xc2\xa0\xc2\xad", "\"\\u0085\\u00a0\\u00ad\""},
                {"\xe2\x80\xa8\xef\xbb\xbf", "\"\\u2028\\ufeff\""},
                {"\xee\x80\x80", "\"\\ue000\""},
                {"\xf3\xb0\x80\x80", "\"\\U000f0000\""},
                {"\xf0\x9f\x98\x80", "\"\xf0\x9f\x98\x80\""},
                {"\xef\xbf\xbd", "\"\xef\xbf\xbd\""},
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                _cleanup_free_ char *q = NULL;

                ck_assert_int_eq(unit_go_quote(cases[i].in, &q), 0);
                ck_assert_str_eq(q, cases[i].out);
        }
}
END_TEST

static Suite *unit_name_suite(void) {
        Suite *s = suite_create("unit-name");
        TCase *tc = tcase_create("validate");

        tcase_add_loop_test(tc, test_validate_table, 0, ELEMENTSOF(validate_cases));
        tcase_add_test(tc, test_validate_null);
        suite_add_tcase(s, tc);

        tc = tcase_create("info");
        tcase_add_loop_test(tc, test_info_table, 0, ELEMENTSOF(info_cases));
        tcase_add_test(tc, test_info_bad);
        tcase_add_test(tc, test_go_quote);
        suite_add_tcase(s, tc);
        return s;
}

FLEET_TEST_MAIN(unit_name_suite)
