/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * Go path.Match semantics (reference 6.4): '*' matches any run of non-'/' characters, '?' one
 * non-'/' character, '[...]' a class ('^' negates, ranges a-z), '\' escapes. The whole name
 * must match. An invalid pattern (bad class, trailing '\') never matches.
 */

#include <stdbool.h>

bool glob_match(const char *pattern, const char *name);

/* 0 if the pattern is well-formed, -EINVAL otherwise. */
int glob_validate(const char *pattern);
