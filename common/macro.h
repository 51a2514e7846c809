/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * Small helpers shared by every module: cleanup attributes, ownership transfer, array size.
 * Modelled on systemd's src/fundamental/macro.h; only what fleet-c uses.
 */

#include <assert.h>
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define _cleanup_(f) __attribute__((cleanup(f)))
#define _unused_ __attribute__((unused))
#define _printf_(a, b) __attribute__((format(printf, a, b)))
#define _pure_ __attribute__((pure))
#define _const_ __attribute__((const))
#define _likely_(x) (__builtin_expect(!!(x), 1))
#define _unlikely_(x) (__builtin_expect(!!(x), 0))
#define _warn_unused_result_ __attribute__((warn_unused_result))

#define ELEMENTSOF(x) (sizeof(x) / sizeof((x)[0]))

/* assert() that evaluates its argument even with NDEBUG. */
#define assert_se(expr)                                                                            \
        do {                                                                                       \
                if (_unlikely_(!(expr)))                                                           \
                        abort();                                                                   \
        } while (0)

/* Return the pointer and set the variable to NULL: hands ownership out of a _cleanup_ var. */
#define TAKE_PTR(ptr)                                                                              \
        ({                                                                                         \
                typeof(ptr) *_pptr_ = &(ptr);                                                      \
                typeof(ptr) _ptr_ = *_pptr_;                                                       \
                *_pptr_ = NULL;                                                                    \
                _ptr_;                                                                             \
        })

#define TAKE_FD(fd)                                                                                \
        ({                                                                                         \
                int *_pfd_ = &(fd);                                                                \
                int _fd_ = *_pfd_;                                                                 \
                *_pfd_ = -EBADF;                                                                   \
                _fd_;                                                                              \
        })

#define MIN(a, b) ((a) < (b) ? (a) : (b))
#define MAX(a, b) ((a) > (b) ? (a) : (b))

#define streq(a, b) (strcmp((a), (b)) == 0)
#define strneq(a, b, n) (strncmp((a), (b), (n)) == 0)

static inline const char *strempty(const char *s) {
        return s ? s : "";
}

static inline void freep(void *p) {
        free(*(void **) p);
}

static inline void closep(int *fd) {
        if (*fd >= 0)
                (void) close(*fd);
}

static inline void fclosep(FILE **f) {
        if (*f)
                (void) fclose(*f);
}

/* DEFINE_CLEANUP(Foo *, foo_free) generates foo_freep() for _cleanup_(foo_freep). */
#define DEFINE_CLEANUP(type, func)                                                                 \
        static inline void func##p(type *p) {                                                      \
                if (*p)                                                                            \
                        (void) func(*p);                                                           \
        }

/* qsort() with n <= 1 allowed on a NULL array (plain qsort's argument is declared nonnull,
 * which UBSan enforces). As systemd's qsort_safe(). */
static inline void qsort_safe(void *base, size_t n, size_t size,
                              int (*cmp)(const void *, const void *)) {
        if (n <= 1)
                return;
        qsort(base, n, size, cmp);
}

#define _cleanup_free_ _cleanup_(freep)
#define _cleanup_close_ _cleanup_(closep)
#define _cleanup_fclose_ _cleanup_(fclosep)
