/* SPDX-License-Identifier: MIT */
/*
 * Unit-name safety (docs/security.md): no name that unit_name_validate() accepts can escape
 * the units directory (no '/', never "." or "..", never the agent's temporary-file prefix),
 * and the agent's unit-directory functions refuse every unsafe name before touching the file
 * system. The scan never deletes a file other than its own interrupted temporary files and
 * never follows a symlink.
 */
#include <check.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "test-util.h"
#include "unit-dir.h"
#include "unit-name.h"

/* What an accepted name must never be, as a file name inside the units directory. */
static void assert_safe_file_name(const char *name) {
        ck_assert_msg(!strchr(name, '/'), "valid name with '/': %s", name);
        ck_assert_msg(!streq(name, ".") && !streq(name, ".."), "valid name is . or ..");
        ck_assert_msg(!strneq(name, ".#fleet-", 8), "valid name in the temp namespace: %s", name);
        ck_assert_msg(unit_dir_name_is_safe(name), "valid name not safe for unit-dir: %s", name);
}

static const char *const hostile[] = {
        "",
        ".",
        "..",
        "/",
        "../x.service",
        "../../etc/systemd/system/evil.service",
        "/etc/systemd/system/evil.service",
        "a/b.service",
        "a/.service",
        "x.service/",
        "x.service/..",
        "./x.service",
        "..%2fx.service",
        "..\\/x.service",
        "x.service\n",
        "x\n.service",
        "x .service",
        "x\t.service",
        "x;rm -rf.service",
        "x$(id).service",
        "x`id`.service",
        "x*.service",
        "x?.service",
        "~root.service",
        ".#fleet-abcdef",
        ".#fleet-abc.service",
        "x.service\xc0\xaf",      /* overlong '/' in UTF-8 */
        "x\xef\xbc\x8f.service",  /* FULLWIDTH SOLIDUS */
        "x\xe2\x88\x95y.service", /* DIVISION SLASH */
        "@x.service",
        ".service", /* systemd wants a name before the type */
};

START_TEST(test_hostile_names_rejected) {
        const char *name = hostile[_i];
        _cleanup_free_ char *err = NULL;

        ck_assert_msg(unit_name_validate(name, &err) == -EINVAL, "accepted: \"%s\"", name);
        ck_assert_ptr_nonnull(err);
}
END_TEST

/* Names that contain dots in odd places are valid, and still plain file names. */
static const char *const odd_valid[] = {
        "..service",     "...service",  ".x.service",  "x..service", "-.service",
        "\\x2f.service", "a\\.service", "x@..service", "x@.service", "x:y.service",
};

START_TEST(test_odd_valid_names_are_safe) {
        ck_assert_msg(unit_name_validate(odd_valid[_i], NULL) == 0, "rejected: %s", odd_valid[_i]);
        assert_safe_file_name(odd_valid[_i]);
}
END_TEST

/* A deterministic random walk over names built from the characters that matter. */
static uint64_t rng_state = 0x9E3779B97F4A7C15ULL;

static uint64_t rng(void) {
        rng_state ^= rng_state << 13;
        rng_state ^= rng_state >> 7;
        rng_state ^= rng_state << 17;
        return rng_state;
}

START_TEST(test_random_names) {
        static const char alphabet[] = "./@\\:-_aZ9 #~%\n\x7f\xc0\xaf\xef";
        static const char *const suffixes[] = {"",          ".service", ".socket", ".timer",
                                               ".target",   ".",        "/",       "/..",
                                               ".service/", "..",       "."};
        size_t accepted = 0;

        for (unsigned n = 0; n < 200000; n++) {
                char name[32];
                size_t len = rng() % 10, k = 0;
                const char *suffix = suffixes[rng() % ELEMENTSOF(suffixes)];

                for (; k < len; k++)
                        name[k] = alphabet[rng() % (sizeof(alphabet) - 1)];
                name[k] = '\0';
                strcat(name, suffix);
                if (unit_name_validate(name, NULL) == 0) {
                        accepted++;
                        assert_safe_file_name(name);
                }
        }
        ck_assert_uint_gt(accepted, 1000); /* the walk did reach valid names */
}
END_TEST

/* ---- agent/unit-dir.c ------------------------------------------------------------------- */

static char *tmp_tree(void) {
        char *top = strdup("/tmp/fleet-names-XXXXXX");
        char path[256];

        ck_assert_ptr_nonnull(top);
        ck_assert_ptr_nonnull(mkdtemp(top));
        snprintf(path, sizeof(path), "%s/units", top);
        ck_assert_int_eq(mkdir(path, 0755), 0);
        return top;
}

