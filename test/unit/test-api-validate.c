/* SPDX-License-Identifier: MIT */
/* Request decoding and validation of the HTTP API v1: content type, page tokens and slices,
 * PUT bodies and the PUT decision, unit content, PATCH /machines, error bodies. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "api-validate.h"
#include "test-util.h"

/* ---- Content-Type -------------------------------------------------------------------------- */

typedef struct CtCase {
        const char *value;
        unsigned count;
        const char *error; /* NULL: accepted */
} CtCase;

static const CtCase ct_cases[] = {
        {"application/json", 1, NULL},
        {"application/json; charset=utf-8", 1, NULL},
        {" application/json ;x=y", 1, NULL},
        {"application/json;", 1, NULL},
        {NULL, 0, "expected 1 Content-Type, got 0"},
        {"application/json", 2, "expected 1 Content-Type, got 2"},
        {"text/plain", 1, "only acceptable Content-Type is application/json"},
        {"Application/JSON", 1, "only acceptable Content-Type is application/json"},
        {"", 1, "only acceptable Content-Type is application/json"},
        {"application/jsonx", 1, "only acceptable Content-Type is application/json"},
        {"application/x-www-form-urlencoded", 1,
         "only acceptable Content-Type is application/json"},
};

START_TEST(test_content_type) {
        const CtCase *t = &ct_cases[_i];
        char *err = NULL;
        int r = api_check_content_type(t->value, t->count, &err);

        if (!t->error) {
                ck_assert_int_eq(r, 0);
                ck_assert_ptr_null(err);
        } else {
                ck_assert_int_eq(r, -EINVAL);
                ck_assert_str_eq(err, t->error);
        }
        free(err);
}
END_TEST

/* ---- page tokens and slices ---------------------------------------------------------------- */

START_TEST(test_page_token_format) {
        char buf[API_PAGE_TOKEN_LEN + 1];

        /* reference 9.5 examples */
        api_page_token_format(100, 2, buf);
        ck_assert_str_eq(buf, "ZAACAA==");
        api_page_token_format(100, 3, buf);
        ck_assert_str_eq(buf, "ZAADAA==");
        api_page_token_format(100, 1, buf);
        ck_assert_str_eq(buf, "ZAABAA==");
        api_page_token_format(65535, 65535, buf);
        ck_assert_str_eq(buf, "_____w==");
}
END_TEST

typedef struct PageCase {
        const char *token;
        unsigned count;
        uint16_t limit;
        uint16_t page;     /* expected on success */
        const char *error; /* NULL: accepted */
} PageCase;

static const PageCase page_cases[] = {
        {NULL, 0, 100, 1, NULL},
        {"ZAACAA==", 1, 100, 2, NULL},
        {"ZAADAA==", 1, 100, 3, NULL},
        {"AgAHAA==", 1, 2, 7, NULL},
        {"ZAACAA==", 2, 100, 0, "too many values for page token"},
        {"EwBMLg==", 1, 100, 0, "token limit must be 100"},
        {"ZAACAA==", 1, 2, 0, "token limit must be 2"},
        {"ZAAAAA==", 1, 100, 0, "token page must be greater than zero"},
        {"", 1, 100, 0, "EOF"},
        {"ZA==", 1, 100, 0, "unexpected EOF"},
        {"!!!!", 1, 100, 0, "illegal base64 data at input byte 0"},
        {"ZAAC+A==", 1, 100, 0, "illegal base64 data at input byte 4"},
};

START_TEST(test_page_from_query) {
        const PageCase *t = &page_cases[_i];
        char *err = NULL;
        uint16_t page = 0;
        int r = api_page_from_query(t->token, t->count, t->limit, &page, &err);

        if (!t->error) {
                ck_assert_int_eq(r, 0);
                ck_assert_uint_eq(page, t->page);
        } else {
                ck_assert_int_eq(r, -EINVAL);
                ck_assert_str_eq(err, t->error);
        }
        free(err);
}
END_TEST

typedef struct SliceCase {
        size_t total;
        uint16_t limit, page;
        size_t start, n;
        uint16_t next;
} SliceCase;

