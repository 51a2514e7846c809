/* SPDX-License-Identifier: MIT */
/* etcd operations: request encoding and submission, paged listing, the synchronous layer. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <systemd/sd-event.h>

#include "etcd-internal.h"

/* ---- unary operations ----------------------------------------------------------------------- */

static int submit_encoded(EtcdClient *c, EtcdRequestType type, const char *path, int r, char *body,
                          etcd_callback_t cb, void *userdata, EtcdCall **ret_call) {
        assert(c);
        if (r < 0) {
                free(body);
                return r;
        }
        return etcd_call_submit(c, type, path, body, cb, userdata, ret_call);
}

int etcd_range(EtcdClient *c, const EtcdRangeRequest *q, etcd_callback_t cb, void *userdata,
               EtcdCall **ret_call) {
        char *body = NULL;
        int r = etcd_json_encode_range(q, &body);

        return submit_encoded(c, ETCD_REQUEST_RANGE, "/v3/kv/range", r, body, cb, userdata,
                              ret_call);
}

int etcd_put(EtcdClient *c, const EtcdPutRequest *q, etcd_callback_t cb, void *userdata,
             EtcdCall **ret_call) {
        char *body = NULL;
        int r = etcd_json_encode_put(q, &body);

        return submit_encoded(c, ETCD_REQUEST_PUT, "/v3/kv/put", r, body, cb, userdata, ret_call);
}

int etcd_delete(EtcdClient *c, const EtcdDeleteRequest *q, etcd_callback_t cb, void *userdata,
                EtcdCall **ret_call) {
        char *body = NULL;
        int r = etcd_json_encode_delete(q, &body);

        return submit_encoded(c, ETCD_REQUEST_DELETE, "/v3/kv/deleterange", r, body, cb, userdata,
                              ret_call);
}

int etcd_txn(EtcdClient *c, const EtcdTxnRequest *q, etcd_callback_t cb, void *userdata,
             EtcdCall **ret_call) {
        char *body = NULL;
        int r = etcd_json_encode_txn(q, &body);

        return submit_encoded(c, ETCD_REQUEST_TXN, "/v3/kv/txn", r, body, cb, userdata, ret_call);
}

int etcd_compact(EtcdClient *c, int64_t revision, bool physical, etcd_callback_t cb, void *userdata,
                 EtcdCall **ret_call) {
        char *body = NULL;
        int r = etcd_json_encode_compact(revision, physical, &body);

        return submit_encoded(c, ETCD_REQUEST_COMPACT, "/v3/kv/compaction", r, body, cb, userdata,
                              ret_call);
}

int etcd_lease_grant(EtcdClient *c, int64_t ttl, int64_t id, etcd_callback_t cb, void *userdata,
                     EtcdCall **ret_call) {
        char *body = NULL;
        int r = etcd_json_encode_lease_grant(ttl, id, &body);

        return submit_encoded(c, ETCD_REQUEST_LEASE_GRANT, "/v3/lease/grant", r, body, cb, userdata,
                              ret_call);
}

int etcd_lease_keepalive(EtcdClient *c, int64_t id, etcd_callback_t cb, void *userdata,
                         EtcdCall **ret_call) {
        return etcd_lease_keepalive_timeout(c, id, 0, cb, userdata, ret_call);
}

int etcd_lease_keepalive_timeout(EtcdClient *c, int64_t id, uint64_t timeout_usec,
                                 etcd_callback_t cb, void *userdata, EtcdCall **ret_call) {
        char *body = NULL;
        int r = etcd_json_encode_lease_id(id, &body);

        assert(c);
        if (r < 0) {
                free(body);
                return r;
        }
        return etcd_call_submit_timeout(c, ETCD_REQUEST_LEASE_KEEPALIVE, "/v3/lease/keepalive",
                                        body, MAX(timeout_usec, c->timeout_usec), cb, userdata,
                                        ret_call);
}

int etcd_lease_revoke(EtcdClient *c, int64_t id, etcd_callback_t cb, void *userdata,
                      EtcdCall **ret_call) {
        char *body = NULL;
        int r = etcd_json_encode_lease_id(id, &body);

        return submit_encoded(c, ETCD_REQUEST_LEASE_REVOKE, "/v3/lease/revoke", r, body, cb,
                              userdata, ret_call);
}

int etcd_lease_timetolive(EtcdClient *c, int64_t id, bool keys, etcd_callback_t cb, void *userdata,
                          EtcdCall **ret_call) {
        char *body = NULL;
        int r = etcd_json_encode_lease_timetolive(id, keys, &body);

        return submit_encoded(c, ETCD_REQUEST_LEASE_TIMETOLIVE, "/v3/lease/timetolive", r, body, cb,
                              userdata, ret_call);
}

/* ---- paged listing -------------------------------------------------------------------------- */

