/* SPDX-License-Identifier: MIT */
/* Registry operations: reads, multi-key txn writes, the synchronous layer. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <systemd/sd-event.h>

#include "log.h"
#include "registry-internal.h"

/* What a txn whose comparisons failed means. */
typedef enum FailPolicy {
        FAIL_NONE,     /* plain put/delete/unconditional txn */
        FAIL_EEXIST,   /* create: the key exists */
        FAIL_ENOENT,   /* the key is absent */
        FAIL_STALE,    /* a condition (term, revision) no longer holds */
        FAIL_RANGE,    /* failure branch read the key: absent -ENOENT, else -ESTALE */
        FAIL_CAMPAIGN, /* failure branch read engine/leader: ours (same lease) wins */
} FailPolicy;

typedef struct RegistryOp {
        Registry *registry;
        struct RegistryOp *prev, *next;
        EtcdCall *call;
        FailPolicy fail;
        int64_t lease;
        bool keys_only;
        bool get; /* exactly one entry expected */
        registry_write_callback_t write_cb;
        registry_list_callback_t list_cb;
        void *userdata;
} RegistryOp;

/* ---- registry ------------------------------------------------------------------------------- */

int registry_new(Registry **ret, EtcdClient *client, const char *prefix) {
        Registry *r;
        size_t n;

        assert(ret);
        if (!client)
                return -EINVAL;
        prefix = prefix ? prefix : REGISTRY_DEFAULT_PREFIX;
        n = strlen(prefix);
        r = calloc(1, sizeof(Registry));
        if (!r)
                return -ENOMEM;
        r->client = client;
        if (asprintf(&r->prefix, "%s%s", prefix, n > 0 && prefix[n - 1] == '/' ? "" : "/") < 0) {
                free(r);
                return -ENOMEM;
        }
        *ret = r;
        return 0;
}

Registry *registry_free(Registry *r) {
        if (!r)
                return NULL;
        registry_watch_detach_all(r);
        /* Detach first: a call whose callback is running is only freed when it returns. */
        while (r->ops) {
                RegistryOp *op = r->ops;

                r->ops = op->next;
                op->registry = NULL;
                op->next = op->prev = NULL;
                etcd_call_cancel(op->call);
        }
        free(r->prefix);
        free(r);
        return NULL;
}

const char *registry_get_prefix(const Registry *r) {
        return r->prefix;
}

EtcdClient *registry_get_client(Registry *r) {
        return r->client;
}

RegistryList *registry_list_free(RegistryList *l) {
        if (!l)
                return NULL;
        registry_entry_array_free(l->entries, l->n_entries);
        free(l);
        return NULL;
}

int registry_list_from_result(Registry *r, const EtcdResult *res, int64_t revision, bool keys_only,
                              RegistryList **ret) {
        _cleanup_(registry_list_freep) RegistryList *l = NULL;
        RegistryEntry *entries = calloc(res->n_kvs + 1, sizeof(RegistryEntry));

        if (entries)
                l = calloc(1, sizeof(RegistryList));
        if (!l) {
                free(entries);
                return -ENOMEM;
        }
        l->revision = revision;
        l->entries = entries;
        for (size_t i = 0; i < res->n_kvs; i++) {
                int k = registry_entry_decode(r->prefix, &res->kvs[i], !keys_only,
                                              &l->entries[l->n_entries]);
                if (k == -ENOMEM)
                        return k;
                if (k < 0) {
                        log_debug("registry: skipping %s: %s", res->kvs[i].key, strerror(-k));
                        l->n_skipped++;
                        continue;
                }
                l->n_entries++;
        }
        *ret = TAKE_PTR(l);
        return 0;
}

/* ---- operation plumbing --------------------------------------------------------------------- */