static const SliceCase slice_cases[] = {
        {0, 2, 1, 0, 0, 0},
        {1, 2, 1, 0, 1, 0},
        {5, 2, 1, 0, 2, 2},
        {5, 2, 2, 2, 2, 3},
        {5, 2, 3, 4, 1, 0},
        {5, 2, 4, 0, 0, 0},
        /* an exact multiple: the last full page still carries a token, the next is empty */
        {4, 2, 2, 2, 2, 3},
        {4, 2, 3, 0, 0, 0},
        {100, 100, 1, 0, 100, 2},
        {101, 100, 2, 100, 1, 0},
        /* no uint16 wrap-around (fleet's (page-1)*limit is computed in uint16) */
        {200000, 100, 1000, 99900, 100, 1001},
        {70000, 1, 65535, 65534, 1, 0},
        {3, 2, 0, 0, 0, 0},
};

START_TEST(test_page_slice) {
        const SliceCase *t = &slice_cases[_i];
        size_t start = 99, n = 99;
        uint16_t next = 99;

        api_page_slice(t->total, t->limit, t->page, &start, &n, &next);
        ck_assert_uint_eq(start, t->start);
        ck_assert_uint_eq(n, t->n);
        ck_assert_uint_eq(next, t->next);
}
END_TEST

/* ---- PUT body ------------------------------------------------------------------------------ */

typedef struct BodyCase {
        const char *url_name;
        const char *body;
        const char *error; /* NULL: accepted; a trailing '*' matches a prefix */
        JobState desired;  /* on success */
        size_t n_options;  /* on success */
} BodyCase;

static const BodyCase body_cases[] = {
        {"a.service", "{}", NULL, _JOB_STATE_INVALID, 0},
        {"a.service", "null", NULL, _JOB_STATE_INVALID, 0},
        {"a.service", "{\"name\":\"\"}", NULL, _JOB_STATE_INVALID, 0},
        {"a.service", "{\"name\":\"a.service\",\"desiredState\":\"launched\"}", NULL,
         JOB_STATE_LAUNCHED, 0},
        {"a.service", "{\"desiredState\":\"loaded\"}", NULL, JOB_STATE_LOADED, 0},
        {"a.service", "{\"desiredState\":\"inactive\"}", NULL, JOB_STATE_INACTIVE, 0},
        {"a.service", "{\"desiredState\":\"\"}", NULL, _JOB_STATE_INVALID, 0},
        {"a.service", "{\"DESIREDSTATE\":\"loaded\",\"unknown\":[1,2]}", NULL, JOB_STATE_LOADED, 0},
        {"a.service",
         "{\"options\":[{\"section\":\"Service\",\"name\":\"ExecStart\",\"value\":\"/bin/true\"},"
         "{\"section\":\"Unit\",\"name\":\"Description\"}]}",
         NULL, _JOB_STATE_INVALID, 2},
        /* an escaped backslash followed by u0000 is no NUL */
        {"a.service",
         "{\"options\":[{\"section\":\"S\",\"name\":\"N\",\"value\":\"a\\\\u0000b\"}]}", NULL,
         _JOB_STATE_INVALID, 1},
        /* decoding */
        {"a.service", "", "unable to decode body: EOF", 0, 0},
        {"a.service", " \n\t", "unable to decode body: EOF", 0, 0},
        {"a.service", "{", "unable to decode body: *", 0, 0},
        {"a.service", "{\"name\":\"a.service\"} x", "unable to decode body: *", 0, 0},
        {"a.service", "[]",
         "unable to decode body: json: cannot unmarshal array into Go value of type schema.Unit", 0,
         0},
        {"a.service", "\"x\"",
         "unable to decode body: json: cannot unmarshal string into Go value of type "
         "schema.Unit",
         0, 0},
        {"a.service", "{\"name\":5}",
         "unable to decode body: json: cannot unmarshal number into Go value of type string", 0, 0},
        {"a.service", "{\"desiredState\":true}",
         "unable to decode body: json: cannot unmarshal bool into Go value of type string", 0, 0},
        {"a.service", "{\"options\":{}}",
         "unable to decode body: json: cannot unmarshal object into Go value of type "
         "[]*schema.UnitOption",
         0, 0},
        {"a.service", "{\"options\":[{\"value\":1}]}",
         "unable to decode body: json: cannot unmarshal number into Go value of type string", 0, 0},
        {"a.service", "{\"name\":\"a\\u0000.service\"}",
         "unable to decode body: NUL character in JSON string", 0, 0},
        {"a.service", "{\"options\":[{\"section\":\"S\",\"name\":\"N\",\"value\":\"a\\u0000b\"}]}",
         "unable to decode body: NUL character in JSON string", 0, 0},
        {"a.service", "{\"name\":\"\x80\"}", "unable to decode body: *", 0, 0},
        /* names */
        {"a.service", "{\"name\":\"b.service\"}",
         "name in URL \"a.service\" differs from unit name in request body \"b.service\"", 0, 0},
        {"a.service", "{\"name\":\"a.service\\n\"}",
         "name in URL \"a.service\" differs from unit name in request body \"a.service\\n\"", 0, 0},
        {"foo", "{}", "unit name must contain \".\"", 0, 0},
        {"foo.", "{}", "unit name cannot end in \".\"", 0, 0},
        {"..", "{}", "unit name cannot end in \".\"", 0, 0},
        {"a.bogus", "{}", "invalid unit type: \"bogus\"", 0, 0},
        {"a@b.device", "{}", "invalid unit type for template: \"device\"", 0, 0},
        {"@a.service", "{}", "unit name cannot start in \"@\"", 0, 0},
        {"a b.service", "{}", "invalid character ' ' in unit name", 0, 0},
        {"a\x01.service", "{}", "invalid character '\\x01' in unit name", 0, 0},
        {".service", "{}", "unit name has nothing before its type: \".service\"", 0, 0},
        {"a.snapshot", "{}", "invalid unit type: \"snapshot\"", 0, 0},
        {"\xff.service", "{}", "invalid character '\xef\xbf\xbd' in unit name", 0, 0},
        {"", "{}", "unit name cannot be empty", 0, 0},
        /* desiredState (fleet-c: a 400 instead of storing it) */
        {"a.service", "{\"desiredState\":\"foo\"}",
         "invalid desiredState \"foo\": must be inactive, loaded or launched", 0, 0},
        {"a.service", "{\"desiredState\":\"Launched\"}",
         "invalid desiredState \"Launched\": must be inactive, loaded or launched", 0, 0},
        {"a.service", "{\"desiredState\":\"launched \"}",
         "invalid desiredState \"launched \": must be inactive, loaded or launched", 0, 0},
        /* the name is checked before the desiredState */
        {"foo", "{\"desiredState\":\"foo\"}", "unit name must contain \".\"", 0, 0},
};

