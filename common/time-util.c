/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "macro.h"
#include "time-util.h"

/* Go's durations are int64 nanoseconds. */
#define GO_DURATION_MAX ((uint64_t) 1 << 63)

static const struct {
        const char *name;
        uint64_t nsec;
} go_units[] = {
        {"ns", 1ULL},
        {"us", 1000ULL},
        {"\xc2\xb5s", 1000ULL}, /* U+00B5 micro sign */
        {"\xce\xbcs", 1000ULL}, /* U+03BC Greek small letter mu */
        {"ms", 1000000ULL},
        {"s", 1000000000ULL},
        {"m", 60ULL * 1000000000ULL},
        {"h", 3600ULL * 1000000000ULL},
};

static bool is_digit(char c) {
        return c >= '0' && c <= '9';
}

/* Go's leadingInt: digits into *v; -ERANGE on overflow. */
static int leading_int(const char **p, uint64_t *v) {
        uint64_t x = 0;

        for (; is_digit(**p); (*p)++) {
                if (x > GO_DURATION_MAX / 10)
                        return -ERANGE;
                x = x * 10 + (uint64_t) (**p - '0');
                if (x > GO_DURATION_MAX)
                        return -ERANGE;
        }
        *v = x;
        return 0;
}

/* Go's leadingFraction: digits after '.', accumulated until they would overflow. */
static void leading_fraction(const char **p, uint64_t *f, double *scale) {
        bool overflow = false;
        uint64_t x = 0;
        double sc = 1;

        for (; is_digit(**p); (*p)++) {
                if (overflow)
                        continue;
                if (x > GO_DURATION_MAX / 10) {
                        overflow = true;
                        continue;
                }
                uint64_t y = x * 10 + (uint64_t) (**p - '0');
                if (y > GO_DURATION_MAX) {
                        overflow = true;
                        continue;
                }
                x = y;
                sc *= 10;
        }
        *f = x;
        *scale = sc;
}

static int lookup_unit(const char *u, size_t len, uint64_t *ret) {
        for (size_t i = 0; i < ELEMENTSOF(go_units); i++)
                if (strlen(go_units[i].name) == len && strneq(go_units[i].name, u, len)) {
                        *ret = go_units[i].nsec;
                        return 0;
                }
        return -EINVAL;
}

/* One "<number><unit>" component, in nanoseconds. */
static int parse_component(const char **p, uint64_t *ret) {
        const char *start = *p, *u;
        uint64_t v, f = 0, unit;
        double scale = 1;
        bool pre, post = false;
        int r;

        if (!(**p == '.' || is_digit(**p)))
                return -EINVAL;
        r = leading_int(p, &v);
        if (r < 0)
                return r;
        pre = *p != start;
        if (**p == '.') {
                const char *fs = ++(*p);
                leading_fraction(p, &f, &scale);
                post = *p != fs;
        }
        if (!pre && !post)
                return -EINVAL;

        for (u = *p; **p && **p != '.' && !is_digit(**p); (*p)++)
                ;
        if (*p == u)
                return -EINVAL; /* missing unit */
        r = lookup_unit(u, (size_t) (*p - u), &unit);
        if (r < 0)
                return r;

        if (v > GO_DURATION_MAX / unit)
                return -ERANGE;
        v *= unit;
        if (f > 0) {
                v += (uint64_t) ((double) f * ((double) unit / scale));
                if (v > GO_DURATION_MAX)
                        return -ERANGE;
        }
        *ret = v;
        return 0;
}

int parse_go_duration(const char *s, usec_t *ret) {
        bool neg = false;
        uint64_t d = 0;

        assert(ret);

        if (!s)
                return -EINVAL;
        if (*s == '-' || *s == '+')
                neg = *s++ == '-';
        if (streq(s, "0")) {
                *ret = 0;
                return 0;
        }
        if (*s == '\0')
                return -EINVAL;

        while (*s) {
                uint64_t v;
                int r = parse_component(&s, &v);
                if (r < 0)
                        return r;
                d += v;
                if (d > GO_DURATION_MAX)
                        return -ERANGE;
        }
        if (neg && d > 0)
                return -ERANGE;
        if (d > GO_DURATION_MAX - 1)
                return -ERANGE;

        *ret = d / NSEC_PER_USEC;
        return 0;
}

