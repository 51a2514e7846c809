/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * Asynchronous etcd v3 client over the HTTP/JSON gateway, driven by libcurl's multi interface
 * inside an sd_event loop (see curl-glue.h). Request and response types are in etcd-json.h.
 *
 * Every operation is asynchronous: it encodes the request at once (request structs and their
 * strings are only borrowed for the duration of the call), starts the transfer and later calls
 * the completion callback exactly once from the event loop -- never from inside the call that
 * started it -- unless the call is cancelled (etcd_call_cancel()) or the client is freed.
 *
 * The synchronous layer (etcd_*_sync) drives the SAME client with sd_event_run() until the
 * request completes; it is for short-lived programs (fleetctl, tests) and must not be called
 * from inside a callback of the client's event loop (sd_event_run() would fail with -EBUSY).
 *
 * Errors (negative errno), everywhere:
 *   -ENOENT   key/lease not found (gRPC NotFound, lease TTL -1/0)
 *   -ESTALE   gRPC FailedPrecondition
 *   -ERANGE   the requested revision was compacted (or is in the future)
 *   -EACCES   authentication failed (after one re-authentication on an invalid token)
 *   -EPERM    permission denied (etcd RBAC)
 *   -EAGAIN   etcd unavailable (no leader) on every endpoint tried
 *   -ECONNREFUSED / -EHOSTUNREACH / -ETIMEDOUT / -ECONNRESET   transport, on every endpoint
 *   -EINVAL   invalid request (refused before sending, or gRPC InvalidArgument, e.g. a txn
 *             writing one key twice)
 *   -EBADMSG  malformed or truncated response
 *   -EIO      anything else (other gRPC codes, unexpected HTTP status, TLS failure)
 *   -ENOMEM
 *
 * Endpoints and failover: the client talks to one endpoint at a time (the "current" one).
 * When a request cannot connect (refused, unreachable, connect timeout) or etcd says it is
 * unavailable, it moves to the next endpoint and retries, at most once per endpoint. After a
 * timeout or reset once the request was sent, only idempotent requests (everything except txn
 * and lease grant) are retried; a txn then reports -ETIMEDOUT/-ECONNRESET (outcome unknown).
 * Either way, later requests start on the next endpoint.
 */

#include <stdbool.h>
#include <stdint.h>
#include <systemd/sd-event.h>

#include "etcd-json.h"
#include "macro.h"

typedef struct EtcdClient EtcdClient;
typedef struct EtcdCall EtcdCall;
typedef struct EtcdWatch EtcdWatch;

typedef struct EtcdClientConfig {
        char *const *endpoints;        /* strv of base URLs ("http://127.0.0.1:2379"); NULL or empty
                                        * = "http://127.0.0.1:2379" */
        uint64_t request_timeout_usec; /* per unary request (connect + answer); 0 = 1 s */
        const char *ca_file;           /* PEM CA bundle: verify the server against it */
        const char *cert_file;         /* client certificate (PEM), with key_file */
        const char *key_file;
        bool insecure_skip_verify; /* https without verification (fleet's behaviour when no
                                    * client cert is configured); off by default */
        const char *username;      /* etcd auth: POST /v3/auth/authenticate, token header */
        const char *password;
        char *const *unix_sockets; /* NULL, or one per endpoint: connect through that unix
                                    * socket instead of the URL's host (fleetctl --tunnel's
                                    * ssh relays); the URL still names the host for TLS */
} EtcdClientConfig;

/*
 * Create a client on event (NULL = sd_event_default()); the client holds a reference.
 * Copies everything it needs from config. 0, -ENOMEM, -EINVAL (endpoint not http(s)://).
 */
int etcd_client_new(EtcdClient **ret, sd_event *event, const EtcdClientConfig *config);

/*
 * Cancel every request without calling its callback and stop every watch (no more handler
 * calls), free the client. EtcdCall handles become invalid; EtcdWatch objects stay allocated
 * for their owners to etcd_watch_free() (in any order). NULL ok. Not inside a callback.
 */
EtcdClient *etcd_client_free(EtcdClient *c);
DEFINE_CLEANUP(EtcdClient *, etcd_client_free);