static void assert_message(const char *got, const char *want) {
        size_t l = strlen(want);

        if (l > 0 && want[l - 1] == '*')
                ck_assert_msg(strneq(got, want, l - 1), "'%s' does not start with '%.*s'", got,
                              (int) l - 1, want);
        else
                ck_assert_str_eq(got, want);
}

START_TEST(test_unit_body) {
        const BodyCase *t = &body_cases[_i];
        ApiUnit u = {};
        JobState d = JOB_STATE_LOADED;
        char *err = NULL;
        int r;

        r = api_unit_body_decode(t->body, strlen(t->body), t->url_name, &u, &d, &err);
        if (!t->error) {
                ck_assert_msg(r == 0, "%s: %s", t->body, strempty(err));
                ck_assert_str_eq(u.name, t->url_name);
                ck_assert_int_eq(d, t->desired);
                ck_assert_uint_eq(u.n_options, t->n_options);
                api_unit_done(&u);
        } else {
                ck_assert_int_eq(r, -EINVAL);
                assert_message(err, t->error);
        }
        free(err);
}
END_TEST

START_TEST(test_unit_body_long_name) {
        char name[300], body[400];
        ApiUnit u = {};
        JobState d;
        char *err = NULL;

        memset(name, 'a', sizeof(name));
        strcpy(name + 252, ".service"); /* 260 bytes */
        snprintf(body, sizeof(body), "{\"name\":\"%s\"}", name);
        ck_assert_int_eq(api_unit_body_decode(body, strlen(body), name, &u, &d, &err), -EINVAL);
        ck_assert_str_eq(err, "unit name exceeds maximum length (256)");
        free(err);
}
END_TEST