int parse_sec_float(const char *s, usec_t *ret) {
        char *end;
        double d;

        assert(ret);

        /* strtod() skips leading whitespace and knows "nan"/"inf"; Go's ParseFloat rejects the
         * former, and neither is a useful number of seconds. */
        if (!s || *s == '\0' || !(is_digit(*s) || strchr("+-.", *s)))
                return -EINVAL;
        errno = 0;
        d = strtod(s, &end);
        if (end == s || *end != '\0')
                return -EINVAL;
        if (errno == ERANGE && isinf(d))
                return -ERANGE;
        if (!isfinite(d))
                return -EINVAL;
        if (d < 0)
                return -ERANGE;
        /* Round half up by hand: round() would need libm. */
        d = d * (double) USEC_PER_SEC + 0.5;
        /* 2^64 is exactly representable; anything at or above it does not fit. */
        if (d >= 18446744073709551616.0)
                return -ERANGE;

        *ret = (usec_t) d;
        return 0;
}

/* Append the fraction of v (prec digits) without trailing zeros, Go's fmtFrac. */
static size_t format_frac(char *buf, uint64_t frac, int prec) {
        char digits[32];
        int n = 0;
        bool print = false;

        for (int i = 0; i < prec; i++) {
                int digit = (int) (frac % 10);
                print = print || digit != 0;
                if (print)
                        digits[n++] = (char) ('0' + digit);
                frac /= 10;
        }
        if (n == 0)
                return 0;
        buf[0] = '.';
        for (int i = 0; i < n; i++)
                buf[1 + i] = digits[n - 1 - i];
        return (size_t) n + 1;
}

const char *format_timespan(char buf[static FORMAT_TIMESPAN_MAX], usec_t t) {
        size_t n;

        if (t == USEC_INFINITY) {
                snprintf(buf, FORMAT_TIMESPAN_MAX, "infinity");
                return buf;
        }
        if (t == 0) {
                snprintf(buf, FORMAT_TIMESPAN_MAX, "0s");
                return buf;
        }
        if (t < USEC_PER_MSEC) {
                snprintf(buf, FORMAT_TIMESPAN_MAX, "%" PRIu64 "\xc2\xb5s", t);
                return buf;
        }
        if (t < USEC_PER_SEC) {
                n = (size_t) snprintf(buf, FORMAT_TIMESPAN_MAX, "%" PRIu64, t / USEC_PER_MSEC);
                n += format_frac(buf + n, t % USEC_PER_MSEC, 3);
                snprintf(buf + n, FORMAT_TIMESPAN_MAX - n, "ms");
                return buf;
        }

        uint64_t sec = t / USEC_PER_SEC, min = sec / 60, hour = min / 60;
        char frac[16] = "";
        size_t fl = format_frac(frac, t % USEC_PER_SEC, 6);
        frac[fl] = '\0';

        if (hour > 0)
                snprintf(buf, FORMAT_TIMESPAN_MAX, "%" PRIu64 "h%" PRIu64 "m%" PRIu64 "%ss", hour,
                         min % 60, sec % 60, frac);
        else if (min > 0)
                snprintf(buf, FORMAT_TIMESPAN_MAX, "%" PRIu64 "m%" PRIu64 "%ss", min, sec % 60,
                         frac);
        else
                snprintf(buf, FORMAT_TIMESPAN_MAX, "%" PRIu64 "%ss", sec, frac);
        return buf;
}

usec_t clock_now_usec(clockid_t clock) {
        struct timespec ts;

        assert_se(clock_gettime(clock, &ts) == 0);
        return (usec_t) ts.tv_sec * USEC_PER_SEC + (usec_t) ts.tv_nsec / NSEC_PER_USEC;
}
