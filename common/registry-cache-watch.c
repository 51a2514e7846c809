/* SPDX-License-Identifier: MIT */
/* One resyncing registry watch feeding a RegistryCache. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "registry-cache-watch.h"

struct RegistryCacheWatch {
        RegistryCache *cache;
        RegistryWatch *watch;
        registry_cache_changed_t changed;
        void *userdata;
};

static void on_update(RegistryWatch *rw, int error, const RegistryWatchUpdate *u, void *userdata) {
        RegistryCacheWatch *w = userdata;
        int r;

        if (error < 0) {
                log_debug("registry cache: watch stopped: %s", strerror(-error));
                if (w->changed)
                        w->changed(w, error, NULL, w->userdata);
                return;
        }
        r = registry_cache_apply(w->cache, u);
        if (r < 0) {
                /* partly applied: start over from a fresh listing */
                log_debug("registry cache: cannot apply an update: %s", strerror(-r));
                registry_cache_reset(w->cache);
                (void) registry_watch_restart(rw, 0);
                if (w->changed)
                        w->changed(w, r, NULL, w->userdata);
                return;
        }
        if (w->changed)
                w->changed(w, 0, u, w->userdata);
}

int registry_cache_watch_new(Registry *r, registry_cache_changed_t changed, void *userdata,
                             RegistryCacheWatch **ret) {
        const RegistryWatchOptions opts = {.resync = true};
        RegistryCacheWatch *w = calloc(1, sizeof(*w));
        int k;

        if (!w)
                return -ENOMEM;
        w->changed = changed;
        w->userdata = userdata;
        k = registry_cache_new(&w->cache);
        if (k >= 0)
                k = registry_watch_new(r, _REGISTRY_KEY_KIND_INVALID, NULL, &opts, on_update, w,
                                       &w->watch);
        if (k < 0) {
                registry_cache_watch_free(w);
                return k;
        }
        *ret = w;
        return 0;
}

RegistryCacheWatch *registry_cache_watch_free(RegistryCacheWatch *w) {
        if (!w)
                return NULL;
        registry_watch_free(w->watch);
        registry_cache_free(w->cache);
        free(w);
        return NULL;
}

const RegistryCache *registry_cache_watch_get_cache(const RegistryCacheWatch *w) {
        return w->cache;
}

bool registry_cache_watch_is_live(const RegistryCacheWatch *w) {
        return registry_watch_is_live(w->watch);
}