START_TEST(test_json_has_nul) {
        static const char *const yes[] = {"\"\\u0000\"", "[\"a\",\"b\\u0000\"]"};
        static const char *const no[] = {"\"\\\\u0000\"", "\"\\u0001\"", "\"u0000\"",
                                         "\"\\u000\"",    "\"\\\\\"",    "\\"};

        for (size_t i = 0; i < ELEMENTSOF(yes); i++)
                ck_assert(api_json_has_nul(yes[i], strlen(yes[i])));
        for (size_t i = 0; i < ELEMENTSOF(no); i++)
                ck_assert(!api_json_has_nul(no[i], strlen(no[i])));
}
END_TEST

/* ---- PUT decision -------------------------------------------------------------------------- */

#define H1 "1111111111111111111111111111111111111111"
#define H2 "2222222222222222222222222222222222222222"

typedef struct PutCase {
        const char *name;
        const char *existing_hash;
        const char *new_hash;
        JobState desired;
        int action;
        unsigned status;
        const char *message;
} PutCase;

static const PutCase put_cases[] = {
        {"a.service", NULL, NULL, _JOB_STATE_INVALID, API_PUT_FAIL, 409,
         "unit does not exist and options field empty"},
        {"a.service", NULL, NULL, JOB_STATE_LAUNCHED, API_PUT_FAIL, 409,
         "unit does not exist and options field empty"},
        {"a.service", NULL, H1, _JOB_STATE_INVALID, API_PUT_CREATE, 0, NULL},
        {"a.service", NULL, H1, JOB_STATE_LAUNCHED, API_PUT_CREATE, 0, NULL},
        /* template rules for creation are checked after validation, by the caller */
        {"a@.service", NULL, H1, JOB_STATE_LAUNCHED, API_PUT_CREATE, 0, NULL},
        {"a.service", H1, H2, _JOB_STATE_INVALID, API_PUT_REPLACE, 0, NULL},
        {"a.service", H1, H2, JOB_STATE_LOADED, API_PUT_REPLACE, 0, NULL},
        {"a.service", H1, H1, _JOB_STATE_INVALID, API_PUT_FAIL, 409,
         "must provide DesiredState to update existing unit"},
        {"a.service", H1, NULL, _JOB_STATE_INVALID, API_PUT_FAIL, 409,
         "must provide DesiredState to update existing unit"},
        {"a.service", H1, NULL, JOB_STATE_LAUNCHED, API_PUT_SET_STATE, 0, NULL},
        {"a.service", H1, H1, JOB_STATE_LOADED, API_PUT_SET_STATE, 0, NULL},
        {"a@.service", H1, NULL, JOB_STATE_LAUNCHED, API_PUT_FAIL, 400,
         "cannot activate template \"a@.service\""},
        {"a@.service", H1, NULL, JOB_STATE_LOADED, API_PUT_FAIL, 400,
         "cannot activate template \"a@.service\""},
        {"a@.service", H1, NULL, JOB_STATE_INACTIVE, API_PUT_SET_STATE, 0, NULL},
        {"a@1.service", H1, NULL, JOB_STATE_LAUNCHED, API_PUT_SET_STATE, 0, NULL},
};

START_TEST(test_put_decide) {
        const PutCase *t = &put_cases[_i];
        unsigned status = 0;
        char *msg = NULL;
        int a = api_put_decide(t->name, t->existing_hash, t->new_hash, t->desired, &status, &msg);

        ck_assert_int_eq(a, t->action);
        if (t->message) {
                ck_assert_uint_eq(status, t->status);
                ck_assert_str_eq(msg, t->message);
        } else
                ck_assert_ptr_null(msg);
        free(msg);
}
END_TEST

START_TEST(test_check_template) {
        char *err = NULL;

        ck_assert_int_eq(api_check_template("a@.service", JOB_STATE_LAUNCHED, &err), -EINVAL);
        ck_assert_str_eq(err, "cannot activate template \"a@.service\"");
        free(err);
        err = NULL;
        ck_assert_int_eq(api_check_template("a@.service", JOB_STATE_INACTIVE, &err), 0);
        ck_assert_int_eq(api_check_template("a@.service", _JOB_STATE_INVALID, &err), 0);
        ck_assert_int_eq(api_check_template("a@b.service", JOB_STATE_LAUNCHED, &err), 0);
        ck_assert_int_eq(api_check_template("a.service", JOB_STATE_LOADED, &err), 0);
        ck_assert_ptr_null(err);
}
END_TEST

