/* SPDX-License-Identifier: MIT */
/* The registry's in-memory copy: sorted per-kind entry arrays and a bounded change history. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "registry-cache.h"

typedef struct Kind {
        RegistryEntry *entries;
        size_t n, allocated;
} Kind;

struct RegistryCache {
        Kind kinds[_REGISTRY_KEY_KIND_MAX];
        int64_t revision;
        bool valid;
        /* changes in revision order; at most 2 * REGISTRY_CACHE_HISTORY, trimmed by halves so
         * that the remembered ones stay contiguous */
        RegistryCacheChange *history;
        size_t n_history;
        int64_t history_from; /* every change after this revision is remembered */
};

static int cmp_str(const char *a, const char *b) {
        return strcmp(a ?: "", b ?: "");
}

static int cmp_parts(const RegistryKey *k, const char *name, const char *machine_id) {
        int r = cmp_str(k->name, name);

        return r != 0 ? r : cmp_str(k->machine_id, machine_id);
}

static int cmp_entries(const void *a, const void *b) {
        const RegistryEntry *x = a, *y = b;

        return cmp_parts(&x->key, y->key.name, y->key.machine_id);
}

/* Index of the entry with these parts, or of where it would go (*ret_found false). */
static size_t kind_find(const Kind *k, const char *name, const char *machine_id, bool *ret_found) {
        size_t lo = 0, hi = k->n;

        while (lo < hi) {
                size_t mid = lo + (hi - lo) / 2;
                int r = cmp_parts(&k->entries[mid].key, name, machine_id);

                if (r == 0) {
                        *ret_found = true;
                        return mid;
                }
                if (r < 0)
                        lo = mid + 1;
                else
                        hi = mid;
        }
        *ret_found = false;
        return lo;
}

static void kind_clear(Kind *k) {
        for (size_t i = 0; i < k->n; i++)
                registry_entry_done(&k->entries[i]);
        k->n = 0;
}

static int dup_or_null(const char *s, char **ret) {
        char *d = NULL;

        if (s) {
                d = strdup(s);
                if (!d)
                        return -ENOMEM;
        }
        *ret = d;
        return 0;
}

static int key_copy(const RegistryKey *src, RegistryKey *ret) {
        RegistryKey k = {.kind = src->kind};

        if (dup_or_null(src->name, &k.name) < 0 ||
            dup_or_null(src->machine_id, &k.machine_id) < 0) {
                registry_key_done(&k);
                return -ENOMEM;
        }
        *ret = k;
        return 0;
}

static int value_copy(const RegistryEntry *src, RegistryEntry *e) {
        switch (src->key.kind) {
        case REGISTRY_KEY_UNIT:
                return dup_or_null(src->unit_text, &e->unit_text);
        case REGISTRY_KEY_METADATA:
                return dup_or_null(src->metadata_value, &e->metadata_value);
        case REGISTRY_KEY_JOB:
                return registry_job_copy(&src->job, &e->job);
        case REGISTRY_KEY_GLOBAL:
        case REGISTRY_KEY_SCHEDULE:
                e->target = src->target;
                return 0;
        case REGISTRY_KEY_MACHINE:
                return registry_machine_copy(&src->machine, &e->machine);
        case REGISTRY_KEY_STATE:
                return registry_unit_state_copy(&src->state, &e->state);
        case REGISTRY_KEY_ENGINE_LEADER: {
                RegistryLeader l = {};

                if (dup_or_null(src->leader.machine_id, &l.machine_id) < 0 ||
                    dup_or_null(src->leader.version, &l.version) < 0) {
                        registry_leader_done(&l);
                        return -ENOMEM;
                }
                e->leader = l;
                return 0;
        }
        case REGISTRY_KEY_REASON:
                e->reason.job_revision = src->reason.job_revision;
                return dup_or_null(src->reason.reason, &e->reason.reason);
        case REGISTRY_KEY_CORDON:
                e->cordon = src->cordon;
                return 0;
        case REGISTRY_KEY_PIN:
                e->pin = src->pin;
                return 0;
        default:
                return -EINVAL;
        }
}

