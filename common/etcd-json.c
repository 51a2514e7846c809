/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>

#include "etcd-json.h"
#include "strv.h"

/* ---- base64 --------------------------------------------------------------------------------- */

static const char b64_alphabet[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

int etcd_base64_encode(const void *data, size_t size, char **ret) {
        const uint8_t *in = data;
        char *out, *p;

        assert(ret);
        assert(data || size == 0);

        out = malloc((size + 2) / 3 * 4 + 1);
        if (!out)
                return -ENOMEM;
        p = out;
        for (size_t i = 0; i < size; i += 3) {
                uint32_t v = (uint32_t) in[i] << 16;
                size_t left = size - i;

                if (left > 1)
                        v |= (uint32_t) in[i + 1] << 8;
                if (left > 2)
                        v |= in[i + 2];
                *p++ = b64_alphabet[(v >> 18) & 63];
                *p++ = b64_alphabet[(v >> 12) & 63];
                *p++ = left > 1 ? b64_alphabet[(v >> 6) & 63] : '=';
                *p++ = left > 2 ? b64_alphabet[v & 63] : '=';
        }
        *p = 0;
        *ret = out;
        return 0;
}

static int b64_value(char c) {
        if (c >= 'A' && c <= 'Z')
                return c - 'A';
        if (c >= 'a' && c <= 'z')
                return c - 'a' + 26;
        if (c >= '0' && c <= '9')
                return c - '0' + 52;
        if (c == '+')
                return 62;
        if (c == '/')
                return 63;
        return -EBADMSG;
}

int etcd_base64_decode(const char *text, size_t len, char **ret, size_t *ret_size) {
        _cleanup_free_ char *out = NULL;
        size_t n = 0, pad = 0;
        uint32_t acc = 0;
        int bits = 0;

        assert(text || len == 0);
        assert(ret);

        /* Padding is optional, but at most two '=' and only at the end. */
        while (pad < 2 && len > 0 && text[len - 1] == '=') {
                len--;
                pad++;
        }
        if (len % 4 == 1)
                return -EBADMSG;

        out = malloc(len / 4 * 3 + 3);
        if (!out)
                return -ENOMEM;
        for (size_t i = 0; i < len; i++) {
                int v = b64_value(text[i]);

                if (v < 0)
                        return v;
                acc = (acc << 6) | (uint32_t) v;
                bits += 6;
                if (bits >= 8) {
                        bits -= 8;
                        out[n++] = (char) ((acc >> bits) & 0xff);
                }
        }
        out[n] = 0;
        if (ret_size)
                *ret_size = n;
        *ret = TAKE_PTR(out);
        return 0;
}

/* ---- generic field getters ------------------------------------------------------------------ */

/* int64 field: absent or null = 0; a JSON string of digits (gateway) or an integer. */
static int get_int64(json_t *obj, const char *field, int64_t *ret) {
        json_t *v = json_object_get(obj, field);
        const char *s;
        char *end;
        long long x;

        if (!v || json_is_null(v)) {
                *ret = 0;
                return 0;
        }
        if (json_is_integer(v)) {
                *ret = (int64_t) json_integer_value(v);
                return 0;
        }
        if (!json_is_string(v))
                return -EBADMSG;
        s = json_string_value(v);
        if (*s == 0)
                return -EBADMSG;
        errno = 0;
        x = strtoll(s, &end, 10);
        if (errno != 0 || *end != 0)
                return -EBADMSG;
        *ret = (int64_t) x;
        return 0;
}

static int get_bool(json_t *obj, const char *field, bool *ret) {
        json_t *v = json_object_get(obj, field);

        if (!v || json_is_null(v)) {
                *ret = false;
                return 0;
        }
        if (!json_is_boolean(v))
                return -EBADMSG;
        *ret = json_is_true(v);
        return 0;
}

/* base64 bytes field: absent or null = "" (size 0). */
static int get_bytes(json_t *obj, const char *field, char **ret, size_t *ret_size) {
        json_t *v = json_object_get(obj, field);

        if (!v || json_is_null(v))
                return etcd_base64_decode("", 0, ret, ret_size);
        if (!json_is_string(v))
                return -EBADMSG;
        return etcd_base64_decode(json_string_value(v), json_string_length(v), ret, ret_size);
}

/* Optional string field: absent or null -> NULL. */
static int get_string_dup(json_t *obj, const char *field, char **ret) {
        json_t *v = json_object_get(obj, field);
        char *s;

        if (!v || json_is_null(v)) {
                *ret = NULL;
                return 0;
        }
        if (!json_is_string(v))
                return -EBADMSG;
        s = strdup(json_string_value(v));
        if (!s)
                return -ENOMEM;
        *ret = s;
        return 0;
}

static int get_header_revision(json_t *obj, bool required, int64_t *ret) {
        json_t *h = json_object_get(obj, "header");

        if (!h || json_is_null(h)) {
                if (required)
                        return -EBADMSG;
                *ret = 0;
                return 0;
        }
        if (!json_is_object(h))
                return -EBADMSG;
        return get_int64(h, "revision", ret);
}

/* ---- errors --------------------------------------------------------------------------------- */

int etcd_json_grpc_code_to_errno(int code) {
        switch (code) {
        case 3:
                return -EINVAL;
        case 4:
                return -ETIMEDOUT;
        case 5:
                return -ENOENT;
        case 7:
                return -EPERM;
        case 8:
                return -ENOSPC;
        case 9:
                return -ESTALE;
        case 11:
                return -ERANGE;
        case 14:
                return -EAGAIN;
        case 16:
                return -EACCES;
        default:
                return -EIO;
        }
}

/*
 * Recognize the two error shapes. Returns < 0 (mapped) for an error object, 0 otherwise.
 * A lease grant's "error" string field comes with a header: that is a failure too (-EIO).
 */
static int error_from_object(json_t *root, char **ret_message) {
        json_t *e = json_object_get(root, "error"), *code, *msg;

        if (!e || json_is_null(e))
                return 0;
        if (json_is_string(e)) {
                if (json_string_length(e) == 0)
                        return 0;
                code = json_object_get(root, "code");
                msg = e;
        } else if (json_is_object(e)) {
                code = json_object_get(e, "grpc_code");
                msg = json_object_get(e, "message");
        } else
                return -EBADMSG;

        if (ret_message && json_is_string(msg)) {
                char *m = strdup(json_string_value(msg));
                if (!m)
                        return -ENOMEM;
                *ret_message = m;
        }
        if (json_is_integer(code))
                return etcd_json_grpc_code_to_errno((int) json_integer_value(code));
        return -EIO;
}

static int load_object(const char *text, size_t size, json_t **ret) {
        json_t *root;

        if (!text)
                return -EBADMSG;
        root = json_loadb(text, size, 0, NULL);
        if (!root)
                return -EBADMSG;
        if (!json_is_object(root)) {
                json_decref(root);
                return -EBADMSG;
        }
        *ret = root;
        return 0;
}

int etcd_json_decode_error(const char *text, size_t size, char **ret_message) {
        json_auto_t *root = NULL;
        int r;

        r = load_object(text, size, &root);
        if (r < 0)
                return r;
        return error_from_object(root, ret_message);
}

/* Parse a unary response: a JSON object that is not an error. */
static int load_response(const char *text, size_t size, json_t **ret) {
        json_t *root = NULL;
        int r;

        r = load_object(text, size, &root);
        if (r < 0)
                return r;
        r = error_from_object(root, NULL);
        if (r < 0) {
                json_decref(root);
                return r;
        }
        *ret = root;
        return 0;
}

/* ---- key-values ----------------------------------------------------------------------------- */

void etcd_key_value_done(EtcdKeyValue *kv) {
        if (!kv)
                return;
        free(kv->key);
        free(kv->value);
        *kv = (EtcdKeyValue){};
}

EtcdKeyValue *etcd_key_value_array_free(EtcdKeyValue *kvs, size_t n) {
        for (size_t i = 0; kvs && i < n; i++)
                etcd_key_value_done(&kvs[i]);
        free(kvs);
        return NULL;
}

int etcd_key_value_copy(const EtcdKeyValue *src, EtcdKeyValue *ret) {
        EtcdKeyValue kv = *src;

        kv.key = strdup(src->key ? src->key : "");
        kv.value = malloc(src->value_size + 1);
        if (!kv.key || !kv.value) {
                free(kv.key);
                free(kv.value);
                return -ENOMEM;
        }
        if (src->value)
                memcpy(kv.value, src->value, src->value_size);
        kv.value_size = src->value ? src->value_size : 0;
        kv.value[kv.value_size] = 0;
        *ret = kv;
        return 0;
}

static int decode_kv(json_t *obj, EtcdKeyValue *ret) {
        EtcdKeyValue kv = {};
        int r;

        if (!json_is_object(obj))
                return -EBADMSG;
        r = get_bytes(obj, "key", &kv.key, NULL);
        if (r >= 0)
                r = get_bytes(obj, "value", &kv.value, &kv.value_size);
        if (r >= 0)
                r = get_int64(obj, "create_revision", &kv.create_revision);
        if (r >= 0)
                r = get_int64(obj, "mod_revision", &kv.mod_revision);
        if (r >= 0)
                r = get_int64(obj, "version", &kv.version);
        if (r >= 0)
                r = get_int64(obj, "lease", &kv.lease);
        if (r < 0) {
                etcd_key_value_done(&kv);
                return r;
        }
        *ret = kv;
        return 0;
}

/* Array field of key-values; absent or null = none. */
static int decode_kv_array(json_t *obj, const char *field, EtcdKeyValue **ret, size_t *ret_n) {
        json_t *a = json_object_get(obj, field);
        EtcdKeyValue *kvs;
        size_t n;
        int r;

        if (!a || json_is_null(a)) {
                *ret = NULL;
                *ret_n = 0;
                return 0;
        }
        if (!json_is_array(a))
                return -EBADMSG;
        n = json_array_size(a);
        kvs = calloc(n ? n : 1, sizeof(EtcdKeyValue));
        if (!kvs)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                r = decode_kv(json_array_get(a, i), &kvs[i]);
                if (r < 0) {
                        etcd_key_value_array_free(kvs, i);
                        return r;
                }
        }
        *ret = kvs;
        *ret_n = n;
        return 0;
}

