/* SPDX-License-Identifier: MIT */
/*
 * Every committed fuzzing input through the checks of the fuzz targets (test/fuzz/fuzz-checks.h),
 * without libFuzzer: the seeds (test/fuzz/corpus/<target>/) and the inputs that once made a
 * target fail (test/fuzz/regressions/<target>/). So a bug the fuzzer found stays fixed in every
 * build (gcc, clang, ASan+UBSan, valgrind), not only when someone runs `make fuzz`.
 * Runs from the top of the source tree, as test/run-tests.sh does.
 */
#include <check.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "test-util.h"

/* The input being checked, for the failure message. */
static char current_input[512];

#define FUZZ_FAIL(what)                                                                            \
        ck_abort_msg("%s: check failed: %s (%s:%d)", current_input, what, __FILE__, __LINE__)

#include "../fuzz/fuzz-checks.h"

#define MAX_INPUT_SIZE (4 * 1024 * 1024)

static uint8_t *read_input(const char *path, size_t *ret_size) {
        _cleanup_fclose_ FILE *f = fopen(path, "re");
        uint8_t *buf;
        size_t n;

        ck_assert_msg(f, "cannot open %s", path);
        buf = malloc(MAX_INPUT_SIZE + 1);
        ck_assert(buf);
        n = fread(buf, 1, MAX_INPUT_SIZE + 1, f);
        ck_assert_msg(!ferror(f) && n <= MAX_INPUT_SIZE, "cannot read %s", path);
        *ret_size = n;
        return buf;
}

static int is_input(const struct dirent *d) {
        return d->d_name[0] != '.' && !streq(d->d_name, "README.md");
}

/* Run every file of dir through check; returns the number of files (0 if dir is missing). */
static size_t run_dir(const char *dir, FuzzCheckFn check) {
        struct dirent **names = NULL;
        int n = scandir(dir, &names, is_input, alphasort);

        if (n < 0)
                return 0;
        for (int i = 0; i < n; i++) {
                _cleanup_free_ uint8_t *data = NULL;
                size_t size = 0;

                (void) snprintf(current_input, sizeof(current_input), "%s/%s", dir,
                                names[i]->d_name);
                data = read_input(current_input, &size);
                check(data, size);
                free(names[i]);
        }
        free(names);
        return (size_t) n;
}

START_TEST(test_target) {
        const char *name = fuzz_targets[_i].name;
        char dir[256];
        size_t seeds;

        (void) snprintf(dir, sizeof(dir), "test/fuzz/corpus/%s", name);
        seeds = run_dir(dir, fuzz_targets[_i].check);
        ck_assert_msg(seeds > 0, "no seed inputs in %s (run from the source tree)", dir);
        (void) snprintf(dir, sizeof(dir), "test/fuzz/regressions/%s", name);
        (void) run_dir(dir, fuzz_targets[_i].check);
}
END_TEST

/* The checks' own reference matcher (ASCII glob). */
START_TEST(test_glob_reference) {
        ck_assert(fuzz_glob_reference("*.service", "a.service"));
        ck_assert(!fuzz_glob_reference("*.service", "a/b.service"));
        ck_assert(fuzz_glob_reference("a?c*x*", "abcdxyx"));
        ck_assert(!fuzz_glob_reference("a?c", "a/c"));
        ck_assert(fuzz_glob_reference("", ""));
        ck_assert(!fuzz_glob_reference("?", ""));
}
END_TEST

static Suite *fuzz_regressions_suite(void) {
        Suite *s = suite_create("fuzz-regressions");
        TCase *tc = tcase_create("inputs");

        tcase_set_timeout(tc, 120);
        tcase_add_loop_test(tc, test_target, 0, (int) ELEMENTSOF(fuzz_targets));
        tcase_add_test(tc, test_glob_reference);
        suite_add_tcase(s, tc);
        return s;
}

FLEET_TEST_MAIN(fuzz_regressions_suite)