static void op_destroy(void *userdata) {
        RegistryOp *op = userdata;
        Registry *r = op->registry;

        if (!r) { /* detached by registry_free() */
                free(op);
                return;
        }
        if (op->prev)
                op->prev->next = op->next;
        else if (r->ops == op)
                r->ops = op->next;
        if (op->next)
                op->next->prev = op->prev;
        free(op);
}

static RegistryOp *op_new(Registry *r, FailPolicy fail, registry_write_callback_t wcb,
                          registry_list_callback_t lcb, void *userdata) {
        RegistryOp *op = calloc(1, sizeof(RegistryOp));

        if (!op)
                return NULL;
        *op = (RegistryOp){
                .registry = r, .fail = fail, .write_cb = wcb, .list_cb = lcb, .userdata = userdata};
        return op;
}

/* Register a started call (or free op if starting failed). */
static int op_started(RegistryOp *op, int r, EtcdCall *call, EtcdCall **ret_call) {
        Registry *reg = op->registry;

        if (r < 0) {
                free(op);
                return r;
        }
        op->call = call;
        op->next = reg->ops;
        if (op->next)
                op->next->prev = op;
        reg->ops = op;
        etcd_call_set_destroy(call, op_destroy);
        if (ret_call)
                *ret_call = call;
        return 0;
}

static int campaign_result(RegistryOp *op, const EtcdResponse *resp, int64_t *ret_rev) {
        const EtcdResult *res = resp->txn.n_results > 0 ? &resp->txn.results[0] : NULL;

        if (resp->txn.succeeded) {
                *ret_rev = resp->revision;
                return 0;
        }
        if (res && res->n_kvs == 1 && op->lease != 0 && res->kvs[0].lease == op->lease) {
                *ret_rev = res->kvs[0].create_revision;
                return 0;
        }
        return -EBUSY;
}

static int write_result(RegistryOp *op, const EtcdResponse *resp, int64_t *ret_rev) {
        const EtcdResult *first;

        if (op->fail == FAIL_CAMPAIGN)
                return campaign_result(op, resp, ret_rev);
        if (resp->type != ETCD_REQUEST_TXN || resp->txn.succeeded || op->fail == FAIL_NONE) {
                *ret_rev = resp->revision;
                return 0;
        }
        switch (op->fail) {
        case FAIL_EEXIST:
                return -EEXIST;
        case FAIL_ENOENT:
                return -ENOENT;
        case FAIL_RANGE:
                first = resp->txn.n_results > 0 ? &resp->txn.results[0] : NULL;
                return first && first->n_kvs > 0 ? -ESTALE : -ENOENT;
        default:
                return -ESTALE;
        }
}

static void on_write_done(EtcdClient *c, int error, EtcdResponse *resp, void *userdata) {
        RegistryOp *op = userdata;
        int64_t rev = 0;

        if (error >= 0)
                error = write_result(op, resp, &rev);
        if (op->write_cb)
                op->write_cb(op->registry, error, error < 0 ? 0 : rev, op->userdata);
}

static void on_list_done(EtcdClient *c, int error, EtcdResponse *resp, void *userdata) {
        RegistryOp *op = userdata;
        _cleanup_(registry_list_freep) RegistryList *l = NULL;

        if (error >= 0)
                error = registry_list_from_result(op->registry, &resp->kv, resp->revision,
                                                  op->keys_only, &l);
        if (error >= 0 && op->get) {
                if (resp->kv.n_kvs == 0)
                        error = -ENOENT;
                else if (l->n_entries == 0)
                        error = -EBADMSG;
        }
        if (error < 0)
                l = registry_list_free(l);
        op->list_cb(op->registry, error, l, op->userdata);
}

static int submit_txn(Registry *r, const EtcdTxnRequest *t, FailPolicy fail, int64_t lease,
                      registry_write_callback_t cb, void *userdata, EtcdCall **ret_call) {
        RegistryOp *op = op_new(r, fail, cb, NULL, userdata);
        EtcdCall *call = NULL;

        if (!op)
                return -ENOMEM;
        op->lease = lease;
        int e = etcd_txn(r->client, t, on_write_done, op, &call);
        return op_started(op, e, call, ret_call);
}

