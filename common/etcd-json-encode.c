/* SPDX-License-Identifier: MIT */
/* The request-encoding half of etcd-json.h (decoding and base64 are in etcd-json.c). */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>

#include "etcd-json.h"

/* ---- request encoding ----------------------------------------------------------------------- */

static int set_new(json_t *obj, const char *field, json_t *v) {
        if (!v || json_object_set_new(obj, field, v) < 0)
                return -ENOMEM;
        return 0;
}

/* int64 as a JSON string (the gateway's encoding), omitted when 0. */
static int set_int64(json_t *obj, const char *field, int64_t v) {
        char buf[32];

        if (v == 0)
                return 0;
        (void) snprintf(buf, sizeof(buf), "%" PRIi64, v);
        return set_new(obj, field, json_string(buf));
}

static int set_bool(json_t *obj, const char *field, bool v) {
        return v ? set_new(obj, field, json_true()) : 0;
}

static int set_bytes(json_t *obj, const char *field, const void *data, size_t size) {
        _cleanup_free_ char *b = NULL;
        int r;

        r = etcd_base64_encode(data, size, &b);
        if (r < 0)
                return r;
        return set_new(obj, field, json_string(b));
}

static int set_string_bytes(json_t *obj, const char *field, const char *s) {
        return set_bytes(obj, field, strempty(s), strlen(strempty(s)));
}

int etcd_prefix_range_end(const char *prefix, char **ret, size_t *ret_size) {
        size_t n = strlen(prefix);
        char *end;

        end = malloc(n + 2);
        if (!end)
                return -ENOMEM;
        memcpy(end, prefix, n + 1);
        while (n > 0) {
                if ((uint8_t) end[n - 1] < 0xff) {
                        end[n - 1]++;
                        end[n] = 0;
                        *ret = end;
                        *ret_size = n;
                        return 0;
                }
                n--;
        }
        /* Empty or all 0xff: everything from prefix on. The range end is the one byte "\0",
         * and the buffer stays NUL-terminated after it (found by fuzzing). */
        end[0] = 0;
        end[1] = 0;
        *ret = end;
        *ret_size = 1;
        return 0;
}

/* "key" and "range_end" of a range selection. */
static int set_key_range(json_t *obj, const char *key, const char *range_end, bool prefix,
                         bool from_key) {
        int r;

        if (!key)
                return -EINVAL;
        r = set_string_bytes(obj, "key", key);
        if (r < 0)
                return r;
        if (prefix) {
                _cleanup_free_ char *end = NULL;
                size_t n;

                r = etcd_prefix_range_end(key, &end, &n);
                if (r < 0)
                        return r;
                return set_bytes(obj, "range_end", end, n);
        }
        if (from_key)
                return set_bytes(obj, "range_end", "", 1);
        if (range_end)
                return set_string_bytes(obj, "range_end", range_end);
        return 0;
}

static int range_object(const EtcdRangeRequest *q, json_t **ret) {
        json_auto_t *o = json_object();
        int r;

        if (!o)
                return -ENOMEM;
        r = set_key_range(o, q->key, q->range_end, q->prefix, q->from_key);
        if (r >= 0)
                r = set_int64(o, "limit", q->limit);
        if (r >= 0)
                r = set_int64(o, "revision", q->revision);
        if (r >= 0)
                r = set_bool(o, "keys_only", q->keys_only);
        if (r >= 0)
                r = set_bool(o, "count_only", q->count_only);
        if (r >= 0)
                r = set_bool(o, "serializable", q->serializable);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(o);
        return 0;
}

static int put_object(const EtcdPutRequest *q, json_t **ret) {
        json_auto_t *o = json_object();
        int r;

        if (!o)
                return -ENOMEM;
        if (!q->key)
                return -EINVAL;
        r = set_string_bytes(o, "key", q->key);
        if (r >= 0 && !q->ignore_value)
                r = set_string_bytes(o, "value", q->value);
        if (r >= 0)
                r = set_int64(o, "lease", q->lease);
        if (r >= 0)
                r = set_bool(o, "prev_kv", q->prev_kv);
        if (r >= 0)
                r = set_bool(o, "ignore_value", q->ignore_value);
        if (r >= 0)
                r = set_bool(o, "ignore_lease", q->ignore_lease);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(o);
        return 0;
}

