/* SPDX-License-Identifier: MIT */
/* The discovery document (reference 9.9), /metrics and fleet-c's etcd health answer. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api-discovery.h"
#include "api-internal.h"
#include "log.h"
#include "quorum.h"

void api_route_discovery(ApiCtx *c) {
        api_ctx_reply(c, 200, "application/json", api_discovery_json, strlen(api_discovery_json),
                      NULL);
}

static void metrics_reply(ApiCtx *c, const ApiIndex *x) {
        Api *a = c->api;
        ApiMetrics m = {
                .registry_ok = x != NULL,
                .machines = x ? x->n_machines : 0,
                .etcd = etcd_client_get_stats(registry_get_client(a->registry)),
                .api_requests = a->status_counts,
                .api_pending = a->n_pending - 1, /* not this scrape */
                .reads_memory = a->reads_cached,
                .reads_etcd = a->reads_etcd,
                .answers_reused = api_cache_render(a->cache)->hits,
                .answers_built = api_cache_render(a->cache)->misses,
        };
        _cleanup_free_ char *text = NULL;
        size_t len = 0;
        FILE *f;

        if (x)
                api_index_count_units(x, &m.units);
        for (int t = 0; t < _ETCD_REQUEST_TYPE_MAX; t++)
                m.etcd_op_names[t] = etcd_request_type_to_string(t);
        f = open_memstream(&text, &len);
        if (!f) {
                api_ctx_reply_internal(c, -errno);
                return;
        }
        (void) api_metrics_write(f, &m);
        if (a->metrics_extra)
                a->metrics_extra(f, a->metrics_userdata);
        if (fclose(f) != 0 || !text) {
                api_ctx_reply_internal(c, -ENOMEM);
                return;
        }
        api_ctx_reply(c, 200, API_METRICS_CONTENT_TYPE, text, len, NULL);
}

static void metrics_done(ApiCtx *c, int error) {
        _cleanup_(api_index_done) ApiIndex x = {};
        int r;

        if (error < 0) {
                log_debug_errno(error, "Failed to read the registry for /metrics: %m");
                metrics_reply(c, NULL);
                return;
        }
        r = api_ctx_index(c, &x);
        metrics_reply(c, r >= 0 ? &x : NULL);
}

void api_route_metrics(ApiCtx *c) {
        if (!c->api->etcd_available) {
                metrics_reply(c, NULL);
                return;
        }
        /* A scrape alone does not start the registry copy: its whole-prefix watch would bring
         * every change of the cluster to every scraped fleetd. */
        c->copy_if_running = true;
        (void) api_fetch_list(c, REGISTRY_KEY_JOB, NULL, false);
        (void) api_fetch_list(c, REGISTRY_KEY_UNIT, NULL, true);
        (void) api_fetch_list(c, REGISTRY_KEY_SCHEDULE, NULL, true);
        (void) api_fetch_list(c, REGISTRY_KEY_STATE, NULL, false);
        (void) api_fetch_list(c, REGISTRY_KEY_MACHINE, NULL, true);
        api_fetch_wait(c, metrics_done);
}

/* The peers' quorum question (quorum.h): answered from what this fleetd knows now, at once. */
void api_route_etcd_health(ApiCtx *c) {
        Api *a = c->api;
        bool reachable = a->etcd_health ? a->etcd_health(a->metrics_userdata) : a->etcd_available;

        api_ctx_reply_json(c, 200, quorum_health_json(reachable));
}
