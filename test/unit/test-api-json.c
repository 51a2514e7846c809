/* SPDX-License-Identifier: MIT */
#include <check.h>

#include "api-json.h"
#include "strv.h"
#include "test-util.h"

#define PARSE(fn, text, ...) fn(text, strlen(text), __VA_ARGS__)

START_TEST(test_unit_encode_order_and_omission) {
        ApiUnit u = {.name = (char *) "hello.service", .desired_state = (char *) "launched"};
        char *s = NULL;

        ck_assert_int_eq(api_unit_format(&u, &s), 0);
        ck_assert_str_eq(s, "{\"desiredState\":\"launched\",\"name\":\"hello.service\"}");
        free(s);

        ApiUnit full = {};
        ck_assert_int_eq(api_unit_copy(&u, &full), 0);
        full.current_state = strdup("loaded");
        full.machine_id = strdup("abc");
        ck_assert_int_eq(api_unit_add_option(&full, "Unit", "Description", "Hi"), 0);
        ck_assert_int_eq(api_unit_add_option(&full, "Service", "ExecStart", ""), 0);
        ck_assert_int_eq(api_unit_format(&full, &s), 0);
        ck_assert_str_eq(s, "{\"currentState\":\"loaded\",\"desiredState\":\"launched\","
                            "\"machineID\":\"abc\",\"name\":\"hello.service\",\"options\":["
                            "{\"name\":\"Description\",\"section\":\"Unit\",\"value\":\"Hi\"},"
                            "{\"name\":\"ExecStart\",\"section\":\"Service\"}]}");
        free(s);
        api_unit_done(&full);
        ck_assert_ptr_null(full.name);

        ApiUnit empty = {};
        ck_assert_int_eq(api_unit_format(&empty, &s), 0);
        ck_assert_str_eq(s, "{}");
        free(s);
}
END_TEST

/* fleet-c's "reason" comes last (alphabetical, as Go would put it) and only when set; the
 * copy carries it, the parser reads it. */
START_TEST(test_unit_reason) {
        ApiUnit u = {.name = (char *) "db.service",
                     .desired_state = (char *) "launched",
                     .current_state = (char *) "inactive",
                     .reason = (char *) "no machine satisfies MachineMetadata region=ap"};
        const char *want = "{\"currentState\":\"inactive\",\"desiredState\":\"launched\","
                           "\"name\":\"db.service\",\"options\":[{\"name\":\"X\",\"section\":"
                           "\"Unit\",\"value\":\"y\"}],\"reason\":\"no machine satisfies "
                           "MachineMetadata region=ap\"}";
        ApiUnit c = {}, back = {};
        char *s = NULL;

        ck_assert_int_eq(api_unit_copy(&u, &c), 0);
        ck_assert_int_eq(api_unit_add_option(&c, "Unit", "X", "y"), 0);
        ck_assert_int_eq(api_unit_format(&c, &s), 0);
        ck_assert_str_eq(s, want);
        ck_assert_int_eq(PARSE(api_unit_parse, s, &back, NULL), 0);
        ck_assert_str_eq(back.reason, u.reason);
        free(s);
        free(c.reason);
        c.reason = strdup("");
        ck_assert_int_eq(api_unit_format(&c, &s), 0);
        ck_assert_ptr_null(strstr(s, "reason"));
        free(s);
        api_unit_done(&c);
        api_unit_done(&back);
}
END_TEST

START_TEST(test_go_string_escaping) {
        ApiUnit u = {.name = (char *) "a\"b\\c\n\t\r\x01<>&\xe2\x80\xa8\xc3\xa9\xff"};
        char *s = NULL;

        ck_assert_int_eq(api_unit_format(&u, &s), 0);
        ck_assert_str_eq(s, "{\"name\":\"a\\\"b\\\\c\\n\\t\\r\\u0001\\u003c\\u003e\\u0026"
                            "\\u2028\xc3\xa9\\ufffd\"}");
        free(s);
}
END_TEST