/* A single optional key-value field (put's prev_kv) into a 0/1-element array. */
static int decode_kv_single(json_t *obj, const char *field, EtcdKeyValue **ret, size_t *ret_n) {
        json_t *v = json_object_get(obj, field);
        EtcdKeyValue *kv;
        int r;

        if (!v || json_is_null(v)) {
                *ret = NULL;
                *ret_n = 0;
                return 0;
        }
        kv = calloc(1, sizeof(EtcdKeyValue));
        if (!kv)
                return -ENOMEM;
        r = decode_kv(v, kv);
        if (r < 0) {
                free(kv);
                return r;
        }
        *ret = kv;
        *ret_n = 1;
        return 0;
}

void etcd_result_done(EtcdResult *r) {
        if (!r)
                return;
        etcd_key_value_array_free(r->kvs, r->n_kvs);
        *r = (EtcdResult){};
}

/* The body of a range/put/delete response object (top-level or inside a txn). */
static int decode_result_object(json_t *obj, EtcdOpType type, bool header_required,
                                EtcdResult *ret) {
        EtcdResult res = {.type = type};
        int r;

        if (!json_is_object(obj))
                return -EBADMSG;
        r = get_header_revision(obj, header_required, &res.revision);
        if (r < 0)
                return r;
        switch (type) {
        case ETCD_OP_RANGE:
                r = decode_kv_array(obj, "kvs", &res.kvs, &res.n_kvs);
                if (r >= 0)
                        r = get_int64(obj, "count", &res.count);
                if (r >= 0)
                        r = get_bool(obj, "more", &res.more);
                break;
        case ETCD_OP_PUT:
                r = decode_kv_single(obj, "prev_kv", &res.kvs, &res.n_kvs);
                break;
        case ETCD_OP_DELETE:
                r = decode_kv_array(obj, "prev_kvs", &res.kvs, &res.n_kvs);
                if (r >= 0)
                        r = get_int64(obj, "deleted", &res.count);
                break;
        default:
                r = -EINVAL;
        }
        if (r < 0) {
                etcd_result_done(&res);
                return r;
        }
        *ret = res;
        return 0;
}

