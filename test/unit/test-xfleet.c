/* SPDX-License-Identifier: MIT */
/*
 * [X-Fleet] semantics of fleet v1.0.0 (reference section 6): multi-value lines (fleet's
 * TestParseMultivalueLine), specifiers, aliases, Global, Conflicts splitting, MachineMetadata
 * (and fleet-c's "key!=value"), symmetric conflicts, Replaces, submit-time validation, and
 * fleetd's metadata option.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "strv.h"
#include "test-util.h"
#include "xfleet.h"

#define STRV(...) ((const char *const[]){__VA_ARGS__, NULL})
#define EMPTY ((const char *const[]){NULL})

static XFleet *parse_text(const char *text, const char *unit_name) {
        _cleanup_(unit_file_freep) UnitFile *u = NULL;
        XFleet *x = NULL;

        ck_assert_int_eq(unit_file_parse(text, strlen(text), &u, NULL), 0);
        ck_assert_int_eq(xfleet_parse(u, unit_name, &x), 0);
        return x;
}

/* One [X-Fleet] option, added directly (no parser trimming). */
static XFleet *parse_one(const char *key, const char *value, const char *unit_name) {
        _cleanup_(unit_file_freep) UnitFile *u = NULL;
        XFleet *x = NULL;

        ck_assert_int_eq(unit_file_new(&u), 0);
        ck_assert_int_eq(unit_file_add(u, "X-Fleet", key, value), 0);
        ck_assert_int_eq(xfleet_parse(u, unit_name, &x), 0);
        return x;
}

static void assert_strv(char *const *got, const char *const *expect) {
        size_t n = 0;

        while (expect[n])
                n++;
        ck_assert_msg(strv_length(got) == n, "%zu values, expected %zu (first: '%s')",
                      strv_length(got), n, got && got[0] ? got[0] : "(none)");
        for (size_t i = 0; i < n; i++)
                ck_assert_str_eq(got[i], expect[i]);
}

/* ---- multi-value lines ------------------------------------------------------------------ */

static const struct {
        const char *in;
        const char *const *out;
} multivalue_cases[] = {
        /* fleet unit/unit_test.go TestParseMultivalueLine */
        {"\"bar\" \"ping\" \"pong\"", STRV("bar", "ping", "pong")},
        {"\"bar\"", STRV("bar")},
        {"", STRV("")},
        {"\"\"", STRV("")},
        {"\"bar", STRV("\"bar")},
        {"bar\"", STRV("bar\"")},
        {"foo\\\"bar", STRV("foo\\\"bar")},
        {"\"bar\" \"", STRV("bar", "")},
        {"\"foo\\\"bar\"", STRV("foo\\bar")},
        /* more */
        {"\"", STRV("")},
        {"\"a\"  \"b\"", STRV("a", "", "b")},
        {"\"a b\" \"c\"", STRV("a b", "c")},
        {"\"x\"y\"z\"", STRV("xyz")},
        {"\"a\"\t\"b\"", STRV("a\tb")}, /* only ' ' separates */
        {"a \"b\"", STRV("a \"b\"")},   /* unquoted start: never split */
        {"\"region=e\" \"job=foo\"", STRV("region=e", "job=foo")},
};

START_TEST(test_multivalue) {
        _cleanup_(xfleet_freep) XFleet *x = parse_one("MachineOf", multivalue_cases[_i].in, NULL);

        assert_strv(x->peers, multivalue_cases[_i].out);
}
END_TEST

/* ---- specifiers ------------------------------------------------------------------------- */

static const struct {
        const char *unit, *in, *out;
} specifier_cases[] = {
        {"foo@bar.service", "%n", "foo@bar.service"},
        {"foo@bar.service", "%N", "foo@bar"},
        {"foo@bar.service", "%p", "foo"},
        {"foo@bar.service", "%i", "bar"},
        {"foo@bar.service", "%p-db@%i.service", "foo-db@bar.service"},
        {"foo@bar.service", "%H %m %%i", "%H %m %bar"}, /* others untouched, no %% escape */
        {"foo.service", "%p/%i/%N", "foo//foo"},
        {"foo@.service", "x%iy", "xy"},
        {"a%i@x.service", "%n", "ax@x.service"}, /* plain replacement, in order */
        {"a%p@x.service", "%N", "aa%p@x"},
        {NULL, "%p@%i", "%p@%i"},
        {"nodot", "%p", "%p"},
        {"", "%n", "%n"},
};

