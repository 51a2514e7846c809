/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * Shared by api.c and the route handlers (routes-*.c): the Api object and the per-request
 * context. Every request gets an ApiCtx that lives until it is answered: each api_ctx_reply*()
 * answers the request AND frees the context, so the caller must not touch it afterwards.
 *
 * Registry reads go through a small fan-out helper: start up to API_FETCH_MAX reads
 * (api_fetch_list/api_fetch_get), then api_fetch_wait() as the last statement of the handler;
 * the done callback runs once they have all completed (or at the first error, the others
 * cancelled). Results stay in the context until it is freed or api_fetch_reset().
 */

#include <stdbool.h>
#include <stdint.h>

#include "api-cache.h"
#include "api-json.h"
#include "api-model.h"
#include "api-route.h"
#include "api.h"
#include "http-server.h"
#include "api-metrics.h"
#include "registry.h"
#include "ui.h"

#define API_FETCH_MAX 16 /* a whole-prefix read from the registry copy takes one per key kind */
/* The registry copy goes after this long without a read (api-cache.h). */
#define API_CACHE_IDLE_USEC (10 * 60 * 1000 * 1000ULL)

typedef struct ApiCtx ApiCtx;
typedef void (*ApiFetchDone)(ApiCtx *c, int error);

typedef struct ApiFetchSlot {
        ApiCtx *ctx;
        EtcdCall *call;     /* while running */
        RegistryList *list; /* the result; NULL for a get of an absent key */
        bool is_get;
        /* or the result from the API's registry copy: borrowed, valid only until the request
         * returns to the event loop (read routes answer at once) */
        const RegistryEntry *cached;
        size_t n_cached;
        bool from_cache;
} ApiFetchSlot;

struct Api {
        sd_event *event;
        Registry *registry;
        HttpServer *http;
        uint16_t token_limit;
        void (*metrics_extra)(FILE *f, void *userdata);
        void *metrics_userdata;
        bool (*etcd_health)(void *userdata);
        bool etcd_available;
        sd_event_source *wake; /* see api_ctx_reply() */
        bool dispatching;      /* inside the HTTP server's handler call */
        ApiCtx *pending;       /* requests not answered yet */
        size_t n_pending;
        uint64_t status_counts[API_METRICS_N_CODES];
        Ui *ui;                 /* the web view under /ui */
        ApiCache *cache;        /* the registry copy read routes answer from (api-cache.h) */
        int64_t write_revision; /* of this API's latest write: reads wait for the copy to reach it
                                 */
        uint64_t reads_cached, reads_etcd; /* read requests answered from the copy / etcd */
};

struct ApiCtx {
        Api *api;
        HttpRequest *req;
        ApiCtx *prev, *next;
        ApiRouteMatch match;

        ApiFetchSlot slots[API_FETCH_MAX];
        size_t n_slots;
        size_t n_running;
        int fetch_error;
        ApiFetchDone fetch_done;

        int64_t copy_revision; /* of the registry copy the reads were answered from */
        bool read_etcd;        /* a read went to etcd */
        bool copy_if_running;  /* read from the registry copy only if other reads keep it: do
                                * not start it (nor keep it) for this request */

        EtcdCall *write_call;
        uint16_t page; /* list routes: the page asked for */
        void *data;    /* per-route state, freed with free_data */
        void (*free_data)(void *data);
};

/* ---- replies: each one answers the request and frees c ------------------------------------ */

void api_ctx_reply(ApiCtx *c, unsigned status, const char *content_type, const char *body,
                   size_t len, const char *const *headers);
/* 200-style JSON reply; takes json (NULL = out of memory: 500). */
void api_ctx_reply_json(ApiCtx *c, unsigned status, char *json);
/* {"error":{"code":status,"message":message}}; message NULL = "". */
void api_ctx_reply_error(ApiCtx *c, unsigned status, const char *message);
/* A failed registry operation: 503 if etcd could not be reached, else 500 with message (NULL:
 * fleet's empty message). Logs the failure with the request. */