/* ---- unit content -------------------------------------------------------------------------- */

static UnitOption *opts(size_t n, const char *const *triples) {
        UnitOption *o = calloc(n, sizeof(*o));

        for (size_t i = 0; i < n; i++)
                o[i] = (UnitOption){(char *) triples[3 * i], (char *) triples[3 * i + 1],
                                    (char *) triples[3 * i + 2]};
        return o;
}

START_TEST(test_unit_content) {
        static const char *const t[] = {"Unit",    "Description", "x",
                                        "Service", "ExecStart",   "/bin/true"};
        _cleanup_free_ UnitOption *o = opts(2, t);
        ApiUnitContent c = {};
        char *err = NULL;

        ck_assert_int_eq(api_unit_content_new(o, 2, &c), 0);
        ck_assert_str_eq(c.text, "[Unit]\nDescription=x\n\n[Service]\nExecStart=/bin/true\n");
        ck_assert_str_eq(c.hash, "7ff43b741fbdb60185c33324e6179bb18ec06f91");
        ck_assert(!c.global);
        ck_assert_int_eq(api_unit_content_validate(&c, &err), 0);
        ck_assert_ptr_null(err);
        api_unit_content_done(&c);
        api_unit_content_done(&c);
}
END_TEST

START_TEST(test_unit_content_order_matters) {
        static const char *const a[] = {"Unit", "A", "1", "Unit", "B", "2"};
        static const char *const b[] = {"Unit", "B", "2", "Unit", "A", "1"};
        _cleanup_free_ UnitOption *oa = opts(2, a), *ob = opts(2, b);
        ApiUnitContent ca = {}, cb = {};

        ck_assert_int_eq(api_unit_content_new(oa, 2, &ca), 0);
        ck_assert_int_eq(api_unit_content_new(ob, 2, &cb), 0);
        ck_assert_str_ne(ca.hash, cb.hash);
        api_unit_content_done(&ca);
        api_unit_content_done(&cb);
}
END_TEST

typedef struct ContentCase {
        size_t n;
        const char *triples[12];
        bool global;
        const char *error;
} ContentCase;

static const ContentCase content_cases[] = {
        {1, {"X-Fleet", "Global", "true"}, true, NULL},
        {2, {"X-Fleet", "Global", "true", "X-Fleet", "MachineMetadata", "a=b"}, true, NULL},
        {2, {"X-Fleet", "Global", "true", "X-Fleet", "Global", "no"}, false, NULL},
        {2,
         {"X-Fleet", "MachineID", "abc", "X-Fleet", "Global", "true"},
         true,
         "MachineID cannot be used with Global"},
        {2,
         {"X-Fleet", "MachineID", "abc", "X-Fleet", "MachineOf", "b.service"},
         false,
         "MachineID cannot be used with Peers"},
        {2,
         {"X-Fleet", "MachineID", "abc", "X-Fleet", "Conflicts", "b*"},
         false,
         "MachineID cannot be used with Conflicts"},
        {2,
         {"X-Fleet", "Global", "true", "X-Fleet", "MachineOf", "b.service"},
         true,
         "Global cannot be used with Peers"},
        {2,
         {"X-Fleet", "MachineOf", "a.service", "X-Fleet", "Conflicts", "a*"},
         false,
         "unresolvable requirements: peer \"a.service\" matches conflict \"a*\""},
        {2,
         {"X-Fleet", "Conflicts", "a*", "X-Fleet", "Replaces", "b.service"},
         false,
         "Conflicts cannot be used with Replaces"},
};

START_TEST(test_unit_content_validate) {
        const ContentCase *t = &content_cases[_i];
        _cleanup_free_ UnitOption *o = opts(t->n, t->triples);
        ApiUnitContent c = {};
        char *err = NULL;
        int r;

        ck_assert_int_eq(api_unit_content_new(o, t->n, &c), 0);
        ck_assert_int_eq(c.global, t->global);
        r = api_unit_content_validate(&c, &err);
        if (t->error) {
                ck_assert_int_eq(r, -EINVAL);
                ck_assert_str_eq(err, t->error);
        } else
                ck_assert_int_eq(r, 0);
        free(err);
        api_unit_content_done(&c);
}
END_TEST