typedef struct Pager {
        char *start_key; /* the first page's key */
        char *last_key;  /* the last key received: the next page starts there */
        char *range_end; /* explicit range end, or NULL with from_key/none */
        bool from_key;
        bool keys_only, serializable;
        int64_t page_size;
        int64_t revision; /* the snapshot revision, 0 until the first page */
        EtcdKeyValue *kvs;
        size_t n_kvs, cap_kvs;
} Pager;

static void pager_free(void *p) {
        Pager *g = p;

        if (!g)
                return;
        free(g->start_key);
        free(g->last_key);
        free(g->range_end);
        etcd_key_value_array_free(g->kvs, g->n_kvs);
        free(g);
}

static int pager_body(Pager *g, char **ret) {
        EtcdRangeRequest q = {
                .key = g->last_key ? g->last_key : g->start_key,
                .range_end = g->range_end,
                .from_key = g->from_key,
                /* From the second page on, the first key is the previous page's last. */
                .limit = g->last_key ? g->page_size + 1 : g->page_size,
                .revision = g->revision,
                .keys_only = g->keys_only,
                .serializable = g->serializable,
        };

        return etcd_json_encode_range(&q, ret);
}

static int pager_take(Pager *g, EtcdResult *page) {
        for (size_t i = 0; i < page->n_kvs; i++) {
                EtcdKeyValue *kv = &page->kvs[i];

                if (g->last_key && i == 0 && streq(kv->key, g->last_key))
                        continue;
                if (g->n_kvs == g->cap_kvs) {
                        size_t cap = MAX(g->cap_kvs * 2, (size_t) 64);
                        EtcdKeyValue *a = realloc(g->kvs, cap * sizeof(EtcdKeyValue));
                        if (!a)
                                return -ENOMEM;
                        g->kvs = a;
                        g->cap_kvs = cap;
                }
                g->kvs[g->n_kvs++] = *kv;
                *kv = (EtcdKeyValue){};
        }
        if (g->n_kvs > 0) {
                char *k = strdup(g->kvs[g->n_kvs - 1].key);
                if (!k)
                        return -ENOMEM;
                free(g->last_key);
                g->last_key = k;
        }
        return 0;
}

static int pager_on_result(EtcdCall *call, EtcdResponse **resp) {
        Pager *g = call->hook_data;
        EtcdResponse *page = *resp;
        bool more = page->kv.more;
        char *body = NULL;
        int r;

        if (g->revision == 0)
                g->revision = page->revision;
        r = pager_take(g, &page->kv);
        if (r < 0)
                return r;
        if (more && g->last_key) {
                r = pager_body(g, &body);
                if (r < 0)
                        return r;
                *resp = etcd_response_free(page);
                r = etcd_call_resend(call, body);
                return r < 0 ? r : 1;
        }
        etcd_result_done(&page->kv);
        page->kv.type = ETCD_OP_RANGE;
        page->kv.revision = g->revision;
        page->kv.kvs = g->kvs;
        page->kv.n_kvs = g->n_kvs;
        page->kv.count = (int64_t) g->n_kvs;
        g->kvs = NULL;
        page->revision = g->revision;
        g->n_kvs = g->cap_kvs = 0;
        return 0;
}

static int pager_new(const EtcdRangeRequest *q, int64_t page_size, Pager **ret) {
        Pager *g;
        int r = 0;

        g = calloc(1, sizeof(Pager));
        if (!g)
                return -ENOMEM;
        *g = (Pager){
                .keys_only = q->keys_only,
                .serializable = q->serializable,
                .page_size = page_size > 0 ? page_size : 1000,
                .revision = q->revision,
                .from_key = q->from_key,
        };
        g->start_key = strdup(q->key);
        if (!g->start_key)
                r = -ENOMEM;
        else if (q->prefix) {
                size_t n;

                r = etcd_prefix_range_end(q->key, &g->range_end, &n);
                /* "\0": everything from the key on. */
                if (r >= 0 && n == 1 && g->range_end[0] == 0) {
                        free(g->range_end);
                        g->range_end = NULL;
                        g->from_key = true;
                }
        } else if (q->range_end && !q->from_key) {
                g->range_end = strdup(q->range_end);
                if (!g->range_end)
                        r = -ENOMEM;
        }
        if (r < 0) {
                pager_free(g);
                return r;
        }
        *ret = g;
        return 0;
}

int etcd_range_all(EtcdClient *c, const EtcdRangeRequest *q, int64_t page_size, etcd_callback_t cb,
                   void *userdata, EtcdCall **ret_call) {
        Pager *g = NULL;
        char *body = NULL;
        EtcdCall *call = NULL;
        int r;

        if (!q || !q->key || q->limit != 0 || q->count_only)
                return -EINVAL;
        r = pager_new(q, page_size, &g);
        if (r < 0)
                return r;
        r = pager_body(g, &body);
        if (r < 0) {
                pager_free(g);
                return r;
        }
        r = etcd_call_submit(c, ETCD_REQUEST_RANGE, "/v3/kv/range", body, cb, userdata, &call);
        if (r < 0) {
                pager_free(g);
                return r;
        }
        call->on_result = pager_on_result;
        call->hook_data = g;
        call->hook_free = pager_free;
        if (ret_call)
                *ret_call = call;
        return 0;
}

