/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * PURE in-memory copy of the registry, kept current by applying registry watch updates
 * (registry.h's RegistryWatchUpdate: a resync replaces everything, events change one key each).
 * The anchor is Kubernetes' API-server watch cache: one etcd watch per process feeds it, and
 * readers (the web view, later GET /fleet/v1/units) read the copy instead of etcd. The watch
 * itself is registry-cache-watch.h; this half does no I/O and is unit-tested.
 *
 * Entries are kept per key kind, each kind in one contiguous array sorted by (name,
 * machine_id), so that a kind can be handed as a whole to code that takes entry arrays
 * (api-model.h's api_index_add). Entries whose value did not decode are not kept.
 *
 * A bounded history of the most recent changes (key and revision) lets a reader that is up to
 * date with revision R ask what changed since: registry_cache_changes_since().
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "macro.h"
#include "registry.h"

/* How many changes registry_cache_changes_since() can look back. */
#define REGISTRY_CACHE_HISTORY 1024

typedef struct RegistryCache RegistryCache;

/* One remembered change: the key (kind, name, machine_id as in RegistryKey) at revision. */
typedef struct RegistryCacheChange {
        int64_t revision;
        RegistryEventType type; /* PUT or DELETE */
        RegistryKey key;
} RegistryCacheChange;

/* An empty cache at revision 0. 0 or -ENOMEM. */
int registry_cache_new(RegistryCache **ret);
RegistryCache *registry_cache_free(RegistryCache *c);
DEFINE_CLEANUP(RegistryCache *, registry_cache_free);

/*
 * Apply one watch update (borrowed; values are copied). A resync replaces every entry and
 * clears the history; events are applied in order (PUT inserts or replaces, DELETE removes);
 * the cache's revision becomes u->revision. Returns the number of entries changed (a resync
 * counts as 1), or -ENOMEM: then the cache is left partly updated and must be resynced
 * (registry_cache_reset() and a new listing); registry_cache_is_valid() says so.
 */
int registry_cache_apply(RegistryCache *c, const RegistryWatchUpdate *u);

/* Drop everything and go back to revision 0, invalid until the next resync. */
void registry_cache_reset(RegistryCache *c);

/* False before the first resync and after a failed apply or a reset. */
bool registry_cache_is_valid(const RegistryCache *c);

/* The revision the cache is current with (0 before the first resync). */
int64_t registry_cache_get_revision(const RegistryCache *c);

/* Every entry of kind (borrowed until the next apply), sorted by (name, machine_id). */
const RegistryEntry *registry_cache_list(const RegistryCache *c, RegistryKeyKind kind,
                                         size_t *ret_n);

/* The entry of kind with these key parts (NULL where the kind has none), or NULL. Borrowed. */
const RegistryEntry *registry_cache_get(const RegistryCache *c, RegistryKeyKind kind,
                                        const char *name, const char *machine_id);

/*
 * The changes after revision since, oldest first (borrowed until the next apply): 0 and
 * *ret_first and *ret_n (n may be 0). -ERANGE when they are no longer all remembered (since is
 * older than the history, or a resync happened after it): list the whole cache instead.
 */
int registry_cache_changes_since(const RegistryCache *c, int64_t since,
                                 const RegistryCacheChange **ret_first, size_t *ret_n);
