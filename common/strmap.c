/* SPDX-License-Identifier: MIT */
#include <stdlib.h>
#include <string.h>

#include "macro.h"
#include "strmap.h"

/* FNV-1a, 64 bit: keys are unit names, hashes and machine IDs, not adversarial input worth
 * SipHash (they are written by authenticated API clients and agents). */
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

/* Slot holding key, or SIZE_MAX. */
static size_t lookup(const StrMap *m, const char *key) {
        size_t i;

        assert(m);
        assert(key);
        if (m->n == 0)
                return SIZE_MAX;
        i = find_slot(m, key, hash_string(key));
        return m->keys[i] ? i : SIZE_MAX;
}

void *strmap_get(const StrMap *m, const char *key) {
        size_t i = lookup(m, key);

        return i != SIZE_MAX ? m->values[i] : NULL;
}

static void free_arrays(StrMap *m) {
        free(m->keys);
        free(m->values);
        free(m->hashes);
        *m = (StrMap){.own_keys = m->own_keys};
}

static int resize(StrMap *m, size_t capacity) {
        StrMap new = {.capacity = capacity, .own_keys = m->own_keys};

        new.keys = calloc(capacity, sizeof(*new.keys));
        new.values = calloc(capacity, sizeof(*new.values));
        new.hashes = calloc(capacity, sizeof(*new.hashes));
        if (!new.keys || !new.values || !new.hashes) {
                free_arrays(&new);
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
        free_arrays(m);
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
        if (m->keys[i]) {
                if (ret_old)
                        *ret_old = m->values[i];
                if (!m->own_keys)
                        m->keys[i] = key;
                m->values[i] = value;
                return 0;
        }
        if (m->own_keys) {
                key = strdup(key);
                if (!key)
                        return -ENOMEM;
        }
        if (ret_old)
                *ret_old = NULL;
        m->keys[i] = key;
        m->values[i] = value;
        m->hashes[i] = h;
        m->n++;
        return 0;
}

/* Whether the home slot `home` lies cyclically in (hole, j]: then the entry at j must stay. */
static bool stays(size_t home, size_t hole, size_t j) {
        if (hole <= j)
                return home > hole && home <= j;
        return home > hole || home <= j;
}

/* Empty the occupied slot `hole` and return its value. Backward-shift the entries of its probe
 * run so that no tombstones are needed: only entries after the hole, up to the next empty
 * slot, move, and each moves to an earlier slot of that stretch. */
static void *remove_slot(StrMap *m, size_t hole) {
        size_t mask = m->capacity - 1;
        void *value = m->values[hole];

        if (m->own_keys)
                free((char *) m->keys[hole]);
        m->keys[hole] = NULL;
        m->n--;
        for (size_t i = (hole + 1) & mask; m->keys[i]; i = (i + 1) & mask) {
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

void *strmap_remove(StrMap *m, const char *key) {
        size_t i = lookup(m, key);

        return i != SIZE_MAX ? remove_slot(m, i) : NULL;
}

size_t strmap_size(const StrMap *m) {
        return m ? m->n : 0;
}

bool strmap_next(const StrMap *m, StrMapIter *i, const char **ret_key, void **ret_value) {
        size_t mask;

        assert(m);
        assert(i);
        if (!i->started) {
                *i = (StrMapIter){.started = true};
                if (m->n == 0)
                        return false;
                /* Start at an empty slot (the load factor is at most 1/2, so one is near): no
                 * probe run crosses it, so strmap_remove_current() only ever moves entries that
                 * are still ahead of the iteration. */
                while (m->keys[i->slot])
                        i->slot++;
                i->left = m->capacity;
        }
        /* Locals: the stores through ret_key and ret_value could alias *i otherwise. */
        mask = m->capacity - 1;
        for (size_t slot = i->slot, left = i->left; left > 0; left--) {
                size_t s = slot;

                slot = (slot + 1) & mask;
                if (!m->keys[s])
                        continue;
                *i = (StrMapIter){.slot = slot, .left = left - 1, .current = s, .started = true};
                if (ret_key)
                        *ret_key = m->keys[s];
                if (ret_value)
                        *ret_value = m->values[s];
                return true;
        }
        i->left = 0;
        return false;
}

void *strmap_remove_current(StrMap *m, StrMapIter *i) {
        size_t s;

        assert(m);
        assert(i);
        s = i->current;
        assert(i->started && s < m->capacity && m->keys[s]);
        /* An entry from further on may move into the emptied slot: look at it again. */
        i->slot = s;
        i->left++;
        i->current = SIZE_MAX; /* once per strmap_next() */
        return remove_slot(m, s);
}

int strmap_put_strdup(StrMap *m, const char *key, const char *value) {
        char *v = strdup(value), *old = NULL;
        int r;

        if (!v)
                return -ENOMEM;
        r = strmap_put(m, key, v, (void **) &old);
        if (r < 0) {
                free(v);
                return r;
        }
        free(old);
        return 0;
}

void strmap_done_free(StrMap *m) {
        StrMapIter i = {};
        void *v;

        if (!m)
                return;
        while (strmap_next(m, &i, NULL, &v))
                free(v);
        strmap_done(m);
}

void strmap_done(StrMap *m) {
        if (!m)
                return;
        if (m->own_keys)
                for (size_t i = 0; i < m->capacity; i++)
                        free((char *) m->keys[i]);
        free_arrays(m);
}