START_TEST(test_specifiers) {
        _cleanup_(xfleet_freep) XFleet *x =
                parse_one("Replaces", specifier_cases[_i].in, specifier_cases[_i].unit);

        ck_assert_ptr_nonnull(x->replaces);
        ck_assert_str_eq(strv_length(x->replaces) == 1 ? x->replaces[0] : "(split)",
                         specifier_cases[_i].out);
}
END_TEST

START_TEST(test_specifiers_everywhere) {
        _cleanup_(xfleet_freep) XFleet *x =
                parse_text("[X-Fleet]\nMachineOf=%p-db@%i.service\nConflicts=%p@*.service\n"
                           "MachineMetadata=role=%i\nMachineID=%i\nGlobal=%i\n",
                           "web@t.service");

        assert_strv(x->peers, STRV("web-db@t.service"));
        assert_strv(x->conflicts, STRV("web@*.service"));
        ck_assert_str_eq(x->machine_id, "t");
        ck_assert(x->global); /* "t" is truthy */
        ck_assert_uint_eq(x->n_metadata, 1);
        assert_strv(x->metadata[0].allowed, STRV("t"));
}
END_TEST

/* ---- keys and aliases ------------------------------------------------------------------- */

START_TEST(test_machine_id_precedence) {
        static const struct {
                const char *text, *expect;
        } cases[] = {
                {"[X-Fleet]\nX-ConditionMachineBootID=c\nX-ConditionMachineID=b\nMachineID=a\n"
                 "MachineID=z\n",
                 "a"},
                {"[X-Fleet]\nX-ConditionMachineBootID=c\nX-ConditionMachineID=b\n", "b"},
                {"[X-Fleet]\nX-ConditionMachineBootID=c\nX-ConditionMachineBootID=d\n", "c"},
                {"[X-Fleet]\nMachineID=\"m1\" \"m2\"\n", "m1"},
                {"[X-Fleet]\nMachineID=\n", ""},
                {"[X-Fleet]\nMachineOf=a.service\n", NULL},
                {"[Unit]\nMachineID=a\n[x-fleet]\nMachineID=b\n", NULL},
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                _cleanup_(xfleet_freep) XFleet *x = parse_text(cases[i].text, NULL);

                if (cases[i].expect)
                        ck_assert_str_eq(x->machine_id, cases[i].expect);
                else
                        ck_assert_ptr_null(x->machine_id);
        }
}
END_TEST

START_TEST(test_lists) {
        _cleanup_(xfleet_freep) XFleet *x = parse_text("[X-Fleet]\n"
                                                       "MachineOf=a.service\n"
                                                       "X-ConditionMachineOf=b.service\n"
                                                       "MachineOf=c d.service\n"
                                                       "Conflicts=x.service y*.service\n"
                                                       "X-Conflicts=  z.service\t\n"
                                                       "Conflicts=\"p q\" \"r\"\n"
                                                       "Conflicts=u\xc2\xa0v\n"
                                                       "Conflicts=\n"
                                                       "Replaces=old one.service\n"
                                                       "Replaces=\"r1\" \"r2\"\n"
                                                       "Weight=5\n"
                                                       "Foo=1\n"
                                                       "Weight=6\n",
                                                       NULL);

        assert_strv(x->peers, STRV("a.service", "b.service", "c d.service"));
        assert_strv(x->conflicts,
                    STRV("x.service", "y*.service", "z.service", "p", "q", "r", "u", "v"));
        assert_strv(x->replaces, STRV("old one.service", "r1", "r2"));
        assert_strv(x->unknown, STRV("Weight", "Foo"));
        ck_assert(!x->global);
        ck_assert_ptr_null(x->machine_id);
        ck_assert_uint_eq(x->n_metadata, 0);
}
END_TEST