/* Options whose serialized text reads back differently are judged by the text, which is what
 * is stored and what the agents and the engine see (fuzzing found both). */
START_TEST(test_unit_content_judged_by_text) {
        /* "x\\" ends in a backslash: the stored text continues it over the Global line. */
        static const char *const g[] = {"X-Fleet", "A", "x\\", "X-Fleet", "Global", "true"};
        /* a section name with a newline smuggles MachineID next to Conflicts into [X-Fleet] */
        static const char *const m[] = {"Service]\n[X-Fleet", "MachineID", "m1", "X-Fleet",
                                        "Conflicts",          "b.service"};
        _cleanup_free_ UnitOption *og = opts(2, g), *om = opts(2, m);
        ApiUnitContent c = {};
        char *err = NULL;

        ck_assert_int_eq(api_unit_content_new(og, 2, &c), 0);
        ck_assert(!c.global);
        api_unit_content_done(&c);

        ck_assert_int_eq(api_unit_content_new(om, 2, &c), 0);
        ck_assert_int_eq(api_unit_content_validate(&c, &err), -EINVAL);
        ck_assert_str_eq(err, "MachineID cannot be used with Conflicts");
        free(err);
        api_unit_content_done(&c);
}
END_TEST

START_TEST(test_unit_content_line_too_long) {
        char *big = malloc(5000);
        const char *t[] = {"Service", "ExecStart", big};
        _cleanup_free_ UnitOption *o = NULL;
        ApiUnitContent c = {};
        char *err = NULL;

        memset(big, 'x', 4999);
        big[4999] = '\0';
        o = opts(1, t);
        ck_assert_int_eq(api_unit_content_new(o, 1, &c), 0);
        ck_assert_int_eq(api_unit_content_validate(&c, &err), -EINVAL);
        ck_assert_str_eq(err, "line too long (max 2048 bytes)");
        free(err);
        api_unit_content_done(&c);
        free(big);
}
END_TEST

/* ---- PATCH /machines ----------------------------------------------------------------------- */

typedef struct PatchCase {
        const char *body;
        const char *error; /* NULL: accepted */
        size_t n_patches;
} PatchCase;

#define OP(op, path, value) "{\"op\":\"" op "\",\"path\":\"" path "\"" value "}"
#define VAL(v) ",\"value\":{\"value\":\"" v "\"}"

static const PatchCase patch_cases[] = {
        {"[]", NULL, 0},
        {"null", NULL, 0},
        {"[" OP("add", "/m1/metadata/k", VAL("v")) "]", NULL, 1},
        {"[" OP("replace", "/m1/metadata/k.1_a-B", VAL("v")) "]", NULL, 1},
        {"[" OP("remove", "/m1/metadata/k", "") "]", NULL, 1},
        {"[" OP("remove", "/m1/metadata/k", VAL("")) "]", NULL, 1},
        {"[{\"OP\":\"add\",\"Path\":\"/m1/metadata/k\",\"VALUE\":{\"Value\":\"v\"}}]", NULL, 1},
        {"", "EOF", 0},
        {"{}", "json: cannot unmarshal object into Go value of type []machineMetadataOp", 0},
        {"[1]", "json: cannot unmarshal number into Go value of type machineMetadataOp", 0},
        {"[{\"op\":\"add\",\"path\":\"/m1/metadata/k\",\"value\":\"v\"}]",
         "json: cannot unmarshal string into Go value of type struct { Value string }", 0},
        {"[" OP("add", "/m1/metadata/k", ",\"value\":{\"value\":\"a\\u0000\"}") "]",
         "NUL character in JSON string", 0},
        {"[" OP("foo", "/m1/metadata/k", VAL("v")) "]",
         "invalid op: expect add, remove, or replace", 0},
        {"[" OP("ADD", "/m1/metadata/k", VAL("v")) "]",
         "invalid op: expect add, remove, or replace", 0},
        {"[{\"path\":\"/m1/metadata/k\"}]", "invalid op: expect add, remove, or replace", 0},
        {"[" OP("add", "/m1/metadata/k", "") "]", "invalid value: add and replace require a value",
         0},
        {"[" OP("replace", "/m1/metadata/k", VAL("")) "]",
         "invalid value: add and replace require a value", 0},
        {"[" OP("add", "m1/metadata/k", VAL("v")) "]", "machine metadata path invalid", 0},
        {"[" OP("add", "/m1/metadata/", VAL("v")) "]", "machine metadata path invalid", 0},
        {"[" OP("add", "/m1/metadata/k/x", VAL("v")) "]", "machine metadata path invalid", 0},
        {"[" OP("add", "/m1/metadata/k!", VAL("v")) "]", "machine metadata path invalid", 0},
        {"[" OP("add", "/m1/metadata/k\\n", VAL("v")) "]", "machine metadata path invalid", 0},
        {"[" OP("add", "//metadata/k", VAL("v")) "]", "machine metadata path invalid", 0},
        {"[" OP("add", "/m1/meta/k", VAL("v")) "]", "machine metadata path invalid", 0},
        {"[" OP("add", "/m1/x/metadata/k", VAL("v")) "]", "machine metadata path invalid", 0},
        {"[" OP("add", "", VAL("v")) "]", "machine metadata path invalid", 0},
        /* fleet-c: parts that cannot be etcd key components */
        {"[" OP("add", "/../metadata/k", VAL("v")) "]", "machine metadata path invalid", 0},
        {"[" OP("add", "/./metadata/k", VAL("v")) "]", "machine metadata path invalid", 0},
        {"[" OP("add", "/m1/metadata/..", VAL("v")) "]", "machine metadata path invalid", 0},
        {"[" OP("add", "/m\\u0001/metadata/k", VAL("v")) "]", "machine metadata path invalid", 0},
        /* every operation is validated before any is applied */
        {"[" OP("add", "/m1/metadata/k", VAL("v")) "," OP("add", "/m1/x", VAL("v")) "]",
         "machine metadata path invalid", 0},
        {"[" OP("add", "/m1/metadata/k", VAL("v")) "," OP("x", "/m1/x", "") "]",
         "invalid op: expect add, remove, or replace", 0},
};