sd_event *etcd_client_get_event(EtcdClient *c);
/* The endpoint requests currently go to (borrowed). */
const char *etcd_client_get_endpoint(EtcdClient *c);

typedef enum EtcdRequestType {
        ETCD_REQUEST_RANGE,
        ETCD_REQUEST_PUT,
        ETCD_REQUEST_DELETE,
        ETCD_REQUEST_TXN,
        ETCD_REQUEST_COMPACT,
        ETCD_REQUEST_LEASE_GRANT,
        ETCD_REQUEST_LEASE_KEEPALIVE,
        ETCD_REQUEST_LEASE_REVOKE,
        ETCD_REQUEST_LEASE_TIMETOLIVE,
        ETCD_REQUEST_AUTHENTICATE,
        ETCD_REQUEST_WATCH, /* counted per stream opened; latency = time to "created" */
        _ETCD_REQUEST_TYPE_MAX,
        _ETCD_REQUEST_TYPE_INVALID = -EINVAL,
} EtcdRequestType;

/* "range", "put", "delete", "txn", "compact", "lease_grant", ... (for metrics labels). */
const char *etcd_request_type_to_string(EtcdRequestType t);

typedef struct EtcdOpStats {
        uint64_t requests;         /* completed (callback called), success or failure */
        uint64_t errors;           /* of those, failed */
        uint64_t attempts;         /* HTTP requests sent, retries included */
        uint64_t latency_usec_sum; /* over completed requests, first attempt to completion */
        uint64_t latency_usec_max;
} EtcdOpStats;

typedef struct EtcdStats {
        EtcdOpStats ops[_ETCD_REQUEST_TYPE_MAX];
        uint64_t failovers;      /* times the current endpoint changed */
        uint64_t watch_events;   /* events delivered to watch handlers */
        uint64_t watch_restarts; /* streams re-opened after an error (auto_resume) */
} EtcdStats;

/* Counters since the client was created (borrowed, updated in place). */
const EtcdStats *etcd_client_get_stats(EtcdClient *c);

/*
 * The result of one request, owned by the client and BORROWED by the callback: it is freed
 * after the callback returns. The callback may steal members (e.g. TAKE_PTR(resp->kv.kvs)
 * and set n_kvs = 0); whatever is left is freed. Which members are set depends on the type:
 *   RANGE, PUT, DELETE:  kv
 *   TXN:                 txn
 *   COMPACT, LEASE_REVOKE: revision only
 *   LEASE_*:             lease (grant: id, ttl; keepalive: id, ttl; timetolive: all)
 */
typedef struct EtcdResponse {
        EtcdRequestType type;
        int64_t revision; /* header.revision */
        EtcdResult kv;
        EtcdTxnResult txn;
        EtcdLeaseInfo lease;
} EtcdResponse;

EtcdResponse *etcd_response_free(EtcdResponse *r);
DEFINE_CLEANUP(EtcdResponse *, etcd_response_free);

/*
 * Completion callback: error 0 and resp non-NULL on success; error < 0 and resp NULL on
 * failure. It may start new requests, cancel others, or free its own call handle's owner,
 * but must not free the client.
 */
typedef void (*etcd_callback_t)(EtcdClient *c, int error, EtcdResponse *resp, void *userdata);

/*
 * Every async operation takes an optional ret_call: a handle valid until the callback has
 * returned (then it is freed by the client) or until etcd_call_cancel(). Pass NULL when the
 * request never needs cancelling. Returns 0 when started, or a negative errno (-EINVAL,
 * -ENOMEM) without ever calling the callback.
 */
int etcd_range(EtcdClient *c, const EtcdRangeRequest *r, etcd_callback_t cb, void *userdata,
               EtcdCall **ret_call);
int etcd_put(EtcdClient *c, const EtcdPutRequest *r, etcd_callback_t cb, void *userdata,
             EtcdCall **ret_call);
int etcd_delete(EtcdClient *c, const EtcdDeleteRequest *r, etcd_callback_t cb, void *userdata,
                EtcdCall **ret_call);
/* resp->txn.succeeded tells which branch ran; resp->txn.results has one result per op. */
int etcd_txn(EtcdClient *c, const EtcdTxnRequest *r, etcd_callback_t cb, void *userdata,
             EtcdCall **ret_call);