void api_ctx_reply_registry_error(ApiCtx *c, int error, const char *message);
/* -ENOMEM or another local failure: 500. */
void api_ctx_reply_internal(ApiCtx *c, int error);

/* ---- registry reads ---------------------------------------------------------------------- */

/* Start a listing (registry_list at the latest revision); returns the slot index. */
int api_fetch_list(ApiCtx *c, RegistryKeyKind kind, const char *sub, bool keys_only);
/* Start reading one key; an absent key gives a NULL list, not an error. */
int api_fetch_get(ApiCtx *c, const RegistryKey *key);
/* The entries slot i fetched (from etcd or from the registry copy), *ret_n of them; NULL and
 * 0 for an absent key. Borrowed like api_ctx_index()'s. */
const RegistryEntry *api_fetch_entries(const ApiCtx *c, size_t i, size_t *ret_n);
/* A write of this API succeeded at revision: later reads wait until the copy reaches it. */
void api_note_write(Api *a, int64_t revision);
/* Call done (maybe right away) when every started read has completed. Call last. */
void api_fetch_wait(ApiCtx *c, ApiFetchDone done);
/* Forget the results (no read may be running). */
void api_fetch_reset(ApiCtx *c);

/* ---- shared helpers ---------------------------------------------------------------------- */

/* Answer 200 with format(the entries of read slot 0), or the read's error (fleet-c's list
 * routes: cordons, pins). */
void api_ctx_reply_formatted(ApiCtx *c, int error,
                             int (*format)(const RegistryEntry *const *entries, size_t n,
                                           char **ret));
/* The registry write callback of a route that answers 204 once its write is done (userdata:
 * the ApiCtx). */
void api_ctx_written_204(Registry *r, int error, int64_t revision, void *userdata);

/* The page asked for by ?nextPageToken; on a bad token answers 400 and returns < 0. */
int api_ctx_page(ApiCtx *c, uint16_t *ret_page);

/*
 * Rendered answers (api-render.h) of read routes whose every read came from the registry
 * copy, keyed by key (what the request asked: route, page, filters) and the copy's revision.
 * api_ctx_reply_rendered(): answer 200 with the kept body and return true, or return false.
 * api_ctx_reply_json_render(): keep json (when every read came from the copy), then answer
 * like api_ctx_reply_json().
 */
bool api_ctx_reply_rendered(ApiCtx *c, const char *key);
void api_ctx_reply_json_render(ApiCtx *c, const char *key, char *json);
/* Index every fetched entry (borrowed from c: valid until api_fetch_reset or the reply). */
int api_ctx_index(ApiCtx *c, ApiIndex *ret);
/* "<limit,page>" token text for page (0 = none: NULL). */
const char *api_ctx_page_token(ApiCtx *c, uint16_t page, char buf[static API_PAGE_TOKEN_LEN + 1]);

/* ---- route handlers (routes-*.c) --------------------------------------------------------- */

void api_route_units_list(ApiCtx *c);
void api_route_unit_get(ApiCtx *c);
void api_route_unit_put(ApiCtx *c);
void api_route_unit_delete(ApiCtx *c);
void api_route_states_list(ApiCtx *c);
void api_route_state_get(ApiCtx *c);
void api_route_machines_list(ApiCtx *c);
void api_route_machines_patch(ApiCtx *c);
void api_route_discovery(ApiCtx *c);
void api_route_etcd_health(ApiCtx *c);
void api_route_metrics(ApiCtx *c);
void api_route_cordons_list(ApiCtx *c);
void api_route_cordon_put(ApiCtx *c);
void api_route_cordon_delete(ApiCtx *c);
void api_route_pins_list(ApiCtx *c);
void api_route_pin_put(ApiCtx *c);
void api_route_pin_delete(ApiCtx *c);