/* ---- reads ---------------------------------------------------------------------------------- */

int registry_list(Registry *r, RegistryKeyKind kind, const char *sub, int64_t revision,
                  bool keys_only, registry_list_callback_t cb, void *userdata,
                  EtcdCall **ret_call) {
        _cleanup_free_ char *dir = NULL;
        EtcdCall *call = NULL;
        RegistryOp *op;
        int k;

        assert(cb);
        k = registry_key_dir(r->prefix, kind, sub, &dir);
        if (k < 0)
                return k;
        EtcdRangeRequest q = {
                .key = dir, .prefix = true, .revision = revision, .keys_only = keys_only};
        op = op_new(r, FAIL_NONE, NULL, cb, userdata);
        if (!op)
                return -ENOMEM;
        op->keys_only = keys_only;
        k = etcd_range_all(r->client, &q, 0, on_list_done, op, &call);
        return op_started(op, k, call, ret_call);
}

int registry_get(Registry *r, const RegistryKey *key, registry_list_callback_t cb, void *userdata,
                 EtcdCall **ret_call) {
        _cleanup_free_ char *k = NULL;
        EtcdCall *call = NULL;
        RegistryOp *op;
        int e;

        assert(cb);
        e = registry_key_build(r->prefix, key, &k);
        if (e < 0)
                return e;
        EtcdRangeRequest q = {.key = k};
        op = op_new(r, FAIL_NONE, NULL, cb, userdata);
        if (!op)
                return -ENOMEM;
        op->get = true;
        e = etcd_range(r->client, &q, on_list_done, op, &call);
        return op_started(op, e, call, ret_call);
}

/* ---- jobs ----------------------------------------------------------------------------------- */

/* The keys and values of a job write. */
typedef struct JobKeys {
        char *job_key, *unit_key, *global_key;
        char *job_json, *target_json;
} JobKeys;

static void job_keys_done(JobKeys *k) {
        free(k->job_key);
        free(k->unit_key);
        free(k->global_key);
        free(k->job_json);
        free(k->target_json);
}

static int job_keys(Registry *r, const RegistryJob *job, JobKeys *ret) {
        RegistryTarget t = {.desired_state = job->desired_state};
        JobKeys k = {};
        int e;

        memcpy(t.hash, job->hash, sizeof(t.hash));
        e = registry_key_job(r->prefix, job->name, &k.job_key);
        e = e < 0 ? e : registry_key_unit(r->prefix, job->hash, &k.unit_key);
        e = e < 0 ? e : registry_key_global(r->prefix, job->name, &k.global_key);
        e = e < 0 ? e : registry_job_to_json(job, &k.job_json);
        e = e < 0 ? e : registry_target_to_json(&t, &k.target_json);
        if (e < 0) {
                job_keys_done(&k);
                return e;
        }
        *ret = k;
        return 0;
}

int registry_create_job(Registry *r, const RegistryJob *job, const char *unit_text,
                        registry_write_callback_t cb, void *userdata, EtcdCall **ret_call) {
        _cleanup_(job_keys_done) JobKeys k = {};
        EtcdOp ops[3];
        size_t n = 0;
        int e;

        if (!unit_text)
                return -EINVAL;
        e = job_keys(r, job, &k);
        if (e < 0)
                return e;
        EtcdCompare absent = {.key = k.job_key, .target = ETCD_COMPARE_CREATE};
        ops[n++] = (EtcdOp){.type = ETCD_OP_PUT, .put = {.key = k.unit_key, .value = unit_text}};
        ops[n++] = (EtcdOp){.type = ETCD_OP_PUT, .put = {.key = k.job_key, .value = k.job_json}};
        if (job->global)
                ops[n++] = (EtcdOp){.type = ETCD_OP_PUT,
                                    .put = {.key = k.global_key, .value = k.target_json}};
        EtcdTxnRequest t = {.compare = &absent, .n_compare = 1, .success = ops, .n_success = n};
        return submit_txn(r, &t, FAIL_EEXIST, 0, cb, userdata, ret_call);
}

