/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * The checks behind every fuzz target, header-only so that two kinds of binaries share them:
 * the libFuzzer targets (test/fuzz/fuzz-<name>.c, built by mk/fuzz.mk with clang) and the
 * unit-tier test test/unit/test-fuzz-regressions.c (built by the Makefile with gcc or clang),
 * which runs the committed corpora and every regression input through the same code.
 *
 * Each fuzz_check_<target>(data, size) feeds one input to the pure parsers and asserts their
 * invariants with FUZZ_CHECK(). A failed check calls FUZZ_FAIL(what): by default a message on
 * stderr and abort(), which libFuzzer reports as a crash; the unit test defines FUZZ_FAIL
 * before including this header to turn it into a Check failure instead.
 *
 * Known issues (behaviour that is wrong but documented, see docs/fuzzing.md) are tolerated so
 * that a fuzzing run is not stopped by them again and again; build with -DFUZZ_STRICT to make
 * them fail too.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "macro.h"

#ifndef FUZZ_FAIL
#define FUZZ_FAIL(what) fuzz_fail_abort(__FILE__, __LINE__, what)
static inline void fuzz_fail_abort(const char *file, int line, const char *what) {
        fprintf(stderr, "fuzz-checks: %s:%d: check failed: %s\n", file, line, what);
        abort();
}
#endif

#define FUZZ_CHECK(cond)                                                                           \
        do {                                                                                       \
                if (!(cond))                                                                       \
                        FUZZ_FAIL(#cond);                                                          \
        } while (0)

/* true if the known issue is tolerated in this build (see the top of this file). */
#ifdef FUZZ_STRICT
#define FUZZ_TOLERATE_KNOWN_ISSUE(id) false
#else
#define FUZZ_TOLERATE_KNOWN_ISSUE(id) true
#endif

/* A byte range of the input. */
typedef struct FuzzSpan {
        const char *p;
        size_t len;
} FuzzSpan;

/* Split s at the first sep: *ret_head before it, *ret_tail after it (empty if there is none). */
static inline void fuzz_split(FuzzSpan s, char sep, FuzzSpan *ret_head, FuzzSpan *ret_tail) {
        const char *q = s.len > 0 ? memchr(s.p, sep, s.len) : NULL;

        if (!q) {
                *ret_head = s;
                *ret_tail = (FuzzSpan){s.p + s.len, 0};
                return;
        }
        *ret_head = (FuzzSpan){s.p, (size_t) (q - s.p)};
        *ret_tail = (FuzzSpan){q + 1, s.len - (size_t) (q - s.p) - 1};
}

/* A malloc'd NUL-terminated copy of s (NUL bytes inside are kept); aborts on OOM, which the
 * fuzzer's malloc limit reports. */
static inline char *fuzz_strndup(FuzzSpan s) {
        char *p = malloc(s.len + 1);

        if (!p)
                abort();
        if (s.len > 0)
                memcpy(p, s.p, s.len);
        p[s.len] = 0;
        return p;
}

/* Fill an out-parameter with a pattern before a call, to check afterwards that a failing call
 * did not write it ("ret_* written only on success"). */
#define FUZZ_SENTINEL 0xA5
static inline void fuzz_poison(void *p, size_t n) {
        memset(p, FUZZ_SENTINEL, n);
}

static inline bool fuzz_is_poisoned(const void *p, size_t n) {
        const uint8_t *b = p;

        for (size_t i = 0; i < n; i++)
                if (b[i] != FUZZ_SENTINEL)
                        return false;
        return true;
}

static inline bool fuzz_streq_null(const char *a, const char *b) {
        if (!a || !b)
                return a == b;
        return streq(a, b);
}

/* The targets, in the order of mk/fuzz.mk's FUZZ_TARGETS. */
typedef void (*FuzzCheckFn)(const uint8_t *data, size_t size);

#include "fuzz-checks-units.h"
#include "fuzz-checks-config.h"
#include "fuzz-checks-etcd.h"
#include "fuzz-checks-registry.h"
#include "fuzz-checks-api.h"

static const struct {
        const char *name;
        FuzzCheckFn check;
} fuzz_targets[] = {
        {"unit-file", fuzz_check_unit_file}, {"xfleet", fuzz_check_xfleet},
        {"glob", fuzz_check_glob},           {"config", fuzz_check_config},
        {"etcd-json", fuzz_check_etcd_json}, {"registry", fuzz_check_registry},
        {"api-json", fuzz_check_api_json},
};
