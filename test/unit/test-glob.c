/* SPDX-License-Identifier: MIT */
/*
 * glob_match against Go's path.Match: the table of Go's path/match_test.go (bad patterns never
 * match), plus fleet-style unit name patterns.
 */
#include <check.h>
#include <errno.h>

#include "glob.h"
#include "macro.h"
#include "test-util.h"

typedef struct MatchCase {
        const char *pattern, *name;
        bool match;
        bool bad; /* Go returns ErrBadPattern */
} MatchCase;

static const MatchCase cases[] = {
        /* Go path/match_test.go */
        {"abc", "abc", true, false},
        {"*", "abc", true, false},
        {"*c", "abc", true, false},
        {"a*", "a", true, false},
        {"a*", "abc", true, false},
        {"a*", "ab/c", false, false},
        {"a*/b", "abc/b", true, false},
        {"a*/b", "a/c/b", false, false},
        {"a*b*c*d*e*/f", "axbxcxdxe/f", true, false},
        {"a*b*c*d*e*/f", "axbxcxdxexxx/f", true, false},
        {"a*b*c*d*e*/f", "axbxcxdxe/xxx/f", false, false},
        {"a*b*c*d*e*/f", "axbxcxdxexxx/fff", false, false},
        {"a*b?c*x", "abxbbxdbxebxczzx", true, false},
        {"a*b?c*x", "abxbbxdbxebxczzy", false, false},
        {"ab[c]", "abc", true, false},
        {"ab[b-d]", "abc", true, false},
        {"ab[e-g]", "abc", false, false},
        {"ab[^c]", "abc", false, false},
        {"ab[^b-d]", "abc", false, false},
        {"ab[^e-g]", "abc", true, false},
        {"a\\*b", "a*b", true, false},
        {"a\\*b", "ab", false, false},
        {"a?b",
         "a\xe2\x98\xba"
         "b",
         true, false},
        {"a[^a]b",
         "a\xe2\x98\xba"
         "b",
         true, false},
        {"a???b",
         "a\xe2\x98\xba"
         "b",
         false, false},
        {"a[^a][^a][^a]b",
         "a\xe2\x98\xba"
         "b",
         false, false},
        {"[a-\xce\xb6]*", "\xce\xb1", true, false},
        {"*[a-\xce\xb6]", "A", false, false},
        {"a?b", "a/b", false, false},
        {"a*b", "a/b", false, false},
        {"[\\]a]", "]", true, false},
        {"[\\-]", "-", true, false},
        {"[x\\-]", "x", true, false},
        {"[x\\-]", "-", true, false},
        {"[x\\-]", "z", false, false},
        {"[\\-x]", "x", true, false},
        {"[\\-x]", "-", true, false},
        {"[\\-x]", "a", false, false},
        {"[]a]", "]", false, true},
        {"[-]", "-", false, true},
        {"[x-]", "x", false, true},
        {"[x-]", "-", false, true},
        {"[x-]", "z", false, true},
        {"[-x]", "x", false, true},
        {"[-x]", "-", false, true},
        {"[-x]", "a", false, true},
        {"\\", "a", false, true},
        {"[a-b-c]", "a", false, true},
        {"[", "a", false, true},
        {"[^", "a", false, true},
        {"[^bc", "a", false, true},
        {"a[", "a", false, true},
        {"a[", "ab", false, true},
        {"a[", "x", false, true},
        {"a/b[", "x", false, true},
        {"*x", "xxx", true, false},
        /* edge cases */
        {"", "", true, false},
        {"", "a", false, false},
        {"*", "", true, false},
        {"**", "a/b", false, false},
        {"*/*", "a/b", true, false},
        {"?", "", false, false},
        {"?", "\xff", true, false}, /* one invalid byte is one rune */
        {"[^a]", "\xff", true, false},
        {"a\\", "a", false, true},
        {"a*\\", "ab", false, true},
        {"[\xff]", "a", false, true},
        {"a*[", "abc", false, true}, /* bad after a failing star: still an error */
        {"x*[", "abc", false, true},
        {"[[]", "[", true, false},
        {"[*]", "*", true, false},
        {"a[*]b*", "a*bc", true, false},
        /* fleet unit patterns */
        {"apache@*.service", "apache@1.service", true, false},
        {"apache@*.service", "apache@.service", true, false},
        {"apache@*.service", "apache-discovery@1.service", false, false},
        {"*.service", "foo.socket", false, false},
        {"foo@[0-9].service", "foo@7.service", true, false},
        {"foo@[0-9].service", "foo@10.service", false, false},
        {"webapp*", "webapp.2.service", true, false},
        {"hello.service", "hello.service", true, false},
        {"hello.servic?", "hello.service", true, false},
};

START_TEST(test_match_table) {
        const MatchCase *c = &cases[_i];

        ck_assert_msg(glob_match(c->pattern, c->name) == c->match, "'%s' vs '%s'", c->pattern,
                      c->name);
        ck_assert_msg((glob_validate(c->pattern) == -EINVAL) == c->bad, "validate '%s'",
                      c->pattern);
}
END_TEST

START_TEST(test_null) {
        ck_assert(!glob_match(NULL, "a"));
        ck_assert(!glob_match("a", NULL));
        ck_assert_int_eq(glob_validate(NULL), -EINVAL);
        ck_assert_int_eq(glob_validate(""), 0);
        ck_assert_int_eq(glob_validate("a*b?[c-d][^e]\\*"), 0);
}
END_TEST

static Suite *glob_suite(void) {
        Suite *s = suite_create("glob");
        TCase *tc = tcase_create("match");

        tcase_add_loop_test(tc, test_match_table, 0, ELEMENTSOF(cases));
        tcase_add_test(tc, test_null);
        suite_add_tcase(s, tc);
        return s;
}

FLEET_TEST_MAIN(glob_suite)
