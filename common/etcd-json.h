/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * PURE encoding and decoding of etcd v3 HTTP/JSON gateway messages (grpc-gateway of etcd 3.4).
 * No curl, no sd-event: unit-tested with responses captured from a real etcd.
 *
 * Gateway conventions handled here: keys and values are base64; int64/uint64 fields are JSON
 * strings (numbers are accepted too); fields at their default value (0, false, "", PUT) are
 * omitted; an error is an object {"error": "...", "code": N, "message": "..."} (unary) or
 * {"error": {"grpc_code": N, "http_code": N, "message": "...", "http_status": "..."}} (stream),
 * mapped to a negative errno once, here (etcd_json_grpc_code_to_errno()).
 *
 * Every decoder returns -EBADMSG for malformed or truncated JSON or a field of the wrong type,
 * never crashes, and writes its ret_* argument only on success. Keys and values are treated as
 * byte strings: decoded ones are NUL-terminated (an embedded NUL is kept; value_size tells).
 *
 * Request encoders take borrowed strings and return a malloc'd JSON body. Implemented in
 * etcd-json.c (decoding, base64) and etcd-json-encode.c (encoding).
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "macro.h"

/* One key-value pair as etcd returns it (mvccpb.KeyValue). */
typedef struct EtcdKeyValue {
        char *key;               /* NUL-terminated, never NULL once decoded */
        char *value;             /* NUL-terminated, "" when omitted; never NULL once decoded */
        size_t value_size;       /* bytes in value, without the terminating NUL */
        int64_t create_revision; /* revision of the key's creation (0 = n/a, e.g. DELETE event) */
        int64_t mod_revision;    /* revision of the last modification */
        int64_t version;         /* number of modifications since creation (0 = deleted) */
        int64_t lease;           /* attached lease ID, 0 = none */
} EtcdKeyValue;

/* Free the members of kv (not kv itself) and zero it. Accepts NULL. */
void etcd_key_value_done(EtcdKeyValue *kv);
/* Free an array of n key-values and the array. Accepts NULL. Returns NULL. */
EtcdKeyValue *etcd_key_value_array_free(EtcdKeyValue *kvs, size_t n);
/* Deep copy of src into *ret. 0 or -ENOMEM. */
int etcd_key_value_copy(const EtcdKeyValue *src, EtcdKeyValue *ret);

typedef enum EtcdOpType {
        ETCD_OP_RANGE,
        ETCD_OP_PUT,
        ETCD_OP_DELETE,
        _ETCD_OP_TYPE_MAX,
        _ETCD_OP_TYPE_INVALID = -EINVAL,
} EtcdOpType;

/*
 * Result of one range, put or deleterange, standalone or inside a txn.
 *   RANGE:  kvs = the keys found (only keys if keys_only), count = total matching keys
 *           (also when limit/count_only cut kvs short), more = more keys beyond limit.
 *   PUT:    kvs = the previous key-value (n_kvs 0 or 1, only when prev_kv was requested).
 *   DELETE: kvs = the deleted key-values (only when prev_kv was requested), count = number
 *           of keys deleted.
 */
typedef struct EtcdResult {
        EtcdOpType type;
        int64_t revision; /* header.revision; inside a txn the txn's header revision */
        EtcdKeyValue *kvs;
        size_t n_kvs;
        int64_t count;
        bool more;
} EtcdResult;

/* Free the members of r (not r itself) and zero it. Accepts NULL. */
void etcd_result_done(EtcdResult *r);

/* ---- request encoding ------------------------------------------------------------------ */

/*
 * A key range. key is a NUL-terminated key. range_end NULL with prefix false = the single key;
 * prefix true = every key starting with key (an empty key then means the whole keyspace);
 * otherwise [key, range_end). from_key: range_end "\0", i.e. every key >= key.
 */
typedef struct EtcdRangeRequest {
        const char *key;
        const char *range_end;
        bool prefix;
        bool from_key;
        int64_t limit;     /* 0 = no limit */
        int64_t revision;  /* 0 = latest; a compacted revision gives -ERANGE */
        bool keys_only;    /* values are returned as "" */
        bool count_only;   /* kvs empty, count set */
        bool serializable; /* served by the contacted member without quorum (may be stale) */
} EtcdRangeRequest;

typedef struct EtcdPutRequest {
        const char *key;
        const char *value; /* NUL-terminated; NULL means "" */
        int64_t lease;     /* 0 = no lease (detaches an existing one) */
        bool prev_kv;      /* return the previous key-value */
        bool ignore_value; /* keep the current value (only update lease) */
        bool ignore_lease; /* keep the current lease */
} EtcdPutRequest;