/* ---- synchronous layer ---------------------------------------------------------------------- */

typedef struct SyncWait {
        bool done;
        int error;
        EtcdResponse *resp;
} SyncWait;

static void sync_done(EtcdClient *c, int error, EtcdResponse *resp, void *userdata) {
        SyncWait *s = userdata;

        s->done = true;
        s->error = error;
        if (error < 0 || !resp)
                return;
        s->resp = malloc(sizeof(EtcdResponse));
        if (!s->resp) {
                s->error = -ENOMEM;
                return;
        }
        /* Steal everything: the client frees what is left, i.e. nothing. */
        *s->resp = *resp;
        *resp = (EtcdResponse){};
}

/* Drive the client's loop until the call started with s completes. */
static int sync_wait(EtcdClient *c, int r, EtcdCall *call, SyncWait *s, EtcdResponse **ret) {
        if (r < 0)
                return r;
        while (!s->done) {
                r = sd_event_run(c->event, UINT64_MAX);
                if (r >= 0 && sd_event_get_state(c->event) == SD_EVENT_FINISHED)
                        r = -ECANCELED;
                if (r < 0) {
                        etcd_call_cancel(call);
                        return r;
                }
        }
        if (s->error < 0)
                return s->error;
        if (ret)
                *ret = s->resp;
        else
                etcd_response_free(s->resp);
        return 0;
}

#define SYNC(c, ret, start_expr)                                                                   \
        ({                                                                                         \
                SyncWait _s = {};                                                                  \
                EtcdCall *_call = NULL;                                                            \
                int _r = (start_expr);                                                             \
                sync_wait((c), _r, _call, &_s, (ret));                                             \
        })

int etcd_range_sync(EtcdClient *c, const EtcdRangeRequest *q, EtcdResponse **ret) {
        return SYNC(c, ret, etcd_range(c, q, sync_done, &_s, &_call));
}

int etcd_range_all_sync(EtcdClient *c, const EtcdRangeRequest *q, int64_t page_size,
                        EtcdResponse **ret) {
        return SYNC(c, ret, etcd_range_all(c, q, page_size, sync_done, &_s, &_call));
}

int etcd_put_sync(EtcdClient *c, const EtcdPutRequest *q, EtcdResponse **ret) {
        return SYNC(c, ret, etcd_put(c, q, sync_done, &_s, &_call));
}

int etcd_delete_sync(EtcdClient *c, const EtcdDeleteRequest *q, EtcdResponse **ret) {
        return SYNC(c, ret, etcd_delete(c, q, sync_done, &_s, &_call));
}

int etcd_txn_sync(EtcdClient *c, const EtcdTxnRequest *q, EtcdResponse **ret) {
        return SYNC(c, ret, etcd_txn(c, q, sync_done, &_s, &_call));
}

int etcd_compact_sync(EtcdClient *c, int64_t revision, bool physical, EtcdResponse **ret) {
        return SYNC(c, ret, etcd_compact(c, revision, physical, sync_done, &_s, &_call));
}

int etcd_lease_grant_sync(EtcdClient *c, int64_t ttl, int64_t id, EtcdResponse **ret) {
        return SYNC(c, ret, etcd_lease_grant(c, ttl, id, sync_done, &_s, &_call));
}

int etcd_lease_keepalive_sync(EtcdClient *c, int64_t id, EtcdResponse **ret) {
        return SYNC(c, ret, etcd_lease_keepalive(c, id, sync_done, &_s, &_call));
}

int etcd_lease_revoke_sync(EtcdClient *c, int64_t id, EtcdResponse **ret) {
        return SYNC(c, ret, etcd_lease_revoke(c, id, sync_done, &_s, &_call));
}

int etcd_lease_timetolive_sync(EtcdClient *c, int64_t id, bool keys, EtcdResponse **ret) {
        return SYNC(c, ret, etcd_lease_timetolive(c, id, keys, sync_done, &_s, &_call));
}

int etcd_get_sync(EtcdClient *c, const char *key, char **ret_value, int64_t *ret_mod_revision) {
        _cleanup_(etcd_response_freep) EtcdResponse *resp = NULL;
        EtcdRangeRequest q = {.key = key};
        const EtcdKeyValue *kv;
        int r;

        r = etcd_range_sync(c, &q, &resp);
        if (r < 0)
                return r;
        if (resp->kv.n_kvs == 0)
                return -ENOENT;
        kv = &resp->kv.kvs[0];
        if (ret_value) {
                char *v = malloc(kv->value_size + 1);
                if (!v)
                        return -ENOMEM;
                memcpy(v, kv->value, kv->value_size + 1);
                *ret_value = v;
        }
        if (ret_mod_revision)
                *ret_mod_revision = kv->mod_revision;
        return 0;
}
