/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * Time spans in microseconds (usec_t, as sd-event uses them), parsing of Go duration strings
 * ("30s", "1m30s", "1.5h", fleet's agent_ttl) and of float seconds (fleet's
 * etcd_request_timeout), Go-style formatting for logs, and reading a clock. Pure but for the
 * clock.
 */

#include <stddef.h>
#include <stdint.h>
#include <time.h>

typedef uint64_t usec_t;

#define USEC_INFINITY ((usec_t) UINT64_MAX)
#define NSEC_PER_USEC ((uint64_t) 1000ULL)
#define USEC_PER_MSEC ((usec_t) 1000ULL)
#define USEC_PER_SEC ((usec_t) 1000000ULL)
#define USEC_PER_MINUTE ((usec_t) (60ULL * USEC_PER_SEC))
#define USEC_PER_HOUR ((usec_t) (60ULL * USEC_PER_MINUTE))

/* The time of clock (CLOCK_MONOTONIC, CLOCK_REALTIME, ...) in microseconds. */
usec_t clock_now_usec(clockid_t clock);

/* Enough for any format_timespan() output, NUL included. */
#define FORMAT_TIMESPAN_MAX 64

/*
 * Parse a Go duration (time.ParseDuration): an optional sign, then one or more decimal numbers
 * each with an optional fraction and a unit (ns, us, µs, μs, ms, s, m, h), e.g. "300ms",
 * "1h30m", "1.5h", ".5s"; "0" needs no unit. The result is truncated to whole microseconds.
 * Returns 0 and stores the value; -EINVAL for a malformed string (empty, missing or unknown
 * unit, stray characters); -ERANGE for a negative non-zero duration or one beyond Go's
 * range (about 292 years).
 */
int parse_go_duration(const char *s, usec_t *ret);

/*
 * Parse non-negative float seconds as Go's strconv.ParseFloat reads them ("1", "0.5", "2e-1",
 * hex floats), rounded to the nearest microsecond. -EINVAL if malformed (leading whitespace,
 * trailing characters, empty, NaN, infinity); -ERANGE if negative or too large for usec_t.
 */
int parse_sec_float(const char *s, usec_t *ret);

/*
 * Format t like Go's time.Duration.String(): "0s", "750µs", "1.5ms", "30s", "1m30s",
 * "1h0m0.5s"; USEC_INFINITY gives "infinity". Writes into buf (FORMAT_TIMESPAN_MAX bytes)
 * and returns it.
 */
const char *format_timespan(char buf[static FORMAT_TIMESPAN_MAX], usec_t t);