int registry_update_job(Registry *r, const RegistryJob *job, const char *unit_text,
                        int64_t if_mod_revision, registry_write_callback_t cb, void *userdata,
                        EtcdCall **ret_call) {
        _cleanup_(job_keys_done) JobKeys k = {};
        EtcdCompare cmp[2];
        EtcdOp ops[3];
        size_t n = 0, nc = 0;
        int e;

        e = job_keys(r, job, &k);
        if (e < 0)
                return e;
        cmp[nc++] = (EtcdCompare){.key = k.job_key,
                                  .target = ETCD_COMPARE_CREATE,
                                  .result = ETCD_CMP_GREATER,
                                  .number = 0};
        if (if_mod_revision > 0)
                cmp[nc++] = (EtcdCompare){
                        .key = k.job_key, .target = ETCD_COMPARE_MOD, .number = if_mod_revision};
        if (unit_text)
                ops[n++] = (EtcdOp){.type = ETCD_OP_PUT,
                                    .put = {.key = k.unit_key, .value = unit_text}};
        ops[n++] = (EtcdOp){.type = ETCD_OP_PUT, .put = {.key = k.job_key, .value = k.job_json}};
        if (job->global)
                ops[n++] = (EtcdOp){.type = ETCD_OP_PUT,
                                    .put = {.key = k.global_key, .value = k.target_json}};
        else
                ops[n++] = (EtcdOp){.type = ETCD_OP_DELETE, .delete = {.key = k.global_key}};
        EtcdOp read = {.type = ETCD_OP_RANGE, .range = {.key = k.job_key, .keys_only = true}};
        EtcdTxnRequest t = {.compare = cmp,
                            .n_compare = nc,
                            .success = ops,
                            .n_success = n,
                            .failure = &read,
                            .n_failure = 1};
        return submit_txn(r, &t, FAIL_RANGE, 0, cb, userdata, ret_call);
}

int registry_destroy_job(Registry *r, const char *name, registry_write_callback_t cb,
                         void *userdata, EtcdCall **ret_call) {
        _cleanup_free_ char *job_key = NULL, *global_key = NULL;
        int e;

        e = registry_key_job(r->prefix, name, &job_key);
        e = e < 0 ? e : registry_key_global(r->prefix, name, &global_key);
        if (e < 0)
                return e;
        EtcdCompare exists = {
                .key = job_key, .target = ETCD_COMPARE_CREATE, .result = ETCD_CMP_GREATER};
        EtcdOp ops[] = {
                {.type = ETCD_OP_DELETE, .delete = {.key = job_key}},
                {.type = ETCD_OP_DELETE, .delete = {.key = global_key}},
        };
        EtcdTxnRequest t = {.compare = &exists, .n_compare = 1, .success = ops, .n_success = 2};
        return submit_txn(r, &t, FAIL_ENOENT, 0, cb, userdata, ret_call);
}

int registry_delete_unit(Registry *r, const char *hash, int64_t mod_revision,
                         registry_write_callback_t cb, void *userdata, EtcdCall **ret_call) {
        _cleanup_free_ char *key = NULL;
        int e;

        if (mod_revision <= 0)
                return -EINVAL;
        e = registry_key_unit(r->prefix, hash, &key);
        if (e < 0)
                return e;
        EtcdCompare same = {.key = key, .target = ETCD_COMPARE_MOD, .number = mod_revision};
        EtcdOp del = {.type = ETCD_OP_DELETE, .delete = {.key = key}};
        EtcdOp read = {.type = ETCD_OP_RANGE, .range = {.key = key, .keys_only = true}};
        EtcdTxnRequest t = {.compare = &same,
                            .n_compare = 1,
                            .success = &del,
                            .n_success = 1,
                            .failure = &read,
                            .n_failure = 1};
        return submit_txn(r, &t, FAIL_RANGE, 0, cb, userdata, ret_call);
}

