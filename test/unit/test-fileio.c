/* SPDX-License-Identifier: MIT */
/*
 * read_fd_bounded / read_file_bounded: sizes around the bound (empty, exact, one over),
 * contents with NUL bytes, buffers that must grow, files that are not regular (pipes,
 * directories, /dev/zero, symbolic links with O_NOFOLLOW), and the out-params left alone on
 * failure. Files live in a fresh directory under /tmp that each test removes.
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fileio.h"
#include "macro.h"
#include "test-util.h"

static char dir[] = "/tmp/test-fileio-XXXXXX";
static char path[sizeof(dir) + 32];

static void setup(void) {
        strcpy(dir, "/tmp/test-fileio-XXXXXX");
        ck_assert_ptr_nonnull(mkdtemp(dir));
        snprintf(path, sizeof(path), "%s/file", dir);
}

static void teardown(void) {
        char p[sizeof(path)];

        (void) unlink(path);
        snprintf(p, sizeof(p), "%s/link", dir);
        (void) unlink(p);
        snprintf(p, sizeof(p), "%s/sub", dir);
        (void) rmdir(p);
        ck_assert_int_eq(rmdir(dir), 0);
}

/* Write n bytes of a repeating pattern (with NULs in it) to path. */
static void write_file(size_t n) {
        _cleanup_close_ int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        _cleanup_free_ char *b = malloc(n + 1);

        ck_assert_int_ge(fd, 0);
        ck_assert_ptr_nonnull(b);
        for (size_t i = 0; i < n; i++)
                b[i] = (char) (i % 251);
        ck_assert_int_eq(write(fd, b, n), (ssize_t) n);
}

static void check_pattern(const char *buf, size_t n) {
        for (size_t i = 0; i < n; i++)
                ck_assert_int_eq((unsigned char) buf[i], i % 251);
        ck_assert_int_eq(buf[n], '\0');
}

START_TEST(test_empty) {
        _cleanup_free_ char *buf = NULL;
        size_t n = 99;

        write_file(0);
        ck_assert_int_eq(read_file_bounded(path, 0, 100, 0, &buf, &n), 0);
        ck_assert_uint_eq(n, 0);
        ck_assert_str_eq(buf, "");
}
END_TEST

/* Sizes around the bound, below and above the first allocation of a non-regular read. */
static const struct {
        size_t size, max;
        int r;
} bound_cases[] = {
        {10, 10, 0},
        {11, 10, -EFBIG},
        {1, 0, -EFBIG},
        {0, 0, 0},
        {4096, 4096, 0},
        {4097, 4096, -EFBIG},
        {4097, 10000, 0},
        {70000, 70000, 0},
        {70001, 70000, -EFBIG},
        {200000, 70000, -EFBIG},
        {5, 1 << 20, 0},
};

START_TEST(test_bound_regular_file) {
        _cleanup_free_ char *buf = NULL;
        size_t n = 0;
        int r;

        write_file(bound_cases[_i].size);
        r = read_file_bounded(path, 0, bound_cases[_i].max, 0, &buf, &n);
        ck_assert_int_eq(r, bound_cases[_i].r);
        if (r == 0) {
                ck_assert_uint_eq(n, bound_cases[_i].size);
                check_pattern(buf, n);
        } else
                ck_assert_ptr_null(buf);
}
END_TEST

/* The same sizes through a pipe: no size to go by, the buffer grows. */
START_TEST(test_bound_pipe) {
        _cleanup_free_ char *buf = NULL, *data = NULL;
        int fds[2];
        size_t size = bound_cases[_i].size, n = 0;
        int r;

        if (size > 60000) /* what a pipe holds without a reader */
                return;
        data = malloc(size + 1);
        ck_assert_ptr_nonnull(data);
        for (size_t i = 0; i < size; i++)
                data[i] = (char) (i % 251);
        ck_assert_int_eq(pipe2(fds, O_CLOEXEC), 0);
        ck_assert_int_eq(write(fds[1], data, size), (ssize_t) size);
        close(fds[1]);
        r = read_fd_bounded(fds[0], bound_cases[_i].max, _i % 2 ? READ_SECRET : 0, &buf, &n);
        close(fds[0]);
        ck_assert_int_eq(r, bound_cases[_i].r);
        if (r == 0) {
                ck_assert_uint_eq(n, size);
                check_pattern(buf, n);
        }
}
END_TEST