static int delete_object(const EtcdDeleteRequest *q, json_t **ret) {
        json_auto_t *o = json_object();
        int r;

        if (!o)
                return -ENOMEM;
        r = set_key_range(o, q->key, q->range_end, q->prefix, false);
        if (r >= 0)
                r = set_bool(o, "prev_kv", q->prev_kv);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(o);
        return 0;
}

static int dump(json_t *o, char **ret) {
        char *s = json_dumps(o, JSON_COMPACT);

        if (!s)
                return -ENOMEM;
        *ret = s;
        return 0;
}

int etcd_json_encode_range(const EtcdRangeRequest *q, char **ret) {
        json_auto_t *o = NULL;
        int r = range_object(q, &o);

        return r < 0 ? r : dump(o, ret);
}

int etcd_json_encode_put(const EtcdPutRequest *q, char **ret) {
        json_auto_t *o = NULL;
        int r = put_object(q, &o);

        return r < 0 ? r : dump(o, ret);
}

int etcd_json_encode_delete(const EtcdDeleteRequest *q, char **ret) {
        json_auto_t *o = NULL;
        int r = delete_object(q, &o);

        return r < 0 ? r : dump(o, ret);
}

static int op_object(const EtcdOp *op, json_t **ret) {
        json_auto_t *inner = NULL, *o = json_object();
        const char *field;
        int r;

        if (!o)
                return -ENOMEM;
        switch (op->type) {
        case ETCD_OP_RANGE:
                field = "request_range";
                r = range_object(&op->range, &inner);
                break;
        case ETCD_OP_PUT:
                field = "request_put";
                r = put_object(&op->put, &inner);
                break;
        case ETCD_OP_DELETE:
                field = "request_delete_range";
                r = delete_object(&op->delete, &inner);
                break;
        default:
                return -EINVAL;
        }
        if (r < 0)
                return r;
        r = set_new(o, field, TAKE_PTR(inner));
        if (r < 0)
                return r;
        *ret = TAKE_PTR(o);
        return 0;
}

static int compare_object(const EtcdCompare *c, json_t **ret) {
        static const char *const targets[_ETCD_COMPARE_TARGET_MAX] = {
                [ETCD_COMPARE_VERSION] = "VERSION", [ETCD_COMPARE_CREATE] = "CREATE",
                [ETCD_COMPARE_MOD] = "MOD",         [ETCD_COMPARE_VALUE] = "VALUE",
                [ETCD_COMPARE_LEASE] = "LEASE",
        };
        static const char *const fields[_ETCD_COMPARE_TARGET_MAX] = {
                [ETCD_COMPARE_VERSION] = "version",  [ETCD_COMPARE_CREATE] = "create_revision",
                [ETCD_COMPARE_MOD] = "mod_revision", [ETCD_COMPARE_VALUE] = "value",
                [ETCD_COMPARE_LEASE] = "lease",
        };
        static const char *const results[_ETCD_CMP_MAX] = {
                [ETCD_CMP_EQUAL] = "EQUAL",
                [ETCD_CMP_GREATER] = "GREATER",
                [ETCD_CMP_LESS] = "LESS",
                [ETCD_CMP_NOT_EQUAL] = "NOT_EQUAL",
        };
        json_auto_t *o = json_object();
        char buf[32];
        int r;

        if (!o)
                return -ENOMEM;
        if ((unsigned) c->target >= _ETCD_COMPARE_TARGET_MAX ||
            (unsigned) c->result >= _ETCD_CMP_MAX)
                return -EINVAL;
        r = set_key_range(o, c->key, c->range_end, c->prefix, false);
        if (r >= 0)
                r = set_new(o, "target", json_string(targets[c->target]));
        if (r >= 0)
                r = set_new(o, "result", json_string(results[c->result]));
        if (r < 0)
                return r;
        if (c->target == ETCD_COMPARE_VALUE)
                r = set_string_bytes(o, fields[c->target], c->value);
        else {
                /* Always explicit, even 0 ("create_revision = 0" means absent). */
                (void) snprintf(buf, sizeof(buf), "%" PRIi64, c->number);
                r = set_new(o, fields[c->target], json_string(buf));
        }
        if (r < 0)
                return r;
        *ret = TAKE_PTR(o);
        return 0;
}