static int decode_result(const char *text, size_t size, EtcdOpType type, EtcdResult *ret) {
        json_auto_t *root = NULL;
        int r;

        r = load_response(text, size, &root);
        if (r < 0)
                return r;
        return decode_result_object(root, type, true, ret);
}

int etcd_json_decode_range(const char *text, size_t size, EtcdResult *ret) {
        return decode_result(text, size, ETCD_OP_RANGE, ret);
}

int etcd_json_decode_put(const char *text, size_t size, EtcdResult *ret) {
        return decode_result(text, size, ETCD_OP_PUT, ret);
}

int etcd_json_decode_delete(const char *text, size_t size, EtcdResult *ret) {
        return decode_result(text, size, ETCD_OP_DELETE, ret);
}

/* ---- txn ------------------------------------------------------------------------------------ */

void etcd_txn_result_done(EtcdTxnResult *t) {
        if (!t)
                return;
        for (size_t i = 0; t->results && i < t->n_results; i++)
                etcd_result_done(&t->results[i]);
        free(t->results);
        *t = (EtcdTxnResult){};
}

/* One element of "responses": {"response_range"|"response_put"|"response_delete_range": {}} */
static int decode_txn_response(json_t *obj, int64_t revision, EtcdResult *ret) {
        static const struct {
                const char *field;
                EtcdOpType type;
        } kinds[] = {
                {"response_range", ETCD_OP_RANGE},
                {"response_put", ETCD_OP_PUT},
                {"response_delete_range", ETCD_OP_DELETE},
        };
        int r;

        if (!json_is_object(obj))
                return -EBADMSG;
        for (size_t i = 0; i < ELEMENTSOF(kinds); i++) {
                json_t *v = json_object_get(obj, kinds[i].field);
                if (!v)
                        continue;
                r = decode_result_object(v, kinds[i].type, false, ret);
                if (r < 0)
                        return r;
                if (ret->revision == 0)
                        ret->revision = revision;
                return 0;
        }
        /* Nested txns are never sent by this client. */
        return -EBADMSG;
}