START_TEST(test_secret_grows) {
        _cleanup_free_ char *buf = NULL;
        int fds[2];
        char chunk[1000];
        size_t n = 0;

        memset(chunk, 'k', sizeof(chunk));
        ck_assert_int_eq(pipe2(fds, O_CLOEXEC), 0);
        for (int i = 0; i < 50; i++) /* 50,000 bytes: several doublings from 4096 */
                ck_assert_int_eq(write(fds[1], chunk, sizeof(chunk)), (ssize_t) sizeof(chunk));
        close(fds[1]);
        ck_assert_int_eq(read_fd_bounded(fds[0], 1 << 20, READ_SECRET, &buf, &n), 0);
        close(fds[0]);
        ck_assert_uint_eq(n, 50000);
        ck_assert_int_eq(buf[0], 'k');
        ck_assert_int_eq(buf[n - 1], 'k');
        ck_assert_int_eq(buf[n], '\0');
}
END_TEST

START_TEST(test_from_current_offset) {
        _cleanup_free_ char *buf = NULL;
        _cleanup_close_ int fd = -EBADF;
        size_t n = 0;

        write_file(300);
        fd = open(path, O_RDONLY | O_CLOEXEC);
        ck_assert_int_ge(fd, 0);
        ck_assert_int_eq(lseek(fd, 251, SEEK_SET), 251);
        /* 49 bytes are left: the bound counts those, not the file's size. */
        ck_assert_int_eq(read_fd_bounded(fd, 49, 0, &buf, &n), 0);
        ck_assert_uint_eq(n, 49);
        check_pattern(buf, n);
}
END_TEST

START_TEST(test_size_optional) {
        _cleanup_free_ char *buf = NULL;

        write_file(3);
        ck_assert_int_eq(read_file_bounded(path, 0, 3, 0, &buf, NULL), 0);
        ck_assert_int_eq(memcmp(buf, "\0\1\2", 4), 0);
}
END_TEST

START_TEST(test_not_regular) {
        char *buf = (char *) "untouched", sub[sizeof(path)];
        size_t n = 7;

        snprintf(sub, sizeof(sub), "%s/sub", dir);
        ck_assert_int_eq(mkdir(sub, 0700), 0);
        ck_assert_int_eq(read_file_bounded(sub, 0, 100, 0, &buf, &n), -EISDIR);
        /* A device without an end: refused at the bound, not read forever. */
        ck_assert_int_eq(read_file_bounded("/dev/zero", 0, 5000, 0, &buf, &n), -EFBIG);
        ck_assert_int_eq(read_file_bounded("/dev/null", 0, 5000, 0, &buf, &n), 0);
        ck_assert_uint_eq(n, 0);
        ck_assert_str_eq(buf, "");
        free(buf);
        buf = (char *) "untouched";
        n = 7;
        ck_assert_int_eq(read_file_bounded(path, 0, 100, 0, &buf, &n), -ENOENT);
        ck_assert_str_eq(buf, "untouched");
        ck_assert_uint_eq(n, 7);
}
END_TEST

START_TEST(test_nofollow) {
        _cleanup_free_ char *buf = NULL;
        char link[sizeof(path)];
        size_t n = 0;

        write_file(4);
        snprintf(link, sizeof(link), "%s/link", dir);
        ck_assert_int_eq(symlink(path, link), 0);
        ck_assert_int_eq(read_file_bounded(link, O_NOFOLLOW, 100, 0, &buf, &n), -ELOOP);
        ck_assert_ptr_null(buf);
        ck_assert_int_eq(read_file_bounded(link, 0, 100, 0, &buf, &n), 0);
        ck_assert_uint_eq(n, 4);
}
END_TEST

static Suite *fileio_suite(void) {
        Suite *s = suite_create("fileio");
        TCase *tc = tcase_create("bounded");

        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_add_test(tc, test_empty);
        tcase_add_loop_test(tc, test_bound_regular_file, 0, ELEMENTSOF(bound_cases));
        tcase_add_loop_test(tc, test_bound_pipe, 0, ELEMENTSOF(bound_cases));
        tcase_add_test(tc, test_secret_grows);
        tcase_add_test(tc, test_from_current_offset);
        tcase_add_test(tc, test_size_optional);
        tcase_add_test(tc, test_not_regular);
        tcase_add_test(tc, test_nofollow);
        suite_add_tcase(s, tc);
        return s;
}

FLEET_TEST_MAIN(fileio_suite)