START_TEST(test_empty) {
        _cleanup_(xfleet_freep) XFleet *x = parse_text("[Unit]\nDescription=x\n", "a.service");

        ck_assert_ptr_null(x->machine_id);
        ck_assert_uint_eq(strv_length(x->peers) + strv_length(x->conflicts) +
                                  strv_length(x->replaces) + strv_length(x->unknown),
                          0);
        ck_assert_uint_eq(x->n_metadata, 0);
        ck_assert(!x->global);
        ck_assert_ptr_null(xfleet_free(NULL));
}
END_TEST

static const struct {
        const char *text;
        bool global;
} global_cases[] = {
        {"Global=true", true},
        {"Global=TRUE", true},
        {"Global=yes", true},
        {"Global=Yes", true},
        {"Global=1", true},
        {"Global=on", true},
        {"Global=ON", true},
        {"Global=t", true},
        {"Global=T", true},
        {"Global=false", false},
        {"Global=0", false},
        {"Global=", false},
        {"Global=y", false},
        {"Global=tru", false},
        {"Global=true!", false},
        {"Global=\"true\"", true},
        {"Global=true\nGlobal=false", false}, /* the last value wins */
        {"Global=false\nGlobal=on", true},
        {"Global=\"true\" \"no\"", false},
        {"global=true", false},
};

START_TEST(test_global) {
        _cleanup_free_ char *text = NULL;
        _cleanup_(xfleet_freep) XFleet *x = NULL;

        ck_assert_int_ge(asprintf(&text, "[X-Fleet]\n%s\n", global_cases[_i].text), 0);
        x = parse_text(text, NULL);
        ck_assert_msg(x->global == global_cases[_i].global, "%s", global_cases[_i].text);
}
END_TEST

/* ---- MachineMetadata -------------------------------------------------------------------- */

START_TEST(test_metadata_parse) {
        _cleanup_(xfleet_freep) XFleet *x =
                parse_text("[X-Fleet]\n"
                           "MachineMetadata=region=us\n"
                           "MachineMetadata=\"region=eu\" \"job=foo\"\n"
                           "X-ConditionMachineMetadata=\"region=us\" \"job=bar\"\n"
                           "MachineMetadata=a=b=c\n"
                           "MachineMetadata==x\n"
                           "MachineMetadata=y=\n"
                           "MachineMetadata=noeq\n"
                           "MachineMetadata=region=x disk=y\n"
                           "MachineMetadata=disk!=hdd\n"
                           "MachineMetadata=\"disk!=tape\" \"disk!=hdd\"\n"
                           "MachineMetadata=!=z\n"
                           "MachineMetadata=rack!!=3\n"
                           "MachineMetadata= spaced = v \n",
                           NULL);

        ck_assert_uint_eq(x->n_metadata, 5);
        /* sorted by key */
        ck_assert_str_eq(x->metadata[0].key, "disk");
        assert_strv(x->metadata[0].allowed, EMPTY);
        assert_strv(x->metadata[0].forbidden, STRV("hdd", "tape"));
        ck_assert_str_eq(x->metadata[1].key, "job");
        assert_strv(x->metadata[1].allowed, STRV("foo", "bar"));
        ck_assert_str_eq(x->metadata[2].key, "rack!");
        assert_strv(x->metadata[2].forbidden, STRV("3"));
        ck_assert_str_eq(x->metadata[3].key, "region");
        assert_strv(x->metadata[3].allowed, STRV("us", "eu"));
        assert_strv(x->metadata[3].forbidden, EMPTY);
        /* the parser trimmed the line, the value keeps its inner spaces */
        ck_assert_str_eq(x->metadata[4].key, "spaced ");
        assert_strv(x->metadata[4].allowed, STRV(" v"));
}
END_TEST

typedef struct Machine {
        const char *const *kv; /* alternating key, value */
} Machine;