START_TEST(test_metadata_patch) {
        const PatchCase *t = &patch_cases[_i];
        ApiMetadataPatch *p = NULL;
        size_t n = 99;
        char *err = NULL;
        int r = api_metadata_patch_decode(t->body, strlen(t->body), &p, &n, &err);

        if (!t->error) {
                ck_assert_msg(r == 0, "%s: %s", t->body, strempty(err));
                ck_assert_uint_eq(n, t->n_patches);
                api_metadata_patch_array_free(p, n);
        } else {
                ck_assert_int_eq(r, -EINVAL);
                ck_assert_str_eq(err, t->error);
        }
        free(err);
}
END_TEST

START_TEST(test_metadata_patch_grouping) {
        static const char body[] = "[" OP("add", "/m1/metadata/a", VAL("1")) "," OP(
                "add", "/m2/metadata/b",
                VAL("2")) "," OP("replace", "/m1/metadata/a",
                                 VAL("3")) "," OP("remove", "/m1/metadata/c",
                                                  "") "," OP("add", "/m2/metadata/c", VAL("4")) "]";
        ApiMetadataPatch *p = NULL;
        size_t n = 0;

        ck_assert_int_eq(api_metadata_patch_decode(body, strlen(body), &p, &n, NULL), 0);
        ck_assert_uint_eq(n, 2);
        ck_assert_str_eq(p[0].machine_id, "m1");
        ck_assert_uint_eq(p[0].n_changes, 2);
        ck_assert_str_eq(p[0].changes[0].key, "a");
        ck_assert_str_eq(p[0].changes[0].value, "3");
        ck_assert_str_eq(p[0].changes[1].key, "c");
        ck_assert_str_eq(p[0].changes[1].value, ""); /* remove = the empty tombstone */
        ck_assert_str_eq(p[1].machine_id, "m2");
        ck_assert_uint_eq(p[1].n_changes, 2);
        ck_assert_str_eq(p[1].changes[0].key, "b");
        ck_assert_str_eq(p[1].changes[0].value, "2");
        ck_assert_str_eq(p[1].changes[1].key, "c");
        ck_assert_str_eq(p[1].changes[1].value, "4");
        api_metadata_patch_array_free(p, n);
}
END_TEST

