/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * NULL-terminated string vectors (char **), owned: strv_free() frees every string and the array.
 * A NULL strv is a valid empty vector everywhere.
 */

#include <stdbool.h>
#include <stddef.h>

#include "macro.h"

char **strv_free(char **l);
DEFINE_CLEANUP(char **, strv_free);
#define _cleanup_strv_free_ _cleanup_(strv_freep)

size_t strv_length(char *const *l);
bool strv_contains(char *const *l, const char *s);

/* Append a copy of s / take ownership of s (freed on failure). 0 or -ENOMEM. */
int strv_extend(char ***l, const char *s);
int strv_consume(char ***l, char *s);

/* Deep copy; returns NULL only on OOM (a NULL input gives an empty, non-NULL vector). */
char **strv_copy(char *const *l);

/* Sort in place with strcmp. */
void strv_sort(char **l);

bool strv_equal(char *const *a, char *const *b);

#define STRV_FOREACH(s, l) for (char *const *s = (l); s && *s; s++)