/* Deep copy of an entry with a value. */
static int entry_copy(const RegistryEntry *src, RegistryEntry *ret) {
        RegistryEntry e = {
                .create_revision = src->create_revision,
                .mod_revision = src->mod_revision,
                .version = src->version,
                .lease = src->lease,
        };
        int r;

        r = key_copy(&src->key, &e.key);
        if (r < 0)
                return r;
        r = value_copy(src, &e);
        if (r < 0) {
                registry_key_done(&e.key);
                return r;
        }
        e.has_value = true;
        *ret = e;
        return 0;
}

static bool kind_is_valid(RegistryKeyKind kind) {
        return kind >= 0 && kind < _REGISTRY_KEY_KIND_MAX;
}

/* Insert or replace src. 1 if inserted or replaced. */
static int cache_put(RegistryCache *c, const RegistryEntry *src) {
        RegistryEntry e;
        Kind *k;
        bool found;
        size_t i;
        int r;

        if (!kind_is_valid(src->key.kind) || !src->has_value)
                return 0;
        k = &c->kinds[src->key.kind];
        i = kind_find(k, src->key.name, src->key.machine_id, &found);
        if (!found && k->n == k->allocated) {
                size_t n = MAX(k->allocated * 2, (size_t) 16);
                RegistryEntry *a = reallocarray(k->entries, n, sizeof(*a));

                if (!a)
                        return -ENOMEM;
                k->entries = a;
                k->allocated = n;
        }
        r = entry_copy(src, &e);
        if (r < 0)
                return r;
        if (found)
                registry_entry_done(&k->entries[i]);
        else {
                memmove(k->entries + i + 1, k->entries + i, (k->n - i) * sizeof(*k->entries));
                k->n++;
        }
        k->entries[i] = e;
        return 1;
}

/* Remove the entry with key's parts. 1 if it was there. */
static int cache_delete(RegistryCache *c, const RegistryKey *key) {
        Kind *k;
        bool found;
        size_t i;

        if (!kind_is_valid(key->kind))
                return 0;
        k = &c->kinds[key->kind];
        i = kind_find(k, key->name, key->machine_id, &found);
        if (!found)
                return 0;
        registry_entry_done(&k->entries[i]);
        memmove(k->entries + i, k->entries + i + 1, (k->n - i - 1) * sizeof(*k->entries));
        k->n--;
        return 1;
}

static void history_clear(RegistryCache *c, int64_t from) {
        for (size_t i = 0; i < c->n_history; i++)
                registry_key_done(&c->history[i].key);
        c->n_history = 0;
        c->history_from = from;
}

static int history_add(RegistryCache *c, int64_t revision, RegistryEventType type,
                       const RegistryKey *key) {
        RegistryCacheChange *h = &c->history[c->n_history];
        int r;

        if (c->n_history == 2 * REGISTRY_CACHE_HISTORY) {
                /* forget the older half: what was before the first kept change is lost */
                for (size_t i = 0; i < REGISTRY_CACHE_HISTORY; i++)
                        registry_key_done(&c->history[i].key);
                c->history_from = c->history[REGISTRY_CACHE_HISTORY - 1].revision;
                memmove(c->history, c->history + REGISTRY_CACHE_HISTORY,
                        REGISTRY_CACHE_HISTORY * sizeof(*c->history));
                c->n_history = REGISTRY_CACHE_HISTORY;
                h = &c->history[c->n_history];
        }
        r = key_copy(key, &h->key);
        if (r < 0)
                return r;
        h->revision = revision;
        h->type = type;
        c->n_history++;
        return 0;
}