static void write_file(const char *dir, const char *name, const char *text) {
        char path[512];
        FILE *f;

        snprintf(path, sizeof(path), "%s/%s", dir, name);
        f = fopen(path, "we");
        ck_assert_ptr_nonnull(f);
        fputs(text, f);
        ck_assert_int_eq(fclose(f), 0);
}

static bool exists(const char *dir, const char *name) {
        char path[512];
        struct stat st;

        snprintf(path, sizeof(path), "%s/%s", dir, name);
        return lstat(path, &st) == 0;
}

static void rm_tree(const char *top) {
        char cmd[512];

        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", top);
        ck_assert_int_eq(system(cmd), 0);
}

START_TEST(test_unit_dir_refuses_unsafe) {
        static const char *const unsafe[] = {
                "", ".", "..", "../outside.service", "a/b.service", "/abs.service", "x.service/"};
        _cleanup_free_ char *top = tmp_tree();
        char units[256];
        char *text = NULL;

        snprintf(units, sizeof(units), "%s/units", top);
        write_file(top, "outside.service", "keep me");
        for (size_t i = 0; i < ELEMENTSOF(unsafe); i++) {
                ck_assert(!unit_dir_name_is_safe(unsafe[i]));
                ck_assert(!unit_dir_name_is_recognized(unsafe[i]));
                ck_assert_int_eq(unit_dir_write(units, unsafe[i], "x", 1), -EINVAL);
                ck_assert_int_eq(unit_dir_remove(units, unsafe[i]), -EINVAL);
                ck_assert_int_eq(unit_dir_read(units, unsafe[i], &text, NULL), -EINVAL);
        }
        ck_assert(!unit_dir_name_is_safe(NULL));
        /* The file one level up is untouched, and nothing appeared in the units directory
         * or beside it. */
        ck_assert(exists(top, "outside.service"));
        ck_assert(!exists(units, "b.service"));
        ck_assert(!exists(top, "abs.service"));
        rm_tree(top);
}
END_TEST

START_TEST(test_unit_dir_scan_touches_only_its_own) {
        _cleanup_free_ char *top = tmp_tree();
        char units[256], target[512], link[512];
        UnitDirEntry *e = NULL;
        size_t n = 0;

        snprintf(units, sizeof(units), "%s/units", top);
        write_file(top, "secret.service", "[Service]\nExecStart=/bin/secret\n");
        ck_assert_int_eq(
                unit_dir_write_unit(units, "a.service", "[Service]\nExecStart=/bin/true\n", 30), 0);
        write_file(units, "admin.service", "[Service]\nExecStart=/bin/true\n"); /* not fleetd's */
        write_file(units, "README", "not a unit");
        write_file(units, "b.conf", "not a unit");
        write_file(units, ".#fleet-Ab12Cd", "interrupted write");
        snprintf(target, sizeof(target), "%s/secret.service", top);
        snprintf(link, sizeof(link), "%s/link.service", units);
        ck_assert_int_eq(symlink(target, link), 0);
        snprintf(target, sizeof(target), "%s/dir.service", units);
        ck_assert_int_eq(mkdir(target, 0755), 0);

        ck_assert_int_eq(unit_dir_scan(units, &e, &n), 0);
        /* Only the regular file fleetd wrote (its marker line) is listed: not a unit file
         * someone else put there, the symlink (never followed), the directory, or the files
         * with other names. */
        ck_assert_uint_eq(n, 1);
        ck_assert_str_eq(e[0].name, "a.service");
        unit_dir_entries_free(e, n);

        /* Only the agent's own interrupted temporary file was removed. */
        ck_assert(!exists(units, ".#fleet-Ab12Cd"));
        ck_assert(exists(units, "README"));
        ck_assert(exists(units, "admin.service"));
        ck_assert(exists(units, "b.conf"));
        ck_assert(exists(units, "link.service"));
        ck_assert(exists(units, "dir.service"));
        ck_assert(exists(top, "secret.service"));

        /* Reading through the symlink is refused (O_NOFOLLOW). */
        char *text = NULL;
        ck_assert_int_eq(unit_dir_read(units, "link.service", &text, NULL), -ELOOP);
        rm_tree(top);
}
END_TEST

static Suite *suite(void) {
        Suite *s = suite_create("security-names");
        TCase *tc = tcase_create("names");

        tcase_add_loop_test(tc, test_hostile_names_rejected, 0, ELEMENTSOF(hostile));
        tcase_add_loop_test(tc, test_odd_valid_names_are_safe, 0, ELEMENTSOF(odd_valid));
        tcase_add_test(tc, test_random_names);
        tcase_add_test(tc, test_unit_dir_refuses_unsafe);
        tcase_add_test(tc, test_unit_dir_scan_touches_only_its_own);
        suite_add_tcase(s, tc);
        return s;
}

FLEET_TEST_MAIN(suite)