/* ---- machines, metadata, states ------------------------------------------------------------- */

static int put_one(Registry *r, const char *key, const char *value, int64_t lease,
                   registry_write_callback_t cb, void *userdata, EtcdCall **ret_call) {
        EtcdOp op = {.type = ETCD_OP_PUT, .put = {.key = key, .value = value, .lease = lease}};
        EtcdTxnRequest t = {.success = &op, .n_success = 1};

        /* A one-op txn rather than a put: one completion path for every write. */
        return submit_txn(r, &t, FAIL_NONE, 0, cb, userdata, ret_call);
}

int registry_put_machine(Registry *r, const RegistryMachine *m, int64_t lease,
                         registry_write_callback_t cb, void *userdata, EtcdCall **ret_call) {
        _cleanup_free_ char *key = NULL, *json = NULL;
        int e;

        e = registry_key_machine(r->prefix, m->id, &key);
        e = e < 0 ? e : registry_machine_to_json(m, &json);
        if (e < 0)
                return e;
        return put_one(r, key, json, lease, cb, userdata, ret_call);
}

int registry_put_state(Registry *r, const RegistryUnitState *s, int64_t lease,
                       registry_write_callback_t cb, void *userdata, EtcdCall **ret_call) {
        _cleanup_free_ char *key = NULL, *json = NULL;
        int e;

        e = registry_key_state(r->prefix, s->name, s->machine_id, &key);
        e = e < 0 ? e : registry_unit_state_to_json(s, &json);
        if (e < 0)
                return e;
        return put_one(r, key, json, lease, cb, userdata, ret_call);
}

int registry_put_cordon(Registry *r, const char *machine_id, const RegistryCordon *c,
                        registry_write_callback_t cb, void *userdata, EtcdCall **ret_call) {
        _cleanup_free_ char *key = NULL, *json = NULL;
        int e;

        e = registry_key_cordon(r->prefix, machine_id, &key);
        e = e < 0 ? e : registry_cordon_to_json(c, &json);
        if (e < 0)
                return e;
        return put_one(r, key, json, 0, cb, userdata, ret_call);
}

int registry_put_pin(Registry *r, const char *machine_id, const char *name, const RegistryPin *p,
                     registry_write_callback_t cb, void *userdata, EtcdCall **ret_call) {
        _cleanup_free_ char *key = NULL, *json = NULL;
        int e;

        e = registry_key_pin(r->prefix, machine_id, name, &key);
        e = e < 0 ? e : registry_pin_to_json(p, &json);
        if (e < 0)
                return e;
        return put_one(r, key, json, 0, cb, userdata, ret_call);
}

int registry_delete(Registry *r, const RegistryKey *key, registry_write_callback_t cb,
                    void *userdata, EtcdCall **ret_call) {
        _cleanup_free_ char *k = NULL;
        int e;

        e = registry_key_build(r->prefix, key, &k);
        if (e < 0)
                return e;
        EtcdOp op = {.type = ETCD_OP_DELETE, .delete = {.key = k}};
        EtcdTxnRequest t = {.success = &op, .n_success = 1};
        return submit_txn(r, &t, FAIL_NONE, 0, cb, userdata, ret_call);
}

/* Free n malloc'd keys and the ops array built for them. */
static void free_keys(char **keys, size_t n) {
        for (size_t i = 0; keys && i < n; i++)
                free(keys[i]);
        free(keys);
}

