/* SPDX-License-Identifier: MIT */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <syslog.h>
#include <time.h>

#include "log.h"

static int log_max_level = LOG_INFO;
static int log_journal = -1; /* -1: not decided yet */
static const char *log_program = NULL;

static const char *const level_names[] = {
        [LOG_EMERG] = "emerg", [LOG_ALERT] = "alert",     [LOG_CRIT] = "crit",
        [LOG_ERR] = "error",   [LOG_WARNING] = "warning", [LOG_NOTICE] = "notice",
        [LOG_INFO] = "info",   [LOG_DEBUG] = "debug",
};

void log_set_max_level(int level) {
        assert(level >= LOG_EMERG && level <= LOG_DEBUG);
        log_max_level = level;
}

int log_get_max_level(void) {
        return log_max_level;
}

int log_level_from_string(const char *s) {
        if (!s)
                return -EINVAL;
        if (s[0] >= '0' && s[0] <= '7' && s[1] == '\0')
                return s[0] - '0';
        if (strcasecmp(s, "err") == 0)
                return LOG_ERR;
        for (size_t i = 0; i < ELEMENTSOF(level_names); i++)
                if (strcasecmp(s, level_names[i]) == 0)
                        return (int) i;
        return -EINVAL;
}

void log_open(void) {
        const char *e = getenv("JOURNAL_STREAM");
        log_journal = e && *e;
}

void log_set_program(const char *name) {
        log_program = name;
}

int log_internal(int level, int error, const char *file, int line, const char *func,
                 const char *format, ...) {
        char buf[2048];
        va_list ap;

        if (log_journal < 0)
                log_open();

        /* "%m" must print the error we were handed, not whatever errno happens to hold. */
        errno = error;
        va_start(ap, format);
        (void) vsnprintf(buf, sizeof(buf), format, ap);
        va_end(ap);

        if (log_journal)
                fprintf(stderr, "<%d>%s\n", level, buf);
        else {
                struct timespec ts;
                struct tm tm;
                char when[32] = "";

                if (clock_gettime(CLOCK_REALTIME, &ts) == 0 && localtime_r(&ts.tv_sec, &tm))
                        (void) strftime(when, sizeof(when), "%H:%M:%S", &tm);
                if (log_max_level >= LOG_DEBUG)
                        fprintf(stderr, "%s.%03ld %s %s: %s (%s:%d %s)\n", when,
                                ts.tv_nsec / 1000000, strempty(log_program), level_names[level],
                                buf, file, line, func);
                else
                        fprintf(stderr, "%s.%03ld %s %s: %s\n", when, ts.tv_nsec / 1000000,
                                strempty(log_program), level_names[level], buf);
        }
        return -error;
}
