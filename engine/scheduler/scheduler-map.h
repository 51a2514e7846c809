/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * CountMap: an open-addressing hash map from a 64-bit key to a pair of counters, used by the
 * scheduler to count, per (machine, pattern group), how many units on the machine hold the
 * pattern and how many have a name the pattern matches. Entries are never removed (a count
 * that drops to zero stays as a zero entry). Pure, internal to the scheduler.
 */

#include <stddef.h>
#include <stdint.h>

#define COUNT_MAP_KEY_EMPTY UINT64_MAX /* reserved, never a valid key */

typedef struct GroupCount {
        uint32_t hold;  /* units holding the pattern */
        uint32_t match; /* units whose name the pattern matches */
} GroupCount;

typedef struct CountMap {
        uint64_t *keys;
        GroupCount *values;
        size_t n, capacity; /* capacity is 0 or a power of two */
} CountMap;

/* The counters for key, created as zeros when absent (*ret stays valid until the next
 * insertion). 0 or -ENOMEM. */
int count_map_get_or_add(CountMap *m, uint64_t key, GroupCount **ret);
/* The counters for key, or NULL if absent. */
const GroupCount *count_map_get(const CountMap *m, uint64_t key);
void count_map_done(CountMap *m);