int registry_patch_metadata(Registry *r, const char *machine_id, const RegistryMetadata *changes,
                            size_t n, registry_write_callback_t cb, void *userdata,
                            EtcdCall **ret_call) {
        char **keys = calloc(n + 1, sizeof(char *));
        EtcdOp *ops = calloc(n + 1, sizeof(EtcdOp));
        int e = keys && ops ? 0 : -ENOMEM;

        for (size_t i = 0; e >= 0 && i < n; i++) {
                e = registry_key_metadata(r->prefix, machine_id, changes[i].key, &keys[i]);
                if (e < 0)
                        break;
                if (changes[i].value)
                        ops[i] = (EtcdOp){.type = ETCD_OP_PUT,
                                          .put = {.key = keys[i], .value = changes[i].value}};
                else
                        ops[i] = (EtcdOp){.type = ETCD_OP_DELETE, .delete = {.key = keys[i]}};
        }
        if (e >= 0 && n == 0 && !registry_component_is_valid(machine_id))
                e = -EINVAL;
        if (e >= 0) {
                EtcdTxnRequest t = {.success = ops, .n_success = n};
                e = submit_txn(r, &t, FAIL_NONE, 0, cb, userdata, ret_call);
        }
        free_keys(keys, n);
        free(ops);
        return e;
}

/* ---- engine --------------------------------------------------------------------------------- */

int registry_campaign(Registry *r, const RegistryLeader *l, int64_t lease,
                      registry_write_callback_t cb, void *userdata, EtcdCall **ret_call) {
        _cleanup_free_ char *key = NULL, *json = NULL;
        int e;

        e = registry_key_engine_leader(r->prefix, &key);
        e = e < 0 ? e : registry_leader_to_json(l, &json);
        if (e < 0)
                return e;
        EtcdCompare absent = {.key = key, .target = ETCD_COMPARE_CREATE};
        EtcdOp put = {.type = ETCD_OP_PUT, .put = {.key = key, .value = json, .lease = lease}};
        EtcdOp read = {.type = ETCD_OP_RANGE, .range = {.key = key}};
        EtcdTxnRequest t = {.compare = &absent,
                            .n_compare = 1,
                            .success = &put,
                            .n_success = 1,
                            .failure = &read,
                            .n_failure = 1};
        return submit_txn(r, &t, FAIL_CAMPAIGN, lease, cb, userdata, ret_call);
}

int registry_resign(Registry *r, int64_t term, registry_write_callback_t cb, void *userdata,
                    EtcdCall **ret_call) {
        _cleanup_free_ char *key = NULL;
        int e;

        if (term <= 0)
                return -EINVAL;
        e = registry_key_engine_leader(r->prefix, &key);
        if (e < 0)
                return e;
        EtcdCompare ours = {.key = key, .target = ETCD_COMPARE_CREATE, .number = term};
        EtcdOp del = {.type = ETCD_OP_DELETE, .delete = {.key = key}};
        EtcdTxnRequest t = {.compare = &ours, .n_compare = 1, .success = &del, .n_success = 1};
        return submit_txn(r, &t, FAIL_STALE, 0, cb, userdata, ret_call);
}

static int schedule_op(Registry *r, const RegistryScheduleOp *s, char **ret_key, char **ret_json,
                       EtcdOp *ret) {
        int e;

        if (!s->machine_id)
                e = registry_key_reason(r->prefix, s->name, ret_key);
        else
                e = registry_key_schedule(r->prefix, s->machine_id, s->name, ret_key);
        if (e < 0)
                return e;
        if (s->machine_id ? !s->target : !s->reason) {
                *ret = (EtcdOp){.type = ETCD_OP_DELETE, .delete = {.key = *ret_key}};
                return 0;
        }
        if (!s->machine_id)
                e = registry_reason_to_json(s->reason, ret_json);
        else
                e = registry_target_to_json(s->target, ret_json);
        if (e < 0)
                return e;
        *ret = (EtcdOp){.type = ETCD_OP_PUT, .put = {.key = *ret_key, .value = *ret_json}};
        return 0;
}

