/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * Error messages for callers: the one helper that formats a message into a `reterr` out-param
 * (the `char **reterr_message` that parsers and validators take last) and returns the error.
 *
 * A module of its own, not a general string-utility file: it has exactly one job, with one
 * out-of-memory rule, so that every parser and validator reports bad input the same way and
 * the messages (which are fleet's, byte for byte) are written in one place. Pure.
 */

#include "macro.h"

/*
 * Format a message into *reterr and return error (a negative errno, usually -EINVAL):
 *
 *     if (!valid)
 *             return errmsg_set(reterr_message, -EINVAL, "bad name %s", name);
 *
 * reterr may be NULL: nothing is formatted and error is returned. Otherwise *reterr must be
 * NULL or a malloc'd string, which is freed and replaced by the new malloc'd message (the
 * caller frees it).
 *
 * Out of memory: if the message cannot be formatted, *reterr is set to NULL (never left
 * holding an older message) and -ENOMEM is returned instead of error, so that a caller never
 * reports bad input without its message.
 */
int errmsg_set(char **reterr, int error, const char *format, ...) _printf_(3, 4);