static int apply_resync(RegistryCache *c, const RegistryWatchUpdate *u) {
        for (size_t i = 0; i < _REGISTRY_KEY_KIND_MAX; i++)
                kind_clear(&c->kinds[i]);
        history_clear(c, u->revision);
        /* listings arrive sorted by etcd key, which is not (name, machine_id) order for
         * schedule/<machine>/<name>: append, then sort each kind once */
        for (size_t i = 0; i < u->n_entries; i++) {
                const RegistryEntry *src = &u->entries[i];
                Kind *k;
                int r;

                if (!kind_is_valid(src->key.kind) || !src->has_value)
                        continue;
                k = &c->kinds[src->key.kind];
                if (k->n == k->allocated) {
                        size_t n = MAX(k->allocated * 2, (size_t) 16);
                        RegistryEntry *a = reallocarray(k->entries, n, sizeof(*a));

                        if (!a)
                                return -ENOMEM;
                        k->entries = a;
                        k->allocated = n;
                }
                r = entry_copy(src, &k->entries[k->n]);
                if (r < 0)
                        return r;
                k->n++;
        }
        for (size_t i = 0; i < _REGISTRY_KEY_KIND_MAX; i++) {
                Kind *k = &c->kinds[i];

                if (k->n > 1)
                        qsort(k->entries, k->n, sizeof(*k->entries), cmp_entries);
        }
        return 1;
}

int registry_cache_apply(RegistryCache *c, const RegistryWatchUpdate *u) {
        int n = 0;

        if (u->resync) {
                int r = apply_resync(c, u);

                if (r < 0) {
                        registry_cache_reset(c);
                        return r;
                }
                c->valid = true;
                c->revision = u->revision;
                return r;
        }
        for (size_t i = 0; i < u->n_events; i++) {
                const RegistryEvent *ev = &u->events[i];
                int r;

                if (ev->type == REGISTRY_EVENT_PUT && ev->entry.has_value)
                        r = cache_put(c, &ev->entry);
                else
                        r = cache_delete(c, &ev->entry.key);
                if (r > 0) {
                        r = history_add(c, ev->entry.mod_revision, ev->type, &ev->entry.key);
                        n++;
                }
                if (r < 0) {
                        c->valid = false;
                        return r;
                }
        }
        if (u->revision > c->revision)
                c->revision = u->revision;
        return n;
}

void registry_cache_reset(RegistryCache *c) {
        for (size_t i = 0; i < _REGISTRY_KEY_KIND_MAX; i++)
                kind_clear(&c->kinds[i]);
        history_clear(c, 0);
        c->revision = 0;
        c->valid = false;
}

bool registry_cache_is_valid(const RegistryCache *c) {
        return c->valid;
}

int64_t registry_cache_get_revision(const RegistryCache *c) {
        return c->revision;
}

const RegistryEntry *registry_cache_list(const RegistryCache *c, RegistryKeyKind kind,
                                         size_t *ret_n) {
        if (!kind_is_valid(kind)) {
                *ret_n = 0;
                return NULL;
        }
        *ret_n = c->kinds[kind].n;
        return c->kinds[kind].entries;
}

const RegistryEntry *registry_cache_get(const RegistryCache *c, RegistryKeyKind kind,
                                        const char *name, const char *machine_id) {
        bool found;
        size_t i;

        if (!kind_is_valid(kind))
                return NULL;
        i = kind_find(&c->kinds[kind], name, machine_id, &found);
        return found ? &c->kinds[kind].entries[i] : NULL;
}

int registry_cache_changes_since(const RegistryCache *c, int64_t since,
                                 const RegistryCacheChange **ret_first, size_t *ret_n) {
        size_t i = c->n_history;

        if (!c->valid || since < c->history_from)
                return -ERANGE;
        while (i > 0 && c->history[i - 1].revision > since)
                i--;
        *ret_first = c->history + i;
        *ret_n = c->n_history - i;
        return 0;
}

int registry_cache_new(RegistryCache **ret) {
        RegistryCache *c = calloc(1, sizeof(*c));

        if (!c)
                return -ENOMEM;
        c->history = calloc(2 * REGISTRY_CACHE_HISTORY, sizeof(*c->history));
        if (!c->history) {
                free(c);
                return -ENOMEM;
        }
        *ret = c;
        return 0;
}

RegistryCache *registry_cache_free(RegistryCache *c) {
        if (!c)
                return NULL;
        registry_cache_reset(c);
        for (size_t i = 0; i < _REGISTRY_KEY_KIND_MAX; i++)
                free(c->kinds[i].entries);
        free(c->history);
        free(c);
        return NULL;
}
