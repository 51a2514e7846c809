/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * The I/O half of registry-cache.h: ONE resyncing watch on the whole registry prefix keeps a
 * RegistryCache current (list, then watch from the listing's revision, re-list after a
 * compaction; registry.h). Each applied update is then reported to the change callback, with
 * the update itself (borrowed), so that readers can derive what changed.
 */

#include "macro.h"
#include "registry-cache.h"
#include "registry.h"

typedef struct RegistryCacheWatch RegistryCacheWatch;

/*
 * Called after each update was applied (u borrowed, the cache current with u->revision), or
 * with error < 0 and u NULL when the watch stopped (-EACCES/-EPERM) or an update could not be
 * applied (-ENOMEM: a re-list is already under way).
 */
typedef void (*registry_cache_changed_t)(RegistryCacheWatch *w, int error,
                                         const RegistryWatchUpdate *u, void *userdata);

/* Start watching registry r (borrowed: it must outlive the watch) into a new cache. changed may
 * be NULL. 0, -ENOMEM. */
int registry_cache_watch_new(Registry *r, registry_cache_changed_t changed, void *userdata,
                             RegistryCacheWatch **ret);
RegistryCacheWatch *registry_cache_watch_free(RegistryCacheWatch *w);
DEFINE_CLEANUP(RegistryCacheWatch *, registry_cache_watch_free);

/* The cache (borrowed, owned by w). */
const RegistryCache *registry_cache_watch_get_cache(const RegistryCacheWatch *w);

/* Whether the watch is live (registry_watch_is_live()): the cache follows etcd as it changes.
 * False while etcd cannot be reached, even though the cache keeps its last state. */
bool registry_cache_watch_is_live(const RegistryCacheWatch *w);