START_TEST(test_unit_roundtrip) {
        const char *in = "{\"currentState\":\"launched\",\"desiredState\":\"launched\","
                         "\"machineID\":\"m1\",\"name\":\"x@1.service\",\"options\":["
                         "{\"name\":\"ExecStart\",\"section\":\"Service\",\"value\":\"/bin/sh -c "
                         "\\\"x\\\"\"},"
                         "{\"name\":\"Global\",\"section\":\"X-Fleet\",\"value\":\"true\"}]}";
        ApiUnit u = {};
        char *out = NULL;

        ck_assert_int_eq(PARSE(api_unit_parse, in, &u, NULL), 0);
        ck_assert_str_eq(u.name, "x@1.service");
        ck_assert_str_eq(u.machine_id, "m1");
        ck_assert_uint_eq(u.n_options, 2);
        ck_assert_str_eq(u.options[0].value, "/bin/sh -c \"x\"");
        ck_assert_str_eq(u.options[1].section, "X-Fleet");
        ck_assert_int_eq(api_unit_format(&u, &out), 0);
        ck_assert_str_eq(out, in);
        free(out);
        api_unit_done(&u);
}
END_TEST

START_TEST(test_decode_go_rules) {
        ApiUnit u = {};
        char *err = NULL;

        /* case-insensitive keys, last duplicate wins, null leaves empty, unknown ignored */
        ck_assert_int_eq(PARSE(api_unit_parse,
                               "{\"NAME\":\"a.service\",\"name\":\"b.service\",\"desiredstate\":"
                               "null,\"extra\":[1,2],\"Options\":[{\"Section\":\"Unit\"}]}",
                               &u, &err),
                         0);
        ck_assert_str_eq(u.name, "b.service");
        ck_assert_ptr_null(u.desired_state);
        ck_assert_uint_eq(u.n_options, 1);
        ck_assert_str_eq(u.options[0].section, "Unit");
        ck_assert_str_eq(u.options[0].name, "");
        ck_assert_str_eq(u.options[0].value, "");
        api_unit_done(&u);

        ck_assert_int_eq(PARSE(api_unit_parse, "{\"name\":5}", &u, &err), -EINVAL);
        ck_assert_str_eq(err, "json: cannot unmarshal number into Go value of type string");
        free(err);
        err = NULL;
        ck_assert_int_eq(PARSE(api_unit_parse, "[]", &u, &err), -EINVAL);
        ck_assert_str_eq(err, "json: cannot unmarshal array into Go value of type schema.Unit");
        free(err);
        err = NULL;
        ck_assert_int_eq(PARSE(api_unit_parse, "{\"options\":{}}", &u, &err), -EINVAL);
        ck_assert_str_eq(err, "json: cannot unmarshal object into Go value of type "
                              "[]*schema.UnitOption");
        free(err);
        err = NULL;
        ck_assert_int_eq(PARSE(api_unit_parse, "{\"name\":", &u, &err), -EINVAL);
        ck_assert_ptr_nonnull(err);
        free(err);
        err = NULL;
        ck_assert_int_eq(PARSE(api_unit_parse, "null", &u, &err), 0);
        ck_assert_ptr_null(u.name);
        api_unit_done(&u);
}
END_TEST

START_TEST(test_unit_state) {
        ApiUnitState s = {.name = (char *) "a.service",
                          .hash = (char *) "0123456789012345678901234567890123456789",
                          .machine_id = (char *) "m",
                          .systemd_load_state = (char *) "loaded",
                          .systemd_active_state = (char *) "active",
                          .systemd_sub_state = (char *) "running"};
        ApiUnitState d = {};
        char *out = NULL;

        ck_assert_int_eq(api_unit_state_format(&s, &out), 0);
        ck_assert_str_eq(out, "{\"hash\":\"0123456789012345678901234567890123456789\","
                              "\"machineID\":\"m\",\"name\":\"a.service\","
                              "\"systemdActiveState\":\"active\",\"systemdLoadState\":\"loaded\","
                              "\"systemdSubState\":\"running\"}");
        ck_assert_int_eq(PARSE(api_unit_state_parse, out, &d, NULL), 0);
        ck_assert_str_eq(d.systemd_sub_state, "running");
        ck_assert_str_eq(d.machine_id, "m");
        api_unit_state_done(&d);
        free(out);
}
END_TEST

