/* SPDX-License-Identifier: MIT */
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#include "name-map.h"

void name_map_done(NameMap *m) {
        for (size_t i = 0; i < m->n; i++)
                free(m->keys[i]);
        free(m->keys);
        free(m->values);
        *m = (NameMap){};
}

/* Binary search: index of key if found (*ret_found true), else the insertion point. */
static size_t lookup(const NameMap *m, const char *key, bool *ret_found) {
        size_t lo = 0, hi = m->n;

        while (lo < hi) {
                size_t mid = lo + (hi - lo) / 2;
                int c = strcmp(m->keys[mid], key);

                if (c == 0) {
                        *ret_found = true;
                        return mid;
                }
                if (c < 0)
                        lo = mid + 1;
                else
                        hi = mid;
        }
        *ret_found = false;
        return lo;
}

ssize_t name_map_find(const NameMap *m, const char *key) {
        bool found;
        size_t i = lookup(m, key, &found);

        return found ? (ssize_t) i : -ENOENT;
}

void *name_map_get(const NameMap *m, const char *key) {
        ssize_t i = name_map_find(m, key);

        return i >= 0 ? m->values[i] : NULL;
}

static int grow(NameMap *m) {
        size_t a;
        char **k;
        void **v;

        if (m->n < m->allocated)
                return 0;
        a = m->allocated ? m->allocated * 2 : 8;
        k = realloc(m->keys, a * sizeof(char *));
        if (!k)
                return -ENOMEM;
        m->keys = k;
        v = realloc(m->values, a * sizeof(void *));
        if (!v)
                return -ENOMEM;
        m->values = v;
        m->allocated = a;
        return 0;
}

int name_map_put(NameMap *m, const char *key, void *value, void **ret_old) {
        bool found;
        size_t i = lookup(m, key, &found);
        char *k;

        if (found) {
                if (ret_old)
                        *ret_old = m->values[i];
                m->values[i] = value;
                return 0;
        }
        if (grow(m) < 0)
                return -ENOMEM;
        k = strdup(key);
        if (!k)
                return -ENOMEM;
        memmove(m->keys + i + 1, m->keys + i, (m->n - i) * sizeof(char *));
        memmove(m->values + i + 1, m->values + i, (m->n - i) * sizeof(void *));
        m->keys[i] = k;
        m->values[i] = value;
        m->n++;
        if (ret_old)
                *ret_old = NULL;
        return 1;
}

void *name_map_remove_at(NameMap *m, size_t i) {
        void *v;

        assert(i < m->n);
        v = m->values[i];
        free(m->keys[i]);
        memmove(m->keys + i, m->keys + i + 1, (m->n - i - 1) * sizeof(char *));
        memmove(m->values + i, m->values + i + 1, (m->n - i - 1) * sizeof(void *));
        m->n--;
        return v;
}

void *name_map_remove(NameMap *m, const char *key) {
        ssize_t i = name_map_find(m, key);

        return i >= 0 ? name_map_remove_at(m, i) : NULL;
}
