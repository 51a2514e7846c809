/* SPDX-License-Identifier: MIT */
/* rolling-restart: which units the arguments name. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fleetctl-rolling.h"
#include "strv.h"
#include "test-util.h"

static char n0[] = "web@.service", n1[] = "web@1.service", n2[] = "web@2.service",
            n3[] = "web@10.service", n4[] = "mon.service", n5[] = "db.socket";
static char *names[] = {n0, n1, n2, n3, n4, n5, NULL};

/* "a b c" of a strv. */
static char *join(char **l) {
        char *s = NULL;
        size_t size = 0;
        FILE *f = open_memstream(&s, &size);

        ck_assert_ptr_nonnull(f);
        STRV_FOREACH(p, l)
                fprintf(f, "%s%s", p == l ? "" : " ", *p);
        ck_assert_int_eq(fclose(f), 0);
        return s;
}

static void selects(const char *const *args, size_t n, const char *want) {
        char **l = NULL, *err = NULL, *got;

        ck_assert_int_eq(fleetctl_rolling_select(names, (char *const *) args, n, &l, &err), 0);
        got = join(l);
        ck_assert_str_eq(got, want);
        free(got);
        strv_free(l);
        free(err);
}

static void fails(const char *arg, int error, const char *msg) {
        const char *args[] = {arg};
        char **l = NULL, *err = NULL;

        ck_assert_int_eq(fleetctl_rolling_select(names, (char *const *) args, 1, &l, &err), error);
        ck_assert_str_eq(err, msg);
        ck_assert_ptr_null(l);
        free(err);
}

START_TEST(test_select) {
        selects((const char *const[]){"web@*"}, 1, "web@1.service web@10.service web@2.service");
        selects((const char *const[]){"web@?.service", "mon"}, 2,
                "mon.service web@1.service web@2.service");
        selects((const char *const[]){"web@2.service", "web@*"}, 2,
                "web@1.service web@10.service web@2.service");
        selects((const char *const[]){"db.socket", "dir/mon.service"}, 2, "db.socket mon.service");
        fails("nosuch", -ENOENT, "Unit nosuch.service not found");
        fails("x@*", -ENOENT, "no unit matches x@*.service");
        fails("web@[", -EINVAL, "invalid pattern web@[.service");
}
END_TEST

START_TEST(test_count_units) {
        char *none[] = {NULL};
        char *plain[] = {(char *) "web@1.service", (char *) "web@2.service", NULL};
        char *mixed[] = {(char *) "web@1.service", (char *) "g.service/m1",
                         (char *) "g.service/m2",  (char *) "g.service/m3",
                         (char *) "g.services/m1", NULL};

        ck_assert_uint_eq(fleetctl_rolling_count_units(NULL), 0);
        ck_assert_uint_eq(fleetctl_rolling_count_units(none), 0);
        ck_assert_uint_eq(fleetctl_rolling_count_units(plain), 2);
        ck_assert_uint_eq(fleetctl_rolling_count_units(mixed), 3);
}
END_TEST

static Suite *rolling_suite(void) {
        Suite *s = suite_create("fleetctl-rolling");
        TCase *tc = tcase_create("core");

        tcase_add_test(tc, test_select);
        tcase_add_test(tc, test_count_units);
        suite_add_tcase(s, tc);
        return s;
}

FLEET_TEST_MAIN(rolling_suite)