START_TEST(test_key_component) {
        ck_assert(api_key_component_is_valid("a"));
        ck_assert(api_key_component_is_valid("a.service"));
        ck_assert(api_key_component_is_valid("..."));
        ck_assert(api_key_component_is_valid("a\\b"));
        ck_assert(!api_key_component_is_valid(NULL));
        ck_assert(!api_key_component_is_valid(""));
        ck_assert(!api_key_component_is_valid("."));
        ck_assert(!api_key_component_is_valid(".."));
        ck_assert(!api_key_component_is_valid("a/b"));
        ck_assert(!api_key_component_is_valid("a\nb"));
        ck_assert(!api_key_component_is_valid("a\x7f"));
}
END_TEST

/* ---- errors -------------------------------------------------------------------------------- */

START_TEST(test_error_shape) {
        char *s = NULL;

        ck_assert_int_eq(api_error_format(404, "unit does not exist", &s), 0);
        ck_assert_str_eq(s, "{\"error\":{\"code\":404,\"message\":\"unit does not exist\"}}");
        free(s);
        ck_assert_int_eq(api_error_format(405, NULL, &s), 0);
        ck_assert_str_eq(s, "{\"error\":{\"code\":405,\"message\":\"\"}}");
        free(s);
        ck_assert_int_eq(api_error_format(400, "cannot activate template \"a@.service\"", &s), 0);
        ck_assert_str_eq(s, "{\"error\":{\"code\":400,\"message\":\"cannot activate template "
                            "\\\"a@.service\\\"\"}}");
        free(s);
        ck_assert_int_eq(api_error_format(503, API_MESSAGE_UNAVAILABLE, &s), 0);
        ck_assert_str_eq(s, "{\"error\":{\"code\":503,\"message\":\"fleet server unable to "
                            "communicate with etcd\"}}");
        free(s);
        /* Go escapes <, > and & */
        ck_assert_int_eq(api_error_format(400, "a<b>&", &s), 0);
        ck_assert_str_eq(s, "{\"error\":{\"code\":400,\"message\":\"a\\u003cb\\u003e\\u0026\"}}");
        free(s);
}
END_TEST

START_TEST(test_error_unavailable) {
        ck_assert(api_error_is_unavailable(-ECONNREFUSED));
        ck_assert(api_error_is_unavailable(-ETIMEDOUT));
        ck_assert(api_error_is_unavailable(-EHOSTUNREACH));
        ck_assert(api_error_is_unavailable(-ECONNRESET));
        ck_assert(api_error_is_unavailable(-EAGAIN));
        ck_assert(!api_error_is_unavailable(-EIO));
        ck_assert(!api_error_is_unavailable(-EBADMSG));
        ck_assert(!api_error_is_unavailable(-ENOENT));
        ck_assert(!api_error_is_unavailable(0));
}
END_TEST

static Suite *suite(void) {
        Suite *s = suite_create("api-validate");
        TCase *tc = tcase_create("core");

        tcase_add_loop_test(tc, test_content_type, 0, ELEMENTSOF(ct_cases));
        tcase_add_test(tc, test_page_token_format);
        tcase_add_loop_test(tc, test_page_from_query, 0, ELEMENTSOF(page_cases));
        tcase_add_loop_test(tc, test_page_slice, 0, ELEMENTSOF(slice_cases));
        tcase_add_loop_test(tc, test_unit_body, 0, ELEMENTSOF(body_cases));
        tcase_add_test(tc, test_unit_body_long_name);
        tcase_add_test(tc, test_json_has_nul);
        tcase_add_loop_test(tc, test_put_decide, 0, ELEMENTSOF(put_cases));
        tcase_add_test(tc, test_check_template);
        tcase_add_test(tc, test_unit_content);
        tcase_add_test(tc, test_unit_content_order_matters);
        tcase_add_loop_test(tc, test_unit_content_validate, 0, ELEMENTSOF(content_cases));
        tcase_add_test(tc, test_unit_content_line_too_long);
        tcase_add_test(tc, test_unit_content_judged_by_text);
        tcase_add_loop_test(tc, test_metadata_patch, 0, ELEMENTSOF(patch_cases));
        tcase_add_test(tc, test_metadata_patch_grouping);
        tcase_add_test(tc, test_key_component);
        tcase_add_test(tc, test_error_shape);
        tcase_add_test(tc, test_error_unavailable);
        suite_add_tcase(s, tc);
        return s;
}

FLEET_TEST_MAIN(suite)
