/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * StrMap: an open-addressing hash map (linear probing, backward-shift deletion) from a
 * NUL-terminated string to a pointer. Used by the engine's cluster mirror, which must take
 * watch events for 100,000 jobs in O(1) each. Pure.
 *
 * Keys are BORROWED: the caller keeps each key alive while it is in the map, typically by
 * pointing it into the value it maps to. Values are never freed by the map.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct StrMap {
        const char **keys; /* NULL = empty slot */
        void **values;
        uint64_t *hashes;
        size_t n, capacity; /* capacity is 0 or a power of two */
} StrMap;

/* The value for key, or NULL if absent. */
void *strmap_get(const StrMap *m, const char *key);

/*
 * Map key to value (non-NULL). If the key was present its previous value is stored in
 * *ret_old (may be NULL) and the stored key pointer is replaced by key. 0, -ENOMEM.
 */
int strmap_put(StrMap *m, const char *key, void *value, void **ret_old);

/* Remove key; its value, or NULL if it was absent. */
void *strmap_remove(StrMap *m, const char *key);

size_t strmap_size(const StrMap *m);

/*
 * Iterate: size_t i = 0; while (strmap_next(m, &i, &key, &value)) ... . The map must not be
 * modified during the iteration. key and value may be NULL.
 */
bool strmap_next(const StrMap *m, size_t *i, const char **ret_key, void **ret_value);

/* Free the map's arrays (not the keys or values) and reset it to empty. */
void strmap_done(StrMap *m);