int etcd_json_decode_txn(const char *text, size_t size, EtcdTxnResult *ret) {
        json_auto_t *root = NULL;
        EtcdTxnResult t = {};
        json_t *a;
        int r;

        r = load_response(text, size, &root);
        if (r < 0)
                return r;
        r = get_header_revision(root, true, &t.revision);
        if (r >= 0)
                r = get_bool(root, "succeeded", &t.succeeded);
        if (r < 0)
                return r;
        a = json_object_get(root, "responses");
        if (a && !json_is_null(a)) {
                if (!json_is_array(a))
                        return -EBADMSG;
                t.results = calloc(json_array_size(a) + 1, sizeof(EtcdResult));
                if (!t.results)
                        return -ENOMEM;
                for (size_t i = 0; i < json_array_size(a); i++) {
                        r = decode_txn_response(json_array_get(a, i), t.revision, &t.results[i]);
                        if (r < 0) {
                                etcd_txn_result_done(&t);
                                return r;
                        }
                        t.n_results++;
                }
        }
        *ret = t;
        return 0;
}

/* ---- leases, compact, auth ------------------------------------------------------------------ */

void etcd_lease_info_done(EtcdLeaseInfo *l) {
        if (!l)
                return;
        strv_free(l->keys);
        *l = (EtcdLeaseInfo){};
}