START_TEST(test_machine_metadata) {
        char *md[] = {(char *) "region", (char *) "us", (char *) "az", (char *) "1", NULL};
        ApiMachine m = {.id = (char *) "m1", .primary_ip = (char *) "10.0.0.1", .metadata = md};
        ApiMachine d = {};
        char *out = NULL, *err = NULL;

        /* unsorted input: the encoder sorts like Go's map encoding */
        ck_assert_int_eq(api_machine_format(&m, &out), 0);
        ck_assert_str_eq(out, "{\"id\":\"m1\",\"metadata\":{\"az\":\"1\",\"region\":\"us\"},"
                              "\"primaryIP\":\"10.0.0.1\"}");
        free(out);

        ck_assert_int_eq(PARSE(api_machine_parse,
                               "{\"id\":\"m1\",\"metadata\":{\"z\":\"2\",\"b\":\"x\",\"a\":\"1\"}}",
                               &d, NULL),
                         0);
        ck_assert_str_eq(d.metadata[0], "a");
        ck_assert_str_eq(d.metadata[2], "b");
        ck_assert_str_eq(d.metadata[4], "z");
        ck_assert_str_eq(api_machine_metadata_get(&d, "b"), "x");
        ck_assert_ptr_null(api_machine_metadata_get(&d, "c"));
        ck_assert_ptr_null(d.primary_ip);
        api_machine_done(&d);

        ck_assert_int_eq(PARSE(api_machine_parse, "{\"metadata\":{\"a\":1}}", &d, &err), -EINVAL);
        ck_assert_str_eq(err, "json: cannot unmarshal number into Go value of type string");
        free(err);

        ApiMachine e = {.id = (char *) "x"};
        ck_assert_int_eq(api_machine_format(&e, &out), 0);
        ck_assert_str_eq(out, "{\"id\":\"x\"}");
        free(out);
}
END_TEST

START_TEST(test_pages) {
        ApiUnit units[2] = {{.name = (char *) "a.service"}, {.name = (char *) "b.service"}};
        ApiMachine ms[1] = {{.id = (char *) "m"}};
        ApiUnitState ss[1] = {{.name = (char *) "a.service"}};
        ApiUnit *du = NULL;
        ApiMachine *dm = NULL;
        ApiUnitState *ds = NULL;
        char *out = NULL, *tok = NULL;
        size_t n = 99;

        ck_assert_int_eq(api_unit_page_format(NULL, 0, NULL, &out), 0);
        ck_assert_str_eq(out, "{}");
        free(out);
        ck_assert_int_eq(api_unit_page_format(units, 2, "ZAACAA==", &out), 0);
        ck_assert_str_eq(out, "{\"nextPageToken\":\"ZAACAA==\",\"units\":[{\"name\":\"a.service\"},"
                              "{\"name\":\"b.service\"}]}");
        ck_assert_int_eq(PARSE(api_unit_page_parse, out, &du, &n, &tok, NULL), 0);
        ck_assert_uint_eq(n, 2);
        ck_assert_str_eq(du[1].name, "b.service");
        ck_assert_str_eq(tok, "ZAACAA==");
        du = api_unit_array_free(du, n);
        free(tok);
        free(out);

        ck_assert_int_eq(api_machine_page_format(ms, 1, "t", &out), 0);
        ck_assert_str_eq(out, "{\"machines\":[{\"id\":\"m\"}],\"nextPageToken\":\"t\"}");
        ck_assert_int_eq(PARSE(api_machine_page_parse, out, &dm, &n, &tok, NULL), 0);
        ck_assert_uint_eq(n, 1);
        ck_assert_str_eq(dm[0].id, "m");
        dm = api_machine_array_free(dm, n);
        free(tok);
        free(out);

        ck_assert_int_eq(api_unit_state_page_format(ss, 1, NULL, &out), 0);
        ck_assert_str_eq(out, "{\"states\":[{\"name\":\"a.service\"}]}");
        tok = (char *) "sentinel";
        ck_assert_int_eq(PARSE(api_unit_state_page_parse, out, &ds, &n, &tok, NULL), 0);
        ck_assert_ptr_null(tok);
        ds = api_unit_state_array_free(ds, n);
        free(out);

        ck_assert_int_eq(PARSE(api_unit_page_parse, "{}", &du, &n, &tok, NULL), 0);
        ck_assert_uint_eq(n, 0);
        ck_assert_ptr_null(tok);
        free(du);

        char *err = NULL;
        ck_assert_int_eq(PARSE(api_unit_page_parse, "{\"units\":3}", &du, &n, &tok, &err), -EINVAL);
        ck_assert_str_eq(err, "json: cannot unmarshal number into Go value of type "
                              "[]*schema.Unit");
        free(err);
}
END_TEST