static const char *lookup(const char *key, void *userdata) {
        const Machine *m = userdata;

        for (size_t i = 0; m->kv[i]; i += 2)
                if (streq(m->kv[i], key))
                        return m->kv[i + 1];
        return NULL;
}

static const struct {
        const char *requirements;
        const char *const *machine;
        bool match;
} metadata_match_cases[] = {
        {"", EMPTY, true},
        {"MachineMetadata=region=us", STRV("region", "us"), true},
        {"MachineMetadata=region=us", STRV("region", "eu"), false},
        {"MachineMetadata=region=us", EMPTY, false},
        {"MachineMetadata=region=us", STRV("region", "US"), false}, /* exact match */
        {"MachineMetadata=region=us\nMachineMetadata=region=eu", STRV("region", "eu"), true},
        {"MachineMetadata=\"region=e\" \"job=foo\"\nMachineMetadata=\"region=w\" \"job=bar\"",
         STRV("region", "w", "job", "foo"), true},
        {"MachineMetadata=\"region=e\" \"job=foo\"\nMachineMetadata=\"region=w\" \"job=bar\"",
         STRV("region", "w"), false},
        {"MachineMetadata=\"region=e\" \"job=foo\"", STRV("region", "e", "job", "baz"), false},
        {"MachineMetadata=a=b=c", EMPTY, true}, /* ignored */
        {"MachineMetadata=region!=us", EMPTY, true},
        {"MachineMetadata=region!=us", STRV("region", "eu"), true},
        {"MachineMetadata=region!=us", STRV("region", "us"), false},
        {"MachineMetadata=region!=us\nMachineMetadata=region!=eu", STRV("region", "eu"), false},
        {"MachineMetadata=region=us\nMachineMetadata=region!=us", STRV("region", "us"), false},
        {"MachineMetadata=region=us\nMachineMetadata=disk!=hdd",
         STRV("region", "us", "disk", "ssd"), true},
        {"MachineMetadata=region=us\nMachineMetadata=disk!=hdd", STRV("region", "us"), true},
        {"MachineMetadata=region=us\nMachineMetadata=disk!=hdd",
         STRV("region", "us", "disk", "hdd"), false},
};

START_TEST(test_metadata_match) {
        _cleanup_free_ char *text = NULL;
        _cleanup_(xfleet_freep) XFleet *x = NULL;
        Machine m = {metadata_match_cases[_i].machine};

        ck_assert_int_ge(asprintf(&text, "[X-Fleet]\n%s\n", metadata_match_cases[_i].requirements),
                         0);
        x = parse_text(text, NULL);
        ck_assert_msg(xfleet_metadata_match(x, lookup, &m) == metadata_match_cases[_i].match,
                      "case %d", _i);
}
END_TEST

/* ---- relations -------------------------------------------------------------------------- */

START_TEST(test_conflicts) {
        _cleanup_(xfleet_freep) XFleet *apache =
                parse_text("[X-Fleet]\nConflicts=apache@*.service\n", "apache@1.service");
        _cleanup_(xfleet_freep) XFleet *plain = parse_text("[Unit]\nDescription=x\n", NULL);
        _cleanup_(xfleet_freep) XFleet *bad = parse_text("[X-Fleet]\nConflicts=[\n", NULL);
        _cleanup_(xfleet_freep) XFleet *self = parse_text("[X-Fleet]\nConflicts=%n\n", "s.service");

        ck_assert(xfleet_conflicts("apache@1.service", apache, "apache@2.service", plain));
        /* one-way conflicts are symmetric */
        ck_assert(xfleet_conflicts("apache@2.service", plain, "apache@1.service", apache));
        ck_assert(xfleet_conflicts("apache@1.service", apache, "apache@2.service", NULL));
        ck_assert(!xfleet_conflicts("apache@2.service", plain, "apache@1.service", NULL));
        ck_assert(!xfleet_conflicts("apache@1.service", apache, "web.service", plain));
        /* never with itself */
        ck_assert(!xfleet_conflicts("apache@1.service", apache, "apache@1.service", apache));
        ck_assert(!xfleet_conflicts("s.service", self, "s.service", self));
        ck_assert(xfleet_conflicts("s.service", self, "t.service", self)); /* %n was "s.service" */
        /* an invalid pattern never matches */
        ck_assert(!xfleet_conflicts("a.service", bad, "[", plain));
        ck_assert(!xfleet_conflicts(NULL, apache, "apache@2.service", plain));
}
END_TEST