/* Compact the key-value history up to revision (physical: wait until it is applied). */
int etcd_compact(EtcdClient *c, int64_t revision, bool physical, etcd_callback_t cb, void *userdata,
                 EtcdCall **ret_call);

/*
 * Fetch EVERY key of the range, in pages of page_size keys (0 = 1000), all at one revision
 * (r->revision, or the revision of the first page when 0), so the result is a consistent
 * snapshot. resp->kv holds all kvs in key order, count = number of kvs, more = false, and
 * resp->revision the snapshot revision. r->limit and r->count_only must be 0/false.
 * -ERANGE if the snapshot revision gets compacted meanwhile (list again).
 */
int etcd_range_all(EtcdClient *c, const EtcdRangeRequest *r, int64_t page_size, etcd_callback_t cb,
                   void *userdata, EtcdCall **ret_call);

/* Grant a lease of ttl seconds (id 0: etcd chooses). resp->lease.id and .ttl. */
int etcd_lease_grant(EtcdClient *c, int64_t ttl, int64_t id, etcd_callback_t cb, void *userdata,
                     EtcdCall **ret_call);
/*
 * One keepalive (single request on /v3/lease/keepalive). resp->lease.ttl; -ENOENT if gone.
 * Keepalives travel on a connection of their own (not shared with other requests), whose
 * answers the event loop serves first (SD_EVENT_PRIORITY_IMPORTANT): bulk writes and
 * listings in flight do not delay them in the client.
 */
int etcd_lease_keepalive(EtcdClient *c, int64_t id, etcd_callback_t cb, void *userdata,
                         EtcdCall **ret_call);
/* The same with a timeout of its own (microseconds), for a lease whose answer stays useful
 * longer than one request timeout (e.g. TTL/3); never shorter than the client's request
 * timeout. */
int etcd_lease_keepalive_timeout(EtcdClient *c, int64_t id, uint64_t timeout_usec,
                                 etcd_callback_t cb, void *userdata, EtcdCall **ret_call);
/* Revoke: deletes every key attached. -ENOENT if the lease does not exist. */
int etcd_lease_revoke(EtcdClient *c, int64_t id, etcd_callback_t cb, void *userdata,
                      EtcdCall **ret_call);
/* resp->lease: ttl remaining, granted_ttl, keys (when keys). -ENOENT if gone. */
int etcd_lease_timetolive(EtcdClient *c, int64_t id, bool keys, etcd_callback_t cb, void *userdata,
                          EtcdCall **ret_call);

/* Abort an in-flight request; its callback is not called. Frees the handle. NULL ok. */
void etcd_call_cancel(EtcdCall *call);

/*
 * Call destroy(userdata) when the call is freed: after its callback returned, on cancel, or
 * when the client is freed. For layers that allocate per-call context (the registry).
 */
void etcd_call_set_destroy(EtcdCall *call, void (*destroy)(void *userdata));

/* ---- synchronous layer: same client, loop driven until completion ---------------------- */

/* Each returns 0 and a response owned by the caller in *ret (may be NULL to discard it), or a
 * negative errno as the async callback would have received. */
int etcd_range_sync(EtcdClient *c, const EtcdRangeRequest *r, EtcdResponse **ret);
int etcd_range_all_sync(EtcdClient *c, const EtcdRangeRequest *r, int64_t page_size,
                        EtcdResponse **ret);
int etcd_put_sync(EtcdClient *c, const EtcdPutRequest *r, EtcdResponse **ret);
int etcd_delete_sync(EtcdClient *c, const EtcdDeleteRequest *r, EtcdResponse **ret);
int etcd_txn_sync(EtcdClient *c, const EtcdTxnRequest *r, EtcdResponse **ret);
int etcd_compact_sync(EtcdClient *c, int64_t revision, bool physical, EtcdResponse **ret);
int etcd_lease_grant_sync(EtcdClient *c, int64_t ttl, int64_t id, EtcdResponse **ret);
int etcd_lease_keepalive_sync(EtcdClient *c, int64_t id, EtcdResponse **ret);
int etcd_lease_revoke_sync(EtcdClient *c, int64_t id, EtcdResponse **ret);
int etcd_lease_timetolive_sync(EtcdClient *c, int64_t id, bool keys, EtcdResponse **ret);