typedef struct EtcdDeleteRequest {
        const char *key;
        const char *range_end; /* as in EtcdRangeRequest */
        bool prefix;
        bool prev_kv; /* return the deleted key-values */
} EtcdDeleteRequest;

/* One operation of a txn. Example: { .type = ETCD_OP_PUT, .put = { .key = k, .value = v } } */
typedef struct EtcdOp {
        EtcdOpType type;
        union {
                EtcdRangeRequest range;
                EtcdPutRequest put;
                EtcdDeleteRequest delete;
        };
} EtcdOp;

typedef enum EtcdCompareTarget {
        ETCD_COMPARE_VERSION,
        ETCD_COMPARE_CREATE, /* create_revision; = 0 means "key does not exist" */
        ETCD_COMPARE_MOD,    /* mod_revision */
        ETCD_COMPARE_VALUE,
        ETCD_COMPARE_LEASE,
        _ETCD_COMPARE_TARGET_MAX,
        _ETCD_COMPARE_TARGET_INVALID = -EINVAL,
} EtcdCompareTarget;

typedef enum EtcdCompareResult {
        ETCD_CMP_EQUAL,
        ETCD_CMP_GREATER,
        ETCD_CMP_LESS,
        ETCD_CMP_NOT_EQUAL,
        _ETCD_CMP_MAX,
        _ETCD_CMP_INVALID = -EINVAL,
} EtcdCompareResult;

/*
 * One txn comparison: "<target> of key <result> number/value", e.g. create_revision of key
 * EQUAL 0 (absent). A missing key has version/create/mod/lease 0 and compares as such;
 * a VALUE comparison against a missing key is false. range_end/prefix compare every key in
 * the range (all must match).
 */
typedef struct EtcdCompare {
        const char *key;
        const char *range_end;
        bool prefix;
        EtcdCompareTarget target;
        EtcdCompareResult result;
        int64_t number;    /* VERSION, CREATE, MOD, LEASE */
        const char *value; /* VALUE; NULL means "" */
} EtcdCompare;

typedef struct EtcdTxnRequest {
        const EtcdCompare *compare;
        size_t n_compare;
        const EtcdOp *success; /* run if every comparison holds */
        size_t n_success;
        const EtcdOp *failure; /* run otherwise */
        size_t n_failure;
} EtcdTxnRequest;

/*
 * Body encoders: a malloc'd NUL-terminated JSON text in *ret. 0, -ENOMEM, or -EINVAL for a
 * request that makes no sense (NULL key, unknown enum value).
 */
int etcd_json_encode_range(const EtcdRangeRequest *r, char **ret);
int etcd_json_encode_put(const EtcdPutRequest *r, char **ret);
int etcd_json_encode_delete(const EtcdDeleteRequest *r, char **ret);
int etcd_json_encode_txn(const EtcdTxnRequest *r, char **ret);
/* {"ID": id, "TTL": ttl}; id 0 lets etcd choose. */
int etcd_json_encode_lease_grant(int64_t ttl, int64_t id, char **ret);
/* {"ID": id} for keepalive and revoke. */
int etcd_json_encode_lease_id(int64_t id, char **ret);
/* {"ID": id, "keys": keys} */
int etcd_json_encode_lease_timetolive(int64_t id, bool keys, char **ret);
/* {"revision": revision, "physical": physical} */
int etcd_json_encode_compact(int64_t revision, bool physical, char **ret);
/* {"name": name, "password": password} */
int etcd_json_encode_authenticate(const char *name, const char *password, char **ret);

typedef struct EtcdWatchRequest {
        const char *key;
        const char *range_end;
        bool prefix;
        int64_t start_revision; /* 0 = from now on; a compacted revision is reported as -ERANGE */
        bool prev_kv;           /* events carry the previous key-value */
        bool progress_notify;   /* empty progress messages when idle (advance the revision) */
} EtcdWatchRequest;

/* {"create_request": {...}} */
int etcd_json_encode_watch_create(const EtcdWatchRequest *r, char **ret);

/*
 * The range_end that selects every key starting with prefix: prefix with its last byte that is
 * not 0xff incremented (trailing 0xff bytes dropped); "\0" (ret_size 1) when there is none,
 * i.e. the whole keyspace from prefix on. A malloc'd buffer, NUL-terminated, size in ret_size.
 */
int etcd_prefix_range_end(const char *prefix, char **ret, size_t *ret_size);

/* ---- response decoding ----------------------------------------------------------------- */

/*
 * Map a gRPC status code, as carried in gateway error objects, to a negative errno:
 * NotFound(5) -ENOENT, FailedPrecondition(9) -ESTALE, OutOfRange(11) -ERANGE (compacted or
 * future revision), InvalidArgument(3) -EINVAL, DeadlineExceeded(4) -ETIMEDOUT,
 * PermissionDenied(7) -EPERM, Unavailable(14) -EAGAIN, Unauthenticated(16) -EACCES,
 * ResourceExhausted(8) -ENOSPC, anything else -EIO.
 */