static int decode_lease_common(json_t *obj, EtcdLeaseInfo *l) {
        int r;

        r = get_header_revision(obj, true, &l->revision);
        if (r >= 0)
                r = get_int64(obj, "ID", &l->id);
        if (r >= 0)
                r = get_int64(obj, "TTL", &l->ttl);
        return r;
}

int etcd_json_decode_lease_grant(const char *text, size_t size, EtcdLeaseInfo *ret) {
        json_auto_t *root = NULL;
        EtcdLeaseInfo l = {};
        int r;

        r = load_response(text, size, &root);
        if (r < 0)
                return r;
        r = decode_lease_common(root, &l);
        if (r < 0)
                return r;
        if (l.id == 0 || l.ttl <= 0)
                return -EBADMSG;
        *ret = l;
        return 0;
}

int etcd_json_decode_lease_keepalive(const char *text, size_t size, EtcdLeaseInfo *ret) {
        json_auto_t *root = NULL;
        EtcdLeaseInfo l = {};
        json_t *obj;
        int r;

        r = load_response(text, size, &root);
        if (r < 0)
                return r;
        obj = json_object_get(root, "result");
        if (!obj)
                obj = root;
        else if (!json_is_object(obj))
                return -EBADMSG;
        r = error_from_object(obj, NULL);
        if (r < 0)
                return r;
        r = decode_lease_common(obj, &l);
        if (r < 0)
                return r;
        if (l.ttl <= 0)
                return -ENOENT;
        *ret = l;
        return 0;
}

static int decode_key_strv(json_t *obj, const char *field, char ***ret) {
        _cleanup_strv_free_ char **keys = NULL;
        json_t *a = json_object_get(obj, field), *v;
        size_t i;
        int r;

        if (!a || json_is_null(a)) {
                *ret = NULL;
                return 0;
        }
        if (!json_is_array(a))
                return -EBADMSG;
        json_array_foreach(a, i, v) {
                char *k;

                if (!json_is_string(v))
                        return -EBADMSG;
                r = etcd_base64_decode(json_string_value(v), json_string_length(v), &k, NULL);
                if (r < 0)
                        return r;
                r = strv_consume(&keys, k);
                if (r < 0)
                        return r;
        }
        *ret = TAKE_PTR(keys);
        return 0;
}

int etcd_json_decode_lease_timetolive(const char *text, size_t size, EtcdLeaseInfo *ret) {
        json_auto_t *root = NULL;
        EtcdLeaseInfo l = {};
        int r;

        r = load_response(text, size, &root);
        if (r < 0)
                return r;
        r = decode_lease_common(root, &l);
        if (r >= 0)
                r = get_int64(root, "grantedTTL", &l.granted_ttl);
        if (r < 0)
                return r;
        if (l.ttl < 0)
                return -ENOENT;
        r = decode_key_strv(root, "keys", &l.keys);
        if (r < 0)
                return r;
        *ret = l;
        return 0;
}

int etcd_json_decode_header_only(const char *text, size_t size, int64_t *ret_revision) {
        json_auto_t *root = NULL;
        int64_t rev;
        int r;

        r = load_response(text, size, &root);
        if (r < 0)
                return r;
        r = get_header_revision(root, true, &rev);
        if (r < 0)
                return r;
        if (ret_revision)
                *ret_revision = rev;
        return 0;
}

int etcd_json_decode_authenticate(const char *text, size_t size, char **ret_token) {
        json_auto_t *root = NULL;
        char *token;
        int r;

        r = load_response(text, size, &root);
        if (r < 0)
                return r;
        r = get_string_dup(root, "token", &token);
        if (r < 0)
                return r;
        if (!token || *token == 0) {
                free(token);
                return -EBADMSG;
        }
        *ret_token = token;
        return 0;
}