/* Conveniences over etcd_range_sync: one key's value (malloc'd, NUL-terminated) and its
 * mod_revision (either out-param may be NULL). -ENOENT if absent. */
int etcd_get_sync(EtcdClient *c, const char *key, char **ret_value, int64_t *ret_mod_revision);

/* ---- watches ---------------------------------------------------------------------------- */

typedef struct EtcdWatchOptions {
        /*
         * Re-open the stream by itself after a transport error, an EOF or a server cancel
         * without compaction, from the next unseen revision, on the next endpoint, with a
         * backoff (50 ms doubling up to 5 s). Only -ERANGE (compaction), -EACCES/-EPERM,
         * -EINVAL and -EBADMSG then reach the handler. Without it, every end is reported.
         */
        bool auto_resume;
} EtcdWatchOptions;

/*
 * Watch handler.
 *   error == 0: msg is one stream message (borrowed, valid during the call): events in
 *     revision order (the watch guarantees no gaps and no duplicates), or none (created /
 *     progress notify). Events of one etcd revision always arrive in one call.
 *   error < 0: the stream has ENDED (msg NULL) and no more calls follow until
 *     etcd_watch_restart(). Distinct codes:
 *       -ERANGE      start revision compacted: the caller has lost events and MUST re-list
 *                    (etcd_range_all, giving revision R) and etcd_watch_restart(w, R + 1).
 *                    etcd_watch_get_compact_revision() tells the earliest available revision.
 *       -ECANCELED   the server cancelled the watch (other reason);
 *       -EPIPE       the stream ended (EOF) without a cancel;
 *       -ECONNREFUSED, -ETIMEDOUT, -ECONNRESET, -EHOSTUNREACH, -EIO, -EAGAIN   transport;
 *       -EACCES, -EPERM  auth; -EBADMSG  a malformed message.
 *     For every code but -ERANGE no event was lost: etcd_watch_restart(w,
 *     etcd_watch_get_next_revision(w)) resumes exactly where the stream stopped; re-listing
 *     is also always correct.
 * The handler may call etcd_watch_free() or etcd_watch_restart() on w, and any client call.
 */
typedef void (*etcd_watch_handler_t)(EtcdWatch *w, int error, const EtcdWatchMessage *msg,
                                     void *userdata);

/*
 * Open a watch: one streaming POST /v3/watch on the current endpoint. r is copied. The first
 * handler call is the "created" message (error 0, msg->created) or an error. opts may be NULL.
 * 0 or -ENOMEM/-EINVAL (handler never called then).
 */
int etcd_watch_new(EtcdClient *c, const EtcdWatchRequest *r, const EtcdWatchOptions *opts,
                   etcd_watch_handler_t handler, void *userdata, EtcdWatch **ret);

/* Close the stream and free the watch; the handler is not called any more. NULL ok. Safe
 * inside the handler, and after the client was freed. */
EtcdWatch *etcd_watch_free(EtcdWatch *w);
DEFINE_CLEANUP(EtcdWatch *, etcd_watch_free);

/* Close the current stream (if any) and open a new one with the same key range and options
 * from start_revision (0 = now); its first handler call is again a "created" message.
 * Auto-resumed streams, in contrast, do not repeat "created". 0, -ENOMEM, or -ENOTCONN
 * when the client is gone. */
int etcd_watch_restart(EtcdWatch *w, int64_t start_revision);

/* The revision the next event will have at least: the start revision, then last delivered
 * event (or progress) revision + 1. 0 when watching "from now" and not created yet. */
int64_t etcd_watch_get_next_revision(EtcdWatch *w);
/* compact_revision of the last -ERANGE, else 0. */
int64_t etcd_watch_get_compact_revision(EtcdWatch *w);
/* True while a stream is open (or being re-opened by auto_resume). */
/* The highest etcd revision that a PUT, DELETE or TXN sent by this client was answered with
 * (0 before any): a reader that must see this process's own writes waits for it. */
int64_t etcd_client_get_write_revision(const EtcdClient *c);

bool etcd_watch_is_active(EtcdWatch *w);
/* Whether a stream is open now and etcd confirmed it ("created"): events flow as they happen.
 * False between a broken stream and its resumption. */
bool etcd_watch_is_live(EtcdWatch *w);