int etcd_json_grpc_code_to_errno(int code);

/*
 * If text is an error object, return its mapped errno (< 0) and, when ret_message is not
 * NULL, a malloc'd copy of its message. 0 when text is valid JSON but not an error object.
 * -EBADMSG when text is not a JSON object.
 */
int etcd_json_decode_error(const char *text, size_t size, char **ret_message);

/* Range response -> ETCD_OP_RANGE result. Error objects give their errno. */
int etcd_json_decode_range(const char *text, size_t size, EtcdResult *ret);
int etcd_json_decode_put(const char *text, size_t size, EtcdResult *ret);
int etcd_json_decode_delete(const char *text, size_t size, EtcdResult *ret);

typedef struct EtcdTxnResult {
        int64_t revision;
        bool succeeded;      /* the comparisons held, success ops ran */
        EtcdResult *results; /* one per executed op, in order */
        size_t n_results;
} EtcdTxnResult;

void etcd_txn_result_done(EtcdTxnResult *t);
int etcd_json_decode_txn(const char *text, size_t size, EtcdTxnResult *ret);

typedef struct EtcdLeaseInfo {
        int64_t revision;
        int64_t id;
        int64_t ttl;         /* seconds remaining (grant: the granted TTL) */
        int64_t granted_ttl; /* timetolive only */
        char **keys;         /* timetolive with keys: attached keys (strv), else NULL */
} EtcdLeaseInfo;

void etcd_lease_info_done(EtcdLeaseInfo *l);

/* Lease grant: {"header","ID","TTL"} (an "error" string field gives -EIO). */
int etcd_json_decode_lease_grant(const char *text, size_t size, EtcdLeaseInfo *ret);
/*
 * Keepalive: {"result": {"header","ID","TTL"}} (a stream message) or the bare object.
 * TTL 0 or missing means the lease is gone: -ENOENT.
 */
int etcd_json_decode_lease_keepalive(const char *text, size_t size, EtcdLeaseInfo *ret);
/* Revoke and compact: only the header. Fills ret_revision (may be NULL). */
int etcd_json_decode_header_only(const char *text, size_t size, int64_t *ret_revision);
/* TimeToLive: TTL -1 means the lease does not exist: -ENOENT. */
int etcd_json_decode_lease_timetolive(const char *text, size_t size, EtcdLeaseInfo *ret);
/* Authenticate: {"header","token"} -> malloc'd token. */
int etcd_json_decode_authenticate(const char *text, size_t size, char **ret_token);

typedef enum EtcdEventType {
        ETCD_EVENT_PUT,
        ETCD_EVENT_DELETE,
        _ETCD_EVENT_TYPE_MAX,
        _ETCD_EVENT_TYPE_INVALID = -EINVAL,
} EtcdEventType;

typedef struct EtcdEvent {
        EtcdEventType type;
        EtcdKeyValue kv;       /* DELETE: key and mod_revision (the deletion's revision) only */
        EtcdKeyValue *prev_kv; /* NULL unless requested with prev_kv and the key existed */
} EtcdEvent;

/*
 * One message of the /v3/watch stream ({"result": {...}}).
 *   created:  the watch was set up (first message). No events.
 *   canceled: the server ended the watch; compact_revision > 0 means start_revision was
 *             compacted (the earliest still available revision is compact_revision).
 *   events:   in revision order. No events and neither created nor canceled = progress notify.
 */
typedef struct EtcdWatchMessage {
        int64_t revision; /* header.revision */
        int64_t watch_id;
        bool created;
        bool canceled;
        int64_t compact_revision;
        char *cancel_reason; /* NULL if none */
        EtcdEvent *events;
        size_t n_events;
} EtcdWatchMessage;

void etcd_watch_message_done(EtcdWatchMessage *m);

/*
 * Decode one newline-delimited stream message. A stream error object gives its mapped errno
 * (e.g. -ERANGE for a compacted revision); anything unparsable gives -EBADMSG.
 */
int etcd_json_decode_watch_message(const char *text, size_t size, EtcdWatchMessage *ret);

/*
 * Base64 (standard alphabet, padded). encode: malloc'd NUL-terminated text. decode: malloc'd
 * buffer, NUL-terminated, size in ret_size (may be NULL); -EBADMSG for invalid input.
 */
int etcd_base64_encode(const void *data, size_t size, char **ret);
int etcd_base64_decode(const char *text, size_t len, char **ret, size_t *ret_size);