START_TEST(test_error_body) {
        char *out = NULL, *msg = NULL;
        int code = 0;

        ck_assert_int_eq(api_error_format(404, "unit does not exist", &out), 0);
        ck_assert_str_eq(out, "{\"error\":{\"code\":404,\"message\":\"unit does not exist\"}}");
        ck_assert_int_eq(PARSE(api_error_parse, out, &code, &msg), 0);
        ck_assert_int_eq(code, 404);
        ck_assert_str_eq(msg, "unit does not exist");
        free(out);
        free(msg);

        ck_assert_int_eq(api_error_format(405, NULL, &out), 0);
        ck_assert_str_eq(out, "{\"error\":{\"code\":405,\"message\":\"\"}}");
        free(out);

        ck_assert_int_eq(PARSE(api_error_parse, "{\"error\":{\"code\":500}}", &code, &msg), 0);
        ck_assert_str_eq(msg, "");
        free(msg);
        ck_assert_int_eq(PARSE(api_error_parse, "{\"units\":[]}", &code, &msg), -EINVAL);
        ck_assert_int_eq(PARSE(api_error_parse, "<html>", &code, &msg), -EINVAL);
}
END_TEST

START_TEST(test_metadata_ops) {
        const char *in =
                "[{\"op\":\"add\",\"path\":\"/m1/metadata/region\",\"value\":{\"value\":\"us\"}},"
                "{\"op\":\"remove\",\"path\":\"/m1/metadata/az\"}]";
        ApiMetadataOp *ops = NULL;
        size_t n = 0;
        char *err = NULL;

        ck_assert_int_eq(PARSE(api_metadata_ops_parse, in, &ops, &n, NULL), 0);
        ck_assert_uint_eq(n, 2);
        ck_assert_str_eq(ops[0].op, "add");
        ck_assert_str_eq(ops[0].path, "/m1/metadata/region");
        ck_assert_str_eq(ops[0].value, "us");
        ck_assert_ptr_null(ops[1].value);
        api_metadata_op_array_free(ops, n);

        ck_assert_int_eq(PARSE(api_metadata_ops_parse, "[{\"value\":\"bare\"}]", &ops, &n, &err),
                         -EINVAL);
        ck_assert_ptr_nonnull(strstr(err, "cannot unmarshal string"));
        free(err);
        err = NULL;
        ck_assert_int_eq(PARSE(api_metadata_ops_parse, "{}", &ops, &n, &err), -EINVAL);
        free(err);
}
END_TEST

START_TEST(test_page_token) {
        char tok[API_PAGE_TOKEN_LEN + 1];
        uint16_t limit = 0, page = 0;
        char *err = NULL;

        api_page_token_format(100, 2, tok);
        ck_assert_str_eq(tok, "ZAACAA==");
        api_page_token_format(100, 3, tok);
        ck_assert_str_eq(tok, "ZAADAA==");
        ck_assert_int_eq(api_page_token_parse("ZAADAA==", &limit, &page, NULL), 0);
        ck_assert_uint_eq(limit, 100);
        ck_assert_uint_eq(page, 3);
        ck_assert_int_eq(api_page_token_parse("EwBMLg==", &limit, &page, NULL), 0);
        ck_assert_uint_eq(limit, 19);

        ck_assert_int_eq(api_page_token_parse("ZA!CAA==", &limit, &page, &err), -EINVAL);
        ck_assert_str_eq(err, "illegal base64 data at input byte 2");
        free(err);
        err = NULL;
        ck_assert_int_eq(api_page_token_parse("ZAA", &limit, &page, &err), -EINVAL);
        ck_assert_str_eq(err, "illegal base64 data at input byte 0");
        free(err);
        err = NULL;
        ck_assert_int_eq(api_page_token_parse("ZAA=", &limit, &page, &err), -EINVAL);
        ck_assert_str_eq(err, "unexpected EOF");
        free(err);
        err = NULL;
        ck_assert_int_eq(api_page_token_parse("", &limit, &page, &err), -EINVAL);
        ck_assert_str_eq(err, "EOF");
        free(err);
}
END_TEST

static Suite *api_json_suite(void) {
        Suite *s = suite_create("api-json");
        TCase *tc = tcase_create("core");
        tcase_add_test(tc, test_unit_encode_order_and_omission);
        tcase_add_test(tc, test_go_string_escaping);
        tcase_add_test(tc, test_unit_reason);
        tcase_add_test(tc, test_unit_roundtrip);
        tcase_add_test(tc, test_decode_go_rules);
        tcase_add_test(tc, test_unit_state);
        tcase_add_test(tc, test_machine_metadata);
        tcase_add_test(tc, test_pages);
        tcase_add_test(tc, test_error_body);
        tcase_add_test(tc, test_metadata_ops);
        tcase_add_test(tc, test_page_token);
        suite_add_tcase(s, tc);
        return s;
}

FLEET_TEST_MAIN(api_json_suite)