START_TEST(test_replaces) {
        _cleanup_(xfleet_freep) XFleet *newer =
                parse_text("[X-Fleet]\nReplaces=old*.service\n", NULL);
        _cleanup_(xfleet_freep) XFleet *old = parse_text("[Unit]\nDescription=x\n", NULL);
        _cleanup_(xfleet_freep) XFleet *mutual =
                parse_text("[X-Fleet]\nReplaces=new.service\n", NULL);

        ck_assert_int_eq(xfleet_replaces("new.service", newer, "old1.service", old), 1);
        ck_assert_int_eq(xfleet_replaces("old1.service", old, "new.service", newer), -1);
        ck_assert_int_eq(xfleet_replaces("new.service", newer, "other.service", old), 0);
        ck_assert_int_eq(xfleet_replaces("new.service", newer, "old1.service", NULL), 1);
        ck_assert_int_eq(xfleet_replaces("old1.service", NULL, "new.service", newer), -1);
        /* mutual replacement is ignored */
        ck_assert_int_eq(xfleet_replaces("new.service", newer, "old2.service", mutual), 0);
        ck_assert_int_eq(xfleet_replaces("old.service", newer, "old.service", newer), 0);
}
END_TEST

/* ---- validation ------------------------------------------------------------------------- */

static const struct {
        const char *text;
        const char *error;
} validate_cases[] = {
        {"[Unit]\nDescription=x\n", NULL},
        {"[X-Fleet]\nGlobal=true\nMachineMetadata=a=b\n", NULL},
        {"[X-Fleet]\nGlobal=true\nConflicts=x*\n", NULL},
        {"[X-Fleet]\nMachineID=m\nMachineMetadata=a=b\n", NULL},
        {"[X-Fleet]\nMachineOf=a.service\nMachineMetadata=a=b\n", NULL},
        {"[X-Fleet]\nMachineOf=a.service\nConflicts=b*\n", NULL},
        {"[X-Fleet]\nGlobal=false\nMachineID=m\n", NULL},
        {"[X-Fleet]\nMachineOf=a.service\nReplaces=b*\n", NULL},
        {"[X-Fleet]\nMachineOf=%p.service\nConflicts=%p.service\n",
         "unresolvable requirements: peer \"%p.service\" matches conflict \"%p.service\""},
        {"[X-Fleet]\nMachineOf=b.service\nMachineOf=a.service\nConflicts=x* a*\n",
         "unresolvable requirements: peer \"a.service\" matches conflict \"a*\""},
        {"[X-Fleet]\nMachineOf=a.service\nReplaces=a.*\n",
         "unresolvable requirements: peer \"a.service\" matches replace \"a.*\""},
        {"[X-Fleet]\nMachineOf=a\"b\nConflicts=a*\n",
         "unresolvable requirements: peer \"a\\\"b\" matches conflict \"a*\""},
        {"[X-Fleet]\nMachineID=m\nMachineOf=a.service\nConflicts=x\n",
         "MachineID cannot be used with Peers"},
        {"[X-Fleet]\nMachineID=m\nConflicts=x\nGlobal=true\n",
         "MachineID cannot be used with Conflicts"},
        {"[X-Fleet]\nX-ConditionMachineBootID=m\nGlobal=yes\nReplaces=x\n",
         "MachineID cannot be used with Global"},
        {"[X-Fleet]\nMachineID=\nReplaces=x\n", "MachineID cannot be used with Replaces"},
        {"[X-Fleet]\nGlobal=1\nMachineOf=a.service\nReplaces=x\n",
         "Global cannot be used with Peers"},
        {"[X-Fleet]\nGlobal=on\nReplaces=x\nConflicts=y\n", "Global cannot be used with Replaces"},
        {"[X-Fleet]\nConflicts=y\nReplaces=x\n", "Conflicts cannot be used with Replaces"},
        {"[X-Fleet]\nX-Conflicts=y\nReplaces=x\n", "Conflicts cannot be used with Replaces"},
};

