/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * A map from string keys to pointers, kept sorted by key (strcmp) in one array: lookups are
 * binary searches, iteration is in key order, and insertion/removal move the tail. The agent
 * keeps per-machine sets (units, schedule, global units, metadata, unit contents) in these;
 * they hold tens to a few thousand entries and change one event at a time.
 *
 * The map owns copies of its keys. Values are opaque: the map never frees them, so callers
 * free a value before (or after) removing it.
 *
 * Iterate with an index:   for (size_t i = 0; i < map->n; i++) use(map->keys[i], map->values[i]);
 * and never insert or remove while iterating forwards (iterate backwards to remove).
 */

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "macro.h"

typedef struct NameMap {
        char **keys;   /* sorted, unique */
        void **values; /* parallel to keys */
        size_t n;
        size_t allocated;
} NameMap;

/* Free the arrays and keys (not the values) and zero the map. */
void name_map_done(NameMap *m);

/* The value stored under key, or NULL. */
void *name_map_get(const NameMap *m, const char *key);

/* Index of key, or -ENOENT. */
ssize_t name_map_find(const NameMap *m, const char *key);

/*
 * Store value under key (the key is copied). If the key exists, its value is replaced and the
 * previous one stored in *ret_old (if non-NULL); else *ret_old is set to NULL. 1 if inserted,
 * 0 if replaced, -ENOMEM.
 */
int name_map_put(NameMap *m, const char *key, void *value, void **ret_old);

/* Remove key; returns its value (NULL if absent). */
void *name_map_remove(NameMap *m, const char *key);

/* Remove the entry at index i (0 <= i < n); returns its value. */
void *name_map_remove_at(NameMap *m, size_t i);
