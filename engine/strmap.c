/* SPDX-License-Identifier: MIT */
#include <stdlib.h>
#include <string.h>

#include "macro.h"
#include "strmap.h"

/* FNV-1a, 64 bit: keys are unit names and machine IDs, not adversarial input worth SipHash
 * (they are written by authenticated API clients and agents). */
static uint64_t hash_string(const char *s) {
        uint64_t h = UINT64_C(14695981039346656037);

        for (; *s; s++) {
                h ^= (unsigned char) *s;
                h *= UINT64_C(1099511628211);
        }
        return h;
}

/* Slot of key, or the empty slot where it would go. */
static size_t find_slot(const StrMap *m, const char *key, uint64_t h) {
        size_t mask = m->capacity - 1;

        for (size_t i = h & mask;; i = (i + 1) & mask)
                if (!m->keys[i] || (m->hashes[i] == h && streq(m->keys[i], key)))
                        return i;
}

void *strmap_get(const StrMap *m, const char *key) {
        size_t i;

        assert(m);
        assert(key);
        if (m->n == 0)
                return NULL;
        i = find_slot(m, key, hash_string(key));
        return m->keys[i] ? m->values[i] : NULL;
}

static int resize(StrMap *m, size_t capacity) {
        StrMap new = {.capacity = capacity};

        new.keys = calloc(capacity, sizeof(*new.keys));
        new.values = calloc(capacity, sizeof(*new.values));
        new.hashes = calloc(capacity, sizeof(*new.hashes));
        if (!new.keys || !new.values || !new.hashes) {
                strmap_done(&new);
                return -ENOMEM;
        }
        for (size_t i = 0; i < m->capacity; i++) {
                size_t j;

                if (!m->keys[i])
                        continue;
                j = find_slot(&new, m->keys[i], m->hashes[i]);
                new.keys[j] = m->keys[i];
                new.values[j] = m->values[i];
                new.hashes[j] = m->hashes[i];
        }
        new.n = m->n;
        strmap_done(m);
        *m = new;
        return 0;
}

int strmap_put(StrMap *m, const char *key, void *value, void **ret_old) {
        uint64_t h;
        size_t i;
        int r;

        assert(m);
        assert(key);
        assert(value);
        /* Keep the load factor at most 1/2. */
        if ((m->n + 1) * 2 > m->capacity) {
                r = resize(m, MAX(m->capacity * 2, (size_t) 16));
                if (r < 0)
                        return r;
        }
        h = hash_string(key);
        i = find_slot(m, key, h);
        if (ret_old)
                *ret_old = m->keys[i] ? m->values[i] : NULL;
        if (!m->keys[i])
                m->n++;
        m->keys[i] = key;
        m->values[i] = value;
        m->hashes[i] = h;
        return 0;
}

/* Whether the home slot `home` lies cyclically in (hole, j]: then the entry at j must stay. */
static bool stays(size_t home, size_t hole, size_t j) {
        if (hole <= j)
                return home > hole && home <= j;
        return home > hole || home <= j;
}

void *strmap_remove(StrMap *m, const char *key) {
        size_t mask, hole, i;
        void *value;

        assert(m);
        assert(key);
        if (m->n == 0)
                return NULL;
        mask = m->capacity - 1;
        hole = find_slot(m, key, hash_string(key));
        if (!m->keys[hole])
                return NULL;
        value = m->values[hole];
        m->keys[hole] = NULL;
        m->n--;
        /* Backward-shift the entries of the probe run so that no tombstones are needed. */
        for (i = (hole + 1) & mask; m->keys[i]; i = (i + 1) & mask) {
                if (stays(m->hashes[i] & mask, hole, i))
                        continue;
                m->keys[hole] = m->keys[i];
                m->values[hole] = m->values[i];
                m->hashes[hole] = m->hashes[i];
                m->keys[i] = NULL;
                hole = i;
        }
        return value;
}

size_t strmap_size(const StrMap *m) {
        return m ? m->n : 0;
}

bool strmap_next(const StrMap *m, size_t *i, const char **ret_key, void **ret_value) {
        assert(m);
        assert(i);
        for (; *i < m->capacity; (*i)++)
                if (m->keys[*i]) {
                        if (ret_key)
                                *ret_key = m->keys[*i];
                        if (ret_value)
                                *ret_value = m->values[*i];
                        (*i)++;
                        return true;
                }
        return false;
}

void strmap_done(StrMap *m) {
        if (!m)
                return;
        free(m->keys);
        free(m->values);
        free(m->hashes);
        *m = (StrMap){};
}