START_TEST(test_validate) {
        _cleanup_(xfleet_freep) XFleet *x = parse_text(validate_cases[_i].text, NULL);
        _cleanup_free_ char *msg = NULL;
        int r = xfleet_validate(x, &msg);

        if (!validate_cases[_i].error) {
                ck_assert_msg(r == 0, "case %d: %s", _i, strempty(msg));
                ck_assert_ptr_null(msg);
        } else {
                ck_assert_int_eq(r, -EINVAL);
                ck_assert_str_eq(msg, validate_cases[_i].error);
                ck_assert_int_eq(xfleet_validate(x, NULL), -EINVAL);
        }
}
END_TEST

/* ---- fleetd's metadata option ----------------------------------------------------------- */

static const struct {
        const char *in;
        const char *const *out;
} config_cases[] = {
        {"region=us-west,az=us-west-1", STRV("az", "us-west-1", "region", "us-west")},
        {" a = b , c=d ", STRV("a", "b", "c", "d")},
        {"noeq,x=1", STRV("x", "1")},
        {"k=1,k=2", STRV("k", "2")},
        {"a=b=c", STRV("a", "b=c")},
        {"=v,e=", STRV("", "v", "e", "")},
        {"", EMPTY},
        {",,,", EMPTY},
        {"platform=metal,provider=rackspace,region=east,disk=ssd",
         STRV("disk", "ssd", "platform", "metal", "provider", "rackspace", "region", "east")},
        {"k=\xc2\xa0v\xc2\xa0", STRV("k", "v")},
};

START_TEST(test_metadata_config) {
        _cleanup_strv_free_ char **l = NULL;

        ck_assert_int_eq(metadata_parse_config(config_cases[_i].in, &l), 0);
        ck_assert_ptr_nonnull(l);
        assert_strv(l, config_cases[_i].out);
}
END_TEST

START_TEST(test_metadata_config_null) {
        _cleanup_strv_free_ char **l = NULL;

        ck_assert_int_eq(metadata_parse_config(NULL, &l), 0);
        ck_assert_ptr_nonnull(l);
        ck_assert_ptr_null(l[0]);
}
END_TEST

static Suite *xfleet_suite(void) {
        Suite *s = suite_create("xfleet");
        TCase *tc = tcase_create("parse");

        tcase_add_loop_test(tc, test_multivalue, 0, ELEMENTSOF(multivalue_cases));
        tcase_add_loop_test(tc, test_specifiers, 0, ELEMENTSOF(specifier_cases));
        tcase_add_test(tc, test_specifiers_everywhere);
        tcase_add_test(tc, test_machine_id_precedence);
        tcase_add_test(tc, test_lists);
        tcase_add_test(tc, test_empty);
        tcase_add_loop_test(tc, test_global, 0, ELEMENTSOF(global_cases));
        suite_add_tcase(s, tc);

        tc = tcase_create("metadata");
        tcase_add_test(tc, test_metadata_parse);
        tcase_add_loop_test(tc, test_metadata_match, 0, ELEMENTSOF(metadata_match_cases));
        tcase_add_loop_test(tc, test_metadata_config, 0, ELEMENTSOF(config_cases));
        tcase_add_test(tc, test_metadata_config_null);
        suite_add_tcase(s, tc);

        tc = tcase_create("relations");
        tcase_add_test(tc, test_conflicts);
        tcase_add_test(tc, test_replaces);
        tcase_add_loop_test(tc, test_validate, 0, ELEMENTSOF(validate_cases));
        suite_add_tcase(s, tc);
        return s;
}

FLEET_TEST_MAIN(xfleet_suite)
