/* SPDX-License-Identifier: MIT */
#include <stdlib.h>

#include "macro.h"
#include "scheduler-map.h"

/* splitmix64's finalizer: cheap and spreads (machine << 32 | group) keys well. */
static uint64_t hash64(uint64_t x) {
        x ^= x >> 30;
        x *= UINT64_C(0xbf58476d1ce4e5b9);
        x ^= x >> 27;
        x *= UINT64_C(0x94d049bb133111eb);
        x ^= x >> 31;
        return x;
}

static size_t find_slot(const uint64_t *keys, size_t capacity, uint64_t key) {
        size_t i = hash64(key) & (capacity - 1);

        while (keys[i] != key && keys[i] != COUNT_MAP_KEY_EMPTY)
                i = (i + 1) & (capacity - 1);
        return i;
}

static int resize(CountMap *m, size_t capacity) {
        uint64_t *keys = malloc(capacity * sizeof(uint64_t));
        GroupCount *values = malloc(capacity * sizeof(GroupCount));

        if (!keys || !values) {
                free(keys);
                free(values);
                return -ENOMEM;
        }
        for (size_t i = 0; i < capacity; i++)
                keys[i] = COUNT_MAP_KEY_EMPTY;
        for (size_t i = 0; i < m->capacity; i++) {
                size_t j;

                if (m->keys[i] == COUNT_MAP_KEY_EMPTY)
                        continue;
                j = find_slot(keys, capacity, m->keys[i]);
                keys[j] = m->keys[i];
                values[j] = m->values[i];
        }
        free(m->keys);
        free(m->values);
        m->keys = keys;
        m->values = values;
        m->capacity = capacity;
        return 0;
}

int count_map_get_or_add(CountMap *m, uint64_t key, GroupCount **ret) {
        size_t i;
        int r;

        assert(m);
        assert(key != COUNT_MAP_KEY_EMPTY);
        /* Keep the load factor at most 1/2. */
        if ((m->n + 1) * 2 > m->capacity) {
                r = resize(m, MAX(m->capacity * 2, (size_t) 64));
                if (r < 0)
                        return r;
        }
        i = find_slot(m->keys, m->capacity, key);
        if (m->keys[i] == COUNT_MAP_KEY_EMPTY) {
                m->keys[i] = key;
                m->values[i] = (GroupCount){};
                m->n++;
        }
        *ret = &m->values[i];
        return 0;
}

const GroupCount *count_map_get(const CountMap *m, uint64_t key) {
        size_t i;

        assert(m);
        if (m->capacity == 0)
                return NULL;
        i = find_slot(m->keys, m->capacity, key);
        return m->keys[i] == key ? &m->values[i] : NULL;
}

void count_map_done(CountMap *m) {
        if (!m)
                return;
        free(m->keys);
        free(m->values);
        *m = (CountMap){};
}