int registry_apply_schedule(Registry *r, int64_t term, const RegistryScheduleOp *ops, size_t n,
                            registry_write_callback_t cb, void *userdata, EtcdCall **ret_call) {
        _cleanup_free_ char *leader = NULL;
        char **keys, **values;
        EtcdOp *eops;
        int e;

        if (n == 0 || term <= 0)
                return -EINVAL;
        if (n > REGISTRY_MAX_TXN_OPS)
                return -E2BIG;
        e = registry_key_engine_leader(r->prefix, &leader);
        if (e < 0)
                return e;
        keys = calloc(n, sizeof(char *));
        values = calloc(n, sizeof(char *));
        eops = calloc(n, sizeof(EtcdOp));
        e = keys && values && eops ? 0 : -ENOMEM;
        for (size_t i = 0; e >= 0 && i < n; i++)
                e = schedule_op(r, &ops[i], &keys[i], &values[i], &eops[i]);
        if (e >= 0) {
                EtcdCompare fence = {.key = leader, .target = ETCD_COMPARE_CREATE, .number = term};
                EtcdTxnRequest t = {
                        .compare = &fence, .n_compare = 1, .success = eops, .n_success = n};
                e = submit_txn(r, &t, FAIL_STALE, 0, cb, userdata, ret_call);
        }
        free_keys(keys, n);
        free_keys(values, n);
        free(eops);
        return e;
}

/* ---- synchronous layer ---------------------------------------------------------------------- */

typedef struct SyncWait {
        bool done;
        int error;
        int64_t revision;
        RegistryList *list;
} SyncWait;

static void sync_write_done(Registry *r, int error, int64_t revision, void *userdata) {
        SyncWait *s = userdata;

        s->done = true;
        s->error = error;
        s->revision = revision;
}

static void sync_list_done(Registry *r, int error, RegistryList *list, void *userdata) {
        SyncWait *s = userdata;

        s->done = true;
        s->error = error;
        if (error < 0)
                return;
        s->list = malloc(sizeof(RegistryList));
        if (!s->list) {
                s->error = -ENOMEM;
                return;
        }
        *s->list = *list; /* steal everything */
        *list = (RegistryList){};
}

static int sync_run(Registry *r, int e, EtcdCall *call, SyncWait *s) {
        sd_event *event = etcd_client_get_event(r->client);

        if (e < 0)
                return e;
        while (!s->done) {
                e = sd_event_run(event, UINT64_MAX);
                if (e >= 0 && sd_event_get_state(event) == SD_EVENT_FINISHED)
                        e = -ECANCELED;
                if (e < 0) {
                        etcd_call_cancel(call);
                        registry_list_free(s->list);
                        return e;
                }
        }
        return s->error;
}

static int sync_write(Registry *r, int e, EtcdCall *call, SyncWait *s, int64_t *ret_revision) {
        e = sync_run(r, e, call, s);
        if (e >= 0 && ret_revision)
                *ret_revision = s->revision;
        return e;
}

#define SYNC_WRITE(r, ret_revision, start_expr)                                                    \
        ({                                                                                         \
                SyncWait _s = {};                                                                  \
                EtcdCall *_call = NULL;                                                            \
                int _e = (start_expr);                                                             \
                sync_write((r), _e, _call, &_s, (ret_revision));                                   \
        })

int registry_list_sync(Registry *r, RegistryKeyKind kind, const char *sub, int64_t revision,
                       bool keys_only, RegistryList **ret) {
        SyncWait s = {};
        EtcdCall *call = NULL;
        int e;

        e = registry_list(r, kind, sub, revision, keys_only, sync_list_done, &s, &call);
        e = sync_run(r, e, call, &s);
        if (e < 0)
                return e;
        if (ret)
                *ret = s.list;
        else
                registry_list_free(s.list);
        return 0;
}

