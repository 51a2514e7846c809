/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * Logging to stderr. Under journald ($JOURNAL_STREAM set) each line carries an "<N>" syslog
 * priority prefix that journald parses; otherwise lines are human-readable with a timestamp
 * and the level name. The level is checked before any formatting.
 *
 * The *_errno variants take an error code (negative or positive errno), make "%m" print it,
 * and return -abs(error) so callers can write: return log_error_errno(r, "...: %m");
 */

#include <stdarg.h>
#include <syslog.h>

#include "macro.h"

/* Set the maximum level printed (LOG_DEBUG..LOG_EMERG). Default LOG_INFO. */
void log_set_max_level(int level);
int log_get_max_level(void);

/* Parse "debug", "info", "notice", "warning", "err"/"error", "crit", "alert", "emerg" or a
 * number 0..7. Returns the level or -EINVAL. */
int log_level_from_string(const char *s);

/* Choose the output style again from the environment ($JOURNAL_STREAM). Called once by
 * main(); tests may call it after changing the environment. */
void log_open(void);

/* Program name printed in human-readable mode ("fleetd", "fleetctl"). Borrowed, not copied. */
void log_set_program(const char *name);

int log_internal(int level, int error, const char *file, int line, const char *func,
                 const char *format, ...) _printf_(6, 7);

#define log_full_errno(level, error, ...)                                                          \
        ({                                                                                         \
                int _level_ = (level), _e_ = (error);                                              \
                _e_ = _e_ < 0 ? -_e_ : _e_;                                                        \
                (_level_ <= log_get_max_level())                                                   \
                        ? log_internal(_level_, _e_, __FILE__, __LINE__, __func__, __VA_ARGS__)    \
                        : -_e_;                                                                    \
        })

#define log_full(level, ...) (void) log_full_errno((level), 0, __VA_ARGS__)

#define log_debug(...) log_full(LOG_DEBUG, __VA_ARGS__)
#define log_info(...) log_full(LOG_INFO, __VA_ARGS__)
#define log_notice(...) log_full(LOG_NOTICE, __VA_ARGS__)
#define log_warning(...) log_full(LOG_WARNING, __VA_ARGS__)
#define log_error(...) log_full(LOG_ERR, __VA_ARGS__)

#define log_debug_errno(error, ...) log_full_errno(LOG_DEBUG, error, __VA_ARGS__)
#define log_info_errno(error, ...) log_full_errno(LOG_INFO, error, __VA_ARGS__)
#define log_notice_errno(error, ...) log_full_errno(LOG_NOTICE, error, __VA_ARGS__)
#define log_warning_errno(error, ...) log_full_errno(LOG_WARNING, error, __VA_ARGS__)
#define log_error_errno(error, ...) log_full_errno(LOG_ERR, error, __VA_ARGS__)

/* A value that makes an allocation failure a one-liner: return log_oom(); */
#define log_oom() log_error_errno(ENOMEM, "Out of memory.")
