/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * StrMap: an open-addressing hash map (linear probing, backward-shift deletion) from a
 * NUL-terminated string to a non-NULL pointer; O(1) lookup, insertion and removal. The
 * engine's cluster mirror takes watch events for 100,000 jobs through these; the agent keeps
 * its per-machine sets (schedule, global units, metadata, unit contents, unit records) and the
 * state publisher's entries in them. Pure.
 *
 * Keys are BORROWED by default: the caller keeps each key alive while it is in the map,
 * typically by pointing it into the value it maps to (what the engine does, to save a copy
 * per entry). A map initialized with own_keys set ({.own_keys = true}) copies each key it
 * inserts and frees the copies itself. Values are never freed by the map.
 *
 * Iteration is in no particular order (the order of the slots, which depends on the keys and
 * on the order of insertions); it is deterministic for the same sequence of operations. Users
 * that need an order sort (the agent's reconcile core and the engine's snapshot do).
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct StrMap {
        const char **keys; /* NULL = empty slot */
        void **values;
        uint64_t *hashes;
        size_t n, capacity; /* capacity is 0 or a power of two */
        bool own_keys;      /* set before the first insertion; kept by strmap_done() */
} StrMap;

/* Iteration state: zero-initialize it (StrMapIter i = {}) before the first strmap_next(). */
typedef struct StrMapIter {
        size_t slot;    /* next slot to look at */
        size_t left;    /* slots not looked at yet */
        size_t current; /* slot of the entry strmap_next() returned last */
        bool started;
} StrMapIter;

/* The value for key, or NULL if absent. */
void *strmap_get(const StrMap *m, const char *key);

/*
 * Map key to value (non-NULL). If the key was present its previous value is stored in
 * *ret_old (NULL if it was absent; ret_old may be NULL), and a borrowed key pointer is
 * replaced by key (an owned copy is kept). 0, or -ENOMEM (the map is unchanged).
 */
int strmap_put(StrMap *m, const char *key, void *value, void **ret_old);

/* Map key to a malloc'd copy of the string value, freeing the value it replaces (a map whose
 * values are all such strings). 0, or -ENOMEM (the map is unchanged). */
int strmap_put_strdup(StrMap *m, const char *key, const char *value);

/* Remove key; its value, or NULL if it was absent. An owned copy of the key is freed. */
void *strmap_remove(StrMap *m, const char *key);

size_t strmap_size(const StrMap *m);

/*
 * Iterate: StrMapIter i = {}; while (strmap_next(m, &i, &key, &value)) ... . key and value
 * may be NULL. Every entry is returned once. The map must not be modified during the
 * iteration, except with strmap_remove_current().
 */
bool strmap_next(const StrMap *m, StrMapIter *i, const char **ret_key, void **ret_value);

/*
 * Remove the entry strmap_next() returned last and return its value; the iteration goes on
 * with the entries not returned yet (each still returned once). The key that strmap_next()
 * handed out is freed if the map owns it.
 */
void *strmap_remove_current(StrMap *m, StrMapIter *i);

/* Free the map's arrays and owned keys (not borrowed keys, nor the values) and make it empty;
 * own_keys stays as it was, so the map can be used again. */
void strmap_done(StrMap *m);
/* strmap_done(), after free() of every value. */
void strmap_done_free(StrMap *m);