static int append_ops(json_t *o, const char *field, const EtcdOp *ops, size_t n) {
        json_t *a = json_array();
        int r;

        r = set_new(o, field, a);
        if (r < 0)
                return r;
        for (size_t i = 0; i < n; i++) {
                json_t *e = NULL;

                r = op_object(&ops[i], &e);
                if (r < 0)
                        return r;
                if (json_array_append_new(a, e) < 0)
                        return -ENOMEM;
        }
        return 0;
}

int etcd_json_encode_txn(const EtcdTxnRequest *q, char **ret) {
        json_auto_t *o = json_object();
        json_t *a = json_array();
        int r;

        if (!o) {
                json_decref(a);
                return -ENOMEM;
        }
        r = set_new(o, "compare", a);
        for (size_t i = 0; r >= 0 && i < q->n_compare; i++) {
                json_t *c = NULL;

                r = compare_object(&q->compare[i], &c);
                if (r >= 0 && json_array_append_new(a, c) < 0)
                        r = -ENOMEM;
        }
        if (r >= 0)
                r = append_ops(o, "success", q->success, q->n_success);
        if (r >= 0)
                r = append_ops(o, "failure", q->failure, q->n_failure);
        return r < 0 ? r : dump(o, ret);
}

int etcd_json_encode_lease_grant(int64_t ttl, int64_t id, char **ret) {
        json_auto_t *o = json_object();
        int r;

        if (!o)
                return -ENOMEM;
        if (ttl <= 0)
                return -EINVAL;
        r = set_int64(o, "TTL", ttl);
        if (r >= 0)
                r = set_int64(o, "ID", id);
        return r < 0 ? r : dump(o, ret);
}

int etcd_json_encode_lease_id(int64_t id, char **ret) {
        json_auto_t *o = json_object();
        int r;

        if (!o)
                return -ENOMEM;
        r = set_int64(o, "ID", id);
        return r < 0 ? r : dump(o, ret);
}

int etcd_json_encode_lease_timetolive(int64_t id, bool keys, char **ret) {
        json_auto_t *o = json_object();
        int r;

        if (!o)
                return -ENOMEM;
        r = set_int64(o, "ID", id);
        if (r >= 0)
                r = set_bool(o, "keys", keys);
        return r < 0 ? r : dump(o, ret);
}

int etcd_json_encode_compact(int64_t revision, bool physical, char **ret) {
        json_auto_t *o = json_object();
        int r;

        if (!o)
                return -ENOMEM;
        r = set_int64(o, "revision", revision);
        if (r >= 0)
                r = set_bool(o, "physical", physical);
        return r < 0 ? r : dump(o, ret);
}

int etcd_json_encode_authenticate(const char *name, const char *password, char **ret) {
        json_auto_t *o = json_object();
        int r;

        if (!o)
                return -ENOMEM;
        r = set_new(o, "name", json_string(strempty(name)));
        if (r >= 0)
                r = set_new(o, "password", json_string(strempty(password)));
        return r < 0 ? r : dump(o, ret);
}

int etcd_json_encode_watch_create(const EtcdWatchRequest *q, char **ret) {
        json_auto_t *o = json_object(), *c = json_object();
        int r;

        if (!o || !c)
                return -ENOMEM;
        r = set_key_range(c, q->key, q->range_end, q->prefix, false);
        if (r >= 0)
                r = set_int64(c, "start_revision", q->start_revision);
        if (r >= 0)
                r = set_bool(c, "prev_kv", q->prev_kv);
        if (r >= 0)
                r = set_bool(c, "progress_notify", q->progress_notify);
        if (r >= 0)
                r = set_new(o, "create_request", TAKE_PTR(c));
        return r < 0 ? r : dump(o, ret);
}