int registry_get_sync(Registry *r, const RegistryKey *key, RegistryEntry *ret) {
        _cleanup_(registry_list_freep) RegistryList *l = NULL;
        SyncWait s = {};
        EtcdCall *call = NULL;
        int e;

        e = registry_get(r, key, sync_list_done, &s, &call);
        e = sync_run(r, e, call, &s);
        if (e < 0)
                return e;
        l = s.list;
        if (ret) {
                *ret = l->entries[0];
                l->entries[0] = (RegistryEntry){};
                l->n_entries = 1; /* entries[0] is now empty: freeing it is a no-op */
        }
        return 0;
}

int registry_create_job_sync(Registry *r, const RegistryJob *job, const char *unit_text,
                             int64_t *ret_revision) {
        return SYNC_WRITE(r, ret_revision,
                          registry_create_job(r, job, unit_text, sync_write_done, &_s, &_call));
}

int registry_update_job_sync(Registry *r, const RegistryJob *job, const char *unit_text,
                             int64_t if_mod_revision, int64_t *ret_revision) {
        return SYNC_WRITE(r, ret_revision,
                          registry_update_job(r, job, unit_text, if_mod_revision, sync_write_done,
                                              &_s, &_call));
}

int registry_destroy_job_sync(Registry *r, const char *name, int64_t *ret_revision) {
        return SYNC_WRITE(r, ret_revision,
                          registry_destroy_job(r, name, sync_write_done, &_s, &_call));
}

int registry_delete_unit_sync(Registry *r, const char *hash, int64_t mod_revision,
                              int64_t *ret_revision) {
        return SYNC_WRITE(
                r, ret_revision,
                registry_delete_unit(r, hash, mod_revision, sync_write_done, &_s, &_call));
}

int registry_put_machine_sync(Registry *r, const RegistryMachine *m, int64_t lease,
                              int64_t *ret_revision) {
        return SYNC_WRITE(r, ret_revision,
                          registry_put_machine(r, m, lease, sync_write_done, &_s, &_call));
}

int registry_put_cordon_sync(Registry *r, const char *machine_id, const RegistryCordon *c,
                             int64_t *ret_revision) {
        return SYNC_WRITE(r, ret_revision,
                          registry_put_cordon(r, machine_id, c, sync_write_done, &_s, &_call));
}

int registry_put_pin_sync(Registry *r, const char *machine_id, const char *name,
                          const RegistryPin *p, int64_t *ret_revision) {
        return SYNC_WRITE(r, ret_revision,
                          registry_put_pin(r, machine_id, name, p, sync_write_done, &_s, &_call));
}

int registry_patch_metadata_sync(Registry *r, const char *machine_id,
                                 const RegistryMetadata *changes, size_t n, int64_t *ret_revision) {
        return SYNC_WRITE(
                r, ret_revision,
                registry_patch_metadata(r, machine_id, changes, n, sync_write_done, &_s, &_call));
}

int registry_put_state_sync(Registry *r, const RegistryUnitState *st, int64_t lease,
                            int64_t *ret_revision) {
        return SYNC_WRITE(r, ret_revision,
                          registry_put_state(r, st, lease, sync_write_done, &_s, &_call));
}

int registry_delete_sync(Registry *r, const RegistryKey *key, int64_t *ret_revision) {
        return SYNC_WRITE(r, ret_revision, registry_delete(r, key, sync_write_done, &_s, &_call));
}

int registry_campaign_sync(Registry *r, const RegistryLeader *l, int64_t lease, int64_t *ret_term) {
        return SYNC_WRITE(r, ret_term,
                          registry_campaign(r, l, lease, sync_write_done, &_s, &_call));
}

int registry_resign_sync(Registry *r, int64_t term, int64_t *ret_revision) {
        return SYNC_WRITE(r, ret_revision, registry_resign(r, term, sync_write_done, &_s, &_call));
}

int registry_apply_schedule_sync(Registry *r, int64_t term, const RegistryScheduleOp *ops, size_t n,
                                 int64_t *ret_revision) {
        return SYNC_WRITE(r, ret_revision,
                          registry_apply_schedule(r, term, ops, n, sync_write_done, &_s, &_call));
}