/* ---- watch ---------------------------------------------------------------------------------- */

void etcd_watch_message_done(EtcdWatchMessage *m) {
        if (!m)
                return;
        for (size_t i = 0; m->events && i < m->n_events; i++) {
                etcd_key_value_done(&m->events[i].kv);
                if (m->events[i].prev_kv) {
                        etcd_key_value_done(m->events[i].prev_kv);
                        free(m->events[i].prev_kv);
                }
        }
        free(m->events);
        free(m->cancel_reason);
        *m = (EtcdWatchMessage){};
}

static int decode_event(json_t *obj, EtcdEvent *ret) {
        EtcdEvent ev = {.type = ETCD_EVENT_PUT};
        json_t *type, *prev;
        int r;

        if (!json_is_object(obj))
                return -EBADMSG;
        type = json_object_get(obj, "type");
        if (type && !json_is_null(type)) {
                if (json_is_string(type) && streq(json_string_value(type), "PUT"))
                        ev.type = ETCD_EVENT_PUT;
                else if (json_is_string(type) && streq(json_string_value(type), "DELETE"))
                        ev.type = ETCD_EVENT_DELETE;
                else if (json_is_integer(type) && json_integer_value(type) >= 0 &&
                         json_integer_value(type) < _ETCD_EVENT_TYPE_MAX)
                        ev.type = (EtcdEventType) json_integer_value(type);
                else
                        return -EBADMSG;
        }
        r = decode_kv(json_object_get(obj, "kv"), &ev.kv);
        if (r < 0)
                return r;
        prev = json_object_get(obj, "prev_kv");
        if (prev && !json_is_null(prev)) {
                ev.prev_kv = calloc(1, sizeof(EtcdKeyValue));
                r = ev.prev_kv ? decode_kv(prev, ev.prev_kv) : -ENOMEM;
                if (r < 0) {
                        free(ev.prev_kv);
                        etcd_key_value_done(&ev.kv);
                        return r;
                }
        }
        *ret = ev;
        return 0;
}

static int decode_events(json_t *obj, EtcdWatchMessage *m) {
        json_t *a = json_object_get(obj, "events");
        int r;

        if (!a || json_is_null(a))
                return 0;
        if (!json_is_array(a))
                return -EBADMSG;
        m->events = calloc(json_array_size(a) + 1, sizeof(EtcdEvent));
        if (!m->events)
                return -ENOMEM;
        for (size_t i = 0; i < json_array_size(a); i++) {
                r = decode_event(json_array_get(a, i), &m->events[i]);
                if (r < 0)
                        return r;
                m->n_events++;
        }
        return 0;
}

int etcd_json_decode_watch_message(const char *text, size_t size, EtcdWatchMessage *ret) {
        json_auto_t *root = NULL;
        EtcdWatchMessage m = {};
        json_t *res;
        int r;

        r = load_response(text, size, &root);
        if (r < 0)
                return r;
        res = json_object_get(root, "result");
        if (!json_is_object(res))
                return -EBADMSG;
        r = get_header_revision(res, false, &m.revision);
        if (r >= 0)
                r = get_int64(res, "watch_id", &m.watch_id);
        if (r >= 0)
                r = get_bool(res, "created", &m.created);
        if (r >= 0)
                r = get_bool(res, "canceled", &m.canceled);
        if (r >= 0)
                r = get_int64(res, "compact_revision", &m.compact_revision);
        if (r >= 0)
                r = get_string_dup(res, "cancel_reason", &m.cancel_reason);
        if (r >= 0)
                r = decode_events(res, &m);
        if (r < 0) {
                etcd_watch_message_done(&m);
                return r;
        }
        *ret = m;
        return 0;
}
